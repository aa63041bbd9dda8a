"""Server-Sent Events for /api/live/ (SPEC §7).

The ingest worker sends each committed batch's live events with
PostgreSQL NOTIFY (live.ingest.notify). Each web process holds ONE
listening connection (a daemon thread) and fans the events out to its open
streams through in-memory queues, so a hundred open dashboards cost one
database connection, not a hundred. Under a threaded WSGI server each
stream holds a thread; under ASGI (uvicorn/daphne) the same view works."""
from __future__ import annotations

import asyncio
import json
import logging
import queue
import select
import threading
import time

import psycopg2
from django.db import connection

from live.ingest import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
KEEPALIVE_S = 15


class Hub:
    def __init__(self):
        self.subscribers: set[queue.Queue] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.listening = threading.Event()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=10_000)
        with self.lock:
            self.subscribers.add(q)
            if self.thread is None or not self.thread.is_alive():
                self.listening.clear()
                self.thread = threading.Thread(target=self._run, args=(dict(connection.settings_dict),), daemon=True, name="live-hub")
                self.thread.start()
        self.listening.wait(5)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self.lock:
            self.subscribers.discard(q)

    def _publish(self, payload: str) -> None:
        with self.lock:
            subs = list(self.subscribers)
        for q in subs:
            try:
                q.put_nowait(payload)
            except queue.Full:  # a stalled client loses events rather than stalling the others
                pass

    def _run(self, db: dict) -> None:
        while True:
            try:
                conn = psycopg2.connect(dbname=db["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
                                        host=db.get("HOST") or None, port=db.get("PORT") or None, application_name="live-hub")
                conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with conn.cursor() as cur:
                    cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.listening.set()
                while True:
                    if select.select([conn], [], [], 5) != ([], [], []):
                        conn.poll()
                        while conn.notifies:
                            self._publish(conn.notifies.pop(0).payload)
                    with self.lock:
                        if not self.subscribers:
                            break
                conn.close()
                with self.lock:
                    if not self.subscribers:
                        self.thread = None
                        return
            except Exception:
                log.exception("live hub lost its database connection; reconnecting")
                time.sleep(1)


hub = Hub()


def _format(payload: str, public: bool) -> str:
    out = []
    for ev in json.loads(payload):
        if public:  # work orders are never public (SPEC §4)
            ev = {k: v for k, v in ev.items() if not k.startswith("work_order")}
            if ev.get("type") == "work_order":
                continue
        out.append(f"event: {ev.get('type', 'message')}\ndata: {json.dumps(ev, separators=(',', ':'))}\n\n")
    return "".join(out)


HELLO = "retry: 2000\n: connected\n\n"


def _drain(q: queue.Queue, first: str, public: bool) -> str:
    """`first` and whatever else is already queued, as one chunk (one write and flush for a burst of batches)."""
    texts = [_format(first, public)]
    for _ in range(200):
        try:
            texts.append(_format(q.get_nowait(), public))
        except queue.Empty:
            break
    return "".join(texts)


def event_stream(*, public: bool):
    """SSE text for WSGI servers: `event: <type>` + `data: <json>` per live event; comments as keep-alives."""
    q = hub.subscribe()
    try:
        yield HELLO
        while True:
            try:
                payload = q.get(timeout=KEEPALIVE_S)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            text = _drain(q, payload, public)
            if text:
                yield text
    finally:
        hub.unsubscribe(q)


async def event_stream_async(*, public: bool):
    """The same for ASGI servers (uvicorn): an async iterator holds no worker thread while idle."""
    q = await asyncio.to_thread(hub.subscribe)
    try:
        yield HELLO
        while True:
            try:
                payload = await asyncio.to_thread(q.get, True, KEEPALIVE_S)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            text = _drain(q, payload, public)
            if text:
                yield text
    finally:
        hub.unsubscribe(q)
