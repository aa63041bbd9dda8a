"""Estimates tests: a temporary IMAGERY_ROOT, synthetic DEMs written with
rasterio (closed-form surfaces), expectations from closed forms and pyproj."""
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

GEOD = Geod(ellps="WGS84")
UTM48S = "EPSG:32748"


@pytest.fixture(autouse=True)
def imagery_root(settings, tmp_path):
    settings.IMAGERY_ROOT = tmp_path / "imagery_root"
    settings.BASEMAP_URL = ""
    return settings.IMAGERY_ROOT


def write_plane_dem(path: Path, func, *, x0: float, y0: float, width: int, height: int, cell: float = 1.0, crs: str = UTM48S,
                    dtype: str = "float64") -> Path:
    """A GeoTIFF whose cell values are func(X, Y) at the cell centres (projected metres)."""
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    xs = x0 + (cols + 0.5) * cell
    ys = y0 - (rows + 0.5) * cell
    z = func(xs, ys).astype(dtype)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": dtype, "crs": crs,
               "transform": from_origin(x0, y0, cell, cell), "nodata": -9999.0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def to_lonlat(points, crs: str = UTM48S):
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return [list(tr.transform(x, y)) for x, y in points]
