"""Reads of the imagery catalogue."""
from __future__ import annotations

import datetime as dt
import time

from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from geo_platform.srid import STORAGE_SRID
from imagery import conf
from imagery.errors import ImageryNotFound, NotElevation
from imagery.models import Imagery


def imagery_list(
    *,
    bbox: tuple[float, float, float, float] | None = None,
    kind: list[str] | None = None,
    captured_on: dt.date | None = None,
    captured_from: dt.date | None = None,
    captured_to: dt.date | None = None,
) -> QuerySet[Imagery]:
    qs = Imagery.objects.all()
    if bbox is not None:
        qs = qs.filter(footprint__intersects=_bbox(bbox))
    if kind:
        qs = qs.filter(kind__in=kind)
    if captured_on is not None:
        qs = qs.filter(captured_on=captured_on)
    if captured_from is not None:
        qs = qs.filter(captured_on__gte=captured_from)
    if captured_to is not None:
        qs = qs.filter(captured_on__lte=captured_to)
    return qs.order_by("id")


def _bbox(bbox) -> Polygon:
    poly = Polygon.from_bbox(bbox)
    poly.srid = STORAGE_SRID
    return poly


def imagery_get(*, imagery_id: int) -> Imagery:
    obj = Imagery.objects.filter(pk=imagery_id).first()
    if obj is None:
        raise ImageryNotFound(f"no imagery with id {imagery_id}")
    return obj


TILE_FIELDS = ("id", "name", "kind", "bands", "statistics", "checksum", "file", "attribution", "width", "height", "gsd_m")


_tile_sources: dict[int, tuple[float, Imagery]] = {}


def imagery_tile_source(*, imagery_id: int) -> Imagery:
    """The few fields tile rendering needs (no footprint geometry to parse).

    Kept in process for IMAGERY_TILE_LOOKUP_TTL seconds (default 5): a map
    asks for dozens of tiles of one image per second, and a catalogue edit or
    delete shows within that time (the COG itself never changes: it is named
    by its checksum)."""
    now = time.monotonic()
    hit = _tile_sources.get(imagery_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    obj = Imagery.objects.only(*TILE_FIELDS).order_by().filter(pk=imagery_id).first()
    if obj is None:
        _tile_sources.pop(imagery_id, None)
        raise ImageryNotFound(f"no imagery with id {imagery_id}")
    if len(_tile_sources) > 1000:
        _tile_sources.clear()
    _tile_sources[imagery_id] = (now + conf.tile_lookup_ttl(), obj)
    return obj


def forget_tile_source(imagery_id: int) -> None:
    _tile_sources.pop(imagery_id, None)


def elevation_get(*, imagery_id: int) -> Imagery:
    """A DEM/DSM of the catalogue, for terrain analysis."""
    obj = imagery_get(imagery_id=imagery_id)
    if not obj.is_elevation:
        raise NotElevation(f"imagery {imagery_id} is a {obj.kind}; terrain analysis needs a dem or dsm")
    return obj
