"""Audit history (issue 9): every change of an asset or imagery record names
who, when, what (before → after) and the channel (api, admin, import);
soft delete and restore through the API and the admin; the history is
readable at GET /api/{layer}/{id}/history/ (logged-in users) and in the admin."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from layers.models import AuditLog, Panel, StreetLight
from tests.reliability.support import client_for, user_in, write_dem

pytestmark = pytest.mark.django_db
FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.62, -6.2]},
           "properties": {"status": "working", "wattage_w": 90}}


def history(client, layer, pk):
    r = client.get(f"/api/{layer}/{pk}/history/")
    assert r.status_code == 200, r.content
    return r.json()


def test_api_changes_are_in_the_history_with_before_and_after():
    officer_user, planner_user = user_in("field_officer", name="budi"), user_in("planner", name="sari")
    officer, planner = client_for(officer_user), client_for(planner_user)
    pk = officer.post("/api/pju/", FEATURE, format="json").json()["id"]
    assert officer.patch(f"/api/pju/{pk}/", {"properties": {"status": "damaged", "version": 1}}, format="json").status_code == 200
    assert planner.delete(f"/api/pju/{pk}/").status_code == 204
    assert StreetLight.objects.get(pk=pk).deleted_at is not None  # soft: the row stays
    assert planner.get(f"/api/pju/{pk}/").status_code == 404
    assert planner.post(f"/api/pju/{pk}/restore/").status_code == 200
    h = history(planner, "pju", pk)
    assert h["count"] == 4
    actions = [(e["action"], e["user"], e["channel"]) for e in h["entries"]]
    assert actions == [("restore", "sari", "api"), ("delete", "sari", "api"), ("update", "budi", "api"), ("create", "budi", "api")]
    update = h["entries"][2]
    assert update["before"]["status"] == "working" and update["after"]["status"] == "damaged"
    assert (update["before"]["version"], update["after"]["version"]) == (1, 2)
    assert h["entries"][1]["before"]["deleted_at"] is None and h["entries"][1]["after"]["deleted_at"]
    assert h["entries"][0]["after"]["deleted_at"] is None
    assert client_for(None).get(f"/api/pju/{pk}/history/").status_code in (401, 403)
    assert planner.get("/api/pju/987654321/history/").status_code == 404


def test_admin_edit_delete_and_restore_are_audited():
    admin_user = user_in(None, superuser=True, name="diskominfo")
    panel = Panel.objects.create(code="P-1", geom="SRID=4326;POINT(106.62 -6.2)")
    web = Client()
    web.force_login(admin_user)
    data = {"code": "P-1-baru", "pln_customer_id": "5123", "meter": "", "source": "manual", "source_id": "",
            "client_id": "", "kecamatan": "", "kelurahan": "", "geom": "SRID=4326;POINT(106.62 -6.2)"}
    r = web.post(f"/admin/layers/panel/{panel.pk}/change/", data)
    assert r.status_code == 302, r.content[:2000]
    panel.refresh_from_db()
    assert (panel.code, panel.version) == ("P-1-baru", 2)
    entry = AuditLog.objects.filter(layer="panels", object_id=panel.pk).first()
    assert (entry.action, entry.channel, entry.user.username) == ("update", "admin", "diskominfo")
    assert entry.before["code"] == "P-1" and entry.changes["code"] == "P-1-baru"
    assert entry.before["pln_customer_id"] == "" and entry.changes["pln_customer_id"] == "5123"

    assert web.post(f"/admin/layers/panel/{panel.pk}/delete/", {"post": "yes"}).status_code == 302
    panel.refresh_from_db()
    assert panel.deleted_at is not None  # soft delete from the admin too
    assert web.post("/admin/layers/panel/", {"action": "restore_selected", "_selected_action": [panel.pk]}).status_code == 302
    panel.refresh_from_db()
    assert panel.deleted_at is None and panel.version == 4
    actions = list(AuditLog.objects.filter(layer="panels", object_id=panel.pk).values_list("action", "channel"))
    assert actions == [("restore", "admin"), ("delete", "admin"), ("update", "admin")]
    page = web.get(f"/admin/layers/panel/{panel.pk}/change/").content.decode()
    assert "riwayat" in page.lower() and "<td>diskominfo</td>" in page and "Dipulihkan" in page
    assert web.get("/admin/layers/auditlog/?channel__exact=admin").status_code == 200


def test_imports_are_audited_per_feature(tmp_path):
    path = tmp_path / "pju.csv"
    path.write_text("id,lon,lat,status\n1,106.62,-6.20,working\n2,106.63,-6.21,off\n")

    def run():
        call_command("import_layer", str(path), "--layer", "pju", "--id-field", "id", "--json", stdout=io.StringIO(), verbosity=0)

    run()
    lights = {s.source_id: s.pk for s in StreetLight.objects.all()}
    assert set(lights) == {"1", "2"}
    for pk in lights.values():
        assert list(AuditLog.objects.filter(layer="pju", object_id=pk).values_list("action", "channel")) == [("create", "import")]
    path.write_text("id,lon,lat,status\n1,106.62,-6.20,damaged\n2,106.63,-6.21,off\n")
    run()
    assert list(AuditLog.objects.filter(layer="pju", object_id=lights["1"]).values_list("action", "channel")) == [
        ("update", "import"), ("create", "import")]
    assert AuditLog.objects.filter(layer="pju", object_id=lights["2"]).count() == 1  # unchanged: no entry


def test_imagery_upload_and_delete_are_audited(tmp_path, settings):
    settings.IMAGERY_ROOT = tmp_path / "imagery"
    admin_user = user_in(None, superuser=True, name="pemetaan")
    api = client_for(admin_user)
    dem = tmp_path / "dem.tif"
    write_dem(dem)
    with open(dem, "rb") as fh:
        r = api.post("/api/imagery/", {"file": fh, "kind": "dem", "name": "DEM uji"}, format="multipart")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert api.delete(f"/api/imagery/{pk}/").status_code == 204
    entries = list(AuditLog.objects.filter(layer="imagery", object_id=pk).values("action", "channel", "user__username", "before", "changes"))
    assert [(e["action"], e["channel"], e["user__username"]) for e in entries] == [("delete", "api", "pemetaan"), ("create", "api", "pemetaan")]
    assert entries[0]["before"]["name"] == "DEM uji" and entries[1]["changes"]["kind"] == "dem"
    json.dumps(entries, default=str)

    from imagery.services import imagery_ingest

    obj = imagery_ingest(source=dem, kind="dem").imagery  # the import_imagery path
    assert AuditLog.objects.filter(layer="imagery", object_id=obj.pk, channel="import", action="create").count() == 1


def test_unit_price_admin_edit_and_work_order_transitions_are_audited():
    from estimates.models import PriceList, UnitPrice
    from needs.models import WorkOrder

    prices = PriceList.objects.create(name="HSPK uji", region="Uji", year=2031, source="test")
    price = UnitPrice.objects.create(price_list=prices, code="9.9.(1)", description="Uji", unit="m2", price="1000.00", source="test")
    created = AuditLog.objects.get(layer="unit_prices", object_id=price.pk)
    assert (created.action, created.channel, created.user) == ("create", "import", None)  # no request: a loader/command

    admin_user = user_in(None, superuser=True, name="harga")
    web = Client()
    web.force_login(admin_user)
    r = web.post(f"/admin/estimates/unitprice/{price.pk}/change/", {
        "price_list": prices.pk, "code": "9.9.(1)", "description": "Uji", "unit": "m2", "price": "1250.00", "source": "test"})
    assert r.status_code == 302, r.content[:1500]
    entry = AuditLog.objects.filter(layer="unit_prices", object_id=price.pk, action="update").get()
    assert (entry.channel, entry.user.username) == ("admin", "harga")
    assert (entry.before["price"], entry.changes["price"]) == ("1000.00", "1250.00")
    assert set(entry.changes) == {"price"}

    planner = client_for(user_in("planner", name="perencana"))
    officer_user = user_in("field_officer", name="lapangan")
    pju = StreetLight.objects.create(status="off", geom="SRID=4326;POINT(106.62 -6.2)")
    r = planner.post("/api/work-orders/", {"kind": "broken_pju", "target": pju.pk}, format="json")
    assert r.status_code == 201, r.content
    order = WorkOrder.objects.get()
    r = planner.post(f"/api/work-orders/{order.pk}/assign/", {"officer": officer_user.pk}, format="json")
    assert r.status_code == 200, r.content
    entries = list(AuditLog.objects.filter(layer="work_orders", object_id=order.pk).values_list("action", "channel", "user__username"))
    assert entries[-1] == ("create", "api", "perencana")
    update = AuditLog.objects.filter(layer="work_orders", object_id=order.pk, action="update").first()
    assert update.user.username == "perencana"
    assert update.before["status"] == "open" and update.changes["status"] == "assigned"
    assert update.changes["assigned_to_id"] == officer_user.pk
