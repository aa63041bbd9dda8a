"""Simulated demo data, clearly marked: no real PJU inventory of Tangerang or
Jakarta is public, and the 2012 OSM roads carry no condition survey.

PJU (`source = "simulated"`) are placed along real roads, set-based in
PostGIS, with these stated rates (tests check them):

* spacing: poles at SPACING_FACTOR × S of the SPEC §5 rule (S = k·H per class),
  evenly along each lit segment, half a step from each end; `density` > 1
  packs them closer (used to scale to Tangerang's 137,000 PJU for benchmarks);
* gaps: a whole segment is unlit with probability UNLIT_RATE[class], and each
  pole of a lit segment is missing with probability MISSING_POLE_RATE;
* failures: STATUS_RATES of poles are `off` / `damaged`, the rest `working`;
* position: W/2 + 0.7 m off the centreline (W = lanes × 3 m or the class
  default), alternating sides on arterials;
* lamp types LED/SON/mercury/TL in LAMP_MIX, pole height H of the class.

Road condition (`condition_origin = "simulated"`) follows CONDITION_RATES for
roads whose condition is unknown. Everything is deterministic for a seed
(md5 of the road's own id), so `load_demo` is idempotent."""
from django.db import connection, transaction

from geo_platform import codes
from layers.importers.postgis import assign_areas
from layers.models import RoadSegment, StreetLight

SOURCE = "simulated"
SPACING_FACTOR = 0.9
UNLIT_RATE = {"arterial": 0.05, "collector": 0.10, "local": 0.25, "neighbourhood": 0.40, "path": 0.60}
MISSING_POLE_RATE = 0.08
STATUS_RATES = {"off": 0.07, "damaged": 0.03}  # the rest: working
LAMP_MIX = [("led", 0.60, 90), ("hps", 0.25, 150), ("mercury", 0.10, 125), ("fluorescent", 0.05, 40)]
CONDITION_RATES = [("good", 0.45), ("fair", 0.30), ("light_damage", 0.15), ("heavy_damage", 0.10)]


def _rnd(expr: str) -> str:
    """Uniform [0, 1) from md5 of a text expression (deterministic)."""
    return f"(('x' || substr(md5({expr}), 1, 8))::bit(32)::bigint)::float8 / 4294967296.0"


def _rule_values() -> str:
    rows = []
    for cls, r in codes.LIGHTING_RULE.items():
        rows.append(f"('{cls}', {r['H']}, {r['k'] * r['H']}, {r['W']}, {UNLIT_RATE[cls]})")
    return "(VALUES " + ", ".join(rows) + ") AS rule(road_class, h, s, w, unlit)"


def _cumulative_case(rnd: str, table: list[tuple], default: str) -> str:
    acc, parts = 0.0, []
    for code, share, *_ in table:
        acc += share
        parts.append(f"WHEN {rnd} < {acc:.6f} THEN '{code}'")
    return f"CASE {' '.join(parts)} ELSE '{default}' END"


@transaction.atomic
def simulate_streetlights(*, seed: int = 42, density: float = 1.0, road_sources: list[str] | None = None) -> int:
    """Create simulated PJU along roads (of `road_sources`, default all but
    simulated ones). Returns the number of PJU created (0 on a re-run)."""
    road = RoadSegment._meta.db_table
    pju = StreetLight._meta.db_table
    key = f"'{int(seed)}:' || r.id"
    lamp = _cumulative_case(_rnd(f"{key} || ':' || p.i || ':lamp'"), LAMP_MIX, "led")
    watt = "CASE " + " ".join(f"WHEN {lamp} = '{c}' THEN {w}" for c, _, w in LAMP_MIX) + " ELSE 90 END"
    status_rnd = _rnd(f"{key} || ':' || p.i || ':status'")
    status = f"CASE WHEN {status_rnd} < {STATUS_RATES['off']} THEN 'off' " \
             f"WHEN {status_rnd} < {STATUS_RATES['off'] + STATUS_RATES['damaged']} THEN 'damaged' ELSE 'working' END"
    where_src = "r.source = ANY(%(sources)s)" if road_sources else "r.source <> %(simulated)s"
    sql = f"""
    WITH lit AS (
        SELECT r.id, r.geom, r.length_m, rule.h,
               COALESCE(r.width_m, r.lanes * {codes.LANE_WIDTH_M}, rule.w) AS w,
               rule.s * {SPACING_FACTOR} / %(density)s AS step, r.road_class
        FROM {road} r JOIN {_rule_values()} ON rule.road_class = r.road_class
        WHERE r.deleted_at IS NULL AND {where_src} AND r.length_m > 0
          AND {_rnd(key + " || ':unlit'")} >= rule.unlit
    ), poles AS (
        SELECT r.*, p.i, p.n, (p.i + 0.5) / p.n AS f
        FROM lit r,
        LATERAL (SELECT gs AS i, greatest(1, round(r.length_m / r.step))::int AS n
                 FROM generate_series(0, greatest(1, round(r.length_m / r.step))::int - 1) gs) p
    ), placed AS (
        SELECT p.*, ST_LineInterpolatePoint(p.geom, p.f) AS on_line,
               ST_Azimuth(ST_LineInterpolatePoint(p.geom, greatest(p.f - 0.0005, 0))::geography,
                          ST_LineInterpolatePoint(p.geom, least(p.f + 0.0005, 1))::geography) AS az
        FROM poles p
        WHERE {_rnd("'" + str(int(seed)) + ":' || p.id || ':' || p.i || ':miss'").replace("r.", "p.")} >= {MISSING_POLE_RATE}
    )
    INSERT INTO {pju} (source, source_id, code, status, status_origin, lamp_type, wattage_w, pole_height_m,
                       ownership, legal, power_source, pln_customer_id, geom, version, created_at, updated_at)
    SELECT %(simulated)s, p.id || ':' || p.i, 'SIM-' || p.id || '-' || p.i,
           {status.replace("r.id", "p.id")}, 'simulated', {lamp.replace("r.id", "p.id")}, {watt.replace("r.id", "p.id")}, p.h,
           'city', true, 'PLN', '',
           ST_Project(p.on_line::geography, p.w / 2 + 0.7,
                      COALESCE(p.az, 0) + CASE WHEN p.road_class = 'arterial' AND p.i %% 2 = 1 THEN -pi() / 2 ELSE pi() / 2 END)::geometry,
           1, now(), now()
    FROM placed p
    ON CONFLICT (source, source_id) WHERE source_id <> '' DO NOTHING
    RETURNING id
    """
    with connection.cursor() as cur:
        cur.execute(sql, {"density": float(density), "sources": road_sources, "simulated": SOURCE})
        ids = [r[0] for r in cur.fetchall()]
    if ids:
        assign_areas(StreetLight, ids)
    return len(ids)


@transaction.atomic
def simulate_road_condition(*, seed: int = 42, road_sources: list[str] | None = None) -> int:
    """Give roads without a surveyed condition a simulated one (marked `simulated`)."""
    road = RoadSegment._meta.db_table
    cond = _cumulative_case(_rnd(f"'{int(seed)}:' || id || ':condition'"), CONDITION_RATES, "good")
    where_src = "source = ANY(%(sources)s)" if road_sources else "true"
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {road} SET condition = {cond}, condition_origin = 'simulated'
                WHERE condition = 'unknown' AND condition_origin = 'import' AND deleted_at IS NULL AND {where_src}""",
            {"sources": road_sources},
        )
        return cur.rowcount
