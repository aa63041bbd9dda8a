"""SPEC §5 v2 worked cases (coverage across the network: missing / weak /
dark), on roads and PJU built with pyproj's geodesic (independent of PostGIS).

Every expected number is worked out in the comments from the rule:
ρ = ½·min(k·h, Φ·UF·MF/(Ē·W)); arterial H 10, k 3.5 (S 35), W 14, Ē 11, reach
W/2 + 10 = 17 m, standard lamp 19,500 lm (ρ = ½·min(35, 19500·0.4·0.8/154 =
40.52) = 17.5); local H 7, k 5 (S 35), W 6, Ē 2, reach 13 m, standard lamp
5,200 lm (ρ = ½·min(35, 138.7) = 17.5)."""
import math

import numpy as np
import pytest
from django.contrib.gis.geos import LineString, Point
from pyproj import Geod

from layers.importers.postgis import assign_areas, refresh_measures
from layers.models import RoadSegment, StreetLight
from needs.models import LampMatch, LightingGap, ProposedPJU
from needs.services import lighting_needs_compute, lighting_needs_refresh
from tests.needs.support import JAKARTA_CURVED, road_coords

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")
TOL = 0.02  # metres
JAKARTA = (106.8272, -6.1754)  # UTM 48S
EQUATOR = (106.8272, 0.0)  # UTM 48N, on the equator
SAO_PAULO_EDGE = (-47.995, -23.55)  # UTM 23S, 5 m inside the zone's western edge (scale error ≈ 1.0006)
OSLO = (10.75, 59.91)  # UTM 32N


def walk(origin, az, dist):
    lon, lat, _ = GEOD.fwd(origin[0], origin[1], az, dist)
    return lon, lat


def beside(origin, az, chainage, offset=0.0, side="left"):
    """`chainage` m from `origin` along azimuth `az`, then `offset` m to its left/right."""
    p = walk(origin, az, chainage)
    return walk(p, az + (-90 if side == "left" else 90), offset) if offset else p


def road(coords, road_class="arterial", tag="", **fields):
    r = RoadSegment.objects.create(road_class=road_class, source="test", source_id=f"v2-{tag or len(coords)}-{id(coords)}",
                                   geom=LineString(coords, srid=4326), **fields)
    refresh_measures(RoadSegment, [r.pk])
    assign_areas(RoadSegment, [r.pk])
    r.refresh_from_db()
    return r


def straight(origin, az, start, end, road_class="arterial", **fields):
    return road([beside(origin, az, start), beside(origin, az, end)], road_class, tag=f"{start}-{end}-{az}", **fields)


def lamp(lonlat, status="working", **fields):
    p = StreetLight.objects.create(status=status, source="test", geom=Point(*lonlat, srid=4326), **fields)
    assign_areas(StreetLight, [p.pk])
    return p


def gaps(r, kind=None):
    qs = LightingGap.objects.filter(road=r).order_by("start_m")
    return list(qs.filter(kind=kind) if kind else qs)


def spans(r, kind):
    return [(g.start_m, g.end_m) for g in gaps(r, kind)]


def poles(r=None):
    qs = ProposedPJU.objects.order_by("road_id", "chainage_m")
    return list(qs.filter(road=r) if r else qs)


def totals():
    return {k: sum(g.length_m for g in LightingGap.objects.filter(kind=k)) for k in ("missing", "weak", "dark")}


@pytest.mark.parametrize("origin", [JAKARTA, EQUATOR])
def test_split_arterial_poles_across_the_split_leave_10_m_missing_and_1_pole(origin):
    """Split at 100 m, poles at 15/50/85/130/165/200 m, 7.7 m off the centreline.
    The pole at 85 lies √(15² + 7.7²) = 16.86 m < 17 m from road 2, so it lights
    road 2 from its anchor (85 m) to 85 + 17.5 = 102.5 m; the pole at 130 covers
    112.5–147.5: 102.5–112.5 = 10 m missing, one stretch ending at two disc
    edges → ⌈10/35⌉ = 1 pole at its middle, 107.5 m (7.5 m along road 2)."""
    az = 90.0
    r1, r2 = straight(origin, az, 0, 100), straight(origin, az, 100, 200)
    for c in (15, 50, 85, 130, 165, 200):
        lamp(beside(origin, az, c, 7.7, "left"))
    report = lighting_needs_compute()
    assert spans(r1, "missing") == []
    assert spans(r2, "missing") == [(pytest.approx(2.5, abs=TOL), pytest.approx(12.5, abs=TOL))]
    assert totals() == {"missing": pytest.approx(10, abs=TOL), "weak": 0, "dark": 0}
    (pole,) = poles()
    assert pole.road_id == r2.pk and pole.chainage_m == pytest.approx(7.5, abs=TOL)
    assert report["proposed"] == 1 and report["by_kind"]["missing"]["length_m"] == pytest.approx(10, abs=TOL)
    assert pole.lamp == {"type": "led", "wattage_w": 150, "lumen": 19500, "pole_height_m": 10}


@pytest.mark.parametrize("origin", [JAKARTA, EQUATOR])
def test_split_arterial_other_way_joins_the_two_pieces_into_one_stretch(origin):
    """Poles at 10/45/80/125/160/195: the pole at 80 is √(20² + 7.7²) = 21.4 m
    from road 2 and the one at 125 is 26.2 m from road 1, so road 1 misses
    97.5–100 and road 2 100–107.5: joined at the node of two into one 10 m
    stretch → 1 pole at its middle (102.5 m = 2.5 m along road 2)."""
    az = 90.0
    r1, r2 = straight(origin, az, 0, 100), straight(origin, az, 100, 200)
    for c in (10, 45, 80, 125, 160, 195):
        lamp(beside(origin, az, c, 7.7, "left"))
    lighting_needs_compute()
    assert spans(r1, "missing") == [(pytest.approx(97.5, abs=TOL), pytest.approx(100, abs=TOL))]
    assert spans(r2, "missing") == [(pytest.approx(0, abs=TOL), pytest.approx(7.5, abs=TOL))]
    (pole,) = poles()
    assert pole.road_id == r2.pk and pole.chainage_m == pytest.approx(2.5, abs=TOL)
    assert [g.gap_m for g in gaps(r1) + gaps(r2)] == [pytest.approx(10, abs=TOL)] * 2  # the stretch length


def _row(origin, middle=None, middle_status="working"):
    """A 175 m arterial with poles every S = 35 m (17.5, 52.5, …, 157.5),
    7.7 m off: every disc of 17.5 m meets the next one. `middle` = fields of
    the pole at 87.5 m."""
    az = 45.0
    r = straight(origin, az, 0, 175)
    lamps = {c: lamp(beside(origin, az, c, 7.7, "right"), status=middle_status if c == 87.5 else "working",
                     **((middle or {}) if c == 87.5 else {}))
             for c in (17.5, 52.5, 87.5, 122.5, 157.5)}
    return r, lamps


def test_full_row_exactly_s_apart_is_lit_and_gets_nothing():
    r, _ = _row(JAKARTA)
    lighting_needs_compute()
    assert gaps(r) == [] and poles() == []


@pytest.mark.parametrize("origin", [JAKARTA, EQUATOR])
def test_poles_within_a_centimetre_of_s_either_way_give_nothing(origin):
    az = 90.0
    r = straight(origin, az, 0, 210.05)
    for i, c in enumerate((17.5, 52.51, 87.5, 122.49, 157.5, 192.51)):  # spacing 35.01 / 34.99 m
        lamp(beside(origin, az, c, 7.7, "left" if i % 2 else "right"))
    lighting_needs_compute()
    assert gaps(r) == [] and poles() == []


def test_one_off_lamp_in_a_row_gives_35_m_dark_and_no_proposal():
    """The off pole's disc (70–105 m) is covered by no working lamp: 35 m dark;
    with every lamp working it would be lit, so it is neither missing nor weak."""
    r, lamps = _row(JAKARTA, middle_status="off")
    lighting_needs_compute()
    assert spans(r, "dark") == [(pytest.approx(70, abs=TOL), pytest.approx(105, abs=TOL))]
    assert spans(r, "missing") == [] and spans(r, "weak") == [] and poles() == []
    match = LampMatch.objects.get(pju=lamps[87.5], road=r)
    assert match.dark_m == pytest.approx(35, abs=TOL) and not match.upgrade  # what its repair restores


def test_one_20_w_led_in_a_row_gives_29_60_m_weak_and_is_an_upgrade():
    """Φ = 20 W × 130 lm/W = 2,600 lm; ρ = ½·min(35, 2600·0.4·0.8/(11·14) = 5.4026)
    = 2.7013 m: it covers 84.80–90.20; the standard disc (17.5 m) covers 70–105,
    so 35 − 5.40 = 29.60 m is weak, in two pieces of 14.80 m."""
    r, lamps = _row(JAKARTA, middle={"lamp_type": "led", "wattage_w": 20})
    lighting_needs_compute()
    rho = 0.5 * 2600 * 0.4 * 0.8 / (11 * 14)
    assert spans(r, "weak") == [(pytest.approx(70, abs=TOL), pytest.approx(87.5 - rho, abs=TOL)),
                                (pytest.approx(87.5 + rho, abs=TOL), pytest.approx(105, abs=TOL))]
    assert totals()["weak"] == pytest.approx(29.60, abs=TOL)
    assert spans(r, "missing") == [] and spans(r, "dark") == [] and poles() == []
    up = LampMatch.objects.get(pju=lamps[87.5], road=r)
    assert up.upgrade and up.weak_m == pytest.approx(29.60, abs=TOL)
    assert up.radius_m == pytest.approx(rho, abs=1e-3) and up.standard_radius_m == pytest.approx(17.5)
    assert not LampMatch.objects.filter(upgrade=True).exclude(pju=lamps[87.5]).exists()


def test_one_7_m_pole_in_a_row_gives_2_x_5_25_m_missing_and_2_proposals():
    """h = 7: ρ = ½·min(3.5·7 = 24.5, 40.52) = 12.25 m (even with the standard
    lamp): 70–75.25 and 99.75–105 missing, each a stretch between two disc
    edges → 1 pole each, at 72.625 and 102.375 m."""
    r, _ = _row(JAKARTA, middle={"pole_height_m": 7.0})
    lighting_needs_compute()
    assert spans(r, "missing") == [(pytest.approx(70, abs=TOL), pytest.approx(75.25, abs=TOL)),
                                   (pytest.approx(99.75, abs=TOL), pytest.approx(105, abs=TOL))]
    assert [p.chainage_m for p in poles(r)] == [pytest.approx(72.625, abs=TOL), pytest.approx(102.375, abs=TOL)]
    assert spans(r, "weak") == [] and spans(r, "dark") == []


def test_unlit_100_m_arterial_gets_3_poles_and_a_10_m_stub_none():
    """u = 100 ≥ S/2: n = ⌈100/35⌉ = 3 at steps 33.33, half a step at each end.
    The 10 m stub ends at segment ends and is shorter than S/2 = 17.5: under-lit
    (missing 10 m) but no pole."""
    a = straight(JAKARTA, 0, 0, 100)
    stub = straight(walk(JAKARTA, 90, 500), 0, 0, 10)
    lighting_needs_compute()
    assert spans(a, "missing") == [(0, pytest.approx(100, abs=TOL))]
    assert [p.chainage_m for p in poles(a)] == pytest.approx([100 / 6, 50, 500 / 6], abs=TOL)
    assert [p.side for p in poles(a)] == ["left", "right", "left"]  # W 14 > H 10: staggered
    assert spans(stub, "missing") == [(0, pytest.approx(10, abs=TOL))] and poles(stub) == []


def test_t_junction_lit_by_one_corner_pole():
    """Three local arms of 40 m meeting at J (west, east, north). One pole at
    3 m east, 2 m north of J: nearest road = the east arm (2 m) → anchor 3 m
    east of J; ρ = 17.5. West arm covered 0–14.5 m from J (3 + 14.5 = 17.5) →
    missing 25.5 m; east arm covered to 20.5 m → missing 19.5 m; north arm
    covered while √(3² + y²) ≤ 17.5, y ≤ 17.241 → missing 22.759 m. Each of
    those stretches ≥ S/2 gets ⌈u/35⌉ = 1 pole at its middle."""
    j = JAKARTA
    west = road([walk(j, 270, 40), j], "local", tag="w")
    east = road([j, walk(j, 90, 40)], "local", tag="e")
    north = road([j, walk(j, 0, 40)], "local", tag="n")
    lamp(walk(walk(j, 90, 3), 0, 2))
    lighting_needs_compute()
    y = math.sqrt(17.5 ** 2 - 9)
    assert spans(west, "missing") == [(0, pytest.approx(25.5, abs=TOL))]
    assert spans(east, "missing") == [(pytest.approx(20.5, abs=TOL), pytest.approx(40, abs=TOL))]
    assert spans(north, "missing") == [(pytest.approx(y, abs=TOL), pytest.approx(40, abs=TOL))]
    assert [p.chainage_m for p in poles(west)] == [pytest.approx(12.75, abs=TOL)]
    assert [p.chainage_m for p in poles(east)] == [pytest.approx(30.25, abs=TOL)]
    assert [p.chainage_m for p in poles(north)] == [pytest.approx((y + 40) / 2, abs=TOL)]


def test_t_junction_short_arms_are_all_lit_by_the_corner_pole():
    j = JAKARTA
    arms = [road([walk(j, 270, 14), j], "local", tag="w"), road([j, walk(j, 90, 14)], "local", tag="e"),
            road([j, walk(j, 0, 14)], "local", tag="n")]
    lamp(walk(walk(j, 90, 3), 0, 2))
    lighting_needs_compute()
    assert all(gaps(a) == [] for a in arms) and poles() == []


@pytest.mark.parametrize("split", [True, False])
def test_crossing_of_two_same_class_roads_lit_by_one_corner_pole(split):
    """Two local roads crossing at J (arms of 14 m), split at J or not. The pole
    at (3 m E, 2 m N) anchors on the W–E road 3 m east of J: west to 14.5 m,
    east to 20.5 m, north/south while √(9 + y²) ≤ 17.5 (17.24 m): all lit."""
    j = JAKARTA
    if split:
        roads = [road([walk(j, az, 14), j] if az in (270, 180) else [j, walk(j, az, 14)], "local", tag=f"x{az}")
                 for az in (270, 90, 0, 180)]
    else:
        roads = [road([walk(j, 270, 14), j, walk(j, 90, 14)], "local", tag="we"),
                 road([walk(j, 180, 14), j, walk(j, 0, 14)], "local", tag="sn")]
    lamp(walk(walk(j, 90, 3), 0, 2))
    lighting_needs_compute()
    assert all(gaps(r) == [] for r in roads) and poles() == []


def test_curved_road_covers_straight_line_metres_around_the_anchor():
    """A real curved OSM way (459.31 m, sinuosity 1.45), local, lamps on the line
    at 100 and 300 m. Expected coverage from pyproj alone: the way densified
    every 5 cm along its geodesic segments; a point is lit when its geodesic
    distance to a lamp is ≤ 17.5 m."""
    coords = road_coords(JAKARTA_CURVED)
    r = road(coords, "local", tag="curve")
    pts, chain = [], []
    done = 0.0
    for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
        az, _, seg = GEOD.inv(x0, y0, x1, y1)
        for s in np.arange(0, seg, 0.05):
            pts.append(GEOD.fwd(x0, y0, az, s)[:2])
            chain.append(done + s)
        done += seg
    pts.append(coords[-1])
    chain.append(done)
    lamps = []
    for c in (100, 300):
        i = int(np.searchsorted(chain, c))
        lamps.append(pts[i])
        lamp(pts[i])
    lons, lats = np.array(pts).T
    lit = np.zeros(len(pts), bool)
    for lon, lat in lamps:
        d = GEOD.inv(np.full(len(pts), lon), np.full(len(pts), lat), lons, lats)[2]
        lit |= d <= 17.5
    chain = np.array(chain)
    expected_missing = float(np.sum(np.diff(chain)[~(lit[:-1] & lit[1:])]))
    lighting_needs_compute()
    assert totals()["missing"] == pytest.approx(expected_missing, abs=0.2)
    # straight-line cover on a curve reaches further along the road than 2 × 17.5 per lamp
    assert totals()["missing"] < done - 2 * 35


@pytest.mark.parametrize("origin, zone", [(SAO_PAULO_EDGE, 32723), (OSLO, 32632)])
def test_other_utm_zones_and_hemispheres_measure_ground_metres(origin, zone):
    """A 100 m local road with one lamp at 50 m: covered 32.5–67.5, two 32.5 m
    stretches ending at a road end (≥ S/2) → 1 pole each at 16.25 and 83.75."""
    r = straight(origin, 80, 0, 100, road_class="local")
    lamp(beside(origin, 80, 50, 4, "left"))
    lighting_needs_compute()
    assert spans(r, "missing") == [(0, pytest.approx(32.5, abs=TOL)), (pytest.approx(67.5, abs=TOL), pytest.approx(100, abs=TOL))]
    assert [p.chainage_m for p in poles(r)] == [pytest.approx(16.25, abs=TOL), pytest.approx(83.75, abs=TOL)]
    for p in poles(r):  # W/2 + 0.7 = 3.7 m off the centreline, on the lamp's side
        expected = beside(origin, 80, p.chainage_m, 3.7, "left")
        assert GEOD.inv(p.geom.x, p.geom.y, *expected)[2] < 0.05


def test_refresh_after_an_edit_recomputes_the_roads_within_reach():
    """Switching the middle lamp of the row off turns 70–105 dark; back on, lit;
    the split road next to it is recomputed too (the lamp lights across)."""
    r, lamps = _row(JAKARTA)
    lighting_needs_compute()
    assert gaps(r) == []
    middle = lamps[87.5]
    StreetLight.objects.filter(pk=middle.pk).update(status="damaged")
    lighting_needs_refresh(pju_ids=[middle.pk])
    assert spans(r, "dark") == [(pytest.approx(70, abs=TOL), pytest.approx(105, abs=TOL))]
    StreetLight.objects.filter(pk=middle.pk).update(status="working", wattage_w=20, lamp_type="led")
    lighting_needs_refresh(pju_ids=[middle.pk])
    assert totals() == {"missing": 0, "weak": pytest.approx(29.60, abs=TOL), "dark": 0}
    full = lighting_needs_compute()
    assert full["by_kind"]["weak"]["length_m"] == pytest.approx(29.60, abs=TOL)
