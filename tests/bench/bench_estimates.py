"""Estimates: the city-wide programme, POST /api/estimates/ and earthwork,
each against its floor measured in the same run. Everything runs inside one
transaction that is rolled back (the 50,000-segment set and any simulated
condition never stay in the database).

- programme: `programme_build` (condition → treatment → cost, ranking with
  window functions, budget cut, per kecamatan × class, JSON) for all Jakarta
  roads and for a 50,000-segment set (the Jakarta roads copied, shifted
  0.3° east per copy, condition simulated); floor = one plain aggregate of
  length × width per kecamatan and class over the same rows.
- the same programme done the naive way, one estimate per segment
  (`road_pieces` + `estimate_build` per road, timed on 200 and extrapolated).
- POST /api/estimates/ (1 km line, FFF1) through Django's WSGI handler, JSON
  and XLSX; floor = the PostGIS measurement query alone.
- earthwork on the Ciliwung DEM (4 km, 40 m wide): grid and prismoidal; floor =
  rasterio reading the corridor's window and summing it."""
from __future__ import annotations

import json
import statistics
import time

ROUNDS = 5
JAKARTA = "osm_jakarta_2012"
BENCH_SOURCE = "bench_estimates"
TARGET = 50_000


def _med(fn, rounds=ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _ms(s: float) -> str:
    if s < 0.01:
        return f"{s * 1000:.2f} ms"
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def _floor_sql(source: str) -> str:
    from layers.models import RoadSegment

    return f"""SELECT kecamatan_id, road_class, count(*), sum(COALESCE(length_m, ST_Length(geom::geography)) * COALESCE(width_m, 6.0))
               FROM {RoadSegment._meta.db_table} WHERE deleted_at IS NULL AND source = %s GROUP BY 1, 2"""


def _prepare_conditions(cur):
    from layers.simulate import simulate_road_condition

    cur.execute("UPDATE layers_roadsegment SET condition_origin = 'import' WHERE source = %s AND condition = 'unknown'", [JAKARTA])
    simulate_road_condition(road_sources=[JAKARTA])


def _make_50k(cur) -> int:
    from layers.models import RoadSegment

    table = RoadSegment._meta.db_table
    cur.execute(f"""
        INSERT INTO {table} (source, source_id, version, created_at, updated_at, name, section_code, road_class, authority,
                             surface, width_m, lanes, condition, condition_origin, approximate, length_m, geom,
                             kecamatan_id, kelurahan_id)
        SELECT %(src)s, k || ':' || r.id, 1, now(), now(), r.name, '', r.road_class, r.authority, r.surface, r.width_m, r.lanes,
               r.condition, 'simulated', false, r.length_m, ST_Translate(r.geom, 0.3 * k, 0), r.kecamatan_id, r.kelurahan_id
        FROM {table} r CROSS JOIN generate_series(0, 2) k
        WHERE r.source = %(jak)s AND r.deleted_at IS NULL
        ORDER BY k, r.id LIMIT %(n)s""", {"src": BENCH_SOURCE, "jak": JAKARTA, "n": TARGET})
    return cur.rowcount


def _programme_rows(cur) -> list[dict]:
    from estimates.programme import programme_build
    from estimates.selectors import estimate_build, road_pieces, template_get

    rows = []
    for label, source in (("all Jakarta roads", JAKARTA), ("50,000-segment set", BENCH_SOURCE)):
        cur.execute("SELECT count(*) FROM layers_roadsegment WHERE source = %s AND deleted_at IS NULL", [source])
        n = cur.fetchone()[0]
        if not n:
            rows.append({"name": f"programme, {label}", "notes": f"skipped: no roads of source {JAKARTA} (run `make demo`)"})
            continue
        floor_sql = _floor_sql(source)
        ours, floor = [], []
        for _ in range(ROUNDS):  # interleaved
            t0 = time.perf_counter()
            out = programme_build(source=source, budget=50_000_000_000, limit=100)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cur.execute(floor_sql, [source])
            cur.fetchall()
            floor.append(time.perf_counter() - t0)
        o, f = statistics.median(ours), statistics.median(floor)
        rows.append({"name": f"programme, {label} ({n:,} segments)", "ours": _ms(o), "floor": _ms(f), "ratio": o / f,
                     "notes": f"{out['totals']['segments']:,} costed, {len(out['groups'])} groups, "
                              f"total Rp {out['totals']['cost'] / 1e12:.2f} T; one SQL statement"})
        if source == JAKARTA:
            cur.execute("SELECT id, condition FROM layers_roadsegment WHERE source = %s AND condition <> 'unknown' ORDER BY id LIMIT 200", [JAKARTA])
            sample = cur.fetchall()
            by_condition = {"heavy_damage": "FFF1", "light_damage": "REHAB-100", "fair": "OVERLAY-40", "good": "PATCH-100"}
            templates = {code: template_get(code=code) for code in by_condition.values()}
            t0 = time.perf_counter()
            for road_id, condition in sample:
                estimate_build(template=templates[by_condition[condition]], pieces=road_pieces(road_ids=[road_id]))
            per = (time.perf_counter() - t0) / max(len(sample), 1)
            rows.append({"name": f"naive: one estimate per segment × {n:,} (extrapolated from {len(sample)})", "ours": _ms(per * n),
                         "floor": _ms(o), "ratio": per * n / o, "notes": "floor here = the set-based programme above"})
    return rows


class _Handler:
    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import RequestFactory

        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        self.handler, self.factory = WSGIHandler(), RequestFactory()
        user, _ = User.objects.get_or_create(username="bench-analyst")  # exports need login (issue 12)
        self.auth = f"Token {Token.objects.get_or_create(user=user)[0].key}"

    def post(self, url, body):
        environ = self.factory.post(url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=self.auth).environ
        status = {}

        def start_response(s, h, exc_info=None):
            status["code"] = int(s.split()[0])

        response = self.handler(environ, start_response)
        data = b"".join(response)
        response.close()
        assert status["code"] == 200, data[:300]
        return data


def _estimate_rows() -> list[dict]:
    from django.db import connection
    from pyproj import Geod

    lon2, lat2, _ = Geod(ellps="WGS84").fwd(106.63, -6.18, 90, 1000)
    geometry = {"type": "LineString", "coordinates": [[106.63, -6.18], [lon2, lat2]]}
    body = {"geometry": geometry, "width_m": 7, "template": "FFF1"}
    h = _Handler()
    h.post("/api/estimates/", body)  # warm up
    cur = connection.cursor()  # after the request: the handler closes the connection it finishes with
    floor = _med(lambda: (cur.execute("SELECT ST_Length(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)::geography)", [json.dumps(geometry)]),
                          cur.fetchone()), 15)
    rows = []
    for fmt in ("json", "xlsx"):
        url = "/api/estimates/" + ("" if fmt == "json" else "?format=xlsx")
        ours = _med(lambda: h.post(url, body), 15)
        rows.append({"name": f"POST /api/estimates/ 1 km × 7 m FFF1 ({fmt})", "ours": _ms(ours), "floor": _ms(floor),
                     "ratio": ours / floor, "notes": "floor = the PostGIS spheroid measurement alone; ours adds templates, pricing, output"})
    return rows


def _earthwork_rows() -> list[dict]:
    import numpy as np
    import rasterio
    import rasterio.windows
    from django.conf import settings
    from pyproj import Transformer
    from shapely.geometry import LineString

    from estimates.earthwork import earthwork

    path = settings.SHARED_DATA_DIR / "dem" / "jakarta_ciliwung_dem_10m_utm48s.tif"
    if not path.exists():
        return [{"name": "earthwork", "notes": f"skipped: {path} absent"}]
    line = [[106.845, -6.262], [106.852, -6.270], [106.865, -6.288]]

    def floor_fn():
        with rasterio.open(path) as ds:
            tr = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True)
            corridor = LineString([tr.transform(x, y) for x, y in line]).buffer(20, cap_style="flat")
            win = rasterio.windows.from_bounds(*corridor.bounds, transform=ds.transform)
            z = ds.read(1, window=win, masked=True)
            return float(np.ma.sum(z))

    floor = _med(floor_fn)
    rows = []
    for method in ("grid", "average_end_area", "prismoidal"):
        kw = dict(alignment=line, width_m=40, start_elevation=21, grade_percent=0.15, side_slope=2, method=method, station_interval_m=25)
        out = earthwork(path, **kw)
        ours = _med(lambda: earthwork(path, **kw))
        rows.append({"name": f"earthwork {method}, 4.0 km × 40 m, side slope 2:1, stations every 25 m", "ours": _ms(ours),
                     "floor": _ms(floor), "ratio": ours / floor,
                     "notes": f"cut {out['cut_m3']:,.0f} m³, fill {out['fill_m3']:,.0f} m³, {len(out['stations'])} sections; "
                              "floor = rasterio read of the corridor window + sum"})
    return rows


def run() -> list[dict]:
    from django.db import connection, transaction

    rows = []
    with transaction.atomic():
        with connection.cursor() as cur:
            _prepare_conditions(cur)
            _make_50k(cur)
            cur.execute("ANALYZE layers_roadsegment")
            rows += _programme_rows(cur)
        transaction.set_rollback(True)
    rows += _estimate_rows()  # outside the transaction: the WSGI handler closes the connection after each request
    rows += _earthwork_rows()
    return rows
