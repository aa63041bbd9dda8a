"""SPEC §5 on real OSM roads, against hand-worked cases.

Every expected number is worked out here from the rule's closed forms and the
road's geodesic length measured by pyproj (independent of PostGIS); PJU are
placed at known chainages/offsets with pyproj's geodesic."""
import math

import pytest

from needs.models import LightingGap, ProposedPJU
from needs.services import lighting_needs_compute
from tests.needs.support import (
    JAKARTA_ARTERIAL,
    JAKARTA_CURVED,
    JAKARTA_SHORT,
    JAKARTA_STRAIGHT,
    PORTO_STRAIGHT,
    GEOD,
    distance_m,
    geodesic_length,
    make_lamp,
    make_road,
    point_at,
    road_coords,
)

pytestmark = pytest.mark.django_db
TOL = 0.01  # metres


def gaps_of(road):
    return list(LightingGap.objects.filter(road=road).order_by("start_m"))


def poles_of(road):
    return list(ProposedPJU.objects.filter(road=road).order_by("chainage_m"))


def lonlat(geom):
    return geom.x, geom.y


def test_straight_local_road_with_lamps_at_known_chainages():
    """local: H 7, k 5 → S 35; W 6 → counted within 13 m; poles 3.7 m off."""
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local")
    L = geodesic_length(coords)
    assert L == pytest.approx(276.49, abs=0.01)
    make_lamp(point_at(coords, 20, 5, "right"))  # counts
    make_lamp(point_at(coords, 50, 12, "left"), status="unknown")  # unknown counts, 12 m < 13 m
    make_lamp(point_at(coords, 100, 2, "right"), status="off")  # off: not counted
    make_lamp(point_at(coords, 110, 14, "right"))  # 14 m > W/2 + 10 = 13 m: not counted
    make_lamp(point_at(coords, 150, 2, "left"), status="damaged")  # damaged: not counted
    make_lamp(point_at(coords, 200, 4, "right"))  # counts
    report = lighting_needs_compute()
    # positions 0 | 20, 50, 200 | L
    e_end = L - 200
    expected_gaps = [
        ("start", 0.0, 20 - 17.5, 20.0, 1),  # e = 20 > 17.5: 2.5 m at the start; n = ⌈2.5/35⌉ = 1
        ("internal", 50 + 17.5, 200 - 17.5, 150.0, 4),  # g = 150 > 35: 115 m centred; n = ⌈150/35⌉ − 1 = 4
        ("end", 200 + 17.5, L, e_end, 2),  # e = 76.49 > 17.5: e − 17.5 = 58.99 m; n = ⌈58.99/35⌉ = 2
    ]
    gaps = gaps_of(road)
    assert [(g.kind, g.proposed_count) for g in gaps] == [(k, n) for k, _, _, _, n in expected_gaps]
    for g, (_, start, end, gap, _) in zip(gaps, expected_gaps):
        assert g.start_m == pytest.approx(start, abs=TOL)
        assert g.end_m == pytest.approx(end, abs=TOL)
        assert g.length_m == pytest.approx(end - start, abs=TOL)
        assert g.gap_m == pytest.approx(gap, abs=TOL)
        assert (g.spacing_m, g.width_m, g.reach_m, g.offset_m) == (35.0, 6.0, 13.0, 3.7)
    s_start, s_end = 20 / 1.5, e_end / 2.5
    expected_poles = [s_start / 2, 80, 110, 140, 170, L - s_end * 1.5, L - s_end / 2]
    poles = poles_of(road)
    assert [p.chainage_m for p in poles] == pytest.approx(expected_poles, abs=TOL)
    # W 6 ≤ H 7: one side, where most counted PJU stand (2 right, 1 left)
    assert {p.side for p in poles} == {"right"}
    for p, c in zip(poles, expected_poles):
        assert distance_m(lonlat(p.geom), point_at(coords, c, 3.7, "right")) < 0.05
    assert report["gaps"] == 3 and report["proposed"] == 7
    assert report["underlit_m"] == pytest.approx(2.5 + 115 + (e_end - 17.5), abs=0.03)


def test_unlit_arterial_road_gets_staggered_poles_over_its_whole_length():
    coords = road_coords(JAKARTA_ARTERIAL)
    road = make_road(JAKARTA_ARTERIAL, "arterial")
    L = geodesic_length(coords)
    lighting_needs_compute(road_ids=[road.pk])
    (gap,) = gaps_of(road)
    assert gap.kind == "unlit"
    assert (gap.start_m, gap.end_m) == pytest.approx((0, L), abs=TOL)
    n = math.ceil(L / 35)  # 296.69 / 35 → 9 poles at L/9 steps, half a step at each end
    assert n == 9
    poles = poles_of(road)
    assert [p.chainage_m for p in poles] == pytest.approx([(i + 0.5) * L / n for i in range(n)], abs=TOL)
    # W 14 > H 10: staggered, alternating sides, 7.7 m off the centreline
    assert [p.side for p in poles] == ["left", "right"] * 4 + ["left"]
    for p in poles:
        assert distance_m(lonlat(p.geom), point_at(coords, p.chainage_m, 7.7, p.side)) < 0.05
    line = gap.geom
    assert GEOD.line_length(*zip(*line.coords)) == pytest.approx(L, abs=TOL)


def test_short_unlit_road_is_underlit_but_gets_no_pole():
    coords = road_coords(JAKARTA_SHORT)
    road = make_road(JAKARTA_SHORT, "local")
    L = geodesic_length(coords)
    assert L < 35 / 2
    lighting_needs_compute()
    (gap,) = gaps_of(road)
    assert gap.kind == "unlit" and gap.proposed_count == 0
    assert gap.length_m == pytest.approx(L, abs=TOL)
    assert poles_of(road) == []


@pytest.mark.parametrize(
    "fields, offset, counted",
    [
        ({}, 12.9, True),  # class W 6: reach 13 m
        ({}, 13.1, False),
        ({"width_m": 10.0}, 14.9, True),  # W from the data: reach 15 m
        ({"width_m": 10.0}, 15.1, False),
        ({"lanes": 4}, 15.9, True),  # W = 4 lanes × 3 m = 12: reach 16 m
        ({"lanes": 4}, 16.1, False),
    ],
)
def test_a_lamp_counts_only_within_half_the_width_plus_10_m(fields, offset, counted):
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local", **fields)
    L = geodesic_length(coords)
    make_lamp(point_at(coords, L / 2, offset, "left"))
    lighting_needs_compute(road_ids=[road.pk])
    kinds = [g.kind for g in gaps_of(road)]
    if counted:
        assert kinds == ["start", "end"]  # two end gaps of L/2 = 138 m
        assert sum(g.length_m for g in gaps_of(road)) == pytest.approx(2 * (L / 2 - 17.5), abs=TOL)
    else:
        assert kinds == ["unlit"]


def test_off_and_damaged_lamps_do_not_count_and_working_ones_do():
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local")
    L = geodesic_length(coords)
    for i, status in enumerate(["off", "damaged", "off"]):
        make_lamp(point_at(coords, 30 + 35 * i, 3, "left"), status=status)
    lighting_needs_compute()
    assert [g.kind for g in gaps_of(road)] == ["unlit"]
    assert len(poles_of(road)) == math.ceil(L / 35)


def test_curved_road_chainages_follow_the_curve():
    coords = road_coords(JAKARTA_CURVED)
    road = make_road(JAKARTA_CURVED, "local")
    L = geodesic_length(coords)
    assert L == pytest.approx(459.31, abs=0.01)
    make_lamp(point_at(coords, 100))
    make_lamp(point_at(coords, 300))
    lighting_needs_compute()
    e = L - 300
    n_end = math.ceil((e - 17.5) / 35)
    assert n_end == 5
    expected = [("start", 0, 82.5, 3), ("internal", 117.5, 282.5, 5), ("end", 317.5, L, n_end)]
    gaps = gaps_of(road)
    assert [(g.kind, g.proposed_count) for g in gaps] == [(k, n) for k, _, _, n in expected]
    for g, (_, start, end, _) in zip(gaps, expected):
        assert (g.start_m, g.end_m) == pytest.approx((start, end), abs=TOL)
        # the stored line follows the curve: its geodesic length is the under-lit length
        assert GEOD.line_length(*zip(*g.geom.coords)) == pytest.approx(end - start, abs=0.02)
        assert distance_m(g.geom.coords[0], point_at(coords, start)) < 0.02
        assert distance_m(g.geom.coords[-1], point_at(coords, end)) < 0.02
    s0, s1 = 100 / 3.5, e / (n_end + 0.5)
    expected_poles = (
        [s0 * (i - 0.5) for i in (1, 2, 3)]
        + [100 + i * 200 / 6 for i in (1, 2, 3, 4, 5)]
        + sorted(L - s1 * (i - 0.5) for i in range(1, n_end + 1))
    )
    poles = poles_of(road)
    assert [p.chainage_m for p in poles] == pytest.approx(expected_poles, abs=TOL)
    for p in poles:  # W/2 + 0.7 m from the point of the road at its chainage
        assert distance_m(lonlat(p.geom), point_at(coords, p.chainage_m)) == pytest.approx(3.7, abs=0.02)


def test_utm_zone_is_the_road_own_zone_outside_indonesia():
    """Porto (8.6°W, 41.1°N, UTM 29N): metres stay right, so the zone is not hard-coded."""
    coords = road_coords(PORTO_STRAIGHT)
    road = make_road(PORTO_STRAIGHT, "local")
    L = geodesic_length(coords)
    make_lamp(point_at(coords, 40, 6, "right"))
    lighting_needs_compute(road_ids=[road.pk])
    start, end = gaps_of(road)
    assert (start.kind, start.start_m, start.end_m) == ("start", 0, pytest.approx(40 - 17.5, abs=TOL))
    assert (end.kind, end.start_m, end.end_m) == ("end", pytest.approx(57.5, abs=TOL), pytest.approx(L, abs=TOL))
    for p in poles_of(road):
        assert distance_m(lonlat(p.geom), point_at(coords, p.chainage_m, 3.7, "right")) < 0.05


def test_lamp_at_a_junction_lights_both_roads_and_rerun_replaces_results():
    coords = road_coords(JAKARTA_STRAIGHT)
    a = make_road(JAKARTA_STRAIGHT, "local")
    b = make_road(JAKARTA_STRAIGHT, "path", tag="b")  # same line, other class: S 30, W 2 → reach 11 m
    make_lamp(point_at(coords, 100, 10.5, "left"))
    first = lighting_needs_compute()
    assert [g.kind for g in gaps_of(a)] == ["start", "end"]
    assert [g.kind for g in gaps_of(b)] == ["start", "end"]
    assert gaps_of(b)[0].end_m == pytest.approx(100 - 15, abs=TOL)
    again = lighting_needs_compute()
    assert LightingGap.objects.count() == first["gaps"] == again["gaps"] == 4
    assert ProposedPJU.objects.count() == first["proposed"] == again["proposed"]
