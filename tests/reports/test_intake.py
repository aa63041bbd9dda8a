"""Intake (SPEC §8): snapping to the named or nearest PJU within 30 m / the
road within 20 m (distances from pyproj's geodesic), duplicates (same asset
and service), the work order opened or joined (sensor alarms included), the
Musrenbang proposals, the loop to closure with notes and photo, reopening."""
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from needs.models import WorkOrder
from reports.models import CitizenProposal, Report
from tests.layers.api_support import client_for, user_in
from tests.needs.support import distance_m, point_at
from tests.reports.conftest import jpeg_bytes, post_report

pytestmark = pytest.mark.django_db


def submit(client, key, code, lonlat, **extra) -> Report:
    r = post_report(client, key, code, lonlat, **extra)
    assert r.status_code == 201, r.content
    return Report.objects.get(pk=r.json()[0]["service_request_id"])


def lamp_xy(lamp):
    return (lamp.geom.x, lamp.geom.y)


def test_light_reports_snap_to_the_nearest_pju_within_30_m(client, scene, api_key):
    coords, lamp_b = scene["coords"], scene["lamps"]["PJU-B"]
    # PJU-B stands 3 m right of the road at chainage 100; these points are on the same perpendicular
    near = point_at(coords, 100, 3 + 29, "right")
    far = point_at(coords, 100, 3 + 31, "right")
    assert distance_m(near, lamp_xy(lamp_b)) == pytest.approx(29, abs=0.05)
    assert distance_m(far, lamp_xy(lamp_b)) == pytest.approx(31, abs=0.05)
    snapped = submit(client, api_key, "pju_mati", near)
    assert snapped.pju_id == lamp_b.pk
    assert snapped.snap_distance_m == pytest.approx(distance_m(near, lamp_xy(lamp_b)), abs=0.05)
    assert snapped.kecamatan.code == "99.71.01"
    loose = submit(client, api_key, "pju_mati", far)
    assert loose.pju_id is None and loose.work_order_id is None and loose.duplicate_of_id is None
    # a named light wins over the nearest one
    named = submit(client, api_key, "pju_rusak", lamp_xy(scene["lamps"]["PJU-A"]), **{"attribute[pju_code]": "PJU-C"})
    assert named.pju_id == scene["lamps"]["PJU-C"].pk


def test_road_reports_snap_to_the_road_within_20_m(client, scene, api_key):
    coords, road = scene["coords"], scene["road"]
    inside = submit(client, api_key, "jalan_rusak", point_at(coords, 150, 19, "left"))
    outside = submit(client, api_key, "jalan_rusak", point_at(coords, 150, 21, "left"))
    assert inside.road_id == road.pk and inside.snap_distance_m == pytest.approx(19, abs=0.05)
    assert outside.road_id is None and outside.work_order_id is None
    order = WorkOrder.objects.get(pk=inside.work_order_id)
    road.refresh_from_db()
    assert order.kind == "damaged_road" and order.road_id == road.pk and order.status == "open"
    assert road.condition == "light_damage"  # the need the report opens


def test_duplicates_join_the_first_report_of_the_same_asset_and_service(client, scene, api_key):
    lamp = scene["lamps"]["PJU-B"]
    first = submit(client, api_key, "pju_mati", point_at(scene["coords"], 100, 10, "right"))
    order = WorkOrder.objects.get(pk=first.work_order_id)
    lamp.refresh_from_db()
    assert order.kind == "broken_pju" and order.pju_id == lamp.pk and lamp.status == "off"
    base_priority = order.priority
    second = submit(client, api_key, "pju_mati", point_at(scene["coords"], 100, 20, "right"))
    third = submit(client, api_key, "pju_mati", lamp_xy(lamp))
    first.refresh_from_db()
    assert second.pk != first.pk and second.duplicate_of_id == first.pk and third.duplicate_of_id == first.pk
    assert second.work_order_id == order.pk and second.status == "open" and second.expected_at == first.expected_at
    assert first.priority == 3
    assert WorkOrder.objects.get(pk=order.pk).priority == pytest.approx(base_priority + 2)
    assert WorkOrder.objects.filter(pju=lamp).count() == 1
    # the duplicate's notice says which report it joined
    (seen,) = client.get(f"/open311/v2/requests/{second.pk}.json").json()
    assert seen["status"] == "open" and str(first.pk) in seen["service_notice"]
    # another service on the same light is not a duplicate, but joins the open order
    damaged = submit(client, api_key, "pju_rusak", lamp_xy(lamp))
    assert damaged.duplicate_of_id is None and damaged.work_order_id == order.pk
    # another light is another report
    other = submit(client, api_key, "pju_mati", lamp_xy(scene["lamps"]["PJU-C"]))
    assert other.duplicate_of_id is None and other.work_order_id != order.pk


def test_a_report_joins_the_order_a_sensor_alarm_opened(client, scene, api_key):
    lamp = scene["lamps"]["PJU-C"]
    lamp.status = "off"
    lamp.save()
    # what the live network (issue 16) does on a lamp_failure alarm: an open order on the PJU
    alarm = WorkOrder.objects.create(kind="broken_pju", status="open", title="Alarm lamp_failure", pju=lamp, geom=lamp.geom, priority=5)
    report = submit(client, api_key, "pju_mati", lamp_xy(lamp))
    assert report.work_order_id == alarm.pk and report.duplicate_of_id is None
    assert WorkOrder.objects.filter(pju=lamp).count() == 1
    assert WorkOrder.objects.get(pk=alarm.pk).priority == 6
    # an order already assigned to an officer is joined too
    alarm.status = "assigned"
    alarm.save()
    later = submit(client, api_key, "pju_rusak", lamp_xy(lamp))
    assert later.work_order_id == alarm.pk


def test_new_light_requests_join_the_musrenbang_proposals(client, scene, api_key):
    coords = scene["coords"]
    a = submit(client, api_key, "pju_usulan", point_at(coords, 250, 5, "left"))
    b = submit(client, api_key, "pju_usulan", point_at(coords, 260, 5, "left"))  # 10 m away
    c = submit(client, api_key, "pju_usulan", point_at(coords, 150, 5, "left"))  # 100 m away
    assert a.proposal_id == b.proposal_id != c.proposal_id
    assert b.duplicate_of_id == a.pk and a.work_order_id is None
    proposal = CitizenProposal.objects.get(pk=a.proposal_id)
    assert proposal.citizens == 2 and proposal.road_id == scene["road"].pk
    data = client.get("/api/reports/proposals/").json()
    top = data["features"][0]
    assert data["count"] == 2 and top["properties"]["citizens"] == 2 and top["properties"]["reports"] == [a.pk, b.pk]


@pytest.fixture
def officer(db):
    user = user_in("field_officer", name="budi")
    return user, client_for(user)


def test_closing_the_order_closes_every_joined_report_with_notes_and_photo(client, scene, api_key, officer):
    lamp = scene["lamps"]["PJU-B"]
    first = submit(client, api_key, "pju_mati", lamp_xy(lamp))
    dup = submit(client, api_key, "pju_mati", lamp_xy(lamp))
    other = submit(client, api_key, "pju_rusak", lamp_xy(lamp))
    order_id = first.work_order_id
    planner = client_for(user_in("planner", name="plan"))
    assert planner.post(f"/api/work-orders/{order_id}/assign/", {"officer": officer[0].username}, format="json").status_code == 200
    assert officer[1].post(f"/api/work-orders/{order_id}/start/").status_code == 200
    photo = SimpleUploadedFile("done.jpg", jpeg_bytes(colour=(10, 200, 10)), content_type="image/jpeg")
    r = officer[1].post(f"/api/work-orders/{order_id}/close/",
                        {"photo": photo, "lon": lamp.geom.x, "lat": lamp.geom.y, "note": "Lampu LED diganti"}, format="multipart")
    assert r.status_code == 200, r.content
    closing_url = r.json()["properties"]["closing_photo"]["url"]
    for report in (first, dup, other):
        (seen,) = client.get(f"/open311/v2/requests/{report.pk}.json").json()
        assert seen["status"] == "closed" and seen["status_notes"] == "Lampu LED diganti"
        assert seen["media_url"] == "http://testserver" + closing_url
    lamp.refresh_from_db()
    assert lamp.status == "working"
    assert client.get("/open311/v2/requests.json?status=open").json() == []

    # reopening within 7 days: a new order on the light; the app that sent it uses its key
    r = Client().post(f"/api/reports/{first.pk}/reopen/", {"api_key": api_key, "note": "mati lagi"}, content_type="application/json")
    assert r.status_code == 200, r.content
    first.refresh_from_db()
    assert first.status == "open" and first.work_order_id not in (None, order_id)
    assert WorkOrder.objects.get(pk=first.work_order_id).status == "open"
    # someone else may not reopen; after 7 days nobody may
    assert Client().post(f"/api/reports/{dup.pk}/reopen/", {}, content_type="application/json").status_code == 403
    Report.objects.filter(pk=dup.pk).update(closed_at=timezone.now() - timedelta(days=7, minutes=1))
    r = Client().post(f"/api/reports/{dup.pk}/reopen/", {"api_key": api_key}, content_type="application/json")
    assert r.status_code == 409 and r.json()["detail"] == f"laporan {dup.pk} ditutup lebih dari 7 hari yang lalu: kirim laporan baru"
    r = Client().post(f"/api/reports/{dup.pk}/reopen/?lang=en", {"api_key": api_key}, content_type="application/json")
    assert r.status_code == 409 and r.json()["detail"] == f"report {dup.pk} was closed more than 7 days ago: send a new report"


def test_a_rejected_order_closes_its_reports_with_the_reason(client, scene, api_key):
    report = submit(client, api_key, "jalan_rusak", point_at(scene["coords"], 50, 2, "left"))
    planner = client_for(user_in("planner", name="plan"))
    r = planner.post(f"/api/work-orders/{report.work_order_id}/reject/", {"reason": "Jalan nasional, bukan kewenangan kota"}, format="json")
    assert r.status_code == 200
    (seen,) = client.get(f"/open311/v2/requests/{report.pk}.json").json()
    assert seen["status"] == "closed" and "bukan kewenangan kota" in seen["status_notes"]
