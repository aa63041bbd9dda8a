"""Several ingest processes on one MQTT 5 shared subscription
(`pju_ingest --processes N`): a SIGKILLed child loses and doubles nothing,
and readings of one controller spread over two workers leave the latest on
the live state ("latest wins" in SQL) with late readings kept, while a
reading older than the reorder window is still dead-lettered."""
import os
import signal
from datetime import datetime, timedelta

import pytest

from live import ingest
from live.ingest import Raw, ingest_batch
from live.models import DeadLetter, LiveState, TelemetryHourly
from tests.live.support import (
    TANGERANG, UTC, Publisher, ThreadWorker, child_pids, count, make_pju, start_worker_process, stop_worker_process, unique_root, wait_for,
    yesterday,
)

pytestmark = pytest.mark.usefixtures("live_db")


def at(hour, minute=0, second=0):
    d = yesterday()
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=UTC)


def reading(ts, kwh=None):
    import json

    return json.dumps({"ts": ts.isoformat(), "power_state": "off", "level": 0, "active_energy_kwh": kwh}).encode()


def test_late_readings_within_the_window_are_kept_and_older_ones_dead_lettered():
    """ingest_batch as a process of a shared group sees them: the state keeps the latest."""
    root = unique_root()
    pju = make_pju(*TANGERANG, "late1")
    topic = f"{root}/late1/telemetry"
    r = ingest_batch([Raw(topic, reading(at(3, 10), 5.0))], root=root, shared=True)
    assert r.stored == 1
    # 5 min older: late, stored in the history, the live state stays at 03:10
    r = ingest_batch([Raw(topic, reading(at(3, 5), 4.0))], root=root, shared=True)
    assert (r.stored, r.dead_total) == (1, 0)
    state = LiveState.objects.get(pju=pju)
    assert state.last_ts == at(3, 10) and state.active_energy_kwh == 5.0
    # the same late reading again: a duplicate
    r = ingest_batch([Raw(topic, reading(at(3, 5), 4.0))], root=root, shared=True)
    assert (r.stored, r.duplicates) == (0, 1)
    # 20 min older than the last (window 15 min): out of order
    assert ingest.REORDER_WINDOW == timedelta(minutes=15)
    r = ingest_batch([Raw(topic, reading(at(2, 50), 3.0))], root=root, shared=True)
    assert (r.stored, dict(r.dead)) == (0, {"out_of_order": 1})
    # a single worker keeps the strict rule: anything older is out of order
    r = ingest_batch([Raw(topic, reading(at(3, 7), 4.5))], root=root)
    assert (r.stored, dict(r.dead)) == (0, {"out_of_order": 1})
    assert count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk]) == 2
    assert list(DeadLetter.objects.values_list("reason", flat=True)) == ["out_of_order", "out_of_order"]


def test_two_workers_on_a_shared_subscription_keep_the_latest_state():
    root = unique_root()
    controllers = [f"o{i}" for i in range(4)]
    pjus = {c: make_pju(*TANGERANG, c) for c in controllers}
    group = f"{root}-g"
    workers = [ThreadWorker(root, client_id=f"{group}-{i}", shared_group=group, duties=i == 0) for i in range(2)]
    pub = Publisher(root)
    try:
        base = at(4)
        n = 150  # per controller, 1 s apart, interleaved: the broker alternates them between the two workers
        pub.send_all([(c, "telemetry", {"ts": (base + timedelta(seconds=i)).isoformat(), "power_state": "on" if i % 2 else "off",
                                        "level": i % 100, "active_energy_kwh": 100 + i})
                      for i in range(n) for c in controllers])
        ids = [p.pk for p in pjus.values()]
        wait_for(lambda: count("SELECT count(*) FROM live_telemetry WHERE pju_id = ANY(%s)", [ids]) == n * len(controllers),
                 60, what="all readings stored")
        assert all(w.worker.stats["received"] > 0 for w in workers), [w.worker.stats for w in workers]
        assert DeadLetter.objects.count() == 0
        last = base + timedelta(seconds=n - 1)
        for c, p in pjus.items():  # the last reading (odd i: on, level 149 % 100, kWh 249) whichever worker stored it
            s = LiveState.objects.get(pju=p)
            assert (s.last_ts, s.power_state, s.level, s.active_energy_kwh) == (last, "on", 49, 249.0), c
        # an old reading now is out of order, whichever worker gets it
        pub.send_all([(c, "telemetry", {"ts": (base - timedelta(hours=1)).isoformat(), "power_state": "off"}) for c in controllers])
        wait_for(lambda: DeadLetter.objects.filter(reason="out_of_order").count() == len(controllers), 30, what="dead letters")
    finally:
        for w in workers:
            w.stop()
        pub.close()


def test_sigkill_of_one_of_two_processes_loses_and_doubles_nothing():
    """`pju_ingest --processes 2`: one child is SIGKILLed mid-burst; the supervisor starts it again
    with the same client id and the broker delivers what it had not acknowledged."""
    root = unique_root()
    controllers = [f"s{i}" for i in range(6)]
    pjus = {c: make_pju(*TANGERANG, c) for c in controllers}
    base = at(2)
    messages = [(c, "telemetry", {"ts": (base + timedelta(seconds=i)).isoformat(), "power_state": "off", "level": 0,
                                  "active_energy_kwh": 10 + i / 1000})
                for i in range(100) for c in controllers]
    proc = start_worker_process(root, f"{root}-ingest", processes=2)
    pub = Publisher(root)
    try:
        make_pju(*TANGERANG, "probe")
        probes = iter(range(10**6))

        def both_subscribed():  # each child has stored a probe (its own session exists)
            pub.send_all([("probe", "telemetry", {"ts": (base - timedelta(minutes=10, seconds=-next(probes))).isoformat(), "power_state": "off"})])
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            return len(child_pids(proc.pid)) == 2 and count(
                "SELECT count(*) FROM live_telemetry t JOIN layers_streetlight p ON p.id = t.pju_id WHERE p.controller_id = 'probe'") >= 6

        wait_for(both_subscribed, 120, every=0.5, what="both worker processes to subscribe")
        ids = [p.pk for p in pjus.values()]
        stored = lambda: count("SELECT count(*) FROM live_telemetry WHERE pju_id = ANY(%s)", [ids])  # noqa: E731
        first, rest = messages[:300], messages[300:]
        infos = [pub.send(*m) for m in first]
        wait_for(lambda: stored() >= 60, 60, every=0.005, what="part of the burst to be stored")
        victim = child_pids(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        for i in infos:
            i.wait_for_publish(30)
        assert stored() < len(messages)
        pub.send_all(rest)
        wait_for(lambda: stored() == len(messages), 120, what="all 600 messages after the restart")
        assert victim not in child_pids(proc.pid) and len(child_pids(proc.pid)) == 2
        assert count("SELECT count(DISTINCT (pju_id, ts)) FROM live_telemetry WHERE pju_id = ANY(%s)", [ids]) == len(messages)
        assert DeadLetter.objects.count() == 0
        for p in pjus.values():
            assert LiveState.objects.get(pju=p).last_ts == base + timedelta(seconds=99)
        wait_for(lambda: sum(TelemetryHourly.objects.filter(pju__in=pjus.values()).values_list("messages", flat=True)) == len(messages),
                 what="the hourly rollups of all 600 messages")
        kids = child_pids(proc.pid)
    finally:
        stop_worker_process(proc, 30)
        pub.close()
    assert proc.returncode == 0
    assert not any(os.path.exists(f"/proc/{k}") for k in kids)  # the supervisor stopped and reaped its children


def test_the_live_state_update_keeps_a_newer_state_written_meanwhile():
    """Latest wins in SQL: a batch that read the state before another process wrote a newer one
    (simulated: the snapshot it passes is stale) leaves the newer state alone."""
    from django.db import connection
    from django.utils import timezone

    from live import partitions, protocol

    root = unique_root()
    pju = make_pju(*TANGERANG, "race1")
    topic = f"{root}/race1/telemetry"
    ingest_batch([Raw(topic, reading(at(5, 10), 7.0))], root=root, shared=True)
    now = timezone.now()
    older = protocol.parse(topic, reading(at(5, 5), 6.0), root=root, max_bytes=10**6, now=now, oldest=partitions.oldest_kept(now))
    p = {"id": pju.pk}
    with connection.cursor() as cur:
        ingest._live_state(cur, [(older, p, 0.0, 0.0)], now, {pju.pk: {"last_ts": at(5, 0)}})
    s = LiveState.objects.get(pju=pju)
    assert (s.last_ts, s.active_energy_kwh) == (at(5, 10), 7.0)
    newer = protocol.parse(topic, reading(at(5, 15), 8.0), root=root, max_bytes=10**6, now=now, oldest=partitions.oldest_kept(now))
    with connection.cursor() as cur:
        ingest._live_state(cur, [(newer, p, 0.0, 0.0)], now, {pju.pk: {"last_ts": at(5, 0)}})
    s = LiveState.objects.get(pju=pju)
    assert (s.last_ts, s.active_energy_kwh) == (at(5, 15), 8.0)
