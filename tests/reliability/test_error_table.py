"""One table over every app (issue 15): a request that must be refused, the status SPEC §4 and
docs/api.md give for it (written out here, not read from the code), and the SPEC §4 body —
`{"detail": "<text>", "errors": {...}}` — whatever door answered (DRF view, plain Django view,
tile, middleware). Then the language of the messages (Bahasa Indonesia by default, English by
Accept-Language or ?lang=en) on a sample, and work orders refused to anonymous users on every
door that serves them (API, vector tiles, TileJSON; OGC does not list them)."""
from __future__ import annotations

import io
import json

import mercantile
import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from layers.models import Photo, StreetLight
from needs.models import WorkOrder
from tests.reliability.support import client_for, make_city, user_in

pytestmark = pytest.mark.django_db

NO_UUID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def world(db):
    make_city(n_lights=8)
    officer = user_in("field_officer", name="officer_e")
    planner = user_in("planner", name="planner_e")
    done = WorkOrder.objects.create(
        kind="broken_pju", status="done", title="selesai", geom=Point(106.62, -6.2, srid=4326), created_by=planner,
        assigned_to=officer, pju=StreetLight.objects.create(status="off", geom=Point(106.62, -6.2, srid=4326)))
    users = {"anonymous": None, "officer": officer, "planner": planner,
             "analyst": user_in("analyst", name="analyst_e"), "admin": user_in(None, superuser=True, name="admin_e")}
    return {"users": users, "pju": StreetLight.objects.order_by("pk").first().pk, "done_order": done.pk}


# (app, case, user, method, path, body, expected status, a key `errors` must hold or None)
CASES = [
    ("layers", "bad bbox", "anonymous", "get", "/api/pju/?bbox=abc", None, 400, None),
    ("layers", "anonymous write", "anonymous", "post", "/api/pju/", {"type": "Feature"}, 401, None),
    ("layers", "write without the model permission", "planner", "post", "/api/areas/", {"type": "Feature"}, 403, None),
    ("layers", "no such feature", "anonymous", "get", "/api/pju/99999999/", None, 404, None),
    ("layers", "PUT on a list", "planner", "put", "/api/pju/", {}, 405, "method"),
    ("layers", "stale version", "planner", "patch", "/api/pju/{pju}/", {"properties": {"status": "off", "version": 99}}, 409, "version"),
    ("layers", "history needs login", "anonymous", "get", "/api/pju/{pju}/history/", None, 401, None),
    ("layers", "tile out of range", "anonymous", "get", "/tiles/pju/3/99/0.pbf", None, 400, "x"),
    ("layers", "unknown tile layer", "anonymous", "get", "/tiles/nope.json", None, 404, None),
    ("imagery", "no such imagery", "anonymous", "get", "/api/imagery/99999999/", None, 404, "id"),
    ("imagery", "anonymous upload", "anonymous", "post", "/api/imagery/", {}, 401, None),
    ("imagery", "upload by an analyst", "analyst", "post", "/api/imagery/", {}, 403, None),
    ("imagery", "delete by a planner (staff only)", "planner", "delete", "/api/imagery/99999999/", None, 403, None),
    ("imagery", "tile of no imagery", "anonymous", "get", "/imagery/99999999/tiles/1/0/0.png", None, 404, "id"),
    ("estimates", "estimate without input", "anonymous", "post", "/api/estimates/", {}, 400, None),
    ("estimates", "anonymous export", "anonymous", "get", "/api/programme/?format=csv", None, 401, None),
    ("estimates", "DELETE on templates", "planner", "delete", "/api/templates/", None, 405, "method"),
    ("needs", "bad summary level", "anonymous", "get", "/api/needs/summary/?level=provinsi", None, 400, "level"),
    ("needs", "anonymous work orders", "anonymous", "get", "/api/work-orders/", None, 401, None),
    ("needs", "compute by an analyst", "analyst", "post", "/api/needs/compute/", {}, 403, None),
    ("needs", "no such work order", "planner", "get", "/api/work-orders/99999999/", None, 404, None),
    ("needs", "start a done order", "officer", "post", "/api/work-orders/{done_order}/start/", {}, 409, "status"),
    ("needs", "start someone else's order", "analyst", "post", "/api/work-orders/{done_order}/start/", {}, 403, "user"),
    ("ogc", "work orders are no OGC collection", "anonymous", "get", "/ogc/collections/work_orders", None, 404, None),
    ("ogc", "POST to an OGC collection", "planner", "post", "/ogc/collections", {}, 405, None),
    ("webapp", "anonymous officer list", "anonymous", "get", "/map/officers/", None, 401, None),
    ("webapp", "officer list for an analyst", "analyst", "get", "/map/officers/", None, 403, None),
    ("webapp", "search without q", "anonymous", "get", "/map/search/?q=", None, 400, "q"),
    ("webapp", "no such media file", "anonymous", "get", "/media/photos/none.jpg", None, 404, "path"),
    ("live", "anonymous command", "anonymous", "post", "/api/pju/{pju}/command/", {"level": 50}, 401, None),
    ("live", "command by an analyst", "analyst", "post", "/api/pju/{pju}/command/", {"level": 50}, 403, None),
    ("live", "energy report needs login", "anonymous", "get", "/api/energy/", None, 401, None),
    ("reports", "no such report", "anonymous", "get", "/api/reports/99999999/", None, 404, None),
    ("reports", "anonymous Open311 keys", "anonymous", "get", "/api/open311-keys/", None, 401, None),
    ("reports", "Open311 keys for a planner", "planner", "get", "/api/open311-keys/", None, 403, None),
    ("imports", "anonymous import list", "anonymous", "get", "/api/imports/", None, 401, None),
    ("imports", "import list for an analyst", "analyst", "get", "/api/imports/", None, 403, None),
    ("imports", "no such import job", "planner", "get", f"/api/imports/{NO_UUID}/", None, 404, None),
    ("imports", "tus upload without Tus-Resumable", "planner", "post", "/api/uploads/", None, 412, "upload"),
    ("kernel", "unknown API path", "anonymous", "get", "/api/no-such-thing/", None, 404, "path"),
]


def assert_spec_shape(response, status, errors_key=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) >= {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert isinstance(body["errors"], dict), body
    if errors_key is not None:
        assert errors_key in body["errors"], body
    return body


def test_every_app_is_in_the_table():
    from tests.reliability.test_layering import LEVEL

    assert {app for app, *_ in CASES} >= set(LEVEL) - {"geo_platform"}


@pytest.mark.parametrize("app, case, who, method, path, body, status, errors_key", CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_refusals_have_the_spec_shape(world, app, case, who, method, path, body, status, errors_key):
    client = client_for(world["users"][who])
    url = path.format(**world)
    kwargs = {"format": "json"} if body is not None else {}
    response = getattr(client, method)(url, body, **kwargs) if body is not None else getattr(client, method)(url)
    assert_spec_shape(response, status, errors_key)


def test_a_conflict_carries_the_current_feature(world):
    client = client_for(world["users"]["planner"])
    response = client.patch(f"/api/pju/{world['pju']}/", {"properties": {"status": "off", "version": 99}}, format="json")
    body = assert_spec_shape(response, 409, "version")
    assert body["current"]["id"] == world["pju"] and body["current"]["properties"]["version"] == 1


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_413(world):
    client = client_for(world["users"]["planner"])
    response = client.post("/api/pju/", {"type": "Feature", "properties": {"notes": "x" * 2000}}, format="json")
    assert_spec_shape(response, 413, "body")


@pytest.mark.parametrize("url, english, indonesian", [
    # the kernel's own texts (geo_platform/locale)
    ("/tiles/work_orders.json", "Login or an API token is needed.", "Perlu login atau token API."),
    ("/api/no-such-thing/", "No such resource: /api/no-such-thing/", "Sumber daya tidak ada: /api/no-such-thing/"),
    # DRF's texts through the same handler
    ("/api/work-orders/", "Authentication credentials were not provided.", "Data autentikasi tidak diberikan."),
    # the apps' common refusals (locale/id): paging, bbox, keyset, OGC API, media
    ("/api/pju/?limit=0", "limit: limit must be between 1 and 10000", "limit: limit harus antara 1 dan 10000"),
    ("/api/pju/?offset=x", "offset: offset must be an integer", "offset: offset harus bilangan bulat"),
    ("/api/pju/?after=x", "after: after must be an integer (the last id of the previous page)",
     "after: after harus bilangan bulat (id terakhir halaman sebelumnya)"),
    ("/api/pju/?bbox=1,2,3", "bbox: bbox must be minlon,minlat,maxlon,maxlat (4 numbers)",
     "bbox: bbox harus minlon,minlat,maxlon,maxlat (4 angka)"),
    ("/api/pju/?bbox=10,10,0,0", "bbox: bbox minimum is larger than its maximum (order: minlon,minlat,maxlon,maxlat)",
     "bbox: nilai minimum bbox lebih besar dari maksimumnya (urutan: minlon,minlat,maxlon,maxlat)"),
    ("/ogc/collections/nope", "no collection 'nope'; collections: pju, roads, areas",
     "koleksi 'nope' tidak ada; koleksi: pju, roads, areas"),
    ("/ogc/collections/pju/items/99999999", "no feature 99999999 in collection pju",
     "fitur 99999999 tidak ada di koleksi pju"),
    ("/ogc/collections/pju/items?f=fgb", "Exports (f=fgb) need login or an API token.",
     "Ekspor (f=fgb) memerlukan login atau token API."),
    ("/media/photos/none.jpg", "no such file: /media/photos/none.jpg", "berkas tidak ada: /media/photos/none.jpg"),
    ("/api/pju/?area=NOPE", "area: no area with code 'NOPE'", "area: tidak ada area dengan kode 'NOPE'"),
    ("/api/pju/?format=shp", "format: unknown format; one of geojson, json, csv, gpkg, kml, fgb",
     "format: format tidak dikenal; pilih salah satu dari geojson, json, csv, gpkg, kml, fgb"),
    ("/api/needs/summary/?level=provinsi", "level: level must be kecamatan or kelurahan, not 'provinsi'",
     "level: level harus kecamatan atau kelurahan, bukan 'provinsi'"),
    # ogc/core.py's own refusals, translated at the view (the core imports no framework)
    ("/ogc/collections/pju/items?sortby=x", "sortby: unknown query parameter", "sortby: parameter kueri tidak dikenal"),
    ("/ogc/collections/pju/items?crs=EPSG:3857",
     "crs: only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported",
     "crs: hanya http://www.opengis.net/def/crs/OGC/1.3/CRS84 yang didukung"),
])
def test_messages_follow_the_request_language(world, url, english, indonesian):
    client = client_for(None)
    assert json.loads(client.get(url).content)["detail"] == indonesian  # Bahasa Indonesia by default
    assert json.loads(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content)["detail"] == english
    joiner = "&" if "?" in url else "?"
    assert json.loads(client.get(f"{url}{joiner}lang=en").content)["detail"] == english
    assert json.loads(client.get(f"{url}{joiner}lang=id", HTTP_ACCEPT_LANGUAGE="en").content)["detail"] == indonesian


def test_a_405_is_translated_too(world):
    client = client_for(world["users"]["planner"])
    assert json.loads(client.put("/api/pju/?lang=en").content)["detail"] == "This method is not allowed here. (PUT)"
    assert json.loads(client.put("/api/pju/").content)["detail"] == "Metode ini tidak diizinkan di sini. (PUT)"


@pytest.mark.parametrize("public_read", [True, False])
def test_work_orders_are_refused_to_anonymous_users_on_every_door(world, settings, public_read):
    settings.PUBLIC_READ = public_read
    tile = mercantile.tile(106.62, -6.2, 14)
    doors = ["/api/work-orders/", f"/api/work-orders/{world['done_order']}/",
             f"/tiles/work_orders/{tile.z}/{tile.x}/{tile.y}.pbf", "/tiles/work_orders.json"]
    anonymous, bad_token, planner = client_for(None), client_for(None), client_for(world["users"]["planner"])
    bad_token.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for door in doors:
        assert_spec_shape(anonymous.get(door), 401)
        assert_spec_shape(bad_token.get(door), 401)
        assert planner.get(door).status_code == 200, door
    # the session door of the pages answers the same
    session = client_for(None)
    session.force_login(world["users"]["planner"])
    assert session.get(doors[2]).status_code == 200
    # OGC does not list them at all
    collections = json.loads(planner.get("/ogc/collections").content)["collections"]
    assert "work_orders" not in {c["id"] for c in collections}
    assert_spec_shape(anonymous.get("/ogc/collections/work_orders"), 404 if public_read else 401)


def _png(size, mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


# A photo refused by geo_platform/uploads.py, on the field officers' door: (file bytes, English, Indonesian)
PHOTO_CASES = [
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>',
     "image: the file is not a JPEG, PNG or WebP image (SVG, HTML and other types are refused)",
     "image: berkas bukan gambar JPEG, PNG atau WebP (SVG, HTML dan jenis lain ditolak)"),
    (_png((10_000, 6_000), mode="1"),  # 60,000,000 pixels declared; PHOTO_MAX_PIXELS is 50,000,000
     "image: the image declares 10000×6000 pixels, more than the 50,000,000 allowed",
     "image: gambar menyatakan 10000×6000 piksel, lebih dari 50.000.000 yang diizinkan"),
    (_png((20_000, 20_000), mode="1"),  # 400,000,000: Pillow itself refuses to open it (a decompression bomb)
     "image: the image is too large to decode safely (",
     "image: gambar terlalu besar untuk dibuka dengan aman ("),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature and nothing readable after it
     "image: the image cannot be read (",
     "image: gambar tidak dapat dibaca ("),
]


@pytest.mark.parametrize("data, english, indonesian", PHOTO_CASES, ids=["svg", "too many pixels", "bomb", "unreadable"])
def test_a_refused_photo_says_why_in_the_request_language(world, settings, tmp_path, data, english, indonesian):
    settings.MEDIA_ROOT, settings.PHOTO_MAX_PIXELS = tmp_path / "media", 50_000_000
    client = client_for(world["users"]["officer"])

    def refusal(url, **headers):
        response = client.post(url, {"image": SimpleUploadedFile("p.png", data, content_type="image/png")},
                               format="multipart", **headers)
        return assert_spec_shape(response, 400, "image")["detail"]

    url = f"/api/pju/{world['pju']}/photos/"
    assert refusal(url).startswith(indonesian)  # Bahasa Indonesia by default
    assert refusal(url, HTTP_ACCEPT_LANGUAGE="en").startswith(english)
    assert refusal(f"{url}?lang=en").startswith(english)
    assert refusal(f"{url}?lang=id", HTTP_ACCEPT_LANGUAGE="en").startswith(indonesian)
    assert not Photo.objects.exists()


POINT_200 = {"type": "Point", "coordinates": [200, -6.2]}
# Refused writes of layers/, needs/ and estimates/ in both languages: (user, method, path, body, English, Indonesian)
WRITE_CASES = [
    ("planner", "post", "/api/pju/", {"type": "Feature", "geometry": POINT_200, "properties": {}},
     "geom: longitude out of range -180..180 (got 200.0..200.0); GeoJSON order is [lon, lat]",
     "geom: bujur di luar rentang -180..180 (diterima 200.0..200.0); urutan GeoJSON adalah [lon, lat]"),
    ("planner", "post", "/api/pju/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -95]}, "properties": {}},
     "geom: latitude out of range ±85.0511 (got -95.0..-95.0); GeoJSON order is [lon, lat]",
     "geom: lintang di luar rentang ±85.0511 (diterima -95.0..-95.0); urutan GeoJSON adalah [lon, lat]"),
    ("admin", "post", "/api/areas/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -6.2]},
                                      "properties": {"name": "x", "level": "kelurahan", "code": "X1"}},
     "geom: layer areas takes Polygon or MultiPolygon, got Point",
     "geom: layer areas menerima Polygon atau MultiPolygon, diterima Point"),
    ("planner", "post", "/api/roads/", {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[106.6, -6.2], [106.6, -6.2]]},
                                        "properties": {"road_class": "local"}},
     "geom: line has zero length (all points equal)", "geom: panjang garis nol (semua titiknya sama)"),
    ("planner", "post", "/api/pju/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -6.2]},
                                      "properties": {"drop table": 1}},
     "drop table: unknown property for layer pju", "drop table: properti tidak dikenal untuk layer pju"),
    ("planner", "post", "/api/pju/", {"type": "Feature", "geometry": None, "properties": {}},
     "geometry: geometry is required", "geometry: geometry wajib diisi"),
    ("planner", "post", "/api/pju/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -6.2]}, "properties": [1]},
     "properties: properties must be an object", "properties: properties harus berupa objek"),
    ("planner", "patch", "/api/pju/{pju}/", {"properties": {"version": "satu"}},
     "version: version must be an integer", "version: version harus bilangan bulat"),
    # needs/
    ("planner", "post", "/api/needs/compute/", {"roads": "semua"},
     "roads: roads must be a list of road ids (integers)", "roads: roads harus berupa daftar id jalan (bilangan bulat)"),
    ("planner", "post", "/api/work-orders/", {"kind": "broken_pju", "target": 99999999},
     "target: no PJU with id 99999999", "target: tidak ada PJU dengan id 99999999"),
    # estimates/
    ("anonymous", "post", "/api/estimates/", {"geometry": {"type": "Point", "coordinates": [106.6, -6.2]}, "width_m": 7, "template": "FFF1"},
     "geometry: geometry must be a GeoJSON LineString, Polygon or MultiPolygon",
     "geometry: geometry harus berupa GeoJSON LineString, Polygon atau MultiPolygon"),
    ("anonymous", "post", "/api/estimates/", {"geometry": {"type": "LineString", "coordinates": [[680000, 9316000], [681000, 9316000]]},
                                              "width_m": 7, "template": "FFF1"},
     "geometry: coordinates must be lon/lat in WGS 84 (RFC 7946)", "geometry: koordinat harus lon/lat dalam WGS 84 (RFC 7946)"),
    ("anonymous", "post", "/api/estimates/", {"geometry": {"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]},
                                              "width_m": 0, "template": "FFF1"},
     "width_m: width_m must be a positive number of metres", "width_m: width_m harus berupa angka positif dalam meter"),
    ("anonymous", "post", "/api/estimates/", {"road_ids": [1], "geometry": {"type": "LineString", "coordinates": [[106.6, -6.2], [106.61, -6.2]]},
                                              "width_m": 7, "template": "FFF1"},
     "geometry: give either geometry (+ width_m for a LineString) or road_ids",
     "geometry: berikan salah satu: geometry (+ width_m untuk LineString) atau road_ids"),
]


@pytest.mark.parametrize("who, method, path, body, english, indonesian", WRITE_CASES, ids=[c[4][:40] for c in WRITE_CASES])
def test_write_refusals_follow_the_request_language(world, who, method, path, body, english, indonesian):
    client = client_for(world["users"][who])
    url = path.format(**world)
    send = getattr(client, method)
    assert assert_spec_shape(send(url, body, format="json"), 400)["detail"] == indonesian  # the default
    assert assert_spec_shape(send(f"{url}?lang=en", body, format="json"), 400)["detail"] == english
    assert assert_spec_shape(send(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en"), 400)["detail"] == english


# Work-order refusals (needs/work_orders: texts put into words in the request's language): (user, English, Indonesian)
TRANSITION_CASES = [
    ("officer", 409, "status", "work order {done_order} is done: cannot start it (allowed now: none (final state))",
     "perintah kerja {done_order} berstatus done: aksi start tidak dapat dilakukan (yang diizinkan sekarang: tidak ada (status akhir))"),
    ("analyst", 403, "user", "only the assigned officer starts work order {done_order}",
     "hanya petugas yang ditugaskan yang dapat memulai perintah kerja {done_order}"),
]


@pytest.mark.parametrize("who, status, key, english, indonesian", TRANSITION_CASES, ids=["409", "403"])
def test_work_order_refusals_follow_the_request_language(world, who, status, key, english, indonesian):
    client = client_for(world["users"][who])
    url = f"/api/work-orders/{world['done_order']}/start/"
    assert assert_spec_shape(client.post(url, {}, format="json"), status, key)["detail"] == indonesian.format(**world)
    assert assert_spec_shape(client.post(f"{url}?lang=en", {}, format="json"), status, key)["detail"] == english.format(**world)
