"""Reads of the map layers. PostGIS writes the GeoJSON text: Python never
serialises features row by row (the stock drf-gis serializer is 10× slower
on the same 10,000 PJU; see docs/benchmarks.md).

`LAYERS` is the one description of each API layer (slug → model, output
properties, filters); the REST API, the OGC API and the exports read it."""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection
from django.db.models import QuerySet

from layers.models import Area, Panel, Photo, RoadSegment, StreetLight

GEOJSON_DECIMALS = 7  # ~1 cm at the equator; RFC 7946 recommends no more than needed
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
OUTPUT_NAMES = {"panel_id": "panel", "parent_id": "parent"}  # foreign keys output under their field name


@dataclass(frozen=True)
class LayerSpec:
    slug: str
    model: type
    title: str
    properties: tuple[str, ...]  # model columns output as they are
    filters: tuple[str, ...]  # attribute query parameters (besides bbox, area, limit, offset)
    geometry_types: tuple[str, ...]  # accepted on write (GeoJSON type names)
    has_areas: bool = True  # kecamatan/kelurahan output as area codes
    soft_delete: bool = True
    description: str = ""

    @property
    def table(self) -> str:
        return self.model._meta.db_table


# updated_at is left out of the GeoJSON: formatting timestamps costs ~17 % of
# the query, and `version` is what clients compare.
_ASSET = ("source", "source_id", "version")

LAYERS: dict[str, LayerSpec] = {
    "pju": LayerSpec(
        slug="pju",
        model=StreetLight,
        title="PJU (Penerangan Jalan Umum) / street lights",
        properties=(
            "code", "status", "lamp_type", "wattage_w", "pole_height_m", "ownership", "legal",
            "power_source", "pln_customer_id", "panel_id", "installed_on", "status_origin", *_ASSET,
        ),
        filters=("status", "lamp_type", "ownership", "source"),
        geometry_types=("Point",),
    ),
    "roads": LayerSpec(
        slug="roads",
        model=RoadSegment,
        title="Ruas jalan / road segments",
        properties=(
            "name", "section_code", "road_class", "authority", "surface", "width_m", "lanes", "condition",
            "condition_origin", "sdi", "iri", "surveyed_on", "design_esa", "approximate", "length_m", *_ASSET,
        ),
        filters=("road_class", "condition", "surface", "authority", "source"),
        geometry_types=("LineString",),
    ),
    "areas": LayerSpec(
        slug="areas",
        model=Area,
        title="Wilayah administrasi / administrative areas",
        properties=("level", "code", "name", "parent_id", "area_m2", "source", "source_id", "version"),
        filters=("level", "source"),
        geometry_types=("Polygon", "MultiPolygon"),
        has_areas=False,
        soft_delete=False,
    ),
    "panels": LayerSpec(
        slug="panels",
        model=Panel,
        title="Panel PJU / lighting control panels",
        properties=("code", "pln_customer_id", "meter", *_ASSET),
        filters=("source",),
        geometry_types=("Point",),
    ),
}


def layer_get(slug: str) -> LayerSpec | None:
    return LAYERS.get(slug)


def layer_queryset(spec: LayerSpec, *, include_deleted: bool = False) -> QuerySet:
    qs = spec.model.objects.all()
    if spec.soft_delete and not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    return qs


def _json_text(expr: str) -> str:
    """SQL turning a column into its JSON text (the area map already holds JSON)."""
    return f"({expr})::text" if "jsonb_object_agg" in expr else f"to_json({expr})::text"


def _feature_sql(spec: LayerSpec, qs: QuerySet) -> tuple[str, list, str]:
    """(FROM clause, params, feature expression): the queryset compiled to a
    subquery `t` (geometry as GeoJSON text in `_gj`) joined to the area codes,
    and the SQL expression building one Feature's text from it."""
    annotations = {"_gj": AsGeoJSON("geom", precision=GEOJSON_DECIMALS)}
    props = [(OUTPUT_NAMES.get(p, p), f"t.{p}") for p in spec.properties]
    columns = ["id", *spec.properties]
    joins = ""
    if spec.has_areas:
        # Area codes come from one small id → code map built per query (an
        # index-only scan, migration 0005), looked up per row: cheaper than
        # joining the area table twice (~2× the cost of the lookup here).
        # An uncorrelated scalar subquery is an InitPlan, built once per query;
        # as a joined subquery it was rebuilt per row under OFFSET plans (10× slower pages).
        columns += ["kecamatan_id", "kelurahan_id"]
        area_map = f"(SELECT jsonb_object_agg(id::text, code) FROM {Area._meta.db_table})"
        props += [("kecamatan", f"{area_map} -> t.kecamatan_id::text"), ("kelurahan", f"{area_map} -> t.kelurahan_id::text")]
    inner = qs.annotate(**annotations).values(*columns, *annotations)
    sql, params = inner.query.sql_with_params()
    # One text per Feature by concatenation: ST_AsGeoJSON's output spliced in
    # as it is, each property through to_json (escaping, numbers, dates,
    # null). 2.3× faster than json_build_object on PostgreSQL 15, which looks
    # up every argument's type on every row.
    members = ", ".join(
        f"'{',' if i else ''}\"{name}\":', coalesce({_json_text(expr)}, 'null')" for i, (name, expr) in enumerate(props)
    )
    feature = (
        "concat('{\"type\":\"Feature\",\"id\":', t.id, ',\"geometry\":', t._gj, "
        f"',\"properties\":{{', {members}, '}}}}')"
    )
    return f"({sql}) t{joins}", list(params), feature


def feature_collection_body(spec: LayerSpec, qs: QuerySet, *, limit: int, offset: int = 0) -> tuple[bytes, int]:
    """(comma-joined Feature texts as UTF-8 bytes, number of features) for one
    page of `qs` ordered by id, built by PostGIS in one query. Bytes pass
    straight to the response: no decoding and re-encoding of megabytes."""
    page = qs.order_by("id")[offset : offset + limit]
    sql, params, feature = _feature_sql(spec, page)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*), convert_to(coalesce(string_agg({feature}, ','), ''), 'UTF8') FROM {sql}", params
        )
        n, body = cur.fetchone()
    return bytes(body), n


def feature_collection(spec: LayerSpec, qs: QuerySet, *, limit: int, offset: int = 0) -> tuple[bytes, int, int]:
    """(features as UTF-8 bytes, number returned, number matched)."""
    body, n = feature_collection_body(spec, qs, limit=limit, offset=offset)
    matched = offset + n if (n < limit and (n > 0 or offset == 0)) else qs.count()
    return body, n, matched


def feature_text(spec: LayerSpec, pk: int, *, include_deleted: bool = False) -> str | None:
    """One Feature as GeoJSON text (photos listed in its properties), or None."""
    qs = layer_queryset(spec, include_deleted=include_deleted).filter(pk=pk)
    body, n = feature_collection_body(spec, qs, limit=1)
    if not n:
        return None
    if spec.soft_delete:
        feature = json.loads(body)
        feature["properties"]["photos"] = photo_list(layer=spec.slug, object_id=pk)
        deleted_at = qs.values_list("deleted_at", flat=True).first()
        if deleted_at:
            feature["properties"]["deleted_at"] = deleted_at.isoformat()
        return json.dumps(feature)
    return body.decode()


def feature_dict(spec: LayerSpec, pk: int, *, include_deleted: bool = False) -> dict | None:
    text = feature_text(spec, pk, include_deleted=include_deleted)
    return json.loads(text) if text else None


def photo_list(*, layer: str, object_id: int) -> list[dict]:
    return [
        {
            "id": p.id,
            "url": p.image.url,
            "caption": p.caption,
            "taken_at": p.taken_at.isoformat() if p.taken_at else None,
            "accuracy_m": p.accuracy_m,
            "location": json.loads(p.geom.geojson) if p.geom else None,
            "created_at": p.created_at.isoformat(),
        }
        for p in Photo.objects.filter(layer=layer, object_id=object_id)
    ]


def layer_extent(spec: LayerSpec) -> tuple[float, float, float, float] | None:
    """Bounding box (lon/lat) of the live features, computed by PostGIS."""
    return layer_queryset(spec).aggregate(e=Extent("geom"))["e"]


def audit_history(*, layer: str, object_id: int, limit: int = 1000) -> list[dict]:
    """History of one feature (or imagery record), newest first: who, when,
    what (before → after), through which channel."""
    from layers.models import AuditLog

    rows = (AuditLog.objects.filter(layer=layer, object_id=object_id).select_related("user")
            .values("id", "at", "action", "channel", "user__username", "before", "changes")[:limit])
    return [{"id": r["id"], "at": r["at"], "action": r["action"], "channel": r["channel"], "user": r["user__username"],
             "before": r["before"], "after": r["changes"]} for r in rows]
