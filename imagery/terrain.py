"""Terrain on a DEM read in its native CRS: point sampling, profiles along a
line and zonal statistics. Pure functions over a path or an open rasterio
dataset (no Django models), so earthwork (issue 5) can reuse them:

    >>> z = sample_dem(path, [(106.85, -6.27), (106.86, -6.28)])           # nearest cell
    >>> z = sample_dem(path, lonlat_array, method="bilinear")

Inputs are WGS 84 lon/lat (STORAGE_SRID); distances are geodesic metres on
the WGS 84 ellipsoid (pyproj.Geod)."""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import rasterio
import shapely
import rasterio.features
import rasterio.mask
from pyproj import CRS, Geod, Transformer
from rasterio.features import geometry_window
from rasterio.windows import Window
from shapely import geometry as sgeom
from shapely import segmentize

from geo_platform.srid import STORAGE_SRID
from imagery import conf
from imagery.errors import InvalidParameter, OutsideRaster
from imagery.readers import get_dataset

GEOD = Geod(ellps="WGS84")


@lru_cache(maxsize=64)
def _to_native(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(STORAGE_SRID), CRS.from_wkt(crs_wkt), always_xy=True)


def _dataset(src):
    return get_dataset(src) if isinstance(src, (str, bytes)) or hasattr(src, "__fspath__") else src


def to_native_xy(dataset, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 lon/lat arrays → the dataset's CRS coordinates."""
    return _to_native(dataset.crs.to_wkt()).transform(np.asarray(lon, float), np.asarray(lat, float))


def _fractional_rowcol(dataset, x, y):
    inv = ~dataset.transform
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    return row, col


def sample_dem(src, lonlat: Sequence[Sequence[float]] | np.ndarray, *, method: str = "nearest", band: int = 1) -> np.ndarray:
    """Elevations at WGS 84 points: float64 array, NaN where outside the DEM or nodata.

    ``nearest`` returns the value of the cell holding the point (what
    ``rasterio``'s ``sample`` and ``gdallocationinfo`` give); ``bilinear``
    interpolates between the four surrounding cell centres (falling back to
    the nearest cell where a neighbour is nodata)."""
    if method not in ("nearest", "bilinear"):
        raise InvalidParameter(f"method must be 'nearest' or 'bilinear', not {method!r}", "method")
    ds = _dataset(src)
    pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    out = np.full(len(pts), np.nan)
    if not len(pts):
        return out
    x, y = to_native_xy(ds, pts[:, 0], pts[:, 1])
    row, col = _fractional_rowcol(ds, x, y)
    finite = np.isfinite(row) & np.isfinite(col)
    inside = finite & (row >= 0) & (col >= 0) & (row < ds.height) & (col < ds.width)
    if not inside.any():
        return out
    r0 = int(np.floor(row[inside].min())) - 1
    c0 = int(np.floor(col[inside].min())) - 1
    r1 = int(np.floor(row[inside].max())) + 2
    c1 = int(np.floor(col[inside].max())) + 2
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, ds.height), min(c1, ds.width)
    if (r1 - r0) * (c1 - c0) <= conf.max_analysis_pixels():
        block = ds.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
        values = np.where(np.ma.getmaskarray(block), np.nan, block.filled(0).astype("float64"))
        out[inside] = _interpolate(values, row[inside] - r0, col[inside] - c0, method)
    else:  # points spread over a huge DEM: read a small window around each point
        for i in np.flatnonzero(inside):
            ri, ci = int(np.floor(row[i])), int(np.floor(col[i]))
            wr, wc = max(ri - 1, 0), max(ci - 1, 0)
            win = Window(wc, wr, min(ci + 2, ds.width) - wc, min(ri + 2, ds.height) - wr)
            block = ds.read(band, window=win, masked=True)
            values = np.where(np.ma.getmaskarray(block), np.nan, block.filled(0).astype("float64"))
            out[i] = _interpolate(values, np.array([row[i] - wr]), np.array([col[i] - wc]), method)[0]
    return out


def _interpolate(values: np.ndarray, row: np.ndarray, col: np.ndarray, method: str) -> np.ndarray:
    h, w = values.shape
    ri = np.clip(np.floor(row).astype(int), 0, h - 1)
    ci = np.clip(np.floor(col).astype(int), 0, w - 1)
    nearest = values[ri, ci]
    if method == "nearest":
        return nearest
    # cell centres sit at integer + 0.5
    fr, fc = row - 0.5, col - 0.5
    r_lo = np.clip(np.floor(fr).astype(int), 0, h - 1)
    c_lo = np.clip(np.floor(fc).astype(int), 0, w - 1)
    r_hi, c_hi = np.clip(r_lo + 1, 0, h - 1), np.clip(c_lo + 1, 0, w - 1)
    tr = np.clip(fr - r_lo, 0.0, 1.0)
    tc = np.clip(fc - c_lo, 0.0, 1.0)
    top = values[r_lo, c_lo] * (1 - tc) + values[r_lo, c_hi] * tc
    bottom = values[r_hi, c_lo] * (1 - tc) + values[r_hi, c_hi] * tc
    bil = top * (1 - tr) + bottom * tr
    return np.where(np.isnan(bil), nearest, bil)


def densify_line(coords: Sequence[Sequence[float]], interval_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stations every ``interval_m`` geodesic metres along a lon/lat polyline, plus its end.

    Returns (lon, lat, distance_m) arrays."""
    pts = np.asarray(coords, dtype=float)[:, :2]
    if len(pts) < 2:
        raise InvalidParameter("a LineString needs at least two positions", "geometry")
    az, _, seg = GEOD.inv(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
    az, seg = np.atleast_1d(az), np.atleast_1d(seg)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    length = float(cum[-1])
    if length <= 0:
        raise InvalidParameter("the line has zero length", "geometry")
    dist = np.arange(0.0, length, interval_m)
    if not len(dist) or dist[-1] < length:
        dist = np.append(dist, length)
    idx = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(seg) - 1)
    lon, lat, _ = GEOD.fwd(pts[idx, 0], pts[idx, 1], az[idx], dist - cum[idx])
    return np.atleast_1d(lon), np.atleast_1d(lat), dist


def pixel_size_m(dataset) -> float:
    """Ground size of one cell in metres (mean of x and y), at the DEM's centre."""
    xres, yres = abs(dataset.transform.a), abs(dataset.transform.e)
    crs = dataset.crs
    if crs.is_projected:
        factor = crs.linear_units_factor[1]
        return float((xres + yres) / 2 * factor)
    cx, cy = (dataset.bounds.left + dataset.bounds.right) / 2, (dataset.bounds.bottom + dataset.bounds.top) / 2
    to_geo = Transformer.from_crs(CRS.from_wkt(crs.to_wkt()), CRS.from_epsg(STORAGE_SRID), always_xy=True)
    lon0, lat0 = to_geo.transform(cx, cy)
    lon1, lat1 = to_geo.transform(cx + xres, cy)
    lon2, lat2 = to_geo.transform(cx, cy + yres)
    dx = GEOD.inv(lon0, lat0, lon1, lat1)[2]
    dy = GEOD.inv(lon0, lat0, lon2, lat2)[2]
    return float((dx + dy) / 2)


def elevation_profile(src, coords, *, interval_m: float | None = None, method: str = "nearest") -> dict:
    """Elevation along a lon/lat polyline, one station every ``interval_m``
    metres (default: the DEM's cell size)."""
    ds = _dataset(src)
    step = float(interval_m) if interval_m else pixel_size_m(ds)
    if not np.isfinite(step) or step <= 0:
        raise InvalidParameter("interval_m must be a positive number of metres", "interval_m")
    pts = np.asarray(coords, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2 or len(pts) < 2:
        raise InvalidParameter("a LineString needs at least two positions", "geometry")
    length = float(GEOD.line_length(pts[:, 0], pts[:, 1]))
    if length / step + 1 > conf.max_profile_points():
        raise InvalidParameter(
            f"{length:.0f} m every {step:g} m needs more than {conf.max_profile_points()} stations; use a larger interval_m",
            "interval_m",
        )
    lon, lat, dist = densify_line(pts, step)
    z = sample_dem(ds, np.column_stack([lon, lat]), method=method)
    if np.isnan(z).all():
        raise OutsideRaster("the line has no valid DEM cell under it (outside the DEM or all nodata)")
    dz = np.diff(z)
    dz = dz[np.isfinite(dz)]
    valid = z[np.isfinite(z)]
    return {
        "length_m": length,
        "interval_m": step,
        "method": method,
        "min_m": float(valid.min()),
        "max_m": float(valid.max()),
        "ascent_m": float(dz[dz > 0].sum()),
        "descent_m": float(-dz[dz < 0].sum()),
        "nodata_count": int(np.isnan(z).sum()),
        "points": [
            {"distance_m": float(d), "lon": float(a), "lat": float(b), "elevation_m": None if np.isnan(e) else float(e)}
            for d, a, b, e in zip(dist, lon, lat, z)
        ],
    }


def polygon_to_native(dataset, geom: sgeom.base.BaseGeometry) -> sgeom.base.BaseGeometry:
    """A WGS 84 polygon in the dataset's CRS, edges densified (~1/100 of its size) before reprojection."""
    minx, miny, maxx, maxy = geom.bounds
    step = max(maxx - minx, maxy - miny) / 100 or 1e-6
    dense = segmentize(geom, step)
    tr = _to_native(dataset.crs.to_wkt())
    return shapely.transform(dense, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def zonal_statistics(src, geom: sgeom.base.BaseGeometry, *, band: int = 1) -> dict:
    """Statistics of the DEM cells whose centres fall inside a WGS 84 (Multi)Polygon."""
    ds = _dataset(src)
    native = polygon_to_native(ds, geom)
    if not native.is_valid:
        native = native.buffer(0)
    try:
        win = geometry_window(ds, [sgeom.mapping(native)])
    except (ValueError, rasterio.errors.WindowError):
        raise OutsideRaster("the polygon does not overlap the DEM") from None
    if win.width * win.height > conf.max_analysis_pixels():
        raise InvalidParameter(
            f"the polygon covers {int(win.width * win.height):,} cells, more than {conf.max_analysis_pixels():,}", "geometry"
        )
    try:
        data, out_transform = rasterio.mask.mask(ds, [sgeom.mapping(native)], crop=True, filled=False, indexes=band)
    except ValueError:
        raise OutsideRaster("the polygon does not overlap the DEM") from None
    values = data.compressed().astype("float64")
    # cells whose centre is inside the polygon, nodata or not
    inside = rasterio.features.geometry_mask([sgeom.mapping(native)], out_shape=data.shape, transform=out_transform, invert=True)
    cells = int(inside.sum())
    area_m2 = abs(GEOD.geometry_area_perimeter(geom)[0])
    result = {
        "count": int(values.size),
        "nodata_count": cells - int(values.size),
        "area_m2": float(area_m2),
        "cell_size_m": pixel_size_m(ds),
        "min": None,
        "max": None,
        "mean": None,
        "median": None,
        "std": None,
    }
    if values.size:
        result.update(
            min=float(values.min()),
            max=float(values.max()),
            mean=float(values.mean()),
            median=float(np.median(values)),
            std=float(values.std()),
        )
    return result
