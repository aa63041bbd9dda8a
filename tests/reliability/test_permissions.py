"""Permission matrix (issue 9): every endpoint of /api/schema/ and every
method, for anonymous, field officer, planner, analyst and admin, with the
expected answer written out below (SPEC §4 and docs/reliability.md), not
derived from the code. "deny" = 401/403; "allow" = any answer that is not
401/403 and not 5xx (the request is valid, so the role is what is judged).
Object rules: only the assigned officer starts and closes a work order."""
import io
import json

import pytest
import yaml
from django.db import transaction
from django.contrib.gis.geos import Point
from django.test import override_settings
from PIL import Image

from layers.models import Panel, RoadSegment, StreetLight
from needs.models import WorkOrder
from tests.reliability.support import ROLES, client_for, make_city, role_user, user_in, write_dem

pytestmark = pytest.mark.django_db

ALL = set(ROLES)
LOGGED = ALL - {"anonymous"}
PLANNERS = {"planner", "admin"}
POINT = {"type": "Point", "coordinates": [106.62, -6.2]}
LINE = {"type": "LineString", "coordinates": [[106.62, -6.2], [106.621, -6.2]]}
SQUARE = {"type": "Polygon", "coordinates": [[[106.615, -6.205], [106.625, -6.205], [106.625, -6.195], [106.615, -6.195], [106.615, -6.205]]]}

# layer → roles allowed to (POST, PATCH, DELETE/restore); the table of docs/api.md
LAYER_WRITES = {
    "pju": ({"field_officer", "planner", "admin"}, {"field_officer", "planner", "admin"}, {"planner", "admin"}),
    "roads": ({"planner", "admin"}, {"field_officer", "planner", "admin"}, {"planner", "admin"}),
    "panels": ({"field_officer", "planner", "admin"}, {"field_officer", "planner", "admin"}, {"planner", "admin"}),
    "areas": ({"admin"}, {"admin"}, {"admin"}),
}
NEW = {
    "pju": {"type": "Feature", "geometry": POINT, "properties": {"status": "working"}},
    "roads": {"type": "Feature", "geometry": LINE, "properties": {"road_class": "local"}},
    "panels": {"type": "Feature", "geometry": POINT, "properties": {"code": "P-9"}},
    "areas": {"type": "Feature", "geometry": SQUARE, "properties": {"level": "kelurahan", "code": "99.71.01.2009", "name": "K"}},
}
PATCH = {"pju": {"status": "off"}, "roads": {"condition": "fair"}, "panels": {"code": "P-10"}, "areas": {"name": "Baru"}}


def png() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, "PNG")
    buf.seek(0)
    buf.name = "foto.png"
    return buf


def _matrix():
    """(name, method, path, body builder, format, allowed roles)."""
    rows = []
    for layer, (post, patch, delete) in LAYER_WRITES.items():
        rows += [
            (f"list {layer}", "get", f"/api/{layer}/", None, None, ALL),
            (f"detail {layer}", "get", f"/api/{layer}/{{{layer}}}/", None, None, ALL),
            (f"create {layer}", "post", f"/api/{layer}/", lambda ids, l=layer: NEW[l], "json", post),
            (f"update {layer}", "patch", f"/api/{layer}/{{{layer}}}/",
             lambda ids, l=layer: {"properties": {**PATCH[l], "version": 1}}, "json", patch),
            (f"delete {layer}", "delete", f"/api/{layer}/{{{layer}}}/", None, None, delete),
        ]
        if layer != "areas":
            rows += [
                (f"restore {layer}", "post", f"/api/{layer}/{{deleted_{layer}}}/restore/", None, None, delete),
                (f"photos {layer}", "get", f"/api/{layer}/{{{layer}}}/photos/", None, None, ALL),
                (f"history {layer}", "get", f"/api/{layer}/{{{layer}}}/history/", None, None, LOGGED),
                (f"add photo {layer}", "post", f"/api/{layer}/{{{layer}}}/photos/", lambda ids: {"image": png()}, "multipart",
                 {"field_officer", "planner", "admin"}),
            ]
    rows += [
        ("imagery list", "get", "/api/imagery/", None, None, ALL),
        ("imagery upload", "post", "/api/imagery/", lambda ids: {"file": open(ids["dem_path"], "rb"), "kind": "dem", "name": "u"},
         "multipart", PLANNERS),  # SPEC §4: admins and planners (issue 12)
        ("imagery detail", "get", "/api/imagery/{imagery}/", None, None, ALL),
        ("imagery delete", "delete", "/api/imagery/{imagery}/", None, None, {"admin"}),
        ("elevation", "get", "/api/imagery/{imagery}/elevation/?lon=106.62&lat=-6.2", None, None, ALL),
        ("profile", "post", "/api/imagery/{imagery}/profile/", lambda ids: {"geometry": LINE}, "json", ALL),
        ("zonal", "post", "/api/imagery/{imagery}/zonal/", lambda ids: {"geometry": SQUARE}, "json", ALL),
        ("earthwork", "post", "/api/imagery/{imagery}/earthwork/", lambda ids: {
            "alignment": LINE, "width_m": 6, "design": {"start_elevation": 12, "grade_percent": 0}, "side_slope": 1.5,
            "method": "average_end_area", "station_interval_m": 10}, "json", ALL),
        ("templates", "get", "/api/templates/", None, None, ALL),
        ("estimate", "post", "/api/estimates/", lambda ids: {"road_ids": [ids["roads"]], "template": "{template}"}, "json", ALL),
        ("programme", "get", "/api/programme/?level=kecamatan", None, None, ALL),
        ("lighting gaps", "get", "/api/needs/lighting-gaps/", None, None, ALL),
        ("proposed pju", "get", "/api/needs/proposed-pju/", None, None, ALL),
        ("lamp upgrades", "get", "/api/needs/lamp-upgrades/", None, None, ALL),  # issue 13
        ("broken pju", "get", "/api/needs/broken-pju/", None, None, ALL),
        ("damaged roads", "get", "/api/needs/damaged-roads/", None, None, ALL),
        ("needs summary", "get", "/api/needs/summary/?level=kecamatan", None, None, ALL),
        ("needs export", "get", "/api/needs/export/?format=csv", None, None, LOGGED),  # exports need login (issue 12)
        ("needs compute", "post", "/api/needs/compute/", lambda ids: {"roads": [ids["roads"]]}, "json", PLANNERS),
        ("work orders", "get", "/api/work-orders/", None, None, LOGGED),
        ("work order", "get", "/api/work-orders/{order_open}/", None, None, LOGGED),
        ("work order create", "post", "/api/work-orders/", lambda ids: {"kind": "broken_pju", "target": ids["pju_off"]}, "json", PLANNERS),
        ("work order assign", "post", "/api/work-orders/{order_open}/assign/", lambda ids: {"officer": ids["officer"]}, "json", PLANNERS),
        ("work order start", "post", "/api/work-orders/{order_assigned}/start/", None, None, {"field_officer"}),
        ("work order close", "post", "/api/work-orders/{order_started}/close/",
         lambda ids: {"photo": png(), "lon": 106.62, "lat": -6.2, "accuracy_m": 5}, "multipart", {"field_officer"}),
        ("road survey", "post", "/api/roads/{roads}/survey/", lambda ids: {"crack_area_pct": 5, "crack_width_mm": 1},
         "json", {"field_officer", "planner", "admin"}),  # issue 14: as the road's PATCH
        ("imports", "get", "/api/imports/", None, None, PLANNERS),  # issue 18 (SPEC §9)
        ("import create", "post", "/api/imports/", lambda ids: {}, "multipart", PLANNERS),
        ("import detail", "get", "/api/imports/{no_uuid}/", None, None, PLANNERS),
        ("import rejects", "get", "/api/imports/{no_uuid}/rejects/", None, None, PLANNERS),
        ("import cancel", "delete", "/api/imports/{no_uuid}/", None, None, PLANNERS),
        ("upload patch", "patch", "/api/uploads/{no_uuid}/", lambda ids: {}, "json", PLANNERS),
        ("upload delete", "delete", "/api/uploads/{no_uuid}/", None, None, PLANNERS),
        ("upload create", "post", "/api/uploads/", lambda ids: {}, "json", PLANNERS),
        ("upload detail", "get", "/api/uploads/{no_uuid}/", None, None, PLANNERS),
        ("jobs", "get", "/api/jobs/", None, None, LOGGED),  # issue 18: background jobs (needs, imagery, exports)
        ("job create (needs)", "post", "/api/jobs/", lambda ids: {"kind": "needs"}, "json", PLANNERS),
        ("job detail", "get", "/api/jobs/{no_uuid}/", None, None, LOGGED),
        ("job download", "get", "/api/jobs/{no_uuid}/download/", None, None, LOGGED),
        ("work order reject", "post", "/api/work-orders/{order_assigned}/reject/", lambda ids: {"reason": "duplikat"}, "json",
         {"field_officer", "planner", "admin"}),
        # issue 17: citizen reports (the Open311 endpoints live under /open311/, outside this schema)
        ("reports", "get", "/api/reports/", None, None, ALL),
        ("report", "get", "/api/reports/{report}/", None, None, ALL),
        ("reports summary", "get", "/api/reports/summary/", None, None, ALL),
        ("reports proposals", "get", "/api/reports/proposals/", None, None, ALL),
        ("report reopen", "post", "/api/reports/{report}/reopen/", lambda ids: {"note": "x"}, "json", PLANNERS),
        ("open311 keys", "get", "/api/open311-keys/", None, None, {"admin"}),
        ("open311 key create", "post", "/api/open311-keys/", lambda ids: {"name": "app"}, "json", {"admin"}),
        ("open311 key", "get", "/api/open311-keys/{app_key}/", None, None, {"admin"}),
        ("open311 key revoke", "delete", "/api/open311-keys/{app_key}/", None, None, {"admin"}),
    ]
    # issue 16: live PJU network (SPEC §7): commands and their states for planners and admins only
    rows += [
        ("live summary", "get", "/api/live/summary/", None, None, ALL),
        ("pju telemetry", "get", "/api/pju/{pju}/telemetry/", None, None, ALL),
        ("pju command", "post", "/api/pju/{pju}/command/", lambda ids: {"level": 50}, "json", PLANNERS),
        ("group command", "post", "/api/pju/command/", lambda ids: {"pju": [ids["pju"]], "level": 50}, "json", PLANNERS),
        ("command states", "get", "/api/live/commands/", None, None, PLANNERS),
        ("command state", "get", "/api/live/commands/{command}/", None, None, PLANNERS),
        ("energy", "get", "/api/energy/?level=kecamatan", None, None, LOGGED),
    ]
    return rows


MATRIX = _matrix()


@pytest.fixture
def world(db, tmp_path, settings):
    """Ids the matrix paths need; the officer user exists before the roles'
    users so that work orders can be assigned to "field_officer_r"."""
    from estimates.models import PavementTemplate as Template
    from imagery.services import imagery_ingest

    settings.IMAGERY_ROOT = tmp_path / "imagery"
    settings.BASEMAP_URL = ""
    make_city(n_lights=12)
    officer = user_in("field_officer", name="field_officer_r")
    planner = user_in("planner", name="planner_seed")
    dem = tmp_path / "dem.tif"
    write_dem(dem)
    imagery = imagery_ingest(source=dem, kind="dem").imagery
    upload = tmp_path / "upload.tif"  # another checksum than dem.tif
    write_dem(upload, lon=106.63)
    pju = StreetLight.objects.order_by("pk").first()
    pju_off = StreetLight.objects.create(status="off", geom=Point(106.62, -6.2, srid=4326))
    panel = Panel.objects.create(code="P-1", geom=Point(106.62, -6.2, srid=4326))
    deleted = {
        "pju": StreetLight.objects.create(status="working", geom=Point(106.621, -6.2, srid=4326), deleted_at="2026-01-01T00:00Z"),
        "roads": RoadSegment.objects.create(road_class="local", geom=LINE_GEOS(), deleted_at="2026-01-01T00:00Z"),
        "panels": Panel.objects.create(code="P-del", geom=Point(106.621, -6.2, srid=4326), deleted_at="2026-01-01T00:00Z"),
    }
    where = Point(106.62, -6.2, srid=4326)

    def order(status, assigned):  # one active order per need (issue 12): each order its own broken PJU
        broken = StreetLight.objects.create(status="off", geom=Point(106.62, -6.2, srid=4326))
        return WorkOrder.objects.create(kind="broken_pju", status=status, title="t", pju=broken, geom=where,
                                        created_by=planner, assigned_to=assigned).pk

    from layers.models import Area
    ids = {
        "pju": pju.pk, "pju_off": pju_off.pk, "roads": RoadSegment.objects.filter(deleted_at__isnull=True).order_by("pk").first().pk,
        "panels": panel.pk, "areas": Area.objects.order_by("pk").first().pk, "imagery": imagery.pk,
        "officer": officer.pk, "dem_path": str(upload), "template": Template.objects.order_by("code").values_list("code", flat=True).first(),
        "order_open": order("open", None), "order_assigned": order("assigned", officer), "order_started": order("in_progress", officer),
        **{f"deleted_{k}": v.pk for k, v in deleted.items()},
        "command": "00000000-0000-0000-0000-000000000000",  # issue 16: no such command (404 for those allowed)
        "no_uuid": "00000000-0000-0000-0000-000000000000",  # imports/uploads that do not exist: 404 once allowed
    }
    from reports.models import Open311Key, Report  # issue 17

    ids["report"] = Report.objects.create(service_code="pju_mati", geom=where, expected_at="2026-01-04T00:00Z").pk
    ids["app_key"] = Open311Key.objects.create(name="LAKSA").pk
    return ids


def LINE_GEOS():
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(json.dumps(LINE), srid=4326)


def client_of(role):
    if role == "field_officer":
        from django.contrib.auth.models import User

        return client_for(User.objects.get(username="field_officer_r"))
    return client_for(role_user(role))


def send(client, method, path, body, fmt, ids):
    path = path.format(**ids)
    data = body(ids) if body else None
    if isinstance(data, dict) and data.get("template") == "{template}":
        data["template"] = ids["template"]
    if data is None:
        return getattr(client, method)(path)
    try:
        return getattr(client, method)(path, data, format=fmt)
    finally:  # the files a row uploads (imagery upload: the DEM) are closed with the request
        for value in (data.values() if isinstance(data, dict) else ()):
            if hasattr(value, "close"):
                value.close()


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, role):
    """Each request runs in a savepoint rolled back afterwards, so every row
    meets the same data."""
    client = client_of(role)
    wrong = []
    for name, method, path, body, fmt, allowed in MATRIX:
        with transaction.atomic():
            response = send(client, method, path, body, fmt, world)
            transaction.set_rollback(True)
        code = response.status_code
        if code >= 500:
            wrong.append(f"{name}: {code} (a 5xx) {response.content[:200]!r}")
        elif role in allowed and code in (401, 403):
            wrong.append(f"{name}: {code}, should be allowed {response.content[:200]!r}")
        elif role not in allowed and code not in (401, 403):
            wrong.append(f"{name}: {code}, should be denied {response.content[:200]!r}")
        elif role not in allowed and not (response.json().get("detail") and "errors" in response.json()):
            wrong.append(f"{name}: refusal without the error shape {response.content[:200]!r}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_matrix_covers_every_operation_of_the_schema(world):
    """A new endpoint without a row here fails this test."""
    schema = yaml.safe_load(client_for(None).get("/api/schema/").content)
    ops = {(m, p) for p, item in schema["paths"].items() for m in item if m in ("get", "post", "patch", "put", "delete")}
    ops.discard(("get", "/api/schema/"))

    def template(path):
        import re
        path = path.split("?")[0]
        if path.startswith("/api/") and path.count("/") >= 3 and path.split("/")[2] in LAYER_WRITES:
            path = "/api/{layer}/" + "/".join(path.split("/")[3:])
        return re.sub(r"\{[a-z_]+\}", "{id}", path)

    covered = {(m, template(p)) for _, m, p, *_ in MATRIX}
    missing = {(m, p) for m, p in ops if (m, template(p).replace("{layer}", "{layer}")) not in covered}
    assert not missing, f"endpoints without a permission row: {sorted(missing)}"


def test_only_the_assigned_officer_closes_an_order(world):
    other = client_for(user_in("field_officer", name="another_officer"))
    from django.contrib.auth.models import User

    mine = client_for(User.objects.get(username="field_officer_r"))
    path = f"/api/work-orders/{world['order_started']}/close/"
    body = {"photo": png(), "lon": 106.62, "lat": -6.2, "accuracy_m": 5}
    refused = other.post(f"{path}?lang=en", body, format="multipart")  # the English text (Bahasa Indonesia by default)
    assert refused.status_code == 403 and "assigned officer" in refused.json()["detail"]
    assert WorkOrder.objects.get(pk=world["order_started"]).status == "in_progress"
    ok = mine.post(path, {"photo": png(), "lon": 106.62, "lat": -6.2, "accuracy_m": 5}, format="multipart")
    assert ok.status_code == 200, ok.content
    assert WorkOrder.objects.get(pk=world["order_started"]).status == "done"


@override_settings(PUBLIC_READ=False)
@pytest.mark.parametrize("path", ["/api/pju/", "/api/roads/", "/api/imagery/", "/api/needs/broken-pju/", "/api/templates/",
                                  "/tiles/pju/15/26272/16919.pbf", "/ogc/collections/pju/items",
                                  "/ogc/collections/pju/queryables"])
def test_private_mode_hides_reads_from_anonymous(world, path):
    anon = client_for(None).get(path)
    assert anon.status_code in (401, 403), (path, anon.status_code)
    assert client_for(role_user("analyst")).get(path).status_code == 200
