"""GET /api/imagery/: GeoJSON footprints with bbox/kind/date filters and paging."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from imagery.models import Imagery
from tests.imagery.conftest import BALI, COLORADO, JAKARTA_DEM, LANDSAT, SRTM, files_under

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(ingest):
    return {
        "jakarta": ingest(JAKARTA_DEM, captured_on=dt.date(2016, 3, 1)),
        "srtm": ingest(SRTM, captured_on=dt.date(2000, 2, 11)),
        "bali": ingest(BALI, captured_on=dt.date(2018, 8, 22)),
        "colorado": ingest(COLORADO, captured_on=dt.date(2014, 4, 1)),
        "landsat": ingest(LANDSAT),
    }


def ids(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["count"] >= len(body["features"])
    return {f["id"] for f in body["features"]}


def test_list_is_geojson_with_the_contract_properties(client, catalogue):
    body = client.get("/api/imagery/").json()
    assert body["count"] == 5 and body["next"] is None
    f = next(f for f in body["features"] if f["id"] == catalogue["bali"].pk)
    assert f["geometry"]["type"] == "MultiPolygon"
    lon, lat = f["geometry"]["coordinates"][0][0][0]
    from shapely.geometry import LinearRing

    for feature in body["features"]:  # RFC 7946 §3.1.6: exterior rings counter-clockwise
        assert all(LinearRing(poly[0]).is_ccw for poly in feature["geometry"]["coordinates"])
    assert 115.15 < lon < 115.17 and -8.59 < lat < -8.58  # RFC 7946 lon/lat order
    p = f["properties"]
    for key in ("kind", "captured_on", "gsd_m", "crs", "width", "height", "bands"):
        assert key in p
    assert p["kind"] == "drone" and p["crs"] == "EPSG:32750" and p["bands"] == 4 and p["captured_on"] == "2018-08-22"
    assert p["tiles"].endswith(f"/imagery/{f['id']}/tiles/{{z}}/{{x}}/{{y}}.png")


def test_bbox_kind_and_date_filters(client, catalogue):
    c = catalogue
    assert ids(client.get("/api/imagery/", {"bbox": "106.6,-6.4,107.0,-6.1"})) == {c["jakarta"].pk}
    assert ids(client.get("/api/imagery/", {"bbox": "7.3,43.6,7.5,43.8"})) == {c["srtm"].pk}
    assert ids(client.get("/api/imagery/", {"bbox": "0,0,1,1"})) == set()
    assert ids(client.get("/api/imagery/", {"kind": "dem"})) == {c["jakarta"].pk, c["srtm"].pk}
    assert ids(client.get("/api/imagery/", {"kind": "drone,satellite"})) == {c["bali"].pk, c["landsat"].pk}
    assert ids(client.get("/api/imagery/", {"captured_from": "2014-01-01"})) == {c["jakarta"].pk, c["bali"].pk, c["colorado"].pk}
    assert ids(client.get("/api/imagery/", {"captured_to": "2015-01-01", "kind": "dem"})) == {c["srtm"].pk}
    assert ids(client.get("/api/imagery/", {"captured_on": "2018-08-22"})) == {c["bali"].pk}
    assert ids(client.get("/api/imagery/", {"date": "2018-08-22"})) == {c["bali"].pk}
    assert ids(client.get("/api/imagery/", {"date": "2010-01-01/2017-01-01"})) == {c["jakarta"].pk, c["colorado"].pk}
    assert ids(client.get("/api/imagery/", {"date": "../2001-01-01"})) == {c["srtm"].pk}


def test_paging(client, catalogue):
    first = client.get("/api/imagery/", {"limit": 2}).json()
    assert first["count"] == 5 and len(first["features"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["features"]) == 2
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}


@pytest.mark.parametrize("query,field", [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "10,5,0,6"}, "bbox"),
    ({"kind": "lidar"}, "kind"),
    ({"captured_from": "kemarin"}, "captured_from"),
    ({"date": "2020-01-01/2019-01-01"}, "date"),
    ({"date": "kemarin"}, "date"),
    ({"limit": 0}, "limit"),
    ({"limit": 10001}, "limit"),
])
def test_bad_filters_are_400_naming_the_parameter(client, query, field):
    r = client.get("/api/imagery/", query)
    assert r.status_code == 400 and field in r.json()["errors"] and r.json()["detail"]


def test_detail_and_delete(client, ingest, imagery_root, django_capture_on_commit_callbacks):
    img = ingest(COLORADO)
    path = imagery_root / img.file
    tilejson = f"/imagery/{img.pk}/tilejson.json"
    assert client.get(tilejson).status_code == 200
    assert client.get(f"/api/imagery/{img.pk}/").json()["id"] == img.pk
    assert client.get(f"/api/imagery/{img.pk + 1000}/").status_code == 404
    assert client.delete(f"/api/imagery/{img.pk}/").status_code in (401, 403)
    assert path.exists()
    staff = get_user_model().objects.create_user("admin-citra", password="x", is_staff=True)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.delete(f"/api/imagery/{img.pk}/")
    assert r.status_code == 204 and not Imagery.objects.exists()
    assert files_under(imagery_root) == []
    assert client.get(tilejson).status_code == 404


def test_private_mode_needs_login_for_tiles_and_catalogue(client, ingest, settings):
    img = ingest(COLORADO)
    settings.PUBLIC_READ = False
    assert client.get("/api/imagery/").status_code in (401, 403)
    assert client.get(f"/imagery/{img.pk}/tilejson.json").status_code == 401
    user = get_user_model().objects.create_user("planner1", password="x")
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    r = client.get(f"/imagery/{img.pk}/tilejson.json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert r.status_code == 200
