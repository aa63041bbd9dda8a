"""Imagery tests: a temporary IMAGERY_ROOT per test, the real rasters of
../shared/data, and helpers that compute expectations with rasterio/GDAL/pyproj
directly (never through imagery.*)."""
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.conftest import shared_file

RASTERS = {
    # shared path: kind
    "dem/jakarta_ciliwung_dem_10m_utm48s.tif": "dem",
    "dem/srtm3_N43E007_nice_monaco.tif": "dem",
    "imagery/bali_badung_drone_ortho_rgba_0.35m.tif": "drone",
    "imagery/colorado_springs_hro_rgb_0.15m.tif": "orthophoto",
    "imagery/landsat7_bahamas_rgb_300m.tif": "satellite",
}
JAKARTA_DEM = "dem/jakarta_ciliwung_dem_10m_utm48s.tif"
SRTM = "dem/srtm3_N43E007_nice_monaco.tif"
BALI = "imagery/bali_badung_drone_ortho_rgba_0.35m.tif"
COLORADO = "imagery/colorado_springs_hro_rgb_0.15m.tif"
LANDSAT = "imagery/landsat7_bahamas_rgb_300m.tif"


@pytest.fixture(autouse=True)
def imagery_root(settings, tmp_path):
    root = tmp_path / "imagery_root"
    settings.IMAGERY_ROOT = root
    settings.BASEMAP_URL = ""
    return root


def files_under(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


@pytest.fixture
def ingest(db):
    """ingest(shared_relative_path, **meta) → Imagery, through the service."""
    from imagery.services import imagery_ingest

    def _ingest(rel: str, **meta):
        meta.setdefault("kind", RASTERS.get(rel, "orthophoto"))
        return imagery_ingest(source=shared_file(rel), **meta).imagery

    return _ingest


@pytest.fixture
def user(db):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("pengunggah", password="rahasia-123")
    user.groups.add(Group.objects.get(name="planner"))  # SPEC §4: uploads by planners and admins (issue 12)
    return user


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anon():
    return APIClient()


def decode_png(content: bytes) -> np.ndarray:
    """PNG → (bands, h, w) with GDAL's PNG driver."""
    with rasterio.MemoryFile(content) as mem, mem.open() as ds:
        assert ds.driver == "PNG"
        return ds.read()


def write_geotiff(path: Path, array: np.ndarray, *, crs="EPSG:32748", transform=None, nodata=None, **extra) -> Path:
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    profile = {
        "driver": "GTiff", "width": array.shape[2], "height": array.shape[1], "count": array.shape[0],
        "dtype": array.dtype.name, "crs": crs, "transform": transform, "nodata": nodata, **extra,
    }
    if crs is None:
        profile.pop("crs")
    if transform is None:
        profile.pop("transform")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array)
    return path
