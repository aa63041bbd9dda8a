"""Reads of work orders: one order, the filtered list, the GeoJSON pages
(built by PostGIS through geo_platform.geojson) and the GPS distance check."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.expressions import RawSQL

from geo_platform.geojson import FeatureSpec, Page, feature_page, feature_text
from geo_platform.srid import STORAGE_SRID
from layers.models import Area, Photo, RoadSegment, StreetLight
from needs.models import WORK_ORDER_ACTIVE, WorkOrder

ACTIVE = WORK_ORDER_ACTIVE


def work_order_get(pk: int) -> WorkOrder | None:
    return WorkOrder.objects.filter(pk=pk).first()


def work_order_list(*, user=None, mine: bool = False) -> QuerySet[WorkOrder]:
    qs = WorkOrder.objects.select_related("assigned_to", "kecamatan", "kelurahan")
    if mine and user is not None:
        qs = qs.filter(assigned_to=user)
    return qs


def work_order_active_for(*, kind: str, target: int) -> QuerySet[WorkOrder]:
    """The active orders on the need (kind, target), oldest first: on a PJU
    any active order (a planner's, a sensor alarm's, a report's), on a road
    its repair orders, else the order naming the stored need."""
    qs = WorkOrder.objects.filter(status__in=ACTIVE)
    if kind == "broken_pju":
        qs = qs.filter(pju_id=target)
    elif kind == "damaged_road":
        qs = qs.filter(kind=kind, road_id=target)
    else:
        qs = qs.filter(kind=kind, **{f"need_ref__{kind}": target})
    return qs.order_by("created_at", "id")


def _features() -> FeatureSpec:
    users, photos, areas = get_user_model()._meta.db_table, Photo._meta.db_table, Area._meta.db_table
    media = settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL
    return FeatureSpec(
        columns=(
            "kind", "status", "title", "notes", "priority", "pju_id", "road_id", "need_ref", "kecamatan_id", "kelurahan_id",
            "created_by_id", "assigned_to_id", "created_at", "assigned_at", "started_at", "done_at", "rejected_at",
            "reject_reason", "closing_note", "closing_accuracy_m", "closing_distance_m", "closing_photo_id",
            "created_pju_id", "version", "geom", "source", "verified_at", "distance_m",
        ),
        properties=(
            ("kind", "t.kind"), ("status", "t.status"), ("title", "t.title"), ("notes", "t.notes"),
            ("priority", "t.priority"), ("pju", "t.pju_id"), ("road", "t.road_id"), ("need", "t.need_ref"),
            ("kecamatan", "k.code"), ("kelurahan", "kl.code"), ("created_by", "cb.username"),
            ("assigned_to", "au.username"), ("assigned_to_id", "t.assigned_to_id"), ("created_at", "t.created_at"),
            ("assigned_at", "t.assigned_at"), ("started_at", "t.started_at"), ("done_at", "t.done_at"),
            ("rejected_at", "t.rejected_at"), ("reject_reason", "t.reject_reason"), ("closing_note", "t.closing_note"),
            ("closing_accuracy_m", "t.closing_accuracy_m"), ("closing_distance_m", "t.closing_distance_m"),
            ("closing_photo", "CASE WHEN ph.id IS NULL THEN NULL ELSE json_build_object('id', ph.id, 'url', %s || ph.image) END"),
            ("created_pju", "t.created_pju_id"), ("version", "t.version"), ("distance_m", "t.distance_m"),
            ("source", "t.source"), ("verified_at", "t.verified_at"),
        ),
        joins=(f" LEFT JOIN {areas} k ON k.id = t.kecamatan_id LEFT JOIN {areas} kl ON kl.id = t.kelurahan_id"
               f" LEFT JOIN {users} cb ON cb.id = t.created_by_id LEFT JOIN {users} au ON au.id = t.assigned_to_id"
               f" LEFT JOIN {photos} ph ON ph.id = t.closing_photo_id"),
        params=(media,),
    )


_ORDER_SQL = "t.distance_m NULLS LAST, t.created_at DESC, t.id DESC"


def _with_distance(qs: QuerySet, near: tuple[float, float] | None) -> QuerySet:
    if near is None:
        return qs.annotate(distance_m=Value(None, output_field=FloatField()))
    return qs.annotate(distance_m=RawSQL(
        "ST_Distance(needs_workorder.geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), %s)::geography)",
        (near[0], near[1], STORAGE_SRID), output_field=FloatField()))


def work_order_page(qs: QuerySet, *, near: tuple[float, float] | None, limit: int, offset: int = 0) -> Page:
    """One page of orders as GeoJSON; nearest first (metres on the spheroid,
    `distance_m`) when `near` is given, else newest first."""
    order_by = (F("distance_m").asc(nulls_last=True), "-created_at", "-id")
    return feature_page(_features(), _with_distance(qs, near), limit=limit, offset=offset, order_by=order_by, order=_ORDER_SQL)


def work_order_feature_text(pk: int) -> str:
    return feature_text(_features(), _with_distance(WorkOrder.objects.filter(pk=pk), None)) or ""


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
