"""GeoReport v2 shapes (JSON and XML), errors as the spec's error list with
a 4xx, API keys issued by admins, contacts never public."""
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from django.test import Client

from reports.models import Open311Key, Report
from tests.layers.api_support import client_for, user_in
from tests.reports.conftest import CITY_CODE, post_report

pytestmark = pytest.mark.django_db

SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_KEYS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
    "lat", "long", "media_url",
}


def xml(response):
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_json_and_xml(client):
    d = client.get("/open311/v2/discovery.json").json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= d.keys()
    (endpoint,) = d["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml(client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_services_and_definitions(client, scene):
    services = client.get("/open311/v2/services.json").json()
    assert {s["service_code"] for s in services} >= {"pju_mati", "pju_rusak", "pju_usulan", "jalan_rusak"}
    assert all(set(s) == SERVICE_KEYS for s in services)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["pju_mati"]["metadata"] is True and by_code["jalan_rusak"]["metadata"] is False
    root = xml(client.get(f"/open311/v2/services.xml?jurisdiction_id={CITY_CODE}"))
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    assert root.find("service/metadata").text in ("true", "false")

    d = client.get("/open311/v2/services/pju_mati.json").json()
    assert d["service_code"] == "pju_mati"
    (attr,) = d["attributes"]
    assert attr["code"] == "pju_code" and attr["variable"] is True and attr["datatype"] == "string" and attr["required"] is False
    assert {"datatype_description", "order", "description"} <= attr.keys()
    assert client.get("/open311/v2/services/jalan_rusak.json").json()["attributes"] == []
    root = xml(client.get("/open311/v2/services/pju_rusak.xml"))
    assert root.tag == "service_definition" and root.find("attributes/attribute/code").text == "pju_code"


def test_post_and_get_requests_json_and_xml(client, scene, api_key):
    lamp = scene["lamps"]["PJU-B"]
    r = post_report(client, api_key, "pju_mati", (lamp.geom.x, lamp.geom.y), description="Mati sejak kemarin",
                    email="warga@example.org", phone="0812000111", first_name="Siti", jurisdiction_id=CITY_CODE)
    assert r.status_code == 201, r.content
    (created,) = r.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    rid = created["service_request_id"]

    (one,) = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert set(one) == REQUEST_KEYS
    assert one["status"] == "open" and one["service_code"] == "pju_mati" and one["description"] == "Mati sejak kemarin"
    assert one["lat"] == pytest.approx(lamp.geom.y, abs=1e-9) and one["long"] == pytest.approx(lamp.geom.x, abs=1e-9)
    requested = datetime.fromisoformat(one["requested_datetime"])
    assert requested.utcoffset() is not None  # W3C date-time with its offset
    # SLA of pju_mati: 3 days (SPEC §8)
    assert datetime.fromisoformat(one["expected_datetime"]) - requested == pytest.approx(timedelta(days=3), abs=timedelta(seconds=1))

    listed = client.get("/open311/v2/requests.json?service_code=pju_mati&status=open").json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert client.get("/open311/v2/requests.json?status=closed").json() == []
    assert client.get(f"/open311/v2/requests.json?service_request_id={rid}").json()[0]["service_request_id"] == rid

    root = xml(client.get(f"/open311/v2/requests/{rid}.xml"))
    assert root.tag == "service_requests"
    req = root.find("request")
    assert {child.tag for child in req} == REQUEST_KEYS and req.find("service_request_id").text == rid
    r = post_report(client, api_key, "pju_mati", (lamp.geom.x, lamp.geom.y), fmt="xml")
    assert r.status_code == 201
    root = xml(r)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.isdigit()
    # contacts never public, in any format
    for url in ("/open311/v2/requests.json", "/open311/v2/requests.xml", f"/open311/v2/requests/{rid}.json", "/api/reports/",
                f"/api/reports/{rid}/", f"/lapor/{rid}/"):
        body = client.get(url).content.decode()
        assert "warga@example.org" not in body and "0812000111" not in body and "Siti" not in body, url


def test_dispatcher_sees_contacts_and_photos(client, scene, api_key):
    from tests.reports.conftest import jpeg_bytes
    from django.core.files.uploadedfile import SimpleUploadedFile

    lamp = scene["lamps"]["PJU-A"]
    r = post_report(client, api_key, "pju_mati", (lamp.geom.x, lamp.geom.y), phone="0812999",
                    media=SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"))
    assert r.status_code == 201
    planner = client_for(user_in("planner", name="dispatch"))
    data = planner.get("/api/reports/?new=1").json()
    (f,) = data["features"]
    assert f["properties"]["contact"]["phone"] == "0812999"
    (photo,) = f["properties"]["photos"]
    assert photo.startswith("http://testserver/media/reports/")
    served = client.get(photo.replace("http://testserver", ""))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert client.get("/media/reports/2026/01/not-a-report.jpg").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_are_the_spec_error_list(client, scene, api_key, fmt):
    lamp = scene["lamps"]["PJU-A"]
    at = (lamp.geom.x, lamp.geom.y)

    def errors(response, status):
        assert response.status_code == status, response.content
        if fmt == "json":
            body = response.json()
            assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}
            return body[0]
        root = xml(response)
        assert root.tag == "errors"
        return {"code": int(root.find("error/code").text), "description": root.find("error/description").text}

    e = errors(post_report(client, api_key, "lampu_ungu", at, fmt=fmt), 404)
    assert e["code"] == 404 and "service_code" in e["description"]
    e = errors(post_report(client, api_key, "pju_mati", None, fmt=fmt), 400)
    assert e["description"] == "lat: lokasi wajib diisi: lat dan long (atau attribute[pju_code] untuk lampu)"  # Bahasa Indonesia first
    e = errors(post_report(client, "not-a-key", "pju_mati", at, fmt=fmt), 403)
    assert "api_key" in e["description"]
    e = errors(post_report(Client(), None, "pju_mati", at, fmt=fmt), 403)  # no key, no /lapor/ session
    assert "api_key" in e["description"]
    errors(post_report(client, api_key, "pju_mati", None, fmt=fmt, **{"attribute[pju_code]": "PJU-ZZZ"}), 400)
    errors(post_report(client, api_key, "pju_mati", (200.0, 0.0), fmt=fmt), 400)
    errors(post_report(client, api_key, "pju_mati", at, fmt=fmt, jurisdiction_id="00.00"), 404)
    errors(client.get(f"/open311/v2/requests/999999.{fmt}"), 404)
    errors(client.get(f"/open311/v2/services/nope.{fmt}"), 404)
    errors(client.get(f"/open311/v2/requests.{fmt}?start_date=yesterday"), 400)
    errors(post_report(client, api_key, "pju_mati", at, fmt=fmt, media_url="javascript:alert(1)"), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?status=pending"), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?end_date=2026-13-45T00:00:00Z"), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?end_date=0001-01-01T00:00:00Z"), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?service_code=lampu_ungu"), 404)
    assert Report.objects.count() == 0  # nothing half-written


# (request, Bahasa Indonesia, English): refusals of the reports app in the request's language, written out here
REFUSALS = [
    (("post", "/open311/v2/requests.json", {"service_code": "pju_mati"}), 400,
     "lat: lokasi wajib diisi: lat dan long (atau attribute[pju_code] untuk lampu)",
     "lat: a location is required: lat and long (or attribute[pju_code] for a light)"),
    (("post", "/open311/v2/requests.json", {"service_code": "lampu_ungu", "lat": "-6.2", "long": "106.6"}), 404,
     "service_code: service_code 'lampu_ungu' tidak ditemukan; lihat services.json",
     "service_code: service_code 'lampu_ungu' not found; see services.json"),
    (("post", "/open311/v2/requests.json", {"service_code": "pju_mati", "lat": "utara", "long": "106.6"}), 400,
     "lat: lat harus berupa angka (derajat desimal, WGS 84)", "lat: lat must be a number (decimal degrees, WGS 84)"),
    (("get", "/open311/v2/requests.json?status=pending", {}), 400,
     "status harus open atau closed", "status must be open or closed"),
    (("get", "/open311/v2/requests.xml?start_date=kemarin", {}), 400,
     "start_date harus tanggal-waktu W3C seperti 2026-12-01T00:00:00+07:00",
     "start_date must be a W3C date-time such as 2026-12-01T00:00:00+07:00"),
    (("get", "/open311/v2/requests/999999.json", {}), 404,
     "service_request_id '999999' tidak ditemukan", "service_request_id '999999' not found"),
    (("get", "/open311/v2/services.csv", {}), 404, "format 'csv' tidak tersedia: json atau xml", "format 'csv' not offered: json or xml"),
    (("get", "/open311/v2/nothing-here.json", {}), 404, "Sumber daya tidak ada: /open311/v2/nothing-here.json",
     "No such resource: /open311/v2/nothing-here.json"),
    (("get", "/api/reports/?status=pending", {}), 400, "status: open atau closed", "status: open or closed"),
    (("get", "/api/reports/?overdue=maybe", {}), 400, "overdue: overdue harus 1 atau 0", "overdue: overdue must be 1 or 0"),
    (("get", "/api/reports/99999999/", {}), 404, "tidak ada laporan dengan id 99999999", "no report with id 99999999"),
]


def _refusal(response, status) -> str:
    assert response.status_code == status, response.content
    if response["Content-Type"].startswith("text/xml"):
        return xml(response).find("error/description").text
    body = response.json()
    if isinstance(body, list):  # GeoReport v2's error list
        assert set(body[0]) == {"code", "description"} and body[0]["code"] == status
        return body[0]["description"]
    return body["detail"]  # SPEC §4 under /api/


@pytest.mark.parametrize("request_, status, indonesian, english", REFUSALS)
def test_refusals_follow_the_request_language(client, scene, api_key, request_, status, indonesian, english):
    method, url, data = request_
    data = {**data, "api_key": api_key} if method == "post" else data
    send = getattr(client, method)
    joiner = "&" if "?" in url else "?"
    assert _refusal(send(url, data), status) == indonesian  # Bahasa Indonesia by default
    assert _refusal(send(f"{url}{joiner}lang=en", data), status) == english
    assert _refusal(send(url, data, HTTP_ACCEPT_LANGUAGE="en"), status) == english
    assert _refusal(send(f"{url}{joiner}lang=id", data, HTTP_ACCEPT_LANGUAGE="en"), status) == indonesian
    assert Report.objects.count() == 0


def test_the_lapor_pages_follow_the_request_language(client, scene, api_key):
    assert "<title>Lapor PJU &amp; jalan · geo_platform</title>" in client.get("/lapor/").content.decode()
    english = "<title>Report a street light or road · geo_platform</title>"
    assert english in client.get("/lapor/?lang=en").content.decode()
    assert english in client.get("/lapor/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    config = client.get("/lapor/").context["config"]
    assert config["strings"]["reopen_hint"] == "Dapat dibuka kembali dalam 7 hari setelah selesai."
    assert [s["name"] for s in config["services"]][:2] == ["PJU mati", "PJU rusak"]
    config = client.get("/lapor/?lang=en").context["config"]
    assert config["strings"]["reopen_hint"] == "A report can be reopened within 7 days of closing."
    assert [s["name"] for s in config["services"]][:2] == ["Street light out", "Street light or pole damaged"]
    lamp = scene["lamps"]["PJU-A"]
    rid = post_report(client, api_key, "pju_mati", (lamp.geom.x, lamp.geom.y)).json()[0]["service_request_id"]
    page = client.get(f"/lapor/{rid}/").content.decode()
    assert "Terbuka (sedang ditangani)" in page and "PJU mati" in page
    page = client.get(f"/lapor/{rid}/?lang=en").content.decode()
    assert "Open (being handled)" in page and "Street light out" in page


def test_unknown_open311_paths_answer_with_the_error_list(client):
    r = client.get("/open311/v2/nothing-here.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = client.get("/open311/v2/services.csv")
    assert r.status_code == 404 and "format" in r.json()[0]["description"]


def test_pju_code_alone_locates_the_report(client, scene, api_key):
    lamp = scene["lamps"]["PJU-C"]
    r = post_report(client, api_key, "pju_rusak", None, **{"attribute[pju_code]": "PJU-C"})
    assert r.status_code == 201
    report = Report.objects.get(pk=r.json()[0]["service_request_id"])
    assert report.pju_id == lamp.pk and report.snap_distance_m == pytest.approx(0, abs=1e-6)


def test_keys_are_issued_and_revoked_by_admins(client, scene):
    admin = client_for(user_in(None, superuser=True, name="root"))
    planner = client_for(user_in("planner", name="plan"))
    assert planner.post("/api/open311-keys/", {"name": "X"}, format="json").status_code == 403
    assert client_for(None).get("/api/open311-keys/").status_code in (401, 403)
    r = admin.post("/api/open311-keys/", {"name": "Tangerang LIVE"}, format="json")
    assert r.status_code == 201 and len(r.json()["key"]) >= 32
    key, key_id = r.json()["key"], r.json()["id"]
    at = (scene["lamps"]["PJU-A"].geom.x, scene["lamps"]["PJU-A"].geom.y)
    assert post_report(Client(), key, "pju_mati", at).status_code == 201
    assert admin.delete(f"/api/open311-keys/{key_id}/").status_code == 204
    assert post_report(Client(), key, "pju_mati", at).status_code == 403
    assert not Open311Key.objects.get(pk=key_id).active
    assert admin.get("/api/open311-keys/").json()[0]["name"] == "Tangerang LIVE"


def test_json_body_is_accepted(client, scene, api_key):
    lamp = scene["lamps"]["PJU-A"]
    body = {"api_key": api_key, "service_code": "pju_mati", "lat": lamp.geom.y, "long": lamp.geom.x,
            "attribute": {"pju_code": "PJU-A"}}
    r = client.post("/open311/v2/requests.json", json.dumps(body), content_type="application/json")
    assert r.status_code == 201
    assert Report.objects.get().pju_id == lamp.pk


def test_the_public_form_posts_with_its_session_and_csrf_token(scene):
    web = Client(enforce_csrf_checks=True)
    page = web.get("/lapor/")
    assert page.status_code == 200 and 'lang="id"' in page.content.decode()
    lamp = scene["lamps"]["PJU-A"]
    data = {"service_code": "pju_mati", "lat": lamp.geom.y, "long": lamp.geom.x}
    r = web.post("/open311/v2/requests.json", data)
    assert r.status_code == 403 and "CSRF" in r.json()[0]["description"]
    token = web.cookies["csrftoken"].value
    r = web.post("/open311/v2/requests.json", data, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201
    report = Report.objects.get()
    assert report.channel == "web" and report.api_key is None
    status_page = web.get(f"/lapor/{report.pk}/").content.decode()
    assert "PJU mati" in status_page and "Buka kembali" not in status_page  # open: nothing to reopen


def test_control_characters_are_dropped_not_a_5xx(client, scene, api_key):
    lamp = scene["lamps"]["PJU-A"]
    body = {"api_key": api_key, "service_code": "pju_mati", "lat": lamp.geom.y, "long": lamp.geom.x,
            "description": "mati\u0000 total\u000b", "attribute": {"pju_code": "PJU-A\u0000"}}
    r = client.post("/open311/v2/requests.json", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    rid = r.json()[0]["service_request_id"]
    assert Report.objects.get(pk=rid).description == "mati total"
    bad_key = client.post("/open311/v2/requests.json", json.dumps({**body, "api_key": "x\u0000"}), content_type="application/json")
    assert bad_key.status_code == 403
    assert ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").content).find("request/description").text == "mati total"


def test_a_citizens_refused_photo_says_why_in_the_request_language(client, scene, api_key):
    """geo_platform/uploads.py's reason reaches the citizen in Bahasa Indonesia (English on request)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def send(url, **headers):
        svg = SimpleUploadedFile("a.jpg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', content_type="image/jpeg")
        data = {"api_key": api_key, "service_code": "pju_mati", "lat": "-6.2", "long": "106.6", "media": svg}
        return _refusal(client.post(url, data, **headers), 400)

    url = "/open311/v2/requests.json"
    assert send(url) == "media: berkas bukan gambar JPEG, PNG atau WebP (SVG, HTML dan jenis lain ditolak)"
    english = "media: the file is not a JPEG, PNG or WebP image (SVG, HTML and other types are refused)"
    assert send(f"{url}?lang=en") == english
    assert send(url, HTTP_ACCEPT_LANGUAGE="en") == english
    assert Report.objects.count() == 0
