"""`?format=csv|gpkg|kml`: the same GeoJSON PostGIS built for the API,
written by GDAL (pyogrio) into the requested file format."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pyogrio
from django.http import FileResponse

from geo_platform.spreadsheet import neutralise_dataframe

from layers.selectors import LayerSpec

MAX_FEATURES = 200_000
FORMATS = {
    "csv": ("CSV", "text/csv; charset=utf-8", {"GEOMETRY": "AS_WKT"}),
    "gpkg": ("GPKG", "application/geopackage+sqlite3", {}),
    "kml": ("KML", "application/vnd.google-earth.kml+xml", {}),
}


def export_response(spec: LayerSpec, features: bytes, fmt: str) -> FileResponse:
    """The export file, streamed from a temporary file (unlinked at once; the open handle keeps it readable)."""
    driver, content_type, layer_options = FORMATS[fmt]
    collection = b'{"type":"FeatureCollection","features":[' + features + b"]}"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.geojson"
        src.write_bytes(collection)
        del collection
        # GDAL reads nested objects (photos) as JSON strings; every column keeps its name.
        df = pyogrio.read_dataframe(src, fid_as_index=True)
        df.index.name = "id"
        df = df.reset_index()
        out = Path(tmp) / f"{spec.slug}.{fmt}"
        if df.empty:
            df = df.set_crs(4326, allow_override=True) if df.crs is None else df
        if fmt == "csv":  # issue 12: no live formulas in spreadsheets (geo_platform.spreadsheet)
            df = neutralise_dataframe(df)
        pyogrio.write_dataframe(df, out, driver=driver, layer=spec.slug, layer_options=layer_options or None)
        del df
        handle = open(out, "rb")
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{spec.slug}.{fmt}"'
    return response
