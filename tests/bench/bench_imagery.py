"""PNG tiles from the demo COGs: our endpoint vs rio-tiler in process (floor).

Floor (PERFORMANCE.md): rio-tiler ``Reader.tile`` + ``render`` on the same
COG, dataset kept open, same rendering (RGB as is; DEMs rescaled with the
terrain colour ramp), no HTTP, no database. Ours: (1) the Django handler in
process (URL routing, middleware, catalogue lookup, our rendering), (2) real
HTTP to one gunicorn sync worker. Same tiles, all warmed once, then timed
interleaved tile by tile (floor, handler, HTTP) over three rounds, so load
from other processes on the machine hits all three alike. Throughput =
tiles / summed latency."""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import mercantile
import rasterio
import rasterio.warp

ROOT = Path(__file__).resolve().parent.parent.parent
ROUNDS = 3


def _tiles_for(path: str, per_zoom: int = 8) -> list[mercantile.Tile]:
    """Tiles over the image at its native zoom −3 … +1 (capped per zoom, centre first)."""
    from rio_tiler.io import Reader

    with Reader(path) as r:
        maxzoom = r.maxzoom
    with rasterio.open(path) as src:
        w, s, e, n = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    cx, cy = (w + e) / 2, (s + n) / 2
    out = []
    for z in range(max(0, maxzoom - 3), maxzoom + 2):
        tiles = list(mercantile.tiles(w, s, e, n, z))
        centre = mercantile.tile(cx, cy, z)
        tiles.sort(key=lambda t: (t.x - centre.x) ** 2 + (t.y - centre.y) ** 2)
        out += tiles[:per_zoom]
    return out


def _floor_render(reader, img, t):
    from rio_tiler.colormap import cmap

    if img.is_elevation:
        data = reader.tile(t.x, t.y, t.z, indexes=(1,))
        st = img.statistics["b1"]
        data.rescale(in_range=((st["min"], st["max"]),))
        return data.render(img_format="PNG", colormap=cmap.get("terrain"))
    data = reader.tile(t.x, t.y, t.z)
    return data.render(img_format="PNG")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run() -> list[dict]:
    from django.test import Client
    from rio_tiler.io import Reader

    from imagery import demo
    from imagery.models import Imagery

    demo.load(stdout=open(os.devnull, "w"))
    names = [d["file"] for d in demo.DEMO]
    images = [img for img in Imagery.objects.filter(original_filename__in=names).order_by("id")]
    jobs = [(img, t) for img in images for t in _tiles_for(str(img.path))]

    # floor: rio-tiler in process, datasets kept open
    readers = {img.pk: Reader(str(img.path)) for img in images}
    warnings.simplefilter("ignore")
    ok_jobs = []
    for img, t in jobs:  # warm-up; keep the tiles that exist (the endpoint 404s the rest too)
        try:
            _floor_render(readers[img.pk], img, t)
            ok_jobs.append((img, t))
        except Exception:
            pass
    jobs = ok_jobs
    client = Client()
    urls = [f"/imagery/{img.pk}/tiles/{t.z}/{t.x}/{t.y}.png" for img, t in jobs]
    for u in urls:
        assert client.get(u).status_code == 200, u

    # ours over HTTP: one gunicorn sync worker
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "geo_platform.settings"}
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "geo_platform.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        def fetch(u):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", u, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            assert resp.status == 200 and body[:4] == b"\x89PNG", (u, resp.status)

        for u in urls:
            fetch(u)
        floor_lat, django_lat, http_lat = [], [], []
        for _ in range(ROUNDS):
            for (img, t), u in zip(jobs, urls):
                t0 = time.perf_counter()
                _floor_render(readers[img.pk], img, t)
                t1 = time.perf_counter()
                client.get(u)
                t2 = time.perf_counter()
                fetch(u)
                t3 = time.perf_counter()
                floor_lat.append(t1 - t0)
                django_lat.append(t2 - t1)
                http_lat.append(t3 - t2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    floor_total, django_total, http_total = sum(floor_lat), sum(django_lat), sum(http_lat)

    n = len(jobs) * ROUNDS
    floor_tps = n / floor_total
    f_med = statistics.median(floor_lat) * 1000
    zooms = sorted({t.z for _, t in jobs})
    rows = []
    for label, lat, total in (("PNG tiles, Django handler in process", django_lat, django_total),
                              ("PNG tiles over HTTP (gunicorn, 1 sync worker)", http_lat, http_total)):
        tps = n / total
        med = statistics.median(lat) * 1000
        rows.append({
            "name": label,
            "ours": f"{med:.2f} ms median, {tps:.0f} tiles/s",
            "floor": f"{f_med:.2f} ms median, {floor_tps:.0f} tiles/s",
            "ratio": med / f_med,
            "notes": f"throughput {tps / floor_tps:.2f}× floor (goal ≥ 0.8×); {len(jobs)} tiles × {ROUNDS} rounds "
                     f"over {len(images)} demo COGs, z{zooms[0]}–z{zooms[-1]}; "
                     f"p95 {sorted(lat)[int(0.95 * len(lat))] * 1000:.1f} ms vs {sorted(floor_lat)[int(0.95 * len(floor_lat))] * 1000:.1f} ms",
        })
    for r in readers.values():
        r.close()
    return rows


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    for row in run():
        print(row)
