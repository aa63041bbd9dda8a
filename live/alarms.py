"""Alarm rules (SPEC §7), evaluated on each batch in message-time order.

| message | at the PJU's position | alarm | PJU status |
|---|---|---|---|
| event lamp_failure | any time | lamp_failure | damaged |
| event supply_loss | any time | supply_loss | off |
| telemetry off | night (sunset + 15 min … sunrise − 15 min) | off_at_night | off |
| telemetry on/dimmed | day (sunrise + 15 min … sunset − 15 min) | day_burning | — |
| event lamp_unexpected_on | any time | day_burning | — |
| no message for OFFLINE_AFTER | — | offline (`check_silence`) | — |
| telemetry on/dimmed at night, event restored | | clears all | working |

Any accepted telemetry clears `offline`; telemetry off by day clears
`day_burning`. An alarm on a PJU with no active work order opens one
(source `sensor`, needs.work_orders); a night-time on or `restored` after an
order was closed in the field makes it `verified`. Status changes are
written with status_origin `sensor` and an audit row (channel `sensor`)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from live import sun

log = logging.getLogger(__name__)
EVENT_ALARM = {"lamp_failure": ("lamp_failure", "damaged"), "supply_loss": ("supply_loss", "off"),
               "lamp_unexpected_on": ("day_burning", None)}


def _margin() -> timedelta:
    return timedelta(minutes=settings.LIVE_NIGHT_MARGIN_MIN)


def _active_and_done(pju_ids: list[int]) -> tuple[dict[int, set[str]], set[int]]:
    """The active alarm kinds of these PJUs, and those of them with an order closed in the field
    (`done`, awaiting the light's confirmation): one round trip, two indexed probes."""
    from live.ingest import arr

    out: dict[int, set[str]] = {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pju_id, kind FROM live_alarm WHERE cleared_at IS NULL AND pju_id = ANY(%(ids)s::bigint[]) "
            "UNION ALL SELECT DISTINCT pju_id, NULL FROM needs_workorder WHERE status = 'done' AND pju_id = ANY(%(ids)s::bigint[])",
            {"ids": arr(pju_ids)},
        )
        rows = cur.fetchall()
    done = set()
    for pid, kind in rows:
        if kind is None:
            done.add(pid)
        else:
            out.setdefault(pid, set()).add(kind)
    return out, done


class _Plan:
    """What the batch changes, gathered in memory, then written set-based."""

    def __init__(self, active):
        self.active = active
        self.opened: dict[tuple[int, str], tuple[datetime, str]] = {}
        self.cleared: dict[tuple[int, str], datetime] = {}
        self.status: dict[int, str] = {}
        self.confirmed: dict[int, datetime] = {}  # PJU → time the light was seen working

    def open(self, pid, kind, ts, detail=""):
        kinds = self.active.setdefault(pid, set())
        if kind not in kinds:
            kinds.add(kind)
            self.opened[(pid, kind)] = (ts, detail)

    def clear(self, pid, ts, kinds=None):
        for kind in list(self.active.get(pid, ())):
            if kinds is None or kind in kinds:
                self.active[pid].discard(kind)
                if (pid, kind) in self.opened:
                    opened_ts, detail = self.opened.pop((pid, kind))
                    self.cleared[(pid, kind)] = ts  # opened and cleared within the batch: kept as history
                    self.opened[(pid, kind, "cleared")] = (opened_ts, detail)
                else:
                    self.cleared[(pid, kind)] = ts


def evaluate(accepted, new_events, states, now) -> list[dict]:
    """The batch's alarm rules. Most readings change nothing — a lamp on at
    night that is `working` with no alarm, off by day, any reading in the
    twilight margins of a PJU without an `offline` alarm — so the batch is
    first narrowed set-wise: one query gives the PJUs with an active alarm or
    a field-closed (`done`) order among the batch's, and only those, the PJUs
    with an event and those with a reading that opens an alarm or changes the
    status go through the ordered per-PJU rules below (same result: a skipped
    reading's rule would open nothing, clear nothing and set the status it
    already has)."""
    if not accepted and not new_events:
        return []
    margin = _margin()
    phases: dict = {}  # (~1 km cell, ts) → phase: a batch's readings share few of them
    readings = []
    for m, p, *_ in accepted:
        key = (p["cell"], m.ts)
        ph = phases.get(key)
        if ph is None:
            ph = phases[key] = sun.phase_in_cell(p["cell"], m.ts, margin)
        readings.append((m, p, ph))
    pids = list({p["id"] for _, p, _ in readings} | {p["id"] for _, p in new_events})
    active, done = _active_and_done(pids)
    need = set(active) | done | {p["id"] for _, p in new_events}
    for m, p, ph in readings:
        pid = p["id"]
        if pid in need or ph == "twilight":
            continue
        on = m.values["power_state"] != "off"
        if (on and ph == "day") or (ph == "night" and (not on or p["status"] != "working")):
            need.add(pid)
    items = [(m.ts, 0, m, p, ph) for m, p, ph in readings if p["id"] in need]
    items += [(m.ts, 1, m, p, None) for m, p in new_events]
    if not items:
        return []
    items.sort(key=lambda x: (x[3]["id"], x[0], x[1]))
    pjus = {x[3]["id"]: x[3] for x in items}
    plan = _Plan({pid: kinds for pid, kinds in active.items() if pid in pjus})
    for ts, _, m, p, ph in items:
        pid = p["id"]
        if m.kind == "telemetry":
            plan.clear(pid, ts, {"offline"})
            state = m.values["power_state"]
            if state == "off" and ph == "night":
                plan.open(pid, "off_at_night", ts, "mati pada malam hari")
                plan.status[pid] = "off"
            elif state != "off" and ph == "night":
                plan.clear(pid, ts)
                plan.status[pid] = "working"
                plan.confirmed[pid] = ts
            elif state != "off" and ph == "day":
                plan.open(pid, "day_burning", ts, "menyala pada siang hari")
            elif state == "off" and ph == "day":
                plan.clear(pid, ts, {"day_burning"})
        else:
            plan.clear(pid, ts, {"offline"})
            event = m.values["event"]
            if event == "restored":
                plan.clear(pid, ts)
                plan.status[pid] = "working"
                plan.confirmed[pid] = ts
            elif event in EVENT_ALARM:
                kind, status = EVENT_ALARM[event]
                plan.open(pid, kind, ts, m.values.get("detail") or event)
                if status:
                    plan.status[pid] = status
    plan.confirmed = {pid: ts for pid, ts in plan.confirmed.items() if pid in done}
    return _write(plan, pjus, now)


def _write(plan: _Plan, pjus: dict, now) -> list[dict]:
    from layers.models import StreetLight
    from live.models import Alarm
    from needs import work_orders

    notes: list[dict] = []
    # 1. status changes (set-based), with their audit rows
    changes = {pid: st for pid, st in plan.status.items() if pjus[pid]["status"] != st}
    if changes:
        ids = list(changes)
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE layers_streetlight s SET status = k.status, status_origin = 'sensor', version = s.version + 1, "
                "updated_at = now() FROM unnest(%s::bigint[], %s::text[]) k(id, status) "
                "WHERE s.id = k.id AND s.status IS DISTINCT FROM k.status RETURNING s.id, s.status, s.version",
                [ids, [changes[i] for i in ids]],
            )
            rows = cur.fetchall()
            if rows:
                cur.execute(
                    "INSERT INTO layers_auditlog (layer, object_id, action, at, changes, before, channel) "
                    "SELECT 'pju', k.id, 'update', now(), jsonb_build_object('status', k.status, 'status_origin', 'sensor', 'version', k.version), "
                    "jsonb_build_object('status', k.before), 'sensor' "
                    "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[]) k(id, status, version, before)",
                    [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [pjus[r[0]]["status"] for r in rows]],
                )
        for pid, status, _ in rows:
            notes.append({"type": "status", "pju": pid, "status": status, "before": pjus[pid]["status"]})
            pjus[pid]["status"] = status
        if rows:
            from layers.services import layer_changed

            changed_ids = [r[0] for r in rows]
            transaction.on_commit(lambda: layer_changed.send(sender=StreetLight, ids=changed_ids, action="update"))
    # 2. cleared alarms
    for (pid, kind), ts in plan.cleared.items():
        if (pid, kind, "cleared") in plan.opened:
            continue
        n = Alarm.objects.filter(pju_id=pid, kind=kind, cleared_at__isnull=True).update(cleared_at=ts)
        if n:
            notes.append({"type": "alarm", "action": "cleared", "pju": pid, "kind": kind, "ts": ts.isoformat()})
    # 3. opened alarms, each tied to the PJU's active work order (opened when none)
    lights = {}
    for key, (ts, detail) in plan.opened.items():
        pid, kind = key[0], key[1]
        cleared_at = plan.cleared.get((pid, kind)) if len(key) == 3 else None
        order = None
        if pid not in lights:
            lights[pid] = StreetLight.objects.get(pk=pid)
        order, created = work_orders.work_order_open_for_alarm(pju=lights[pid], reason=kind)
        Alarm.objects.create(pju_id=pid, kind=kind, opened_at=ts, cleared_at=cleared_at, work_order=order, detail=detail[:500])
        notes.append({"type": "alarm", "action": "opened", "pju": pid, "kind": kind, "ts": ts.isoformat(),
                      "work_order": order.pk, "work_order_created": created})
        if cleared_at:
            notes.append({"type": "alarm", "action": "cleared", "pju": pid, "kind": kind, "ts": cleared_at.isoformat()})
    # 4. field-closed orders confirmed by the light itself
    if plan.confirmed:  # only PJUs with a `done` order are left in it (evaluate)
        from needs.models import WorkOrder

        for order in WorkOrder.objects.filter(status="done", pju_id__in=list(plan.confirmed), pju__controller_id__gt=""):
            if order.done_at and plan.confirmed[order.pju_id] >= order.done_at:
                work_orders.work_order_verify(order=order)
                notes.append({"type": "work_order", "action": "verified", "pju": order.pju_id, "work_order": order.pk})
    return notes


def check_silence(now: datetime) -> list[dict]:
    """Open `offline` alarms for controllers silent for OFFLINE_AFTER (run by the worker every minute)."""
    from layers.models import StreetLight
    from live.models import Alarm
    from needs import work_orders

    cutoff = now - timedelta(seconds=settings.OFFLINE_AFTER)
    notes = []
    with transaction.atomic():
        silent = (
            StreetLight.objects.filter(deleted_at__isnull=True, controller_id__gt="", live__last_seen__lt=cutoff)
            .exclude(alarms__kind="offline", alarms__cleared_at__isnull=True)
        )
        for pju in silent[:5000]:
            order, created = work_orders.work_order_open_for_alarm(pju=pju, reason="offline")
            Alarm.objects.create(pju=pju, kind="offline", opened_at=now, work_order=order,
                                 detail=f"tidak ada pesan sejak {pju.live.last_seen.isoformat()}")
            notes.append({"type": "alarm", "action": "opened", "pju": pju.pk, "kind": "offline", "ts": now.isoformat(),
                          "work_order": order.pk, "work_order_created": created})
        from live.ingest import notify

        notify(notes)
    return notes
