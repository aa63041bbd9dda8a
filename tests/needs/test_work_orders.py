"""Work orders: who may do what, the state machine (illegal transitions
refused, nothing written), closing with a photo and a GPS fix near the asset
(distances from pyproj), the write-back to the layers, nearest-first lists."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from layers.models import Photo, StreetLight
from needs.models import LightingGap, ProposedPJU, WorkOrder
from needs.services import lighting_needs_compute
from tests.layers.api_support import client_for, user_in
from tests.needs.support import JAKARTA_CURVED, JAKARTA_STRAIGHT, distance_m, make_lamp, make_road, point_at, road_coords

pytestmark = pytest.mark.django_db


def jpeg(name="fixed.jpg"):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 180, 40)).save(buf, format="JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


@pytest.fixture
def people(db):
    users = {
        "planner": user_in("planner", name="plan"),
        "officer": user_in("field_officer", name="budi"),
        "other_officer": user_in("field_officer", name="sari"),
        "analyst": user_in("analyst", name="ana"),
    }
    return {k: (u, client_for(u)) for k, u in users.items()}


@pytest.fixture
def scene(db):
    sc = road_coords(JAKARTA_STRAIGHT)
    road = make_road(JAKARTA_STRAIGHT, "local", condition="heavy_damage")
    lamps = [
        make_lamp(point_at(sc, 20, 3, "right"), code="A"),
        make_lamp(point_at(sc, 100, 3, "right"), status="off", code="B"),
        make_lamp(point_at(sc, 200, 3, "right"), status="damaged", code="C"),
    ]
    lighting_needs_compute()
    return {"coords": sc, "road": road, "lamps": lamps}


def create(client, kind, target, **extra):
    return client.post("/api/work-orders/", {"kind": kind, "target": target, **extra}, format="json")


def test_only_planners_create_and_only_from_a_real_need(people, scene):
    broken = scene["lamps"][1]
    for who in ("officer", "analyst"):
        r = create(people[who][1], "broken_pju", broken.pk)
        assert r.status_code == 403 and r.json()["detail"]
    assert create(client_for(None), "broken_pju", broken.pk).status_code in (401, 403)
    working = create(people["planner"][1], "broken_pju", scene["lamps"][0].pk)
    assert working.status_code == 400 and "working" in working.json()["errors"]["target"][0]
    assert create(people["planner"][1], "broken_pju", 999999).status_code == 400
    assert create(people["planner"][1], "teleport", broken.pk).status_code == 400
    assert WorkOrder.objects.count() == 0
    r = create(people["planner"][1], "broken_pju", broken.pk)
    assert r.status_code == 201, r.content
    feature = r.json()
    assert feature["properties"]["status"] == "open" and feature["properties"]["pju"] == broken.pk
    assert feature["geometry"]["coordinates"] == pytest.approx([broken.geom.x, broken.geom.y])
    dup = create(people["planner"][1], "broken_pju", broken.pk)
    # one active order per need (issue 12): 409 with the existing order as `current`
    assert dup.status_code == 409 and str(feature["id"]) in dup.json()["errors"]["target"][0]
    assert dup.json()["current"]["id"] == feature["id"]


def test_full_life_of_a_broken_light_order(people, scene):
    planner, officer, other = people["planner"][1], people["officer"], people["other_officer"]
    lamp = scene["lamps"][1]
    order_id = create(planner, "broken_pju", lamp.pk).json()["id"]
    url = f"/api/work-orders/{order_id}/"
    # start before assignment: illegal
    r = officer[1].post(url + "start/")
    assert r.status_code in (403, 409)
    # assigning to a non-officer is refused; officers cannot assign
    assert planner.post(url + "assign/", {"officer": people["analyst"][0].username}, format="json").status_code == 400
    assert officer[1].post(url + "assign/", {"officer": officer[0].pk}, format="json").status_code == 403
    r = planner.post(url + "assign/", {"officer": officer[0].username}, format="json")
    assert r.status_code == 200 and r.json()["properties"]["status"] == "assigned"
    assert r.json()["properties"]["assigned_at"]
    # only the assignee starts; close before start is illegal
    assert other[1].post(url + "start/").status_code == 403
    near = point_at(scene["coords"], 100, 8, "right")
    early = officer[1].post(url + "close/", {"photo": jpeg(), "lon": near[0], "lat": near[1]}, format="multipart")
    assert early.status_code == 409 and early.json()["status"] == "assigned"
    r = officer[1].post(url + "start/")
    assert r.status_code == 200 and r.json()["properties"]["status"] == "in_progress"
    assert officer[1].post(url + "start/").status_code == 409
    # closing needs the photo and a position near the asset
    assert officer[1].post(url + "close/", {"lon": near[0], "lat": near[1]}, format="multipart").status_code == 400
    far = point_at(scene["coords"], 100, 80, "right")
    r = officer[1].post(url + "close/", {"photo": jpeg(), "lon": far[0], "lat": far[1]}, format="multipart")
    assert r.status_code == 400 and "position" in r.json()["errors"]
    lamp.refresh_from_db()
    assert lamp.status == "off" and Photo.objects.count() == 0  # nothing written
    assert WorkOrder.objects.get(pk=order_id).status == "in_progress"
    r = other[1].post(url + "close/", {"photo": jpeg(), "lon": near[0], "lat": near[1]}, format="multipart")
    assert r.status_code == 403
    r = officer[1].post(url + "close/", {"photo": jpeg(), "lon": near[0], "lat": near[1], "accuracy_m": 4, "note": "lampu diganti"}, format="multipart")
    assert r.status_code == 200, r.content
    props = r.json()["properties"]
    assert props["status"] == "done" and props["done_at"] and props["closing_note"] == "lampu diganti"
    lamp_pos = (lamp.geom.x, lamp.geom.y)
    assert props["closing_distance_m"] == pytest.approx(distance_m(lamp_pos, near), abs=0.05)
    assert props["closing_photo"]["url"].endswith(".jpg")
    lamp.refresh_from_db()
    assert lamp.status == "working" and lamp.status_origin == "field" and lamp.version == 2
    photos = client_for(None).get(f"/api/pju/{lamp.pk}/").json()["properties"]["photos"]
    assert len(photos) == 1 and photos[0]["accuracy_m"] == 4
    # final state: nothing more
    assert officer[1].post(url + "close/", {"photo": jpeg(), "lon": near[0], "lat": near[1]}, format="multipart").status_code == 409
    assert planner.post(url + "reject/", {"reason": "x"}, format="json").status_code == 409
    assert planner.post(url + "assign/", {"officer": officer[0].pk}, format="json").status_code == 409


def test_reject_needs_a_reason_and_the_right_person(people, scene):
    planner, officer = people["planner"][1], people["officer"]
    order_id = create(planner, "broken_pju", scene["lamps"][2].pk, assigned_to=officer[0].pk).json()["id"]
    url = f"/api/work-orders/{order_id}/reject/"
    assert people["other_officer"][1].post(url, {"reason": "bukan saya"}, format="json").status_code == 403
    assert officer[1].post(url, {}, format="json").status_code == 400
    r = officer[1].post(url, {"reason": "tiang sudah dibongkar"}, format="json")
    assert r.status_code == 200 and r.json()["properties"]["status"] == "rejected"
    assert r.json()["properties"]["rejected_at"]
    # a rejected need can be ordered again
    assert create(planner, "broken_pju", scene["lamps"][2].pk).status_code == 201


def test_damaged_road_order_closes_near_the_line_and_sets_condition_good(people, scene):
    planner, officer = people["planner"][1], people["officer"]
    road = scene["road"]
    r = create(planner, "damaged_road", road.pk, assigned_to=officer[0].username)
    assert r.status_code == 201 and r.json()["properties"]["status"] == "assigned"
    # the order sits at the middle of the road
    mid = point_at(scene["coords"], road.length_m / 2)
    assert distance_m(r.json()["geometry"]["coordinates"], mid) < 0.5
    order_id = r.json()["id"]
    officer[1].post(f"/api/work-orders/{order_id}/start/")
    at_end = point_at(scene["coords"], 270, 20, "left")  # 20 m from the line, far from its middle
    r = officer[1].post(f"/api/work-orders/{order_id}/close/", {"photo": jpeg(), "lon": at_end[0], "lat": at_end[1]}, format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["properties"]["closing_distance_m"] == pytest.approx(20, abs=0.05)
    road.refresh_from_db()
    assert road.condition == "good" and road.condition_origin == "field"
    not_damaged = create(planner, "damaged_road", road.pk)
    assert not_damaged.status_code == 400


def test_closing_a_proposed_pju_order_maps_the_new_light(people, scene, django_capture_on_commit_callbacks):
    planner, officer = people["planner"][1], people["officer"]
    road = scene["road"]
    pole = ProposedPJU.objects.filter(road=road).order_by("chainage_m").last()
    r = create(planner, "proposed_pju", pole.pk, assigned_to=officer[0].pk)
    assert r.status_code == 201
    order_id = r.json()["id"]
    officer[1].post(f"/api/work-orders/{order_id}/start/")
    spot = (pole.geom.x + 0.00002, pole.geom.y)
    def missing_m():
        return sum(LightingGap.objects.filter(road=road, kind="missing").values_list("length_m", flat=True))

    before = missing_m()
    with django_capture_on_commit_callbacks(execute=True):
        r = officer[1].post(f"/api/work-orders/{order_id}/close/", {"photo": jpeg(), "lon": spot[0], "lat": spot[1]}, format="multipart")
    assert r.status_code == 200, r.content
    new = StreetLight.objects.get(pk=r.json()["properties"]["created_pju"])
    assert new.status == "working" and (new.geom.x, new.geom.y) == pytest.approx(spot)
    assert missing_m() < before - 1  # the needs were recomputed with the new light


def test_officer_lists_own_orders_nearest_first(people, scene):
    planner, officer = people["planner"][1], people["officer"]
    curved = make_road(JAKARTA_CURVED, "local", condition="light_damage")
    ids = [
        create(planner, "broken_pju", scene["lamps"][1].pk, assigned_to=officer[0].pk).json()["id"],
        create(planner, "broken_pju", scene["lamps"][2].pk, assigned_to=people["other_officer"][0].pk).json()["id"],
        create(planner, "damaged_road", curved.pk, assigned_to=officer[0].pk).json()["id"],
        create(planner, "damaged_road", scene["road"].pk, assigned_to=officer[0].pk).json()["id"],
    ]
    here = point_at(road_coords(JAKARTA_CURVED), 0)
    r = officer[1].get(f"/api/work-orders/?mine=1&near={here[0]},{here[1]}")
    assert r.status_code == 200
    features = r.json()["features"]
    assert {f["id"] for f in features} == {ids[0], ids[2], ids[3]}
    expected = sorted(features, key=lambda f: distance_m(here, f["geometry"]["coordinates"]))
    assert [f["id"] for f in features] == [f["id"] for f in expected]
    for f in features:
        assert f["properties"]["distance_m"] == pytest.approx(distance_m(here, f["geometry"]["coordinates"]), rel=1e-4, abs=0.05)
    assert officer[1].get("/api/work-orders/?near=200,1").status_code == 400
    assert len(planner.get("/api/work-orders/").json()["features"]) == 4
    assert client_for(None).get("/api/work-orders/").status_code in (401, 403)
    assert planner.get("/api/work-orders/?status=assigned&kind=damaged_road").json()["count"] == 2
