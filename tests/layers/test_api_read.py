"""GET /api/{layer}/: filters, paging, detail, exports; expected sets come
from the coordinates the test wrote (plain Python), not from our output."""
import json

import pyogrio
import pytest
from pyproj import Geod

from django.contrib.auth.models import User

from layers.models import StreetLight
from tests.layers.api_support import EAST_BOX, WEST_BOX, city  # noqa: F401

pytestmark = pytest.mark.django_db


def lights():
    return {p.pk: p for p in StreetLight.objects.all()}


def inside(point, box):
    return box[0] <= point.x <= box[2] and box[1] <= point.y <= box[3]


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.content[:500]
    return json.loads(r.content)


def test_collection_shape_and_feature_properties(client, city):
    data = get(client, "/api/pju/?limit=5")
    assert data["type"] == "FeatureCollection"
    assert data["count"] == 60 and len(data["features"]) == 5
    f = data["features"][0]
    obj = StreetLight.objects.get(pk=f["id"])
    assert f["geometry"]["type"] == "Point"
    assert f["geometry"]["coordinates"] == pytest.approx([obj.geom.x, obj.geom.y], abs=1e-7)
    assert f["properties"]["status"] == obj.status and f["properties"]["version"] == 1
    expected_kec = "99.71.01" if inside(obj.geom, WEST_BOX) else "99.71.02"
    assert f["properties"]["kecamatan"] == expected_kec


def test_paging_walks_every_feature_once_in_id_order(client, city):
    url, seen, pages = "/api/pju/?limit=25", [], 0
    while url:
        data = get(client, url)
        assert data["count"] == 60
        seen += [f["id"] for f in data["features"]]
        url, pages = data["next"], pages + 1
    assert pages == 3 and seen == sorted(lights())


def test_offset_past_the_end_is_empty_with_the_true_count(client, city):
    data = get(client, "/api/pju/?limit=10&offset=100")
    assert data["features"] == [] and data["count"] == 60 and data["next"] is None


def test_status_filter_single_and_comma_list(client, city):
    objs = lights().values()
    data = get(client, "/api/pju/?status=off&limit=1000")
    assert {f["id"] for f in data["features"]} == {p.pk for p in objs if p.status == "off"}
    data = get(client, "/api/pju/?status=off,damaged")
    assert data["count"] == sum(p.status in ("off", "damaged") for p in objs)


def test_bbox_filter_returns_the_points_inside(client, city):
    box = (106.62, -6.21, 106.64, -6.19)
    data = get(client, "/api/pju/?bbox=" + ",".join(map(str, box)))
    expected = {pk for pk, p in lights().items() if inside(p.geom, box)}
    assert expected and {f["id"] for f in data["features"]} == expected


def test_bbox_filter_on_lines_uses_intersection(client, city):
    # Only Jl. Utama (lat -6.20) crosses this thin box; no road has a vertex in it.
    data = get(client, "/api/roads/?bbox=106.62,-6.201,106.63,-6.199")
    assert [f["properties"]["name"] for f in data["features"]] == ["Jl. Utama"]


def test_area_filter_by_kecamatan_code(client, city):
    data = get(client, "/api/pju/?area=99.71.01")
    assert {f["id"] for f in data["features"]} == {pk for pk, p in lights().items() if inside(p.geom, WEST_BOX)}


def test_road_filters_and_length_on_the_spheroid(client, city):
    data = get(client, "/api/roads/?road_class=arterial")
    assert data["count"] == 1
    f = data["features"][0]
    geod_length = Geod(ellps="WGS84").line_length([106.605, 106.655], [-6.20, -6.20])
    assert f["properties"]["length_m"] == pytest.approx(geod_length, rel=1e-6)
    assert get(client, "/api/roads/?condition=heavy_damage")["features"][0]["properties"]["name"] == "Jl. Kecil"
    assert get(client, "/api/roads/?source=other")["count"] == 1


@pytest.mark.parametrize(
    "query, param",
    [
        ("status=broken", "status"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=106.7,-6.2,106.6,-6.1", "bbox"),
        ("bbox=-6.2,106.6,-6.1,106.7", "bbox"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("area=00.00", "area"),
    ],
)
def test_bad_query_is_a_400_naming_the_parameter(client, city, query, param):
    data = get(client, f"/api/pju/?{query}", status=400)
    assert param in data["errors"] and data["detail"]


def test_road_class_filter_rejects_unknown_codes(client, city):
    data = get(client, "/api/roads/?road_class=highway", status=400)
    assert "road_class" in data["errors"]


def test_detail_and_missing(client, city):
    pk = min(lights())
    f = get(client, f"/api/pju/{pk}/")
    assert f["type"] == "Feature" and f["id"] == pk and f["properties"]["photos"] == []
    data = get(client, "/api/pju/999999/", status=404)
    assert "detail" in data


def test_areas_layer(client, city):
    data = get(client, "/api/areas/")
    assert {f["properties"]["code"] for f in data["features"]} == {"99.71.01", "99.71.02"}
    f = data["features"][0]
    assert f["geometry"]["type"] == "MultiPolygon"
    lons, lats = [WEST_BOX[0], WEST_BOX[2], WEST_BOX[2], WEST_BOX[0]], [WEST_BOX[1], WEST_BOX[1], WEST_BOX[3], WEST_BOX[3]]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    assert f["properties"]["area_m2"] == pytest.approx(abs(area), rel=1e-6)


def test_soft_deleted_features_are_not_listed(client, city):
    from django.utils import timezone

    pk = min(lights())
    StreetLight.objects.filter(pk=pk).update(deleted_at=timezone.now())
    data = get(client, "/api/pju/?limit=1000")
    assert data["count"] == 59 and pk not in {f["id"] for f in data["features"]}
    get(client, f"/api/pju/{pk}/", status=404)


@pytest.mark.parametrize("fmt, driver", [("gpkg", "GPKG"), ("kml", "KML"), ("csv", "CSV")])
def test_exports_hold_every_filtered_feature(client, city, fmt, driver, tmp_path):
    client.force_login(User.objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    r = client.get(f"/api/pju/?format={fmt}&status=working")
    assert r.status_code == 200, r.getvalue()[:300]
    assert r["Content-Disposition"].endswith(f'.{fmt}"')
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(r.getvalue())
    info = pyogrio.read_info(path)
    expected = sum(p.status == "working" for p in lights().values())
    assert info["features"] == expected
    if fmt == "gpkg":
        df = pyogrio.read_dataframe(path)
        assert set(df["id"]) == {pk for pk, p in lights().items() if p.status == "working"}
        assert set(df["status"]) == {"working"}


def test_csv_export_carries_wkt_geometry(client, city):
    client.force_login(User.objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    r = client.get("/api/pju/?format=csv&limit=3")
    text = r.getvalue().decode()
    header = text.splitlines()[0]
    assert header.startswith("WKT") and "status" in header
    first = text.splitlines()[1]
    pk = int(first.split(",")[1])
    p = StreetLight.objects.get(pk=pk).geom
    wkt = first.split('"')[1]
    x, y = (float(v) for v in wkt.removeprefix("POINT (").removesuffix(")").split())
    assert (x, y) == pytest.approx((p.x, p.y), abs=1e-7)


def test_non_ascii_and_quotes_survive_the_postgis_text_path(client, city):
    from layers.models import RoadSegment

    name = 'Jl. "Kali" Ciliwung – Pluit Karang Asri ? ñ 雅加达 \\ end'
    road = city["roads"][0]
    RoadSegment.objects.filter(pk=road.pk).update(name=name)
    f = get(client, f"/api/roads/{road.pk}/")
    assert f["properties"]["name"] == name
    data = get(client, "/api/roads/?road_class=arterial")
    assert data["features"][0]["properties"]["name"] == name


@pytest.mark.parametrize(
    "url, status, field",
    [
        ("/api/pju/?format=xml", 400, "format"),
        ("/api/pju/?offset=99999999999999999999", 400, "offset"),
        ("/api/pju/?bbox=nan,nan,nan,nan", 400, "bbox"),
        ("/api/pju/99999999999999999999/", 404, None),
    ],
)
def test_hostile_queries_are_4xx_not_5xx(client, city, url, status, field):
    data = get(client, url, status=status)
    assert data["detail"] and (field is None or field in data["errors"])


def test_point_bbox_finds_the_point_there(client, city):
    p = StreetLight.objects.order_by("pk").first()
    data = get(client, f"/api/pju/?bbox={p.geom.x},{p.geom.y},{p.geom.x},{p.geom.y}")
    assert p.pk in {f["id"] for f in data["features"]}


def test_api_root_lists_every_collection_and_each_link_answers(client):
    root = client.get("/api/").json()
    for name in ("pju", "roads", "areas", "panels", "imagery", "templates", "work-orders",
                 "needs/lighting-gaps", "needs/proposed-pju", "needs/summary", "schema", "ogc"):
        assert name in root, name
    for name in ("imagery", "templates", "needs/lighting-gaps", "needs/broken-pju", "needs/damaged-roads"):
        path = root[name].split("testserver", 1)[1]
        assert client.get(path).status_code == 200, path
