"""`?format=csv|gpkg|kml`: the same GeoJSON PostGIS built for the API,
written by GDAL (pyogrio) into the requested file format."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pyogrio
from django.http import HttpResponse

from layers.selectors import LayerSpec

MAX_FEATURES = 200_000
FORMATS = {
    "csv": ("CSV", "text/csv; charset=utf-8", {"GEOMETRY": "AS_WKT"}),
    "gpkg": ("GPKG", "application/geopackage+sqlite3", {}),
    "kml": ("KML", "application/vnd.google-earth.kml+xml", {}),
}


def export_response(spec: LayerSpec, features: bytes, fmt: str) -> HttpResponse:
    driver, content_type, layer_options = FORMATS[fmt]
    collection = b'{"type":"FeatureCollection","features":[' + features + b"]}"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.geojson"
        src.write_bytes(collection)
        # GDAL reads nested objects (photos) as JSON strings; every column keeps its name.
        df = pyogrio.read_dataframe(src, fid_as_index=True)
        df.index.name = "id"
        df = df.reset_index()
        out = Path(tmp) / f"{spec.slug}.{fmt}"
        if df.empty:
            df = df.set_crs(4326, allow_override=True) if df.crs is None else df
        pyogrio.write_dataframe(df, out, driver=driver, layer=spec.slug, layer_options=layer_options or None)
        data = out.read_bytes()
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{spec.slug}.{fmt}"'
    return response


# --- issue 20: FlatGeobuf (PostGIS ST_AsFlatGeobuf, see selectors.flatgeobuf) ---
FLATGEOBUF = "application/flatgeobuf"


def require_login(request) -> None:
    """Exports need login (SPEC §4): FlatGeobuf downloads of whole layers too."""
    from rest_framework.exceptions import NotAuthenticated

    if not (request.user and request.user.is_authenticated):
        raise NotAuthenticated("exports (format=fgb) need login or an API token")


def empty_flatgeobuf(layer: str, columns: list[str], geometry_type: str) -> bytes:
    """A FlatGeobuf with no features (PostGIS's ST_AsFlatGeobuf of no rows is
    NULL): the layer's columns as text, EPSG:4326, written by GDAL."""
    import geopandas as gpd

    df = gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=4326))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{layer}.fgb"
        pyogrio.write_dataframe(df, out, driver="FlatGeobuf", layer=layer, geometry_type=geometry_type)
        return out.read_bytes()
