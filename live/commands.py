"""Commands to controllers (SPEC §7): `{root}/{controller_id}/command`
`{"id", "level"}` or `{"id", "schedule": [{"at": "sunset"|"sunrise"|"HH:MM", "level"}]}`,
QoS 1, answered on `…/ack` `{"id", "ok"}`.

The API only queues (state `queued`); the ingest worker, which holds the
MQTT connection, publishes what is due, retries every COMMAND_RETRY_SECONDS
until acknowledged, and marks a command `failed` after COMMAND_MAX_ATTEMPTS
sends without an ack (or when the controller answers ok=false)."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from layers.models import StreetLight
from live.models import Command

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_SCHEDULE_STEPS = 12


def validate_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 100:
        raise ValidationError({"level": ["level must be a number 0–100"]})
    return int(round(level))


def validate_schedule(schedule) -> list[dict]:
    if not isinstance(schedule, list) or not 1 <= len(schedule) <= MAX_SCHEDULE_STEPS:
        raise ValidationError({"schedule": [f"schedule must be a list of 1–{MAX_SCHEDULE_STEPS} steps"]})
    out = []
    for i, step in enumerate(schedule):
        if not isinstance(step, dict) or set(step) != {"at", "level"}:
            raise ValidationError({"schedule": [f"step {i}: expected {{\"at\", \"level\"}}"]})
        at = step["at"]
        if not isinstance(at, str) or not (at in ("sunset", "sunrise") or HHMM.match(at)):
            raise ValidationError({"schedule": [f"step {i}: at must be sunset, sunrise or HH:MM, got {str(at)[:20]!r}"]})
        try:
            level = validate_level(step["level"])
        except ValidationError:
            raise ValidationError({"schedule": [f"step {i}: level must be a number 0–100"]}) from None
        out.append({"at": at, "level": level})
    return out


def parse_body(data) -> dict:
    """{"level": n} or {"schedule": [...]}, exactly one."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["expected a JSON object"]})
    has_level, has_schedule = "level" in data, "schedule" in data
    if has_level == has_schedule:
        raise ValidationError({"non_field_errors": ["send either level (0–100) or schedule"]})
    if has_level:
        return {"level": validate_level(data["level"]), "schedule": None}
    return {"level": None, "schedule": validate_schedule(data["schedule"])}


@transaction.atomic
def command_create(*, pjus, body: dict, user) -> tuple[uuid.UUID | None, list[Command]]:
    """Queue one command per PJU with a controller; (group id, commands)."""
    pjus = [p for p in pjus if p.controller_id]
    if not pjus:
        raise ValidationError({"pju": ["none of the selected PJU has a controller_id"]})
    group = uuid.uuid4() if len(pjus) > 1 else None
    now = timezone.now()
    cmds = Command.objects.bulk_create([
        Command(group=group, pju=p, controller_id=p.controller_id, level=body["level"], schedule=body["schedule"],
                created_by=user if user and user.is_authenticated else None, next_attempt_at=now)
        for p in pjus
    ])
    return group, cmds


def select_group(*, area: str | None = None, panel: int | None = None, ids: list | None = None):
    qs = StreetLight.objects.filter(deleted_at__isnull=True).exclude(controller_id="")
    chosen = [x for x in (area, panel, ids) if x not in (None, "", [])]
    if len(chosen) != 1:
        raise ValidationError({"non_field_errors": ["choose exactly one group: area (code), panel (id) or pju (list of ids)"]})
    if area and not isinstance(area, str):
        raise ValidationError({"area": ["area must be an area code (text)"]})
    if panel and (isinstance(panel, bool) or not isinstance(panel, int)):
        raise ValidationError({"panel": ["panel must be a panel id (integer)"]})
    if area:
        from layers.models import Area

        a = Area.objects.filter(code=area).first()
        if a is None:
            raise ValidationError({"area": [f"no area with code {area!r}"]})
        qs = qs.filter(geom__intersects=a.geom)
    elif panel:
        qs = qs.filter(panel_id=panel)
    else:
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids) or len(ids) > 10_000:
            raise ValidationError({"pju": ["pju must be a list of up to 10,000 PJU ids"]})
        qs = qs.filter(pk__in=ids)
    return list(qs)


def apply_acks(acks, dead: list, result) -> int:
    """Apply `{"id", "ok"}` answers (inside the ingest batch)."""
    from live.ingest import _dead_letter

    done = 0
    now = timezone.now()
    for raw, msg in acks:
        try:
            cid = uuid.UUID(msg.values["id"])
        except ValueError:
            cid = None
        cmd = Command.objects.filter(pk=cid, controller_id=msg.controller_id).first() if cid else None
        if cmd is None:
            _dead_letter(dead, raw, "unknown_command", f"no command {msg.values['id'][:64]!r} for controller {msg.controller_id[:64]!r}", msg.controller_id)
            result.dead["unknown_command"] += 1
            continue
        if cmd.state in ("acknowledged", "failed"):
            result.duplicates += 1
            continue
        cmd.state = "acknowledged" if msg.values["ok"] else "failed"
        cmd.acked_at = now
        cmd.error = "" if msg.values["ok"] else "controller answered ok=false"
        cmd.save(update_fields=["state", "acked_at", "error"])
        if msg.values["ok"] and cmd.schedule is not None:
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO live_livestate (pju_id, power_state, schedule) VALUES (%s, '', %s::jsonb) "
                    "ON CONFLICT (pju_id) DO UPDATE SET schedule = EXCLUDED.schedule",
                    [cmd.pju_id, __import__("json").dumps(cmd.schedule)],
                )
        done += 1
    return done


def due(now) -> list[Command]:
    """Commands to (re)send now; those past their last attempt become failed."""
    retry = timedelta(seconds=settings.COMMAND_RETRY_SECONDS)
    with transaction.atomic():
        Command.objects.filter(state="sent", attempts__gte=settings.COMMAND_MAX_ATTEMPTS, next_attempt_at__lte=now).update(
            state="failed", error=f"no ack after {settings.COMMAND_MAX_ATTEMPTS} attempts")
        cmds = list(Command.objects.select_for_update(skip_locked=True)
                    .filter(state__in=("queued", "sent"), next_attempt_at__lte=now)[:1000])
        for c in cmds:
            c.attempts += 1
            c.state = "sent"
            c.sent_at = now
            c.next_attempt_at = now + retry
        Command.objects.bulk_update(cmds, ["attempts", "state", "sent_at", "next_attempt_at"])
    return cmds


def command_dict(c: Command) -> dict:
    return {"id": str(c.id), "group": str(c.group) if c.group else None, "pju": c.pju_id, "controller_id": c.controller_id,
            "level": c.level, "schedule": c.schedule, "state": c.state, "attempts": c.attempts,
            "sent_at": c.sent_at, "acked_at": c.acked_at, "error": c.error, "created_at": c.created_at}
