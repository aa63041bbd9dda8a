"""Spatial reference systems, defined once for the whole platform.

Storage is WGS 84 lon/lat (GeoJSON's CRS). Metres are never computed in
degrees: use geography (spheroid) in PostGIS, or the UTM zone of the feature
itself (:func:`utm_srid`), never a hard-coded zone.
"""

STORAGE_SRID = 4326  # WGS 84, lon/lat; every geometry column
WEB_MERCATOR_SRID = 3857  # vector and raster tiles


def utm_srid(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 UTM zone holding (lon, lat): 326zz north, 327zz south."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone
