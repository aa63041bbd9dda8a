"""Ingest of every real raster in ../shared/data: COG, catalogue facts and
footprint checked against rasterio/GDAL/pyproj computed here."""
import json
import math
import os

import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.warp
from django.core.management import call_command
from pyproj import Geod, Transformer
from rio_cogeo.cogeo import cog_info, cog_validate
from shapely import geometry as sgeom
from shapely import unary_union

from imagery.models import Imagery
from tests.conftest import shared_file
from tests.imagery.conftest import BALI, COLORADO, JAKARTA_DEM, RASTERS, SRTM, files_under

pytestmark = pytest.mark.django_db


def independent_footprint(path) -> sgeom.base.BaseGeometry:
    """Valid-data outline traced by rasterio on the full-resolution mask and
    reprojected by GDAL (rasterio.warp.transform_geom)."""
    with rasterio.open(path) as src:
        mask = src.dataset_mask()
        polys = [
            sgeom.shape(rasterio.warp.transform_geom(src.crs, "EPSG:4326", g))
            for g, v in rasterio.features.shapes((mask > 0).astype("uint8"), mask=mask > 0, transform=src.transform)
            if v == 1
        ]
    return unary_union(polys)


@pytest.mark.parametrize("rel", sorted(RASTERS))
def test_every_real_raster_becomes_a_valid_cog_with_its_source_facts(ingest, imagery_root, rel):
    img = ingest(rel)
    path = imagery_root / img.file
    assert path.is_file() and path.resolve().is_relative_to(imagery_root.resolve())
    valid, errors, _ = cog_validate(str(path), quiet=True)
    assert valid, errors
    info = cog_info(str(path))
    assert info.Profile.Tiled and info.Profile.Width == img.width
    with rasterio.open(shared_file(rel)) as src, rasterio.open(path) as cog:
        assert (img.width, img.height, img.bands, img.dtype) == (src.width, src.height, src.count, src.dtypes[0])
        assert img.source_crs == f"EPSG:{src.crs.to_epsg()}"
        assert cog.crs == src.crs and cog.transform.almost_equals(src.transform)
        assert cog.block_shapes[0] == (256, 256)
        if min(src.width, src.height) > 256:
            assert cog.overviews(1), "rasters larger than one tile need overviews"
        # pixel values are carried over unchanged (lossless DEFLATE)
        np.testing.assert_array_equal(cog.read(1, masked=True).filled(0), src.read(1, masked=True).filled(0))
    assert img.checksum == __import__("hashlib").sha256(shared_file(rel).read_bytes()).hexdigest()
    assert img.source_size_bytes == shared_file(rel).stat().st_size
    assert not any(p.parent.name == ".tmp" for p in files_under(imagery_root)), "temporary files left behind"


@pytest.mark.parametrize("rel", sorted(RASTERS))
def test_footprint_matches_an_independent_rasterio_trace(ingest, rel):
    img = ingest(rel)
    ours = sgeom.shape(json.loads(img.footprint.geojson))
    theirs = independent_footprint(shared_file(rel))
    assert ours.is_valid
    # same area within 1 %, and nearly the same shape
    assert ours.area == pytest.approx(theirs.area, rel=0.01)
    assert ours.symmetric_difference(theirs).area / theirs.area < 0.02
    with rasterio.open(shared_file(rel)) as src:
        west, south, east, north = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
    b = ours.bounds
    tol = 0.01 * max(east - west, north - south)
    assert b[0] >= west - tol and b[1] >= south - tol and b[2] <= east + tol and b[3] <= north + tol


def test_footprint_follows_transparent_pixels_not_the_bounding_box(ingest):
    img = ingest(BALI)
    ours = sgeom.shape(json.loads(img.footprint.geojson))
    assert ours.area < 0.95 * sgeom.box(*ours.bounds).area
    path = shared_file(BALI)
    with rasterio.open(path) as src:
        alpha = src.read(4)
        to_geo = Transformer.from_crs(src.crs.to_wkt(), "EPSG:4326", always_xy=True)
        rng = np.random.default_rng(4)
        rows, cols = rng.integers(5, src.height - 5, 400), rng.integers(5, src.width - 5, 400)
        for r, c in zip(rows, cols):
            window = alpha[r - 4 : r + 5, c - 4 : c + 5]
            if window.min() == window.max():  # well inside a valid or a transparent zone
                x, y = src.xy(r, c)
                lon, lat = to_geo.transform(x, y)
                assert ours.contains(sgeom.Point(lon, lat)) == bool(window[0, 0] > 0), (r, c)


def test_gsd_in_metres_for_projected_and_geographic_rasters(ingest):
    jkt = ingest(JAKARTA_DEM)
    assert jkt.gsd_m == pytest.approx(9.991273102283, rel=1e-9)
    srtm = ingest(SRTM)
    # 3″ cells at the tile centre (7.5 E, 43.5 N), geodesic on WGS 84
    geod = Geod(ellps="WGS84")
    dx = geod.inv(7.5, 43.5, 7.5 + 3 / 3600, 43.5)[2]
    dy = geod.inv(7.5, 43.5, 7.5, 43.5 + 3 / 3600)[2]
    assert srtm.gsd_m == pytest.approx((dx + dy) / 2, rel=1e-3)
    assert 60 < srtm.gsd_m < 93


def test_statistics_of_the_dem(ingest):
    img = ingest(JAKARTA_DEM)
    with rasterio.open(shared_file(JAKARTA_DEM)) as src:
        data = src.read(1, masked=True)
    stats = img.statistics["b1"]
    assert stats["min"] == data.min() == 12 and stats["max"] == data.max() == 43
    assert stats["mean"] == pytest.approx(float(data.mean()), abs=0.01)
    assert img.nodata == -32767


def test_reingesting_the_same_file_does_not_duplicate(ingest, imagery_root):
    first = ingest(COLORADO, name="Colorado")
    files = files_under(imagery_root)
    from imagery.services import imagery_ingest

    again = imagery_ingest(source=shared_file(COLORADO), kind="orthophoto")
    assert again.status == "skipped" and again.imagery.pk == first.pk
    renamed = imagery_ingest(source=shared_file(COLORADO), kind="orthophoto", name="Colorado Springs")
    assert renamed.status == "updated" and renamed.changes == ["name"]
    assert Imagery.objects.count() == 1 and files_under(imagery_root) == files
    from imagery.errors import InvalidRaster

    with pytest.raises(InvalidRaster, match="one band"):  # a re-ingest cannot turn RGB into a DEM
        imagery_ingest(source=shared_file(COLORADO), kind="dem")
    assert Imagery.objects.get().kind == "orthophoto"


def test_import_imagery_command_json_report(imagery_root, capsys):
    path = shared_file(JAKARTA_DEM)
    call_command("import_imagery", str(path), "--kind", "dem", "--name", "DEM Jakarta", "--json")
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["created"] == 1 and report["rejected"] == 0
    img = Imagery.objects.get(pk=report["id"])
    assert img.name == "DEM Jakarta" and img.kind == "dem"
    assert "created" in out.err  # progress on stderr
    call_command("import_imagery", str(path), "--kind", "dem", "--json")
    again = json.loads(capsys.readouterr().out)
    assert again["skipped"] == 1 and again["created"] == 0 and again["id"] == img.pk
    assert Imagery.objects.count() == 1


def test_import_imagery_command_rejects_a_corrupt_file(tmp_path, imagery_root, capsys):
    bad = tmp_path / "rusak.tif"
    bad.write_bytes(b"II*\x00" + bytes(range(256)) * 20)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exit_info:
        call_command("import_imagery", str(bad), "--kind", "orthophoto", "--json")
    assert exit_info.value.returncode == 1  # manage.py exits with status 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert report["rejected"] == 1 and report["created"] == 0
    assert any("not a readable raster" in reason for reason in report["reasons"])
    assert Imagery.objects.count() == 0 and files_under(imagery_root) == []


def test_demo_load_is_idempotent(imagery_root):
    from imagery import demo

    with open(os.devnull, "w") as devnull:
        first = demo.load(stdout=devnull)
        assert first["created"] == 5
        second = demo.load(stdout=devnull)
    assert second["skipped"] == 5 and Imagery.objects.count() == 5
    assert all(img.attribution and img.licence for img in Imagery.objects.all())
    assert math.isfinite(sum(img.gsd_m for img in Imagery.objects.all()))


def test_a_missing_cog_is_404_and_restored_by_reingest(client, ingest, imagery_root):
    img = ingest(JAKARTA_DEM)
    (imagery_root / img.file).unlink()
    r = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": 106.855, "lat": -6.275})
    assert r.status_code == 404 and "missing" in r.json()["detail"]
    from imagery.services import imagery_ingest

    again = imagery_ingest(source=shared_file(JAKARTA_DEM), kind="dem")
    assert again.status == "updated" and again.imagery.pk == img.pk and "file" in again.changes
    assert (imagery_root / again.imagery.file).is_file() and Imagery.objects.count() == 1
    assert client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": 106.855, "lat": -6.275}).status_code == 200
