"""Area membership and spheroid measures, checked against pyproj."""
import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from pyproj import Geod

from layers.importers.postgis import assign_area_parents, assign_areas, refresh_measures
from layers.models import Area, RoadSegment, StreetLight

GEOD = Geod(ellps="WGS84")


def square(x0, y0, x1, y1):
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


@pytest.fixture
def areas(db):
    kota = Area.objects.create(level="kabupaten_kota", code="99.01", name="Kota Uji", geom=square(106.0, -6.3, 106.2, -6.1))
    west = Area.objects.create(level="kecamatan", code="99.01.01", name="Barat", geom=square(106.0, -6.3, 106.1, -6.1))
    east = Area.objects.create(level="kecamatan", code="99.01.02", name="Timur", geom=square(106.1, -6.3, 106.2, -6.1))
    kel = Area.objects.create(level="kelurahan", code="gen-1", name="Kel", geom=square(106.0, -6.3, 106.05, -6.2))
    refresh_measures(Area)
    assign_area_parents()
    return kota, west, east, kel


def test_parents_by_code_prefix_and_by_location(areas):
    kota, west, east, kel = (Area.objects.get(pk=a.pk) for a in areas)
    assert west.parent_id == kota.id and east.parent_id == kota.id
    assert kel.parent_id == west.id  # no code prefix: the kecamatan holding it


def test_point_and_line_get_the_area_holding_most_of_them(areas):
    _, west, east, kel = areas
    lamp = StreetLight.objects.create(geom=Point(106.01, -6.25, srid=4326))
    # 0.03° in the west, 0.07° in the east: the east holds the larger share.
    road = RoadSegment.objects.create(road_class="local", geom=LineString((106.07, -6.15), (106.17, -6.15), srid=4326))
    outside = StreetLight.objects.create(geom=Point(110, -7, srid=4326))
    assign_areas(StreetLight)
    assign_areas(RoadSegment)
    lamp.refresh_from_db(); road.refresh_from_db(); outside.refresh_from_db()
    assert (lamp.kecamatan_id, lamp.kelurahan_id) == (west.id, kel.id)
    assert road.kecamatan_id == east.id and road.kelurahan_id is None
    assert outside.kecamatan_id is None


def test_lengths_and_areas_are_metres_on_the_spheroid(areas):
    coords = [(106.6, -6.2), (106.65, -6.21), (106.7, -6.18)]
    road = RoadSegment.objects.create(road_class="local", geom=LineString(coords, srid=4326))
    porto = RoadSegment.objects.create(road_class="local", geom=LineString((-8.61, 41.15), (-8.60, 41.16), srid=4326))
    refresh_measures(RoadSegment)
    road.refresh_from_db(); porto.refresh_from_db()
    lons, lats = zip(*coords)
    assert road.length_m == pytest.approx(GEOD.line_length(lons, lats), rel=1e-6)
    assert porto.length_m == pytest.approx(GEOD.line_length([-8.61, -8.60], [41.15, 41.16]), rel=1e-6)
    west = Area.objects.get(pk=areas[1].pk)
    expected, _ = GEOD.polygon_area_perimeter([106.0, 106.1, 106.1, 106.0], [-6.3, -6.3, -6.1, -6.1])
    assert west.area_m2 == pytest.approx(abs(expected), rel=1e-4)
