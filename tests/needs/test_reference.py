"""The PostGIS analysis against an independent implementation of SPEC §5 in
Python (pyproj for the UTM projection and geodesic lengths, shapely for
distances and projections), on 400 real Jakarta OSM ways with the simulated
PJU inventory of layers.simulate along them."""
import math

import pytest
from django.contrib.gis.geos import GEOSGeometry
from pyproj import Geod, Transformer
from shapely.geometry import LineString as ShapelyLine
from shapely.geometry import Point as ShapelyPoint

from geo_platform import codes
from layers.importers.postgis import refresh_measures
from layers.models import RoadSegment, StreetLight
from layers.simulate import simulate_streetlights
from needs.models import LightingGap
from needs.services import lighting_needs_compute
from tests.needs.support import _jakarta

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")
N_ROADS = 400
RULE = {"arterial": (10, 3.5, 14), "collector": (9, 4.0, 9), "local": (7, 5.0, 6), "neighbourhood": (6, 6.0, 4), "path": (5, 6.0, 2)}


def utm_epsg(lon, lat):
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1


def reference(coords, road_class, lanes, lamps):
    """(under-lit metres, proposed poles) of one road by SPEC §5."""
    h, k, w_default = RULE[road_class]
    s = k * h
    w = lanes * 3.0 if lanes else w_default
    xs, ys = zip(*coords)
    L = GEOD.line_length(xs, ys)
    line_lon = ShapelyLine(coords)
    c = line_lon.centroid
    to_utm = Transformer.from_crs(4326, utm_epsg(c.x, c.y), always_xy=True)
    line = ShapelyLine([to_utm.transform(x, y) for x, y in coords])
    chainages = []
    for lon, lat in lamps:
        p = ShapelyPoint(to_utm.transform(lon, lat))
        if line.distance(p) <= w / 2 + 10:
            chainages.append(line.project(p, normalized=True) * L)
    if not chainages:
        return L, (math.ceil(L / s) if L >= s / 2 else 0)
    pos = [0.0, *sorted(chainages), L]
    underlit, poles = 0.0, 0
    for i, (a, b) in enumerate(zip(pos, pos[1:])):
        g = b - a
        if i == 0 or i == len(pos) - 2:
            if g > s / 2:
                underlit += g - s / 2
                poles += math.ceil((g - s / 2) / s)
        elif g > s:
            underlit += g - s
            poles += math.ceil(g / s) - 1
    return underlit, poles


def test_postgis_analysis_equals_a_python_reference_on_simulated_real_roads():
    df = _jakarta().head(N_ROADS)
    roads = []
    for fid, row in df.iterrows():
        lanes = int(row["lanes"]) if row["lanes"] == row["lanes"] and row["lanes"] else None
        roads.append(RoadSegment(road_class=codes.OSM_HIGHWAY_CLASS[row["highway"]], lanes=lanes, source="test_sim",
                                 source_id=str(fid), geom=GEOSGeometry(memoryview(row.geometry.wkb), srid=4326)))
    RoadSegment.objects.bulk_create(roads)
    refresh_measures(RoadSegment)
    assert simulate_streetlights(road_sources=["test_sim"]) > 1000
    lighting_needs_compute()
    lamps = [(p.x, p.y) for p in StreetLight.objects.filter(status__in=["working", "unknown"]).values_list("geom", flat=True)]
    stored = {}
    for gap in LightingGap.objects.all():
        m, n = stored.get(gap.road_id, (0.0, 0))
        stored[gap.road_id] = (m + gap.length_m, n + gap.proposed_count)
    checked = with_gaps = 0
    for road in RoadSegment.objects.all():
        coords = list(road.geom.coords)
        xs, ys = zip(*coords)
        near = [(x, y) for x, y in lamps if min(xs) - 0.002 <= x <= max(xs) + 0.002 and min(ys) - 0.002 <= y <= max(ys) + 0.002]
        underlit, poles = reference(coords, road.road_class, road.lanes, near)
        got_m, got_n = stored.get(road.pk, (0.0, 0))
        assert got_m == pytest.approx(underlit, abs=0.02), road.source_id
        assert got_n == poles, road.source_id
        checked += 1
        with_gaps += underlit > 0
    assert checked == N_ROADS and with_gaps > 50
