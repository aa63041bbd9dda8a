"""folium helpers for the notebooks: a base map that follows the platform's
`BASEMAP_URL` (SPEC §4: empty = no basemap, so nothing leaves the machine)."""
from __future__ import annotations

import os

import folium

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
DEFAULT_BASEMAP = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def base_map(bounds=None, *, basemap: str | None = None, **kwargs) -> folium.Map:
    """A folium map fitted to ``bounds`` (minlon, minlat, maxlon, maxlat, or
    anything with ``total_bounds``). ``basemap`` (default env ``BASEMAP_URL``,
    else OSM tiles) is an XYZ URL template; "" draws no basemap."""
    url = os.environ.get("BASEMAP_URL", DEFAULT_BASEMAP) if basemap is None else basemap
    if url:
        m = folium.Map(tiles=url, attr=OSM_ATTRIBUTION if "openstreetmap" in url else "basemap", **kwargs)
    else:
        m = folium.Map(tiles=None, **kwargs)
    if bounds is not None:
        if hasattr(bounds, "total_bounds"):
            bounds = bounds.total_bounds
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m
