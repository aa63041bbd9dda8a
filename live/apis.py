"""Thin HTTP views of the live network (SPEC §7)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_platform import access
from geo_platform.errors import json_errors
from layers.models import StreetLight
from live import commands, energy, selectors, stream
from live.models import Command


def _when(request, name: str, default: datetime) -> datetime:
    raw = request.query_params.get(name)
    if not raw:
        return default
    text = raw.strip().replace("Z", "+00:00").replace(" ", "+")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({name: [f"{name} must be an ISO 8601 date or time, got {raw[:40]!r}"]}) from None
    if not 1970 <= value.year <= 2200:
        raise ValidationError({name: [f"{name} must be between 1970 and 2200"]})
    return value.replace(tzinfo=dt_timezone.utc) if value.tzinfo is None else value


def _range(request, default_days: int = 1) -> tuple[datetime, datetime]:
    now = datetime.now(dt_timezone.utc)
    end = _when(request, "to", now)
    start = _when(request, "from", end - timedelta(days=default_days))
    if start >= end:
        raise ValidationError({"from": ["from must be before to"]})
    if end - start > timedelta(days=3660):
        raise ValidationError({"to": ["at most ten years at a time"]})
    return start, end


def _pju(pk: int) -> StreetLight:
    pju = StreetLight.objects.filter(pk=pk, deleted_at__isnull=True).first()
    if pju is None:
        raise NotFound(f"no PJU with id {pk}")
    return pju


class TelemetryView(APIView):
    @extend_schema(parameters=[OpenApiParameter("from", str), OpenApiParameter("to", str)], responses={200: OpenApiTypes.OBJECT},
                   summary="Telemetry history of one PJU (default: the last 24 h), oldest first")
    def get(self, request, pk: int):
        pju = _pju(pk)
        start, end = _range(request)
        rows = selectors.telemetry_list(pju_id=pju.pk, start=start, end=end)
        return Response({"pju": pju.pk, "controller_id": pju.controller_id, "from": start, "to": end, "count": len(rows),
                         "live": selectors.live_state(pju.pk), "results": rows})


class CommandView(APIView):
    """POST /api/pju/{id}/command/ — one PJU; POST /api/pju/command/ — a group."""

    permission_classes = [access.PLANNERS_ONLY]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={202: OpenApiTypes.OBJECT},
                   summary="Send a level or a dimming schedule to a PJU's controller (planners and admins)")
    def post(self, request, pk: int | None = None):
        data = request.data if isinstance(request.data, dict) else {}
        body = commands.parse_body({k: v for k, v in data.items() if k in ("level", "schedule")} if data else request.data)
        if pk is not None:
            pjus = [_pju(pk)]
        else:
            pjus = commands.select_group(area=data.get("area"), panel=data.get("panel"), ids=data.get("pju"))
        group, cmds = commands.command_create(pjus=pjus, body=body, user=request.user)
        if pk is not None:
            c = cmds[0]
            return Response({"id": str(c.id), "state": c.state, "url": f"/api/live/commands/{c.id}/"}, status=status.HTTP_202_ACCEPTED)
        return Response({"group": str(group) if group else None, "count": len(cmds), "commands": [str(c.id) for c in cmds],
                         "url": f"/api/live/commands/?group={group or cmds[0].id}"}, status=status.HTTP_202_ACCEPTED)


class CommandStateView(APIView):
    permission_classes = [access.PLANNERS_ONLY]

    @extend_schema(parameters=[OpenApiParameter("group", str)], responses={200: OpenApiTypes.OBJECT},
                   summary="A command's state (queued, sent, acknowledged, failed), or the commands of a group")
    def get(self, request, pk=None):
        if pk is not None:
            c = Command.objects.filter(pk=pk).first()
            if c is None:
                raise NotFound(f"no command {pk}")
            return Response(commands.command_dict(c))
        qs = Command.objects.all()
        group = request.query_params.get("group")
        if group:
            try:
                import uuid

                g = uuid.UUID(group)
            except ValueError:
                raise ValidationError({"group": ["group must be a UUID"]}) from None
            qs = qs.filter(group=g) | Command.objects.filter(pk=g)
        rows = [commands.command_dict(c) for c in qs.order_by("-created_at")[:1000]]
        counts = {}
        for r in rows:
            counts[r["state"]] = counts.get(r["state"], 0) + 1
        return Response({"count": len(rows), "states": counts, "results": rows})


class SummaryView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Live counts on/off/dimmed/offline, power now (kW), open alarms")
    def get(self, request):
        return Response(selectors.live_summary())


class XLSXRenderer(JSONRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None


class EnergyView(APIView):
    permission_classes = [access.LOGIN_ONLY]
    renderer_classes = [JSONRenderer, XLSXRenderer]

    @extend_schema(parameters=[OpenApiParameter("level", str, enum=list(energy.LEVELS)), OpenApiParameter("from", str),
                               OpenApiParameter("to", str), OpenApiParameter("format", str, enum=["json", "xlsx"])],
                   responses={200: OpenApiTypes.OBJECT}, summary="kWh and rupiah, measured vs estimated (SPEC §7)")
    def get(self, request):
        level = request.query_params.get("level") or "kecamatan"
        if level not in energy.LEVELS:
            raise ValidationError({"level": [f"level must be one of {', '.join(energy.LEVELS)}"]})
        start, end = _range(request, default_days=30)
        report = energy.energy_report(level=level, start=start, end=end)
        if request.query_params.get("format") == "xlsx":
            resp = HttpResponse(energy.energy_xlsx(report),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            resp["Content-Disposition"] = f'attachment; filename="energi-{level}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
            return resp
        return Response(report)


@json_errors
def live_stream(request):
    """GET /api/live/ — Server-Sent Events (text/event-stream) of status
    changes, power-state changes, controller events and alarms."""
    access.PUBLIC_READ_LOGIN_WRITE.check(request)  # public unless PUBLIC_READ=0; session or token
    public = not request.user.is_authenticated
    asgi = hasattr(request, "scope")  # under ASGI Django must get an async iterator (it would drain a sync one first)
    body = stream.event_stream_async(public=public) if asgi else stream.event_stream(public=public)
    resp = StreamingHttpResponse(body, content_type="text/event-stream")
    resp["Cache-Control"] = "no-cache"
    resp["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    resp["Content-Encoding"] = "identity"  # GZipMiddleware would hold events back in its buffer
    return resp
