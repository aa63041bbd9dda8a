"""One batch of MQTT messages → one database transaction (SPEC §7 Ingest).

The worker (live/worker.py) acknowledges a batch's messages to the broker
only after `ingest_batch` has committed, so a killed worker loses nothing;
what the broker then delivers again is recognised here as a duplicate
(same PJU and `ts` already stored) and dropped, so nothing is stored twice.

Set-based writes: the raw rows go in with one multi-row INSERT from
arrays (`unnest`), the hourly rollups and live states with one upsert each;
Python only validates, orders and aggregates the batch."""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from live import alarms, partitions, protocol
from live.models import POWER_CODE

log = logging.getLogger(__name__)
GAP_CAP = timedelta(minutes=15)  # longest interval one reading speaks for (burning/availability)
NOTIFY_CHANNEL = "live_events"
NOTIFY_MAX = 7000  # pg_notify payloads must stay under 8000 bytes


@dataclass
class Raw:
    topic: str
    payload: bytes
    received_at: datetime | None = None


@dataclass
class BatchResult:
    received: int = 0
    stored: int = 0
    events: int = 0
    acks: int = 0
    duplicates: int = 0
    dead: dict = field(default_factory=lambda: defaultdict(int))
    notifications: list = field(default_factory=list)

    @property
    def dead_total(self) -> int:
        return sum(self.dead.values())


def _dead_letter(rows: list, raw: Raw, reason: str, detail: str, controller_id: str = "") -> None:
    if not controller_id:
        parts = raw.topic.split("/")
        controller_id = parts[1] if len(parts) == 3 else ""
    text = raw.payload[:2000].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    rows.append((raw.topic[:300], controller_id[:64], reason, detail[:1000], text))


def _pju_rows(controller_ids: list[str]) -> dict[str, dict]:
    if not controller_ids:
        return {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT controller_id, id, ST_Y(geom), ST_X(geom), status FROM layers_streetlight "
            "WHERE controller_id = ANY(%s) AND deleted_at IS NULL",
            [controller_ids],
        )
        return {r[0]: {"id": r[1], "lat": r[2], "lon": r[3], "status": r[4]} for r in cur.fetchall()}


def _states(pju_ids: list[int]) -> dict[int, dict]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pju_id, last_ts, active_energy_kwh, power_state FROM live_livestate WHERE pju_id = ANY(%s)",
            [pju_ids],
        )
        return {r[0]: {"last_ts": r[1], "kwh": r[2], "power_state": r[3]} for r in cur.fetchall()}


def _existing(keys: list[tuple[int, datetime]]) -> set[tuple[int, datetime]]:
    if not keys:
        return set()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT t.pju_id, t.ts FROM live_telemetry t JOIN unnest(%s::bigint[], %s::timestamptz[]) k(pju_id, ts) "
            "ON t.pju_id = k.pju_id AND t.ts = k.ts",
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        return {(r[0], r[1]) for r in cur.fetchall()}


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def ingest_batch(batch: list[Raw], *, now: datetime | None = None, root: str | None = None) -> BatchResult:
    """Validate, store and evaluate one batch in one transaction."""
    now = now or timezone.now()
    result = BatchResult(received=len(batch))
    root = root or settings.MQTT_TOPIC_ROOT
    oldest = partitions.oldest_kept(now)
    dead: list[tuple] = []
    parsed: list[tuple[Raw, protocol.Message]] = []
    for raw in batch:
        try:
            msg = protocol.parse(raw.topic, raw.payload, root=root, max_bytes=settings.LIVE_MAX_PAYLOAD_BYTES, now=now, oldest=oldest)
        except protocol.Reject as rej:
            _dead_letter(dead, raw, rej.reason, rej.detail)
            result.dead[rej.reason] += 1
            continue
        parsed.append((raw, msg))
    try:
        with transaction.atomic():
            _store(parsed, dead, result, now)
    except Exception:
        partitions.forget()  # partitions created in the rolled-back transaction are gone again
        raise
    return result


def _store(parsed, dead, result: BatchResult, now: datetime) -> None:
    pjus = _pju_rows(sorted({m.controller_id for _, m in parsed if m.kind in ("telemetry", "event")}))
    telemetry, events, acks = [], [], []
    for raw, msg in parsed:
        if msg.kind == "command":
            continue
        if msg.kind == "ack":
            acks.append((raw, msg))
        elif msg.controller_id not in pjus:
            _dead_letter(dead, raw, "unknown_controller", f"no PJU has controller_id {msg.controller_id[:64]!r}", msg.controller_id)
            result.dead["unknown_controller"] += 1
        elif msg.kind == "telemetry":
            telemetry.append((raw, msg, pjus[msg.controller_id]))
        else:
            events.append((raw, msg, pjus[msg.controller_id]))

    from live import commands

    result.acks = commands.apply_acks(acks, dead, result)

    pju_ids = sorted({p["id"] for *_, p in telemetry} | {p["id"] for *_, p in events})
    states = _states(pju_ids) if pju_ids else {}
    accepted, candidates = [], []
    last = {pid: dict(s) for pid, s in states.items()}
    for raw, msg, pju in telemetry:
        s = last.setdefault(pju["id"], {"last_ts": None, "kwh": None, "power_state": ""})
        if s["last_ts"] is None or msg.ts > s["last_ts"]:
            prev_ts, prev_kwh = s["last_ts"], s["kwh"]
            dt = min(msg.ts - prev_ts, GAP_CAP).total_seconds() if prev_ts else 0.0
            kwh = msg.values["active_energy_kwh"]
            d_kwh = kwh - prev_kwh if kwh is not None and prev_kwh is not None and kwh >= prev_kwh else 0.0
            accepted.append((msg, pju, dt, d_kwh))
            s["last_ts"] = msg.ts
            if kwh is not None:
                s["kwh"] = kwh
        else:
            candidates.append((raw, msg, pju))
    known = _existing([(p["id"], m.ts) for _, m, p in candidates])
    seen = {(p["id"], m.ts) for m, p, *_ in accepted}
    for raw, msg, pju in candidates:
        key = (pju["id"], msg.ts)
        if key in known or key in seen:
            result.duplicates += 1
        else:
            _dead_letter(dead, raw, "out_of_order", f"ts {msg.ts.isoformat()} is before the last accepted {last[pju['id']]['last_ts'].isoformat()}", msg.controller_id)
            result.dead["out_of_order"] += 1

    with connection.cursor() as cur:
        if accepted:
            partitions.ensure({m.ts.date() for m, *_ in accepted})
            cols = list(zip(*[
                (p["id"], m.ts, POWER_CODE[m.values["power_state"]], m.values["level"], m.values["active_power_w"],
                 m.values["active_energy_kwh"], m.values["operating_hours"], m.values["voltage_v"])
                for m, p, *_ in accepted
            ]))
            cur.execute(
                "INSERT INTO live_telemetry (pju_id, ts, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v) "
                "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::smallint[], %s::smallint[], %s::real[], "
                "%s::float8[], %s::real[], %s::real[]) ON CONFLICT DO NOTHING",
                [list(c) for c in cols],
            )
            result.stored = cur.rowcount
            _rollup(cur, accepted)
            _live_state(cur, accepted, now)
        new_events = []
        if events:
            cur.execute(
                "INSERT INTO live_liveevent (pju_id, ts, event, detail, received_at) "
                "SELECT *, now() FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) "
                "ON CONFLICT DO NOTHING RETURNING pju_id, ts, event",
                [[p["id"] for _, _, p in events], [m.ts for _, m, _ in events],
                 [m.values["event"] for _, m, _ in events], [m.values["detail"] for _, m, _ in events]],
            )
            fresh = {(r[0], r[1], r[2]) for r in cur.fetchall()}
            cur.execute(  # an event is a sign of life too (silence alarms)
                "INSERT INTO live_livestate (pju_id, power_state, last_seen) SELECT DISTINCT unnest(%s::bigint[]), '', %s "
                "ON CONFLICT (pju_id) DO UPDATE SET last_seen = EXCLUDED.last_seen",
                [[p["id"] for _, _, p in events], now],
            )
            result.events = len(fresh)
            result.duplicates += len(events) - len(fresh)
            new_events = [(m, p) for _, m, p in events if (p["id"], m.ts, m.values["event"]) in fresh]
        if dead:
            cur.execute(
                "INSERT INTO live_deadletter (topic, controller_id, reason, detail, payload, received_at) "
                "SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])",
                [list(c) for c in zip(*dead)],
            )
    notes = alarms.evaluate(accepted, new_events, states, now)
    for m, p, *_ in accepted:
        before = states.get(p["id"], {}).get("power_state")
        if before != m.values["power_state"]:
            notes.append({"type": "state", "pju": p["id"], "power_state": m.values["power_state"],
                          "level": m.values["level"], "ts": m.ts.isoformat()})
            states.setdefault(p["id"], {})["power_state"] = m.values["power_state"]
    for m, p in new_events:
        notes.append({"type": "event", "pju": p["id"], "event": m.values["event"], "ts": m.ts.isoformat()})
    notify(notes)
    result.notifications = notes


def _rollup(cur, accepted) -> None:
    agg: dict[tuple[int, datetime], list] = {}
    for m, p, dt, d_kwh in accepted:
        key = (p["id"], _hour(m.ts))
        a = agg.setdefault(key, [0, 0.0, 0.0, 0.0, None])
        a[0] += 1
        a[1] += d_kwh
        a[2] += dt if m.values["power_state"] != "off" else 0.0
        a[3] += dt
        w = m.values["active_power_w"]
        if w is not None and (a[4] is None or w > a[4]):
            a[4] = w
    keys = list(agg)
    cur.execute(
        "INSERT INTO live_telemetryhourly (pju_id, hour, messages, energy_kwh, burning_s, reported_s, faults, max_power_w) "
        "SELECT k.pju, k.hour, k.n, k.kwh, k.burn, k.rep, 0, k.maxw FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], "
        "%s::float8[], %s::float8[], %s::float8[], %s::float8[]) k(pju, hour, n, kwh, burn, rep, maxw) "
        "ON CONFLICT (pju_id, hour) DO UPDATE SET messages = live_telemetryhourly.messages + EXCLUDED.messages, "
        "energy_kwh = live_telemetryhourly.energy_kwh + EXCLUDED.energy_kwh, "
        "burning_s = live_telemetryhourly.burning_s + EXCLUDED.burning_s, "
        "reported_s = live_telemetryhourly.reported_s + EXCLUDED.reported_s, "
        "max_power_w = greatest(live_telemetryhourly.max_power_w, EXCLUDED.max_power_w)",
        [[k[0] for k in keys], [k[1] for k in keys], [agg[k][0] for k in keys], [agg[k][1] for k in keys],
         [agg[k][2] for k in keys], [agg[k][3] for k in keys], [agg[k][4] for k in keys]],
    )


def _live_state(cur, accepted, now: datetime) -> None:
    latest, counters = {}, {}
    for m, p, *_ in accepted:  # accepted messages are in increasing ts per PJU
        latest[p["id"]] = m
        c = counters.setdefault(p["id"], {})
        for name in ("active_energy_kwh", "operating_hours"):  # the last reported value within the batch
            if m.values[name] is not None:
                c[name] = m.values[name]
    ids = list(latest)
    ms = [latest[i] for i in ids]

    def v(name):
        if name in ("active_energy_kwh", "operating_hours"):
            return [counters[i].get(name) for i in ids]
        return [m.values[name] for m in ms]

    cur.execute(
        "INSERT INTO live_livestate (pju_id, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v, last_ts, last_seen) "
        "SELECT k.*, %s FROM unnest(%s::bigint[], %s::text[], %s::smallint[], %s::float8[], %s::float8[], %s::float8[], %s::float8[], "
        "%s::timestamptz[]) k ON CONFLICT (pju_id) DO UPDATE SET power_state = EXCLUDED.power_state, level = EXCLUDED.level, "
        "active_power_w = EXCLUDED.active_power_w, "
        "active_energy_kwh = coalesce(EXCLUDED.active_energy_kwh, live_livestate.active_energy_kwh), "
        "operating_hours = coalesce(EXCLUDED.operating_hours, live_livestate.operating_hours), "
        "voltage_v = EXCLUDED.voltage_v, last_ts = EXCLUDED.last_ts, last_seen = EXCLUDED.last_seen",
        [now, ids, v("power_state"), v("level"), v("active_power_w"), v("active_energy_kwh"), v("operating_hours"),
         v("voltage_v"), [m.ts for m in ms]],
    )


def notify(notes: list[dict]) -> None:
    """Send the batch's live events on NOTIFY_CHANNEL; PostgreSQL delivers
    them at commit, so listeners (the SSE stream) see committed changes only."""
    if not notes:
        return
    chunks, current = [], []
    size = 2
    for n in notes:
        text = json.dumps(n, default=str, separators=(",", ":"))
        if current and size + len(text) + 1 > NOTIFY_MAX:
            chunks.append("[" + ",".join(current) + "]")
            current, size = [], 2
        current.append(text)
        size += len(text) + 1
    if current:
        chunks.append("[" + ",".join(current) + "]")
    with connection.cursor() as cur:
        for chunk in chunks:
            cur.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, chunk])
