"""GDAL configuration that keeps datasets from reaching the network or other
files (issue 12). Applied once, from settings, before any GDAL library
(rasterio, pyogrio, Django's binding) registers its drivers; the process
environment is what every bundled GDAL reads. A value already set in the
environment wins (operators can loosen a setting on purpose).

What it closes:
- sibling-file discovery (``GDAL_DISABLE_READDIR_ON_OPEN``): opening one
  file never lists its directory;
- ``/vsicurl/`` and friends: only a made-up file extension is allowed, every
  HTTP request goes to a closed local proxy port and gives up at once;
- drivers whose job is to fetch remote services are not registered
  (``GDAL_SKIP``); VRT stays registered (rio-tiler's warped reads use it) but
  user uploads are only ever opened with an explicit driver allow-list
  (imagery.inspect_raster.open_upload), so a VRT upload is never parsed;
- Python inside VRT (``GDAL_VRT_ENABLE_PYTHON``) is off.
"""
from __future__ import annotations

import os

GDAL_SAFE_CONFIG = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geo-platform-no-network",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # discard port: nothing listens, every request fails at once
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_UNSAFESSL": "NO",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_SKIP": "WMS WMTS WCS HTTP DAAS EEDA EEDAI PLMOSAIC ESRIC STACTA STACIT NGW",
}


def apply() -> dict:
    """Set the safe defaults in os.environ (existing values win); returns them."""
    for name, value in GDAL_SAFE_CONFIG.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in GDAL_SAFE_CONFIG}
