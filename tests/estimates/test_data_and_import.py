"""Default data (migration + estimates.demo.load), CSV price import, OpenAPI."""
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from estimates import demo
from estimates.models import Layer, Material, PavementTemplate, PriceList, Treatment, UnitPrice
from tests.estimates.test_estimates import TANGERANG, estimate, geodesic_line

pytestmark = pytest.mark.django_db


def test_defaults_are_there_after_migrate_and_demo_load_is_idempotent_and_keeps_admin_edits():
    assert PavementTemplate.objects.filter(code__startswith="FFF").count() == 9
    assert PriceList.objects.filter(is_active=True).count() == 1
    for code in ("PJU-POLE-9M", "PJU-LAMP-LED-90W", "PJU-ARM", "PJU-CABLE-M"):
        assert UnitPrice.objects.filter(code=code, price_list__is_active=True, source__icontains="estimate").exists()
    assert set(Treatment.objects.values_list("condition", flat=True)) == {"good", "fair", "light_damage", "heavy_damage"}
    # every value has a source or the 'estimate' tag
    assert not Material.objects.filter(density_source="").exists() and not Layer.objects.filter(source="").exists()
    assert not UnitPrice.objects.filter(source="").exists()
    before = {m: m.objects.count() for m in (PavementTemplate, Layer, Material, UnitPrice, Treatment, PriceList)}
    layer = Layer.objects.get(template__code="FFF1", name="AC-WC")
    layer.thickness_m = 0.05  # an admin edit
    layer.save()
    out = StringIO()
    counts = demo.load(out)
    assert counts["created"] == 0 and "estimates:" in out.getvalue()
    assert {m: m.objects.count() for m in before} == before
    assert Layer.objects.get(pk=layer.pk).thickness_m == 0.05


def test_import_prices_csv_with_indonesian_numbers(tmp_path, client):
    path = tmp_path / "ssh.csv"
    path.write_text(
        "code;description;unit;price;source\n"
        "6.3.(5a);Laston AC-WC;t;1.612.500;SSH Kota Tangerang 2025\n"
        "6.3.(6a);Laston AC-BC;t;1.500.000,50;SSH Kota Tangerang 2025\n"
        "5.1.(1);LFA Kelas A;m3;650000;\n"
        "6.1.(1)(a);Prime coat;L;15000;\n"
        "6.1.(2)(a);Tack coat;L;16000;\n", encoding="utf-8")
    out = StringIO()
    call_command("import_prices", str(path), "--region", "Kota Tangerang", "--year", "2025", "--source", "estimate",
                 "--overhead", "10", "--activate", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["created"] == 5
    pl = PriceList.objects.get(region="Kota Tangerang", year=2025)
    assert pl.is_active and pl.overhead_pct == Decimal("10") and PriceList.objects.filter(is_active=True).count() == 1
    prices = {p.code: p for p in pl.prices.all()}
    assert prices["6.3.(5a)"].price == Decimal("1612500") and prices["6.3.(6a)"].price == Decimal("1500000.50")
    assert prices["5.1.(1)"].source == "estimate" and prices["6.3.(5a)"].source == "SSH Kota Tangerang 2025"
    # the estimate now uses the new active list
    est = estimate(client, geometry=geodesic_line(*TANGERANG, 100.0), width_m=5, template="FFF1").json()
    assert est["assumptions"]["price_list"]["year"] == 2025
    assert next(i for i in est["items"] if i["code"] == "6.3.(5a)")["unit_price"] == 1612500
    assert est["overhead"] == pytest.approx(est["subtotal"] * 0.10, abs=0.01)
    # a template needing an item the list lacks is a clear 400
    r = estimate(client, geometry=geodesic_line(*TANGERANG, 100.0), width_m=5, template="RIGID-200")
    assert r.status_code == 400 and "5.3.(1)" in r.json()["detail"]
    # the older list is still selectable
    r = estimate(client, geometry=geodesic_line(*TANGERANG, 100.0), width_m=5, template="RIGID-200", year=2024)
    assert r.status_code == 200


@pytest.mark.parametrize("content,words", [
    ("code,description,unit,price\nA,x,m3,abc\n", "not a number"),
    ("code,description,unit,price\nA,x,m3,100\nA,y,m3,200\n", "duplicate"),
    ("code,description,unit\nA,x,m3\n", "price"),
    ("code,description,unit,price\nA,x,m3,100\n", "source"),
])
def test_bad_price_csv_is_refused_whole(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    before = (PriceList.objects.count(), UnitPrice.objects.count())
    args = [str(path), "--region", "Kota X", "--year", "2025"] + (["--source", "estimate"] if words != "source" else [])
    with pytest.raises(CommandError, match=words):
        call_command("import_prices", *args)
    assert (PriceList.objects.count(), UnitPrice.objects.count()) == before


def test_openapi_schema_lists_the_estimate_endpoints(client):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/api/templates/", "/api/estimates/", "/api/programme/", "/api/imagery/{id}/earthwork/"):
        assert p in paths, p


def test_admin_pages_for_templates_and_prices(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin-est", "a@example.org", "pw-12345")
    client.force_login(admin)
    tpl = PavementTemplate.objects.get(code="RIGID-200")
    for url in ("/admin/estimates/pavementtemplate/", f"/admin/estimates/pavementtemplate/{tpl.pk}/change/",
                "/admin/estimates/material/", "/admin/estimates/pricelist/", "/admin/estimates/unitprice/?q=PJU",
                "/admin/estimates/treatment/", "/admin/estimates/concretemix/"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert b"Pelat beton K-350" in client.get(f"/admin/estimates/pavementtemplate/{tpl.pk}/change/").content


def test_private_deployment_needs_login_for_estimates(client, settings, django_user_model):
    from rest_framework.authtoken.models import Token

    settings.PUBLIC_READ = False
    body = {"geometry": geodesic_line(*TANGERANG, 100.0), "width_m": 5, "template": "FFF1"}
    assert estimate(client, **body).status_code in (401, 403)
    assert client.get("/api/programme/").status_code in (401, 403)
    assert client.get("/api/templates/").status_code in (401, 403)
    user = django_user_model.objects.create_user("perencana", password="pw-12345")
    token = Token.objects.create(user=user)
    r = client.post("/api/estimates/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert r.status_code == 200
