"""Ingest through a real Mosquitto (MQTT_URL): every payload kind of SPEC §7,
bad messages dead-lettered with their reason while the worker keeps going,
and a SIGKILLed worker losing and doubling nothing of a QoS 1 burst."""
import json
import os
import signal
from datetime import datetime, timedelta

import pytest
from django.db import connection

from layers.models import AuditLog
from live.models import DeadLetter, LiveEvent, LiveState, TelemetryHourly
from tests.live.support import (
    TANGERANG, UTC, Publisher, ThreadWorker, count, make_pju, start_worker_process, stop_worker_process, unique_root, wait_for, yesterday,
)

pytestmark = pytest.mark.usefixtures("live_db")


@pytest.fixture
def mqtt_env():
    root = unique_root()
    pub = Publisher(root)
    worker = ThreadWorker(root)
    yield root, pub, worker
    worker.stop()
    pub.close()


def at(hour, minute=0, day=None):
    d = day or yesterday()
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def test_every_payload_kind_is_stored(mqtt_env):
    root, pub, worker = mqtt_env
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "ctl-a")
    t0 = at(15)  # 22:00 WIB: night in Tangerang all year (sunset 17:40–18:20 WIB)
    pub.send_all([
        ("ctl-a", "telemetry", {"ts": t0.isoformat(), "power_state": "on", "level": 100, "active_power_w": 98.5,
                                "active_energy_kwh": 1000.0, "operating_hours": 5000.0, "voltage_v": 221.4}),
        # epoch milliseconds, dimmed, 10 minutes later
        ("ctl-a", "telemetry", {"ts": int((t0 + timedelta(minutes=10)).timestamp() * 1000), "power_state": "dimmed",
                                "level": 50, "active_power_w": 49.0, "active_energy_kwh": 1000.0165,
                                "operating_hours": 5000.17, "voltage_v": 220.0}),
        # ISO with the city's own offset (+07:00) = t0 + 20 min
        ("ctl-a", "telemetry", {"ts": (t0 + timedelta(hours=7, minutes=20)).strftime("%Y-%m-%dT%H:%M:%S+07:00"),
                                "power_state": "on", "level": 100}),
    ])
    for i, ev in enumerate(["tilt", "door_open", "lamp_unexpected_on", "restored"]):
        pub.send_all([("ctl-a", "event", {"ts": (t0 + timedelta(minutes=30 + i)).isoformat(), "event": ev, "detail": f"d{i}"})])
    wait_for(lambda: count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk]) == 3
             and LiveEvent.objects.filter(pju=pju).count() == 4, what="3 readings and 4 events")
    with connection.cursor() as cur:
        cur.execute("SELECT ts, power_state, level, active_power_w, active_energy_kwh FROM live_telemetry WHERE pju_id = %s ORDER BY ts", [pju.pk])
        got = cur.fetchall()
    assert [g[0] for g in got] == [t0, t0 + timedelta(minutes=10), t0 + timedelta(minutes=20)]
    assert [g[1] for g in got] == [1, 2, 1] and got[1][2] == 50 and got[0][3] == pytest.approx(98.5)
    state = LiveState.objects.get(pju=pju)
    assert state.power_state == "on" and state.last_ts == t0 + timedelta(minutes=20) and state.last_seen
    assert state.active_energy_kwh == pytest.approx(1000.0165)  # kept when a reading omits the counter
    # the hourly rollup is rebuilt from the raw rows by the worker's rollup thread (live/rollups.py)
    hourly = wait_for(lambda: TelemetryHourly.objects.filter(pju=pju, messages=3).first(), what="the hourly rollup")
    assert hourly.messages == 3
    assert hourly.energy_kwh == pytest.approx(0.0165, abs=1e-6)  # 1000.0165 − 1000.0
    assert hourly.burning_s == pytest.approx(1200) and hourly.reported_s == pytest.approx(1200)
    assert sorted(LiveEvent.objects.filter(pju=pju).values_list("event", flat=True)) == ["door_open", "lamp_unexpected_on", "restored", "tilt"]
    # on at night: the status becomes working, set by the sensor and audited with channel sensor
    pju.refresh_from_db()
    assert pju.status == "working" and pju.status_origin == "sensor"
    audit = AuditLog.objects.filter(layer="pju", object_id=pju.pk, channel="sensor").first()
    assert audit and audit.changes["status"] == "working" and audit.before["status"] == "unknown"
    # the history through the API
    from rest_framework.test import APIClient

    r = APIClient().get(f"/api/pju/{pju.pk}/telemetry/", {"from": (t0 - timedelta(minutes=1)).isoformat(), "to": (t0 + timedelta(hours=1)).isoformat()})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 3 and [x["power_state"] for x in body["results"]] == ["on", "dimmed", "on"]
    assert APIClient().get(f"/api/pju/{pju.pk}/telemetry/", {"from": "yesterday"}).status_code == 400
    assert DeadLetter.objects.count() == 0


def test_bad_messages_are_dead_lettered_and_the_worker_goes_on(mqtt_env, admin_client):
    root, pub, worker = mqtt_env
    lat, lon = TANGERANG
    pju = make_pju(lat, lon, "ctl-b")
    t0 = at(15)
    now = datetime.now(UTC)
    good = {"ts": t0.isoformat(), "power_state": "on", "level": 100}
    bad = [
        (("ctl-b", "telemetry", None), {"raw": b"{not json"}, "malformed_json"),
        (("ctl-b", "telemetry", None), {"raw": b"[1, 2, 3]"}, "not_object"),
        (("ctl-b", "telemetry", None), {"raw": b"\xff\xfe\x00garbage"}, "bad_encoding"),
        (("ctl-b", "telemetry", None), {"raw": json.dumps({**good, "pad": "x" * 5000}).encode()}, "oversized"),
        (("nobody", "telemetry", good), {}, "unknown_controller"),
        (("ctl-b", "telemetry", {"power_state": "on"}), {}, "missing_field"),
        (("ctl-b", "telemetry", {**good, "power_state": "blinking"}), {}, "bad_field"),
        (("ctl-b", "telemetry", {**good, "level": 140}), {}, "bad_field"),
        (("ctl-b", "telemetry", {**good, "ts": "half past nine"}), {}, "bad_timestamp"),
        (("ctl-b", "telemetry", {**good, "ts": (now + timedelta(days=2)).isoformat()}), {}, "future_timestamp"),
        (("ctl-b", "telemetry", {**good, "ts": (now - timedelta(days=400)).isoformat()}), {}, "stale"),
        (("ctl-b", "event", {"ts": t0.isoformat(), "event": "alien_landing"}), {}, "unknown_event"),
        (("ctl-b", "ack", {"id": "00000000-0000-0000-0000-000000000000", "ok": True}), {}, "unknown_command"),
        ((None, None, None), {"raw": b"{}", "topic": f"{root}/ctl-b/selfie"}, "bad_topic"),
    ]
    for (ctl, kind, body), extra, _ in bad:
        pub.send(ctl, kind, body, **extra).wait_for_publish(10)
    # then a good reading, and an older one (out of order)
    pub.send_all([("ctl-b", "telemetry", good)])
    pub.send_all([("ctl-b", "telemetry", {**good, "ts": (t0 - timedelta(minutes=5)).isoformat()})])
    expected = [r for *_, r in bad] + ["out_of_order"]
    wait_for(lambda: DeadLetter.objects.count() == len(expected), what=f"{len(expected)} dead letters")
    assert sorted(DeadLetter.objects.values_list("reason", flat=True)) == sorted(expected)
    assert len(set(expected)) >= 10
    assert count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk]) == 1
    assert worker.thread.is_alive()
    # still working after all that
    pub.send_all([("ctl-b", "telemetry", {**good, "ts": (t0 + timedelta(minutes=5)).isoformat()})])
    wait_for(lambda: count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk]) == 2, what="the next reading")
    oversized = DeadLetter.objects.get(reason="oversized")
    assert oversized.controller_id == "ctl-b" and "bytes" in oversized.detail
    # admins see them
    page = admin_client.get("/admin/live/deadletter/")
    assert page.status_code == 200 and b"unknown_controller" in page.content


def test_sigkill_during_a_qos1_burst_loses_and_doubles_nothing():
    """The worker runs as its own process; it is SIGKILLed mid-burst and
    started again with the same client id (the broker kept its session)."""
    root = unique_root()
    lat, lon = TANGERANG
    controllers = [f"k{i}" for i in range(6)]
    pjus = {c: make_pju(lat, lon, c) for c in controllers}
    base = at(2)  # 09:00 WIB
    messages = [(c, "telemetry", {"ts": (base + timedelta(seconds=i)).isoformat(), "power_state": "off", "level": 0,
                                  "active_energy_kwh": 10 + i / 1000})
                for i in range(100) for c in controllers]  # 600 messages, in time order per controller
    client_id = f"{root}-ingest"
    proc = start_worker_process(root, client_id)
    pub = Publisher(root)
    try:
        # the worker has subscribed once the broker routes a probe to it (probes sent before that are lost:
        # the session starts with the worker's first connection)
        make_pju(lat, lon, "probe")
        probes = iter(range(10**6))

        def probe_arrived():
            pub.send_all([("probe", "telemetry", {"ts": (base - timedelta(hours=1, seconds=-next(probes))).isoformat(), "power_state": "off"})])
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            return count("SELECT count(*) FROM live_livestate ls JOIN layers_streetlight p ON p.id = ls.pju_id WHERE p.controller_id = 'probe'")

        wait_for(probe_arrived, 90, every=0.5, what="the worker process to start")
        first, rest = messages[:300], messages[300:]
        infos = [pub.send(*m) for m in first]
        stored = lambda: count("SELECT count(*) FROM live_telemetry WHERE pju_id = ANY(%s)", [[p.pk for p in pjus.values()]])  # noqa: E731
        wait_for(lambda: stored() >= 60, 60, every=0.005, what="part of the burst to be stored")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stderr.close()
        for i in infos:
            i.wait_for_publish(30)
        at_kill = stored()
        assert at_kill < len(messages)
        pub.send_all(rest)  # sent while no worker runs: the broker queues them for the session
        proc = start_worker_process(root, client_id)
        wait_for(lambda: stored() == len(messages), 90, what="all 600 messages after the restart")
        # nothing doubled (the key is (pju, ts)) and nothing rejected
        assert count("SELECT count(DISTINCT (pju_id, ts)) FROM live_telemetry WHERE pju_id = ANY(%s)", [[p.pk for p in pjus.values()]]) == len(messages)
        assert DeadLetter.objects.count() == 0
        wait_for(lambda: sum(TelemetryHourly.objects.filter(pju__in=pjus.values()).values_list("messages", flat=True)) == len(messages),
                 what="the hourly rollups of all 600 messages")
    finally:
        stop_worker_process(proc, 20)
        pub.close()


def test_a_controller_moved_to_another_pju_or_removed_is_followed():
    """The ingest remembers where it found each controller (live/ingest.py `_PJU_IDS`): a controller
    swapped between two PJUs, or taken off its PJU, must not keep feeding the PJU it was on."""
    from live.ingest import Raw, ingest_batch

    root = unique_root()
    a = make_pju(*TANGERANG, "mv-x")
    b = make_pju(*TANGERANG, "mv-y")

    def send(cid, minute, level=100):
        body = {"ts": at(15, minute).isoformat(), "power_state": "dimmed", "level": level}
        return ingest_batch([Raw(f"{root}/{cid}/telemetry", json.dumps(body).encode())], root=root)

    send("mv-x", 0)
    send("mv-y", 0)
    # the controllers are swapped between the two lamps (through a blank id: the ids are unique)
    type(a).objects.filter(pk=a.pk).update(controller_id="")
    type(b).objects.filter(pk=b.pk).update(controller_id="mv-x")
    type(a).objects.filter(pk=a.pk).update(controller_id="mv-y")
    send("mv-x", 10, level=11)
    send("mv-y", 10, level=22)
    rows = lambda pju: count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk])  # noqa: E731
    assert (rows(a), rows(b)) == (2, 2)
    assert count("SELECT level FROM live_telemetry WHERE pju_id = %s AND ts = %s", [b.pk, at(15, 10)]) == 11
    assert count("SELECT level FROM live_telemetry WHERE pju_id = %s AND ts = %s", [a.pk, at(15, 10)]) == 22
    assert (LiveState.objects.get(pju=b).level, LiveState.objects.get(pju=a).level) == (11, 22)
    # and a controller taken off its lamp is unknown from then on
    type(b).objects.filter(pk=b.pk).update(controller_id="")
    result = send("mv-x", 20)
    assert result.stored == 0 and result.dead == {"unknown_controller": 1}
    assert rows(b) == 2
