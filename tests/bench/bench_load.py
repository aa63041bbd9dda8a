"""Load test (issue 9): a production server — gunicorn, LOAD_WORKERS sync
workers (default 4), DJANGO_DEBUG=0, persistent per-worker database
connections (CONN_MAX_AGE 60 s with health checks) — on a free loopback
port, hit by LOAD_CLIENTS concurrent client processes (default 8) for
LOAD_SECONDS per scenario (default 10): vector tiles, GeoJSON pages, and a
mix. Bounded: every scenario stops by itself, the server is stopped at the
end. Reported: throughput, p50/p99 latency, error count (non-2xx/304 or
transport errors). Floor: the same clients and server on the API root (a
small JSON answer without a database query): what the HTTP stack alone
sustains here; ratio = floor throughput / ours.

Needs the demo data (`make demo`: Jakarta roads and ~133,000 simulated PJU).
Runs on loopback only."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKERS = int(os.environ.get("LOAD_WORKERS", 4))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", 8))
SECONDS = float(os.environ.get("LOAD_SECONDS", 10))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(args) -> tuple[list[float], int, int]:
    """One client process: requests in a loop until the deadline; (latencies ms, ok, errors)."""
    base, urls, deadline, seed = args
    import requests

    rng = random.Random(seed)
    session = requests.Session()
    latencies, ok, errors = [], 0, 0
    while time.time() < deadline:
        url = rng.choice(urls)
        t0 = time.perf_counter()
        try:
            r = session.get(base + url, timeout=30)
            _ = r.content
            good = r.status_code in (200, 304)
        except Exception:
            good = False
        latencies.append((time.perf_counter() - t0) * 1000)
        ok += good
        errors += not good
    return latencies, ok, errors


def _scenario(base: str, urls: list[str]) -> dict:
    deadline = time.time() + SECONDS
    with mp.get_context("fork").Pool(CLIENTS) as pool:
        t0 = time.time()
        parts = pool.map(_client, [(base, urls, deadline, i) for i in range(CLIENTS)])
        elapsed = time.time() - t0
    lat = sorted(x for p in parts for x in p[0])
    ok, errors = sum(p[1] for p in parts), sum(p[2] for p in parts)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {"rps": len(lat) / elapsed, "p50": q[49], "p99": q[98], "ok": ok, "errors": errors, "n": len(lat)}


def _targets():
    """Tile and GeoJSON URLs over where the PJU are (their extent from PostGIS)."""
    import mercantile
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("select n, st_xmin(e), st_ymin(e), st_xmax(e), st_ymax(e) from "
                    "(select count(*) n, st_extent(geom) e from layers_streetlight where deleted_at is null) s")
        n, *bbox = cur.fetchone()
    if not n:
        return n, [], []
    rng = random.Random(3)
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    inner = (cx - 0.05, cy - 0.05, cx + 0.05, cy + 0.05)
    tiles = []
    for z, k in ((13, 8), (14, 16), (15, 40), (16, 40)):
        candidates = list(mercantile.tiles(*inner, zooms=[z]))
        tiles += [f"/tiles/pju/{t.z}/{t.x}/{t.y}.pbf" for t in rng.sample(candidates, min(k, len(candidates)))]
    tiles += [u.replace("/pju/", "/roads/") for u in tiles[::3]]
    pages = []
    for _ in range(60):
        x, y = rng.uniform(inner[0], inner[2]), rng.uniform(inner[1], inner[3])
        pages.append(f"/api/pju/?bbox={x:.5f},{y:.5f},{x + 0.01:.5f},{y + 0.01:.5f}&limit=1000")
    return n, tiles, pages


def _start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "DB_CONN_MAX_AGE": "60", "DJANGO_PRODUCTION": "1", "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "BASEMAP_URL": "", "LOG_LEVEL": "ERROR"}
    env.pop("GEO_PLATFORM_TEST_DB", None)
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "geo_platform.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(WORKERS),
         "--timeout", "60", "--graceful-timeout", "5", "--keep-alive", "5"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import requests

    for _ in range(600):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def _fmt(r: dict) -> str:
    return f"{r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['errors']} errors / {r['n']}"


def run() -> list[dict]:
    n, tiles, pages = _targets()
    if not n:
        return [{"name": "load test", "ours": "", "floor": "", "ratio": None, "notes": "no PJU in the database: run `make demo` first"}]
    port = _free_port()
    proc = _start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        # Warm-up: every tile once per worker-ish (tile caches are per process), then the runs.
        import requests

        with requests.Session() as s:
            for u in tiles + pages[:10]:
                s.get(base + u, timeout=60)
        floor = _scenario(base, ["/api/"])
        results = {
            "tiles": _scenario(base, tiles),
            "geojson": _scenario(base, pages),
            "mixed": _scenario(base, tiles + pages),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    common = f"gunicorn {WORKERS} sync workers, {CLIENTS} client processes, {SECONDS:.0f} s each, loopback, {os.cpu_count()} cores shared by server, clients and PostgreSQL"
    rows = [{"name": "floor: API root (no database)", "ours": _fmt(floor), "floor": "", "ratio": None, "notes": common}]
    notes = {
        "tiles": f"{len(tiles)} PJU/road tiles z13–z16 over {n:,} PJU (ETag-less GETs; per-worker tile cache warm)",
        "geojson": "60 bboxes of 0.01° with limit=1000 (PostGIS builds the GeoJSON)",
        "mixed": "tiles and GeoJSON pages at random",
    }
    for name, r in results.items():
        rows.append({"name": f"{name} under load", "ours": _fmt(r), "floor": f"{floor['rps']:.0f} req/s",
                     "ratio": floor["rps"] / r["rps"] if r["rps"] else None, "notes": notes[name]})
    return rows


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    for r in run():
        print(f"{r['name']:32s} {r['ours']}  (floor {r['floor'] or '-'}; ratio {r['ratio'] and round(r['ratio'], 2)})")


if __name__ == "__main__":
    main()
