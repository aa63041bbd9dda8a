"""Reads for the pages: which tile layers exist, kecamatan extents, search.
Geometry work (extents, centroids) is done by PostGIS."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.contrib.gis.db.models.functions import Centroid, Envelope
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from django.core.cache import cache

from layers.models import Area, RoadSegment, StreetLight
from layers.tiles import TILE_LAYERS, revisions

ROAD_IDS_MAX = 500  # segment ids of one road name a search hit carries ("add all segments")
DATA_TABLES = (StreetLight._meta.db_table, RoadSegment._meta.db_table, Area._meta.db_table)


@dataclass(frozen=True)
class MapLayer:
    """A tile layer as the planner map offers it."""

    name: str  # TILE_LAYERS key
    label: object
    geometry: str  # point | line | polygon
    style: str  # status | condition | gap | proposed | work_order | area
    api: str = ""  # /api/<api>/{id}/ gives the full feature (photos included)
    visible: bool = False


# The order is the layer control's; layers missing from TILE_LAYERS (an app
# not installed yet) are simply not offered.
MAP_LAYERS = (
    MapLayer("areas", _("Administrative boundaries"), "polygon", "area", "areas", visible=True),
    MapLayer("roads", _("Roads by condition"), "line", "condition", "roads", visible=True),
    MapLayer("damaged_roads", _("Damaged roads"), "line", "condition", "roads"),
    MapLayer("pju", _("PJU by status"), "point", "status", "pju", visible=True),
    MapLayer("broken_pju", _("Broken PJU (off/damaged)"), "point", "status", "pju"),
    MapLayer("lighting_gaps", _("Lighting gaps"), "line", "gap"),
    MapLayer("proposed_pju", _("Proposed PJU"), "point", "proposed"),
    MapLayer("work_orders", _("Work orders"), "point", "work_order", "work-orders"),
)


def map_layer_list() -> list[dict]:
    out = []
    for layer in MAP_LAYERS:
        tile = TILE_LAYERS.get(layer.name)
        if tile is None:
            continue
        out.append({
            "name": layer.name, "label": str(layer.label), "geometry": layer.geometry, "style": layer.style,
            "api": layer.api, "visible": layer.visible, "minzoom": tile.minzoom, "maxzoom": tile.maxzoom,
            "detail_zoom": tile.detail_zoom, "url": f"/tiles/{layer.name}/{{z}}/{{x}}/{{y}}.pbf",
        })
    return out


def map_extents() -> dict:
    """Kecamatan extents and the data's extent, cached per layer revision
    (the tables' revision triggers, layers/tiles.py): one tiny query while
    nothing changed, PostGIS again after any edit or import."""
    key = f"webapp:extents:{revisions(DATA_TABLES)}"
    found = cache.get(key)
    if found is None:
        found = {"kecamatan": kecamatan_list(), "bounds": initial_bounds(), "area_names": area_names()}
        cache.set(key, found, timeout=3600)
    return found


def area_names() -> dict[str, str]:
    """{code: name} of kecamatan and kelurahan: popups show names, never codes."""
    return dict(Area.objects.filter(level__in=("kecamatan", "kelurahan")).values_list("code", "name"))


def kecamatan_list() -> list[dict]:
    """Kecamatan with their bounding boxes [minlon, minlat, maxlon, maxlat]."""
    rows = Area.objects.filter(level="kecamatan").annotate(env=Envelope("geom")).order_by("name").values("code", "name", "env")
    return [{"code": r["code"], "name": r["name"], "bbox": list(r["env"].extent)} for r in rows]


def initial_bounds() -> list[float] | None:
    """Where the assets are: PJU, else roads, else kecamatan/kota areas."""
    for qs in (
        StreetLight.objects.filter(deleted_at__isnull=True),
        RoadSegment.objects.filter(deleted_at__isnull=True),
        Area.objects.filter(level__in=("kabupaten_kota", "kecamatan")),
    ):
        extent = qs.aggregate(e=Extent("geom"))["e"]
        if extent:
            return list(extent)
    return None


def map_search(*, q: str, limit: int = 10) -> list[dict]:
    """Roads by name (one hit per name with the extent of all its segments)
    and PJU by code, both case-insensitive substrings."""
    q = q.strip()
    if not q:
        return []
    roads = (
        RoadSegment.objects.filter(deleted_at__isnull=True, name__icontains=q)
        .values("name").annotate(ext=Extent("geom"), n=Count("id"), ids=ArrayAgg("id", order_by="id")).order_by("name")[:limit]
    )
    lights = (
        StreetLight.objects.filter(deleted_at__isnull=True, code__icontains=q)
        .annotate(c=Centroid("geom")).order_by("code").values("id", "code", "status", "c")[:limit]
    )
    hits = [{"kind": "road", "label": r["name"], "segments": r["n"], "ids": r["ids"][:ROAD_IDS_MAX], "bbox": list(r["ext"])} for r in roads]
    hits += [
        {"kind": "pju", "id": p["id"], "label": p["code"], "status": p["status"], "lon": p["c"].x, "lat": p["c"].y}
        for p in lights
    ]
    return hits



# --- issue 19: where the city is, figures for the home page and dashboard, officers ---

CLUSTER_GRID_DEG = 0.05  # densest-cluster search: PJU counted on a ~5.5 km grid …
CLUSTER_REACH_DEG = 0.1  # … and the extent of the PJU within ~11 km of the densest cell


class CityHomeError(ValueError):
    """CITY_HOME is neither a known area code nor a bbox."""


def parse_bbox(text: str) -> list[float] | None:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        return None
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        return None
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        return None
    return [minlon, minlat, maxlon, maxlat]


def city_home(setting: str = "") -> list[float] | None:
    """The bbox the map and dashboard open on (SPEC §10): CITY_HOME as a
    bbox or an area code; by default the kabupaten/kota with the most PJU,
    else the densest cluster of PJU, else the data's extent. Cached per
    layer revision like map_extents."""
    key = f"webapp:city_home:{setting}:{revisions(DATA_TABLES)}"
    found = cache.get(key)
    if found is None:
        found = {"bbox": _city_home(setting)}
        cache.set(key, found, timeout=3600)
    return found["bbox"]


def _city_home(setting: str) -> list[float] | None:
    setting = (setting or "").strip()
    if setting:
        bbox = parse_bbox(setting)
        if bbox:
            return bbox
        env = Area.objects.filter(code=setting).annotate(env=Envelope("geom")).values_list("env", flat=True).first()
        if env is None:
            raise CityHomeError(f"CITY_HOME={setting!r} is neither an area code nor minlon,minlat,maxlon,maxlat")
        return list(env.extent)
    pju, area = StreetLight._meta.db_table, Area._meta.db_table
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
                  SELECT ST_Envelope(a.geom) AS e FROM {area} a JOIN {pju} p ON ST_Intersects(a.geom, p.geom)
                  WHERE a.level = 'kabupaten_kota' AND p.deleted_at IS NULL
                  GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT 1) t""")
        row = cur.fetchone()
        if row:
            return list(row)
        cur.execute(
            f"""WITH cell AS (
                  SELECT ST_SnapToGrid(geom, %(grid)s) AS c FROM {pju} WHERE deleted_at IS NULL
                  GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
                SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
                  SELECT ST_Extent(p.geom)::geometry AS e FROM {pju} p, cell
                  WHERE p.deleted_at IS NULL AND ST_DWithin(p.geom, cell.c, %(reach)s)) t WHERE e IS NOT NULL""",
            {"grid": CLUSTER_GRID_DEG, "reach": CLUSTER_REACH_DEG},
        )
        row = cur.fetchone()
        if row:
            return list(row)
    return initial_bounds()


def pju_status_by_area(*, level: str = "kecamatan") -> dict[str, dict[str, int]]:
    """{area code: {status: count}} of the live PJU (one GROUP BY)."""
    rows = (
        StreetLight.objects.filter(deleted_at__isnull=True, **{f"{level}__isnull": False})
        .values(f"{level}__code", "status").annotate(n=Count("id"))
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r[f"{level}__code"], {})[r["status"]] = r["n"]
    return out


def work_order_counts() -> dict[str, int]:
    """Work orders by state (counts only; the orders themselves are never public)."""
    from needs.models import WorkOrder

    return {r["status"]: r["n"] for r in WorkOrder.objects.values("status").annotate(n=Count("id"))}


def field_officers() -> list[dict]:
    """Users of the field_officer group, for the "create a work order" list."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, groups__name="field_officer").order_by("username").distinct()
    return [{"id": u.pk, "username": u.username, "name": u.get_full_name() or u.username} for u in users]


def data_revision() -> str:
    """One cheap query: the revisions of every tile layer's tables (PJU,
    roads, areas, needs, work orders). The dashboard polls this and fetches
    the (heavier) summary only when it changed."""
    tables = tuple(sorted({t for layer in TILE_LAYERS.values() for t in layer.tables}))
    return revisions(tables)
