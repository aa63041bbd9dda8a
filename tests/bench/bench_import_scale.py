"""Import at scale (issue 18): `manage.py import_layer` (streamed batches,
COPY into a staging table, validation, mapping, metres and area membership in
SQL, one upsert) against `ogr2ogr -f PostgreSQL` (COPY, no validation) on the
same files in the same run: the Jakarta OSM roads and a generated file of
BENCH_IMPORT_ROWS roads (default 1,000,000) inside Jakarta. Ours runs as a
subprocess with --dry-run (all the work, then rolled back) so its peak RSS
is measured (wait4). Run once each (the large file takes minutes)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from django.conf import settings
from django.db import connection, transaction

ROOT = Path(settings.BASE_DIR)
JAKARTA = ROOT / "data" / "demo" / "vector" / "jakarta_roads_osm_2012.gpkg"
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", 1_000_000))
BBOX = (106.70, -6.35, 106.97, -6.10)  # Jakarta


def generated(n: int) -> Path:
    """n roads of 2–5 vertices (≈ 50–400 m) at random places in Jakarta, written 100,000 at a time."""
    import geopandas as gpd

    path = ROOT / "var" / "bench" / f"roads_{n}.gpkg"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    rng = np.random.default_rng(18)
    classes = np.array(["arteri", "kolektor", "lokal", "lingkungan"])
    surfaces = np.array(["aspal", "beton", "paving", "tanah"])
    done = 0
    while done < n:
        k = min(100_000, n - done)
        verts = rng.integers(2, 6, k)
        start = np.column_stack([rng.uniform(BBOX[0], BBOX[2], k), rng.uniform(BBOX[1], BBOX[3], k)])
        steps = rng.normal(0, 0.0008, (verts.sum(), 2))
        idx = np.repeat(np.arange(k), verts)
        coords = np.repeat(start, verts, axis=0) + np.cumsum(steps, axis=0) - np.repeat(
            np.cumsum(steps, axis=0)[np.cumsum(verts) - verts] - steps[np.cumsum(verts) - verts], verts, axis=0)
        lines = shapely.linestrings(coords, indices=idx)
        gdf = gpd.GeoDataFrame({
            "ruas_id": np.arange(done, done + k).astype(str), "nama": [f"Jalan {i}" for i in range(done, done + k)],
            "kelas": classes[rng.integers(0, 4, k)], "perkerasan": surfaces[rng.integers(0, 4, k)],
            "lebar": rng.uniform(3, 12, k).round(1),
        }, geometry=lines, crs=4326)
        pyogrio.write_dataframe(gdf, tmp, layer="roads", driver="GPKG", append=done > 0)
        done += k
    tmp.rename(path)
    return path


def _pg_dsn() -> str:
    db = settings.DATABASES["default"]
    parts = {"dbname": db["NAME"], "host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
             "user": db.get("USER"), "password": db.get("PASSWORD")}
    return "PG:" + " ".join(f"{k}={v}" for k, v in parts.items() if v)


def ogr2ogr(path: Path, keep: bool = False) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(["ogr2ogr", "-f", "PostgreSQL", _pg_dsn(), str(path), "-nln", "bench_ogr_scale", "-overwrite",
                             "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"CPL_LOG": "/dev/null"})
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    assert status == 0, "ogr2ogr failed"
    if not keep:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_ogr_scale")
    return elapsed, usage.ru_maxrss * 1024


def write_floor() -> float:
    """The write alone, with nothing read, validated or measured for membership: ogr2ogr's rows
    (table bench_ogr_scale) INSERTed into the roads table as an import's bulk path writes them —
    non-unique indexes, foreign keys and the (source, source_id) index dropped first and built
    again after, geodesic length and the stored Mercator copy computed, one history row per
    road — then rolled back. What this schema costs per row, whatever the importer does."""
    from layers.importers import service
    from layers.models import RoadSegment

    table = "layers_roadsegment"
    with transaction.atomic(), connection.cursor() as cur:
        t0 = time.perf_counter()
        restore = service._drop_for_bulk(table)
        restore = service._drop_source_index(RoadSegment) + restore
        cur.execute(f"""
            WITH written AS (
                INSERT INTO {table} (source, source_id, name, section_code, road_class, authority, surface, condition,
                                     approximate, geom, created_at, updated_at, version, condition_origin, length_m)
                SELECT 'bench_floor', fid::text, '', '', 'local', 'unknown', 'unknown', 'unknown',
                       false, geom, now(), now(), 1, 'import', ST_Length(geom::geography)
                FROM bench_ogr_scale RETURNING id
            )
            INSERT INTO layers_auditlog (layer, object_id, action, at, changes, before, channel)
            SELECT 'roads', id, 'create', now(), '{{"source": "bench_floor"}}'::jsonb, '{{}}'::jsonb, 'import' FROM written""")
        service._restore_after_bulk(restore)
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_ogr_scale")
    _vacuum()
    return elapsed


def _vacuum() -> None:
    """Clear the dead rows a rolled-back run leaves (a million of them would otherwise be
    scanned by the next run's index builds, which a real, committed import never meets)."""
    with connection.cursor() as cur:
        cur.execute("VACUUM layers_roadsegment, layers_auditlog")


def ours(path: Path, id_field: str | None = None) -> tuple[float, int, dict]:
    cmd = [sys.executable, "manage.py", "import_layer", str(path), "--layer", "roads", "--source", "bench_scale",
           "--dry-run", "--json", "--no-needs", "-v", "0"] + (["--id-field", id_field] if id_field else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, env=os.environ.copy())
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    assert status == 0, "import_layer failed"
    return elapsed, usage.ru_maxrss * 1024, json.loads(out)


def _row(label: str, path: Path, id_field: str | None = None) -> list[dict]:
    floor, floor_rss = ogr2ogr(path, keep=True)
    write = write_floor()
    secs, rss, report = ours(path, id_field)
    _vacuum()
    n = report["features"]
    return [{
        "name": f"import {n:,} {label} (GeoPackage → PostGIS, roads)",
        "ours": f"{secs:.1f} s ({n / secs:,.0f} features/s), peak RSS {rss / 1024**2:,.0f} MB",
        "floor": f"ogr2ogr -f PostgreSQL (COPY) {floor:.1f} s ({n / floor:,.0f} features/s), peak RSS {floor_rss / 1024**2:,.0f} MB",
        "ratio": secs / floor,
        "notes": f"run once; throughput {floor / secs:.2f}× ogr2ogr's (goal ≥ 0.5×); ours validates, maps codes, measures, "
                 f"assigns kecamatan/kelurahan and upserts in one transaction (--dry-run: rolled back at the end); "
                 f"{report['created']:,} created, {report['skipped']:,} skipped, {report['rejected']:,} rejected",
    }, {
        "name": f"the write alone into this schema, {n:,} {label} (no reading, validation or membership)",
        "ours": f"{write:.1f} s ({n / write:,.0f} rows/s)",
        "floor": f"ogr2ogr -f PostgreSQL (COPY) {floor:.1f} s",
        "ratio": write / floor,
        "notes": f"ogr2ogr's own rows INSERTed into layers_roadsegment the way a bulk import writes them (indexes and keys "
                 f"dropped and rebuilt, geodesic length, stored Mercator copy, a history row each), rolled back: the most "
                 f"any importer into this schema could reach is {floor / write:.2f}× ogr2ogr's throughput",
    }]


def run() -> list[dict]:
    _vacuum()
    rows = _row("Jakarta OSM roads", JAKARTA)
    if ROWS:
        rows += _row("generated roads in Jakarta", generated(ROWS), "ruas_id")
    return rows
