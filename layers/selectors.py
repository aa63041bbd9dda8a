"""Reads of the map layers. PostGIS writes the GeoJSON text: Python never
serialises features row by row (the stock drf-gis serializer is 10× slower
on the same 10,000 PJU; see docs/benchmarks.md).

`LAYERS` is the one description of each API layer (slug → model, output
properties, filters); the REST API, the OGC API and the exports read it."""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.db import connection
from django.db.models import QuerySet

from geo_platform.geojson import DEFAULT_LIMIT, GEOJSON_DECIMALS, MAX_LIMIT, FeatureSpec, Page, feature_page_sql, matched_without_count  # noqa: F401
from layers.models import Area, Panel, Photo, RoadSegment, StreetLight

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
            "power_source", "pln_customer_id", "panel_id", "installed_on", "status_origin", "controller_id", *_ASSET,
        ),
        filters=("status", "lamp_type", "ownership", "source", "controller_id"),
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


def output_properties(spec: LayerSpec) -> tuple[str, ...]:
    """The property names a layer's features carry, in output order (what
    `properties=` / `fields=` may select)."""
    names = tuple(OUTPUT_NAMES.get(p, p) for p in spec.properties)
    return names + (("kecamatan", "kelurahan") if spec.has_areas else ())


def _property_columns(spec: LayerSpec, selected: tuple[str, ...] | None) -> tuple[list[tuple[str, str]], list[str]]:
    """([(output name, SQL expression over subquery `t`)], model columns the
    subquery must select) for the selected properties (None = all)."""
    wanted = set(output_properties(spec) if selected is None else selected)
    props = [(OUTPUT_NAMES.get(p, p), f"t.{p}") for p in spec.properties if OUTPUT_NAMES.get(p, p) in wanted]
    columns = [p for p in spec.properties if OUTPUT_NAMES.get(p, p) in wanted]
    if spec.has_areas:
        # Area codes come from one small id → code map built per query (an
        # index-only scan, migration 0005), looked up per row: cheaper than
        # joining the area table twice (~2× the cost of the lookup here).
        # An uncorrelated scalar subquery is an InitPlan, built once per query;
        # as a joined subquery it was rebuilt per row under OFFSET plans (10× slower pages).
        area_map = f"(SELECT jsonb_object_agg(id::text, code) FROM {Area._meta.db_table})"
        for level in ("kecamatan", "kelurahan"):
            if level in wanted:
                columns.append(f"{level}_id")
                props.append((level, f"{area_map} -> t.{level}_id::text"))
    return props, columns


def feature_spec(spec: LayerSpec, properties: tuple[str, ...] | None = None) -> FeatureSpec:
    """The layer's Features for the kernel's builder (geo_platform.geojson):
    the selected properties (None = all) and the model columns they read."""
    props, columns = _property_columns(spec, properties)
    return FeatureSpec(columns=tuple(columns), properties=tuple(props))


def page_queryset(qs: QuerySet, *, limit: int, offset: int = 0, after: int | None = None) -> QuerySet:
    """One page of `qs` in id order. Keyset paging: `after` = the last id of
    the previous page (`id > after` walks the primary key index, so page 137
    costs what page 1 costs); `offset` still counts rows from there."""
    if after is not None:
        qs = qs.filter(id__gt=after)
    return qs.order_by("id")[offset : offset + limit]


def feature_collection_body(spec: LayerSpec, qs: QuerySet, *, limit: int, offset: int = 0, after: int | None = None,
                            properties: tuple[str, ...] | None = None) -> tuple[bytes, int]:
    """(comma-joined Feature texts as UTF-8 bytes, number of features) for one
    page of `qs` ordered by id, built by PostGIS in one query. Bytes pass
    straight to the response: no decoding and re-encoding of megabytes."""
    body, n, _ = _page(spec, qs, limit=limit, offset=offset, after=after, properties=properties)
    return body, n


def _page(spec, qs, *, limit, offset, after, properties) -> tuple[bytes, int, int | None]:
    page = page_queryset(qs, limit=limit, offset=offset, after=after)
    return feature_page_sql(feature_spec(spec, properties), page)


# Below this many rows an exact count costs about a millisecond: count them.
EXACT_COUNT_BELOW = 20_000


def estimated_count(qs: QuerySet) -> int:
    """PostgreSQL's planner estimate of the rows of `qs` (table statistics:
    pg_class.reltuples and the column's null fraction), without reading the table."""
    sql, params = qs.order_by().values("id").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def count_matched(qs: QuerySet, *, filtered: bool) -> tuple[int, bool]:
    """(number of features `qs` matches, exact?). Filtered requests (bbox,
    area, codes) are counted exactly. An unfiltered request on a large table
    gets the planner's estimate instead of a full scan on every page."""
    if not filtered:
        estimate = estimated_count(qs)
        if estimate >= EXACT_COUNT_BELOW:
            return estimate, False
    return qs.count(), True


def feature_page(spec: LayerSpec, qs: QuerySet, *, limit: int, offset: int = 0, after: int | None = None,
                 filtered: bool = True, properties: tuple[str, ...] | None = None) -> Page:
    """One page of features plus what the paging links need. The count is
    skipped where the page itself tells it (a short first page)."""
    body, n, last_id = _page(spec, qs, limit=limit, offset=offset, after=after, properties=properties)
    shortcut = matched_without_count(returned=n, limit=limit, offset=offset) if after is None else None
    if shortcut is not None:
        matched, exact = shortcut, True
    else:
        matched, exact = count_matched(qs, filtered=filtered)
    if after is None and exact:
        more = offset + n < matched
    else:
        more = n == limit  # keyset pages do not know their position: a full page may have a successor
    return Page(body, n, matched, exact, last_id, more)


def flatgeobuf(spec: LayerSpec, qs: QuerySet, *, limit: int, offset: int = 0, after: int | None = None,
               properties: tuple[str, ...] | None = None) -> tuple[bytes, int, int | None]:
    """(FlatGeobuf bytes with a packed Hilbert R-tree index, number of
    features, last id) of one page of `qs`. PostGIS selects the rows (area
    codes, dates as ISO text as in the GeoJSON); GDAL's ogr2ogr reads them
    from PostgreSQL and writes the file (layers.exports.flatgeobuf_from_sql).
    `id` is an ordinary column (FlatGeobuf has no feature ids).

    Not PostGIS's own ST_AsFlatGeobuf: in PostGIS 3.3.2 (Debian 12) every
    property after a NULL one is written under the wrong column index (and
    varchar/date values with lengths GDAL rejects), so real rows (NULL
    wattage, panel …) give files GDAL cannot read, or reads wrongly."""
    from layers.exports import flatgeobuf_from_sql

    page = page_queryset(qs, limit=limit, offset=offset, after=after)
    props, columns = _property_columns(spec, properties)
    sql, params = page.values("id", *columns, "geom").query.sql_with_params()
    dates = {OUTPUT_NAMES.get(c, c) for c in spec.properties if _model_field(spec, c).get_internal_type() == "DateField"}
    select = ", ".join(["t.id", *(f"(({expr}) #>> '{{}}') AS \"{name}\"" if "jsonb_object_agg" in expr
                                  else f"{expr}{'::text' if name in dates else ''} AS \"{name}\"" for name, expr in props),
                        "t.geom::geometry AS geom"])  # Django selects geometries as EWKB bytea
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*), max(t.id) FROM ({sql}) t", params)
        n, last_id = cur.fetchone()
        full_sql = cur.cursor.mogrify(f"SELECT {select} FROM ({sql}) t ORDER BY t.id", params).decode()
    return flatgeobuf_from_sql(spec.slug, full_sql, spec.geometry_types[-1]), n, last_id


def _model_field(spec: LayerSpec, column: str):
    return spec.model._meta.get_field(column.removesuffix("_id") if column in OUTPUT_NAMES else column)


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
