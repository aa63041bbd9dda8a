"""The kernel's GeoJSON builder, envelope and paging rule
(geo_platform/geojson.py) on real PostGIS rows: a spec with a join and a
bound parameter, the feature order, the count shortcut, and the same
envelope on the needs, reports and layers endpoints."""
import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from rest_framework.exceptions import ValidationError

from geo_platform import geojson
from layers.importers.postgis import areas_at, assign_areas, refresh_measures
from layers.models import Area, StreetLight
from tests.layers.api_support import client_for

pytestmark = pytest.mark.django_db


def square(x0, y0, x1, y1):
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


@pytest.fixture
def areas(db):
    kec = Area.objects.create(level="kecamatan", code="99.01.01", name="Kec A", geom=square(106.80, -6.30, 106.90, -6.20))
    big = Area.objects.create(level="kelurahan", code="99.01.01.1001", name="Kel besar", geom=square(106.80, -6.30, 106.85, -6.25),
                              parent=kec)
    small = Area.objects.create(level="kelurahan", code="99.01.01.1002", name="Kel kecil \"x\"",
                                geom=square(106.81, -6.29, 106.82, -6.28), parent=kec)
    refresh_measures(Area)
    return {"kec": kec, "big": big, "small": small}


def test_parse_paging_defaults_limits_and_errors():
    assert geojson.parse_paging({}) == (geojson.DEFAULT_LIMIT, 0) == (1000, 0)
    assert geojson.parse_paging({"limit": "10000", "offset": "5"}) == (10_000, 5)
    for query, field in (({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"limit": "x"}, "limit"),
                         ({"offset": "-1"}, "offset"), ({"offset": str(10**13)}, "offset")):
        with pytest.raises(ValidationError) as caught:
            geojson.parse_paging(query)
        assert list(caught.value.detail) == [field]


def test_builder_joins_binds_parameters_and_keeps_the_order(areas):
    spec = geojson.FeatureSpec(
        columns=("code", "name", "parent_id", "level"),
        properties=(("code", "t.code"), ("name", "t.name"), ("parent", "p.code"), ("tag", "%s || t.level")),
        joins=" LEFT JOIN layers_area p ON p.id = t.parent_id",
        params=("lvl:",),
    )
    qs = Area.objects.filter(code__startswith="99.")
    body, n, last_id = geojson.feature_page_sql(spec, qs.order_by("-code")[:3], order="t.code DESC")
    features = json.loads(b"[" + body + b"]")
    assert n == 3 and last_id == max(a.pk for a in areas.values())
    assert [f["properties"]["code"] for f in features] == ["99.01.01.1002", "99.01.01.1001", "99.01.01"]
    small = features[0]
    assert small == {
        "type": "Feature", "id": areas["small"].pk,
        "geometry": {"type": "MultiPolygon", "coordinates": [[[[106.81, -6.29], [106.81, -6.28], [106.82, -6.28],
                                                               [106.82, -6.29], [106.81, -6.29]]]]},
        "properties": {"code": "99.01.01.1002", "name": 'Kel kecil "x"', "parent": "99.01.01", "tag": "lvl:kelurahan"},
    }
    assert features[2]["properties"]["parent"] is None
    # selection keeps the spec's order; the count is skipped only when the page tells it
    assert [p[0] for p in spec.select(("tag", "code")).properties] == ["code", "tag"]
    page = geojson.feature_page(spec, qs, limit=2, offset=0, order_by=("code",), order="t.code")
    assert (page.returned, page.matched) == (2, 3)
    page = geojson.feature_page(spec, qs, limit=5, offset=1, order_by=("code",), order="t.code")
    assert (page.returned, page.matched) == (2, 3)


def test_areas_at_follows_the_assets_rule(areas):
    inside_small = Point(106.815, -6.285, srid=4326)  # in both kelurahan: the smaller one holds it
    inside_big = Point(106.84, -6.26, srid=4326)
    outside = Point(107.5, -6.0, srid=4326)
    assert areas_at(inside_small) == (areas["kec"].pk, areas["small"].pk)
    assert areas_at(inside_big) == (areas["kec"].pk, areas["big"].pk)
    assert areas_at(outside) == (None, None)
    lamps = [StreetLight.objects.create(status="working", source="test", geom=p) for p in (inside_small, inside_big, outside)]
    assign_areas(StreetLight, [lamp.pk for lamp in lamps])
    for lamp in lamps:
        lamp.refresh_from_db()
        assert areas_at(lamp.geom) == (lamp.kecamatan_id, lamp.kelurahan_id)


def test_the_same_envelope_on_layers_needs_and_reports(areas):
    client = client_for(None)
    for status in ("off", "damaged", "off"):
        StreetLight.objects.create(status=status, source="test", geom=Point(106.815, -6.285, srid=4326))
    for url in ("/api/needs/broken-pju/?limit=2&offset=1", "/api/pju/?limit=2&offset=1",
                "/api/reports/?limit=2&offset=1", "/api/reports/proposals/?limit=2&offset=1"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.content[:300])
        body = r.json()
        assert set(body) >= {"type", "count", "count_exact", "next", "previous", "features"}, url
        assert body["type"] == "FeatureCollection"
        assert "offset=0" in body["previous"] and "limit=2" in body["previous"], url
    needs = client.get("/api/needs/broken-pju/?limit=2&offset=1").json()
    assert needs["count"] == 3 and needs["next"] is None and len(needs["features"]) == 2
    first = client.get("/api/needs/broken-pju/?limit=2").json()
    assert "offset=2" in first["next"] and first["previous"] is None
    assert [f["id"] for f in first["features"]] == sorted(f["id"] for f in first["features"])
