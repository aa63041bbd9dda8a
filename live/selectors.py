"""Reads of the live network: summary, telemetry history."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from live.models import POWER_NAME


def live_summary(now: datetime | None = None) -> dict:
    """Counts of PJU with a controller: on / off / dimmed / offline (silent for
    OFFLINE_AFTER or never heard), power now (kW) and open alarms by kind."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.OFFLINE_AFTER)
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*),
                      count(*) FILTER (WHERE ls.last_seen >= %(c)s AND ls.power_state = 'on'),
                      count(*) FILTER (WHERE ls.last_seen >= %(c)s AND ls.power_state = 'off'),
                      count(*) FILTER (WHERE ls.last_seen >= %(c)s AND ls.power_state = 'dimmed'),
                      count(*) FILTER (WHERE ls.last_seen IS NULL OR ls.last_seen < %(c)s),
                      coalesce(sum(ls.active_power_w) FILTER (WHERE ls.last_seen >= %(c)s), 0) / 1000.0
               FROM layers_streetlight p LEFT JOIN live_livestate ls ON ls.pju_id = p.id
               WHERE p.deleted_at IS NULL AND p.controller_id <> ''""",
            {"c": cutoff},
        )
        total, on, off, dimmed, offline, kw = cur.fetchone()
        cur.execute("SELECT kind, count(*) FROM live_alarm WHERE cleared_at IS NULL GROUP BY kind ORDER BY kind")
        alarms = dict(cur.fetchall())
    return {"controllers": total, "on": on, "off": off, "dimmed": dimmed, "offline": offline, "power_kw": round(float(kw), 3),
            "open_alarms": sum(alarms.values()), "alarms": alarms, "at": now.isoformat(),
            "offline_after_s": settings.OFFLINE_AFTER}


def telemetry_list(*, pju_id: int, start: datetime, end: datetime, limit: int = 10_000) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ts, power_state, level, active_power_w, active_energy_kwh, operating_hours, voltage_v "
            "FROM live_telemetry WHERE pju_id = %s AND ts >= %s AND ts < %s ORDER BY ts LIMIT %s",
            [pju_id, start, end, limit],
        )
        return [{"ts": r[0].isoformat(), "power_state": POWER_NAME[r[1]], "level": r[2], "active_power_w": r[3],
                 "active_energy_kwh": r[4], "operating_hours": r[5], "voltage_v": r[6]} for r in cur.fetchall()]


def live_state(pju_id: int) -> dict | None:
    from live.models import LiveState

    s = LiveState.objects.filter(pju_id=pju_id).first()
    if s is None:
        return None
    return {"power_state": s.power_state, "level": s.level, "active_power_w": s.active_power_w,
            "active_energy_kwh": s.active_energy_kwh, "last_seen": s.last_seen, "last_ts": s.last_ts, "schedule": s.schedule}
