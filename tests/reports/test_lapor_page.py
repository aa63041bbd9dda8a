"""The public page in Chromium (Playwright, Debian's /usr/bin/chromium, a
phone viewport): switch to English and back, pick the exact light on the PJU
layer, attach a photo, send while offline (kept on the device), come back
online (sent), see the status page; after the repair the page shows the
closing note and photo. No request leaves the machine."""
from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from needs import work_orders
from needs.models import WorkOrder
from reports.models import Report, ReportPhoto
from tests.layers.api_support import user_in
from tests.reports.conftest import build_scene, jpeg_bytes

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.webapp.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, PageLog, close_context  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live_scene(transactional_db, settings, tmp_path):
    settings.BASEMAP_URL = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_READ = True
    settings.REPORT_RATE_LIMIT = 1000
    from django.core.cache import cache

    cache.clear()
    return build_scene()


@pytest.fixture
def api_key_live(live_scene):
    from reports.models import Open311Key

    return Open311Key.objects.create(name="LAKSA").key


@pytest.fixture
def context(browser, live_scene):
    # a phone set to Bahasa Indonesia (Accept-Language id-ID); wait_for_function's string predicates use eval
    ctx = browser.new_context(**PHONE, locale="id-ID", bypass_csp=True)
    yield ctx
    close_context(ctx)


def test_a_phone_in_english_gets_the_page_in_english_until_the_switch(live_server, live_scene, browser):
    ctx = browser.new_context(**PHONE, locale="en-US")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/lapor/")
    assert page.title() == "Report a street light or road · geo_platform"  # Accept-Language: en-US
    page.click('.lang button[value="id"]')
    page.wait_for_selector("text=Lapor PJU & jalan")
    assert page.inner_text("#send") == "Kirim laporan"
    close_context(ctx)


def test_pick_a_light_send_offline_then_see_the_status(live_server, live_scene, context):
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(f"{live_server.url}/lapor/")
    assert "Lapor" in page.title()  # Bahasa Indonesia first
    page.click('.lang button[value="en"]')
    page.wait_for_selector("text=Report a street light or road")
    page.click('.lang button[value="id"]')
    page.wait_for_selector("text=Lapor PJU & jalan")

    # the PJU layer: three lights; pick PJU-B
    page.wait_for_function("document.querySelectorAll('.pju-dot').length === 3", timeout=20000)
    page.click('.pju-dot[data-code="PJU-B"]', force=True)
    page.wait_for_function("document.getElementById('picked').dataset.pju !== ''")
    assert "PJU-B" in page.inner_text("#picked")
    page.select_option("#service", "pju_mati")
    page.set_input_files("#photo", files=[{"name": "lampu.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(size=(120, 90))}])
    page.fill("#description", "Lampu mati sejak tiga malam")
    page.fill("#phone", "081234567890")

    context.set_offline(True)
    page.click("#send")
    page.wait_for_selector("#queued", timeout=20000)
    assert Report.objects.count() == 0
    assert page.evaluate("document.body.dataset.pending") == "1"

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#status-link", timeout=30000)
    report = Report.objects.get()
    assert report.pju_id == live_scene["lamps"]["PJU-B"].pk and report.channel == "web"
    assert report.phone == "081234567890" and report.device_id
    assert ReportPhoto.objects.filter(report=report).count() == 1
    assert page.evaluate("document.body.dataset.pending") == "0"
    errors = [e for e in log.errors if "ERR_INTERNET_DISCONNECTED" not in e]  # the offline attempt itself
    assert not errors, errors
    assert log.foreign_hosts() == set()

    page.click("#status-link")
    page.wait_for_selector('#status[data-status="open"]')
    assert page.get_attribute("img.report-photo", "src").startswith(f"{live_server.url}/media/reports/")
    assert "081234567890" not in page.content()

    # the repair closes the report: the status page shows the note and the closing photo
    planner, officer = user_in("planner", name="plan"), user_in("field_officer", name="budi")
    order = WorkOrder.objects.get(pk=report.work_order_id)
    work_orders.work_order_assign(order=order, user=planner, officer=officer)
    work_orders.work_order_start(order=order, user=officer)
    lamp = live_scene["lamps"]["PJU-B"]
    work_orders.work_order_close(order=order, user=officer, lon=lamp.geom.x, lat=lamp.geom.y, note="Lampu diganti LED 40 W",
                                 photo=SimpleUploadedFile("done.jpg", jpeg_bytes(), content_type="image/jpeg"))
    page.reload()
    page.wait_for_selector('#status[data-status="closed"]')
    assert page.inner_text("#notes") == "Lampu diganti LED 40 W"
    assert page.get_attribute("#closing-photo", "src").startswith("/media/photos/")
    # the reporter (same session) may reopen it within 7 days
    page.click("#reopen button")
    page.wait_for_selector('#status[data-status="open"]')
    assert log.foreign_hosts() == set()


def test_the_page_shows_the_abuse_limits(live_server, live_scene, context, settings):
    """From the browser: a non-image "photo" is refused, the EXIF of a real one
    is gone, and the third report from one address within the window is refused."""
    import io

    from PIL import Image

    settings.REPORT_RATE_LIMIT = 2
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(f"{live_server.url}/lapor/")
    page.wait_for_function("document.querySelectorAll('.pju-dot').length === 3", timeout=20000)

    def send(photo):
        page.click('.pju-dot[data-code="PJU-A"]', force=True)
        page.wait_for_function("document.getElementById('picked').dataset.pju !== ''")
        page.set_input_files("#photo", files=[photo])
        page.click("#send")
        page.wait_for_function("['result ok', 'result error'].includes(document.getElementById('result').className.trim())")
        return page.get_attribute("#result", "class").split()[-1], page.inner_text("#result")

    kind, text = send({"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00 not a picture"})
    assert kind == "error" and "bukan gambar" in text  # the phone is id-ID: the reason in Bahasa Indonesia
    exif = Image.Exif()
    exif[0x010F] = "KameraWarga"
    page.evaluate("document.getElementById('result').className = 'result'")
    kind, _ = send({"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(exif=exif.tobytes())})
    assert kind == "ok"
    stored = ReportPhoto.objects.get()
    with stored.image.open("rb") as fh:
        data = fh.read()
    assert b"KameraWarga" not in data and len(Image.open(io.BytesIO(data)).getexif()) == 0
    page.evaluate("document.getElementById('result').className = 'result'")
    send({"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()})  # the second of two allowed
    page.evaluate("document.getElementById('result').className = 'result'")
    kind, text = send({"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()})
    assert kind == "error" and "terlalu banyak laporan dari alamat ini" in text  # in the page's language
    assert Report.objects.count() == 2
    assert log.foreign_hosts() == set()

def test_planner_map_shows_overdue_reports_and_the_dispatchers_list(live_server, live_scene, browser, api_key_live):
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from tests.webapp.conftest import login_cookie

    lamp = live_scene["lamps"]["PJU-A"]
    web = Client()
    r = web.post("/open311/v2/requests.json", {
        "api_key": api_key_live, "service_code": "pju_mati", "lat": lamp.geom.y, "long": lamp.geom.x, "description": "gelap",
        "media": SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")})
    assert r.status_code == 201
    late = Report.objects.get()
    Report.objects.filter(pk=late.pk).update(expected_at=timezone.now() - timedelta(days=1))
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="id-ID", bypass_csp=True)
    context.add_cookies([login_cookie(live_server, user_in("planner", name="dispatcher"))])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + "/map/")
    page.wait_for_function("window.GP && GP.ready === true", timeout=30000)
    page.locator(".gp-layer-control label", has_text="Laporan warga — terlambat").locator("input").check()
    page.wait_for_function("GP.reportLayers.overdue.getLayers().length === 1", timeout=20000)
    assert page.evaluate("GP.reportLayers.overdue.getLayers()[0].options.fillColor") == "#b71c1c"
    page.click(".gp-reports-inbox a")
    page.wait_for_selector(".gp-reports-inbox .list img")
    assert f"#{late.pk}" in page.inner_text(".gp-reports-inbox .list")
    assert log.foreign_hosts() == set()
    assert log.errors == [], log.errors
    close_context(context)


def test_the_pages_run_under_the_platforms_csp(live_server, live_scene, browser):
    """Without bypass_csp: the page's scripts are files of our own origin, so the CSP lets them run."""
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    log = PageLog(page, live_server.url)
    response = page.goto(f"{live_server.url}/lapor/")
    assert "script-src" in (response.headers.get("content-security-policy") or "")
    page.wait_for_selector(".pju-dot", state="attached", timeout=20000)
    assert not [e for e in log.errors if "Content Security Policy" in e], log.errors
    close_context(ctx)
