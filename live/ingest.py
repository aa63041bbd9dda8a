"""One batch of MQTT messages → one database transaction (SPEC §7 Ingest).

The worker (live/worker.py) acknowledges a batch's messages to the broker
only after `ingest_batch` has committed, so a killed worker loses nothing;
what the broker then delivers again is recognised here as a duplicate
(same PJU and `ts` already stored) and dropped, so nothing is stored twice.

Set-based writes: the raw rows go in with one COPY, the live states with
one upsert from arrays (`unnest` of array literals: PostgreSQL parses one
text value per column instead of thousands of expressions), and the batch's
hours are marked in `live_rollupdirty`. The hourly rollups are NOT written
here: live/rollups.py rebuilds the marked hours from the raw partitions
periodically (the worker's rollup thread), so a batch costs one COPY and a
few statements whatever its size. Python only validates and orders."""
from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from live import alarms, partitions, protocol, rollups, sun
from live.models import POWER_CODE

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "live_events"
NOTIFY_MAX = 7000  # pg_notify payloads must stay under 8000 bytes
# With several ingest processes (MQTT shared subscription) one controller's readings are spread over them,
# so one may commit a newer reading before another has stored an older one (or redelivers it after a
# restart): a reading at most this much older than the PJU's last is "late", kept in the history without
# touching the live state; an older one is out of order (dead-lettered).
REORDER_WINDOW = timedelta(minutes=15)


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


# The batch's PJUs by id with their live states: one index probe per key whatever the planner estimates
# (LIMIT 1 keeps each LATERAL a parameterised probe; a plain join picks a sequential scan of every PJU or
# every live state once a batch is a few percent of the table: 40–100 ms a 5,000-message batch instead of
# ~15).
_PJU_SQL = ("SELECT s.controller_id, s.id, ST_Y(s.geom), ST_X(s.geom), s.status, ls.pju_id, ls.last_ts, ls.power_state "
            "FROM unnest(%s::bigint[]) k(id) CROSS JOIN LATERAL (SELECT id, controller_id, geom, status "
            "FROM layers_streetlight WHERE id = k.id AND controller_id <> '' AND deleted_at IS NULL LIMIT 1) s "
            "LEFT JOIN LATERAL (SELECT pju_id, last_ts, power_state FROM live_livestate WHERE pju_id = s.id LIMIT 1) ls "
            "ON true")
_PJU_IDS: dict[str, int] = {}  # controller_id → PJU id where it was last found (checked again by every query)


def _pju_ids(cur, controller_ids: list[str]) -> None:
    """Find where these controllers are (text probes under the database collation; `controller_id <> ''`
    lets the planner use the partial unique index) and remember it."""
    cache = _PJU_IDS
    for c in controller_ids:
        cache.pop(c, None)
    cur.execute("SELECT controller_id, id FROM layers_streetlight WHERE controller_id = ANY(%s::text[]) "
                "AND controller_id <> '' AND deleted_at IS NULL", [arr(controller_ids)])
    found = cur.fetchall()
    if len(cache) + len(found) > 1_000_000:
        cache.clear()
    cache.update(found)


def _pju_rows(controller_ids: list[str]) -> tuple[dict[str, dict], dict[int, dict]]:
    """The batch's PJUs by controller id, with their live state, in one query
    by PJU id: a controller's PJU is looked up by controller id only the first
    time (or when it was not where remembered: moved to another lamp, or
    removed)."""
    if not controller_ids:
        return {}, {}
    cache = _PJU_IDS
    with connection.cursor() as cur:
        unknown = [c for c in controller_ids if c not in cache]
        for attempt in (1, 2):
            if unknown:
                _pju_ids(cur, unknown)
            wanted = {cache[c]: c for c in controller_ids if c in cache}
            if not wanted:
                return {}, {}
            cur.execute(_PJU_SQL, [arr(sorted(wanted))])
            rows = cur.fetchall()
            there = {r[0] for r in rows if wanted.get(r[1]) == r[0]}
            moved = [c for c in wanted.values() if c not in there]
            if not moved or attempt == 2:
                break
            unknown = moved  # once more, from where they are now
        rows = [r for r in rows if wanted.get(r[1]) == r[0]]
    # cell: the ~1 km square whose sun times the alarms use (live/sun.py)
    pjus = {r[0]: {"id": r[1], "lat": r[2], "lon": r[3], "status": r[4], "cell": sun.cell(r[2], r[3])} for r in rows}
    states = {r[1]: {"last_ts": r[6], "power_state": r[7]} for r in rows if r[5] is not None}
    return pjus, states


def _existing(keys: list[tuple[int, datetime]]) -> set[tuple[int, datetime]]:
    if not keys:
        return set()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT t.pju_id, t.ts FROM live_telemetry t JOIN unnest(%s::bigint[], %s::timestamptz[]) k(pju_id, ts) "
            "ON t.pju_id = k.pju_id AND t.ts = k.ts",
            [arr([k[0] for k in keys]), arr([k[1] for k in keys])],
        )
        return {(r[0], r[1]) for r in cur.fetchall()}


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _text(v) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bool(v) -> str:
    return "t" if v else "f"


def arr(values) -> str:
    """A PostgreSQL array literal ('{1,2,NULL}') for a `%s::type[]` parameter.
    psycopg2 adapts a Python list to ARRAY[v1, v2, …], one parsed expression
    per element (≈ 80 µs a row for a 5,000-row batch); the literal is one
    value that array_in reads in microseconds. One type per array."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, str):
        f = _text
    elif isinstance(sample, datetime):
        f = _iso_memo()
    elif isinstance(sample, bool):
        f = _bool
    else:
        f = repr
    return "{" + ",".join(["NULL" if v is None else f(v) for v in values]) + "}"


def _iso_memo():
    """isoformat() with a memo: an aware datetime's isoformat costs ~10× its hash, and a batch's readings
    share few distinct timestamps (controllers report on the second, many on the same schedule)."""
    memo: dict[datetime, str] = {}

    def iso(d: datetime) -> str:
        text = memo.get(d)
        if text is None:
            text = memo[d] = d.isoformat()
        return text

    return iso


def _n(v) -> str:
    return "\\N" if v is None else repr(v)


def _copy_text(rows) -> str:
    """COPY text of raw rows (pju_id, ts, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v)."""
    iso = _iso_memo()
    return "".join([f"{r[0]}\t{iso(r[1])}\t{r[2]}\t{_n(r[3])}\t{_n(r[4])}\t{_n(r[5])}\t{_n(r[6])}\t{_n(r[7])}\n"
                    for r in rows])


def ingest_batch(batch: list[Raw], *, now: datetime | None = None, root: str | None = None,
                 shared: bool = False) -> BatchResult:
    """Validate, store and evaluate one batch in one transaction. `shared`: other processes ingest
    the same controllers (shared subscription): late readings within REORDER_WINDOW are kept."""
    now = now or timezone.now()
    result = BatchResult(received=len(batch))
    root = root or settings.MQTT_TOPIC_ROOT
    oldest = partitions.oldest_kept(now)
    dead: list[tuple] = []
    parsed: list[tuple[Raw, protocol.Message]] = []
    max_bytes, parse = settings.LIVE_MAX_PAYLOAD_BYTES, protocol.parse  # settings are a lazy object: read once
    for raw in batch:
        try:
            msg = parse(raw.topic, raw.payload, root=root, max_bytes=max_bytes, now=now, oldest=oldest)
        except protocol.Reject as rej:
            _dead_letter(dead, raw, rej.reason, rej.detail)
            result.dead[rej.reason] += 1
            continue
        parsed.append((raw, msg))
    try:
        with transaction.atomic():
            _store(parsed, dead, result, now, shared)
    except Exception:
        partitions.forget()  # partitions created in the rolled-back transaction are gone again
        raise
    return result


def _store(parsed, dead, result: BatchResult, now: datetime, shared: bool = False) -> None:
    pjus, known_states = _pju_rows(sorted({m.controller_id for _, m in parsed if m.kind in ("telemetry", "event")}))
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
    states = {pid: known_states[pid] for pid in pju_ids if pid in known_states}
    with_state = set(states)  # PJUs with a live-state row (`states` is updated as the batch's notes are made)
    accepted, candidates = [], []
    last = {pid: s["last_ts"] for pid, s in states.items()}  # each PJU's newest reading so far
    for raw, msg, pju in telemetry:
        pid = pju["id"]
        prev = last.get(pid)
        if prev is None or msg.ts > prev:
            accepted.append((msg, pju))
            last[pid] = msg.ts
        else:
            candidates.append((raw, msg, pju))
    late = []
    if candidates:
        known = _existing([(p["id"], m.ts) for _, m, p in candidates])
        seen = {(p["id"], m.ts) for m, p in accepted}
        for raw, msg, pju in candidates:
            key = (pju["id"], msg.ts)
            if key in known or key in seen:
                result.duplicates += 1
            elif shared and msg.ts >= last[pju["id"]] - REORDER_WINDOW:
                late.append((msg, pju))
                seen.add(key)
            else:
                _dead_letter(dead, raw, "out_of_order", f"ts {msg.ts.isoformat()} is before the last accepted {last[pju['id']].isoformat()}", msg.controller_id)
                result.dead["out_of_order"] += 1

    with connection.cursor() as cur:
        if accepted or late:
            stored = accepted + late if late else accepted
            stamps = {m.ts for m, _ in stored}  # a batch's readings share few distinct timestamps
            partitions.ensure({ts.date() for ts in stamps})
            result.stored = _copy_raw(cur, [
                (p["id"], m.ts, POWER_CODE[m.values["power_state"]], m.values["level"], m.values["active_power_w"],
                 m.values["active_energy_kwh"], m.values["operating_hours"], m.values["voltage_v"])
                for m, p in stored
            ], conflicts=bool(late))
        new_events = []
        if events:
            cur.execute(
                "INSERT INTO live_liveevent (pju_id, ts, event, detail, received_at) "
                "SELECT *, now() FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) "
                "ON CONFLICT DO NOTHING RETURNING pju_id, ts, event",
                [arr([p["id"] for _, _, p in events]), arr([m.ts for _, m, _ in events]),
                 arr([m.values["event"] for _, m, _ in events]), arr([m.values["detail"] for _, m, _ in events])],
            )
            fresh = {(r[0], r[1], r[2]) for r in cur.fetchall()}
            result.events = len(fresh)
            result.duplicates += len(events) - len(fresh)
            new_events = [(m, p) for _, m, p in events if (p["id"], m.ts, m.values["event"]) in fresh]
        if dead:
            cur.execute(
                "INSERT INTO live_deadletter (topic, controller_id, reason, detail, payload, received_at) "
                "SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])",
                [arr(c) for c in zip(*dead)],
            )
    notes = alarms.evaluate(accepted, new_events, states, now)
    for m, p in accepted:
        before = states.get(p["id"], {}).get("power_state")
        if before != m.values["power_state"]:
            notes.append({"type": "state", "pju": p["id"], "power_state": m.values["power_state"],
                          "level": m.values["level"], "ts": m.ts.isoformat()})
            states.setdefault(p["id"], {})["power_state"] = m.values["power_state"]
    for m, p in new_events:
        notes.append({"type": "event", "pju": p["id"], "event": m.values["event"], "ts": m.ts.isoformat()})
    notify(notes)
    result.notifications = notes
    # Last, and short: the rows other ingest processes' batches write too — the live states of the same
    # PJUs (a shared subscription spreads each controller's readings over the processes) and the hours'
    # rollup marks — are locked from here to the commit only, so the processes' batches overlap up to
    # this point instead of running one after the other; the live states in PJU order (no deadlock).
    hours = {_hour(ts) for ts in stamps} if accepted or late else set()
    hours |= {_hour(m.ts) for m, _ in new_events if m.values["event"] in rollups.FAULT_EVENTS}
    with connection.cursor() as cur:
        if shared and pju_ids:
            cur.execute("SELECT 1 FROM live_livestate WHERE pju_id = ANY(%s::bigint[]) ORDER BY pju_id FOR UPDATE",
                        [arr(pju_ids)])
        if accepted:
            _live_state(cur, accepted, now, with_state)
        if events:
            cur.execute(  # an event is a sign of life too (silence alarms)
                "INSERT INTO live_livestate (pju_id, power_state, last_seen) SELECT DISTINCT unnest(%s::bigint[]), '', %s "
                "ON CONFLICT (pju_id) DO UPDATE SET last_seen = EXCLUDED.last_seen",
                [arr([p["id"] for _, _, p in events]), now],
            )
        if hours:  # the rollup thread waits for this row lock only until the commit
            rollups.mark(cur, hours)


RAW_COLUMNS = "pju_id, ts, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v"


def _copy_raw(cur, rows: list[tuple], conflicts: bool = False) -> int:
    """COPY the accepted rows into the partitioned raw table (PostgreSQL routes
    each row to its day). Accepted rows are newer than the PJU's last stored
    reading, so they cannot collide; if one does anyway (a live state lost by
    hand, or another process storing the same reading), the savepoint is rolled
    back and the rows go in with ON CONFLICT. `conflicts`: late rows are among
    them (a collision is likelier): ON CONFLICT straight away."""
    if not conflicts:
        text = _copy_text(rows)
        try:
            with transaction.atomic():
                cur.cursor.copy_expert(f"COPY live_telemetry ({RAW_COLUMNS}) FROM STDIN", io.StringIO(text), size=1 << 20)
                return cur.rowcount if cur.rowcount >= 0 else len(rows)
        except IntegrityError:
            log.warning("COPY of %d raw rows hit an existing (pju, ts); inserting with ON CONFLICT DO NOTHING", len(rows))
    cols = list(zip(*rows))
    cur.execute(
        f"INSERT INTO live_telemetry ({RAW_COLUMNS}) "
        "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::smallint[], %s::smallint[], %s::real[], "
        "%s::float8[], %s::real[], %s::real[]) ON CONFLICT DO NOTHING",
        [arr(c) for c in cols],
    )
    return cur.rowcount


def _live_state(cur, accepted, now: datetime, states) -> None:
    """The latest reading of each PJU onto its live state: one set-based UPDATE
    (HOT: no indexed column changes), and an INSERT for PJUs reporting for the
    first time (`states`: the PJUs that have a live-state row). Latest wins in
    SQL: a state already newer (written by another ingest process since this
    batch read it) is left as it is."""
    latest, kwh, hours = {}, {}, {}
    for m, p, *_ in accepted:  # (message, PJU), in increasing ts per PJU
        pid, v = p["id"], m.values
        latest[pid] = m
        if v["active_energy_kwh"] is not None:  # the counters: the last value reported within the batch
            kwh[pid] = v["active_energy_kwh"]
        if v["operating_hours"] is not None:
            hours[pid] = v["operating_hours"]
    rows = ("unnest(%s::bigint[], %s::text[], %s::smallint[], %s::float8[], %s::float8[], %s::float8[], %s::float8[], "
            "%s::timestamptz[]) k(pju_id, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v, last_ts)")
    for fresh in (False, True):
        ids = [i for i in latest if (i not in states) == fresh]
        if not ids:
            continue
        ms = [latest[i] for i in ids]
        params = [now, arr(ids), arr([m.values["power_state"] for m in ms]), arr([m.values["level"] for m in ms]),
                  arr([m.values["active_power_w"] for m in ms]), arr([kwh.get(i) for i in ids]),
                  arr([hours.get(i) for i in ids]), arr([m.values["voltage_v"] for m in ms]),
                  arr([m.ts for m in ms])]
        if not fresh:
            cur.execute(
                "UPDATE live_livestate ls SET last_seen = %s, power_state = k.power_state, level = k.level, "
                "active_power_w = k.active_power_w, active_energy_kwh = coalesce(k.active_energy_kwh, ls.active_energy_kwh), "
                "operating_hours = coalesce(k.operating_hours, ls.operating_hours), voltage_v = k.voltage_v, "
                f"last_ts = k.last_ts FROM {rows} WHERE ls.pju_id = k.pju_id AND (ls.last_ts IS NULL OR ls.last_ts < k.last_ts)",
                params,
            )
        else:
            cur.execute(
                "INSERT INTO live_livestate (last_seen, pju_id, power_state, level, active_power_w, active_energy_kwh, "
                f"operating_hours, voltage_v, last_ts) SELECT %s, k.* FROM {rows} ON CONFLICT (pju_id) DO UPDATE SET "
                "power_state = EXCLUDED.power_state, level = EXCLUDED.level, active_power_w = EXCLUDED.active_power_w, "
                "active_energy_kwh = coalesce(EXCLUDED.active_energy_kwh, live_livestate.active_energy_kwh), "
                "operating_hours = coalesce(EXCLUDED.operating_hours, live_livestate.operating_hours), "
                "voltage_v = EXCLUDED.voltage_v, last_ts = EXCLUDED.last_ts, last_seen = EXCLUDED.last_seen "
                "WHERE live_livestate.last_ts IS NULL OR live_livestate.last_ts < EXCLUDED.last_ts",
                params,
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
    with connection.cursor() as cur:  # every chunk in one round trip, in order
        cur.execute("SELECT count(pg_notify(%s, c)) FROM unnest(%s::text[]) c", [NOTIFY_CHANNEL, arr(chunks)])
