"""Writes of work orders: one needs service that opens an order or joins the
active one, and one table of transitions (SPEC §4 states).

States: open → assigned → in_progress → done, or → rejected from any state
before done; `assign` again on an assigned order reassigns it; done →
verified when the PJU's own telemetry confirms the repair (SPEC §7).
Closing needs a photo and a GPS position within NEEDS_CLOSE_RADIUS_M
(default 50 m) of the asset and writes back through the layers' services
(audit, version, photo, and the needs refresh after commit):
* broken_pju → the PJU's status becomes `working`;
* damaged_road → the road's condition becomes `good` (SDI/IRI cleared,
  surveyed today);
* proposed_pju → a new `working` PJU at the closing GPS position;
* lighting_gap → nothing to write: the gap closes when its PJU are mapped."""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import GeomOutputGeoFunc
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from geo_platform.srid import STORAGE_SRID
from layers import services as layer_services
from layers.models import RoadSegment, StreetLight
from layers.selectors import LAYERS
from needs import selectors as need_selectors
from needs.models import WORK_ORDER_ACTIVE, LightingGap, ProposedPJU, WorkOrder
from needs.work_orders import permissions
from needs.work_orders.errors import DuplicateOrder, IllegalTransition
from needs.work_orders.selectors import asset_distance_m, work_order_active_for

ACTIVE = WORK_ORDER_ACTIVE


class LineInterpolatePoint(GeomOutputGeoFunc):
    """ST_LineInterpolatePoint(line, fraction) (not among Django's GIS functions)."""

    function = "ST_LineInterpolatePoint"
    geom_param_pos = (0,)


def close_radius_m() -> float:
    return float(getattr(settings, "NEEDS_CLOSE_RADIUS_M", 50.0))


# --- opening: one service for planners, sensor alarms and citizens' reports ---


def _need_properties(layer, qs) -> dict:
    body, n = need_selectors.geojson_page(layer, qs, limit=1)
    return json.loads(body)["properties"] if n else {}


def _resolve_need(kind: str, target: int) -> dict:
    """Values of a new order for the need (kind, target id), or a 400."""
    if kind == "broken_pju":
        pju = StreetLight.objects.filter(pk=target, deleted_at__isnull=True).first()
        if pju is None:
            raise ValidationError({"target": [_("no PJU with id %(id)s") % {"id": target}]})
        if pju.status not in need_selectors.BROKEN_STATUSES:
            raise ValidationError({"target": [_("PJU %(id)s is %(status)s: only off or damaged PJU need repair") % {"id": target, "status": pju.status}]})
        props = _need_properties(need_selectors.BROKEN_PJU, need_selectors.broken_pju_list().filter(pk=target))
        return {"pju": pju, "road_id": props.get("road"), "geom": pju.geom, "kecamatan_id": pju.kecamatan_id,
                "kelurahan_id": pju.kelurahan_id, "priority": props.get("priority") or 0, "need_ref": props,
                "title": f"Perbaikan PJU {pju.code or pju.pk} ({pju.get_status_display().lower()})"}
    if kind == "damaged_road":
        road = need_selectors.damaged_road_list().filter(pk=target).annotate(mid=LineInterpolatePoint("geom", 0.5)).first()
        if road is None:
            exists = RoadSegment.objects.filter(pk=target, deleted_at__isnull=True).exists()
            text = _("road %(id)s is not damaged (condition, SDI and IRI within limits)") if exists else _("no road with id %(id)s")
            raise ValidationError({"target": [text % {"id": target}]})
        props = _need_properties(need_selectors.DAMAGED_ROADS, need_selectors.damaged_road_list().filter(pk=target))
        return {"road": road, "geom": road.mid, "kecamatan_id": road.kecamatan_id, "kelurahan_id": road.kelurahan_id,
                "priority": props.get("priority") or 0, "need_ref": props,
                "title": f"Perbaikan jalan {road.name or road.pk} ({props.get('treatment_label', '')})"}
    if kind == "proposed_pju":
        pole = ProposedPJU.objects.filter(pk=target).select_related("road").first()
        if pole is None:
            raise ValidationError({"target": [_("no proposed PJU with id %(id)s (proposals are renewed by each computation)") % {"id": target}]})
        props = _need_properties(need_selectors.PROPOSED_PJU, need_selectors.proposed_pju_list().filter(pk=target))
        return {"road_id": pole.road_id, "geom": pole.geom, "kecamatan_id": pole.kecamatan_id,
                "kelurahan_id": pole.kelurahan_id, "priority": pole.priority, "need_ref": {"proposed_pju": target, **props},
                "title": f"Pemasangan PJU baru di {pole.road.name or 'jalan ' + str(pole.road_id)} km {pole.chainage_m / 1000:.3f}"}
    if kind == "lighting_gap":
        gap = LightingGap.objects.filter(pk=target).select_related("road").annotate(mid=LineInterpolatePoint("geom", 0.5)).first()
        if gap is None:
            raise ValidationError({"target": [_("no lighting gap with id %(id)s (gaps are renewed by each computation)") % {"id": target}]})
        props = _need_properties(need_selectors.LIGHTING_GAPS, need_selectors.lighting_gap_list().filter(pk=target))
        return {"road_id": gap.road_id, "geom": gap.mid, "kecamatan_id": gap.kecamatan_id, "kelurahan_id": gap.kelurahan_id,
                "priority": gap.priority, "need_ref": {"lighting_gap": target, **props},
                "title": f"Penerangan {gap.road.name or 'jalan ' + str(gap.road_id)} {gap.start_m:.0f}–{gap.end_m:.0f} m"}
    raise ValidationError({"kind": [_("unknown kind %(kind)r") % {"kind": kind}]})


def _alarm_values(pju: StreetLight, reason: str) -> dict:
    """A sensor's order: the PJU as it stands, the alarm as the need (SPEC §7)."""
    return {"pju": pju, "geom": pju.geom, "kecamatan_id": pju.kecamatan_id, "kelurahan_id": pju.kelurahan_id,
            "need_ref": {"alarm": reason}, "title": f"Perbaikan PJU {pju.code or pju.pk} (alarm sensor: {reason})"}


def _check_officer(officer) -> None:
    if not permissions.is_officer(officer):
        raise ValidationError({"officer": [_("user %(user)s is not a field officer (group field_officer)") % {"user": officer.username}]})


@transaction.atomic
def work_order_open_or_join(*, kind: str, target: int, user=None, join: bool = True, source: str | None = None,
                            alarm: str | None = None, pju: StreetLight | None = None, assigned_to=None, title: str = "",
                            notes: str = "", priority_step: int = 0, before_open=None) -> tuple[WorkOrder, bool]:
    """(the order covering the need (kind, target), created?): the active one
    when there is one (`join=False` refuses it with DuplicateOrder instead),
    else a new one. `alarm` opens it for a sensor alarm (source sensor, the
    PJU (`pju`, or read by `target`) taken as it is); `priority_step` > 0
    raises the order's priority by that much, joined or new (a citizen's
    report), locking a joined order; `before_open()` runs when a new order
    is about to be opened (a report marks its asset broken first)."""
    active = work_order_active_for(kind=kind, target=target)
    if priority_step:
        active = active.select_for_update(no_key=True)
    existing = active.first()
    if existing is not None:
        if not join:
            raise DuplicateOrder(existing)
        if priority_step:
            WorkOrder.objects.filter(pk=existing.pk).update(priority=F("priority") + priority_step)
        return existing, False
    if before_open is not None:
        before_open()
    if alarm is not None:
        values = _alarm_values(pju or StreetLight.objects.get(pk=target), alarm)
        values["source"] = "sensor"
    else:
        values = _resolve_need(kind, target)
        values["title"] = title or values["title"]
        if source:
            values["source"] = source
    if assigned_to is not None:
        _check_officer(assigned_to)
    now = timezone.now()
    try:
        with transaction.atomic():
            order = WorkOrder.objects.create(
                kind=kind, notes=notes, created_by=user, assigned_to=assigned_to,
                status="assigned" if assigned_to else "open", assigned_at=now if assigned_to else None, **values,
            )
    except IntegrityError:  # issue 12: a concurrent request won the race (partial unique index)
        existing = work_order_active_for(kind=kind, target=target).first()
        if existing is None:
            raise
        if not join:
            raise DuplicateOrder(existing) from None
        order, created = existing, False
    else:
        created = True
    if priority_step:
        WorkOrder.objects.filter(pk=order.pk).update(priority=F("priority") + priority_step)
    return order, created


def work_order_create(*, user, kind: str, target: int, assigned_to=None, title: str = "", notes: str = "") -> WorkOrder:
    """A planner's order on a need; DuplicateOrder when one is active."""
    order, _created = work_order_open_or_join(kind=kind, target=target, user=user, join=False, assigned_to=assigned_to,
                                       title=title, notes=notes)
    return order


def work_order_open_for_alarm(*, pju: StreetLight, reason: str) -> tuple[WorkOrder, bool]:
    """The active order on `pju`, or a new one (kind broken_pju, source
    sensor). Call inside the caller's transaction (the ingest batch)."""
    return work_order_open_or_join(kind="broken_pju", target=pju.pk, alarm=reason, pju=pju)


# --- transitions: one table -----------------------------------------------------


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]  # states it may start from
    target: str  # resulting state


TRANSITIONS = {
    "assign": Transition(("open", "assigned"), "assigned"),
    "start": Transition(("assigned",), "in_progress"),
    "close": Transition(("in_progress",), "done"),
    "reject": Transition(ACTIVE, "rejected"),
    "verify": Transition(("done",), "verified"),  # by telemetry, not by a person (live.alarms)
}
ACTIONS = ("assign", "start", "close", "reject")  # what people do through the API


def allowed_actions(order: WorkOrder) -> list[str]:
    return [a for a in ACTIONS if order.status in TRANSITIONS[a].sources]


def _check_state(order: WorkOrder, action: str) -> str:
    transition = TRANSITIONS[action]
    if order.status not in transition.sources:
        raise IllegalTransition(order, action, ", ".join(allowed_actions(order)))
    return transition.target


def _assign(order, user, *, officer):
    _check_officer(officer)
    order.assigned_to, order.assigned_at = officer, timezone.now()


def _start(order, user):
    order.started_at = timezone.now()


def _reject(order, user, *, reason: str):
    order.rejected_at, order.reject_reason = timezone.now(), reason


def _close(order, user, *, photo, lon: float, lat: float, accuracy_m: float | None = None, note: str = ""):
    distance = asset_distance_m(order, lon, lat)
    radius = close_radius_m()
    if distance > radius:
        raise ValidationError({
            "position": [_("the GPS position is %(distance).0f m from the asset; closing needs a position within %(radius).0f m")
                         % {"distance": distance, "radius": radius}]
        })
    position = Point(lon, lat, srid=STORAGE_SRID)
    photo_on = None
    if order.kind == "broken_pju" and order.pju_id:
        pju = StreetLight.objects.get(pk=order.pju_id)
        layer_services.feature_update(spec=LAYERS["pju"], pk=pju.pk, data={"status": "working"}, version=pju.version, user=user)
        photo_on = ("pju", pju.pk)
    elif order.kind == "damaged_road" and order.road_id:
        road = RoadSegment.objects.get(pk=order.road_id)
        data = {"condition": "good", "sdi": None, "iri": None, "surveyed_on": timezone.localdate()}
        layer_services.feature_update(spec=LAYERS["roads"], pk=road.pk, data=data, version=road.version, user=user)
        photo_on = ("roads", road.pk)
    elif order.kind == "proposed_pju":
        height = (order.need_ref.get("rule") or {}).get("H")
        created = layer_services.feature_create(
            spec=LAYERS["pju"], user=user,
            data={"geom": position, "status": "working", "source": "work_order", "source_id": str(order.pk),
                  "code": f"WO-{order.pk}", "pole_height_m": height},
        )
        order.created_pju_id = created.pk
        photo_on = ("pju", created.pk)
    elif order.road_id:
        photo_on = ("roads", order.road_id)
    if photo_on:
        layer, pk = photo_on
        order.closing_photo = layer_services.photo_add(
            spec=LAYERS[layer], pk=pk, image=photo, caption=f"WO-{order.pk} selesai", taken_at=timezone.now(),
            geom=position, accuracy_m=accuracy_m, user=user,
        )
    order.done_at = timezone.now()
    order.closing_geom, order.closing_accuracy_m, order.closing_distance_m = position, accuracy_m, distance
    order.closing_note = note


EFFECTS = {"assign": _assign, "start": _start, "close": _close, "reject": _reject}


@transaction.atomic
def work_order_transition(*, order: WorkOrder, user, action: str, **data) -> WorkOrder:
    """Do `action` (assign, start, close, reject) to `order` as `user`: who may
    (permissions), from which state (TRANSITIONS), then its effect; one
    version step. NotAllowed, IllegalTransition or a 400 otherwise."""
    if action == "assign":
        permissions.check(user, action, order)  # a planner's act: refused before the order is locked
    order = WorkOrder.objects.select_for_update().get(pk=order.pk)
    permissions.check(user, action, order)
    target = _check_state(order, action)
    EFFECTS[action](order, user, **data)
    order.status = target
    order.version += 1
    order.save()
    return order


def work_order_assign(*, order: WorkOrder, user, officer) -> WorkOrder:
    return work_order_transition(order=order, user=user, action="assign", officer=officer)


def work_order_start(*, order: WorkOrder, user) -> WorkOrder:
    return work_order_transition(order=order, user=user, action="start")


def work_order_reject(*, order: WorkOrder, user, reason: str) -> WorkOrder:
    return work_order_transition(order=order, user=user, action="reject", reason=reason)


def work_order_close(*, order: WorkOrder, user, photo, lon: float, lat: float, accuracy_m: float | None = None,
                     note: str = "") -> WorkOrder:
    return work_order_transition(order=order, user=user, action="close", photo=photo, lon=lon, lat=lat,
                                 accuracy_m=accuracy_m, note=note)


def work_order_verify(*, order: WorkOrder) -> WorkOrder:
    """done → verified: the PJU's own telemetry confirms the repair."""
    order.status = _check_state(order, "verify")
    order.verified_at = timezone.now()
    order.version += 1
    order.save()
    return order
