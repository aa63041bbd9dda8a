"""Daily partitions of `live_telemetry`: created ahead of need, dropped whole
after LIVE_RETENTION_DAYS (no DELETE, no VACUUM debt). 137,000 controllers
every 5 minutes are 39.5 M rows a day: a day is the unit that can be dropped."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import connection

TABLE = "live_telemetry"
_known: set[date] = set()


def partition_name(day: date) -> str:
    return f"{TABLE}_{day:%Y%m%d}"


def ensure(days) -> int:
    """Create the partitions of `days` that do not exist yet. Returns how many were created."""
    created = 0
    with connection.cursor() as cur:
        for day in sorted(set(days) - _known):
            start = datetime(day.year, day.month, day.day, tzinfo=dt_timezone.utc)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {TABLE} "
                "FOR VALUES FROM (%s) TO (%s)",
                [start, start + timedelta(days=1)],
            )
            created += 1
            _known.add(day)
    return created


def forget() -> None:
    """Drop the in-process memory of partitions (after tests truncate or drop)."""
    _known.clear()


def existing() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [TABLE],
        )
        return [r[0] for r in cur.fetchall()]


def oldest_kept(now: datetime) -> datetime:
    """Start of the oldest day still kept: messages older than this are `stale`."""
    first = (now.astimezone(dt_timezone.utc) - timedelta(days=settings.LIVE_RETENTION_DAYS)).date()
    return datetime(first.year, first.month, first.day, tzinfo=dt_timezone.utc)


def maintain(now: datetime) -> dict:
    """Create today's and the next two days' partitions, drop those past retention."""
    today = now.astimezone(dt_timezone.utc).date()
    created = ensure(today + timedelta(days=k) for k in range(3))
    cutoff = oldest_kept(now).date()
    dropped = []
    for name in existing():
        day = datetime.strptime(name.rsplit("_", 1)[1], "%Y%m%d").date()
        if day < cutoff:
            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {name}")
            _known.discard(day)
            dropped.append(name)
    return {"created": created, "dropped": dropped}
