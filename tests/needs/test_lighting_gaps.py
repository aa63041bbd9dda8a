"""SPEC §5 (v2) on real OSM roads, against hand-worked cases.

Every expected number is worked out here from the rule's closed forms and the
road's geodesic length measured by pyproj (independent of PostGIS); PJU are
placed at known chainages/offsets with pyproj's geodesic."""
import math

import pytest

from needs.models import LightingGap, ProposedPJU
from needs.services import lighting_needs_compute
from tests.needs.support import (
    JAKARTA_ARTERIAL,
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


def spans(road, kind):
    """[start, end, start, end, …] of the road's pieces of `kind`."""
    return [m for g in gaps_of(road) if g.kind == kind for m in (g.start_m, g.end_m)]


def flat(pairs):
    return [m for pair in pairs for m in pair]


def test_straight_local_road_with_lamps_at_known_chainages():
    """local: H 7, k 5 → S 35, ρ 17.5 (standard lamp); W 6 → lights within 13 m;
    poles 3.7 m off. Discs: 20 [2.5, 37.5], 50 [32.5, 67.5], 100 off [82.5,
    117.5], 150 damaged [132.5, 167.5], 200 [182.5, 217.5]; 110 m at 14 m > 13 m
    lights nothing."""
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local")
    L = geodesic_length(coords)
    assert L == pytest.approx(276.49, abs=0.01)
    make_lamp(point_at(coords, 20, 5, "right"))
    make_lamp(point_at(coords, 50, 12, "left"), status="unknown")  # unknown counts as working, 12 m < 13 m
    make_lamp(point_at(coords, 100, 2, "right"), status="off")  # off: its disc is dark, not missing
    make_lamp(point_at(coords, 110, 14, "right"))  # 14 m > W/2 + 10 = 13 m: lights nothing
    make_lamp(point_at(coords, 150, 2, "left"), status="damaged")
    make_lamp(point_at(coords, 200, 4, "right"))
    report = lighting_needs_compute()
    assert spans(road, "missing") == pytest.approx(flat([(0, 2.5), (67.5, 82.5), (117.5, 132.5), (167.5, 182.5), (217.5, L)]), abs=TOL)
    assert spans(road, "dark") == pytest.approx(flat([(82.5, 117.5), (132.5, 167.5)]), abs=TOL)
    assert spans(road, "weak") == []
    # [0, 2.5] is shorter than S/2 and ends at the road end: no pole; 15 m
    # stretches between disc edges: 1 pole each at the middle; 217.5–L
    # (58.99 m): ⌈58.99/35⌉ = 2 at steps 29.495, half a step at each end
    step = (L - 217.5) / 2
    expected_poles = [75, 125, 175, 217.5 + step / 2, 217.5 + 1.5 * step]
    poles = poles_of(road)
    assert [p.chainage_m for p in poles] == pytest.approx(expected_poles, abs=TOL)
    # W 6 ≤ H 7: one side, where most PJU lighting the road stand (3 right, 2 left)
    assert {p.side for p in poles} == {"right"}
    for p, c in zip(poles, expected_poles):
        assert distance_m(lonlat(p.geom), point_at(coords, c, 3.7, "right")) < 0.05
    for g in gaps_of(road):
        assert (g.spacing_m, g.width_m, g.reach_m, g.offset_m) == (35.0, 6.0, 13.0, 3.7)
    assert report["gaps"] == 7 and report["proposed"] == 5
    assert report["underlit_m"] == pytest.approx(2.5 + 15 * 3 + (L - 217.5) + 70, abs=0.05)


def test_unlit_arterial_road_gets_staggered_poles_over_its_whole_length():
    coords = road_coords(JAKARTA_ARTERIAL)
    road = make_road(JAKARTA_ARTERIAL, "arterial")
    L = geodesic_length(coords)
    lighting_needs_compute(road_ids=[road.pk])
    (gap,) = gaps_of(road)
    assert gap.kind == "missing"
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
    assert gap.kind == "missing" and gap.proposed_count == 0
    assert gap.length_m == pytest.approx(L, abs=TOL)
    assert poles_of(road) == []


@pytest.mark.parametrize(
    "fields, offset, counted",
    [
        ({}, 12.9, True),  # class W 6: reach 13 m
        ({}, 13.1, False),
        ({"width_m": 10.0}, 14.9, True),  # W from the data: reach 15 m
        ({"width_m": 10.0}, 15.1, False),
        ({"lanes": 4}, 15.9, True),  # W = 4 lanes × 3 m (local lane) = 12: reach 16 m
        ({"lanes": 4}, 16.1, False),
    ],
)
def test_a_lamp_lights_a_road_only_within_half_the_width_plus_10_m(fields, offset, counted):
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local", **fields)
    L = geodesic_length(coords)
    make_lamp(point_at(coords, L / 2, offset, "left"))
    lighting_needs_compute(road_ids=[road.pk])
    if counted:  # its disc of 17.5 m around its anchor (the foot at L/2)
        assert spans(road, "missing") == pytest.approx(flat([(0, L / 2 - 17.5), (L / 2 + 17.5, L)]), abs=TOL)
    else:
        assert spans(road, "missing") == pytest.approx(flat([(0, L)]), abs=TOL)


def test_off_and_damaged_lamps_make_dark_road_and_no_new_pole():
    """Discs of the broken lamps at 30/65/100: 12.5–117.5 dark (a repair, never a
    new pole); 0–12.5 missing without a pole (< S/2 at the road end); 117.5–L
    missing: ⌈(L − 117.5)/35⌉ = 5 poles."""
    coords = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local")
    L = geodesic_length(coords)
    for i, status in enumerate(["off", "damaged", "off"]):
        make_lamp(point_at(coords, 30 + 35 * i, 3, "left"), status=status)
    lighting_needs_compute()
    assert spans(road, "dark") == pytest.approx(flat([(12.5, 117.5)]), abs=TOL)
    assert spans(road, "missing") == pytest.approx(flat([(0, 12.5), (117.5, L)]), abs=TOL)
    assert len(poles_of(road)) == math.ceil((L - 117.5) / 35) == 5
    assert all(p.chainage_m > 117.5 for p in poles_of(road))


def test_utm_zone_is_the_road_own_zone_outside_indonesia():
    """Porto (8.6°W, 41.1°N, UTM 29N): metres stay right, so the zone is not hard-coded."""
    coords = road_coords(PORTO_STRAIGHT)
    road = make_road(PORTO_STRAIGHT, "local")
    L = geodesic_length(coords)
    make_lamp(point_at(coords, 40, 6, "right"))
    lighting_needs_compute(road_ids=[road.pk])
    assert spans(road, "missing") == pytest.approx(flat([(0, 22.5), (57.5, L)]), abs=TOL)
    assert len(poles_of(road)) == 1 + math.ceil((L - 57.5) / 35)
    for p in poles_of(road):
        assert distance_m(lonlat(p.geom), point_at(coords, p.chainage_m, 3.7, "right")) < 0.05


def test_lamp_near_two_roads_lights_both_and_rerun_replaces_results():
    coords = road_coords(JAKARTA_STRAIGHT)
    a = make_road(JAKARTA_STRAIGHT, "local")
    b = make_road(JAKARTA_STRAIGHT, "path", tag="b")  # same line, other class: k 6, H 5 → ρ 15, W 2 → reach 11 m
    make_lamp(point_at(coords, 100, 10.5, "left"))
    first = lighting_needs_compute()
    assert spans(a, "missing") == pytest.approx(flat([(0, 82.5), (117.5, a.length_m)]), abs=TOL)
    assert spans(b, "missing") == pytest.approx(flat([(0, 85), (115, b.length_m)]), abs=TOL)
    again = lighting_needs_compute()
    assert LightingGap.objects.count() == first["gaps"] == again["gaps"] == 4
    assert ProposedPJU.objects.count() == first["proposed"] == again["proposed"]
