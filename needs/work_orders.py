"""Work orders: a need becomes a job for a field officer.

States (SPEC §4): open → assigned → in_progress → done, or → rejected from
any state before done; `assign` again on an assigned order reassigns it.
Planners (group `planner`) and admins create, assign and reject; only the
assigned officer (group `field_officer`) starts and closes, with a photo and
a GPS position within NEEDS_CLOSE_RADIUS_M (default 50 m) of the asset.
Closing writes back through the layers' services (audit, version, photo,
and the needs refresh after commit):
* broken_pju → the PJU's status becomes `working`;
* damaged_road → the road's condition becomes `good` (SDI/IRI cleared,
  surveyed today);
* proposed_pju → a new `working` PJU at the closing GPS position;
* lighting_gap → nothing to write: the gap closes when its PJU are mapped."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON, GeomOutputGeoFunc
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from geo_platform.srid import STORAGE_SRID
from layers import services as layer_services
from layers.models import Photo, RoadSegment, StreetLight
from layers.selectors import GEOJSON_DECIMALS, LAYERS
from needs import selectors
from needs.models import WORK_ORDER_ACTIVE, LightingGap, ProposedPJU, WorkOrder



class LineInterpolatePoint(GeomOutputGeoFunc):
    """ST_LineInterpolatePoint(line, fraction) (not among Django's GIS functions)."""

    function = "ST_LineInterpolatePoint"
    geom_param_pos = (0,)


ACTIVE = WORK_ORDER_ACTIVE
TRANSITIONS = {  # action → (states it may start from, resulting state)
    "assign": (("open", "assigned"), "assigned"),
    "start": (("assigned",), "in_progress"),
    "close": (("in_progress",), "done"),
    "reject": (ACTIVE, "rejected"),
}


class IllegalTransition(Exception):
    def __init__(self, order: WorkOrder, action: str):
        allowed = ", ".join(a for a, (states, _) in TRANSITIONS.items() if order.status in states) or "none (final state)"
        self.current = order.status
        super().__init__(f"work order {order.pk} is {order.status}: cannot {action} it (allowed now: {allowed})")


class NotAllowed(Exception):
    pass


def close_radius_m() -> float:
    return float(getattr(settings, "NEEDS_CLOSE_RADIUS_M", 50.0))


def _in_group(user, name: str) -> bool:
    return bool(user and user.is_authenticated and user.groups.filter(name=name).exists())


def is_planner(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or _in_group(user, "planner")))


def is_officer(user) -> bool:
    return _in_group(user, "field_officer")


def _check(order: WorkOrder, action: str) -> str:
    states, target = TRANSITIONS[action]
    if order.status not in states:
        raise IllegalTransition(order, action)
    return target


def _need_properties(layer, qs) -> dict:
    body, n = selectors.geojson_page(layer, qs, limit=1)
    return json.loads(body)["properties"] if n else {}


def _resolve_need(kind: str, target: int) -> dict:
    """Values of a new order for the need (kind, target id), or a 400."""
    if kind == "broken_pju":
        pju = StreetLight.objects.filter(pk=target, deleted_at__isnull=True).first()
        if pju is None:
            raise ValidationError({"target": [f"no PJU with id {target}"]})
        if pju.status not in selectors.BROKEN_STATUSES:
            raise ValidationError({"target": [f"PJU {target} is {pju.status}: only off or damaged PJU need repair"]})
        props = _need_properties(selectors.BROKEN_PJU, selectors.broken_pju_list().filter(pk=target))
        return {"pju": pju, "road_id": props.get("road"), "geom": pju.geom, "kecamatan_id": pju.kecamatan_id,
                "kelurahan_id": pju.kelurahan_id, "priority": props.get("priority") or 0, "need_ref": props,
                "title": f"Perbaikan PJU {pju.code or pju.pk} ({pju.get_status_display().lower()})"}
    if kind == "damaged_road":
        road = selectors.damaged_road_list().filter(pk=target).annotate(mid=LineInterpolatePoint("geom", 0.5)).first()
        if road is None:
            exists = RoadSegment.objects.filter(pk=target, deleted_at__isnull=True).exists()
            raise ValidationError({"target": [f"road {target} is not damaged (condition, SDI and IRI within limits)" if exists else f"no road with id {target}"]})
        props = _need_properties(selectors.DAMAGED_ROADS, selectors.damaged_road_list().filter(pk=target))
        return {"road": road, "geom": road.mid, "kecamatan_id": road.kecamatan_id, "kelurahan_id": road.kelurahan_id,
                "priority": props.get("priority") or 0, "need_ref": props,
                "title": f"Perbaikan jalan {road.name or road.pk} ({props.get('treatment_label', '')})"}
    if kind == "proposed_pju":
        pole = ProposedPJU.objects.filter(pk=target).select_related("road").first()
        if pole is None:
            raise ValidationError({"target": [f"no proposed PJU with id {target} (proposals are renewed by each computation)"]})
        props = _need_properties(selectors.PROPOSED_PJU, selectors.proposed_pju_list().filter(pk=target))
        return {"road_id": pole.road_id, "geom": pole.geom, "kecamatan_id": pole.kecamatan_id,
                "kelurahan_id": pole.kelurahan_id, "priority": pole.priority, "need_ref": {"proposed_pju": target, **props},
                "title": f"Pemasangan PJU baru di {pole.road.name or 'jalan ' + str(pole.road_id)} km {pole.chainage_m / 1000:.3f}"}
    if kind == "lighting_gap":
        gap = LightingGap.objects.filter(pk=target).select_related("road").annotate(mid=LineInterpolatePoint("geom", 0.5)).first()
        if gap is None:
            raise ValidationError({"target": [f"no lighting gap with id {target} (gaps are renewed by each computation)"]})
        props = _need_properties(selectors.LIGHTING_GAPS, selectors.lighting_gap_list().filter(pk=target))
        return {"road_id": gap.road_id, "geom": gap.mid, "kecamatan_id": gap.kecamatan_id, "kelurahan_id": gap.kelurahan_id,
                "priority": gap.priority, "need_ref": {"lighting_gap": target, **props},
                "title": f"Penerangan {gap.road.name or 'jalan ' + str(gap.road_id)} {gap.start_m:.0f}–{gap.end_m:.0f} m"}
    raise ValidationError({"kind": [f"unknown kind {kind!r}"]})


def _duplicate_of(kind: str, target: int, values: dict) -> WorkOrder | None:
    qs = WorkOrder.objects.filter(kind=kind, status__in=ACTIVE)
    if kind == "broken_pju":
        return qs.filter(pju=values["pju"]).first()
    if kind == "damaged_road":
        return qs.filter(road=values["road"]).first()
    return qs.filter(**{f"need_ref__{kind}": target}).first()


def _check_officer(officer) -> None:
    if not is_officer(officer):
        raise ValidationError({"officer": [f"user {officer.username} is not a field officer (group field_officer)"]})


@transaction.atomic
def work_order_create(*, user, kind: str, target: int, assigned_to=None, title: str = "", notes: str = "") -> WorkOrder:
    values = _resolve_need(kind, target)
    duplicate = _duplicate_of(kind, target, values)
    if duplicate is not None:
        raise DuplicateOrder(duplicate)
    if assigned_to is not None:
        _check_officer(assigned_to)
    now = timezone.now()
    values["title"] = title or values["title"]
    try:
        with transaction.atomic():
            return WorkOrder.objects.create(
                kind=kind, notes=notes, created_by=user, assigned_to=assigned_to,
                status="assigned" if assigned_to else "open", assigned_at=now if assigned_to else None, **values,
            )
    except IntegrityError:  # issue 12: a concurrent request won the race (partial unique index)
        duplicate = _duplicate_of(kind, target, values)
        if duplicate is None:
            raise
        raise DuplicateOrder(duplicate) from None


class DuplicateOrder(Exception):
    """An active order already covers the need (→ 409 with that order as `current`)."""

    def __init__(self, order: WorkOrder):
        self.order = order
        super().__init__(f"work order {order.pk} ({order.status}) already covers this need")


def _locked(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def work_order_assign(*, order: WorkOrder, user, officer) -> WorkOrder:
    if not is_planner(user):
        raise NotAllowed("only planners (group planner) or admins assign work orders")
    order = _locked(order)
    order.status = _check(order, "assign")
    _check_officer(officer)
    order.assigned_to, order.assigned_at = officer, timezone.now()
    order.version += 1
    order.save()
    return order


@transaction.atomic
def work_order_start(*, order: WorkOrder, user) -> WorkOrder:
    order = _locked(order)
    if order.assigned_to_id != getattr(user, "pk", None):
        raise NotAllowed(f"only the assigned officer starts work order {order.pk}")
    order.status = _check(order, "start")
    order.started_at = timezone.now()
    order.version += 1
    order.save()
    return order


@transaction.atomic
def work_order_reject(*, order: WorkOrder, user, reason: str) -> WorkOrder:
    order = _locked(order)
    if not (is_planner(user) or order.assigned_to_id == getattr(user, "pk", None)):
        raise NotAllowed("only planners, admins or the assigned officer reject a work order")
    order.status = _check(order, "reject")
    order.rejected_at, order.reject_reason = timezone.now(), reason
    order.version += 1
    order.save()
    return order


def asset_distance_m(order: WorkOrder, lon: float, lat: float) -> float:
    """Metres on the spheroid from a GPS fix to the order's asset: the PJU,
    the road line (damaged road, lighting gap) or the proposed position."""
    if order.kind == "broken_pju" and order.pju_id:
        table, pk = StreetLight._meta.db_table, order.pju_id
    elif order.kind in ("damaged_road", "lighting_gap") and order.road_id:
        table, pk = RoadSegment._meta.db_table, order.road_id
    else:
        table, pk = WorkOrder._meta.db_table, order.pk
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), %s)::geography) FROM {table} WHERE id = %s",
            [lon, lat, STORAGE_SRID, pk],
        )
        return float(cur.fetchone()[0])


@transaction.atomic
def work_order_close(*, order: WorkOrder, user, photo, lon: float, lat: float, accuracy_m: float | None = None, note: str = "") -> WorkOrder:
    order = _locked(order)
    if order.assigned_to_id != getattr(user, "pk", None):
        raise NotAllowed(f"only the assigned officer closes work order {order.pk}")
    target = _check(order, "close")
    distance = asset_distance_m(order, lon, lat)
    radius = close_radius_m()
    if distance > radius:
        raise ValidationError({
            "position": [f"the GPS position is {distance:.0f} m from the asset; closing needs a position within {radius:.0f} m"]
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
    order.status, order.done_at = target, timezone.now()
    order.closing_geom, order.closing_accuracy_m, order.closing_distance_m = position, accuracy_m, distance
    order.closing_note = note
    order.version += 1
    order.save()
    return order


def work_order_get(pk: int) -> WorkOrder | None:
    return WorkOrder.objects.filter(pk=pk).first()


_WO_FIELDS = (
    "kind", "status", "title", "notes", "priority", "pju_id", "road_id", "need_ref", "kecamatan_id", "kelurahan_id",
    "created_by_id", "assigned_to_id", "created_at", "assigned_at", "started_at", "done_at", "rejected_at",
    "reject_reason", "closing_note", "closing_accuracy_m", "closing_distance_m", "closing_photo_id", "created_pju_id",
    "version", "geom",
)


def work_order_collection(qs: QuerySet, *, near: tuple[float, float] | None, limit: int, offset: int = 0) -> tuple[str, int, int]:
    """(features text, returned, matched); nearest first (metres on the
    spheroid, `distance_m`) when `near` is given, else newest first."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._meta.db_table
    photos = Photo._meta.db_table
    if near:
        order_sql = "ST_Distance(t.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), %s)::geography)"
        near_params = [near[0], near[1], STORAGE_SRID]
    else:
        order_sql, near_params = "NULL::float8", []
    page = qs.order_by("-created_at", "-id")
    sql, params = page.values("id", *_WO_FIELDS, _gj=AsGeoJSON("geom", precision=GEOJSON_DECIMALS)).query.sql_with_params()
    props = (
        "'kind', t.kind, 'status', t.status, 'title', t.title, 'notes', t.notes, 'priority', t.priority, "
        "'pju', t.pju_id, 'road', t.road_id, 'need', t.need_ref, 'kecamatan', k.code, 'kelurahan', kl.code, "
        "'created_by', cb.username, 'assigned_to', au.username, 'assigned_to_id', t.assigned_to_id, "
        "'created_at', t.created_at, 'assigned_at', t.assigned_at, 'started_at', t.started_at, 'done_at', t.done_at, "
        "'rejected_at', t.rejected_at, 'reject_reason', t.reject_reason, 'closing_note', t.closing_note, "
        "'closing_accuracy_m', t.closing_accuracy_m, 'closing_distance_m', t.closing_distance_m, "
        "'closing_photo', CASE WHEN ph.id IS NULL THEN NULL ELSE json_build_object('id', ph.id, 'url', %s || ph.image) END, "
        "'created_pju', t.created_pju_id, 'version', t.version, 'distance_m', t.distance_m"
    )
    media = settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL
    full = f"""
        SELECT count(*), coalesce(string_agg(json_build_object('type', 'Feature', 'id', t.id,
               'geometry', t._gj::json, 'properties', json_build_object({props}))::text, ',' ORDER BY t.rn), '')
        FROM (
            SELECT q.*, d.distance_m, row_number() OVER (ORDER BY d.distance_m NULLS LAST, q.created_at DESC, q.id DESC) AS rn
            FROM ({sql}) q CROSS JOIN LATERAL (SELECT {order_sql.replace('t.geom', 'q.geom')} AS distance_m) d
            ORDER BY rn LIMIT %s OFFSET %s
        ) t
        LEFT JOIN layers_area k ON k.id = t.kecamatan_id
        LEFT JOIN layers_area kl ON kl.id = t.kelurahan_id
        LEFT JOIN {users} cb ON cb.id = t.created_by_id
        LEFT JOIN {users} au ON au.id = t.assigned_to_id
        LEFT JOIN {photos} ph ON ph.id = t.closing_photo_id
    """
    with connection.cursor() as cur:
        cur.execute(full, [media, *params, *near_params, limit, offset])
        n, body = cur.fetchone()
    matched = qs.count()
    return body, n, matched


def work_order_feature_text(pk: int) -> str:
    body, n, _ = work_order_collection(WorkOrder.objects.filter(pk=pk), near=None, limit=1)
    return body
