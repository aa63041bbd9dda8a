"""Issue 16 on the planner map: a real MQTT message (Mosquitto → the ingest
worker → PostgreSQL NOTIFY → /api/live/ SSE → live/live.js `geo:live`) turns
the PJU's dot on the map to the new status colour, by restyling that one
feature through the VectorGrid adapter: no PJU tile is requested again.
(How fast is measured by `make bench`, not asserted here.)"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.layers.api_support import user_in
from tests.live.conftest import live_db  # noqa: F401 - the live tables' fixture (committed transactions)
from tests.live.support import TANGERANG, UTC, Publisher, ThreadWorker, make_pju, unique_root
from tests.webapp.conftest import PageLog, close_context, login_cookie
from webapp.labels import STATUS_COLOURS

pytestmark = pytest.mark.usefixtures("live_db")

DRAWN_FILL = """id => {
  for (const r of Object.values(GP.layers.pju._vectorTiles)) {
    const f = r._features[id];
    if (f) return f.feature.options.fillColor;
  }
  return null;
}"""
# The colour actually painted at the feature's centre on its tile canvas (unpremultiplied RGB).
PAINTED = """id => {
  for (const r of Object.values(GP.layers.pju._vectorTiles)) {
    const f = r._features[id];
    if (!f) continue;
    const p = f.feature._point, ctx = r._container.getContext("2d");
    const scale = r._container.width / r.getContainer().clientWidth || 1;
    const d = ctx.getImageData(Math.round(p.x * scale), Math.round(p.y * scale), 1, 1).data;
    return [d[0], d[1], d[2], d[3]];
  }
  return null;
}"""


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


@pytest.fixture
def mqtt_env():
    root = unique_root()
    pub = Publisher(root)
    worker = ThreadWorker(root)
    yield pub
    worker.stop()
    pub.close()


def test_a_status_message_recolours_the_pju_on_the_map_without_reloading_tiles(browser, live_server, mqtt_env):
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "map-live-1", status="working")
    from layers.permissions import ensure_groups

    ensure_groups()
    planner = user_in("planner", name="peta")
    assert STATUS_COLOURS["working"] != STATUS_COLOURS["off"]

    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="id-ID", bypass_csp=True)
    context.add_cookies([login_cookie(live_server, planner)])
    page = context.new_page()
    log = PageLog(page, live_server.url)
    page.goto(f"{live_server.url}/map/?layers=pju#18/{lat}/{lon}")
    page.wait_for_function("window.GP && GP.ready === true", timeout=30000)
    page.wait_for_function("id => { for (const r of Object.values(GP.layers.pju._vectorTiles)) if (r._features[id]) return true; return false; }",
                           arg=pju.pk, timeout=30000)
    page.wait_for_function("!GP.layers.pju.isLoading()", timeout=30000)
    assert page.evaluate(DRAWN_FILL, pju.pk) == STATUS_COLOURS["working"]
    painted = page.evaluate(PAINTED, pju.pk)
    assert painted[3] > 0 and all(abs(a - b) <= 3 for a, b in zip(painted, rgb(STATUS_COLOURS["working"]))), painted
    page.wait_for_function("window.geoLive && geoLive.readyState === EventSource.OPEN", timeout=30000)
    tiles_before = len(log.paths("/tiles/pju/"))
    assert tiles_before >= 1

    # 22:00 WIB two days ago: night at Tangerang, so a lamp reporting "off" is a fault → status "off"
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    night = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
    mqtt_env.send_all([("map-live-1", "telemetry", {"ts": night.isoformat(), "power_state": "off", "level": 0})])

    page.wait_for_function(f"id => ({DRAWN_FILL})(id) === {STATUS_COLOURS['off']!r}", arg=pju.pk, timeout=30000)
    painted = page.evaluate(PAINTED, pju.pk)
    assert all(abs(a - b) <= 3 for a, b in zip(painted, rgb(STATUS_COLOURS["off"]))), painted
    assert page.evaluate("id => GP.liveStatus[String(id)].status", pju.pk) == "off"
    assert len(log.paths("/tiles/pju/")) == tiles_before, "the PJU tiles were requested again"
    assert [e for e in log.errors if e.startswith("pageerror")] == [], log.errors

    # the override holds for tiles drawn later (a zoom draws new ones)
    page.evaluate("() => { gpMap.setZoom(17, {animate: false}); return true; }")
    page.wait_for_function(f"id => ({DRAWN_FILL})(id) === {STATUS_COLOURS['off']!r} && !GP.layers.pju.isLoading()", arg=pju.pk, timeout=30000)
    close_context(context)
