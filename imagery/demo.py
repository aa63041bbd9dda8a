"""Demo imagery loaded by `manage.py load_demo` (and so `make run`): the five
openly licensed rasters in data/demo/imagery (see ATTRIBUTION.md there).
Idempotent: a file already registered (same sha256) is skipped."""
import sys
from pathlib import Path

from django.conf import settings

DEMO_DIR = Path(settings.BASE_DIR) / "data" / "demo" / "imagery"

DEMO = [
    {
        "file": "jakarta_ciliwung_dem_10m_utm48s.tif",
        "kind": "dem",
        "name": "DEM Ciliwung, Jakarta (10 m)",
        "licence": "MIT",
        "attribution": "DEM: floodhack2016-jakarta, © 2016 Martin Dobias (MIT)",
    },
    {
        "file": "srtm3_N43E007_nice_monaco.tif",
        "kind": "dem",
        "name": "SRTM3 N43E007 (Nice–Monaco)",
        "licence": "Public domain",
        "attribution": "SRTM: NASA/USGS (public domain)",
    },
    {
        "file": "bali_badung_drone_ortho_rgba_0.35m.tif",
        "kind": "drone",
        "name": "Ortofoto drone Badung, Bali (0,35 m)",
        "licence": "BSD-3-Clause",
        "attribution": "Pix4D orthomosaic from cogeotiff/rio-tiler test fixtures (BSD-3-Clause)",
    },
    {
        "file": "colorado_springs_hro_rgb_0.15m.tif",
        "kind": "orthophoto",
        "name": "Aerial Colorado Springs (0,15 m)",
        "licence": "Public domain",
        "attribution": "USGS High Resolution Orthoimagery (public domain)",
    },
    {
        "file": "landsat7_bahamas_rgb_300m.tif",
        "kind": "satellite",
        "name": "Landsat 7 ETM+ Bahamas (RGB)",
        "licence": "CC0-1.0",
        "attribution": "Derived from USGS Landsat 7 ETM+ imagery (CC0, via rasterio test data)",
    },
]


def load(stdout=None) -> dict:
    from imagery.services import imagery_ingest

    out = stdout or sys.stdout
    report = {"created": 0, "updated": 0, "skipped": 0, "ids": []}
    for item in DEMO:
        meta = {k: v for k, v in item.items() if k != "file"}
        result = imagery_ingest(source=DEMO_DIR / item["file"], **meta)
        report[result.status] += 1
        report["ids"].append(result.imagery.pk)
    out.write(
        f"imagery: {report['created']} created, {report['updated']} updated, {report['skipped']} skipped "
        f"(tiles: /imagery/<id>/tiles/{{z}}/{{x}}/{{y}}.png)\n"
    )
    return report
