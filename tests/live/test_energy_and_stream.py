"""Energy (measured vs estimated, hand-worked) and the live SSE stream."""
import io
import json
import queue
import threading
from datetime import datetime, timedelta

import openpyxl
import pytest
import requests
from django.contrib.gis.geos import LineString, Point

from layers.models import Panel, RoadSegment
from live.models import TelemetryHourly
from tests.layers.api_support import client_for, user_in
from tests.live.support import TANGERANG, UTC, Publisher, ThreadWorker, make_pju, sun_times, unique_root, wait_for

pytestmark = pytest.mark.usefixtures("live_db")
TARIFF = 1699.53  # SPEC §7 default, P-3/TR


@pytest.fixture
def mqtt_env():
    root = unique_root()
    pub = Publisher(root)
    worker = ThreadWorker(root)
    yield pub
    worker.stop()
    pub.close()


def test_energy_measured_vs_estimated_by_hand(mqtt_env):
    pub = mqtt_env
    lat, lon = TANGERANG
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    # Night inside [start, end) in Tangerang (UTC+7): from the day's sunset (~11:00 UTC) to the next
    # sunrise (~22:40 UTC), by the independent sunrise equation.
    night_h = (sun_times(lat, lon, day + timedelta(days=1))[0] - sun_times(lat, lon, day)[1]).total_seconds() / 3600
    assert 11 < night_h < 13
    panel = Panel.objects.create(code="P-01", pln_customer_id="532100012345", geom=Point(lon, lat, srid=4326))
    meter = make_pju(lat, lon, "meter", wattage_w=100, lamp_type="led", status="working", panel=panel)
    est = make_pju(lat + 0.0003, lon, "", wattage_w=100, lamp_type="led", status="working", panel=panel)
    sodium = make_pju(lat + 0.0006, lon, "", wattage_w=150, lamp_type="hps", status="unknown")
    illegal = make_pju(lat + 0.0009, lon, "", wattage_w=60, lamp_type="led", status="working", legal=False)
    make_pju(lat + 0.0012, lon, "", wattage_w=250, lamp_type="hps", status="off")  # off: uses nothing
    RoadSegment.objects.create(road_class="local", source="test", source_id="r1",
                               geom=LineString((lon + 0.0001, lat - 0.001), (lon + 0.0001, lat + 0.002), srid=4326))
    # the controller's cumulative counter: 10.0 → 10.4 → 11.2 kWh during the day = 1.2 kWh measured
    for hour, kwh in ((12, 10.0), (16, 10.4), (20, 11.2)):
        pub.send_all([("meter", "telemetry", {"ts": (start + timedelta(hours=hour)).isoformat(), "power_state": "on",
                                              "level": 100, "active_power_w": 100, "active_energy_kwh": kwh})])
    wait_for(lambda: sum(TelemetryHourly.objects.filter(pju=meter).values_list("messages", flat=True)) == 3, what="3 readings")
    c = client_for(user_in("planner", name="plan"))
    assert client_for(None).get("/api/energy/").status_code in (401, 403)
    assert c.get("/api/energy/", {"level": "street"}).status_code == 400
    r = c.get("/api/energy/", {"level": "pju", "from": start.isoformat(), "to": end.isoformat()})
    assert r.status_code == 200, r.content
    rep = r.json()
    assert rep["tariff_rp_kwh"] == TARIFF
    assert rep["night_hours"] == pytest.approx(night_h, abs=0.05)  # ±3 min between the two sun formulae
    rows = {row["key"]: row for row in rep["rows"]}
    assert rows[meter.pk]["measured_kwh"] == pytest.approx(1.2) and rows[meter.pk]["estimated_kwh"] == 0
    assert rows[est.pk]["estimated_kwh"] == pytest.approx(0.100 * night_h, abs=0.005)  # 100 W × night hours
    assert rows[sodium.pk]["estimated_kwh"] == pytest.approx(0.150 * night_h, abs=0.008)
    # LED retrofit: the 150 W sodium lamp on a local road → the 40 W standard LED saves 110 W × night hours
    assert rows[sodium.pk]["led_savings_kwh"] == pytest.approx(0.110 * night_h, abs=0.006)
    assert rows[illegal.pk]["unmetered_pju"] == 1
    expected_kwh = 1.2 + (0.100 + 0.150 + 0.060) * night_h
    assert rep["totals"]["kwh"] == pytest.approx(expected_kwh, abs=0.02)
    assert rep["totals"]["rp"] == pytest.approx(expected_kwh * TARIFF, rel=1e-3)
    assert [u["pju"] for u in rep["unmetered"]] == [illegal.pk]
    assert rep["unmetered"][0]["estimated_kwh"] == pytest.approx(0.060 * night_h, abs=0.004)
    # per panel, with the PLN customer id: meter (measured) + est (estimated)
    pr = c.get("/api/energy/", {"level": "panel", "from": start.isoformat(), "to": end.isoformat()}).json()
    prow = next(x for x in pr["rows"] if x["key"] == panel.pk)
    assert prow["pln_customer_id"] == "532100012345" and prow["measured_pju"] == 1 and prow["estimated_pju"] == 1
    assert prow["kwh"] == pytest.approx(1.2 + 0.1 * night_h, abs=0.01)
    assert prow["rp"] == pytest.approx((1.2 + 0.1 * night_h) * TARIFF, rel=1e-3)
    # the XLSX for the PLN reconciliation
    x = c.get("/api/energy/", {"level": "panel", "from": start.isoformat(), "to": end.isoformat(), "format": "xlsx"})
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    values = [[cell for cell in row] for row in wb["Energi"].iter_rows(values_only=True)]
    assert "532100012345" in [v[2] for v in values]
    assert values[-1][0] == "TOTAL" and values[-1][8] == pytest.approx(pr["totals"]["kwh"])
    assert wb["Tanpa meter"].cell(2, 1).value == illegal.pk


def _reader(url, headers, out: queue.Queue, stop: threading.Event):
    with requests.get(url, headers=headers, stream=True, timeout=60) as resp:
        out.put(("status", resp.status_code, resp.headers.get("Content-Type")))
        event = None
        for line in resp.iter_lines(chunk_size=1, decode_unicode=True):
            if stop.is_set():
                return
            if line.startswith(":"):
                out.put(("comment", line))
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                out.put(("event", event, json.loads(line[6:])))


def _collect(out: queue.Queue, until, timeout=30):
    got = []
    deadline = datetime.now() + timedelta(seconds=timeout)
    while datetime.now() < deadline:
        try:
            item = out.get(timeout=0.5)
        except queue.Empty:
            continue
        got.append(item)
        if until(got):
            return got
    raise AssertionError(f"stream gave {got}")


def test_live_stream_sends_status_changes_and_alarms(mqtt_env, live_server):
    pub = mqtt_env
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "sse-1", status="working")
    planner = user_in("planner", name="plan")
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=planner)
    streams = {}
    stop = threading.Event()
    for who, headers in (("planner", {"Authorization": f"Token {token.key}"}), ("public", {})):
        q = queue.Queue()
        threading.Thread(target=_reader, args=(live_server.url + "/api/live/", headers, q, stop), daemon=True).start()
        first = _collect(q, lambda g: any(i[0] == "comment" and "connected" in i[1] for i in g))
        assert first[0] == ("status", 200, "text/event-stream")
        streams[who] = q
    try:
        day = (datetime.now(UTC) - timedelta(days=2)).date()
        t = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)  # 22:00 WIB: night
        pub.send_all([("sse-1", "telemetry", {"ts": t.isoformat(), "power_state": "off", "level": 0})])
        for who, q in streams.items():
            got = _collect(q, lambda g: {"status", "alarm", "state"} <= {i[1] for i in g if i[0] == "event"})
            events = {i[1]: i[2] for i in got if i[0] == "event"}
            assert events["status"] == {"type": "status", "pju": pju.pk, "status": "off", "before": "working"}
            assert events["alarm"]["kind"] == "off_at_night" and events["alarm"]["action"] == "opened"
            assert events["state"]["power_state"] == "off" and events["state"]["pju"] == pju.pk
            # work orders are never public
            assert ("work_order" in events["alarm"]) == (who == "planner")
        summary = client_for(None).get("/api/live/summary/").json()
        assert summary["controllers"] == 1 and summary["open_alarms"] == 1
    finally:
        stop.set()
