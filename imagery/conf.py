"""Imagery settings, read lazily so tests can override them (override_settings).

All are optional in geo_platform/settings.py; the environment variable of the
same name is the fallback, then the default."""
import os
from pathlib import Path

from django.conf import settings


def _get(name: str, default, cast=int):
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return default if value in (None, "") else cast(value)


def imagery_root() -> Path:
    return Path(settings.IMAGERY_ROOT)


def max_upload_bytes() -> int:
    """Uploads larger than this get 413 (default 2 GiB)."""
    return _get("IMAGERY_MAX_UPLOAD_BYTES", 2 * 1024**3)


def max_pixels() -> int:
    """A raster declaring more pixels (width × height) than this is refused (default 20 gigapixels)."""
    return _get("IMAGERY_MAX_PIXELS", 20_000_000_000)


def max_bands() -> int:
    return _get("IMAGERY_MAX_BANDS", 64)


def max_analysis_pixels() -> int:
    """Largest window of DEM cells one terrain request may read (default 16 M cells, ~130 MB as float64; issue 12)."""
    return _get("IMAGERY_MAX_ANALYSIS_PIXELS", 16_000_000)


def max_profile_points() -> int:
    return _get("IMAGERY_MAX_PROFILE_POINTS", 10_000)


def open_datasets() -> int:
    """Rasterio datasets kept open per worker thread (LRU)."""
    return _get("IMAGERY_OPEN_DATASETS", 32)


def tile_max_age() -> int:
    return _get("IMAGERY_TILE_MAX_AGE", 86_400)


def tile_lookup_ttl() -> float:
    """Seconds a tile worker reuses an imagery's catalogue row (0 = ask the database every tile)."""
    return _get("IMAGERY_TILE_LOOKUP_TTL", 5.0, float)
