"""Reading facts from a raster: validation, footprint, ground sample distance,
statistics. No Django models here."""
from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import rasterio
import shapely
import rasterio.warp
from pyproj import CRS, Transformer
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError
from rasterio.features import shapes
from shapely import geometry as sgeom
from shapely.geometry.polygon import orient
from shapely import make_valid, segmentize, unary_union

from geo_platform.srid import STORAGE_SRID
from imagery import conf
from imagery.errors import InvalidRaster, RasterTooLarge
from imagery.models import ELEVATION_KINDS
from imagery.terrain import pixel_size_m

FOOTPRINT_MAX_SIDE = 2048  # the valid-data mask is traced at most at this size

# Issue 12: uploads are opened only by these GDAL drivers, chosen from the file's first bytes.
# Never VRT (XML that can point at any local file or /vsicurl/ URL), never a /vsi* path.
UPLOAD_DRIVERS = {
    b"II*\x00": "GTiff", b"MM\x00*": "GTiff",  # classic TIFF (GeoTIFF, COG)
    b"II+\x00": "GTiff", b"MM\x00+": "GTiff",  # BigTIFF
}
_LOOKS_LIKE = ((b"<VRTDataset", "a GDAL VRT (XML)"), (b"<", "XML/HTML text"), (b"PK\x03\x04", "a ZIP archive"),
               (b"\x1f\x8b", "a gzip file"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8", "a JPEG image"))


def sniff_driver(path) -> str:
    """The GDAL driver allowed to open ``path`` (a local regular file), from its bytes; InvalidRaster otherwise."""
    from pathlib import Path

    text = str(path)
    if text.startswith("/vsi") or "://" in text or not Path(text).is_file():
        raise InvalidRaster("only a local GeoTIFF/COG file can be imported (no GDAL virtual file systems or URLs)")
    with open(text, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise InvalidRaster("the file is empty")
    driver = UPLOAD_DRIVERS.get(head[:4])
    if driver is None:
        what = next((name for magic, name in _LOOKS_LIKE if head.lstrip().startswith(magic)), "not a TIFF")
        raise InvalidRaster(f"only GeoTIFF/COG files are accepted; this file is {what}")
    return driver


def open_upload(path):
    """rasterio.open of an uploaded/imported file with the sniffed driver only (never VRT or /vsi*)."""
    driver = sniff_driver(path)
    ds = rasterio.open(str(path), driver=driver)
    if ds.driver != driver:  # belt and braces: GDAL honoured the allow-list
        ds.close()
        raise InvalidRaster(f"the file was read by GDAL driver {ds.driver}, not {driver}")
    return ds


def validate(ds, kind: str) -> None:
    """Raise InvalidRaster / RasterTooLarge unless ``ds`` is a usable georeferenced raster."""
    if ds.count < 1:
        raise InvalidRaster("the file has no raster band")
    if ds.width * ds.height > conf.max_pixels():
        raise RasterTooLarge(
            f"the raster declares {ds.width}×{ds.height} pixels, more than the {conf.max_pixels():,} allowed"
        )
    if ds.count > conf.max_bands():
        raise RasterTooLarge(f"the raster has {ds.count} bands, more than the {conf.max_bands()} allowed")
    if ds.crs is None:
        raise InvalidRaster("the raster is not georeferenced: it declares no coordinate reference system")
    if ds.transform.is_identity or ds.transform.a == 0 or ds.transform.e == 0:
        if ds.gcps[0]:
            raise InvalidRaster("the raster is georeferenced by ground control points only; warp it first (gdalwarp)")
        raise InvalidRaster("the raster is not georeferenced: it has no geotransform")
    if any(np.dtype(d).kind == "c" for d in ds.dtypes):
        raise InvalidRaster("complex-valued rasters are not imagery")
    if kind in ELEVATION_KINDS and ds.count != 1:
        raise InvalidRaster(f"a {kind} must have exactly one band (elevation); this file has {ds.count}", "kind")
    try:
        bounds = rasterio.warp.transform_bounds(ds.crs, CRS.from_epsg(STORAGE_SRID).to_wkt(), *ds.bounds)
    except Exception as exc:  # PROJ cannot place it on the Earth
        raise InvalidRaster(f"the raster's CRS cannot be transformed to WGS 84: {exc}") from None
    west, south, east, north = bounds
    if not all(map(math.isfinite, bounds)) or south < -90.0001 or north > 90.0001:
        raise InvalidRaster("the raster's extent is not on the Earth (check its CRS and geotransform)")


def _to_wgs84(crs) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(crs.to_wkt()), CRS.from_epsg(STORAGE_SRID), always_xy=True)


def footprint(ds) -> sgeom.MultiPolygon:
    """Outline of the valid pixels (mask/alpha/nodata aware) in WGS 84.

    Traced on the dataset mask (decimated to FOOTPRINT_MAX_SIDE for large
    rasters), simplified by one traced pixel, densified and reprojected with
    PROJ, so curved edges of a reprojected extent are kept."""
    scale = max(ds.width, ds.height) / FOOTPRINT_MAX_SIDE
    if scale > 1:
        out_h, out_w = max(1, round(ds.height / scale)), max(1, round(ds.width / scale))
    else:
        out_h, out_w = ds.height, ds.width
    mask = ds.dataset_mask(out_shape=(out_h, out_w))
    valid = (mask > 0).astype("uint8")
    if not valid.any():
        raise InvalidRaster("the raster has no valid pixel (everything is nodata or transparent)")
    transform = ds.transform @ rasterio.Affine.scale(ds.width / out_w, ds.height / out_h)
    polys = [sgeom.shape(g) for g, v in shapes(valid, mask=valid.astype(bool), transform=transform) if v == 1]
    native = unary_union(polys)
    pixel = max(abs(transform.a), abs(transform.e))
    native = native.simplify(pixel * 0.5, preserve_topology=True)
    minx, miny, maxx, maxy = native.bounds
    native = segmentize(native, max(maxx - minx, maxy - miny) / 64 or pixel)
    tr = _to_wgs84(ds.crs)
    geo = make_valid(shapely.transform(native, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))))
    parts = [g for g in getattr(geo, "geoms", [geo]) if isinstance(g, sgeom.Polygon) and not g.is_empty]
    parts += [p for g in getattr(geo, "geoms", []) if isinstance(g, sgeom.MultiPolygon) for p in g.geoms]
    # RFC 7946 right-hand rule: exterior rings counter-clockwise, holes clockwise
    return sgeom.MultiPolygon([orient(p, 1.0) for p in parts])


def crs_label(crs) -> tuple[str, int | None]:
    epsg = crs.to_epsg()
    return (f"EPSG:{epsg}", epsg) if epsg else (crs.to_wkt(), None)


def statistics(ds) -> dict:
    """Per-band statistics (rio-tiler, on a ≤1024 px decimated read)."""
    from rio_tiler.io import Reader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Reader(None, dataset=ds) as reader:
            stats = reader.statistics(max_size=1024)
    keep = ("min", "max", "mean", "std", "median", "percentile_2", "percentile_98", "valid_percent")
    out = {}
    for name, s in stats.items():
        d = s.model_dump()
        out[name] = {k: (None if d.get(k) is None or not math.isfinite(d[k]) else float(d[k])) for k in keep}
    return out


def capture_date(ds) -> dt.date | None:
    """TIFFTAG_DATETIME ("YYYY:MM:DD HH:MM:SS") when the file carries one."""
    value = ds.tags().get("TIFFTAG_DATETIME", "")
    try:
        return dt.datetime.strptime(value.strip()[:10], "%Y:%m:%d").date()
    except ValueError:
        return None


def describe(ds) -> dict:
    """The catalogue fields of a (converted) dataset."""
    crs, epsg = crs_label(ds.crs)
    nodata = ds.nodata
    return {
        "footprint": footprint(ds),
        "source_crs": crs,
        "source_epsg": epsg,
        "gsd_m": pixel_size_m(ds),
        "width": ds.width,
        "height": ds.height,
        "bands": ds.count,
        "dtype": ds.dtypes[0],
        "nodata": None if nodata is None or not math.isfinite(nodata) else float(nodata),
        "statistics": statistics(ds),
    }


# what GDAL/rasterio/rio-cogeo raise on unreadable input (GDAL's own CPLE_* errors included)
READ_ERRORS = (RasterioError, CPLE_BaseError, ValueError, OSError, MemoryError)
