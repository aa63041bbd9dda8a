"""The analysts' client (geo_platform.client) against its floors, same data,
same run, on the demo database (`make bench` loads it).

Ours over HTTP: `Client(url).pju(bbox=…)` → GeoDataFrame, paging handled,
against one gunicorn sync worker. Floors: (1) `geopandas.read_postgis` of the
same rows and columns straight from PostGIS (psycopg2 connection): what the
GeoDataFrame costs with no API around it; (2) GDAL's GeoJSON driver
(`pyogrio.read_dataframe`) on the same one-page URL: a peer reading the same
bytes. Ours direct: `Client.db_layer("pju")` vs a plain `read_postgis` of the
whole table. Rounds are interleaved; medians reported."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ROUNDS = 3
N = 20_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _bbox_with(n_wanted: int) -> tuple[float, float, float, float]:
    """A square around the simulated PJU's centre holding at least n_wanted PJU (PostGIS counts)."""
    from django.contrib.gis.db.models import Extent
    from django.contrib.gis.geos import Polygon

    from layers.models import StreetLight

    live = StreetLight.objects.filter(deleted_at__isnull=True)
    minx, miny, maxx, maxy = (live.filter(source="simulated").aggregate(e=Extent("geom"))["e"]
                              or live.aggregate(e=Extent("geom"))["e"])
    cx, cy, half = (minx + maxx) / 2, (miny + maxy) / 2, 0.005
    while True:
        box = (cx - half, cy - half, cx + half, cy + half)
        if live.filter(geom__intersects=Polygon.from_bbox(box)).count() >= n_wanted or half > 1:
            return box
        half *= 1.25


def _median(fn, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run() -> list[dict]:
    import geopandas as gpd
    import psycopg2
    import pyogrio
    from django.db import connection

    from geo_platform.client import Client
    from layers.models import StreetLight

    box = _bbox_with(N)
    box = tuple(round(v, 6) for v in box)
    bbox = ",".join(repr(v) for v in box)
    s = connection.settings_dict
    dsn = dict(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432)
    db_url = f"postgis://{s['USER']}:{s['PASSWORD']}@{dsn['host']}:{dsn['port']}/{s['NAME']}"
    columns = [f.column for f in StreetLight._meta.concrete_fields if f.column not in ("geom", "geom_3857")]
    cols = ", ".join(f'"{c}"' for c in columns)
    table = StreetLight._meta.db_table
    floor_sql = (f'SELECT {cols}, geom FROM {table} WHERE deleted_at IS NULL '
                 f'AND geom && ST_MakeEnvelope({bbox}, 4326) AND ST_Intersects(geom, ST_MakeEnvelope({bbox}, 4326)) ORDER BY id')

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
        url = f"http://127.0.0.1:{port}"
        client = Client(url, token="", database_url=db_url)
        pg = psycopg2.connect(**dsn)

        def ours(page_size):
            return lambda: client.pju(bbox=box, page_size=page_size)

        def floor_db():
            with warnings.catch_warnings():  # pandas prefers SQLAlchemy; the raw DBAPI connection is the floor
                warnings.simplefilter("ignore", UserWarning)
                return gpd.read_postgis(floor_sql, pg, geom_col="geom")

        one_page = f"{url}/api/pju/?bbox={bbox}&limit=10000"

        def peer_gdal():
            return pyogrio.read_dataframe("/vsicurl_streaming/" + one_page)

        n = len(client.pju(bbox=box))  # warm: server, caches
        assert n == len(floor_db()), "client and floor read different rows"
        peer_gdal()
        rounds = {"ours5k": [], "ours1k": [], "ours10k": [], "floor": [], "gdal": [], "ours_1page": []}
        for _ in range(ROUNDS):
            for key, fn in (("floor", floor_db), ("ours5k", ours(5000)), ("ours1k", ours(1000)), ("ours10k", ours(10000)),
                            ("gdal", peer_gdal), ("ours_1page", lambda: client.pju(bbox=box, max_features=10000, page_size=10000))):
                t0 = time.perf_counter()
                fn()
                rounds[key].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in rounds.items()}

        total = StreetLight.objects.filter(deleted_at__isnull=True).count()
        whole_sql = f"SELECT {cols}, geom FROM {table} WHERE deleted_at IS NULL ORDER BY id"
        db_rounds, floor_rounds = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            client.db_layer("pju")
            db_rounds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                gpd.read_postgis(whole_sql, pg, geom_col="geom")
            floor_rounds.append(time.perf_counter() - t0)
        pg.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    db_ours, db_floor = statistics.median(db_rounds), statistics.median(floor_rounds)
    return [
        {"name": f"client.pju(bbox) → GeoDataFrame, {n:,} PJU, pages of 5,000", "ours": _ms(med["ours5k"]),
         "floor": _ms(med["floor"]), "ratio": med["ours5k"] / med["floor"],
         "notes": "floor: geopandas.read_postgis of the same rows/columns (psycopg2); ours: HTTP to 1 gunicorn worker"},
        {"name": f"same, pages of 1,000 ({-(-n // 1000)} requests)", "ours": _ms(med["ours1k"]), "floor": _ms(med["floor"]),
         "ratio": med["ours1k"] / med["floor"], "notes": "pages after the first cost ~8× the first on the server (OFFSET plan in layers.selectors)"},
        {"name": f"same, pages of 10,000 = the default ({-(-n // 10000)} requests)", "ours": _ms(med["ours10k"]), "floor": _ms(med["floor"]),
         "ratio": med["ours10k"] / med["floor"], "notes": ""},
        {"name": "one page of 10,000 PJU: client vs GDAL GeoJSON driver on the same URL", "ours": _ms(med["ours_1page"]),
         "floor": _ms(med["gdal"]), "ratio": med["ours_1page"] / med["gdal"],
         "notes": "peer: pyogrio.read_dataframe(URL) (GDAL 3.x, one request)"},
        {"name": f"client.db_layer('pju'), whole table ({total:,} rows)", "ours": _ms(db_ours), "floor": _ms(db_floor),
         "ratio": db_ours / db_floor, "notes": "floor: read_postgis of the same SELECT on a psycopg2 connection; ours via SQLAlchemy (median of 3)"},
    ]
