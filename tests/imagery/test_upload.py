"""POST /api/imagery/: a good upload registers; each bad file gets a clear 4xx
and leaves no row and no file behind."""
import numpy as np
import pytest
import rasterio
from django.core.files.uploadedfile import SimpleUploadedFile
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from imagery.models import Imagery
from tests.conftest import shared_file
from tests.imagery.conftest import COLORADO, JAKARTA_DEM, LANDSAT, files_under, write_geotiff

pytestmark = pytest.mark.django_db
URL = "/api/imagery/"


def upload(client, filename, content, **fields):
    data = {"file": SimpleUploadedFile(filename, content, content_type="image/tiff"), **fields}
    return client.post(URL, data, format="multipart")


def assert_nothing_left(root):
    assert Imagery.objects.count() == 0
    assert files_under(root) == [], files_under(root)


def test_upload_registers_a_raster_and_returns_the_feature(api, imagery_root):
    r = upload(api, "jakarta.tif", shared_file(JAKARTA_DEM).read_bytes(), kind="dem", name="DEM Ciliwung",
               captured_on="2016-03-01", attribution="© 2016 Martin Dobias (MIT)")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["type"] == "Feature" and body["geometry"]["type"] == "MultiPolygon"
    p = body["properties"]
    assert p["kind"] == "dem" and p["captured_on"] == "2016-03-01" and p["crs"] == "EPSG:32748"
    assert (p["width"], p["height"], p["bands"]) == (420, 530, 1) and p["ingest"] == "created"
    img = Imagery.objects.get()
    assert (imagery_root / img.file).is_file() and img.original_filename == "jakarta.tif"
    # the same bytes again: no duplicate
    again = upload(api, "copy.tif", shared_file(JAKARTA_DEM).read_bytes(), kind="dem")
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["properties"]["ingest"] == "skipped"
    assert Imagery.objects.count() == 1 and len([f for f in files_under(imagery_root) if f.suffix == ".tif"]) == 1


def test_large_uploads_stream_through_a_temporary_file(api, imagery_root, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force Django's TemporaryUploadedFile
    r = upload(api, "landsat.tif", shared_file(LANDSAT).read_bytes(), kind="satellite")
    assert r.status_code == 201, r.json()
    assert Imagery.objects.get().source_size_bytes == shared_file(LANDSAT).stat().st_size


def test_upload_needs_login(anon, imagery_root):
    r = upload(anon, "c.tif", shared_file(COLORADO).read_bytes(), kind="orthophoto")
    assert r.status_code in (401, 403)
    assert_nothing_left(imagery_root)


def _truncated_cog(tmp_path) -> bytes:
    """A valid COG cut in the middle of its pixel data (header intact)."""
    cog = tmp_path / "full.tif"
    cog_translate(str(shared_file(LANDSAT)), str(cog), cog_profiles.get("deflate"), quiet=True)
    data = cog.read_bytes()
    return data[: len(data) // 3]


def _not_georeferenced(tmp_path) -> bytes:
    path = write_geotiff(tmp_path / "plain.tif", np.arange(64 * 64, dtype="uint8").reshape(64, 64), crs=None)
    return path.read_bytes()


def _huge_declared(tmp_path) -> bytes:
    """A few KB of sparse GeoTIFF that declares 300,000 × 300,000 pixels."""
    path = tmp_path / "huge.tif"
    with rasterio.open(path, "w", driver="GTiff", width=300_000, height=300_000, count=1, dtype="uint8",
                       crs="EPSG:32748", transform=rasterio.transform.from_origin(700000, 9300000, 1, 1),
                       tiled=True, blockxsize=4096, blockysize=4096, compress="deflate", sparse_ok=True):
        pass
    assert path.stat().st_size < 1_000_000
    return path.read_bytes()


def _off_the_earth(tmp_path) -> bytes:
    """UTM metres labelled as EPSG:4326 (a common mistake): latitude 9,300,000°."""
    path = write_geotiff(tmp_path / "wrong_crs.tif", np.ones((32, 32), dtype="uint8"), crs="EPSG:4326",
                         transform=rasterio.transform.from_origin(700000, 9300000, 10, 10))
    return path.read_bytes()


BAD_FILES = {
    "empty": (lambda tmp: b"", "file"),
    "text": (lambda tmp: b"name,lon,lat\nPJU 1,106.6,-6.2\n", "file"),
    "random_bytes": (lambda tmp: np.random.default_rng(1).integers(0, 256, 50_000, dtype="uint8").tobytes(), "file"),
    "tiff_header_only": (lambda tmp: b"II*\x00\x08\x00\x00\x00" + b"\x00" * 200, "file"),
    "truncated_cog": (_truncated_cog, "file"),
    "not_georeferenced": (_not_georeferenced, "file"),
    "off_the_earth": (_off_the_earth, "file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_get_400_and_leave_nothing(api, imagery_root, tmp_path, case):
    make, field = BAD_FILES[case]
    r = upload(api, f"{case}.tif", make(tmp_path), kind="orthophoto")
    assert r.status_code == 400, (case, r.content)
    body = r.json()
    assert set(body) == {"detail", "errors"} and field in body["errors"] and body["detail"]
    assert_nothing_left(imagery_root)


def test_not_georeferenced_message_names_the_problem(api, imagery_root, tmp_path):
    r = upload(api, "plain.tif", _not_georeferenced(tmp_path), kind="drone")
    assert r.status_code == 400 and "not georeferenced" in r.json()["detail"]


def test_a_raster_declaring_absurd_dimensions_is_refused(api, imagery_root, tmp_path):
    r = upload(api, "huge.tif", _huge_declared(tmp_path), kind="satellite")
    assert r.status_code == 413, r.content
    assert "300000×300000" in r.json()["detail"]
    assert_nothing_left(imagery_root)


def test_uploads_over_the_size_limit_get_413(api, imagery_root, settings):
    settings.IMAGERY_MAX_UPLOAD_BYTES = 100_000
    content = shared_file(COLORADO).read_bytes()  # 281 KB
    r = upload(api, "colorado.tif", content, kind="orthophoto")
    assert r.status_code == 413 and "allowed" in r.json()["detail"]
    assert_nothing_left(imagery_root)
    settings.IMAGERY_MAX_UPLOAD_BYTES = 10_000_000
    assert upload(api, "colorado.tif", content, kind="orthophoto").status_code == 201


def test_oversized_request_is_refused_before_the_body_is_parsed(api, imagery_root, settings, tmp_path):
    settings.IMAGERY_MAX_UPLOAD_BYTES = 100_000
    content = shared_file(LANDSAT).read_bytes()  # 1.7 MB
    r = upload(api, "landsat.tif", content, kind="satellite")
    assert r.status_code == 413 and "allowed" in r.json()["detail"]
    # the refusal quotes the request's Content-Length (multipart envelope included), not the parsed file's size
    assert f"{len(content):,} bytes" not in r.json()["detail"]
    assert_nothing_left(imagery_root)


def test_dem_kind_needs_a_single_band(api, imagery_root):
    r = upload(api, "rgb.tif", shared_file(COLORADO).read_bytes(), kind="dem")
    assert r.status_code == 400 and "kind" in r.json()["errors"] and "one band" in r.json()["detail"]
    assert_nothing_left(imagery_root)


@pytest.mark.parametrize("fields", [{}, {"kind": "lidar"}])
def test_missing_or_unknown_kind_is_400(api, imagery_root, fields):
    r = upload(api, "c.tif", shared_file(COLORADO).read_bytes(), **fields)
    assert r.status_code == 400 and "kind" in r.json()["errors"]
    assert_nothing_left(imagery_root)


def test_missing_file_is_400(api, imagery_root):
    r = api.post(URL, {"kind": "dem"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["errors"]
