"""Helpers for the needs tests: real road geometries from the demo files in
the repository (data/demo/vector, OSM, ODbL) and PJU placed at known
chainages and offsets with pyproj's geodesic (independent of PostGIS)."""
from __future__ import annotations

import functools
from pathlib import Path

import pyogrio
from django.contrib.gis.geos import LineString, Point
from pyproj import Geod

from layers.importers.postgis import assign_areas, refresh_measures
from layers.models import RoadSegment, StreetLight

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "vector"
GEOD = Geod(ellps="WGS84")

# Real OSM ways (fid in jakarta_roads_osm_2012.gpkg; osm_id in porto.osm.pbf)
JAKARTA_STRAIGHT = 266  # residential, 2 vertices, 276.49 m
JAKARTA_ARTERIAL = 6  # primary "Jalan Raya Bandara", 2 vertices, 296.69 m
JAKARTA_CURVED = 89  # residential, 11 vertices, 459.31 m, sinuosity 1.45
JAKARTA_SHORT = 1294  # residential "Bazoka Raya", 9.61 m
PORTO_STRAIGHT = "726827145"  # Rua da Maternidade, 2 vertices, 192.25 m (UTM 29N)


@functools.lru_cache(maxsize=None)
def _jakarta():
    return pyogrio.read_dataframe(DEMO / "jakarta_roads_osm_2012.gpkg", fid_as_index=True)


@functools.lru_cache(maxsize=None)
def _porto():
    df = pyogrio.read_dataframe(DEMO / "porto.osm.pbf", layer="lines", columns=["osm_id", "highway", "name"])
    return df.set_index("osm_id")


def road_coords(fid) -> list[tuple[float, float]]:
    df = _porto() if isinstance(fid, str) else _jakarta()
    return [tuple(c) for c in df.loc[fid].geometry.coords]


def road_name(fid) -> str:
    df = _porto() if isinstance(fid, str) else _jakarta()
    name = df.loc[fid]["name"]
    return name if isinstance(name, str) else ""


def geodesic_length(coords) -> float:
    lons, lats = zip(*coords)
    return GEOD.line_length(lons, lats)


def make_road(fid, road_class: str, tag: str = "", **fields) -> RoadSegment:
    coords = road_coords(fid)
    road = RoadSegment.objects.create(
        road_class=road_class, name=road_name(fid), source="test", source_id=f"{fid}{tag}",
        geom=LineString(coords, srid=4326), **fields,
    )
    refresh_measures(RoadSegment, [road.pk])
    assign_areas(RoadSegment, [road.pk])
    road.refresh_from_db()
    return road


def point_at(coords, chainage: float, offset: float = 0.0, side: str = "left") -> tuple[float, float]:
    """The point `chainage` metres along the polyline (geodesic segments),
    then `offset` metres to its left or right (perpendicular)."""
    done = 0.0
    for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
        az, _, seg = GEOD.inv(x0, y0, x1, y1)
        if done + seg >= chainage - 1e-9 or (x1, y1) == coords[-1]:
            lon, lat, back = GEOD.fwd(x0, y0, az, chainage - done)
            if offset:
                forward = back + 180.0
                lon, lat, _ = GEOD.fwd(lon, lat, forward + (-90.0 if side == "left" else 90.0), offset)
            return lon, lat
        done += seg
    raise ValueError("chainage beyond the line")


def make_lamp(lonlat, status: str = "working", code: str = "") -> StreetLight:
    lamp = StreetLight.objects.create(status=status, code=code, source="test", geom=Point(*lonlat, srid=4326))
    assign_areas(StreetLight, [lamp.pk])
    return lamp


def distance_m(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]
