"""POST/PATCH/DELETE rules: validation (nothing written on a 4xx),
client_id idempotency, versions and 409, soft delete + restore, audit,
photos, and measures/areas set by PostGIS on every write."""
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pyproj import Geod

from layers.models import AuditLog, Photo, RoadSegment, StreetLight
from tests.layers.api_support import admin_client_api, city, officer, planner  # noqa: F401

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()


def feature(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": props}


def post(client, layer, body, status=201):
    r = client.post(f"/api/{layer}/", body, format="json")
    assert r.status_code == status, r.content[:500]
    return json.loads(r.content)


def patch(client, layer, pk, body, status=200):
    r = client.patch(f"/api/{layer}/{pk}/", body, format="json")
    assert r.status_code == status, r.content[:500]
    return json.loads(r.content)


def test_post_pju_sets_area_and_returns_the_feature(planner, city):
    f = post(planner, "pju", feature({"type": "Point", "coordinates": [106.61, -6.19]}, status="working", code="N-1", wattage_w=90))
    assert f["properties"]["kecamatan"] == "99.71.01"  # WEST_BOX holds lon 106.61
    assert f["properties"]["status"] == "working" and f["properties"]["version"] == 1
    obj = StreetLight.objects.get(pk=f["id"])
    assert (obj.geom.x, obj.geom.y) == (106.61, -6.19)
    assert obj.status_origin == "field"  # survives re-imports (SPEC §3)
    assert AuditLog.objects.filter(layer="pju", object_id=obj.pk, action="create").count() == 1


def test_post_road_gets_spheroid_length(planner, city):
    coords = [[106.62, -6.19], [106.64, -6.195], [106.65, -6.18]]
    f = post(planner, "roads", feature({"type": "LineString", "coordinates": coords}, road_class="local", name="Baru"))
    lons, lats = zip(*coords)
    assert f["properties"]["length_m"] == pytest.approx(GEOD.line_length(lons, lats), rel=1e-6)
    # 0.01° of it west of 106.63, the rest east: the larger share wins.
    assert f["properties"]["kecamatan"] == "99.71.02"


@pytest.mark.parametrize(
    "layer, body, field",
    [
        ("pju", feature({"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]}), "geom"),
        ("pju", feature({"type": "Point", "coordinates": [-6.2, 106.6]}), "geom"),  # lat/lon swapped
        ("pju", feature({"type": "Point", "coordinates": [200, -6.2]}), "geom"),
        ("pju", feature({"type": "Point", "coordinates": [106.6, -89.9]}), "geom"),  # outside Web Mercator
        ("pju", feature({"type": "Point", "coordinates": "x"}), "geom"),
        ("pju", feature(None), "geometry"),
        ("pju", feature({"type": "Point", "coordinates": [106.6, -6.2]}, status="broken"), "status"),
        ("pju", feature({"type": "Point", "coordinates": [106.6, -6.2]}, lamp_type="neon"), "lamp_type"),
        ("pju", feature({"type": "Point", "coordinates": [106.6, -6.2]}, colour="red"), "colour"),
        ("pju", feature({"type": "Point", "coordinates": [106.6, -6.2]}, client_id="not-a-uuid"), "client_id"),
        ("pju", {"geometry": {"type": "Point", "coordinates": [106.6, -6.2]}}, "type"),
        ("roads", feature({"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]}, road_class="motorway"), "road_class"),
        ("roads", feature({"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]}), "road_class"),
        ("roads", feature({"type": "LineString", "coordinates": [[106.6, -6.2], [106.6, -6.2]]}, road_class="local"), "geom"),
        ("roads", feature({"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]}, road_class="local", condition="bad"), "condition"),
        ("areas", feature({"type": "Polygon", "coordinates": [[[106.6, -6.2], [106.61, -6.21], [106.61, -6.2], [106.6, -6.21], [106.6, -6.2]]]},
                          level="kelurahan", code="X1", name="Bowtie"), "geom"),
        ("areas", feature({"type": "Polygon", "coordinates": [[[106.6, -6.2], [106.61, -6.2], [106.61, -6.21], [106.6, -6.2]]]},
                          level="dusun", code="X2", name="x"), "level"),
    ],
)
def test_bad_writes_are_400_naming_the_field_and_write_nothing(admin_client_api, city, layer, body, field):
    models = (StreetLight, RoadSegment)
    before = [m.objects.count() for m in models] + [AuditLog.objects.count()]
    data = post(admin_client_api, layer, body, status=400)
    assert field in data["errors"], data
    assert isinstance(data["detail"], str) and data["detail"]
    assert [m.objects.count() for m in models] + [AuditLog.objects.count()] == before


def test_invalid_polygon_reason_is_named(admin_client_api, city):
    bowtie = {"type": "Polygon", "coordinates": [[[106.6, -6.2], [106.61, -6.21], [106.61, -6.2], [106.6, -6.21], [106.6, -6.2]]]}
    data = post(admin_client_api, "areas", feature(bowtie, level="kelurahan", code="X1", name="B"), status=400)
    assert "Self-intersection" in json.dumps(data["errors"]["geom"])


def test_polygon_is_stored_as_multipolygon_with_area(admin_client_api, city):
    ring = [[106.6, -6.2], [106.61, -6.2], [106.61, -6.21], [106.6, -6.21], [106.6, -6.2]]
    f = post(admin_client_api, "areas", feature({"type": "Polygon", "coordinates": [ring]}, level="kelurahan", code="99.71.01.1001", name="K"))
    assert f["geometry"]["type"] == "MultiPolygon"
    lons, lats = zip(*ring)
    assert f["properties"]["area_m2"] == pytest.approx(abs(GEOD.polygon_area_perimeter(lons, lats)[0]), rel=1e-6)
    assert f["properties"]["parent"] == city["west"].pk  # 99.71.01 by code prefix


def test_repeated_client_id_returns_the_first_result(officer, city):
    cid = str(uuid.uuid4())
    body = feature({"type": "Point", "coordinates": [106.62, -6.2]}, status="off", client_id=cid)
    first = post(officer, "pju", body, status=201)
    again = post(officer, "pju", {**body, "properties": {**body["properties"], "status": "working"}}, status=200)
    assert again["id"] == first["id"] and again["properties"]["status"] == "off"
    assert StreetLight.objects.filter(client_id=cid).count() == 1


def test_patch_with_current_version_then_stale_version_409(officer, city):
    pk = StreetLight.objects.order_by("pk").first().pk
    f = patch(officer, "pju", pk, {"properties": {"status": "damaged", "version": 1}})
    assert f["properties"]["status"] == "damaged" and f["properties"]["version"] == 2
    assert StreetLight.objects.get(pk=pk).status_origin == "field"
    stale = patch(officer, "pju", pk, {"properties": {"status": "working", "version": 1}}, status=409)
    assert stale["current"]["properties"]["version"] == 2 and stale["current"]["properties"]["status"] == "damaged"
    assert "version" in stale["errors"] and stale["detail"]
    assert StreetLight.objects.get(pk=pk).status == "damaged"


def test_patch_without_version_is_409_and_changes_nothing(officer, city):
    pk = StreetLight.objects.order_by("pk").first().pk
    data = patch(officer, "pju", pk, {"properties": {"status": "working"}}, status=409)
    assert data["current"]["id"] == pk
    assert StreetLight.objects.get(pk=pk).version == 1


def test_patch_validation_400_writes_nothing(officer, city):
    pk = StreetLight.objects.order_by("pk").first().pk
    data = patch(officer, "pju", pk, {"properties": {"status": "broken", "version": 1}}, status=400)
    assert "status" in data["errors"]
    data = patch(officer, "pju", pk, {"properties": {"version": "one"}}, status=400)
    assert "version" in data["errors"]
    assert StreetLight.objects.get(pk=pk).version == 1


def test_patch_geometry_moves_the_road_and_refreshes_length_and_area(planner, city):
    road = city["roads"][2]
    coords = [[106.601, -6.18], [106.602, -6.19]]
    f = patch(planner, "roads", road.pk, {"geometry": {"type": "LineString", "coordinates": coords}, "properties": {"version": 1}})
    lons, lats = zip(*coords)
    assert f["properties"]["length_m"] == pytest.approx(GEOD.line_length(lons, lats), rel=1e-6)
    assert f["properties"]["kecamatan"] == "99.71.01"


def test_delete_is_soft_restorable_and_audited(planner, city):
    pk = StreetLight.objects.order_by("pk").first().pk
    assert planner.delete(f"/api/pju/{pk}/").status_code == 204
    assert StreetLight.objects.filter(pk=pk, deleted_at__isnull=False).exists()
    assert planner.get(f"/api/pju/{pk}/").status_code == 404
    assert planner.delete(f"/api/pju/{pk}/").status_code == 404
    r = planner.post(f"/api/pju/{pk}/restore/")
    assert r.status_code == 200 and json.loads(r.content)["properties"]["version"] == 3
    assert planner.get(f"/api/pju/{pk}/").status_code == 200
    actions = list(AuditLog.objects.filter(object_id=pk, layer="pju").order_by("id").values_list("action", flat=True))
    assert actions == ["delete", "restore"]


def test_photo_upload_is_listed_in_the_feature(officer, city, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pk = StreetLight.objects.order_by("pk").first().pk
    image = SimpleUploadedFile("tiang.png", PNG, content_type="image/png")
    r = officer.post(f"/api/pju/{pk}/photos/", {"image": image, "caption": "tiang miring", "lon": 106.62, "lat": -6.2, "accuracy_m": 4.5}, format="multipart")
    assert r.status_code == 201, r.content
    f = json.loads(officer.get(f"/api/pju/{pk}/").content)
    (photo,) = f["properties"]["photos"]
    assert photo["caption"] == "tiang miring" and photo["accuracy_m"] == 4.5
    assert photo["location"]["coordinates"] == [106.62, -6.2]
    stored = Photo.objects.get(pk=photo["id"])
    assert (tmp_path / stored.image.name).read_bytes() == PNG


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"caption": "no image"}, "image"),
        ({"image": ("notes.txt", b"hello", "text/plain")}, "image"),
        ({"image": ("fake.jpg", b"not really a jpeg", "image/jpeg")}, "image"),
        ({"image": ("a.png", PNG, "image/png"), "lon": 106.6}, "lon"),
        ({"image": ("a.png", PNG, "image/png"), "lon": 106.6, "lat": -95}, "lat"),
    ],
)
def test_bad_photo_is_400_and_stores_nothing(officer, city, settings, tmp_path, payload, field):
    settings.MEDIA_ROOT = tmp_path
    pk = StreetLight.objects.order_by("pk").first().pk
    data = {k: (SimpleUploadedFile(v[0], v[1], content_type=v[2]) if isinstance(v, tuple) else v) for k, v in payload.items()}
    r = officer.post(f"/api/pju/{pk}/photos/", data, format="multipart")
    assert r.status_code == 400, r.content
    assert field in json.loads(r.content)["errors"]
    assert Photo.objects.count() == 0 and not any(tmp_path.rglob("*.*"))


def test_write_to_unknown_feature_is_404(planner, city):
    r = planner.patch("/api/pju/999999/", {"properties": {"version": 1}}, format="json")
    assert r.status_code == 404 and "detail" in json.loads(r.content)


def test_duplicate_source_id_is_a_400(planner, city):
    body = feature({"type": "Point", "coordinates": [106.62, -6.2]}, source="survey2026", source_id="A-1")
    post(planner, "pju", body)
    data = post(planner, "pju", body, status=400)
    assert "source_id" in data["errors"]
    assert StreetLight.objects.filter(source="survey2026").count() == 1


def test_layer_changed_fires_after_commit_with_the_ids(planner, city, django_capture_on_commit_callbacks):
    from layers.services import layer_changed

    seen = []

    def receiver(sender, ids, action, **kwargs):
        seen.append((sender, ids, action))

    layer_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            f = post(planner, "roads", feature({"type": "LineString", "coordinates": [[106.62, -6.2], [106.63, -6.2]]}, road_class="local"))
        with django_capture_on_commit_callbacks(execute=True):
            patch(planner, "roads", f["id"], {"properties": {"condition": "heavy_damage", "version": 1}})
    finally:
        layer_changed.disconnect(receiver)
    assert seen == [(RoadSegment, [f["id"]], "create"), (RoadSegment, [f["id"]], "update")]


def test_restore_needs_the_delete_permission(officer, planner, city):
    pk = StreetLight.objects.order_by("pk").first().pk
    assert planner.delete(f"/api/pju/{pk}/").status_code == 204
    assert officer.post(f"/api/pju/{pk}/restore/").status_code == 403
    assert StreetLight.objects.filter(pk=pk, deleted_at__isnull=False).exists()
