"""The admin's import page (/imports/): a planner uploads a file in
Chromium, the live progress bar fills, the report shows in Bahasa Indonesia
and English, with the numbers the command line gives for the same file."""
from __future__ import annotations

import pytest

from layers.models import StreetLight
from tests.conftest import shared_file
from tests.imports.test_jobs import cli_report
from tests.webapp.conftest import CHROMIUM, CHROMIUM_ARGS, login_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_page_shows_progress_and_the_bilingual_report(live_server, planner, celery_worker, django_user_model):
    from playwright.sync_api import sync_playwright

    path = shared_file("osm_porto/porto_street_lamps.geojson")
    expected = cli_report(path, "pju", "page")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # bypass_csp: Playwright's string predicates use eval, which the platform's CSP forbids (as tests/webapp).
        context = browser.new_context(bypass_csp=True)
        context.add_cookies([login_cookie(live_server, planner)])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_server.url + "/imports/")
        assert "Impor data" in page.inner_text("h1") and "Import data" in page.inner_text("h1")
        values = []
        page.expose_function("recordProgress", lambda v: values.append(v))
        page.evaluate("""() => new MutationObserver(() => window.recordProgress(document.getElementById('bar').value))
                              .observe(document.getElementById('bar'), {attributes: true})""")
        page.set_input_files("#file", str(path))
        page.select_option("#layer", "pju")
        page.fill("#source", "page")
        page.click("#start")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('selesai')", timeout=300_000)
        assert page.eval_on_selector("#bar", "b => b.value") == 1
        report = page.inner_text("#report")
        assert "Dibuat" in report and "Created" in report and "Ditolak" in report and "Rejected" in report
        assert page.inner_text("#report [data-k=created]") == str(expected["created"])
        assert page.inner_text("#report [data-k=features]") == str(expected["features"])
        browser.close()
    assert not errors, errors
    assert values and values == sorted(values)
    assert StreetLight.objects.filter(source="page").count() == expected["created"]

    # Other roles are turned away.
    officer = django_user_model.objects.create_user("petugas18", password="x")
    from django.test import Client

    c = Client()
    c.force_login(officer)
    assert c.get("/imports/").status_code == 403
