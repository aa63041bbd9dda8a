"""Hourly rollups per PJU, rebuilt from the raw partitions (SPEC §7, issue 16).

The ingest batch only marks the hours it touched (`mark`, one small upsert
into `live_rollupdirty`); `run` — the worker's rollup thread, every
LIVE_ROLLUP_SECONDS — recomputes each marked hour from `live_telemetry` with
one set-based statement and replaces that hour's rows in
`live_telemetryhourly`. So:

* idempotent: an hour computed twice gives the same rows (values are
  replaced, never added);
* late data: a message arriving hours late (a worker catching up, a
  controller that buffered) marks its hour again and the hour is rebuilt;
* no lost marks: each mark bumps the row's `gen`, and `run` deletes a mark
  only if `gen` is still what it read before computing — a batch committed
  meanwhile keeps its hour marked for the next run.

Per PJU and hour H (a reading speaks for the interval since the PJU's
previous reading, capped at GAP_CAP, and belongs to the hour of its `ts`):

* `messages`  — readings with ts in H;
* `reported_s` — Σ min(ts − previous ts, GAP_CAP) over those readings
  (availability = reported_s / 3600); the PJU's first reading counts 0;
* `burning_s` — the same sum over readings that are `on` or `dimmed`;
* `energy_kwh` — Σ of the counter's increases (`active_energy_kwh` minus the
  PJU's previous reported counter; a decrease — a reset — counts 0);
* `faults` — `lamp_failure` and `supply_loss` events in H;
* `max_power_w` — the highest `active_power_w` reported in H.

The previous reading is looked for up to PREVIOUS_WITHIN before the hour
(one index probe per PJU silent for the 15 minutes before H; at most two
daily partitions)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction

log = logging.getLogger(__name__)
GAP_CAP = timedelta(minutes=15)  # longest interval one reading speaks for
PREVIOUS_WITHIN = timedelta(days=1)
FAULT_EVENTS = ("lamp_failure", "supply_loss")

HOUR_SQL = """
WITH t AS (
    SELECT pju_id, ts, power_state, active_power_w, lag(ts) OVER (PARTITION BY pju_id ORDER BY ts) AS pts
    FROM live_telemetry WHERE ts >= %(lo)s AND ts < %(h1)s
), d AS (
    SELECT t.pju_id, t.power_state, t.active_power_w, extract(epoch FROM t.ts - coalesce(t.pts, p.ts)) AS d
    FROM t LEFT JOIN LATERAL (
        SELECT x.ts FROM live_telemetry x
        WHERE t.pts IS NULL AND x.pju_id = t.pju_id AND x.ts < %(lo)s AND x.ts >= %(back)s
        ORDER BY x.ts DESC LIMIT 1
    ) p ON true
    WHERE t.ts >= %(h0)s
), tel AS (  -- NULL d (a PJU's first reading) stays NULL: counted 0
    SELECT pju_id, count(*) AS n,
           sum(CASE WHEN power_state <> 0 THEN (CASE WHEN d > %(cap)s THEN %(cap)s ELSE d END) END) AS burn,
           sum(CASE WHEN d > %(cap)s THEN %(cap)s ELSE d END) AS rep,
           max(active_power_w) AS maxw
    FROM d GROUP BY pju_id
), e AS (
    SELECT pju_id, ts, active_energy_kwh AS kwh, lag(active_energy_kwh) OVER (PARTITION BY pju_id ORDER BY ts) AS pkwh
    FROM live_telemetry WHERE ts >= %(lo)s AND ts < %(h1)s AND active_energy_kwh IS NOT NULL
), en AS (
    SELECT e.pju_id, sum(CASE WHEN e.kwh >= coalesce(e.pkwh, p.kwh) THEN e.kwh - coalesce(e.pkwh, p.kwh) ELSE 0 END) AS kwh
    FROM e LEFT JOIN LATERAL (
        SELECT x.active_energy_kwh AS kwh FROM live_telemetry x
        WHERE e.pkwh IS NULL AND x.pju_id = e.pju_id AND x.ts < %(lo)s AND x.ts >= %(back)s AND x.active_energy_kwh IS NOT NULL
        ORDER BY x.ts DESC LIMIT 1
    ) p ON true
    WHERE e.ts >= %(h0)s
    GROUP BY e.pju_id
), f AS (
    SELECT pju_id, count(*) AS faults FROM live_liveevent
    WHERE ts >= %(h0)s AND ts < %(h1)s AND event = ANY(%(faults)s)
    GROUP BY pju_id
)
INSERT INTO live_telemetryhourly (pju_id, hour, messages, energy_kwh, burning_s, reported_s, faults, max_power_w)
SELECT coalesce(tel.pju_id, f.pju_id), %(h0)s, coalesce(tel.n, 0), coalesce(en.kwh, 0), coalesce(tel.burn, 0),
       coalesce(tel.rep, 0), coalesce(f.faults, 0), tel.maxw
FROM tel LEFT JOIN en ON en.pju_id = tel.pju_id FULL JOIN f ON f.pju_id = tel.pju_id
ON CONFLICT (pju_id, hour) DO UPDATE SET messages = EXCLUDED.messages, energy_kwh = EXCLUDED.energy_kwh,
    burning_s = EXCLUDED.burning_s, reported_s = EXCLUDED.reported_s, faults = EXCLUDED.faults,
    max_power_w = EXCLUDED.max_power_w
"""


def hour_of(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def mark(cur, hours) -> None:
    """Mark `hours` (aware datetimes on the hour) for the next rollup run; in
    the caller's transaction, so the mark commits with the rows it covers."""
    from live.ingest import arr

    cur.execute(
        "INSERT INTO live_rollupdirty (hour, gen) SELECT h, 1 FROM unnest(%s::timestamptz[]) h ORDER BY h "
        "ON CONFLICT (hour) DO UPDATE SET gen = live_rollupdirty.gen + 1",
        [arr(sorted(hours))],
    )


def rebuild_hour(hour: datetime) -> int:
    """Recompute one hour's rollup rows from the raw telemetry. Returns the rows written."""
    h0 = hour_of(hour)
    lo = h0 - GAP_CAP
    with connection.cursor() as cur:
        cur.execute(HOUR_SQL, {"h0": h0, "h1": h0 + timedelta(hours=1), "lo": lo, "back": lo - PREVIOUS_WITHIN,
                               "cap": GAP_CAP.total_seconds(), "faults": list(FAULT_EVENTS)})
        return cur.rowcount


def rebuild_marked(hour: datetime, gen: int) -> bool:
    """Rebuild a marked hour and clear its mark if nobody marked it again
    (same `gen`) meanwhile. Returns whether the mark was cleared."""
    with transaction.atomic():
        rebuild_hour(hour)
        with connection.cursor() as cur:  # last: a batch marking the hour meanwhile bumped gen and keeps it
            cur.execute("DELETE FROM live_rollupdirty WHERE hour = %s AND gen = %s", [hour, gen])
            return cur.rowcount == 1


def run(limit: int = 48) -> dict:
    """Rebuild the marked hours (oldest first, at most `limit` per call)."""
    with connection.cursor() as cur:
        cur.execute("SELECT hour, gen FROM live_rollupdirty ORDER BY hour LIMIT %s", [limit])
        marked = cur.fetchall()
    cleared = sum(rebuild_marked(hour, gen) for hour, gen in marked)
    return {"hours": len(marked), "cleared": cleared}


def rebuild(start: datetime, end: datetime) -> dict:
    """Rebuild every hour in [start, end) now (after a restore or a bulk load)."""
    hours, rows, h = 0, 0, hour_of(start)
    while h < end:
        with transaction.atomic():
            rows += rebuild_hour(h)
        hours, h = hours + 1, h + timedelta(hours=1)
    return {"hours": hours, "rows": rows}
