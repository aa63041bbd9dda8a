"""Writes of the needs app. The lighting analysis (SPEC §5) is set-based:
three statements over all the roads of a run (needs/sql/*.sql), so the whole
city is one query plan, never a Python loop over roads or lamps."""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from django.db import connection, transaction

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID
from layers.models import RoadSegment, StreetLight
from needs import rule as rules
from needs.costs import unit_costs
from needs.models import Facility, LampMatch, LightingGap, NeedsRun, ProposedPJU

RUN_LOCK = 0x6E656564  # "need": advisory lock key of the runs
NEAR_BOX_M = 60.0  # index prefilter around a moved/edited PJU; the exact test is W/2 + 10 m
SQL_DIR = Path(__file__).resolve().parent / "sql"
TABLES = {
    "{roads}": RoadSegment._meta.db_table,
    "{pju}": StreetLight._meta.db_table,
    "{matches}": LampMatch._meta.db_table,
    "{gaps}": LightingGap._meta.db_table,
    "{proposed}": ProposedPJU._meta.db_table,
    "{facilities}": Facility._meta.db_table,
}


def _sql(name: str, **slots: str) -> str:
    text = (SQL_DIR / name).read_text()
    for slot, value in {**TABLES, **slots}.items():
        text = text.replace(slot, value)
    return text


def _params() -> dict:
    costs = unit_costs()
    rule = rules.lighting_rule()
    weights = rules.priority_weights()
    classes = list(rule)
    return {
        "classes": classes,
        "h": [float(rule[c]["H"]) for c in classes],
        "k": [float(rule[c]["k"]) for c in classes],
        "w": [float(rule[c]["W"]) for c in classes],
        "lane_w": float(codes.LANE_WIDTH_M),
        "reach_extra": rules.REACH_EXTRA_M,
        "pole_offset": rules.POLE_OFFSET_M,
        "lit_statuses": rules.LIT_STATUSES,
        "eps": rules.EPS_M,
        "storage_srid": STORAGE_SRID,
        "class_points": [float(weights["class_points"].get(c, 0)) for c in classes],
        "length_divisor": float(weights["length_divisor_m"]),
        "length_points": float(weights["length_points"]),
        "facility_m": float(weights["facility_m"]),
        "facility_points": float(weights["facility_points"]),
        "pole_costs": [costs["proposed"].get(c) if costs else None for c in classes],
    }


@transaction.atomic
def lighting_needs_compute(*, road_ids: Iterable[int] | None = None) -> dict:
    """Recompute lighting gaps and proposed PJU for `road_ids` (all roads when
    None). Returns the run's report (also stored as a NeedsRun)."""
    t0 = time.perf_counter()
    full = road_ids is None
    ids = None if full else sorted({int(i) for i in road_ids})
    params = {**_params(), "ids": ids or []}
    road_filter = "true" if full else "r.id = ANY(%(ids)s)"
    with connection.cursor() as cur:
        if not full and not ids:
            return {"full": False, "roads": 0, "gaps": 0, "proposed": 0, "underlit_m": 0.0, "seconds": 0.0}
        # One run at a time: a refresh after an edit and a full run must not
        # interleave their DELETE/INSERT of the same roads (READ COMMITTED).
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK])
        if full:
            for table in ("{proposed}", "{gaps}", "{matches}"):
                cur.execute(f"DELETE FROM {TABLES[table]}")
        else:
            for table in ("{proposed}", "{gaps}", "{matches}"):
                cur.execute(f"DELETE FROM {TABLES[table]} WHERE road_id = ANY(%s)", [ids])
        # The statements are cheap per row but estimated huge (generate_series):
        # JIT compilation alone took 3 s of 7 on the Jakarta demo.
        cur.execute("SET LOCAL jit = off")
        cur.execute("DROP TABLE IF EXISTS needs_run_road")
        cur.execute(_sql("roads.sql", **{"{road_filter}": road_filter}), params)
        cur.execute("CREATE INDEX ON needs_run_road (id)")
        cur.execute("ANALYZE needs_run_road")
        cur.execute("SELECT count(*) FROM needs_run_road")
        n_roads = cur.fetchone()[0]
        cur.execute("DROP TABLE IF EXISTS needs_run_lamp")
        cur.execute(_sql("lamps.sql"), params)
        cur.execute("CREATE INDEX ON needs_run_lamp USING gist (pu)")
        cur.execute("ANALYZE needs_run_lamp")
        cur.execute(_sql("matches.sql"), params)
        cur.execute(_sql("gaps.sql"), params)
        cur.execute(
            f"""SELECT count(*), coalesce(sum(length_m), 0), coalesce(sum(proposed_count), 0)
                FROM {TABLES['{gaps}']} g WHERE g.road_id IN (SELECT id FROM needs_run_road)"""
        )
        n_gaps, underlit, n_proposed = cur.fetchone()
        cur.execute("DROP TABLE needs_run_road, needs_run_lamp")
    report = {
        "full": full, "roads": n_roads, "gaps": n_gaps, "proposed": int(n_proposed),
        "underlit_m": float(underlit), "seconds": round(time.perf_counter() - t0, 3),
    }
    NeedsRun.objects.create(
        full=full, roads=n_roads, gaps=n_gaps, proposed=int(n_proposed), underlit_m=float(underlit),
        seconds=report["seconds"],
    )
    return report


def roads_near_pju(pju_ids: Iterable[int]) -> list[int]:
    """Roads a change of these PJU may affect: those they lit before (stored
    matches) and those within reach of where they stand now (any status)."""
    ids = list(pju_ids)
    if not ids:
        return []
    widest = max(r["W"] for r in rules.lighting_rule().values())
    reach = widest / 2 + rules.REACH_EXTRA_M
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT road_id FROM {TABLES['{matches}']} WHERE pju_id = ANY(%(ids)s)
            UNION
            SELECT r.id FROM {TABLES['{pju}']} p
            CROSS JOIN LATERAL (
                SELECT CASE WHEN ST_Y(p.geom) >= 0 THEN 32600 ELSE 32700 END
                       + least(60, greatest(1, floor((ST_X(p.geom) + 180) / 6)::int + 1)) AS srid
            ) u
            JOIN {TABLES['{roads}']} r
              ON r.geom && ST_Transform(ST_Expand(ST_Transform(p.geom, u.srid), %(box)s), %(srid)s)
             AND ST_DWithin(ST_Transform(r.geom, u.srid), ST_Transform(p.geom, u.srid),
                            coalesce(nullif(r.width_m, 0), nullif(r.lanes, 0) * %(lane_w)s, %(widest)s) / 2 + %(extra)s)
            WHERE p.id = ANY(%(ids)s)
            """,
            {"ids": ids, "box": max(2 * reach, NEAR_BOX_M), "widest": widest, "lane_w": float(codes.LANE_WIDTH_M),
             "extra": rules.REACH_EXTRA_M, "srid": STORAGE_SRID},
        )
        return [r[0] for r in cur.fetchall()]


def lighting_needs_refresh(*, pju_ids: Iterable[int] = (), road_ids: Iterable[int] = ()) -> dict:
    """Recompute the roads an edit touches (SPEC §4: current after every edit)."""
    roads = set(road_ids) | set(roads_near_pju(pju_ids))
    return lighting_needs_compute(road_ids=roads)
