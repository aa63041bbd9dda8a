"""Lighting needs (SPEC §5 v2) on the demo: 18,568 Jakarta OSM roads and the
simulated ~133,000-PJU inventory along them (`make demo`; Tangerang has
~137,000).

* full analysis of the Jakarta roads (`lighting_needs_compute`, what
  `compute_needs` runs: matching, anchors, discs, missing/weak/dark pieces,
  stretches, proposed PJU, upgrade/repair metres, priorities, costs, written
  to the stored tables) vs the floor: the bare spatial work the rule cannot
  avoid, one SELECT of every (road, PJU of any status) pair within W/2 + 10 m
  with its chainage (ST_DWithin + ST_LineLocatePoint in each road's UTM
  zone), nothing written (goal ≤ 2× and ≤ 10 s on 2 cores);
* the refresh after one PJU edit (the roads near it) vs the floor: the same
  pair SELECT for those roads;
* `/api/needs/proposed-pju/` 10,000 features vs a json_agg floor, and
  `/api/needs/summary/`.
Rounds are interleaved; medians reported."""
from __future__ import annotations

import os
import statistics
import time

ROUNDS = int(os.environ.get("BENCH_NEEDS_ROUNDS", "3"))
REFRESH_ROUNDS = int(os.environ.get("BENCH_NEEDS_REFRESH_ROUNDS", "9"))
N_FEATURES = 10_000


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


FLOOR_SQL = """
WITH rule AS (SELECT * FROM unnest(%(classes)s::text[], %(w)s::float8[], %(lane)s::float8[]) AS t(road_class, w, lane)),
road AS (
    SELECT r.id, u.srid, ST_Transform(r.geom, u.srid) AS g,
           coalesce(nullif(r.width_m, 0), nullif(r.lanes, 0) * rule.lane, rule.w) AS w
    FROM layers_roadsegment r JOIN rule USING (road_class)
    CROSS JOIN LATERAL (SELECT CASE WHEN ST_Y(c) >= 0 THEN 32600 ELSE 32700 END
                               + floor((ST_X(c) + 180) / 6)::int + 1 AS srid FROM ST_Centroid(r.geom) c) u
    WHERE r.id = ANY(%(ids)s)
)
SELECT count(*), sum(ST_LineLocatePoint(road.g, ST_Transform(p.geom, road.srid)))
FROM road JOIN layers_streetlight p
  ON p.geom && ST_Transform(ST_Expand(road.g, road.w / 2 + 11), %(storage_srid)s)
 AND p.deleted_at IS NULL
WHERE ST_DWithin(ST_Transform(p.geom, road.srid), road.g, road.w / 2 + 10)
"""


def _floor(ids):
    from django.db import connection, transaction

    from needs.services import _params

    params = {**_params(), "ids": list(ids)}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")  # as in the analysis (needs/services.py)
        cur.execute(FLOOR_SQL, params)
        return cur.fetchone()


def run() -> list[dict]:
    from django.db import connection
    from django.test import Client

    from layers.demo import JAKARTA_ROADS
    from layers.models import RoadSegment, StreetLight
    from needs.models import LightingGap, ProposedPJU
    from needs.services import lighting_needs_compute, lighting_needs_refresh

    jakarta = RoadSegment.objects.filter(source=JAKARTA_ROADS, deleted_at__isnull=True).count()
    # the full run (what compute_needs does) covers every road: Jakarta's plus the small Porto demo
    ids = list(RoadSegment.objects.filter(deleted_at__isnull=True).values_list("id", flat=True))
    n_pju = StreetLight.objects.filter(deleted_at__isnull=True, source="simulated").count()
    if not jakarta:
        return [{"name": "lighting needs", "notes": "no Jakarta demo roads: run `make demo` first"}]
    ours, floor, reports = [], [], []
    for _ in range(ROUNDS):
        floor.append(_timed(lambda: _floor(ids)))
        t0 = time.perf_counter()
        reports.append(lighting_needs_compute())
        ours.append(time.perf_counter() - t0)
    report = reports[-1]
    rows = [{
        "name": f"lighting needs v2 (compute_needs), {len(ids):,} roads ({jakarta:,} Jakarta), {n_pju:,} simulated PJU",
        "ours": f"{_fmt(statistics.median(ours))} median of {ROUNDS}",
        "floor": f"{_fmt(statistics.median(floor))} (pair SELECT, nothing written)",
        "ratio": statistics.median(ours) / statistics.median(floor),
        "notes": f"{report['gaps']:,} under-lit pieces, {report['underlit_m'] / 1000:,.1f} km: "
                 + ", ".join(f"{k} {v['length_m'] / 1000:,.1f} km" for k, v in report["by_kind"].items())
                 + f"; {report['proposed']:,} new poles, {report['upgrades']:,} lamp upgrades, {report['repairs']:,} repairs; "
                 + "steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in report["steps"].items()),
    }]

    # refresh after one PJU edit: the roads near it
    lamp_ids = list(
        StreetLight.objects.filter(source="simulated", deleted_at__isnull=True).order_by("id").values_list("id", flat=True)[:REFRESH_ROUNDS * 50:50]
    )
    from needs.services import roads_near_pju

    ours, floor = [], []
    for lamp in lamp_ids:
        near = roads_near_pju([lamp])
        floor.append(_timed(lambda: _floor(near)))
        ours.append(_timed(lambda: lighting_needs_refresh(pju_ids=[lamp])))
    rows.append({
        "name": "refresh after one PJU edit (roads within reach, incl. their lookup)",
        "ours": f"{_fmt(statistics.median(ours))} median of {len(ours)}",
        "floor": _fmt(statistics.median(floor)),
        "ratio": statistics.median(ours) / statistics.median(floor),
        "notes": "runs after commit of every API edit of a PJU or road",
    })

    # GeoJSON of the stored results and the summary, through Django
    client = Client()
    url = f"/api/needs/proposed-pju/?limit={N_FEATURES}"
    # floor: the same Features (same properties and joins) as one json_agg on a plain cursor
    from needs.selectors import PROPOSED_PJU

    pairs = ", ".join(f"'{name}', {expr}" for name, expr in PROPOSED_PJU.properties)
    floor_sql = f"""
        SELECT json_agg(json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom, 7)::json,
               'properties', json_build_object({pairs})))::text
        FROM (SELECT * FROM {ProposedPJU._meta.db_table} ORDER BY id LIMIT {N_FEATURES}) t{PROPOSED_PJU.joins}"""
    ours, floor = [], []
    for _ in range(7):
        with connection.cursor() as cur:
            floor.append(_timed(lambda: (cur.execute(floor_sql), cur.fetchone())))
        ours.append(_timed(lambda: client.get(url)))
    rows.append({
        "name": f"/api/needs/proposed-pju/ {N_FEATURES:,} features",
        "ours": f"{_fmt(statistics.median(ours))} median of 7",
        "floor": f"{_fmt(statistics.median(floor))} (json_agg of the same Features)",
        "ratio": statistics.median(ours) / statistics.median(floor),
        "notes": "ours: Django handler, filters, paging, count + next link",
    })
    ours, floor = [], []
    plain = [
        f"SELECT kecamatan_id, count(*), count(*) FILTER (WHERE status = 'working') FROM {StreetLight._meta.db_table} GROUP BY 1",
        f"SELECT kecamatan_id, count(*), sum(length_m) FROM {LightingGap._meta.db_table} GROUP BY 1",
        f"SELECT kecamatan_id, count(*), sum(estimated_cost) FROM {ProposedPJU._meta.db_table} GROUP BY 1",
        f"SELECT kecamatan_id, condition, sum(length_m) FROM {RoadSegment._meta.db_table} GROUP BY 1, 2",
    ]

    def floor_summary():
        with connection.cursor() as cur:
            for q in plain:
                cur.execute(q)
                cur.fetchall()

    for _ in range(5):
        floor.append(_timed(floor_summary))
        ours.append(_timed(lambda: client.get("/api/needs/summary/?level=kecamatan")))
    rows.append({
        "name": "/api/needs/summary/?level=kecamatan",
        "ours": f"{_fmt(statistics.median(ours))} median of 5",
        "floor": f"{_fmt(statistics.median(floor))} (4 plain GROUP BYs: PJU, gaps, proposed, roads)",
        "ratio": statistics.median(ours) / statistics.median(floor),
        "notes": "PJU, gaps, proposed, road km by condition and SDI/IRI need, costs, per kecamatan",
    })
    return rows
