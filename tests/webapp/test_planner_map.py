"""The planner map /map/ in Debian's chromium against the live server:
offline (no request leaves the machine, no console error), the layers of the
tile registry offered and toggled, a PJU popup, search, zoom to kecamatan,
drawing a line → an estimate (its length checked with pyproj's geodesic)
and its XLSX, the language switch."""
from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from pyproj import Geod

from geo_platform.srid import STORAGE_SRID
from layers.models import Area, RoadSegment, StreetLight
from layers.tiles import TILE_LAYERS
from tests.webapp.conftest import PageLog, close_context, login_cookie
from webapp.selectors import MAP_LAYERS

pytestmark = pytest.mark.django_db(transaction=True)
GEOD = Geod(ellps="WGS84")
ORIGIN = (106.8200, -6.1800)  # lon, lat (central Jakarta)
STATUSES = ["working", "working", "working", "off", "damaged", "unknown"]
CONDITIONS = ["good", "fair", "light_damage", "heavy_damage", "good", "unknown"]


def offset(east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(*ORIGIN, 90, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


@pytest.fixture
def city(transactional_db):
    """A kecamatan of 1.2 km × 1 km with a street grid, PJU every 30 m on each street."""
    from estimates import demo

    demo.load()  # templates and prices (the data migration's rows are flushed between transactional tests)
    ring = [offset(-100, -100), offset(1100, -100), offset(1100, 900), offset(-100, 900), offset(-100, -100)]
    Area.objects.create(level="kecamatan", code="31.71.99", name="Kecamatan Uji", geom=MultiPolygon(Polygon(ring, srid=STORAGE_SRID)))
    roads, lights = [], []
    for i in range(6):
        a, b = offset(0, i * 160), offset(1000, i * 160)
        roads.append(RoadSegment(name=f"Jalan Uji Timur {i + 1}", road_class="collector" if i % 2 else "local",
                                 condition=CONDITIONS[i], geom=LineString(a, b, srid=STORAGE_SRID)))
        for k in range(0, 1000, 30):
            lights.append(StreetLight(code=f"PJU-{i}-{k:04d}", status=STATUSES[(k // 30 + i) % len(STATUSES)],
                                      lamp_type="led", wattage_w=60, geom=Point(*offset(k, i * 160 + 8), srid=STORAGE_SRID)))
    for j in range(5):
        roads.append(RoadSegment(name=f"Gang Uji {j + 1}", road_class="neighbourhood", condition=CONDITIONS[j + 1],
                                 geom=LineString(offset(j * 250, 0), offset(j * 250, 800), srid=STORAGE_SRID)))
    RoadSegment.objects.bulk_create(roads)
    StreetLight.objects.bulk_create(lights)
    return {"roads": roads, "lights": lights, "ring": ring}


def open_map(browser, live_server, *, locale="id-ID", user=None):
    # bypass_csp: Playwright's string predicates (wait_for_function) use eval, which the platform's CSP forbids;
    # the CSP itself is checked in a browser by tests/webapp/test_csp.py (issue 12)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale=locale, accept_downloads=True, bypass_csp=True)
    if user is not None:
        context.add_cookies([login_cookie(live_server, user)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + "/map/")
    page.wait_for_function("window.GP && GP.ready === true")
    return context, page, log


def go_to(page, lon, lat, zoom, layer="pju"):
    """Set the view and wait until the layer's tiles are drawn (bounded waits only)."""
    page.evaluate("([lat, lon, zoom]) => { gpMap.setView([lat, lon], zoom, {animate: false}); return true; }", [lat, lon, zoom])
    page.wait_for_function("layer => !GP.layers[layer].isLoading()", arg=layer, timeout=30000)


def click_at(page, lon, lat):
    point = page.evaluate("([lat, lon]) => gpMap.latLngToContainerPoint([lat, lon])", [lat, lon])
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_map_loads_offline_offers_registered_layers_and_toggles_them(browser, live_server, city, output_dir):
    context, page, log = open_map(browser, live_server)
    go_to(page, *offset(500, 400), 16)
    page.wait_for_load_state("networkidle")

    expected = [layer for layer in MAP_LAYERS if layer.name in TILE_LAYERS]
    assert {layer.name for layer in expected} >= {"pju", "roads", "areas", "broken_pju", "damaged_roads"}
    offered = page.evaluate("Object.keys(GP.layers)")
    assert offered == [layer.name for layer in expected]
    labels = page.locator(".gp-layer-control .leaflet-control-layers-overlays label").all_inner_texts()
    for layer in expected:
        assert any(str(layer.label) in text for text in labels), (layer.label, labels)
    assert "Legenda" in page.inner_text(".gp-legend") and "Menyala" in page.inner_text(".gp-legend")
    # issue 13: the three kinds of under-lit road, each with its own style
    for kind in ("Belum ada PJU", "Lampu kurang kuat", "PJU mati/rusak"):
        assert kind in page.inner_text(".gp-legend")

    # The default layers drew tiles that hold our features.
    assert any(p.startswith("/tiles/pju/16/") for p in log.paths("/tiles/"))
    drawn = page.evaluate("Object.values(GP.layers.pju._vectorTiles).reduce((n, r) => n + Object.keys(r._features).length, 0)")
    assert drawn > 0

    # Toggle: broken PJU on (its tiles are requested), PJU by status off.
    page.locator(".gp-layer-control label", has_text="PJU mati/rusak").locator("input").check()
    page.wait_for_function("gpMap.hasLayer(GP.layers.broken_pju)")
    page.wait_for_load_state("networkidle")
    assert any(p.startswith("/tiles/broken_pju/16/") for p in log.paths("/tiles/"))
    page.locator(".gp-layer-control label", has_text="PJU menurut status").locator("input").uncheck()
    assert page.evaluate("gpMap.hasLayer(GP.layers.pju)") is False
    # Only off/damaged PJU are drawn by the broken layer (decoded in the browser from our tiles).
    statuses = page.evaluate("""Array.from(new Set(Object.values(GP.layers.broken_pju._vectorTiles)
        .flatMap(r => Object.values(r._features).map(f => f.feature.properties.status))))""")
    assert set(statuses) == {"off", "damaged"}
    page.locator(".gp-layer-control label", has_text="PJU menurut status").locator("input").check()
    page.locator(".gp-layer-control label", has_text="PJU mati/rusak").locator("input").uncheck()
    go_to(page, *offset(500, 400), 16)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(output_dir / "webapp_map.png"))

    assert log.foreign_hosts() == set(), "with BASEMAP_URL empty no request may leave the machine"
    assert log.errors == []
    close_context(context)


def test_layers_missing_from_the_registry_are_not_offered(browser, live_server, city, monkeypatch):
    monkeypatch.delitem(TILE_LAYERS, "work_orders", raising=False)
    monkeypatch.delitem(TILE_LAYERS, "proposed_pju", raising=False)
    context, page, log = open_map(browser, live_server)
    offered = page.evaluate("Object.keys(GP.layers)")
    assert "work_orders" not in offered and "proposed_pju" not in offered and "pju" in offered
    assert not any("/tiles/work_orders/" in u for u in log.urls)
    assert log.errors == []
    close_context(context)


def test_feature_popup_shows_attributes_search_and_kecamatan_zoom(browser, live_server, city):
    light = StreetLight.objects.get(code="PJU-2-0300")
    context, page, log = open_map(browser, live_server)
    go_to(page, light.geom.x, light.geom.y, 18)
    click_at(page, light.geom.x, light.geom.y)
    popup = page.locator(".leaflet-popup-content .gp-popup")
    popup.wait_for()
    page.wait_for_function("document.querySelector('.gp-popup').innerText.includes('Versi')")  # full feature fetched
    text = popup.inner_text()
    assert "PJU-2-0300" in text
    assert {"working": "Menyala", "off": "Mati", "damaged": "Rusak", "unknown": "Tidak diketahui"}[light.status] in text
    assert any(u.endswith(f"/api/pju/{light.pk}/") for u in log.urls)

    # Search by road name: the view fits that road's extent (computed here from our own coordinates).
    page.fill(".gp-search input", "Timur 4")
    page.press(".gp-search input", "Enter")
    page.locator(".gp-results li", has_text="Jalan Uji Timur 4").click()
    a, b = offset(0, 3 * 160), offset(1000, 3 * 160)
    # (the view animates: wait until it shows the whole road, computed here from our own coordinates)
    page.wait_for_function("([a, b]) => gpMap.getBounds().contains(L.latLngBounds([[a[1], a[0]], [b[1], b[0]]])) && gpMap.getZoom() >= 15",
                           arg=[list(a), list(b)], timeout=10000)
    # Search by PJU code: the hits are listed and shown as (clustered) markers.
    page.fill(".gp-search input", "PJU-5-09")
    page.press(".gp-search input", "Enter")
    expected = StreetLight.objects.filter(code__icontains="pju-5-09").count()  # PJU-5-0900 … PJU-5-0990
    assert expected == 4
    page.wait_for_function("n => GP.searchMarkers.getLayers().length === n", arg=expected, timeout=10000)
    assert page.locator(".gp-results li").count() == expected
    page.fill(".gp-search input", "PJU-5-0990")
    page.press(".gp-search input", "Enter")
    page.locator(".gp-results li", has_text="PJU-5-0990").click()
    target = StreetLight.objects.get(code="PJU-5-0990")
    page.wait_for_function("z => gpMap.getZoom() === z", arg=18, timeout=10000)
    center = page.evaluate("gpMap.getCenter()")
    assert GEOD.inv(center["lng"], center["lat"], target.geom.x, target.geom.y)[2] < 1.0

    # Zoom to kecamatan.
    page.select_option(".gp-kecamatan", label="Kecamatan Uji")
    ring = [[lat, lon] for lon, lat in city["ring"]]
    page.wait_for_function("ring => gpMap.getBounds().contains(L.latLngBounds(ring)) && gpMap.getZoom() >= 14", arg=ring, timeout=10000)
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_drawing_a_line_yields_an_estimate_and_its_xlsx(browser, live_server, city, output_dir):
    from django.contrib.auth.models import User

    planner = User.objects.create_user("perencana-peta", password="rahasia-123")  # exports (the XLSX) need login (SPEC §4)
    context, page, log = open_map(browser, live_server, user=planner)
    go_to(page, *offset(500, 400), 16, layer="roads")
    start, end = offset(300, 240), offset(700, 250)
    page.click(".leaflet-draw-draw-polyline")
    with page.expect_response(lambda r: r.url.endswith("/api/estimates/") and r.request.method == "POST") as answer:
        click_at(page, *start)
        page.wait_for_timeout(150)
        click_at(page, *end)
        page.wait_for_timeout(150)
        page.locator(".leaflet-draw-actions a", has_text="Selesai").click()  # Leaflet.draw in Bahasa Indonesia
    response = answer.value
    assert response.status == 200
    sent = json.loads(response.request.post_data)
    estimate = response.json()
    assert sent["geometry"]["type"] == "LineString" and len(sent["geometry"]["coordinates"]) == 2
    (x0, y0), (x1, y1) = sent["geometry"]["coordinates"]
    geodesic = GEOD.inv(x0, y0, x1, y1)[2]
    assert 350 < geodesic < 450  # clicked ~400 m apart
    assert estimate["length_m"] == pytest.approx(geodesic, rel=2e-3)
    assert estimate["area_m2"] == pytest.approx(geodesic * sent["width_m"], rel=2e-3)
    page.locator(".gp-est-result .gp-total").wait_for()
    shown = page.inner_text(".gp-est-result .gp-total")
    assert f"{round(estimate['total']):,}".replace(",", ".") in shown  # Indonesian digit grouping
    assert page.locator(".gp-xlsx").bounding_box()["width"] > 100, "the XLSX link must be legible, not squeezed into a 26 px button"
    page.screenshot(path=str(output_dir / "webapp_map_estimate.png"))

    with page.expect_download() as download_info:
        page.click(".gp-est-result .gp-xlsx")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    from tests.estimates.xlsx_eval import Evaluator  # the RAB's amounts are formulas (issue 14): evaluate them

    ev = Evaluator(workbook)
    numbers = [ev.value(ws.title, c.coordinate) for ws in workbook for row in ws.iter_rows() for c in row
               if isinstance(c.value, (int, float)) or (ws.title == "RAB" and isinstance(c.value, str) and c.value.startswith("="))]
    assert any(abs(n - estimate["total"]) < 1 for n in numbers if isinstance(n, (int, float))), "the XLSX carries the estimate's total"
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_language_switch_to_english(browser, live_server, city):
    context, page, log = open_map(browser, live_server)
    assert page.evaluate("document.documentElement.lang") == "id"
    assert "Legenda" in page.inner_text(".gp-legend")
    with page.expect_navigation():
        page.select_option(".gp-lang select", "en")
    page.wait_for_function("window.GP && GP.ready === true")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Legend" in page.inner_text(".gp-legend") and "Working" in page.inner_text(".gp-legend")
    assert log.errors == []
    close_context(context)


def test_map_search_rejects_bad_input_with_json_errors(client, city):
    missing = client.get("/map/search/")
    assert missing.status_code == 400 and missing.json()["errors"]["q"]
    long = client.get("/map/search/", {"q": "x" * 101})
    assert long.status_code == 400 and "100" in long.json()["detail"]
    ok = client.get("/map/search/", {"q": "uji timur"})
    assert [r["label"] for r in ok.json()["results"]] == [f"Jalan Uji Timur {i}" for i in range(1, 7)]


def test_selecting_a_road_in_its_popup_yields_its_estimate(browser, live_server, city):
    gang = RoadSegment.objects.get(name="Gang Uji 2")
    (x0, y0), (x1, y1) = gang.geom.coords
    expected_length = GEOD.inv(x0, y0, x1, y1)[2]
    context, page, log = open_map(browser, live_server)
    lon, lat = offset(250, 80)  # on the gang, between two PJU streets
    go_to(page, lon, lat, 18, layer="roads")
    click_at(page, lon, lat)
    page.locator(".gp-popup", has_text="Gang Uji 2").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/api/estimates/") and r.request.method == "POST") as answer:
        page.locator(".gp-popup .gp-select-road").click()
    sent = json.loads(answer.value.request.post_data)
    assert sent["road_ids"] == [gang.pk]
    estimate = answer.value.json()
    assert estimate["length_m"] == pytest.approx(expected_length, rel=1e-3)
    page.locator(".gp-est-result .gp-total").wait_for()
    page.wait_for_function("document.querySelector('.gp-selected').innerText === 'Gang Uji 2'")  # named, not numbered (issue 19)
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)


def test_popup_shows_the_features_photos(browser, live_server, city, settings):
    from django.core.files.base import ContentFile

    from layers.models import Photo
    from tests.webapp.conftest import png_bytes

    light = StreetLight.objects.get(code="PJU-1-0150")
    photo = Photo(layer="pju", object_id=light.pk, caption="tiang miring")
    photo.image.save("tiang.png", ContentFile(png_bytes((10, 120, 10), (80, 60))), save=True)
    context, page, log = open_map(browser, live_server)
    # The test plays the web server for /media/ (in production nginx serves MEDIA_ROOT).
    media_root = settings.MEDIA_ROOT
    page.route("**/media/**", lambda route: route.fulfill(
        status=200, content_type="image/png",
        body=(media_root / route.request.url.split("/media/", 1)[1]).read_bytes()))
    go_to(page, light.geom.x, light.geom.y, 18)
    click_at(page, light.geom.x, light.geom.y)
    page.wait_for_selector(".gp-popup .gp-photos img")
    img = page.locator(".gp-popup .gp-photos img")
    assert img.get_attribute("src") == photo.image.url and img.get_attribute("alt") == "tiang miring"
    page.wait_for_function("document.querySelector('.gp-photos img').naturalWidth === 80")
    assert log.errors == []
    close_context(context)


def test_login_page_and_private_map(client, settings, transactional_db):
    from django.contrib.auth.models import User

    User.objects.create_user("perencana", password="rahasia-123")
    page = client.get("/login/")
    assert page.status_code == 200 and "Masuk" in page.content.decode()  # Bahasa Indonesia by default
    wrong = client.post("/login/", {"username": "perencana", "password": "salah"})
    assert wrong.status_code == 200 and "salah" in wrong.content.decode().lower()
    settings.PUBLIC_READ = False
    assert client.get("/map/")["Location"].startswith("/login/")
    assert client.get("/map/search/", {"q": "x"}).status_code == 401  # anonymous: 401 on every door
    right = client.post("/login/?next=/map/", {"username": "perencana", "password": "rahasia-123", "next": "/map/"})
    assert right.status_code == 302 and right["Location"] == "/map/"
    assert client.get("/map/").status_code == 200
