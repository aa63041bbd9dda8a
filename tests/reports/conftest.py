"""A small scene for the report tests, from a real OSM road of the demo
files (tests/needs/support.py): a local road, three PJU 3 m off it at
chainages 20, 100 and 200 m, a kecamatan around it and the city (its area
code is the Open311 jurisdiction_id). Positions and expected distances come
from pyproj's geodesic, independent of PostGIS."""
from __future__ import annotations

import io

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.cache import cache
from PIL import Image

from layers.importers.postgis import assign_areas, refresh_measures
from layers.models import Area, StreetLight
from reports.models import Open311Key
from tests.needs.support import JAKARTA_STRAIGHT, make_lamp, make_road, point_at, road_coords

CITY_CODE = "99.71"
KEC_CODE = "99.71.01"


def _box(coords, margin):
    lons, lats = zip(*coords)
    return MultiPolygon(Polygon.from_bbox((min(lons) - margin, min(lats) - margin, max(lons) + margin, max(lats) + margin)), srid=4326)


@pytest.fixture(autouse=True)
def _fresh_limits(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPORT_RATE_LIMIT = 1000
    cache.clear()
    yield
    cache.clear()


def build_scene() -> dict:
    coords = road_coords(JAKARTA_STRAIGHT)
    Area.objects.create(level="kabupaten_kota", code=CITY_CODE, name="Kota Uji", geom=_box(coords, 0.05))
    kec = Area.objects.create(level="kecamatan", code=KEC_CODE, name="Kecamatan Uji", geom=_box(coords, 0.01))
    refresh_measures(Area)
    road = make_road(JAKARTA_STRAIGHT, "local", condition="good")
    lamps = {code: make_lamp(point_at(coords, ch, 3, "right"), code=code) for code, ch in (("PJU-A", 20), ("PJU-B", 100), ("PJU-C", 200))}
    assign_areas(StreetLight, [lamp.pk for lamp in lamps.values()])
    for lamp in lamps.values():
        lamp.refresh_from_db()
    return {"coords": coords, "road": road, "lamps": lamps, "kecamatan": kec}


@pytest.fixture
def scene(db):
    return build_scene()


@pytest.fixture
def api_key(db):
    return Open311Key.objects.create(name="LAKSA").key


def jpeg_bytes(size=(64, 48), exif: bytes | None = None, colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    Image.new("RGB", size, colour).save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def post_report(client, key, service_code, lonlat=None, fmt="json", **extra):
    data = {"service_code": service_code, **extra}
    if key is not None:
        data["api_key"] = key
    if lonlat is not None:
        data["long"], data["lat"] = f"{lonlat[0]:.9f}", f"{lonlat[1]:.9f}"
    return client.post(f"/open311/v2/requests.{fmt}", data)
