"""Writes of the needs app. The lighting analysis (SPEC §5 v2) is set-based:
a few statements over all the roads of a run (needs/sql/*.sql, in order:
roads, lamps, match, coverage, pieces, stretches, write), so the whole city
is one query plan per step, never a Python loop over roads or lamps."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

from django.db import connection, transaction

from geo_platform.srid import STORAGE_SRID
from layers.models import RoadSegment, StreetLight
from needs import rule as rules
from needs.costs import lamp_spec, unit_costs
from needs.models import Facility, LampMatch, LightingGap, NeedsRun, ProposedPJU

# POST /api/needs/compute/: a full recomputation, or more roads than this, runs as a background job
# (202); up to this many roads are recomputed in the request (the planner's refresh after an edit).
COMPUTE_SYNC_MAX_ROADS = 2000
RUN_LOCK = 0x6E656564  # "need": advisory lock key of the runs
log = logging.getLogger(__name__)
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
    lumen = rules.lumen_constants()
    weights = rules.priority_weights()
    classes = list(rule)
    eff = {t: v for t, v in lumen["efficacy"].items() if t != "other"}
    return {
        "classes": classes,
        "h": [float(rule[c]["H"]) for c in classes],
        "k": [float(rule[c]["k"]) for c in classes],
        "w": [float(rule[c]["W"]) for c in classes],
        "lane": [float(rule[c]["lane"]) for c in classes],
        "e": [float(rule[c]["E"]) for c in classes],
        "lm": [float(rule[c]["lamp"]["lumen"]) for c in classes],
        "mf_std": [float(rule[c]["lamp"]["mf"]) for c in classes],
        "rank": list(range(1, len(classes) + 1)),
        "lamps": [json.dumps(lamp_spec(c)) for c in classes],
        "eff_types": list(eff), "eff_values": [float(v) for v in eff.values()],
        "eff_other": float(lumen["efficacy"]["other"]),
        "uf": lumen["uf"], "mf_led": float(lumen["mf"]["led"]), "mf_other": float(lumen["mf"]["other"]),
        "reach_extra": rules.REACH_EXTRA_M,
        "pole_offset": rules.POLE_OFFSET_M,
        "lit_statuses": rules.LIT_STATUSES,
        "eps": rules.EPS_M,
        "sliver": rules.SLIVER_M,
        "min_piece": rules.MIN_PIECE_M,
        "storage_srid": STORAGE_SRID,
        "class_points": [float(weights["class_points"].get(c, 0)) for c in classes],
        "length_divisor": float(weights["length_divisor_m"]),
        "length_points": float(weights["length_points"]),
        "facility_m": float(weights["facility_m"]),
        "facility_points": float(weights["facility_points"]),
        "pole_costs": [costs["proposed"].get(c) if costs else None for c in classes],
    }


def _max_reach() -> float:
    return max(r["W"] for r in rules.lighting_rule().values()) / 2 + rules.REACH_EXTRA_M


EMPTY_REPORT = {"full": False, "roads": 0, "gaps": 0, "proposed": 0, "underlit_m": 0.0, "upgrades": 0, "repairs": 0,
                "by_kind": {k: {"gaps": 0, "length_m": 0.0} for k in rules.KINDS}, "seconds": 0.0}


@transaction.atomic
def lighting_needs_compute(*, road_ids: Iterable[int] | None = None) -> dict:
    """Recompute the lighting needs (SPEC §5 v2: under-lit pieces by kind,
    proposed poles, upgrade/repair matches) for `road_ids` (all roads when
    None). Returns the run's report (also stored as a NeedsRun)."""
    t0 = time.perf_counter()
    full = road_ids is None
    ids = None if full else sorted({int(i) for i in road_ids})
    if not full and not ids:
        return {**EMPTY_REPORT, "by_kind": {k: dict(v) for k, v in EMPTY_REPORT["by_kind"].items()}}
    params = {**_params(), "ids": ids or []}
    with connection.cursor() as cur:
        # One run at a time: a refresh after an edit and a full run must not
        # interleave their DELETE/INSERT of the same roads (READ COMMITTED).
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK])
        if full:
            for table in ("{proposed}", "{gaps}", "{matches}"):
                cur.execute(f"DELETE FROM {TABLES[table]}")
        else:
            for table in ("{proposed}", "{gaps}", "{matches}"):
                cur.execute(f"DELETE FROM {TABLES[table]} WHERE road_id = ANY(%s)", [ids])
        # The statements are cheap per row but estimated huge (generate_series,
        # unnest): JIT compilation alone took seconds on the Jakarta demo.
        cur.execute("SET LOCAL jit = off")
        for temp in ("needs_run_road", "needs_run_lamp"):
            cur.execute(f"DROP TABLE IF EXISTS {temp}")
        road_filter = "true" if full else "r.id = ANY(%(ids)s)"
        cur.execute("CREATE TEMPORARY TABLE needs_run_road ON COMMIT DROP AS "
                    + _sql("roads.sql", **{"{road_filter}": road_filter, "{run}": "true"}), params)
        cur.execute("SELECT count(*) FROM needs_run_road")
        n_roads = cur.fetchone()[0]
        cur.execute(_sql("lamps.sql"), params)
        cur.execute("CREATE INDEX ON needs_run_lamp USING gist (pu)")
        if not full:
            # context: the other roads a PJU near these may light (within twice the
            # widest reach), for its anchor
            cur.execute("CREATE INDEX ON needs_run_road USING gist (g)")
            cur.execute("ANALYZE needs_run_road")
            cur.execute("ANALYZE needs_run_lamp")
            cur.execute(
                f"""SELECT DISTINCT r.id FROM needs_run_road rr
                    JOIN {TABLES['{roads}']} r ON r.geom && ST_Transform(ST_Expand(rr.g, %(box)s * rr.f), %(storage_srid)s)
                    WHERE r.deleted_at IS NULL AND r.id <> ALL(%(ids)s)""",
                {**params, "box": 2 * _max_reach()},
            )
            ctx = [r[0] for r in cur.fetchall()]
            if ctx:
                cur.execute("INSERT INTO needs_run_road "
                            + _sql("roads.sql", **{"{road_filter}": "r.id = ANY(%(ctx)s)", "{run}": "false"}),
                            {**params, "ctx": ctx})
        else:
            cur.execute("CREATE INDEX ON needs_run_road USING gist (g)")
        cur.execute("CREATE INDEX ON needs_run_road (id)")
        cur.execute("ANALYZE needs_run_road")
        cur.execute("ANALYZE needs_run_lamp")
        steps = {"roads, lamps": time.perf_counter() - t0}
        for name in ("match.sql", "coverage.sql", "pieces.sql", "stretches.sql", "write.sql"):
            t1 = time.perf_counter()
            for statement in _statements(_sql(name)):
                cur.execute(statement, params)
            if name == "match.sql":
                cur.execute("ANALYZE needs_run_match")
            steps[name.removesuffix(".sql")] = time.perf_counter() - t1
        cur.execute(
            """SELECT kind, count(*), coalesce(sum(len_m), 0), coalesce(sum(n_poles), 0)
               FROM needs_run_kept GROUP BY kind"""
        )
        by_kind = {k: {"gaps": 0, "length_m": 0.0} for k in rules.KINDS}
        n_proposed = 0
        for kind, n, length, poles in cur.fetchall():
            by_kind[kind] = {"gaps": n, "length_m": round(float(length), 3)}
            n_proposed += int(poles)
        cur.execute(
            f"""SELECT count(DISTINCT m.pju_id) FILTER (WHERE m.upgrade),
                       count(DISTINCT m.pju_id) FILTER (WHERE m.dark_m > 0)
                FROM {TABLES['{matches}']} m WHERE m.road_id IN (SELECT id FROM needs_run_road WHERE run)"""
        )
        n_upgrades, n_repairs = cur.fetchone()
        cur.execute("DROP TABLE IF EXISTS " + ", ".join(TEMP_TABLES))
    n_gaps = sum(v["gaps"] for v in by_kind.values())
    underlit = sum(v["length_m"] for v in by_kind.values())
    report = {
        "full": full, "roads": n_roads, "gaps": n_gaps, "proposed": n_proposed, "underlit_m": round(underlit, 3),
        "by_kind": by_kind, "upgrades": n_upgrades, "repairs": n_repairs,
        "seconds": round(time.perf_counter() - t0, 3), "steps": {k: round(v, 3) for k, v in steps.items()},
    }
    NeedsRun.objects.create(
        full=full, roads=n_roads, gaps=n_gaps, proposed=n_proposed, underlit_m=underlit, seconds=report["seconds"],
    )
    return report


TEMP_TABLES = ("needs_run_road", "needs_run_lamp", "needs_run_match", "needs_run_anchor", "needs_run_seg", "needs_run_iv",
               "needs_run_piece", "needs_run_stretch", "needs_run_member", "needs_run_span", "needs_run_pole",
               "needs_run_kept")


def _statements(text: str) -> list[str]:
    """The `;`-separated statements of one SQL file (no `;` inside them)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def roads_near_pju(pju_ids: Iterable[int]) -> list[int]:
    """Roads a change of these PJU may affect: those they lit before (stored
    matches) and those within reach of where they stand now (any status)."""
    ids = list(pju_ids)
    if not ids:
        return []
    widest = max(r["W"] for r in rules.lighting_rule().values())
    lane = max(r["lane"] for r in rules.lighting_rule().values())
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
            {"ids": ids, "box": max(2 * reach, NEAR_BOX_M), "widest": widest, "lane_w": float(lane),
             "extra": rules.REACH_EXTRA_M, "srid": STORAGE_SRID},
        )
        return [r[0] for r in cur.fetchall()]


def pju_near_roads(road_ids: Iterable[int]) -> list[int]:
    """PJU whose anchor or discs a change of these roads may move: those that
    lit them (stored matches) and those within reach of them now."""
    ids = list(road_ids)
    if not ids:
        return []
    reach = _max_reach()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT pju_id FROM {TABLES['{matches}']} WHERE road_id = ANY(%(ids)s)
            UNION
            SELECT p.id FROM {TABLES['{roads}']} r
            JOIN {TABLES['{pju}']} p
              ON p.geom && ST_Expand(r.geom, %(reach)s / (110000.0 * greatest(0.01, cos(radians(
                               greatest(abs(ST_YMin(r.geom)), abs(ST_YMax(r.geom)))))))) AND p.deleted_at IS NULL
             AND ST_DWithin(p.geom::geography, r.geom::geography, %(reach)s)
            WHERE r.id = ANY(%(ids)s) AND r.deleted_at IS NULL
            """,
            {"ids": ids, "reach": reach},
        )
        return [r[0] for r in cur.fetchall()]


def lighting_needs_compute_request(*, road_ids: Iterable[int] | None = None, user=None):
    """POST /api/needs/compute/: (report, None) when recomputed here — up to
    COMPUTE_SYNC_MAX_ROADS roads — or (None, job) when queued as a background
    needs job (all roads, or more roads than that). When no job queue is
    registered or the broker is down, everything is recomputed here, as before."""
    from needs import signals

    ids = None if road_ids is None else sorted({int(i) for i in road_ids})
    if signals.can_queue() and (ids is None or len(ids) > COMPUTE_SYNC_MAX_ROADS):
        try:
            job = signals.queue_job(created_by=user, roads=ids)
        except Exception:  # no broker: recompute in the request, as before
            log.exception("could not queue the needs recomputation (%s roads); computing now",
                          "all" if ids is None else len(ids))
        else:
            job.refresh_from_db()  # an eager queue has already run it
            return None, job
    return lighting_needs_compute(road_ids=ids), None


def lighting_needs_refresh(*, pju_ids: Iterable[int] = (), road_ids: Iterable[int] = ()) -> dict:
    """Recompute the roads an edit touches (SPEC §4: current after every edit):
    the roads the edited PJU light (before and after), and for an edited road
    itself plus the roads lit by the PJU near it (their anchors may move)."""
    road_ids = set(road_ids)
    roads = road_ids | set(roads_near_pju(set(pju_ids) | set(pju_near_roads(road_ids))))
    return lighting_needs_compute(road_ids=roads)
