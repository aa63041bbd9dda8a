"""GDAL configuration that keeps datasets from reaching the network or other
files (issue 12).

- ``apply()`` (from settings, before any GDAL library loads) sets the
  process-environment options every bundled GDAL reads and that are harmless
  for child processes: ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`` (opening
  one file never lists its directory) and ``GDAL_VRT_ENABLE_PYTHON=NO``.
  A value already in the environment wins.
- ``configure_rasterio()`` (imagery app start-up) sets the network options
  as GDAL config options of rasterio's GDAL only — not in the environment, so
  command-line GDAL tools the platform or its tests run keep their network:
  ``/vsicurl/`` accepts only a made-up file extension, every HTTP request goes
  to a closed local proxy port and gives up at once without retries.

The main defence is elsewhere: uploads and imports are opened only with an
explicit driver allow-list after sniffing their bytes
(imagery.inspect_raster.open_upload), so a VRT or a /vsi* path is never parsed.
"""
from __future__ import annotations

import os

ENVIRONMENT = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}
NO_NETWORK = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geo-platform-no-network",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # discard port: nothing listens, every request fails at once
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}


def apply() -> dict:
    """Set the environment defaults (existing values win); returns them."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in ENVIRONMENT}


def configure_rasterio() -> dict:
    """Set NO_NETWORK in rasterio's GDAL (process-wide config options, not inherited by child processes)."""
    from rasterio.env import get_gdal_config, set_gdal_config

    for name, value in NO_NETWORK.items():
        set_gdal_config(name, value)
    return {name: get_gdal_config(name) for name in NO_NETWORK}
