"""Raster tiles and TileJSON with rio-tiler (WebMercatorQuad, on-the-fly
reprojection from the COG's own CRS).

RGB/RGBA imagery: alpha, internal mask or nodata become transparency; bands
that are not 8-bit are stretched by the 2–98 % percentiles measured at
ingest unless ``rescale`` is given. DEMs: a colour ramp (``colormap_name``,
default ``terrain``) over ``rescale`` (default the DEM's min–max), or a
hillshade (``hillshade=1``, ``azimuth``, ``altitude``, ``z_factor``)."""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.models import ImageData

from imagery.errors import InvalidParameter
from imagery.models import Imagery
from imagery.readers import get_reader

DEFAULT_DEM_COLORMAP = "terrain"
TILE_SIZES = (256, 512)


@dataclass(frozen=True)
class TileParams:
    bidx: tuple[int, ...] | None = None
    rescale: tuple[tuple[float, float], ...] | None = None
    colormap_name: str | None = None
    hillshade: bool = False
    azimuth: float = 315.0
    altitude: float = 45.0
    z_factor: float = 1.0
    tilesize: int = 256

    def cache_key(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()[:12]


def _float(query, name, default, lo=-math.inf, hi=math.inf):
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a number, not {raw!r}", name) from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InvalidParameter(f"{name} must be between {lo:g} and {hi:g}", name)
    return value


def parse_tile_params(query, img: Imagery) -> TileParams:
    """Validated tile options from a query dict (?bidx=1&bidx=2, ?rescale=0,255 …)."""
    bidx = None
    if query.getlist("bidx"):
        try:
            bidx = tuple(int(b) for raw in query.getlist("bidx") for b in raw.split(",") if b.strip())
        except ValueError:
            raise InvalidParameter("bidx must be band numbers (1-based)", "bidx") from None
        if not bidx or any(b < 1 or b > img.bands for b in bidx) or len(bidx) not in (1, 3):
            # transparency comes from the mask/alpha/nodata, so a PNG holds one (grey) or three (RGB) bands
            raise InvalidParameter(f"bidx must be 1 or 3 band numbers between 1 and {img.bands}", "bidx")
    rescale = None
    if query.getlist("rescale"):
        ranges = []
        for raw in query.getlist("rescale"):
            try:
                lo, hi = (float(v) for v in raw.split(","))
            except ValueError:
                raise InvalidParameter(f"rescale must be 'min,max', not {raw!r}", "rescale") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                raise InvalidParameter("rescale needs finite min < max", "rescale")
            ranges.append((lo, hi))
        rescale = tuple(ranges)
    colormap_name = query.get("colormap_name") or None
    if colormap_name and colormap_name not in cmap.list():
        raise InvalidParameter(f"unknown colormap_name {colormap_name!r}", "colormap_name")
    hillshade = (query.get("hillshade") or "").lower() in ("1", "true", "yes", "on")
    if hillshade and not img.is_elevation:
        raise InvalidParameter("hillshade is only for a dem or dsm", "hillshade")
    tilesize = int(_float(query, "tilesize", 256))
    if tilesize not in TILE_SIZES:
        raise InvalidParameter(f"tilesize must be one of {TILE_SIZES}", "tilesize")
    return TileParams(
        bidx=bidx,
        rescale=rescale,
        colormap_name=colormap_name,
        hillshade=hillshade,
        azimuth=_float(query, "azimuth", 315.0, 0, 360),
        altitude=_float(query, "altitude", 45.0, 0, 90),
        z_factor=_float(query, "z_factor", 1.0, 0.001, 1000),
        tilesize=tilesize,
    )


def _band_range(img: Imagery, band: int, low: str, high: str) -> tuple[float, float] | None:
    stats = (img.statistics or {}).get(f"b{band}") or {}
    lo, hi = stats.get(low), stats.get(high)
    if lo is None or hi is None:
        return None
    return (float(lo), float(hi) if hi > lo else float(lo) + 1.0)


MAX_ZOOM = 30


def check_tile_address(z: int, x: int, y: int) -> None:
    """Issue 12: the zoom is bounded before any arithmetic on it (2**z of a huge z costs seconds and memory)."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidParameter(f"zoom {z} is out of range 0..{MAX_ZOOM}", "z")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileOutsideBounds(f"Tile(x={x}, y={y}, z={z}) does not exist")


def render_tile(img: Imagery, z: int, x: int, y: int, params: TileParams) -> bytes:
    """PNG bytes of one WebMercatorQuad tile; raises TileOutsideBounds (→ 404)."""
    check_tile_address(z, x, y)
    reader = get_reader(img.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if img.is_elevation:
            return _render_elevation(reader, img, z, x, y, params)
        return _render_image(reader, img, z, x, y, params)


def _render_image(reader, img, z, x, y, params: TileParams) -> bytes:
    indexes = params.bidx
    if indexes is None:
        non_alpha = [i for i, ci in enumerate(reader.dataset.colorinterp, 1) if ci.name != "alpha"]
        indexes = tuple(non_alpha[:3]) if len(non_alpha) >= 3 else (non_alpha[0],)
    data = reader.tile(x, y, z, tilesize=params.tilesize, indexes=indexes)
    rescale = params.rescale
    if rescale is None and data.array.dtype != np.uint8:
        ranges = [_band_range(img, b, "percentile_2", "percentile_98") for b in indexes]
        rescale = tuple(r or (0.0, 255.0) for r in ranges)
    if rescale:
        data.rescale(in_range=rescale)
    colormap = cmap.get(params.colormap_name) if params.colormap_name and data.count == 1 else None
    return data.render(img_format="PNG", colormap=colormap)


def _render_elevation(reader, img, z, x, y, params: TileParams) -> bytes:
    if params.hillshade:
        data = reader.tile(x, y, z, tilesize=params.tilesize, indexes=(1,), buffer=1)
        shaded = hillshade(data, params.azimuth, params.altitude, params.z_factor)
        return shaded.render(img_format="PNG")
    data = reader.tile(x, y, z, tilesize=params.tilesize, indexes=(1,))
    rescale = params.rescale or (_band_range(img, 1, "min", "max") or (0.0, 1000.0),)
    data.rescale(in_range=rescale)
    return data.render(img_format="PNG", colormap=cmap.get(params.colormap_name or DEFAULT_DEM_COLORMAP))


def hillshade(data: ImageData, azimuth: float, altitude: float, z_factor: float) -> ImageData:
    """Grey hillshade (the formula of titiler's HillShade algorithm) of a tile
    read with a 1-pixel buffer; the buffer is cropped away. Horizontal cell
    size is the ground size of a Web Mercator pixel at the tile's latitude."""
    west, south, east, north = data.bounds  # Web Mercator metres, buffered
    height, width = data.height, data.width
    lat = math.degrees(math.atan(math.sinh(((north + south) / 2) / 6378137.0)))
    cell = (east - west) / width * math.cos(math.radians(lat))
    band = data.array[0]
    mask = np.ma.getmaskarray(band)
    elev = band.filled(float(band.mean()) if band.count() else 0.0).astype("float64") * z_factor
    dy, dx = np.gradient(elev, cell)
    slope = np.pi / 2.0 - np.arctan(np.hypot(dx, dy))
    aspect = np.arctan2(-dx, dy)
    az, alt = math.radians(azimuth), math.radians(altitude)
    shaded = np.sin(alt) * np.sin(slope) + np.cos(alt) * np.cos(slope) * np.cos(az - aspect)
    grey = np.clip(255.0 * (shaded + 1.0) / 2.0, 0, 255).astype("uint8")[1:-1, 1:-1]
    out = np.ma.MaskedArray(grey[None], mask=mask[None, 1:-1, 1:-1])
    return ImageData(out, crs=data.crs, bounds=data.bounds)


def tilejson(img: Imagery, tile_url: str) -> dict:
    reader = get_reader(img.path)
    west, south, east, north = reader.get_geographic_bounds(reader.tms.rasterio_geographic_crs)
    minzoom, maxzoom = reader.minzoom, reader.maxzoom
    return {
        "tilejson": "3.0.0",
        "name": img.name,
        "description": f"{img.get_kind_display()} — {img.width}×{img.height}, {img.gsd_m:.3g} m",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tile_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, min(max(minzoom, maxzoom - 2), maxzoom)],
        "attribution": img.attribution,
    }
