"""The field app's road condition survey (SPEC §6: "the field app offers the same form") on an
emulated phone in Debian's chromium: the Bina Marga SDI form in Bahasa Indonesia (English with the
switch), filled with weak signal (offline), kept on the device, sent when the network is back, and the
road's condition changed in the database.

Expected values worked by hand from DOMAIN §4 (not from the code): crack area 20 % → SDI₁ 20 (10–30);
crack width 5 mm > 3 mm → SDI₂ = 2 × 20 = 40; 12 potholes per 100 m → + 75 (10–50) = 115; rut depth
2 cm → + 10 (1–3 cm) = SDI 125 → "rusak ringan" (100–150). IRI 13.5 m/km is "rusak berat" (> 12)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import LineString

from geo_platform.srid import STORAGE_SRID
from layers.models import Photo, RoadSegment, RoadSurvey
from tests.webapp.conftest import PHONE, PageLog, close_context, login_cookie, png_bytes
from tests.webapp.test_field_app import HERE, moved

pytestmark = pytest.mark.django_db(transaction=True)


def phone(browser, live_server, user, path="/field/"):
    context = browser.new_context(  # bypass_csp: wait_for_function's eval; CSP checked by tests/webapp/test_csp.py
        **PHONE, locale="id-ID", timezone_id="Asia/Jakarta", permissions=["geolocation"], bypass_csp=True,
        geolocation={"longitude": HERE[0], "latitude": HERE[1], "accuracy": 5.0},
    )
    context.add_cookies([login_cookie(live_server, user)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + path)
    page.wait_for_function("document.getElementById('fix').dataset.accuracy !== ''")
    page.wait_for_selector("body[data-nearby='loaded']", state="attached")
    return context, page, log


@pytest.fixture
def road(transactional_db):
    a, b = moved(*HERE, -40, 5), moved(*HERE, 60, 5)
    return RoadSegment.objects.create(name="Jalan Medan Merdeka", road_class="arterial", condition="good",
                                      geom=LineString(a, b, srid=STORAGE_SRID))


def test_a_survey_filled_offline_reaches_the_server_and_changes_the_roads_condition(browser, live_server, officer, road, output_dir):
    context, page, log = phone(browser, live_server, officer)
    page.wait_for_selector(f"#nearby li[data-id='{road.pk}'] .btn-road-survey", state="attached")
    context.set_offline(True)  # weak signal: the record waits on the device
    page.click(f"#nearby li[data-id='{road.pk}'] .btn-road-survey")
    page.wait_for_selector("#form-dialog[open]")
    assert page.inner_text("#form-title") == "Survei kondisi jalan (SDI)"
    labels = page.eval_on_selector_all("#form-fields label", "els => els.map(e => e.firstChild.textContent.trim())")
    assert labels == ["Luas retak (% dari luas ruas)", "Lebar retak (mm)", "Jumlah lubang per 100 m", "Kedalaman bekas roda (cm)",
                      "IRI (m/km, jika diukur)", "Tanggal survei", "Catatan"]
    assert "Jalan Medan Merdeka" in page.inner_text("#form-subtitle")
    page.fill("#form-fields input[name=crack_area_pct]", "20")
    page.fill("#form-fields input[name=crack_width_mm]", "5")
    page.fill("#form-fields input[name=potholes_per_100m]", "12")
    page.fill("#form-fields input[name=rut_depth_cm]", "2")
    page.fill("#form-fields input[name=iri]", "13.5")
    page.fill("#form-fields textarea[name=notes]", "Lubang di lajur kiri")
    page.set_input_files("#record-form input[name=photo]", files=[{"name": "jalan.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.screenshot(path=str(output_dir / "webapp_field_survey_form.png"))
    page.click("#form-save")
    page.wait_for_selector("#form-dialog:not([open])", state="attached")
    page.wait_for_selector("#pending[data-count='1']")
    road.refresh_from_db()
    assert RoadSurvey.objects.count() == 0 and road.sdi is None and road.condition == "good"  # nothing sent while offline

    context.set_offline(False)  # the page's `online` event starts the sync
    page.wait_for_selector("#pending[data-count='0']", timeout=30000)
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_selector("#queue li.record[data-kind='road_survey'][data-state='sent']")
    assert "SDI 125 · Rusak ringan" in page.inner_text("#queue li.record[data-kind='road_survey']")
    page.screenshot(path=str(output_dir / "webapp_field_survey_sent.png"))

    road.refresh_from_db()
    survey = RoadSurvey.objects.get()
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    assert (survey.road_id, survey.sdi, survey.condition, survey.surveyed_on) == (road.pk, 125, "light_damage", today)
    assert (survey.crack_area_pct, survey.crack_width_mm, survey.potholes_per_100m, survey.rut_depth_cm) == (20, 5, 12, 2)
    assert survey.notes == "Lubang di lajur kiri" and survey.client_id is not None
    photo = Photo.objects.get(layer="roads", object_id=road.pk)
    assert survey.photos == [photo.pk]  # the photo went to the road first and is named in the survey
    assert (road.sdi, road.condition, road.surveyed_on, road.condition_origin) == (125, "light_damage", today, "field")
    assert road.iri == 13.5 and road.version == 3  # the survey (2), then the IRI over it (3)
    # IRI 13.5 is heavy damage: the worse of the two (DOMAIN §4) puts the road among the heavily damaged
    damaged = {f["id"]: f["properties"] for f in page.evaluate("fetch('/api/needs/damaged-roads/').then(r => r.json())")["features"]}
    assert damaged[road.pk]["effective_condition"] == "heavy_damage"
    assert log.foreign_hosts() == set()
    assert all("net::ERR_INTERNET_DISCONNECTED" in e for e in log.errors), log.errors
    close_context(context)


def test_the_survey_form_in_english_and_its_checks(browser, live_server, officer, road):
    context, page, log = phone(browser, live_server, officer, path="/field/?lang=en")
    page.wait_for_selector(f"#nearby li[data-id='{road.pk}']", state="attached")
    page.click("#btn-road-survey")  # the nearest road
    page.wait_for_selector("#form-dialog[open]")
    assert page.inner_text("#form-title") == "Road condition survey (SDI)"
    assert page.inner_text("#form-fields label:first-child").startswith("Crack area (% of the segment)")
    # a value the server would refuse (over 100 %) is stopped on the phone: nothing queued
    for name, value in (("crack_area_pct", "120"), ("crack_width_mm", "1"), ("potholes_per_100m", "0"), ("rut_depth_cm", "0")):
        page.fill(f"#form-fields input[name={name}]", value)
    page.set_input_files("#record-form input[name=photo]", files=[{"name": "jalan.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.click("#form-save")
    assert page.evaluate("document.getElementById('form-fields').querySelector('input[name=crack_area_pct]').validity.rangeOverflow")
    assert page.is_visible("#form-dialog[open]") and page.evaluate("document.body.dataset.pending") == "0"
    page.fill("#form-fields input[name=crack_area_pct]", "0")
    page.click("#form-save")
    page.wait_for_selector("#form-dialog:not([open])", state="attached")
    page.wait_for_function("document.body.dataset.pending === '0' && document.querySelector(\"#queue li.record[data-state='sent']\")")
    road.refresh_from_db()
    assert (road.sdi, road.condition, road.iri) == (0, "good", None)  # no damage at all: SDI 0 (DOMAIN §4), IRI not given
    assert road.version == 2  # the survey only: no IRI update
    assert log.foreign_hosts() == set() and log.errors == []
    close_context(context)
