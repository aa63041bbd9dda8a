"""Reads of the imagery catalogue."""
from __future__ import annotations

import datetime as dt

from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet

from geo_platform.srid import STORAGE_SRID
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


def elevation_get(*, imagery_id: int) -> Imagery:
    """A DEM/DSM of the catalogue, for terrain analysis."""
    obj = imagery_get(imagery_id=imagery_id)
    if not obj.is_elevation:
        raise NotElevation(f"imagery {imagery_id} is a {obj.kind}; terrain analysis needs a dem or dsm")
    return obj
