import pytest
from django.contrib.gis.geos import LineString
from pyproj import Geod

from geo_platform.srid import utm_srid
from layers.models import RoadSegment


def test_utm_srid_north_south_and_zones():
    assert utm_srid(106.63, -6.18) == 32748  # Tangerang: UTM 48S
    assert utm_srid(-8.61, 41.15) == 32629  # Porto: UTM 29N
    assert utm_srid(179.9, 10) == 32660
    assert utm_srid(-180, -10) == 32701


@pytest.mark.django_db
def test_road_segment_stores_wgs84_with_gist_index():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "select indexdef from pg_indexes where tablename = %s and indexdef ilike %s",
            [RoadSegment._meta.db_table, "%gist%"],
        )
        assert cur.fetchall(), "no GiST index on road geometry"
    road = RoadSegment.objects.create(road_class="local", geom=LineString((106.6, -6.2), (106.61, -6.2), srid=4326))
    assert road.geom.srid == 4326
