"""Import speed: `import_layer` on the 18,574 Jakarta OSM roads vs GDAL's
`ogr2ogr -f PostgreSQL` loading the same file into the same database (floor:
no validation, mapping, upsert, metres or area membership)."""
import os
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from layers.importers.service import import_layer

FILE = Path(settings.BASE_DIR) / "data" / "demo" / "vector" / "jakarta_roads_osm_2012.gpkg"


class _Rollback(Exception):
    pass


def _pg_dsn() -> str:
    db = settings.DATABASES["default"]
    parts = {"dbname": db["NAME"], "host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
             "user": db.get("USER"), "password": db.get("PASSWORD")}
    return "PG:" + " ".join(f"{k}={v}" for k, v in parts.items() if v)


def _ogr2ogr() -> float:
    t0 = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", _pg_dsn(), str(FILE), "-nln", "bench_ogr_roads", "-overwrite",
                    "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES"],
                   check=True, capture_output=True, env=os.environ | {"CPL_LOG": "/dev/null"})
    elapsed = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_ogr_roads")
    return elapsed


def _ours() -> tuple[float, dict]:
    report = {}
    t0 = time.perf_counter()
    try:
        with transaction.atomic():
            report = import_layer(FILE, "roads", source="bench_import", progress=False)
            elapsed = time.perf_counter() - t0
            raise _Rollback
    except _Rollback:
        pass
    return elapsed, report


def run() -> list[dict]:
    floor = min(_ogr2ogr() for _ in range(3))
    runs = [_ours() for _ in range(3)]
    ours, report = min(runs, key=lambda r: r[0])
    n = report["features"]
    return [{
        "name": f"import {n:,} Jakarta OSM roads (GeoPackage → PostGIS)",
        "ours": f"{ours:.2f} s ({n / ours:,.0f} features/s)",
        "floor": f"ogr2ogr -f PostgreSQL (COPY) {floor:.2f} s ({n / floor:,.0f} features/s)",
        "ratio": ours / floor,
        "notes": f"best of 3; ours validates, maps codes, upserts by (source, source_id), computes geodesic lengths "
                 f"and kecamatan/kelurahan membership in one transaction ({report['created']} created, "
                 f"{report['skipped']} skipped)",
    }]
