"""Needs endpoints: GeoJSON layers, freshness after edits through the layers
API, the area summary (totals = sums of the layers), the Musrenbang export,
vector tiles, compute_needs and bad input."""
import csv
import io
import json

import mapbox_vector_tile
import mercantile
import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import call_command
from openpyxl import load_workbook

from layers.importers.postgis import refresh_measures
from layers.models import Area, RoadSegment, StreetLight
from needs.models import LightingGap, ProposedPJU
from needs.services import lighting_needs_compute
from tests.layers.api_support import client_for, user_in
from tests.needs.support import (
    JAKARTA_ARTERIAL,
    JAKARTA_CURVED,
    JAKARTA_STRAIGHT,
    geodesic_length,
    make_lamp,
    make_road,
    point_at,
    road_coords,
)

pytestmark = pytest.mark.django_db


def box_around(coords, pad=0.002):
    xs, ys = zip(*coords)
    return MultiPolygon(Polygon.from_bbox((min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)), srid=4326)


@pytest.fixture
def town(db):
    """Two kecamatan (around the straight and the curved road), one road in
    neither; lamps of every status; conditions and SDI/IRI of each kind."""
    a = Area.objects.create(level="kecamatan", code="99.01", name="Kec A", geom=box_around(road_coords(JAKARTA_STRAIGHT)))
    b = Area.objects.create(level="kecamatan", code="99.02", name="Kec B", geom=box_around(road_coords(JAKARTA_CURVED)))
    refresh_measures(Area)
    straight = make_road(JAKARTA_STRAIGHT, "local", condition="good")
    curved = make_road(JAKARTA_CURVED, "local", condition="heavy_damage")
    arterial = make_road(JAKARTA_ARTERIAL, "arterial", condition="fair", iri=9.0)  # IRI > 8: light damage
    sc, cc = road_coords(JAKARTA_STRAIGHT), road_coords(JAKARTA_CURVED)
    lamps = {
        "s20": make_lamp(point_at(sc, 20, 3, "right"), code="S20"),
        "s100": make_lamp(point_at(sc, 100, 3, "right"), code="S100"),
        "s130": make_lamp(point_at(sc, 130, 3, "right"), status="off", code="S130"),
        "c100": make_lamp(point_at(cc, 100), status="damaged", code="C100"),
        "c300": make_lamp(point_at(cc, 300), code="C300"),
    }
    lighting_needs_compute()
    return {"a": a, "b": b, "straight": straight, "curved": curved, "arterial": arterial, "lamps": lamps}


def get_json(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def all_features(client, url):
    return get_json(client, url + ("&" if "?" in url else "?") + "limit=10000")["features"]


def test_layers_are_geojson_with_the_spec_properties(town, client):
    gaps = get_json(client, f"/api/needs/lighting-gaps/?road={town['straight'].pk}")
    assert gaps["type"] == "FeatureCollection" and gaps["count"] == len(gaps["features"]) > 0
    props = gaps["features"][0]["properties"]
    assert {"road", "road_class", "length_m", "start_m", "end_m", "kecamatan", "kelurahan", "rule"} <= set(props)
    assert props["kecamatan"] == "99.01" and props["rule"] == {"H": 7, "k": 5, "S": 35, "W": 6, "reach_m": 13, "offset_m": 3.7}
    assert gaps["features"][0]["geometry"]["type"] == "LineString"
    poles = get_json(client, f"/api/needs/proposed-pju/?road={town['straight'].pk}")
    assert poles["count"] == ProposedPJU.objects.filter(road=town["straight"]).count() > 0
    p = poles["features"][0]
    assert p["geometry"]["type"] == "Point" and {"road", "road_class", "chainage_m", "side"} <= set(p["properties"])


def test_broken_pju_layer_lists_off_and_damaged_with_treatment_and_road(town, client):
    features = all_features(client, "/api/needs/broken-pju/")
    by_code = {f["properties"]["code"]: f["properties"] for f in features}
    assert set(by_code) == {"S130", "C100"}
    assert by_code["S130"]["treatment"] == "repair_lamp" and by_code["C100"]["treatment"] == "replace_fixture"
    assert by_code["S130"]["road"] == town["straight"].pk and by_code["S130"]["road_distance_m"] == pytest.approx(3, abs=0.01)
    # priority = class (local 24) + damage (off 20 / damaged 30), no facility
    assert (by_code["S130"]["priority"], by_code["C100"]["priority"]) == (44, 54)
    only_off = all_features(client, "/api/needs/broken-pju/?status=off")
    assert [f["properties"]["code"] for f in only_off] == ["S130"]


@pytest.mark.parametrize(
    "fields, need",
    [
        ({"condition": "good", "sdi": 101.0}, "light_damage"),
        ({"condition": "good", "sdi": 100.0}, None),
        ({"condition": "fair", "iri": 12.5}, "heavy_damage"),
        ({"condition": "good", "sdi": 151.0, "iri": 9.0}, "heavy_damage"),  # the worse of the two
        ({"condition": "light_damage"}, "light_damage"),
        ({"condition": "unknown", "iri": 8.0}, None),
    ],
)
def test_damaged_roads_follow_condition_and_sdi_iri_thresholds(fields, need, client):
    road = make_road(JAKARTA_STRAIGHT, "collector", **fields)
    features = all_features(client, "/api/needs/damaged-roads/")
    assert [f["properties"]["need_condition"] for f in features] == ([need] if need else [])
    if need:
        props = features[0]["properties"]
        assert props["treatment"] == {"light_damage": "periodic_rehabilitation", "heavy_damage": "reconstruction"}[need]
        assert features[0]["id"] == road.pk
        assert props["length_m"] == pytest.approx(geodesic_length(road_coords(JAKARTA_STRAIGHT)), abs=0.01)


def test_summary_totals_equal_the_sums_of_the_layers(town, client):
    summary = get_json(client, "/api/needs/summary/?level=kecamatan")
    assert summary["computed_at"] and summary["refreshed_at"] is None
    totals = summary["totals"]
    gaps = all_features(client, "/api/needs/lighting-gaps/")
    poles = all_features(client, "/api/needs/proposed-pju/")
    broken = all_features(client, "/api/needs/broken-pju/")
    damaged = all_features(client, "/api/needs/damaged-roads/")
    assert totals["underlit_km"] == pytest.approx(sum(f["properties"]["length_m"] for f in gaps) / 1000, abs=1e-6)
    assert totals["lighting_gaps"] == len(gaps)
    assert totals["proposed_pju"] == len(poles) == ProposedPJU.objects.count()
    assert totals["broken_pju"] == len(broken) == 2
    assert totals["damaged_km"] == pytest.approx(sum(f["properties"]["length_m"] for f in damaged) / 1000, abs=1e-6)
    assert totals["damaged_roads"] == len(damaged) == 2  # curved (heavy), arterial (IRI 9)
    assert totals["pju_count"] == StreetLight.objects.count() == 5
    assert totals["working_pct"] == pytest.approx(100 * 3 / 5)
    rows = summary["areas"] + [summary["unassigned"]]
    for key in ("underlit_km", "proposed_pju", "broken_pju", "damaged_km", "pju_count", "road_km"):
        assert sum(r[key] for r in rows) == pytest.approx(totals[key], abs=1e-5), key  # rows are rounded to mm
    a, b = (next(r for r in summary["areas"] if r["code"] == c) for c in ("99.01", "99.02"))
    ls, lc, la = (geodesic_length(road_coords(f)) for f in (JAKARTA_STRAIGHT, JAKARTA_CURVED, JAKARTA_ARTERIAL))
    assert a["road_km"] == pytest.approx(ls / 1000, abs=1e-5) and a["kemantapan_pct"] == 100.0
    assert b["road_km_by_condition"]["heavy_damage"] == pytest.approx(lc / 1000, abs=1e-5) and b["kemantapan_pct"] == 0.0
    # road km by the effective condition (SPEC §6): the "fair" arterial with IRI 9 counts as light damage
    assert summary["unassigned"]["road_km_by_condition"]["light_damage"] == pytest.approx(la / 1000, abs=1e-5)
    assert summary["unassigned"]["road_km_by_condition"]["fair"] == 0
    assert (a["pju_count"], a["pju_working"], a["broken_pju"]) == (3, 2, 1)
    # straight road (local, ρ 17.5): discs 20 [2.5, 37.5], 100 [82.5, 117.5], off 130 [112.5, 147.5]:
    # missing 0–2.5, 37.5–82.5, 147.5–L; dark 117.5–147.5 (30 m)
    assert a["underlit_km_by_kind"]["missing"] * 1000 == pytest.approx(2.5 + 45 + (ls - 147.5), abs=0.01)
    assert a["underlit_km_by_kind"]["dark"] * 1000 == pytest.approx(30, abs=0.01)
    assert a["underlit_km"] * 1000 == pytest.approx(2.5 + 45 + (ls - 117.5), abs=0.01)
    for kind in ("missing", "weak", "dark"):  # totals by kind = sums of the layer by kind
        layer = sum(f["properties"]["length_m"] for f in gaps if f["properties"]["kind"] == kind)
        assert totals["underlit_km_by_kind"][kind] == pytest.approx(layer / 1000, abs=1e-6), kind
        assert sum(r["underlit_km_by_kind"][kind] for r in rows) == pytest.approx(layer / 1000, abs=1e-5), kind
    # costs (estimates' active price list, + overhead + PPN), per class standard lamp (SPEC §5 table):
    # new pole = pole + LED lamp + arm + foundation + installation + S m of cable; repairs: off =
    # lamp + installation, damaged = lamp + arm + installation (the class lamp of its road: local 40 W)
    from estimates.models import PriceList

    pl = PriceList.objects.filter(is_active=True).order_by("-year").first()
    price = {p.code: float(p.price) for p in pl.prices.all()}
    factor = (1 + (0 if pl.prices_include_overhead else float(pl.overhead_pct)) / 100) * (1 + float(pl.tax_pct) / 100)
    pole = {
        "local": price["PJU-POLE-7M"] + price["PJU-LAMP-LED-40W"] + 35 * price["PJU-CABLE-M"],
        "arterial": price["PJU-POLE-10M"] + price["PJU-LAMP-LED-150W"] + 35 * price["PJU-CABLE-M"],
    }
    common = price["PJU-ARM"] + price["PJU-FOUNDATION"] + price["PJU-INSTALL"]
    off = price["PJU-LAMP-LED-40W"] + price["PJU-INSTALL"]
    damaged = off + price["PJU-ARM"]
    by_class = {c: sum(1 for f in poles if f["properties"]["road_class"] == c) for c in pole}
    assert sum(by_class.values()) == len(poles)
    new_poles = sum(n * (pole[c] + common) for c, n in by_class.items()) * factor
    assert totals["cost_breakdown"]["proposed_pju"] == pytest.approx(new_poles, abs=0.01 * len(poles))
    assert sum(f["properties"]["cost"] for f in poles) == pytest.approx(new_poles, abs=0.01 * len(poles))
    assert totals["cost_breakdown"]["repairs"] == pytest.approx((off + damaged) * factor, abs=0.02)
    assert sum(f["properties"]["repair_cost"] for f in broken) == pytest.approx((off + damaged) * factor, abs=0.02)
    assert totals["lamp_upgrades"] == 0 and totals["cost_breakdown"]["lamp_upgrades"] == 0
    assert totals["repairs"] == 2
    assert totals["estimated_cost"] == pytest.approx(new_poles + (off + damaged) * factor, abs=0.01 * len(poles) + 0.02)
    assert sum(r["estimated_cost"] for r in rows) == pytest.approx(totals["estimated_cost"], abs=0.01)


def test_lamp_upgrades_and_repairs_are_counted_once(client):
    """A 20 W LED beside a local road (ρ = ½·min(35, 2600·0.32/12 = 69.3) = 17.5: not
    weak) and on an arterial row (weak) — and one off 20 W lamp there: it is an
    upgrade (the new standard lamp also repairs it), not a repair as well."""
    from tests.needs.test_coverage_v2 import JAKARTA, _row, beside  # noqa: PLC0415

    r, lamps = _row(JAKARTA, middle={"lamp_type": "led", "wattage_w": 20}, middle_status="off")
    lighting_needs_compute()
    upgrades = all_features(client, "/api/needs/lamp-upgrades/")
    assert [f["id"] for f in upgrades] == [lamps[87.5].pk]
    props = upgrades[0]["properties"]
    assert props["road"] == r.pk and props["road_class"] == "arterial"
    assert props["lamp"] == {"type": "led", "wattage_w": 150, "lumen": 19500, "pole_height_m": 10}
    # weak: 35 − 5.40 = 29.60 m (its own disc, off, gives the 5.40 m in the middle: dark)
    assert props["weak_m"] == pytest.approx(29.60, abs=0.02)
    broken = all_features(client, "/api/needs/broken-pju/")
    assert [f["properties"]["upgrade"] for f in broken] == [True] and broken[0]["properties"]["repair_cost"] is None
    assert broken[0]["properties"]["dark_m"] == pytest.approx(5.40, abs=0.02)
    totals = get_json(client, "/api/needs/summary/")["totals"]
    assert (totals["lamp_upgrades"], totals["repairs"], totals["proposed_pju"]) == (1, 0, 0)
    assert totals["cost_breakdown"]["lamp_upgrades"] == pytest.approx(props["cost"])
    assert totals["underlit_km_by_kind"]["weak"] * 1000 == pytest.approx(29.60, abs=0.02)
    assert totals["underlit_km_by_kind"]["dark"] * 1000 == pytest.approx(5.40, abs=0.02)


def test_summary_level_must_be_kecamatan_or_kelurahan(client):
    response = client.get("/api/needs/summary/?level=provinsi")
    assert response.status_code == 400
    assert "level" in response.json()["errors"]


@pytest.mark.parametrize(
    "query, param",
    [("bbox=1,2,3", "bbox"), ("road_class=motorway", "road_class"), ("limit=0", "limit"), ("area=nope", "area"),
     ("ordering=name", "ordering")],
)
def test_bad_query_parameters_are_400_naming_them(query, param, client):
    response = client.get(f"/api/needs/lighting-gaps/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert param in body["errors"] and body["detail"]


def test_filters_bbox_area_and_priority_order(town, client):
    sc = road_coords(JAKARTA_STRAIGHT)
    xs, ys = zip(*sc)
    bbox = f"{min(xs)},{min(ys)},{max(xs)},{max(ys)}"
    in_box = all_features(client, f"/api/needs/lighting-gaps/?bbox={bbox}")
    assert {f["properties"]["road"] for f in in_box} == {town["straight"].pk}
    in_b = all_features(client, "/api/needs/proposed-pju/?area=99.02")
    assert {f["properties"]["road"] for f in in_b} == {town["curved"].pk}
    ranked = all_features(client, "/api/needs/lighting-gaps/?ordering=-priority")
    priorities = [f["properties"]["priority"] for f in ranked]
    assert priorities == sorted(priorities, reverse=True)
    assert ranked[0]["properties"]["road_class"] == "arterial"  # 40 + 30 for 297 m unlit


def test_needs_are_current_after_edits_through_the_layers_api(town, django_capture_on_commit_callbacks):
    planner = client_for(user_in("planner"))
    road = town["straight"]
    lamp = town["lamps"]["s100"]
    before = LightingGap.objects.filter(road=road).count()
    with django_capture_on_commit_callbacks(execute=True):
        r = planner.patch(f"/api/pju/{lamp.pk}/", {"properties": {"status": "off", "version": lamp.version}}, format="json")
    assert r.status_code == 200, r.content
    gaps = sorted(all_features(client_for(None), f"/api/needs/lighting-gaps/?road={road.pk}"), key=lambda g: g["properties"]["start_m"])
    # only the lamp at 20 m works: missing 0–2.5, 37.5–82.5, 147.5–L; the discs of the off lamps at
    # 100 and 130 m (82.5–147.5) are dark
    assert [(g["properties"]["kind"]) for g in gaps] == ["missing", "missing", "dark", "missing"]
    assert [g["properties"]["start_m"] for g in gaps[1:3]] == [pytest.approx(37.5, abs=0.01), pytest.approx(82.5, abs=0.01)]
    assert gaps[2]["properties"]["end_m"] == pytest.approx(147.5, abs=0.01)
    assert before == 4  # missing 0–2.5, 37.5–82.5, 147.5–L; dark 117.5–147.5
    # a new lamp through the API at 60 m splits the end gap
    sc = road_coords(JAKARTA_STRAIGHT)
    with django_capture_on_commit_callbacks(execute=True):
        r = planner.post("/api/pju/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(point_at(sc, 60, 2, "left"))},
                                       "properties": {"status": "working"}}, format="json")
    assert r.status_code == 201, r.content
    kinds = [g.kind for g in LightingGap.objects.filter(road=road).order_by("start_m")]
    assert kinds == ["missing", "missing", "missing", "dark", "missing"]  # 37.5–82.5 split by the disc 42.5–77.5
    # moving the lamp at 20 m far away: the road it lit before is refreshed too
    first = town["lamps"]["s20"]
    first.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        r = planner.patch(f"/api/pju/{first.pk}/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.5, -6.9]},
                                                    "properties": {"version": first.version}}, format="json")
    assert r.status_code == 200, r.content
    gaps = list(LightingGap.objects.filter(road=road).order_by("start_m"))
    assert [g.kind for g in gaps] == ["missing", "missing", "dark", "missing"]
    assert gaps[0].end_m == pytest.approx(60 - 17.5, abs=0.01)


def test_compute_needs_command_reports_json(town, capsys):
    LightingGap.objects.all().delete()
    call_command("compute_needs", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["roads"] == RoadSegment.objects.count() == 3
    assert report["gaps"] == LightingGap.objects.count() > 0
    assert report["proposed"] == ProposedPJU.objects.count()
    assert report["underlit_m"] == pytest.approx(sum(LightingGap.objects.values_list("length_m", flat=True)))


def test_compute_api_needs_a_planner(town):
    assert client_for(user_in("field_officer")).post("/api/needs/compute/", {}, format="json").status_code == 403
    assert client_for(user_in("analyst")).post("/api/needs/compute/", {}, format="json").status_code == 403
    assert client_for(None).post("/api/needs/compute/", {}, format="json").status_code == 401
    planner = client_for(user_in("planner"))
    bad = planner.post("/api/needs/compute/", {"roads": ["x"]}, format="json")
    assert bad.status_code == 400 and "roads" in bad.json()["errors"]
    # checked before anything is queued: a long list (a background job when valid) or not a list
    for roads in ([1] * 5000 + [True], "all"):
        bad = planner.post("/api/needs/compute/", {"roads": roads}, format="json")
        assert bad.status_code == 400 and "roads" in bad.json()["errors"], bad.content
    ok = planner.post("/api/needs/compute/", {"roads": [town["straight"].pk]}, format="json")
    assert ok.status_code == 200 and ok.json()["roads"] == 1


def test_musrenbang_export_xlsx_and_csv(town, client):
    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    response = client.get("/api/needs/export/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Usulan", "Titik PJU usulan", "Peningkatan lampu", "Perbaikan PJU", "Keterangan"]
    rows = list(wb["Usulan"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == 3  # three roads with under-lit stretches
    col = header.index("Usulan titik PJU")
    assert sum(r[col] for r in body) == ProposedPJU.objects.count()
    under = header.index("Panjang kurang terang (m)")
    assert sum(r[under] for r in body) == pytest.approx(sum(LightingGap.objects.values_list("length_m", flat=True)), abs=0.2)
    assert len(list(wb["Titik PJU usulan"].iter_rows())) - 1 == ProposedPJU.objects.count()
    for kind, label in (("missing", "Belum ada PJU (m)"), ("weak", "Lampu kurang kuat (m)"), ("dark", "PJU mati/rusak (m)")):
        stored = sum(LightingGap.objects.filter(kind=kind).values_list("length_m", flat=True))
        assert sum(r[header.index(label)] for r in body) == pytest.approx(stored, abs=0.2), kind
    repairs = list(wb["Perbaikan PJU"].iter_rows(values_only=True))
    assert len(repairs) - 1 == 2  # the off and the damaged lamp; no upgrades here
    assert len(list(wb["Peningkatan lampu"].iter_rows())) == 1
    only_b = client.get("/api/needs/export/?format=csv&area=99.02")
    assert only_b.status_code == 200 and only_b["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(only_b.content.decode("utf-8-sig"))))
    assert len(table) == 2 and table[1][3] == str(town["curved"].pk)
    assert client.get("/api/needs/export/?format=pdf").status_code in (400, 404)


def test_tiles_of_needs_hold_the_stored_features_and_change_with_a_run(town, client):
    road = town["straight"]
    lon, lat = point_at(road_coords(JAKARTA_STRAIGHT), 200)
    tile = mercantile.tile(lon, lat, 16)
    url = f"/tiles/lighting_gaps/{tile.z}/{tile.x}/{tile.y}.pbf"
    response = client.get(url)
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.content)["lighting_gaps"]
    end_gap = LightingGap.objects.get(road=road, kind="missing", start_m__lte=200, end_m__gte=200)
    assert end_gap.pk in {f["id"] for f in layer["features"]}
    props = next(f["properties"] for f in layer["features"] if f["id"] == end_gap.pk)
    assert props["kind"] == "missing" and props["road_id"] == road.pk
    poles = mapbox_vector_tile.decode(client.get(f"/tiles/proposed_pju/{tile.z}/{tile.x}/{tile.y}.pbf").content)
    in_tile = [p for p in ProposedPJU.objects.filter(road=road) if mercantile.tile(p.geom.x, p.geom.y, 16) == tile]
    assert len(poles["proposed_pju"]["features"]) >= len(in_tile) > 0
    etag = response["ETag"]
    lighting_needs_compute(road_ids=[road.pk])
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200  # a run is a write: new ETag
    assert client.get("/tiles/work_orders.json").status_code == 401  # work orders are never public (SPEC §4, issue 12)
    client.force_login(get_user_model().objects.create_user("analis-peta"))
    assert client.get("/tiles/work_orders.json").json()["name"] == "work_orders"


def test_openapi_schema_lists_the_needs_and_work_order_paths(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in ("/api/needs/lighting-gaps/", "/api/needs/proposed-pju/", "/api/needs/broken-pju/",
                 "/api/needs/damaged-roads/", "/api/needs/summary/", "/api/needs/export/", "/api/work-orders/",
                 "/api/work-orders/{id}/close/"):
        assert path in paths, path
    ids = [op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))
    # a full recomputation is a background job (202), a short roads list is answered at once (200)
    assert {"200", "202", "400", "401", "403"} <= set(paths["/api/needs/compute/"]["post"]["responses"])


def test_deleting_a_road_through_the_api_removes_its_needs(town, django_capture_on_commit_callbacks):
    planner = client_for(user_in("planner"))
    road = town["curved"]
    assert LightingGap.objects.filter(road=road).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert planner.delete(f"/api/roads/{road.pk}/").status_code == 204
    assert not LightingGap.objects.filter(road=road).exists()
    assert not ProposedPJU.objects.filter(road=road).exists()
    assert LightingGap.objects.filter(road=town["straight"]).exists()


def test_a_school_within_300_m_raises_the_priority_by_30(town):
    from needs.models import Facility

    end = {"road": town["straight"], "kind": "missing", "end_m__gt": 200}  # 147.5–L
    gap = LightingGap.objects.filter(**end).get()
    base = gap.priority
    # local 24 + min(length/10, 30)
    assert base == pytest.approx(24 + min(gap.length_m / 10, 30), abs=1e-9)
    sc = road_coords(JAKARTA_STRAIGHT)
    Facility.objects.create(kind="school", name="SDN 1", geom=Point(*point_at(sc, 250, 290, "left"), srid=4326))
    lighting_needs_compute(road_ids=[town["straight"].pk])
    gap = LightingGap.objects.filter(**end).get()
    assert gap.priority == pytest.approx(base + 30, abs=1e-9)
    start = LightingGap.objects.filter(road=town["straight"], kind="missing", start_m=0).get()  # 0–2.5 m: the school is > 300 m away
    assert start.priority == pytest.approx(24 + start.length_m / 10, abs=1e-9)
    assert {p.priority for p in ProposedPJU.objects.filter(gap=gap)} == {gap.priority}


def test_work_order_tiles_show_the_orders_with_their_status(town, client):
    planner = client_for(user_in("planner"))
    lamp = town["lamps"]["s130"]
    order = planner.post("/api/work-orders/", {"kind": "broken_pju", "target": lamp.pk}, format="json").json()
    tile = mercantile.tile(lamp.geom.x, lamp.geom.y, 15)
    assert client.get(f"/tiles/work_orders/{tile.z}/{tile.x}/{tile.y}.pbf").status_code == 401  # never public (issue 12)
    decoded = mapbox_vector_tile.decode(planner.get(f"/tiles/work_orders/{tile.z}/{tile.x}/{tile.y}.pbf").content)
    features = decoded["work_orders"]["features"]
    assert [(f["id"], f["properties"]["status"], f["properties"]["kind"]) for f in features] == [(order["id"], "open", "broken_pju")]


def test_needs_follow_public_read(town, client, settings):
    settings.PUBLIC_READ = False
    for url in ("/api/needs/lighting-gaps/", "/api/needs/broken-pju/", "/api/needs/summary/"):
        assert client.get(url).status_code in (401, 403), url
    assert client.get("/tiles/lighting_gaps/0/0/0.pbf").status_code == 401
    analyst = client_for(user_in("analyst"))
    assert analyst.get("/api/needs/lighting-gaps/").status_code == 200
    assert analyst.get("/tiles/lighting_gaps/0/0/0.pbf").status_code == 200


def test_admin_pages_of_the_needs_models_render(town, client):
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", "root@example.org", "pw")
    client.login(username="root", password="pw")
    gap = LightingGap.objects.first()
    for url in ("/admin/needs/lightinggap/", f"/admin/needs/lightinggap/{gap.pk}/change/", "/admin/needs/proposedpju/",
                "/admin/needs/workorder/", "/admin/needs/workorder/add/", "/admin/needs/facility/add/", "/admin/needs/needsrun/"):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(("/change/", "/add/")):  # map widget served locally (geo_platform.widgets)
            assert b"vendor/ol/ol.js" in response.content and b"jsdelivr" not in response.content  # no CDN


def test_need_layers_export_like_the_layers(town, client, tmp_path):
    import pyogrio

    client.force_login(get_user_model().objects.create_user("analis-ekspor"))  # exports need login (SPEC §4)
    response = client.get(f"/api/needs/proposed-pju/?format=gpkg&road={town['curved'].pk}")
    assert response.status_code == 200
    path = tmp_path / "poles.gpkg"
    path.write_bytes(response.getvalue())
    df = pyogrio.read_dataframe(path)
    poles = {p.pk: p for p in ProposedPJU.objects.filter(road=town["curved"])}
    assert len(df) == len(poles) > 0
    for pid, chainage, geom in zip(df["id"], df["chainage_m"], df.geometry):
        assert chainage == pytest.approx(poles[pid].chainage_m)
        assert (geom.x, geom.y) == pytest.approx((poles[pid].geom.x, poles[pid].geom.y), abs=1e-7)
    page = get_json(client, "/api/needs/proposed-pju/?limit=2&offset=2")
    assert page["previous"] and "offset=0" in page["previous"] and len(page["features"]) == 2
