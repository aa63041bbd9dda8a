"""Reads for the pages: which tile layers exist, kecamatan extents, search.
Geometry work (extents, centroids) is done by PostGIS."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.contrib.gis.db.models.functions import Centroid, Envelope
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from django.core.cache import cache

from layers.models import Area, RoadSegment, StreetLight
from layers.tiles import TILE_LAYERS, revisions

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
        found = {"kecamatan": kecamatan_list(), "bounds": initial_bounds()}
        cache.set(key, found, timeout=3600)
    return found


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
        .values("name").annotate(ext=Extent("geom"), n=Count("id")).order_by("name")[:limit]
    )
    lights = (
        StreetLight.objects.filter(deleted_at__isnull=True, code__icontains=q)
        .annotate(c=Centroid("geom")).order_by("code").values("id", "code", "status", "c")[:limit]
    )
    hits = [{"kind": "road", "label": r["name"], "segments": r["n"], "bbox": list(r["ext"])} for r in roads]
    hits += [
        {"kind": "pju", "id": p["id"], "label": p["code"], "status": p["status"], "lon": p["c"].x, "lat": p["c"].y}
        for p in lights
    ]
    return hits

