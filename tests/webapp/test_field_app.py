"""The field officer app on an emulated phone (390×844, touch, geolocation)
in Debian's chromium: offline tagging, sync, no duplicates on retries,
conflicts shown instead of overwritten, the accuracy confirmation, work
order closing. Expected positions are checked with pyproj's geodesic."""
from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import LineString, Point
from pyproj import Geod

from geo_platform.srid import STORAGE_SRID
from layers.models import Photo, RoadSegment, StreetLight
from tests.webapp.conftest import PHONE, PageLog, close_context, login_cookie, png_bytes, wait_for_service_worker

pytestmark = pytest.mark.django_db(transaction=True)
GEOD = Geod(ellps="WGS84")
HERE = (106.827153, -6.175392)  # lon, lat (Monas, Jakarta)


def moved(lon, lat, east_m, north_m):
    """A point east_m/north_m metres away on the ellipsoid (pyproj)."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, east_m)
    lon3, lat3, _ = GEOD.fwd(lon2, lat2, 0, north_m)
    return lon3, lat3


def phone(browser, live_server, user, *, accuracy=5.0, where=HERE):
    context = browser.new_context(  # bypass_csp: wait_for_function's eval; CSP checked by tests/webapp/test_csp.py
        **PHONE, locale="id-ID", permissions=["geolocation"], bypass_csp=True,
        geolocation={"longitude": where[0], "latitude": where[1], "accuracy": accuracy},
    )
    context.add_cookies([login_cookie(live_server, user)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(live_server.url + "/field/")
    page.wait_for_function("document.getElementById('fix').dataset.accuracy !== ''")
    page.wait_for_selector("body[data-nearby='loaded']", state="attached")  # first lists fetched while online
    return context, page, log


def fill_record(page, *, status=None, colour=(200, 30, 30), condition=None):
    page.wait_for_selector("#form-dialog[open]")
    if status:
        page.select_option("#form-fields select[name=status]", status)
    if condition:
        page.select_option("#form-fields select[name=condition]", condition)
    page.set_input_files("#record-form input[name=photo]", files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png_bytes(colour)}])
    page.click("#form-save")
    page.wait_for_selector("#form-dialog:not([open])", state="attached")


def queue_states(page) -> list[str]:
    return page.eval_on_selector_all("#queue li.record", "els => els.map(e => e.dataset.state)")


def test_three_pju_tagged_offline_are_synced_exactly_once_with_their_photos(browser, live_server, officer, output_dir):
    before = StreetLight.objects.count()
    context, page, log = phone(browser, live_server, officer)
    wait_for_service_worker(page)
    context.set_offline(True)
    page.wait_for_selector("#net[data-online='0']")

    spots = [moved(*HERE, 0, 0), moved(*HERE, 25, 0), moved(*HERE, 25, 30)]
    statuses = ["working", "off", "damaged"]
    for i, (spot, status) in enumerate(zip(spots, statuses)):
        context.set_geolocation({"longitude": spot[0], "latitude": spot[1], "accuracy": 4})
        page.wait_for_function(f"document.getElementById('fix').textContent.includes('{spot[1]:.6f}')")
        page.click("#btn-new-pju")
        fill_record(page, status=status, colour=(40 * i, 100, 200))
        page.wait_for_selector(f"#pending[data-count='{i + 1}']")

    page.click(".tabs button[data-tab=queue]")
    assert queue_states(page) == ["pending"] * 3
    assert StreetLight.objects.count() == before, "nothing may reach the server while offline"
    page.screenshot(path=str(output_dir / "webapp_field_offline_queue.png"))

    context.set_offline(False)  # the page's `online` event starts the sync
    page.wait_for_selector("#pending[data-count='0']", timeout=20000)
    page.wait_for_function("Array.from(document.querySelectorAll('#queue li.record')).every(e => e.dataset.state === 'sent')")
    page.screenshot(path=str(output_dir / "webapp_field_synced.png"))

    created = list(StreetLight.objects.filter(client_id__isnull=False).order_by("created_at"))
    assert len(created) == 3 and StreetLight.objects.count() == before + 3
    for light, spot, status in zip(created, spots, statuses):
        _, _, dist = GEOD.inv(light.geom.x, light.geom.y, spot[0], spot[1])
        assert dist < 0.5, f"PJU {light.pk} stored {dist:.2f} m from where the phone was"
        assert light.status == status
        photos = Photo.objects.filter(layer="pju", object_id=light.pk)
        assert photos.count() == 1
        photo = photos.get()
        assert photo.accuracy_m == pytest.approx(4)
        assert GEOD.inv(photo.geom.x, photo.geom.y, spot[0], spot[1])[2] < 0.5
        with photo.image.open("rb") as fh:
            assert fh.read(3) == b"\xff\xd8\xff"  # stored as the phone's JPEG (shrunk before queueing)

    # A lost answer: the device still believes the first record unsent, photo tried but unconfirmed.
    page.evaluate("""async () => {
        const rows = await GPQueue.all();
        const r = rows[0];
        r.state = 'pending'; r.serverId = null; r.photos.forEach(p => { p.sent = false; p.tried = true; });
        await GPQueue.put(r);
        await GPQueue.sync();
    }""")
    page.wait_for_selector("#pending[data-count='0']")
    assert StreetLight.objects.count() == before + 3, "a retried create must not duplicate (client_id)"
    assert Photo.objects.filter(layer="pju", object_id__in=[c.pk for c in created]).count() == 3, "a retried photo must not duplicate"
    assert log.foreign_hosts() == set()
    assert log.errors == [] or all("Failed to load resource" in e and "net::ERR_INTERNET_DISCONNECTED" in e for e in log.errors), log.errors
    close_context(context)


def test_app_shell_and_queue_survive_a_reload_while_offline(browser, live_server, officer):
    context, page, log = phone(browser, live_server, officer)
    wait_for_service_worker(page)
    page.reload()  # now controlled by the service worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.click("#btn-new-pju")
    fill_record(page, status="working")
    page.wait_for_selector("#pending[data-count='1']")
    page.reload()  # offline: the page comes from the service worker's cache, the record from IndexedDB
    page.wait_for_selector("#pending[data-count='1']")
    assert StreetLight.objects.count() == 0
    context.set_offline(False)
    page.wait_for_selector("#pending[data-count='0']", timeout=20000)
    assert StreetLight.objects.count() == 1
    assert Photo.objects.filter(layer="pju").count() == 1
    close_context(context)


def test_a_conflicting_edit_is_shown_to_the_officer_not_overwritten(browser, live_server, officer, output_dir):
    light = StreetLight.objects.create(code="PJU-KONFLIK-1", status="working", lamp_type="led", geom=Point(*moved(*HERE, 10, 0), srid=STORAGE_SRID))
    context, page, log = phone(browser, live_server, officer)
    page.wait_for_selector(f"#nearby li[data-id='{light.pk}']")

    # Meanwhile someone else edits it on the server (version 1 → 2).
    StreetLight.objects.filter(pk=light.pk).update(status="off", version=2)

    page.click(f"#nearby li[data-id='{light.pk}'] .btn-update-pju")
    fill_record(page, status="damaged")
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_selector("#queue li.record[data-state='conflict']", timeout=15000)
    item = page.locator("#queue li.record[data-state='conflict']")
    text = item.inner_text()
    assert "versi 2" in text and "versi 1" in text, text  # Indonesian message with both versions
    assert "Mati" in text and "Rusak" in text  # server's value (off) and mine (damaged), labelled
    light.refresh_from_db()
    assert (light.status, light.version) == ("off", 2), "the server's edit must not be overwritten silently"
    assert Photo.objects.filter(layer="pju", object_id=light.pk).count() == 0
    page.screenshot(path=str(output_dir / "webapp_field_conflict.png"))

    item.locator(".keep-mine").click()  # the officer decides: send mine over version 2
    page.wait_for_selector("#queue li.record[data-state='sent']", timeout=15000)
    light.refresh_from_db()
    assert (light.status, light.version) == ("damaged", 3)
    assert Photo.objects.filter(layer="pju", object_id=light.pk).count() == 1
    assert log.foreign_hosts() == set()
    assert [e for e in log.errors if "409" not in e] == []
    close_context(context)


def test_a_poor_fix_asks_for_confirmation(browser, live_server, officer, settings):
    settings.FIELD_MAX_ACCURACY_M = 20
    context, page, log = phone(browser, live_server, officer, accuracy=45)
    assert "±45 m" in page.inner_text("#fix")
    dialogs = []

    def dismiss(d):
        dialogs.append(d.message)
        d.dismiss()

    page.once("dialog", dismiss)
    page.click("#btn-new-pju")
    fill_record_no_wait(page)
    page.wait_for_function("() => true")
    assert dialogs and "45" in dialogs[0] and "20" in dialogs[0]
    assert page.eval_on_selector_all("#queue li.record", "els => els.length") == 0

    page.once("dialog", lambda d: d.accept())
    page.click("#form-save")
    page.wait_for_selector("#form-dialog:not([open])", state="attached")
    page.wait_for_selector("#pending[data-count='0']", timeout=15000)
    assert StreetLight.objects.count() == 1
    close_context(context)


def fill_record_no_wait(page):
    page.wait_for_selector("#form-dialog[open]")
    page.set_input_files("#record-form input[name=photo]", files=[{"name": "foto.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.click("#form-save")


def test_road_damage_and_work_order_closed_offline_reach_the_server(browser, live_server, officer):
    from needs.models import WorkOrder

    a, b = moved(*HERE, -40, 5), moved(*HERE, 60, 5)
    road = RoadSegment.objects.create(name="Jalan Medan Merdeka", road_class="arterial", condition="good", geom=LineString(a, b, srid=STORAGE_SRID))
    light = StreetLight.objects.create(code="PJU-WO-1", status="damaged", geom=Point(*moved(*HERE, 5, 5), srid=STORAGE_SRID))
    order = WorkOrder.objects.create(kind="broken_pju", status="assigned", title="Perbaiki PJU-WO-1", pju=light, assigned_to=officer, geom=light.geom)
    context, page, log = phone(browser, live_server, officer)
    page.click(".tabs button[data-tab=orders]")
    page.wait_for_selector(f"#orders li[data-id='{order.pk}']")
    page.wait_for_selector(f"#nearby li[data-id='{road.pk}']", state="attached")

    context.set_offline(True)
    page.click("#btn-road-damage")  # the nearest road
    fill_record(page, condition="heavy_damage")
    page.click(f"#orders li[data-id='{order.pk}'] .btn-close-wo")
    fill_record(page)
    page.wait_for_selector("#pending[data-count='2']")
    context.set_offline(False)
    page.wait_for_selector("#pending[data-count='0']", timeout=20000)

    road.refresh_from_db()
    order.refresh_from_db()
    light.refresh_from_db()
    assert road.condition == "heavy_damage" and road.version == 2
    assert Photo.objects.filter(layer="roads", object_id=road.pk).count() == 1
    assert order.status == "done" and order.closing_photo_id is not None
    assert light.status == "working"  # closing a broken_pju order writes back (needs app)
    assert log.foreign_hosts() == set()
    close_context(context)


def test_manifest_and_service_worker_make_the_app_installable(client, officer):
    manifest = client.get("/field/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest["Content-Type"] == "application/manifest+json"
    data = json.loads(manifest.content)
    assert data["start_url"] == "/field/" and data["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in data["icons"]}
    from PIL import Image

    from django.contrib.staticfiles import finders

    for icon in data["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        with Image.open(path) as im:
            assert f"{im.width}x{im.height}" == icon["sizes"]
    sw = client.get("/field/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"] == "application/javascript"
    assert sw["Service-Worker-Allowed"] == "/field/"
    assert client.get("/field/").status_code == 302  # login first
    client.force_login(officer)
    page = client.get("/field/")
    assert page.status_code == 200 and b'rel="manifest"' in page.content


def write_orthophoto(path, west, south, east, north, size=512):
    """A small RGB GeoTIFF in WGS 84 covering the box (rasterio directly)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    rows = np.linspace(60, 200, size, dtype="uint8")
    data = np.stack([np.tile(rows, (size, 1)), np.tile(rows[:, None], (1, size)), np.full((size, size), 90, "uint8")])
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8",
                       crs="EPSG:4326", transform=from_bounds(west, south, east, north, size, size)) as dst:
        dst.write(data)


def test_the_officers_area_and_its_imagery_are_kept_for_offline_use(browser, live_server, officer, settings, tmp_path, output_dir):
    import mercantile

    from imagery.services import imagery_ingest

    settings.IMAGERY_ROOT = tmp_path / "imagery"
    west, south = moved(*HERE, -600, -600)
    east, north = moved(*HERE, 600, 600)
    tif = tmp_path / "orto.tif"
    write_orthophoto(tif, west, south, east, north)
    image = imagery_ingest(source=tif, kind="orthophoto", name="Ortofoto uji").imagery
    StreetLight.objects.create(code="PJU-AREA-1", status="working", geom=Point(*moved(*HERE, 15, 0), srid=STORAGE_SRID))

    context, page, log = phone(browser, live_server, officer)
    wait_for_service_worker(page)
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function("document.getElementById('fix').dataset.accuracy !== ''")
    # With no BASEMAP_URL the city's orthophoto is the basemap.
    page.wait_for_function(f"[...document.querySelectorAll('.leaflet-tile')].some(t => t.src.includes('/imagery/{image.pk}/tiles/'))")
    saved = page.evaluate("GPField.saveArea()")
    z18 = list(mercantile.tiles(*moved(*HERE, -400, -400), *moved(*HERE, 400, 400), 18))
    assert saved >= len(z18) > 0, (saved, len(z18))  # at least the z18 tiles of the ±400 m box (mercantile)

    context.set_offline(True)
    tile = z18[len(z18) // 2]
    status = page.evaluate(f"fetch('/imagery/{image.pk}/tiles/{tile.z}/{tile.x}/{tile.y}.png').then(r => [r.status, r.headers.get('content-type')])")
    assert status == [200, "image/png"], "a saved imagery tile is served from the device while offline"
    page.reload()  # offline: the page from the service worker, nearby assets from the device
    page.wait_for_selector("#net[data-online='0']")
    page.wait_for_selector("#nearby li.item-pju", state="attached")
    assert "PJU-AREA-1" in page.inner_text("#nearby")
    # …and the orthophoto is drawn again from the saved tiles.
    page.wait_for_function(f"[...document.querySelectorAll('.leaflet-tile')].some(t => t.src.includes('/imagery/{image.pk}/tiles/') && t.complete && t.naturalWidth === 256)")
    page.screenshot(path=str(output_dir / "webapp_field_offline_area.png"))
    context.set_offline(False)
    assert log.foreign_hosts() == set()
    close_context(context)


def test_records_wait_through_an_expired_login_and_are_sent_after_logging_in_again(browser, live_server, officer):
    from django.contrib.sessions.models import Session

    context, page, log = phone(browser, live_server, officer)
    context.set_offline(True)
    page.click("#btn-new-pju")
    fill_record(page, status="off")
    page.wait_for_selector("#pending[data-count='1']")
    Session.objects.all().delete()  # the session expired while the officer was out of coverage
    context.set_offline(False)
    page.click("#sync")
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_function("document.querySelector('#queue li.record').innerText.includes('masuk lagi')")
    assert queue_states(page) == ["pending"]
    assert StreetLight.objects.count() == 0

    context.add_cookies([login_cookie(live_server, officer)])  # logged in again (the app shell stays open)
    page.click("#sync")
    page.wait_for_selector("#pending[data-count='0']", timeout=15000)
    assert queue_states(page) == ["sent"]
    light = StreetLight.objects.get()
    assert light.status == "off" and Photo.objects.filter(layer="pju", object_id=light.pk).count() == 1
    close_context(context)


def test_the_officer_sees_and_edits_a_pjus_controller_id(browser, live_server, officer):
    """Issue 16: the smart-light controller of a PJU is shown in the nearby list, prefilled in the
    update form, and a changed id reaches the server through the queue."""
    light = StreetLight.objects.create(code="PJU-KTRL-1", status="working", lamp_type="led", controller_id="ctl-old-1",
                                       geom=Point(*moved(*HERE, 12, 0), srid=STORAGE_SRID))
    context, page, log = phone(browser, live_server, officer)
    item = page.locator(f"#nearby li[data-id='{light.pk}']")
    item.wait_for()
    assert "ctl-old-1" in item.inner_text()
    item.locator(".btn-update-pju").click()
    page.wait_for_selector("#form-dialog[open]")
    field = page.locator("#form-fields input[name=controller_id]")
    assert field.input_value() == "ctl-old-1"
    field.fill("  ctl-new-7 ")
    fill_record(page)
    page.click(".tabs button[data-tab=queue]")
    page.wait_for_selector("#queue li.record[data-state='sent']", timeout=20000)
    light.refresh_from_db()
    assert (light.controller_id, light.version) == ("ctl-new-7", 2)
    assert [e for e in log.errors] == []
    close_context(context)
