"""The reports layer and the proposals as GeoJSON (SPEC §4, §8), written by PostGIS through the kernel
builder: every property a report carries, its status following the report it duplicates, absolute
photo URLs on the request's site, times in the city's zone (WIB), the contact only for dispatchers,
and the kernel's envelope. Expected values are written out from the scene (zoneinfo for the times),
not taken from the code."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from needs import work_orders
from needs.models import WorkOrder
from reports.models import CitizenProposal, Report, ReportPhoto
from tests.layers.api_support import client_for, user_in
from tests.reports.conftest import KEC_CODE, jpeg_bytes, post_report

pytestmark = pytest.mark.django_db
WIB = ZoneInfo("Asia/Jakarta")


def wib(dt) -> str | None:
    return dt.astimezone(WIB).isoformat(timespec="seconds") if dt else None


def test_a_report_and_its_duplicate_as_geojson(client, scene, api_key):
    lamp = scene["lamps"]["PJU-B"]
    at = (lamp.geom.x, lamp.geom.y)
    photo = SimpleUploadedFile("lampu.jpg", jpeg_bytes(), content_type="image/jpeg")
    r = post_report(client, api_key, "pju_mati", at, media=photo, description="Mati sejak kemarin", email="warga@example.org",
                    phone="0812000111", first_name="Siti", address_string="Jl. Uji 1")
    first = Report.objects.get(pk=r.json()[0]["service_request_id"])
    dup = Report.objects.get(pk=post_report(client, api_key, "pju_mati", at).json()[0]["service_request_id"])
    image = ReportPhoto.objects.get(report=first).image.name

    anonymous = client_for(None)
    response = anonymous.get(f"/api/reports/{first.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == first.pk
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(at), abs=1e-7)  # 7 decimals (~1 cm)
    first.refresh_from_db()
    assert feature["properties"] == {
        "service_code": "pju_mati", "service_name": "PJU mati", "status": "open", "status_notes": "",
        "description": "Mati sejak kemarin", "priority": 2, "requested_datetime": wib(first.requested_at),
        "expected_datetime": wib(first.expected_at), "closed_datetime": None, "overdue": False,
        "duplicate_of": None, "duplicates": 1, "pju": lamp.pk, "road": None, "snap_distance_m": pytest.approx(0, abs=0.01),
        "work_order": first.work_order_id, "work_order_status": "open", "proposal": None, "kecamatan": KEC_CODE,
        "kelurahan": None, "address": "Jl. Uji 1", "photos": [f"http://testserver/media/{image}"],
        "media_url": f"http://testserver/media/{image}", "channel": "api",
    }
    assert feature["properties"]["requested_datetime"].endswith("+07:00")
    # a dispatcher also sees the contact
    planner, officer = user_in("planner", name="plan"), user_in("field_officer", name="budi")
    contact = client_for(planner).get(f"/api/reports/{first.pk}/").json()["properties"]["contact"]
    assert contact == {"email": "warga@example.org", "first_name": "Siti", "last_name": "", "phone": "0812000111",
                       "account_id": "", "device_id": ""}

    # the duplicate follows the first report; the repair closes both with the officer's note and photo
    order = WorkOrder.objects.get(pk=first.work_order_id)
    work_orders.work_order_assign(order=order, user=planner, officer=officer)
    work_orders.work_order_start(order=order, user=officer)
    work_orders.work_order_close(order=order, user=officer, lon=at[0], lat=at[1], note="Lampu diganti",
                                 photo=SimpleUploadedFile("done.jpg", jpeg_bytes(), content_type="image/jpeg"))
    order.refresh_from_db()
    closing = f"http://testserver/media/{order.closing_photo.image.name}"
    first.refresh_from_db()
    props = anonymous.get(f"/api/reports/{dup.pk}/").json()["properties"]
    assert (props["status"], props["status_notes"], props["duplicate_of"], props["duplicates"]) == ("closed", "Lampu diganti", first.pk, 0)
    assert props["photos"] == [] and props["media_url"] == closing and props["work_order_status"] == "done"
    props = anonymous.get(f"/api/reports/{first.pk}/").json()["properties"]
    assert props["media_url"] == closing and props["photos"] == [f"http://testserver/media/{image}"]
    assert props["closed_datetime"] == wib(first.closed_at) and props["overdue"] is False

    # the layer: the kernel's envelope, newest first, no contact for the public
    page = anonymous.get("/api/reports/?limit=1")
    body = page.json()
    assert page["Content-Type"] == "application/geo+json"
    assert body["type"] == "FeatureCollection" and body["count"] == 2 and body["next"] == "http://testserver/api/reports/?limit=1&offset=1"
    assert [f["id"] for f in body["features"]] == [dup.pk]
    assert "contact" not in body["features"][0]["properties"]
    assert [f["id"] for f in anonymous.get("/api/reports/?offset=1").json()["features"]] == [first.pk]
    assert "contact" in client_for(planner).get("/api/reports/").json()["features"][0]["properties"]


def test_an_overdue_report_and_a_link_sent_by_an_app(client, scene, api_key):
    road = scene["road"]
    coords = scene["coords"]
    r = post_report(client, api_key, "jalan_rusak", coords[0], media_url="https://app.example.org/foto/1.jpg")
    report = Report.objects.get(pk=r.json()[0]["service_request_id"])
    Report.objects.filter(pk=report.pk).update(expected_at=report.requested_at.replace(year=2025))
    props = client.get(f"/api/reports/{report.pk}/?lang=en").json()["properties"]
    assert props["road"] == road.pk and props["pju"] is None and props["service_name"] == "Jalan rusak"
    assert props["media_url"] == "https://app.example.org/foto/1.jpg" and props["photos"] == []
    assert props["overdue"] is True
    assert [f["id"] for f in client.get("/api/reports/?overdue=1").json()["features"]] == [report.pk]


def test_proposals_as_geojson(client, scene, api_key):
    lamp = scene["lamps"]["PJU-A"]
    at = (lamp.geom.x + 0.0002, lamp.geom.y)
    ids = [int(post_report(client, api_key, "pju_usulan", at).json()[0]["service_request_id"]) for _ in range(2)]
    proposal = CitizenProposal.objects.get()
    body = client.get("/api/reports/proposals/").json()
    assert body["type"] == "FeatureCollection" and body["count"] == 1
    (feature,) = body["features"]
    assert feature["id"] == proposal.pk and feature["geometry"]["coordinates"] == pytest.approx(list(at), abs=1e-7)
    assert feature["properties"] == {
        "citizens": 2, "status": "open", "road": scene["road"].pk, "road_name": scene["road"].name,
        "kecamatan": KEC_CODE, "kelurahan": None, "created_at": wib(proposal.created_at),
        "updated_at": wib(proposal.updated_at), "reports": ids,
    }
