"""A replaying HTTP server: the client's own floor for a harvest.

`Replay(upstream)` listens on a free loopback port. The first pass of a
client (GDAL, QGIS) goes through it to `upstream` and every response body is
kept in memory (the upstream's URLs rewritten to the replay's); a second pass
of the same client gets the same bytes from memory, uncompressed, at once.
The second pass is what the client itself costs (download + parse + store)
with a server that takes no time: ours minus that is what the server adds.
Stdlib only: runs in the bench process, in a thread."""
from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Replay:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.cache: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[str] = []
        self.misses: list[str] = []  # asked for while replaying but not recorded (fetched then)
        self.recording = True
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's name)
                replay.requests.append(self.path)
                entry = replay.cache.get(self.path)
                if entry is None:
                    if not replay.recording:
                        replay.misses.append(self.path)
                    entry = replay.record(self.path, self.headers.get("Accept", "*/*"))
                status, content_type, body = entry
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, path: str, accept: str = "application/json") -> tuple[int, str, bytes]:
        entry = self.cache[path] = self.fetch(path, accept)
        return entry

    def record_walk(self, paths: list[str], first_page: str) -> None:
        """Record without a client: the documents `paths`, then the items
        from `first_page` following every next link (what an OAPIF client
        asks for when it reads a whole collection)."""
        import json

        for path in paths:
            self.record(path)
        path = first_page
        while path:
            doc = json.loads(self.record(path, "application/geo+json")[2])
            nxt = [link["href"] for link in doc.get("links", []) if link["rel"] == "next"]
            path = nxt[0].removeprefix(self.url) if nxt else None

    def fetch(self, path: str, accept: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(self.upstream + path, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                status, content_type, body = response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as e:
            status, content_type, body = e.code, e.headers.get("Content-Type", ""), e.read()
        return status, content_type, body.replace(self.upstream.encode(), self.url.encode())

    def __enter__(self) -> Replay:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
