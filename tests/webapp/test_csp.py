"""The planner map and the field app work in Chromium with the platform's
Content-Security-Policy enforced (issue 12): no CSP violation, no page error.
(The other browser tests bypass CSP because Playwright's string predicates
use eval; here every wait is a selector or a plain evaluate.)"""
from __future__ import annotations

import pytest

from tests.layers.api_support import make_city
from tests.webapp.conftest import PHONE, PageLog, close_context, login_cookie, wait_for_service_worker

WAIT_READY = """() => new Promise(resolve => {
  const start = Date.now();
  (function poll() {
    if (window.GP && GP.ready === true) resolve(true);
    else if (Date.now() - start > 30000) resolve(false);
    else setTimeout(poll, 100);
  })();
})"""


def csp_log(page) -> list[str]:
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


@pytest.fixture
def town(transactional_db):
    return make_city(n_lights=12)


def test_planner_map_runs_under_the_csp(browser, live_server, town):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="id-ID")
    page = context.new_page()
    log, violations = PageLog(page, live_server.url), csp_log(page)
    response = page.goto(live_server.url + "/map/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert page.evaluate(WAIT_READY), "the planner map did not start"
    page.wait_for_selector(".leaflet-draw-draw-polyline")
    page.wait_for_selector(".leaflet-control-layers", state="attached")
    page.evaluate("() => { gpMap.setView([-6.2, 106.62], 15, {animate: false}); return true; }")
    page.wait_for_selector(".leaflet-tile-loaded", state="attached")
    assert violations == [], violations
    assert [e for e in log.errors if "Content Security Policy" in e or e.startswith("pageerror")] == [], log.errors
    close_context(context)


def test_field_app_runs_under_the_csp(browser, live_server, officer, town):
    context = browser.new_context(**PHONE, locale="id-ID", permissions=["geolocation"],
                                  geolocation={"longitude": 106.62, "latitude": -6.2, "accuracy": 5})
    context.add_cookies([login_cookie(live_server, officer)])
    page = context.new_page()
    log, violations = PageLog(page, live_server.url), csp_log(page)
    response = page.goto(live_server.url + "/field/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    wait_for_service_worker(page)
    page.wait_for_selector("body[data-nearby='loaded']", state="attached")
    page.wait_for_selector("#fix[data-accuracy]:not([data-accuracy=''])", state="attached")
    assert violations == [], violations
    assert [e for e in log.errors if "Content Security Policy" in e or e.startswith("pageerror")] == [], log.errors
    close_context(context)
