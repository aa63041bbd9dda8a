"""Hourly rollups rebuilt from the raw partitions (live/rollups.py): figures
worked by hand from a known message sequence, late messages, idempotence, and
a mark made while an hour is being rebuilt is not lost."""
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from live import rollups
from live.ingest import Raw, ingest_batch
from live.models import RollupDirty, TelemetryHourly
from tests.live.support import TANGERANG, UTC, make_pju, yesterday

pytestmark = pytest.mark.usefixtures("live_db")
ROOT = "pju"


def at(hour, minute=0):
    d = yesterday()
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def reading(cid, ts, state, kwh=None, watts=None):
    body = {"ts": ts.isoformat(), "power_state": state, "level": 100 if state == "on" else 50 if state == "dimmed" else 0}
    if kwh is not None:
        body["active_energy_kwh"] = kwh
    if watts is not None:
        body["active_power_w"] = watts
    return Raw(f"{ROOT}/{cid}/telemetry", json.dumps(body).encode())


def event(cid, ts, kind):
    return Raw(f"{ROOT}/{cid}/event", json.dumps({"ts": ts.isoformat(), "event": kind}).encode())


def hourly(pju) -> dict:
    return {h.hour: (h.messages, round(h.energy_kwh, 6), h.burning_s, h.reported_s, h.faults, h.max_power_w)
            for h in TelemetryHourly.objects.filter(pju=pju)}


# Lamp A in Tangerang (night at these UTC hours). Worked by hand — a reading speaks for the interval since
# the previous one, capped at 15 min, and belongs to the hour of its ts; kWh = rises of the counter:
#   13:50 on   100.000 kWh  first reading ever          → 13:00: 1 msg, 0 s, 0 kWh
#   14:05 on   100.020       15 min = 900 s (cap)        → 14:00: burn 900, rep 900, +0.020
#   14:10 dim  100.030        5 min = 300 s              →        burn 300, rep 300, +0.010
#   14:20 off  (no counter)  10 min = 600 s, off         →        burn   0, rep 600
#   14:30 event lamp_failure                             →        1 fault
#   14:50 on   100.035       30 min → capped 900 s       →        burn 900, rep 900, +0.005 (vs 100.030)
#   15:00 on    99.000       10 min = 600 s, counter reset → 15:00: burn 600, rep 600, +0 kWh
# 14:00 → 4 messages, burning 2,100 s, reported 2,700 s (availability 0.75), 0.035 kWh, max 95 W.
EXPECTED_A = {
    at(13): (1, 0.0, 0.0, 0.0, 0, 90.0),
    at(14): (4, 0.035, 2100.0, 2700.0, 1, 95.0),
    at(15): (1, 0.0, 600.0, 600.0, 0, 80.0),
}


def test_rollup_hand_worked_late_messages_and_idempotence():
    lat, lon = TANGERANG
    a = make_pju(lat, lon, "roll-a")
    b = make_pju(lat + 0.001, lon, "roll-b")
    ingest_batch([reading("roll-a", at(13, 50), "on", 100.0, 90), reading("roll-a", at(14, 5), "on", 100.02, 95),
                  reading("roll-a", at(14, 10), "dimmed", 100.03, 50), reading("roll-a", at(14, 20), "off", None, 0)], root=ROOT)
    # nothing is aggregated by the batch itself: the hours are only marked
    assert not TelemetryHourly.objects.filter(pju=a).exists()
    assert set(RollupDirty.objects.values_list("hour", flat=True)) == {at(13), at(14)}
    rollups.run()
    assert not RollupDirty.objects.exists()
    assert hourly(a)[at(14)] == (3, 0.03, 1200.0, 1800.0, 0, 95.0)  # 900+300 burning, 900+300+600 reported
    # late: the rest of A's hour, and B's reading for 14:00 that a controller buffered, arrive after the run
    ingest_batch([event("roll-a", at(14, 30), "lamp_failure"), reading("roll-a", at(14, 50), "on", 100.035, 90),
                  reading("roll-a", at(15, 0), "on", 99.0, 80), reading("roll-b", at(14, 40), "on", 5.0, 60)], root=ROOT)
    assert set(RollupDirty.objects.values_list("hour", flat=True)) == {at(14), at(15)}
    rollups.run()
    assert hourly(a) == EXPECTED_A
    assert hourly(b) == {at(14): (1, 0.0, 0.0, 0.0, 0, 60.0)}  # a first reading speaks for no time
    # idempotent: rebuilding again (all hours, or a run with nothing marked) changes nothing
    assert rollups.run() == {"hours": 0, "cleared": 0}
    rollups.rebuild(at(12), at(17))
    rollups.rebuild(at(12), at(17))
    assert hourly(a) == EXPECTED_A and TelemetryHourly.objects.filter(pju__in=[a, b]).count() == 4
    # a redelivered (duplicate) message changes nothing either
    ingest_batch([reading("roll-a", at(14, 5), "on", 100.02, 95)], root=ROOT)
    rollups.run()
    assert hourly(a) == EXPECTED_A


def test_previous_reading_before_the_hour_counts():
    """Readings 4 hours apart: each hour's kWh is the rise since the previous reading (found before the
    hour by the index probe), the interval is capped at 15 min."""
    lat, lon = TANGERANG
    c = make_pju(lat, lon, "roll-c")
    ingest_batch([reading("roll-c", at(8), "on", 10.0), reading("roll-c", at(12, 30), "on", 10.4),
                  reading("roll-c", at(16, 59), "dimmed", 11.2)], root=ROOT)
    rollups.run()
    got = hourly(c)
    assert got[at(8)][:4] == (1, 0.0, 0.0, 0.0)
    assert got[at(12)][:4] == (1, 0.4, 900.0, 900.0)
    assert got[at(16)][:4] == (1, 0.8, 900.0, 900.0)
    assert sum(v[1] for v in got.values()) == pytest.approx(1.2)


def test_a_mark_made_during_a_rebuild_is_kept():
    """The rollup thread read the mark (gen g); a batch commits into the same hour before the rebuild
    clears it: the mark survives (gen moved on) and the next run includes the new reading."""
    lat, lon = TANGERANG
    d = make_pju(lat, lon, "roll-d")
    ingest_batch([reading("roll-d", at(10, 0), "on", 1.0)], root=ROOT)
    with connection.cursor() as cur:
        cur.execute("SELECT gen FROM live_rollupdirty WHERE hour = %s", [at(10)])
        gen = cur.fetchone()[0]
    ingest_batch([reading("roll-d", at(10, 10), "on", 1.5)], root=ROOT)  # marks 10:00 again (gen + 1)
    assert rollups.rebuild_marked(at(10), gen) is False  # rebuilt, but the newer mark stays
    assert RollupDirty.objects.filter(hour=at(10)).exists()
    assert rollups.run() == {"hours": 1, "cleared": 1}
    assert hourly(d)[at(10)][:4] == (2, 0.5, 600.0, 600.0)


def test_live_rollup_command():
    lat, lon = TANGERANG
    e = make_pju(lat, lon, "roll-e")
    ingest_batch([reading("roll-e", at(9, 0), "on", 2.0), reading("roll-e", at(9, 5), "on", 2.25)], root=ROOT)
    call_command("live_rollup")  # the marked hours
    assert hourly(e)[at(9)][:4] == (2, 0.25, 300.0, 300.0) and not RollupDirty.objects.exists()
    TelemetryHourly.objects.filter(pju=e).delete()
    call_command("live_rollup", "--from", at(8).isoformat(), "--to", at(10).isoformat())  # a range, from the raw rows
    assert hourly(e)[at(9)][:4] == (2, 0.25, 300.0, 300.0)
    for bad in (["--from", at(8).isoformat()], ["--from", at(10).isoformat(), "--to", at(8).isoformat()],
                ["--from", "yesterday", "--to", at(8).isoformat()]):
        with pytest.raises(CommandError):
            call_command("live_rollup", *bad)
