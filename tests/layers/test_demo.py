"""The demo load (what `make run` does) on the real files: idempotent, and the
simulated inventory has the spacing, gap and failure rates layers/simulate.py
states, measured here with independent SQL."""
import pytest
from django.db import connection

from geo_platform import codes
from layers import demo, simulate
from layers.models import Area, RoadSegment, StreetLight

pytestmark = pytest.mark.django_db


def one(sql, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()


def test_demo_loads_once_and_simulated_inventory_has_the_stated_rates():
    first = demo.load(progress=False)
    counts = (Area.objects.count(), RoadSegment.objects.count(), StreetLight.objects.count())
    assert Area.objects.filter(level="kecamatan", code__startswith="36.71.").count() == 13
    assert RoadSegment.objects.filter(source=demo.JAKARTA_ROADS).count() > 18_000
    sim = StreetLight.objects.filter(source=simulate.SOURCE)
    n_sim = sim.count()
    assert n_sim > 100_000
    assert all(r["rejected"] == 0 for r in first)

    # A second load creates and changes nothing.
    second = demo.load(progress=False)
    assert [(r["file"], r["created"], r["updated"]) for r in second if r["created"] or r["updated"]] == []
    assert (Area.objects.count(), RoadSegment.objects.count(), StreetLight.objects.count()) == counts

    # Every simulated row is marked; Jakarta roads got a simulated condition.
    assert not sim.exclude(status_origin="simulated").exists()
    assert RoadSegment.objects.filter(source=demo.JAKARTA_ROADS, condition_origin="simulated").count() == \
        RoadSegment.objects.filter(source=demo.JAKARTA_ROADS).count()

    # The rows above are not committed (the test's transaction), so autovacuum
    # never gave the planner statistics on them: without ANALYZE (and the
    # MATERIALIZED road CTE) the spacing query below took 6 minutes, not seconds.
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {RoadSegment._meta.db_table}, {StreetLight._meta.db_table}")

    # Failure rates: shares of off / damaged (binomial tolerance, n > 100k).
    for status, rate in simulate.STATUS_RATES.items():
        share = sim.filter(status=status).count() / n_sim
        assert share == pytest.approx(rate, abs=0.005), status

    # Gap rate: segments long enough for ≥ 4 poles are unlit only by design.
    table, pju = RoadSegment._meta.db_table, StreetLight._meta.db_table
    for cls, rule in codes.LIGHTING_RULE.items():
        s = rule["k"] * rule["H"]
        n, unlit = one(f"""
            WITH lit AS (SELECT DISTINCT split_part(source_id, ':', 1)::bigint AS road_id
                         FROM {pju} WHERE source = 'simulated')
            SELECT count(*), count(*) FILTER (WHERE lit.road_id IS NULL)
            FROM {table} r LEFT JOIN lit ON lit.road_id = r.id
            WHERE r.source = %s AND r.road_class = %s AND r.length_m >= 4 * %s""",
            [demo.JAKARTA_ROADS, cls, s])
        if n >= 200:
            tol = 3 * (simulate.UNLIT_RATE[cls] * (1 - simulate.UNLIT_RATE[cls]) / n) ** 0.5 + 0.01
            assert unlit / n == pytest.approx(simulate.UNLIT_RATE[cls], abs=tol), cls

    # Spacing: consecutive poles on long lit local roads, measured along the road
    # in its own UTM zone; the median step is SPACING_FACTOR × S.
    s_local = codes.LIGHTING_RULE["local"]["k"] * codes.LIGHTING_RULE["local"]["H"]
    median, missing_share = one(f"""
        WITH r AS MATERIALIZED (
            SELECT id, ST_Transform(geom, (CASE WHEN ST_Y(ST_Centroid(geom)) >= 0 THEN 32600 ELSE 32700 END)
                       + floor((ST_X(ST_Centroid(geom)) + 180) / 6)::int + 1) AS g
            FROM {table} WHERE source = %s AND road_class = 'local' AND length_m >= 10 * %s),
        ch AS (
            SELECT r.id, ST_LineLocatePoint(r.g, ST_Transform(p.geom, ST_SRID(r.g))) * ST_Length(r.g) AS m
            FROM r JOIN {pju} p ON p.source = 'simulated' AND split_part(p.source_id, ':', 1)::bigint = r.id),
        steps AS (SELECT m - lag(m) OVER (PARTITION BY id ORDER BY m) AS d FROM ch)
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d),
               avg((d > 1.5 * %s)::int)::float8 FROM steps WHERE d IS NOT NULL""",
        [demo.JAKARTA_ROADS, s_local, s_local * simulate.SPACING_FACTOR])
    assert median == pytest.approx(simulate.SPACING_FACTOR * s_local, rel=0.03)
    assert missing_share == pytest.approx(simulate.MISSING_POLE_RATE, abs=0.02)

    # Poles stand W/2 + 0.7 m off the centreline (geodesic distance).
    offset = one(f"""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ST_Distance(p.geom::geography, r.geom::geography))
        FROM {pju} p JOIN {table} r ON split_part(p.source_id, ':', 1)::bigint = r.id
        WHERE p.source = 'simulated' AND r.road_class = 'local' AND r.lanes IS NULL AND r.width_m IS NULL
          AND p.id %% 50 = 0""")[0]
    assert offset == pytest.approx(codes.LIGHTING_RULE["local"]["W"] / 2 + 0.7, abs=0.3)
