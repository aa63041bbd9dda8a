"""Alarm rules through the real broker, at each PJU's own sun times: an
equatorial city (Tangerang), a northern one (Oslo) and a far-southern one
(Punta Arenas), whose nights differ by hours on the same date. Times are
chosen from the sunrise equation in tests/live/support.py (an independent
formula), an hour away from sunset/sunrise so its ~1 min error cannot
matter; the 15-minute twilight margin is checked at sunset + 5 min.
Then the work-order loop: alarm → order (source sensor) → field close →
`verified` only when telemetry confirms."""
import io
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from layers.models import AuditLog
from live import alarms
from live.models import Alarm, LiveState
from needs.models import WorkOrder
from tests.layers.api_support import client_for, user_in
from tests.live.support import (
    OSLO, PUNTA_ARENAS, TANGERANG, UTC, Publisher, ThreadWorker, make_pju, midnight_longitude, sun_times, unique_root, wait_for,
)

pytestmark = pytest.mark.usefixtures("live_db")
H = timedelta(hours=1)


@pytest.fixture
def mqtt_env():
    root = unique_root()
    pub = Publisher(root)
    worker = ThreadWorker(root)
    yield pub
    worker.stop()
    pub.close()


def telemetry(ts, state, level=None):
    body = {"ts": ts.isoformat(), "power_state": state}
    if level is not None:
        body["level"] = level
    return body


@pytest.mark.parametrize("city", [TANGERANG, OSLO, PUNTA_ARENAS], ids=["tangerang", "oslo", "punta_arenas"])
def test_night_and_day_rules_follow_the_position(mqtt_env, city):
    pub = mqtt_env
    lat, lon = city
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    sunrise, sunset = sun_times(lat, lon, day)
    cases = {  # controller → (message, expected alarm or None)
        "night-off": (telemetry(sunset + H, "off"), "off_at_night"),
        "dawn-off": (telemetry(sunrise - H, "off"), "off_at_night"),
        "twilight-off": (telemetry(sunset + timedelta(minutes=5), "off"), None),  # inside the 15-min margin
        "day-on": (telemetry(sunrise + H, "on", 100), "day_burning"),
        "day-dimmed": (telemetry(sunset - H, "dimmed", 40), "day_burning"),
        "day-off": (telemetry(sunrise + H, "off"), None),
        "night-on": (telemetry(sunset + H, "on", 100), None),
    }
    pjus = {c: make_pju(lat + 0.0001 * i, lon, c) for i, c in enumerate(cases)}
    pub.send_all([(c, "telemetry", msg) for c, (msg, _) in cases.items()])
    wait_for(lambda: LiveState.objects.count() == len(cases), what="every reading")
    for c, (_, expected) in cases.items():
        got = list(Alarm.objects.filter(pju=pjus[c]).values_list("kind", flat=True))
        assert got == ([expected] if expected else []), (c, got)
    night_off = pjus["night-off"]
    night_off.refresh_from_db()
    assert night_off.status == "off" and night_off.status_origin == "sensor"
    order = WorkOrder.objects.get(pju=night_off)
    assert order.source == "sensor" and order.kind == "broken_pju" and order.status == "open"
    assert Alarm.objects.get(pju=night_off).work_order == order
    # day-burning opens an order too; a working lamp at night sets working
    assert WorkOrder.objects.filter(pju=pjus["day-on"], source="sensor").count() == 1
    on = pjus["night-on"]
    on.refresh_from_db()
    assert on.status == "working" and on.status_origin == "sensor"
    assert WorkOrder.objects.filter(pju__in=[pjus["twilight-off"], pjus["day-off"], on]).count() == 0


def test_the_same_instant_is_night_in_one_city_and_day_in_the_other(mqtt_env):
    """One timestamp, two PJU reporting off: only the one where it is night alarms."""
    pub = mqtt_env
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    # an instant an hour after sunset in Tangerang: 18:00–19:20 UTC+7 → is it night in Oslo and Punta Arenas?
    t = sun_times(*TANGERANG, day)[1] + H
    expect = {}
    for name, (lat, lon) in {"tng": TANGERANG, "osl": OSLO, "pta": PUNTA_ARENAS}.items():
        rise, sset = sun_times(lat, lon, day)
        rise_prev, sset_prev = sun_times(lat, lon, day - timedelta(days=1))
        rise_next, _ = sun_times(lat, lon, day + timedelta(days=1))
        night = (sset + H / 2 < t < rise_next - H / 2) or (sset_prev + H / 2 < t < rise - H / 2)
        day_time = rise + H / 2 < t < sset - H / 2
        if not (night or day_time):
            continue  # too close to this city's twilight for a clear answer today
        expect[name] = "off_at_night" if night else None
        make_pju(lat, lon, name)
    pub.send_all([(name, "telemetry", telemetry(t, "off")) for name in expect])
    wait_for(lambda: LiveState.objects.count() == len(expect), what="the readings")
    assert expect["tng"] == "off_at_night"
    for name, kind in expect.items():
        got = list(Alarm.objects.filter(pju__controller_id=name).values_list("kind", flat=True))
        assert got == ([kind] if kind else []), (name, got)


def test_events_supply_loss_failure_and_silence(mqtt_env):
    pub = mqtt_env
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "ev-1")
    t = datetime.now(UTC) - timedelta(hours=3)
    pub.send_all([("ev-1", "event", {"ts": t.isoformat(), "event": "supply_loss", "detail": "MCB trip"})])
    wait_for(lambda: Alarm.objects.filter(pju=pju, kind="supply_loss").exists(), what="supply_loss alarm")
    pju.refresh_from_db()
    assert pju.status == "off"
    pub.send_all([("ev-1", "event", {"ts": (t + timedelta(minutes=1)).isoformat(), "event": "lamp_failure"})])
    wait_for(lambda: Alarm.objects.filter(pju=pju, kind="lamp_failure").exists(), what="lamp_failure alarm")
    pju.refresh_from_db()
    assert pju.status == "damaged"
    assert WorkOrder.objects.filter(pju=pju).count() == 1  # one order for both alarms
    assert list(AuditLog.objects.filter(object_id=pju.pk, channel="sensor").order_by("id").values_list("changes__status", flat=True)) == ["off", "damaged"]
    pub.send_all([("ev-1", "event", {"ts": (t + timedelta(minutes=2)).isoformat(), "event": "restored"})])
    wait_for(lambda: not Alarm.objects.filter(pju=pju, cleared_at__isnull=True).exists(), what="alarms cleared by restored")
    pju.refresh_from_db()
    assert pju.status == "working"
    # silence: a controller last heard 50 min ago (OFFLINE_AFTER 45 min) goes offline, once
    quiet = make_pju(lat, lon, "quiet")
    now = timezone.now()
    LiveState.objects.create(pju=quiet, power_state="on", last_seen=now - timedelta(minutes=50), last_ts=now - timedelta(minutes=50))
    LiveState.objects.filter(pju=pju).update(last_seen=now)
    assert [n["pju"] for n in alarms.check_silence(now)] == [quiet.pk]
    assert alarms.check_silence(now) == []
    assert Alarm.objects.get(pju=quiet, kind="offline").work_order.source == "sensor"
    summary = client_for(None).get("/api/live/summary/").json()
    assert summary["offline"] == 1 and summary["alarms"] == {"offline": 1}
    # any reading clears offline
    pub.send_all([("quiet", "telemetry", telemetry(now - timedelta(minutes=1), "on", 100))])
    wait_for(lambda: not Alarm.objects.filter(pju=quiet, kind="offline", cleared_at__isnull=True).exists(), what="offline cleared")


def jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 180, 40)).save(buf, format="JPEG")
    return SimpleUploadedFile("x.jpg", buf.getvalue(), content_type="image/jpeg")


def close_in_field(order, planner, officer):
    p, o = client_for(planner), client_for(officer)
    url = f"/api/work-orders/{order.pk}/"
    assert p.post(url + "assign/", {"officer": officer.username}, format="json").status_code == 200
    assert o.post(url + "start/").status_code == 200
    lon, lat = order.pju.geom.x, order.pju.geom.y
    r = o.post(url + "close/", {"photo": jpeg(), "lon": lon, "lat": lat}, format="multipart")
    assert r.status_code == 200, r.content
    order.refresh_from_db()
    assert order.status == "done"


def test_work_order_loop_is_verified_only_by_telemetry(mqtt_env):
    pub = mqtt_env
    planner, officer = user_in("planner", name="plan"), user_in("field_officer", name="budi")
    # a PJU on the equator where it is about midnight now: night by any reckoning
    now = datetime.now(UTC)
    lat, lon = 0.0, midnight_longitude(now)
    pju = make_pju(lat, lon, "wo-1")
    pub.send_all([("wo-1", "telemetry", telemetry(now - timedelta(minutes=30), "off", 0))])
    wait_for(lambda: WorkOrder.objects.filter(pju=pju).exists(), what="the alarm's work order")
    order = WorkOrder.objects.get(pju=pju)
    assert order.source == "sensor" and Alarm.objects.get(pju=pju).kind == "off_at_night"
    close_in_field(order, planner, officer)
    # a reading from before the field close does not verify
    pub.send_all([("wo-1", "telemetry", telemetry(order.done_at - timedelta(seconds=30), "off", 0))])
    wait_for(lambda: LiveState.objects.get(pju=pju).last_ts == order.done_at - timedelta(seconds=30), what="the old reading")
    order.refresh_from_db()
    assert order.status == "done" and order.verified_at is None
    # the light reports on at night after the close: verified, alarm cleared
    pub.send_all([("wo-1", "telemetry", telemetry(datetime.now(UTC), "on", 100))])
    wait_for(lambda: WorkOrder.objects.get(pk=order.pk).status == "verified", what="verification")
    order.refresh_from_db()
    assert order.verified_at and order.verified_at >= order.done_at
    assert not Alarm.objects.filter(pju=pju, cleared_at__isnull=True).exists()
    # the order API shows it
    props = client_for(planner).get(f"/api/work-orders/{order.pk}/").json()["properties"]
    assert props["status"] == "verified" and props["source"] == "sensor"


def test_restored_event_verifies_and_a_pju_without_controller_stays_done(mqtt_env):
    pub = mqtt_env
    planner, officer = user_in("planner", name="plan"), user_in("field_officer", name="budi")
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "wo-2")
    t = datetime.now(UTC) - timedelta(hours=2)
    pub.send_all([("wo-2", "event", {"ts": t.isoformat(), "event": "lamp_failure"})])
    wait_for(lambda: WorkOrder.objects.filter(pju=pju).exists(), what="the alarm's work order")
    order = WorkOrder.objects.get(pju=pju)
    close_in_field(order, planner, officer)
    pub.send_all([("wo-2", "event", {"ts": datetime.now(UTC).isoformat(), "event": "restored"})])
    wait_for(lambda: WorkOrder.objects.get(pk=order.pk).status == "verified", what="verification by restored")
    # without a controller an order closed in the field simply stays done
    plain = make_pju(lat, lon, "", status="off")
    from needs.work_orders import work_order_create

    o2 = work_order_create(user=planner, kind="broken_pju", target=plain.pk)
    close_in_field(o2, planner, officer)
    o2.refresh_from_db()
    assert o2.status == "done" and o2.source == "planner"
