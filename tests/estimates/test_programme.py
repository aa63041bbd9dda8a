"""GET /api/programme/: condition → treatment → template → cost for every
road in one set-based query. Expected costs are worked out here from the
template rows and unit prices (pay quantity per m² × price, + 15 % overhead,
+ 11 % PPN) and pyproj geodesic lengths."""
import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django.utils import timezone

from estimates.models import PavementTemplate, PriceList, Treatment, UnitPrice
from layers.importers.postgis import assign_areas, refresh_measures
from layers.models import Area, RoadSegment
from tests.estimates.conftest import GEOD

pytestmark = pytest.mark.django_db


def cost_per_m2(template_code: str) -> float:
    """Σ pay quantity per m² × unit price, then overhead and PPN (flexible templates: no steel)."""
    tpl = PavementTemplate.objects.get(code=template_code)
    pl = PriceList.objects.get(is_active=True)
    price = {p.code: float(p.price) for p in UnitPrice.objects.filter(price_list=pl)}
    total = 0.0
    for layer in tpl.layers.all():
        qty = {"volume": layer.thickness_m, "mass": layer.thickness_m * layer.material.density_t_m3, "area": 1.0,
               "mass_with_loss": layer.thickness_m * layer.material.density_t_m3 * layer.material.loss_factor}[layer.pay_basis]
        total += qty * price[layer.pay_item]
    for coat in tpl.coats.all():
        total += coat.rate_l_m2 * price[coat.pay_item]
    return total * (1 + float(pl.overhead_pct) / 100) * (1 + float(pl.tax_pct) / 100)


def square(x0, y0, x1, y1):
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


def line(lon, lat, length_m, azimuth=90.0):
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, length_m)
    return LineString((lon, lat), (lon2, lat2), srid=4326)


@pytest.fixture
def city(db):
    west = Area.objects.create(level="kecamatan", code="99.01.01", name="Barat", geom=square(106.60, -6.22, 106.65, -6.17))
    east = Area.objects.create(level="kecamatan", code="99.01.02", name="Timur", geom=square(106.65, -6.22, 106.70, -6.17))
    spec = [  # name, lon, lat, length, class, condition, surface, width, lanes
        ("heavy-art", 106.61, -6.20, 300.0, "arterial", "heavy_damage", "asphalt", None, None),
        ("heavy-loc", 106.61, -6.19, 200.0, "local", "heavy_damage", "asphalt", 5.0, None),
        ("light-col", 106.66, -6.20, 400.0, "collector", "light_damage", "asphalt", None, 2),
        ("fair-loc", 106.66, -6.19, 500.0, "local", "fair", "asphalt", None, None),
        ("good-loc", 106.66, -6.18, 600.0, "local", "good", "asphalt", 6.5, None),
        ("unknown", 106.62, -6.18, 250.0, "local", "unknown", "asphalt", None, None),
        ("deleted", 106.62, -6.21, 900.0, "arterial", "heavy_damage", "asphalt", None, None),
    ]
    roads = {}
    for name, lon, lat, length, cls, cond, surf, width, lanes in spec:
        roads[name] = RoadSegment.objects.create(name=name, geom=line(lon, lat, length), road_class=cls, condition=cond,
                                                 surface=surf, width_m=width, lanes=lanes, source="prog-test")
    roads["deleted"].deleted_at = timezone.now()
    roads["deleted"].save()
    refresh_measures(RoadSegment, [r.pk for r in roads.values()])
    assign_areas(RoadSegment, [r.pk for r in roads.values()])
    widths = {"heavy-art": 14.0, "heavy-loc": 5.0, "light-col": 6.0, "fair-loc": 6.0, "good-loc": 6.5}
    lengths = {n: s[3] for n, *_ in [(x[0], x) for x in spec] for s in [next(t for t in spec if t[0] == n)]}
    return {"west": west, "east": east, "roads": roads, "widths": widths, "lengths": lengths}


def expected_costs(city):
    t = {"heavy_damage": ("FFF1", 1.0), "light_damage": ("REHAB-100", 1.0), "fair": ("OVERLAY-40", 1.0), "good": ("PATCH-100", 0.02)}
    out = {}
    for name, w in city["widths"].items():
        road = city["roads"][name]
        tpl, frac = t[road.condition]
        out[name] = city["lengths"][name] * w * frac * cost_per_m2(tpl)
    return out


def test_every_road_is_costed_ranked_and_aggregated(client, city):
    r = client.get("/api/programme/", {"level": "kecamatan", "source": "prog-test"})
    assert r.status_code == 200, r.content
    out = r.json()
    exp = expected_costs(city)
    segs = {s["name"]: s for s in out["segments"]}
    assert set(segs) == set(exp)  # unknown condition and deleted roads are not programmed
    for name, cost in exp.items():
        assert segs[name]["cost"] == pytest.approx(cost, rel=1e-6), name
        assert segs[name]["length_m"] == pytest.approx(city["lengths"][name], rel=1e-6)
        assert segs[name]["width_m"] == city["widths"][name]
    # heavy damage first (arterial before local), then light, fair, good
    assert [s["name"] for s in out["segments"]] == ["heavy-art", "heavy-loc", "light-col", "fair-loc", "good-loc"]
    assert segs["heavy-art"]["area_code"] == "99.01.01" and segs["fair-loc"]["area_code"] == "99.01.02"
    assert out["totals"]["segments"] == 5 and out["totals"]["cost"] == pytest.approx(sum(exp.values()), rel=1e-6)
    assert out["totals"]["unassessed_segments"] == 1
    assert out["totals"]["unassessed_length_m"] == pytest.approx(250.0, rel=1e-6)
    west = [g for g in out["groups"] if g["area_code"] == "99.01.01"]
    assert sum(g["cost"] for g in west) == pytest.approx(exp["heavy-art"] + exp["heavy-loc"], rel=1e-6)
    assert {(g["road_class"], g["template"]) for g in west} == {("arterial", "FFF1"), ("local", "FFF1")}
    assert sum(g["segments"] for g in out["groups"]) == 5


def test_budget_funds_a_prefix_of_the_ranking(client, city):
    exp = expected_costs(city)
    budget = exp["heavy-art"] + exp["heavy-loc"] + exp["light-col"] / 2
    out = client.get("/api/programme/", {"source": "prog-test", "budget": f"{budget:.2f}"}).json()
    funded = [s["name"] for s in out["segments"] if s["funded"]]
    assert funded == ["heavy-art", "heavy-loc"]
    assert out["totals"]["funded_cost"] == pytest.approx(exp["heavy-art"] + exp["heavy-loc"], rel=1e-6)
    assert out["totals"]["funded_cost"] <= budget
    assert out["segments"][1]["cumulative_cost"] == pytest.approx(exp["heavy-art"] + exp["heavy-loc"], rel=1e-6)


def test_programme_cost_equals_a_per_road_estimate(client, city):
    road = city["roads"]["heavy-art"]
    est = client.post("/api/estimates/", {"road_ids": [road.pk], "template": "FFF1"}, content_type="application/json").json()
    prog = client.get("/api/programme/", {"source": "prog-test"}).json()
    seg = next(s for s in prog["segments"] if s["id"] == road.pk)
    assert seg["cost"] == pytest.approx(est["total"], rel=1e-6)


def test_treatment_table_is_data(client, city):
    Treatment.objects.filter(condition="fair", surface="").update(template=PavementTemplate.objects.get(code="REHAB-100"), area_fraction=0.5)
    out = client.get("/api/programme/", {"source": "prog-test"}).json()
    seg = next(s for s in out["segments"] if s["name"] == "fair-loc")
    assert seg["template"] == "REHAB-100" and seg["treated_m2"] == pytest.approx(500 * 6.0 * 0.5, rel=1e-6)
    assert seg["cost"] == pytest.approx(500 * 6.0 * 0.5 * cost_per_m2("REHAB-100"), rel=1e-6)


def test_area_filter_level_kelurahan_and_csv(client, city):
    out = client.get("/api/programme/", {"source": "prog-test", "area": "99.01.02"}).json()
    assert {s["name"] for s in out["segments"]} == {"light-col", "fair-loc", "good-loc"}
    out = client.get("/api/programme/", {"source": "prog-test", "level": "kelurahan"}).json()
    assert all(g["area_code"] is None for g in out["groups"]) and out["totals"]["segments"] == 5
    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    r = client.get("/api/programme/", {"source": "prog-test", "format": "csv"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert sum(int(row["segments"]) for row in rows) == 5
    assert sum(Decimal(row["cost"]) for row in rows) == pytest.approx(Decimal(str(sum(expected_costs(city).values()))), rel=Decimal("1e-6"))


def test_bad_programme_queries_are_4xx(client, city):
    for params, field in [({"level": "provinsi"}, "level"), ({"budget": "-5"}, "budget"), ({"budget": "abc"}, "budget"),
                          ({"area": "no-such-area"}, "area"), ({"limit": "-1"}, "limit")]:
        r = client.get("/api/programme/", params)
        assert r.status_code == 400, (params, r.content)
        assert field in r.json()["errors"]


def test_sdi_and_iri_classes_take_the_worse_condition(client, db):
    cases = [  # recorded condition, sdi, iri → effective (DOMAIN §4 bands)
        ("unknown", 120.0, None, "light_damage"),
        ("good", None, 12.5, "heavy_damage"),
        ("fair", 40.0, 3.0, "fair"),
        ("unknown", 49.9, 4.0, "fair"),
        ("unknown", None, None, None),
        ("light_damage", 150.0, None, "light_damage"),
        ("unknown", 150.1, None, "heavy_damage"),
    ]
    ids = []
    for i, (cond, sdi, iri, _) in enumerate(cases):
        road = RoadSegment.objects.create(name=f"sdi-{i}", geom=line(106.61, -6.20 + i * 0.001, 100.0), road_class="local",
                                          condition=cond, sdi=sdi, iri=iri, surface="asphalt", source="prog-sdi")
        ids.append(road.pk)
    refresh_measures(RoadSegment, ids)
    out = client.get("/api/programme/", {"source": "prog-sdi"}).json()
    got = {s["name"]: s["condition"] for s in out["segments"]}
    for i, (*_, expected) in enumerate(cases):
        assert got.get(f"sdi-{i}") == expected, (i, got)
    assert out["totals"]["unassessed_segments"] == 1


def test_programme_workbook_totals_equal_the_json(client, city):
    from openpyxl import load_workbook

    js = client.get("/api/programme/", {"source": "prog-test", "budget": "1000000000"}).json()
    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    r = client.get("/api/programme/", {"source": "prog-test", "budget": "1000000000", "format": "xlsx"})
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    summary = {row[0]: row[1] for row in wb["Ringkasan"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Biaya (Rp)"] == js["totals"]["cost"] and summary["Biaya terdanai (Rp)"] == js["totals"]["funded_cost"]
    groups = list(wb["Kelompok"].iter_rows(values_only=True))
    cost_col = groups[0].index("cost")
    assert sum(row[cost_col] for row in groups[1:]) == pytest.approx(js["totals"]["cost"], abs=0.05)
    ranked = list(wb["Ruas"].iter_rows(values_only=True))
    assert [row[1] for row in ranked[1:]] == [s["id"] for s in js["segments"]]
