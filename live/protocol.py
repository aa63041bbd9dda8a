"""SPEC §7 topics and payloads: parsing and validation, no database.

Controllers publish `{root}/{controller_id}/telemetry` and `…/event` and
answer commands on `…/ack`; the platform publishes `…/command`. `root` is
MQTT_TOPIC_ROOT (default `pju`, as SPEC writes it; tests use their own)."""
from __future__ import annotations

import json
import math

import orjson
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

from live.models import EVENT_KINDS, POWER_CODE

EVENTS = {code for code, _ in EVENT_KINDS}
KINDS = ("telemetry", "event", "ack")
FUTURE_TOLERANCE = timedelta(minutes=5)
NUMERIC = {  # field → (lowest, highest) accepted
    "active_power_w": (0.0, 10_000.0),
    "active_energy_kwh": (0.0, 1e9),
    "operating_hours": (0.0, 1e7),
    "voltage_v": (0.0, 1_000.0),
}
_NUMERIC_ITEMS = tuple((name, lo, hi) for name, (lo, hi) in NUMERIC.items())


class Reject(Exception):
    """A message for the dead-letter table; `reason` is a DEAD_LETTER_REASONS code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(slots=True)  # one per message: slots make it cheaper to build and read
class Message:
    kind: str  # telemetry | event | ack
    controller_id: str
    ts: datetime | None = None
    values: dict = field(default_factory=dict)


def split_topic(topic: str, root: str) -> tuple[str, str]:
    """(controller_id, kind) or Reject(bad_topic)."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != root or not parts[1] or parts[2] not in (*KINDS, "command"):
        raise Reject("bad_topic", f"expected {root}/{{controller_id}}/{{{'|'.join(KINDS)}}}, got {topic[:200]!r}")
    return parts[1], parts[2]


_EPOCH_MS: dict = {}  # epoch ms → datetime: a batch's readings share few distinct timestamps


def parse_ts(value) -> datetime:
    """ISO 8601 (with a zone; naive means UTC) or epoch milliseconds → aware UTC."""
    if isinstance(value, bool):
        raise Reject("bad_timestamp", f"ts must be ISO 8601 or epoch ms, got {value!r}")
    if isinstance(value, (int, float)):
        ts = _EPOCH_MS.get(value)
        if ts is not None:
            return ts
        if not math.isfinite(value) or not (0 <= value < 1e14):
            raise Reject("bad_timestamp", f"epoch ms out of range: {value!r}")
        if len(_EPOCH_MS) >= 20_000:
            _EPOCH_MS.clear()
        ts = _EPOCH_MS[value] = datetime.fromtimestamp(value / 1000.0, tz=dt_timezone.utc)
        return ts
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            raise Reject("bad_timestamp", f"not ISO 8601: {value[:60]!r}") from None
        return ts.replace(tzinfo=dt_timezone.utc) if ts.tzinfo is None else ts.astimezone(dt_timezone.utc)
    raise Reject("bad_timestamp" if value is not None else "missing_field", "ts is required (ISO 8601 or epoch ms)")


def _number(body: dict, name: str):
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Reject("bad_field", f"{name} must be a number, got {value!r}"[:200])
    lo, hi = NUMERIC[name]
    if not lo <= value <= hi:
        raise Reject("bad_field", f"{name} {value} outside {lo:g}–{hi:g}")
    return float(value)


def parse(topic: str, payload: bytes, *, root: str, max_bytes: int, now: datetime, oldest: datetime) -> Message:
    """One MQTT message → Message, or Reject with the dead-letter reason."""
    controller_id, kind = split_topic(topic, root)
    if kind == "command":  # the platform's own commands (another platform process): not for the ingest
        return Message("command", controller_id)
    if len(payload) > max_bytes:
        raise Reject("oversized", f"{len(payload)} bytes > {max_bytes}")
    try:  # orjson (Rust): ~4× the standard library's speed, and it checks UTF-8 itself
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("bad_encoding", "payload is not UTF-8") from None
        raise Reject("malformed_json", str(exc)[:200]) from None
    if not isinstance(body, dict):
        raise Reject("not_object", f"expected a JSON object, got {type(body).__name__}")
    if kind == "ack":
        if "id" not in body or "ok" not in body:
            raise Reject("missing_field", "ack needs id and ok")
        if not isinstance(body["ok"], bool) or not isinstance(body["id"], str):
            raise Reject("bad_field", "ack id must be a string and ok a boolean")
        return Message("ack", controller_id, None, {"id": body["id"][:64], "ok": body["ok"]})
    if "ts" not in body:
        raise Reject("missing_field", "ts is required")
    ts = parse_ts(body["ts"])
    if ts > now + FUTURE_TOLERANCE:
        raise Reject("future_timestamp", f"ts {ts.isoformat()} is ahead of the platform clock {now.isoformat()}")
    if ts < oldest:
        raise Reject("stale", f"ts {ts.isoformat()} is older than the retention window ({oldest.isoformat()})")
    if kind == "event":
        event = body.get("event")
        if event is None:
            raise Reject("missing_field", "event is required")
        if event not in EVENTS:
            raise Reject("unknown_event", f"event {str(event)[:40]!r} is not one of {', '.join(sorted(EVENTS))}")
        detail = body.get("detail", "")
        return Message("event", controller_id, ts, {"event": event, "detail": detail if isinstance(detail, str) else json.dumps(detail)[:500]})
    state = body.get("power_state")
    if state is None:
        raise Reject("missing_field", "power_state is required")
    if state not in POWER_CODE:
        raise Reject("bad_field", f"power_state {str(state)[:20]!r} is not on, off or dimmed")
    level = body.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 100):
        raise Reject("bad_field", f"level must be 0–100, got {str(level)[:20]}")
    values = {"power_state": state, "level": level if level is None or type(level) is int else int(round(level))}
    for name, lo, hi in _NUMERIC_ITEMS:
        value = body.get(name)
        kind = type(value)
        # the common case inline (a JSON number in range; orjson never yields NaN or ±inf), else _number's checks
        values[name] = float(value) if (kind is float or kind is int) and lo <= value <= hi else _number(body, name)
    return Message("telemetry", controller_id, ts, values)
