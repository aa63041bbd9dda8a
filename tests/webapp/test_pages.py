"""Issue 19 — pages for planners and officers, as user flows in Debian's
chromium: the home page (figures equal to the summary API's, charts, every
link), the command centre updating live, the planner map opening on the
city with its "where first?" panel, work orders from a need's popup, an
estimate at a typed width, the language switch keeping the view, popups and
styles, tap targets on a phone, and an axe-core run on every page. Each page
is photographed into test-output/. Expected numbers come from the fixture's
own geometry (pyproj) or hand counts, never from the code under test."""
from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
from playwright.sync_api import expect
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import LineString, Point
from django.test import Client

from geo_platform.srid import STORAGE_SRID
from layers.models import RoadSegment, StreetLight
from tests.webapp.conftest import PHONE, PageLog, close_context, login_cookie, png_bytes
from tests.webapp.test_planner_map import GEOD, city, click_at, go_to, offset  # noqa: F401 (the city fixture)

pytestmark = pytest.mark.django_db(transaction=True)
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# The fixture city (test_planner_map.city): 6 streets × 34 PJU (every 30 m over 1000 m), statuses cycling
# working, working, working, off, damaged, unknown → hand count below.
PJU_TOTAL = 6 * 34


def fixture_status_counts() -> dict[str, int]:
    statuses = ["working", "working", "working", "off", "damaged", "unknown"]
    counts: dict[str, int] = {}
    for i in range(6):
        for k in range(0, 1000, 30):
            s = statuses[(k // 30 + i) % 6]
            counts[s] = counts.get(s, 0) + 1
    return counts


@pytest.fixture
def needs_computed(city):
    """The city as an import leaves it: assets assigned to their kecamatan, needs computed."""
    from layers.importers.postgis import assign_areas
    from needs import services

    for model in (StreetLight, RoadSegment):
        assign_areas(model, list(model.objects.values_list("id", flat=True)))
    services.lighting_needs_compute()
    return city


@pytest.fixture
def planner(transactional_db):
    from layers.permissions import ensure_groups

    ensure_groups()
    user = User.objects.create_user("perencana1", password="rahasia-123", first_name="Rina", last_name="Perencana")
    user.groups.add(Group.objects.get(name="planner"))
    return user


@pytest.fixture
def officer2(transactional_db):
    from layers.permissions import ensure_groups

    ensure_groups()
    user = User.objects.create_user("petugas2", password="rahasia-123", first_name="Budi", last_name="Lapangan")
    user.groups.add(Group.objects.get(name="field_officer"))
    return user


def open_page(browser, live_server, path, *, user=None, locale="id-ID", viewport=None, **kwargs):
    # bypass_csp: Playwright's string predicates and axe-core's injection are eval/inline scripts, which the
    # platform's CSP forbids; the pages under the real CSP: test_home_and_dashboard_run_under_the_csp.
    context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900}, locale=locale, accept_downloads=True,
                                  bypass_csp=True, **kwargs)
    if user is not None:
        context.add_cookies([login_cookie(live_server, user)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + path)
    return context, page, log


def open_map(browser, live_server, *, user=None, path="/map/", **kwargs):
    context, page, log = open_page(browser, live_server, path, user=user, **kwargs)
    page.wait_for_function("window.GP && GP.ready === true && document.body.dataset.needsPanel === 'ready'", timeout=30000)
    return context, page, log


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in result if v["impact"] in ("serious", "critical")]


# ------------------------------------------------------------------ home page

def test_home_page_shows_the_summary_figures_four_charts_and_working_links(browser, live_server, needs_computed, planner, output_dir):
    api = Client()
    summary = api.get("/api/needs/summary/").json()
    assert summary["totals"]["pju_count"] == PJU_TOTAL  # hand count of the fixture
    context, page, log = open_page(browser, live_server, "/", user=planner)
    assert page.evaluate("document.contentType") == "text/html"
    assert page.evaluate("document.documentElement.lang") == "id"
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=30000)

    shown = page.eval_on_selector_all(".figure", "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.value]))")
    for key in ("pju_count", "working_pct", "broken_pju", "underlit_km", "proposed_pju", "damaged_km", "kemantapan_pct", "estimated_cost"):
        expected = summary["totals"][key]
        assert shown[key] != "" or expected is None, key
        if expected is not None:
            assert float(shown[key]) == pytest.approx(float(expected)), key
    counts = fixture_status_counts()
    assert int(shown["broken_pju"]) == counts["off"] + counts["damaged"]
    assert "Angka utama" in page.inner_text("main")  # Bahasa Indonesia by default

    charts = page.evaluate("Object.values(Chart.instances).map(c => ({type: c.config.type, n: c.data.datasets.reduce((s, d) => s + d.data.length, 0), w: c.width}))")
    assert len(charts) >= 4 and all(c["n"] > 0 and c["w"] > 100 for c in charts), charts
    # the PJU-by-status chart adds up to the fixture's count
    total = page.evaluate("Chart.getChart(document.querySelector('[data-chart=pju_status] canvas')).data.datasets.flatMap(d => d.data).reduce((a, b) => a + b, 0)")
    assert total == PJU_TOTAL
    page.screenshot(path=str(output_dir / "pages_home.png"), full_page=True)

    # Every link on the page answers (the public report form /lapor/ is linked only where installed).
    hrefs = sorted(set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")))
    ways = page.eval_on_selector_all(".way", "els => els.map(e => e.dataset.way)")
    assert {"map", "field", "dashboard", "api-docs", "admin"} <= set(ways)
    for href in hrefs:
        if href.startswith(live_server.url) and not urlsplit(href).fragment:  # (the skip link is a fragment)
            response = page.request.get(href)
            assert response.status < 400, (href, response.status)
    assert log.foreign_hosts() == set() and log.errors == []

    # The English switch.
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert page.evaluate("document.documentElement.lang") == "en" and "Key figures" in page.inner_text("main")
    assert log.errors == []
    close_context(context)


def test_report_form_is_linked_when_installed(client, city):
    from django.urls import Resolver404, resolve

    html = client.get("/").content.decode()
    try:
        resolve("/lapor/")
        installed = True
    except Resolver404:
        installed = False
    assert ('href="/lapor/"' in html) == installed


# ------------------------------------------------------------------ dashboard

def test_dashboard_updates_a_figure_within_two_seconds_of_an_api_change(browser, live_server, needs_computed, planner, settings, output_dir):
    settings.DASHBOARD_POLL_MS = 500  # the default is 1 s; 0.5 s keeps the 2 s promise on a loaded CI machine
    counts = fixture_status_counts()
    broken = counts["off"] + counts["damaged"]
    context, page, log = open_page(browser, live_server, "/dashboard/", user=planner)
    page.wait_for_function("Number(document.body.dataset.refreshed || 0) >= 1", timeout=30000)
    figure = "document.querySelector('[data-figure=broken_pju]').dataset.value"
    assert page.evaluate(figure) == str(broken)

    light = StreetLight.objects.filter(status="working").order_by("id").first()
    api = Client()
    api.force_login(planner)
    answer = api.patch(f"/api/pju/{light.pk}/", {"properties": {"status": "damaged", "version": light.version}}, content_type="application/json")
    assert answer.status_code == 200
    # The figure follows within 2 s (the wait's timeout is the requirement).
    page.wait_for_function(f"{figure} === '{broken + 1}'", timeout=2000)
    page.wait_for_function("document.querySelector('#ticker li') !== null")
    assert str(broken + 1) in page.inner_text("#ticker")
    # Hours on a wall: refreshes update the charts in place and the ticker stays bounded.
    charts = page.evaluate("Object.keys(Chart.instances).length")
    for status in ("off", "working") * 16:  # 32 changes: more than the ticker's 30 lines
        light.refresh_from_db()
        api.patch(f"/api/pju/{light.pk}/", {"properties": {"status": status, "version": light.version}}, content_type="application/json")
        page.evaluate("GPDashboard.refresh()")
    page.wait_for_function(f"{figure} === '{broken}'", timeout=5000)
    assert page.evaluate("Object.keys(Chart.instances).length") == charts
    assert page.evaluate("document.querySelectorAll('#ticker li').length") == 30  # full, and no longer
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(output_dir / "pages_dashboard.png"))
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


# ------------------------------------------------------------------ planner map

def test_map_opens_on_the_city_with_the_densest_pju_not_the_union_of_all_data(browser, live_server, city, output_dir):
    # A few PJU far away (Porto) must not pull the first view out to the whole world.
    StreetLight.objects.bulk_create([StreetLight(code=f"PT-{i}", status="working", geom=Point(-8.61 + i * 0.001, 41.15, srid=STORAGE_SRID)) for i in range(5)])
    context, page, log = open_map(browser, live_server)
    zoom = page.evaluate("gpMap.getZoom()")
    assert zoom >= 10
    centre = page.evaluate("gpMap.getCenter()")
    lon, lat = offset(500, 400)
    assert GEOD.inv(centre["lng"], centre["lat"], lon, lat)[2] < 2000  # on the fixture city
    assert page.evaluate("location.hash").count("/") == 2  # the shareable #zoom/lat/lon
    page.click(".gp-zoom-data")
    page.wait_for_function("gpMap.getZoom() < 8")  # Jakarta and Porto together
    page.click(".gp-zoom-city")
    page.wait_for_function("gpMap.getZoom() >= 10")
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_city_home_setting_bbox_or_area_code(client, city, settings):
    from webapp.selectors import city_home

    settings.CITY_HOME = "106.80,-6.20,106.85,-6.15"
    html = client.get("/map/").content.decode()
    assert "[106.8, -6.2, 106.85, -6.15]" in html
    ring = city["ring"]
    bbox = city_home("31.71.99")
    assert bbox == pytest.approx([min(p[0] for p in ring), min(p[1] for p in ring), max(p[0] for p in ring), max(p[1] for p in ring)])
    from webapp.selectors import CityHomeError

    with pytest.raises(CityHomeError):
        city_home("no-such-area")


def test_needs_panel_ranks_sorts_zooms_shades_and_exports(browser, live_server, needs_computed, planner, output_dir):
    from layers.models import Area

    context, page, log = open_map(browser, live_server, user=planner)
    rows = page.eval_on_selector_all(".gp-needs tbody tr", "els => els.map(e => e.dataset.code)")
    assert rows == list(Area.objects.filter(level="kecamatan").values_list("code", flat=True))
    counts = fixture_status_counts()
    assert page.inner_text(".gp-needs tbody tr td[data-key=broken_pju]") == str(counts["off"] + counts["damaged"])
    # sortable: a second click on a header turns the order around
    page.click(".gp-needs .gp-sort[data-key=underlit_km]")
    assert page.get_attribute(".gp-needs th[data-key=underlit_km]", "aria-sort") == "descending"
    page.click(".gp-needs .gp-sort[data-key=underlit_km]")
    assert page.get_attribute(".gp-needs th[data-key=underlit_km]", "aria-sort") == "ascending"
    # click to zoom
    page.evaluate("gpMap.setView([0, 0], 3, {animate: false})")
    page.click(".gp-needs tbody tr .gp-kec")
    ring = [[lat, lon] for lon, lat in needs_computed["ring"]]
    page.wait_for_function("ring => gpMap.getBounds().contains(L.latLngBounds(ring)) && gpMap.getZoom() >= 14", arg=ring, timeout=10000)
    # choropleth
    page.select_option(".gp-shade", "broken_pju")
    page.wait_for_function("GP.choropleth && gpMap.hasLayer(GP.choropleth) && !GP.choropleth.isLoading()", timeout=20000)
    assert page.locator(".gp-choro-legend i").count() == 5
    # Musrenbang export for the kecamatan: an XLSX
    href = page.get_attribute(".gp-needs tbody tr a[href*='export']", "href")
    response = page.request.get(live_server.url + href)
    assert response.status == 200 and response.body()[:2] == b"PK"
    page.screenshot(path=str(output_dir / "pages_map_needs_panel.png"))
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_area_popup_carries_the_areas_summary(browser, live_server, needs_computed):
    context, page, log = open_map(browser, live_server)
    lon, lat = offset(1050, 850)  # inside the kecamatan, away from streets and poles
    go_to(page, lon, lat, 16, layer="areas")
    page.evaluate("gpMap.removeLayer(GP.layers.roads); gpMap.removeLayer(GP.layers.pju)")
    click_at(page, lon, lat)
    page.locator(".gp-popup .gp-area-summary").wait_for()
    text = page.inner_text(".gp-popup")
    assert "Kecamatan Uji" in text and str(PJU_TOTAL) in text
    assert "31.71.99" in text and "source" not in text.lower()
    assert log.errors == []
    close_context(context)


def test_work_order_created_from_a_need_popup_with_an_officer(browser, live_server, needs_computed, planner, officer2, output_dir):
    from needs.models import WorkOrder

    light = StreetLight.objects.filter(status="damaged").order_by("code").first()
    context, page, log = open_map(browser, live_server, user=planner, path="/map/?layers=areas,roads,broken_pju")
    go_to(page, light.geom.x, light.geom.y, 18, layer="broken_pju")
    click_at(page, light.geom.x, light.geom.y)
    popup = page.locator(".gp-popup[data-layer=broken_pju]")
    popup.wait_for()
    page.wait_for_function("document.querySelectorAll('.gp-wo-form select option').length >= 2")
    assert "Buat perintah kerja" in popup.inner_text()
    options = page.eval_on_selector_all(".gp-wo-form select option", "els => els.map(e => e.textContent)")
    assert any("Budi Lapangan" in o for o in options), options
    page.select_option(".gp-wo-form select", "petugas2")
    page.click(".gp-create-wo")
    page.locator(".gp-wo-result.gp-ok").wait_for()
    order = WorkOrder.objects.get()
    assert order.kind == "broken_pju" and order.pju_id == light.pk
    assert order.assigned_to == officer2 and order.status == "assigned" and order.created_by == planner
    assert "Ditugaskan" in page.inner_text(".gp-wo-result")
    page.screenshot(path=str(output_dir / "pages_map_work_order.png"))

    # The work order is drawn above the PJU and opens a readable popup.
    page.evaluate("gpMap.addLayer(GP.layers.work_orders); GP.refreshLayer('work_orders')")
    page.wait_for_function("!GP.layers.work_orders.isLoading()", timeout=20000)
    page.evaluate("gpMap.closePopup()")
    click_at(page, light.geom.x, light.geom.y)
    page.locator(".gp-popup[data-layer=work_orders]").wait_for()
    page.wait_for_function("document.querySelector('.gp-popup[data-layer=work_orders]').innerText.includes('petugas2')")
    text = page.inner_text(".gp-popup[data-layer=work_orders]")
    assert "Ditugaskan" in text and "assigned" not in text and "Perbaikan PJU mati/rusak" in text
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_selected_road_is_estimated_at_the_typed_width_shown_in_the_xlsx(browser, live_server, city, planner, output_dir):
    gang = RoadSegment.objects.get(name="Gang Uji 2")
    (x0, y0), (x1, y1) = gang.geom.coords
    length = GEOD.inv(x0, y0, x1, y1)[2]
    context, page, log = open_map(browser, live_server, user=planner)  # exports need login (issue 12)
    lon, lat = offset(250, 80)
    go_to(page, lon, lat, 18, layer="roads")
    click_at(page, lon, lat)
    page.locator(".gp-popup", has_text="Gang Uji 2").wait_for()
    page.locator(".gp-popup .gp-select-road").click()
    page.locator(".gp-est-result .gp-total").wait_for()
    assert page.is_visible(".gp-width input"), "the width field is shown for selected roads"
    # named, not numbered: the name arrives with the road's feature, which may land after the first estimate
    expect(page.locator(".gp-selected")).to_have_text("Gang Uji 2", timeout=30_000)
    page.wait_for_function("GP.selection.getLayers().length >= 1")  # highlighted, in the pane above every layer
    assert page.evaluate("GP.selection.getLayers()[0].getLayers()[0].options.pane") == "gp-selection"
    with page.expect_response(lambda r: r.url.endswith("/api/estimates/") and r.request.method == "POST") as answer:
        page.fill(".gp-width input", "6.5")
        page.press(".gp-width input", "Enter")
        page.dispatch_event(".gp-width input", "change")
    sent = json.loads(answer.value.request.post_data)
    estimate = answer.value.json()
    assert sent["road_ids"] == [gang.pk] and sent["width_m"] == 6.5
    assert estimate["area_m2"] == pytest.approx(length * 6.5, rel=2e-3)
    page.wait_for_function("document.querySelector('.gp-est-width') && document.querySelector('.gp-est-width').innerText.startsWith('6,5')")
    with page.expect_download() as download_info:
        page.click(".gp-est-result .gp-xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    values = [c.value for ws in workbook for row in ws.iter_rows() for c in row]
    # the workbook's assumptions state each piece's "length × width" (Indonesian numbers: 6,50) or the number itself
    assert 6.5 in values or any(isinstance(v, str) and ("× 6,50" in v or "× 6.50" in v) for v in values), "the typed width is in the RAB"
    page.screenshot(path=str(output_dir / "pages_map_estimate_width.png"))
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_all_segments_of_a_road_from_search(browser, live_server, city):
    parts = [RoadSegment.objects.create(name="Jalan Panjang Uji", road_class="local", condition="fair",
                                        geom=LineString(offset(i * 100, 950), offset(i * 100 + 100, 950), srid=STORAGE_SRID)) for i in range(4)]
    length = sum(GEOD.inv(*p.geom.coords[0], *p.geom.coords[1])[2] for p in parts)
    context, page, log = open_map(browser, live_server)
    page.fill(".gp-search input", "Panjang")
    page.press(".gp-search input", "Enter")
    with page.expect_response(lambda r: r.url.endswith("/api/estimates/") and r.request.method == "POST") as answer:
        page.locator(".gp-results .gp-add-all").click()
    assert sorted(json.loads(answer.value.request.post_data)["road_ids"]) == sorted(p.pk for p in parts)
    assert answer.value.json()["length_m"] == pytest.approx(length, rel=2e-3)
    page.wait_for_function("document.querySelector('.gp-selected').innerText.includes('Jalan Panjang Uji')")
    assert page.evaluate("GP.searchMarkers.getLayers().every(m => !m.options.interactive)")  # never swallow a click
    assert log.errors == []
    close_context(context)


def test_language_switch_keeps_the_view_and_the_layers(browser, live_server, city):
    lon, lat = offset(500, 400)
    context, page, log = open_map(browser, live_server, path=f"/map/#16/{lat:.5f}/{lon:.5f}")
    page.locator(".gp-layer-control label", has_text="PJU mati/rusak").locator("input").check()
    page.locator(".gp-layer-control label", has_text="PJU menurut status").locator("input").uncheck()
    before = page.evaluate("({z: gpMap.getZoom(), c: gpMap.getCenter()})")
    with page.expect_navigation():
        page.select_option(".gp-lang select", "en")
    page.wait_for_function("window.GP && GP.ready === true")
    assert page.evaluate("document.documentElement.lang") == "en"
    after = page.evaluate("({z: gpMap.getZoom(), c: gpMap.getCenter()})")
    assert after["z"] == before["z"] == 16
    assert GEOD.inv(after["c"]["lng"], after["c"]["lat"], before["c"]["lng"], before["c"]["lat"])[2] < 1.0
    assert page.evaluate("gpMap.hasLayer(GP.layers.broken_pju)") is True
    assert page.evaluate("gpMap.hasLayer(GP.layers.pju)") is False
    assert "Legend" in page.inner_text(".gp-legend")
    assert log.errors == []
    close_context(context)


def test_popups_are_translated_named_and_hide_internal_fields(browser, live_server, needs_computed):
    from layers.models import Area
    from needs.models import ProposedPJU

    light = StreetLight.objects.get(code="PJU-2-0300")
    StreetLight.objects.filter(pk=light.pk).update(power_source="PLN", legal=True, source_id="osm-123")
    context, page, log = open_map(browser, live_server)
    go_to(page, light.geom.x, light.geom.y, 18)
    click_at(page, light.geom.x, light.geom.y)
    page.wait_for_function("document.querySelector('.gp-popup') && document.querySelector('.gp-popup').innerText.includes('Kecamatan')")
    text = page.inner_text(".gp-popup")
    for hidden in ("power_source", "status_origin", "source", "osm-123", "true", "PLN"):
        assert hidden not in text, hidden
    assert "Ya" in text  # legal connection: yes
    assert Area.objects.get(code="31.71.99").name in text and "31.71.99" not in text  # a name, not a code
    page.evaluate("gpMap.closePopup()")

    pole = ProposedPJU.objects.order_by("id").first()
    road = RoadSegment.objects.get(pk=pole.road_id)
    page.evaluate("gpMap.addLayer(GP.layers.proposed_pju); gpMap.removeLayer(GP.layers.pju)")
    go_to(page, pole.geom.x, pole.geom.y, 18, layer="proposed_pju")
    click_at(page, pole.geom.x, pole.geom.y)
    page.locator(".gp-popup[data-layer=proposed_pju]").wait_for()
    page.wait_for_function("name => document.querySelector('.gp-popup').innerText.includes(name)", arg=road.name)
    text = page.inner_text(".gp-popup")
    assert {"left": "Kiri", "right": "Kanan"}[pole.side] in text and "Sisi left" not in text and "Sisi right" not in text
    assert f"Jalan {road.pk}" not in text
    assert log.errors == []
    close_context(context)


def test_styles_are_distinct_and_match_the_legend(browser, live_server, city):
    from webapp.labels import CONDITION_COLOURS, GAP_COLOURS, STATUS_COLOURS

    context, page, log = open_map(browser, live_server)
    gap = page.evaluate("GP.styles.gap({}, 15).color")
    assert gap == GAP_COLOURS["default"] and gap not in CONDITION_COLOURS.values()  # never the light-damage orange
    legend_gap = page.evaluate("getComputedStyle(document.querySelector('.gp-legend .gp-line-gap')).getPropertyValue('--gap').trim()")
    assert legend_gap == gap
    swatch = page.evaluate("""(() => { const l = Array.from(document.querySelectorAll('.gp-layer-control label'))
        .find(e => e.innerText.includes('PJU mati/rusak')); return getComputedStyle(l.querySelector('.gp-swatch')).color; })()""")
    assert swatch == "rgb(215, 25, 28)" and STATUS_COLOURS["damaged"] == "#d7191c"  # red, not green
    z = page.evaluate("Object.fromEntries(Object.keys(GP.layers).map(n => [n, Number(gpMap.getPane('gp-' + n).style.zIndex)]))")
    assert z["broken_pju"] > z["proposed_pju"] and z["work_orders"] > z["pju"] > z["proposed_pju"] > z["lighting_gaps"] > z["roads"] > z["areas"]
    assert log.errors == []
    close_context(context)


def test_tap_targets_are_at_least_44_px_on_a_phone(browser, live_server, city, officer, output_dir):
    context = browser.new_context(**PHONE, locale="id-ID", permissions=["geolocation"], bypass_csp=True,
                                  geolocation={"longitude": offset(500, 400)[0], "latitude": offset(500, 400)[1], "accuracy": 5})
    context.add_cookies([login_cookie(live_server, officer)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + "/map/")
    page.wait_for_function("window.GP && GP.ready === true")
    for selector in (".gp-lang select", ".leaflet-control-zoom-in", ".leaflet-control-zoom-out", ".gp-zoom-data", ".gp-needs-toggle"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
    page.screenshot(path=str(output_dir / "pages_map_phone.png"))
    page.goto(live_server.url + "/field/")
    page.wait_for_function("document.getElementById('fix').dataset.accuracy !== ''")
    for selector in ("#sync", ".lang select", ".leaflet-control-zoom-in", "#btn-new-pju", ".tabs button"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
    # Saving the area without imagery says so (not "saved (0)"), in a toast that leaves the footer readable.
    page.click("#save-area")
    page.wait_for_selector("#toast:not([hidden])")
    assert page.inner_text("#toast") == "Data sekitar disimpan untuk luring (tidak ada citra untuk area ini)"
    toast, footer = page.locator("#toast").bounding_box(), page.locator("footer.bottom").bounding_box()
    assert toast["y"] + toast["height"] <= footer["y"] or toast["y"] >= footer["y"] + footer["height"]
    page.screenshot(path=str(output_dir / "pages_field_phone.png"))
    page.goto(live_server.url + "/")
    page.wait_for_function("document.body.dataset.ready === '1'")
    for selector in ("#lang-select", "header.site nav a", ".way"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44, (selector, box)
    page.screenshot(path=str(output_dir / "pages_home_phone.png"), full_page=True)
    assert log.foreign_hosts() == set()
    close_context(context)


def test_new_pju_gets_a_generated_code(city, planner):
    api = Client()
    api.force_login(planner)
    lon, lat = offset(515, 250)
    answer = api.post("/api/pju/", {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                   "properties": {"status": "working"}}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    pk = answer.json()["id"]
    assert StreetLight.objects.get(pk=pk).code == f"PJU-31.71.99-{pk:06d}"  # inside Kecamatan Uji (31.71.99)


def test_officers_list_is_for_planners_only(client, planner, officer2):
    assert client.get("/map/officers/").status_code == 401  # anonymous: one policy, 401 on every door
    assert client.get("/map/officers/").json()["detail"]
    client.force_login(planner)
    assert client.get("/map/officers/").json()["officers"] == [{"id": officer2.pk, "username": "petugas2", "name": "Budi Lapangan"}]


# ------------------------------------------------------------------ accessibility, every page

@pytest.mark.parametrize("path", ["/", "/dashboard/", "/map/", "/field/"])
def test_axe_finds_no_serious_violations(browser, live_server, needs_computed, planner, officer, path, output_dir):
    user = officer if path == "/field/" else planner
    kwargs = {"permissions": ["geolocation"], "geolocation": {"longitude": offset(500, 400)[0], "latitude": offset(500, 400)[1], "accuracy": 5}}
    context, page, log = open_page(browser, live_server, path, user=user, **kwargs)
    ready = {"/": "document.body.dataset.ready === '1'", "/dashboard/": "Number(document.body.dataset.refreshed || 0) >= 1",
             "/map/": "window.GP && GP.ready && document.body.dataset.needsPanel === 'ready'",
             "/field/": "document.body.dataset.nearby === 'loaded'"}[path]
    page.wait_for_function(ready, timeout=30000)
    page.wait_for_load_state("networkidle")
    name = path.strip("/") or "home"
    page.screenshot(path=str(output_dir / f"pages_axe_{name}.png"))
    violations = serious_violations(page)
    assert violations == [], violations
    assert log.foreign_hosts() == set()
    assert [e for e in log.errors if "service worker" not in e.lower()] == []
    close_context(context)


# ------------------------------------------------------------------ field app flows

def field_phone(browser, live_server, user, where):
    context = browser.new_context(**PHONE, locale="id-ID", permissions=["geolocation"], bypass_csp=True,
                                  geolocation={"longitude": where[0], "latitude": where[1], "accuracy": 4})
    context.add_cookies([login_cookie(live_server, user)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + "/field/")
    page.wait_for_function("document.getElementById('fix').dataset.accuracy !== ''")
    page.wait_for_selector("body[data-nearby='loaded']", state="attached")
    return context, page, log


def move_phone(page, context, where):
    context.set_geolocation({"longitude": where[0], "latitude": where[1], "accuracy": 4})
    page.wait_for_function(f"document.getElementById('fix').textContent.includes('{where[1]:.6f}')")


def submit_close(page, order_pk):
    page.click(".tabs button[data-tab=orders]")
    page.click(f"#orders li[data-id='{order_pk}'] .btn-close-wo")
    page.wait_for_selector("#form-dialog[open]")
    page.set_input_files("#record-form input[name=photo]", files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.click("#form-save")


def test_field_close_too_far_is_refused_before_queuing_then_closed_nearby(browser, live_server, officer, city):
    from needs.models import WorkOrder

    light = StreetLight.objects.get(code="PJU-2-0300")
    order = WorkOrder.objects.create(kind="broken_pju", status="assigned", title="Perbaiki PJU-2-0300", pju=light, assigned_to=officer, geom=light.geom)
    far = GEOD.fwd(light.geom.x, light.geom.y, 0, 162)[:2]  # 162 m north of the pole (pyproj)
    context, page, log = field_phone(browser, live_server, officer, far)
    submit_close(page, order.pk)
    page.wait_for_selector("#form-error:not([hidden])")
    error = page.inner_text("#form-error")
    assert "Anda berada" in error and "dalam 50 m" in error  # translated, before anything is queued
    shown = int(error.split("Anda berada ")[1].split(" m")[0])
    assert abs(shown - 162) <= 2  # the phone measures on a sphere (Leaflet), pyproj on the ellipsoid: < 0.5 % apart
    assert page.evaluate("GPQueue.all().then(rows => rows.length)") == 0
    page.click("#form-cancel")

    near = GEOD.fwd(light.geom.x, light.geom.y, 90, 6)[:2]
    move_phone(page, context, near)
    submit_close(page, order.pk)
    page.wait_for_selector("#form-dialog:not([open])", state="attached")
    page.wait_for_selector("#pending[data-count='0']", timeout=20000)
    order.refresh_from_db()
    assert order.status == "done" and order.closing_distance_m == pytest.approx(6, abs=0.5)
    # The order list is refreshed after the sync: the closed order is gone without a reload.
    page.wait_for_selector(f"#orders li[data-id='{order.pk}']", state="detached", timeout=10000)
    assert log.foreign_hosts() == set()
    close_context(context)


def test_field_server_refusal_is_translated_retried_with_a_fresh_fix_and_superseded(browser, live_server, officer):
    from needs.models import WorkOrder

    origin = (106.8200, -6.1800)
    a, b = GEOD.fwd(*origin, 90, 0)[:2], GEOD.fwd(*origin, 90, 200)[:2]
    road = RoadSegment.objects.create(name="Jalan Uji Rusak", road_class="local", condition="heavy_damage", geom=LineString(a, b, srid=STORAGE_SRID))
    mid = Point(*GEOD.fwd(*origin, 90, 100)[:2], srid=STORAGE_SRID)
    first = WorkOrder.objects.create(kind="damaged_road", status="in_progress", title="Tambal Jalan Uji Rusak", road=road, assigned_to=officer, geom=mid)
    far = GEOD.fwd(mid.x, mid.y, 0, 120)[:2]  # 120 m off the road (the server measures to the line)
    context, page, log = field_phone(browser, live_server, officer, far)
    submit_close(page, first.pk)
    page.wait_for_selector("#form-dialog:not([open])", state="attached")
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_selector("#queue li.record[data-state='failed']", timeout=20000)
    text = page.inner_text("#queue li.record[data-state='failed']")
    assert "Server menolak catatan ini" in text and "Posisi terlalu jauh dari aset" in text
    assert "closing needs" not in text  # the server's English stays out of the Indonesian screen

    # Retry after walking to the road: sent with a fresh fix, not the stored one.
    near = GEOD.fwd(mid.x, mid.y, 0, 8)[:2]
    move_phone(page, context, near)
    page.click("#queue li.record[data-state='failed'] .retry")
    # The retry asks for a fresh fix (maximumAge 0); the emulated GPS answers it with its next position
    # (without one the app falls back, after its 15 s timeout, to the watched fix taken after the failure).
    context.set_geolocation({"longitude": near[0], "latitude": near[1], "accuracy": 4})
    page.wait_for_selector("#queue li.record[data-state='sent']", timeout=20000)
    first.refresh_from_db()
    assert first.status == "done" and first.closing_distance_m == pytest.approx(8, abs=0.5)

    # A failure made moot by a later success for the same order is cleared.
    second = WorkOrder.objects.create(kind="damaged_road", status="in_progress", title="Tambal lagi", road=road, assigned_to=officer, geom=mid)
    page.evaluate("GPField.state.lastFetchAt = null")  # the next fix fetches the officer's orders again
    move_phone(page, context, far)
    submit_close(page, second.pk)
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_selector("#queue li.record[data-state='failed']", timeout=20000)
    move_phone(page, context, near)
    submit_close(page, second.pk)
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_function("document.querySelectorAll('#queue li.record[data-state=failed]').length === 0", timeout=20000)
    second.refresh_from_db()
    assert second.status == "done"
    assert log.foreign_hosts() == set()
    close_context(context)


def test_field_road_damage_confirms_the_road_by_name_and_distance(browser, live_server, officer):
    origin = (106.8300, -6.1900)
    RoadSegment.objects.create(name="", road_class="path", condition="good",
                               geom=LineString(GEOD.fwd(*origin, 0, 57)[:2], GEOD.fwd(*GEOD.fwd(*origin, 0, 57)[:2], 90, 80)[:2], srid=STORAGE_SRID))
    context, page, log = field_phone(browser, live_server, officer, origin)
    page.wait_for_selector("#nearby li.item-road", state="attached")
    page.click("#btn-road-damage")
    page.wait_for_selector("#form-dialog[open]")
    subtitle = page.inner_text("#form-subtitle")
    assert "Jalan tanpa nama" in subtitle and "57 m" in subtitle and "Benarkah ruas ini?" in subtitle
    page.click("#form-cancel")
    assert log.errors == []
    close_context(context)


WAIT_FOR = """sel => new Promise(resolve => {
  const start = Date.now();
  (function poll() {
    if (document.querySelector(sel)) resolve(true);
    else if (Date.now() - start > 30000) resolve(false);
    else setTimeout(poll, 100);
  })();
})"""


@pytest.mark.parametrize("path,ready", [("/", "body[data-ready='1']"), ("/dashboard/", "body[data-refreshed]")])
def test_home_and_dashboard_run_under_the_csp(browser, live_server, needs_computed, path, ready):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID")
    page = context.new_page()
    log = PageLog(page, live_server.url)
    response = page.goto(live_server.url + path)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.evaluate(WAIT_FOR, ready), f"{path} did not start under the CSP"
    assert page.evaluate("Object.keys(Chart.instances).length") >= (4 if path == "/" else 1)
    assert log.errors == [] and log.foreign_hosts() == set()
    close_context(context)
