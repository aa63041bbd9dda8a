"""Vector tiles: one spec-driven endpoint for every layer.

`/tiles/{layer}/{z}/{x}/{y}.pbf` runs one prepared-shape SQL (tiles.sql, or
tiles_cluster.sql for low-zoom point clusters) chosen by the layer's
`ZoomRule` for z: attributes, simplification, a feature cap, clustering.
From a layer's `detail_zoom` a tile holds exactly the features meeting it
(plus the MVT edge buffer) with all attributes.

Freshness: every write to a table bumps its row in layers_layerrevision (a
statement trigger, migrations 0003/0004: a value from a sequence, so a
rolled-back write never leaves a revision number meaning other data). The ETag and the cache key carry those
revisions, so an edit shows in the next request and `If-None-Match` of an
unchanged tile gets a 304 after one tiny query.

Other apps add their layers with `register_tile_layer(TileLayer(...))`
(their table needs the same trigger: `CREATE TRIGGER … EXECUTE FUNCTION
layers_bump_revision()`)."""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.cache import caches
from django.core.cache.backends.base import InvalidCacheBackendError
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from geo_platform import access
from geo_platform import condition as road_condition
from geo_platform.errors import error, json_errors
from geo_platform.srid import WEB_MERCATOR_SRID
from layers.models import Area, LayerRevision, RoadSegment, StreetLight

SQL_DIR = Path(__file__).resolve().parent
TILE_SQL = (SQL_DIR / "tiles.sql").read_text()
CLUSTER_SQL = (SQL_DIR / "tiles_cluster.sql").read_text()
EXTENT = 4096
BUFFER = 64  # MVT edge buffer in tile units (1/64 of a tile)
MAX_TILE_BYTES = 500_000  # target; the caps below keep tiles under it
# A point feature with an id and one small attribute takes ~19 bytes in an
# MVT (measured on 60,000 PJU in one z12 tile): cap overview tiles below
# MAX_TILE_BYTES with a margin.
POINT_CAP = 24_000
WORLD_M = 2 * 20037508.342789244  # Web Mercator world width in metres
GZIP_LEVEL = 1  # 2.4× faster than 5 on a 440 KB tile for 13 % more bytes


@dataclass(frozen=True)
class ZoomRule:
    """How a layer is drawn from `minzoom` up to the next rule."""

    minzoom: int
    columns: tuple[str, ...] = ()
    where: str = ""  # SQL condition on `t` (from this file, never from a request)
    simplify: float = 0.0  # tolerance in tile units (1/EXTENT of a tile); 0 = none
    cap: int | None = None  # most features per tile
    cluster_extent: int | None = None  # points: one feature (with count) per cell of this grid


@dataclass(frozen=True)
class TileLayer:
    name: str
    table: str
    rules: tuple[ZoomRule, ...]
    detail_zoom: int
    maxzoom: int = 22
    geom_column: str = "geom_3857"
    id_column: str = "id"
    where: str = "t.deleted_at IS NULL"
    revision_tables: tuple[str, ...] = ()
    description: str = ""
    fields: dict = field(default_factory=dict)  # TileJSON vector_layers fields: name → description
    policy: access.Policy = access.PUBLIC_READ_LOGIN_WRITE  # who may read the tiles and TileJSON (work orders: login)

    @property
    def minzoom(self) -> int:
        return self.rules[0].minzoom

    def rule(self, z: int) -> ZoomRule | None:
        chosen = None
        for rule in self.rules:
            if z >= rule.minzoom:
                chosen = rule
        return chosen

    @property
    def tables(self) -> tuple[str, ...]:
        return self.revision_tables or (self.table,)


PJU_DETAIL = ("code", "status", "lamp_type", "wattage_w", "pole_height_m", "ownership", "legal", "version")
ROAD_DETAIL = ("name", "road_class", "condition", "surface", "width_m", "lanes", "length_m", "authority", "version")
MAJOR_ROADS = "t.road_class IN ('arterial', 'collector')"
# SPEC §6: the effective condition (worst of code, SDI class, IRI class), one definition (geo_platform.condition);
# a column entry "expr AS name" is a computed attribute.
EFFECTIVE_CONDITION = f"{road_condition.effective_condition_sql('t')} AS effective_condition"
DAMAGED_ROADS = f"{road_condition.effective_condition_sql('t')} IN ({', '.join(repr(c) for c in road_condition.DAMAGED)})"
ROAD_DETAIL_EC = (*ROAD_DETAIL, EFFECTIVE_CONDITION)
ROAD_FIELDS = {**{c: c for c in ROAD_DETAIL}, "effective_condition": "worst of condition, SDI class and IRI class (SPEC §6)"}
NOT_PATHS = "t.road_class <> 'path'"
PJU, ROADS, AREAS = StreetLight._meta.db_table, RoadSegment._meta.db_table, Area._meta.db_table

TILE_LAYERS: dict[str, TileLayer] = {}
SPEC_HASHES: dict[str, str] = {}


def register_tile_layer(layer: TileLayer) -> TileLayer:
    TILE_LAYERS[layer.name] = layer
    SPEC_HASHES[layer.name] = hashlib.blake2s(repr(layer).encode(), digest_size=4).hexdigest()
    return layer


register_tile_layer(TileLayer(
    name="pju", table=PJU, detail_zoom=15, description="PJU (street lights)",
    rules=(
        ZoomRule(10, cluster_extent=256, cap=POINT_CAP),
        ZoomRule(12, cluster_extent=512, cap=POINT_CAP),
        ZoomRule(13, columns=("status",), cap=POINT_CAP),
        ZoomRule(15, columns=PJU_DETAIL),
    ),
    fields={"count": "PJU in the cell (z10–12)", "status": "working/off/damaged/unknown", **{c: c for c in PJU_DETAIL}},
))
register_tile_layer(TileLayer(
    name="broken_pju", table=PJU, detail_zoom=12, description="PJU reported off or damaged",
    rules=(
        ZoomRule(10, columns=("status",), where="t.status IN ('off', 'damaged')", cap=POINT_CAP),
        ZoomRule(12, columns=PJU_DETAIL, where="t.status IN ('off', 'damaged')"),
    ),
    fields={c: c for c in PJU_DETAIL},
))
register_tile_layer(TileLayer(
    name="roads", table=ROADS, detail_zoom=14, description="Road segments",
    rules=(
        ZoomRule(8, columns=("road_class",), where=MAJOR_ROADS, simplify=4, cap=20_000),
        ZoomRule(12, columns=("road_class", "condition", EFFECTIVE_CONDITION), where=NOT_PATHS, simplify=2, cap=30_000),
        ZoomRule(14, columns=ROAD_DETAIL_EC),
    ),
    fields=ROAD_FIELDS,
))
register_tile_layer(TileLayer(
    name="damaged_roads", table=ROADS, detail_zoom=12, description="Roads in light or heavy damage",
    rules=(
        ZoomRule(8, columns=("condition", EFFECTIVE_CONDITION), where=DAMAGED_ROADS, simplify=4, cap=20_000),
        ZoomRule(12, columns=ROAD_DETAIL_EC, where=DAMAGED_ROADS),
    ),
    fields=ROAD_FIELDS,
))
register_tile_layer(TileLayer(
    name="areas", table=AREAS, detail_zoom=12, where="true", description="Administrative areas",
    rules=(
        ZoomRule(4, columns=("level", "code", "name"), simplify=4),
        ZoomRule(12, columns=("level", "code", "name", "area_m2", "version")),
    ),
    fields={"level": "provinsi/kabupaten_kota/kecamatan/kelurahan", "code": "Kemendagri code", "name": "name", "area_m2": "m²"},
))


def tile_sql(layer: TileLayer, z: int) -> tuple[str, dict] | None:
    """The SQL and parameters (without z/x/y) of `layer` at zoom z, or None
    when the layer has nothing at that zoom."""
    rule = layer.rule(z)
    if rule is None or z > layer.maxzoom:
        return None
    extent = rule.cluster_extent or EXTENT
    buffer = max(1, BUFFER * extent // EXTENT)
    geometry = f"t.{layer.geom_column}"
    params = {"extent": extent, "buffer": buffer, "margin": buffer / extent, "layer": layer.name}
    if rule.simplify:
        geometry = f"ST_Simplify({geometry}, %(tolerance)s, true)"
        params["tolerance"] = rule.simplify * WORLD_M / (2**z) / EXTENT
    where = "".join(f" AND ({w})" for w in (layer.where, rule.where) if w and w != "true")
    template = CLUSTER_SQL if rule.cluster_extent else TILE_SQL
    slots = {
        "{id_column}": layer.id_column,
        "{columns}": "".join(f", {c}" if " AS " in c else f", t.{c}" for c in rule.columns),
        "{geometry}": geometry,
        "{table}": layer.table,
        "{geom_column}": layer.geom_column,
        "{where}": where,
        "{limit}": "LIMIT %(cap)s" if rule.cap else "",
    }
    sql = template
    for slot, value in slots.items():
        sql = sql.replace(slot, value)
    if rule.cap:
        params["cap"] = rule.cap
    return sql, params


def tile_bytes(layer: TileLayer, z: int, x: int, y: int) -> bytes:
    """The raw (uncompressed) MVT of one tile, straight from PostGIS."""
    built = tile_sql(layer, z)
    if built is None:
        return b""
    sql, params = built
    with connection.cursor() as cur:
        cur.execute(sql, {**params, "z": z, "x": x, "y": y})
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


REVISION_SQL = (
    f'SELECT coalesce(string_agg(revision::text, \'.\' ORDER BY "table"), \'0\') '
    f'FROM {LayerRevision._meta.db_table} WHERE "table" = ANY(%(tables)s)'
)


def revisions(tables: tuple[str, ...]) -> str:
    """The current revisions of the tables, joined: part of ETags and cache keys."""
    with connection.cursor() as cur:
        cur.execute(REVISION_SQL, {"tables": list(tables)})
        return cur.fetchone()[0]


def revision_and_tile(layer: TileLayer, z: int, x: int, y: int, *, known: str | None) -> tuple[str, bytes | None]:
    """(current revision, raw tile) in one query; the tile is None when the
    revision equals `known` (PostgreSQL runs the tile subquery only when the
    CASE needs it) or b"" when the layer has nothing at this zoom."""
    built = tile_sql(layer, z)
    tile = f"({built[0]})" if built else "''::bytea"
    params = {**(built[1] if built else {}), "z": z, "x": x, "y": y, "tables": list(layer.tables), "known": known or ""}
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT r.rev, CASE WHEN r.rev = %(known)s THEN NULL ELSE coalesce({tile}, ''::bytea) END "
            f"FROM ({REVISION_SQL}) AS r(rev)",
            params,
        )
        revision, data = cur.fetchone()
    return revision, None if data is None else bytes(data)


def _spec_hash(layer: TileLayer) -> str:
    """Changes when a layer's rules change, so old cached tiles are not served."""
    return SPEC_HASHES[layer.name]


def _cache():
    try:
        return caches["tiles"]
    except InvalidCacheBackendError:
        return caches["default"]


def _error(status: int, detail: str, **fields) -> JsonResponse:
    return error(status, detail, fields)


@require_GET
@json_errors
def tile_view(request, layer: str, z: int, x: int, y: int) -> HttpResponse:
    spec = TILE_LAYERS.get(layer)
    if spec is None:
        return _error(404, f"unknown tile layer {layer!r}", layer=[f"one of {', '.join(TILE_LAYERS)}"])
    spec.policy.check(request)
    if not 0 <= z <= 30:
        return _error(400, f"zoom {z} is out of range 0..30", z=["0..30"])
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        return _error(400, f"tile {z}/{x}/{y} does not exist: x and y must be 0..{2**z - 1} at zoom {z}", x=["range"], y=["range"])
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    cache = _cache()
    key = f"tile:{connection.settings_dict['NAME']}:{layer}:{_spec_hash(spec)}:{z}:{x}:{y}"
    cached = cache.get(key)  # (revision, gzipped tile) of the last build, if any
    # A cached build costs one tiny revision query; a cold tile one round trip
    # (revision and tile together, same snapshot).
    revision, raw = (revisions(spec.tables), None) if cached else (None, None)
    if cached is None or revision != cached[0]:
        revision, raw = revision_and_tile(spec, z, x, y, known=None)
    if raw is None:
        compressed = cached[1]
    else:
        compressed = gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
        cache.set(key, (revision, compressed))
    etag = f'"{layer}-{_spec_hash(spec)}-{revision}-{z}-{x}-{y}{"-gz" if gz else ""}"'
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")} or if_none_match.strip() == "*":
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(compressed if gz else gzip.decompress(compressed), content_type="application/vnd.mapbox-vector-tile")
        if gz:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    response["Vary"] = "Accept-Encoding"
    return response


@require_GET
@json_errors
def tilejson_view(request, layer: str) -> JsonResponse:
    from layers.selectors import LAYERS, layer_extent

    spec = TILE_LAYERS.get(layer)
    if spec is None:
        return _error(404, f"unknown tile layer {layer!r}", layer=[f"one of {', '.join(TILE_LAYERS)}"])
    spec.policy.check(request)
    bounds = None
    api = next((s for s in LAYERS.values() if s.table == spec.table), None)
    if api is not None:
        bounds = layer_extent(api)
    bounds = list(bounds) if bounds else [-180.0, -85.0511, 180.0, 85.0511]
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(spec.minzoom, spec.detail_zoom - 2)]
    url = request.build_absolute_uri(f"/tiles/{layer}/") + "{z}/{x}/{y}.pbf"
    return JsonResponse({
        "tilejson": "3.0.0",
        "name": layer,
        "description": spec.description,
        "scheme": "xyz",
        "format": "pbf",
        "tiles": [url],
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
        "bounds": bounds,
        "center": center,
        "vector_layers": [{
            "id": layer, "description": spec.description, "minzoom": spec.minzoom, "maxzoom": spec.maxzoom,
            "fields": spec.fields,
        }],
        "crs": f"EPSG:{WEB_MERCATOR_SRID}",
    })


def tile_rules_table() -> str:
    """Markdown table of the per-zoom rules (docs/api.md)."""
    lines = ["| layer | from z | attributes | where | simplify (tile units) | cap | cluster grid |", "|---|---|---|---|---|---|---|"]
    for layer in TILE_LAYERS.values():
        for r in layer.rules:
            lines.append(
                f"| {layer.name} | {r.minzoom}{' (detail)' if r.minzoom == layer.detail_zoom else ''} | "
                f"{', '.join(c.split(' AS ')[-1] for c in r.columns) or ('count' if r.cluster_extent else 'id')} | "
                f"{'effective condition is damage' if r.where == DAMAGED_ROADS else r.where or ''} | {r.simplify or ''} | "
                f"{r.cap or ''} | {r.cluster_extent or ''} |"
            )
    return "\n".join(lines)
