"""The permission table of docs/api.md, cell by cell, with token and
session authentication, and PUBLIC_READ=0."""
import json

import pytest
from django.contrib.auth.models import Group

from layers.models import RoadSegment, StreetLight
from layers.permissions import GROUP_PERMISSIONS
from tests.layers.api_support import client_for, city, user_in  # noqa: F401

pytestmark = pytest.mark.django_db

POINT = {"type": "Point", "coordinates": [106.62, -6.2]}
LINE = {"type": "LineString", "coordinates": [[106.62, -6.2], [106.63, -6.2]]}
SQUARE = {"type": "Polygon", "coordinates": [[[106.6, -6.2], [106.61, -6.2], [106.61, -6.21], [106.6, -6.21], [106.6, -6.2]]]}
NEW = {
    "pju": {"type": "Feature", "geometry": POINT, "properties": {"status": "working"}},
    "roads": {"type": "Feature", "geometry": LINE, "properties": {"road_class": "local"}},
    "panels": {"type": "Feature", "geometry": POINT, "properties": {"code": "P-1"}},
    "areas": {"type": "Feature", "geometry": SQUARE, "properties": {"level": "kelurahan", "code": "99.71.01.2001", "name": "K"}},
}

# (group, layer) → allowed (POST, PATCH, DELETE); superusers may do all.
TABLE = {
    ("planner", "pju"): (True, True, True),
    ("planner", "roads"): (True, True, True),
    ("planner", "panels"): (True, True, True),
    ("planner", "areas"): (False, False, False),
    ("field_officer", "pju"): (True, True, False),
    ("field_officer", "roads"): (False, True, False),
    ("field_officer", "panels"): (True, True, False),
    ("field_officer", "areas"): (False, False, False),
    ("analyst", "pju"): (False, False, False),
    ("analyst", "roads"): (False, False, False),
    ("analyst", "panels"): (False, False, False),
    ("analyst", "areas"): (False, False, False),
    ("admin", "pju"): (True, True, True),
    ("admin", "areas"): (True, True, True),
}


def existing(layer, city):
    if layer == "pju":
        return StreetLight.objects.order_by("pk").first().pk
    if layer == "roads":
        return RoadSegment.objects.order_by("pk").first().pk
    if layer == "areas":
        return city["west"].pk
    admin = client_for(user_in(None, superuser=True, name="seed"))
    return json.loads(admin.post("/api/panels/", NEW["panels"], format="json").content)["id"]


@pytest.mark.parametrize("group, layer", list(TABLE))
def test_permission_table(city, group, layer):
    allowed_post, allowed_patch, allowed_delete = TABLE[(group, layer)]
    pk = existing(layer, city)
    user = user_in(None, superuser=True) if group == "admin" else user_in(group)
    client = client_for(user)
    assert client.get(f"/api/{layer}/{pk}/").status_code == 200

    r = client.post(f"/api/{layer}/", NEW[layer], format="json")
    assert r.status_code == (201 if allowed_post else 403), r.content
    if not allowed_post:
        model = {"pju": "streetlight", "roads": "roadsegment", "areas": "area", "panels": "panel"}[layer]
        assert f"layers.add_{model}" in json.loads(r.content)["detail"]  # names the missing permission (any language)

    r = client.patch(f"/api/{layer}/{pk}/", {"properties": {"version": 1}}, format="json")
    assert r.status_code == (200 if allowed_patch else 403), r.content

    r = client.delete(f"/api/{layer}/{pk}/")
    assert r.status_code == (204 if allowed_delete else 403), r.content


def test_groups_hold_exactly_the_documented_permissions(db):
    for name, models in GROUP_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        held = set(group.permissions.values_list("codename", flat=True))
        assert held == {f"{a}_{m}" for m, actions in models.items() for a in actions}


def test_anonymous_reads_but_cannot_write(client, city):
    assert client.get("/api/pju/").status_code == 200
    r = client.post("/api/pju/", NEW["pju"], content_type="application/json")
    assert r.status_code in (401, 403)
    assert json.loads(r.content)["detail"]
    assert StreetLight.objects.count() == 60


def test_photo_upload_needs_add_photo(city):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pk = StreetLight.objects.order_by("pk").first().pk
    analyst = client_for(user_in("analyst"))
    image = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    assert analyst.post(f"/api/pju/{pk}/photos/", {"image": image}, format="multipart").status_code == 403


def test_public_read_off_needs_login(client, city, settings):
    settings.PUBLIC_READ = False
    for url in ("/api/pju/", "/api/roads/", "/tiles/pju/15/26089/16947.pbf", "/ogc/collections/pju/items"):
        r = client.get(url)
        assert r.status_code in (401, 403), url
        assert "detail" in json.loads(r.content)
    token_client = client_for(user_in("analyst"))
    assert token_client.get("/api/pju/").status_code == 200
    assert token_client.get("/tiles/pju/15/26089/16947.pbf").status_code == 200
    assert token_client.get("/ogc/collections/pju/items").status_code == 200
    user_in("planner", name="sesi")
    assert client.login(username="sesi", password="pw")
    assert client.get("/api/pju/").status_code == 200
    assert client.get("/tiles/pju/15/26089/16947.pbf").status_code == 200


def test_session_writes_need_csrf(city):
    from django.test import Client

    user_in("planner", name="browser")
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="browser", password="pw")
    r = browser.post("/api/pju/", NEW["pju"], content_type="application/json")
    assert r.status_code == 403 and "CSRF" in json.loads(r.content)["detail"]
