"""Terrain on DEMs: values checked against rasterio sampling of the source
file (GDAL transformer), closed forms on synthetic planes, pyproj geodesics."""
import numpy as np
import pytest
import rasterio
import rasterio.warp
from pyproj import Geod, Transformer

from tests.conftest import shared_file
from tests.imagery.conftest import COLORADO, JAKARTA_DEM, SRTM, write_geotiff

pytestmark = pytest.mark.django_db
GEOD = Geod(ellps="WGS84")


def rasterio_sample(rel, lons, lats):
    """Nearest-cell values straight from the source with rasterio (None for nodata)."""
    with rasterio.open(shared_file(rel)) as src:
        xs, ys = rasterio.warp.transform("EPSG:4326", src.crs, list(lons), list(lats))
        out = []
        for v in src.sample(zip(xs, ys), indexes=1, masked=True):
            out.append(None if np.ma.is_masked(v[0]) else float(v[0]))
    return out


def random_points(rel, n, seed):
    with rasterio.open(shared_file(rel)) as src:
        w, s, e, north = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    rng = np.random.default_rng(seed)
    # inner 80 % of the extent
    lons = rng.uniform(w + 0.1 * (e - w), e - 0.1 * (e - w), n)
    lats = rng.uniform(s + 0.1 * (north - s), north - 0.1 * (north - s), n)
    return lons, lats


@pytest.mark.parametrize("rel", [JAKARTA_DEM, SRTM])
def test_point_elevation_equals_rasterio_sample(client, ingest, rel):
    img = ingest(rel)
    lons, lats = random_points(rel, 25, seed=7)
    expected = rasterio_sample(rel, lons, lats)
    for lon, lat, z in zip(lons, lats, expected):
        r = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": lon, "lat": lat})
        assert r.status_code == 200, r.content
        assert r.json()["elevation_m"] == z


def test_nodata_cell_gives_null_and_outside_gives_404(client, ingest):
    img = ingest(JAKARTA_DEM)
    with rasterio.open(shared_file(JAKARTA_DEM)) as src:
        data = src.read(1, masked=True)
        rows, cols = np.nonzero(np.ma.getmaskarray(data))
        x, y = src.xy(int(rows[0]), int(cols[0]))
        (lon,), (lat,) = rasterio.warp.transform(src.crs, "EPSG:4326", [x], [y])
    r = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": lon, "lat": lat})
    assert r.status_code == 200 and r.json()["elevation_m"] is None
    far = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": 110.0, "lat": -7.0})
    assert far.status_code == 404 and "outside" in far.json()["detail"]
    bad = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": "abc", "lat": 95})
    assert bad.status_code == 400 and {"lon", "lat"} <= set(bad.json()["errors"])


def test_terrain_needs_a_dem(client, ingest):
    img = ingest(COLORADO)
    r = client.get(f"/api/imagery/{img.pk}/elevation/", {"lon": -104.7750, "lat": 38.9536})
    assert r.status_code == 400 and "dem" in r.json()["detail"]


@pytest.mark.parametrize("rel,line", [
    (JAKARTA_DEM, [[106.838, -6.255], [106.852, -6.275], [106.870, -6.296]]),
    (SRTM, [[7.05, 43.95], [7.42, 43.73], [7.95, 43.05]]),
])
def test_profile_matches_rasterio_and_geodesic_distances(client, ingest, rel, line):
    img = ingest(rel)
    r = client.post(f"/api/imagery/{img.pk}/profile/", {"geometry": {"type": "LineString", "coordinates": line}},
                    content_type="application/json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["length_m"] == pytest.approx(GEOD.line_length([p[0] for p in line], [p[1] for p in line]), rel=1e-9)
    pts = body["points"]
    assert pts[0]["distance_m"] == 0 and pts[-1]["distance_m"] == pytest.approx(body["length_m"])
    assert pts[0]["lon"] == pytest.approx(line[0][0]) and pts[-1]["lat"] == pytest.approx(line[-1][1])
    step = body["interval_m"]
    assert np.allclose(np.diff([p["distance_m"] for p in pts])[:-1], step)
    # each station lies on the line at its stated distance (pyproj geodesic from the vertex before it)
    seg = np.cumsum([0] + [GEOD.inv(*line[i], *line[i + 1])[2] for i in range(len(line) - 1)])
    for p in pts[:: max(1, len(pts) // 20)]:
        i = min(int(np.searchsorted(seg, p["distance_m"], side="right") - 1), len(line) - 2)
        az = GEOD.inv(*line[i], *line[i + 1])[0]
        lon, lat, _ = GEOD.fwd(*line[i], az, p["distance_m"] - seg[i])
        assert (p["lon"], p["lat"]) == pytest.approx((lon, lat), abs=1e-9)
    expected = rasterio_sample(rel, [p["lon"] for p in pts], [p["lat"] for p in pts])
    assert [p["elevation_m"] for p in pts] == expected
    valid = [z for z in expected if z is not None]
    assert body["min_m"] == min(valid) and body["max_m"] == max(valid)


def test_profile_interval_and_bad_input(client, ingest):
    img = ingest(JAKARTA_DEM)
    url = f"/api/imagery/{img.pk}/profile/"
    line = {"type": "LineString", "coordinates": [[106.84, -6.26], [106.86, -6.28]]}
    r = client.post(url, {"geometry": line, "interval_m": 50}, content_type="application/json")
    assert r.status_code == 200 and r.json()["interval_m"] == 50
    length = r.json()["length_m"]
    assert len(r.json()["points"]) == int(length // 50) + 1 + (length % 50 != 0)  # 0, 50, …, and the end
    assert client.post(url, line, content_type="application/json").status_code == 200  # bare geometry
    cases = [
        {"geometry": {"type": "Point", "coordinates": [106.84, -6.26]}},
        {"geometry": {"type": "LineString", "coordinates": [[106.84, -6.26]]}},
        {"geometry": {"type": "LineString", "coordinates": [[306.84, -6.26], [106.85, -6.27]]}},
        {"geometry": line, "interval_m": -5},
        {"geometry": line, "interval_m": 0.001},  # too many stations
    ]
    for body in cases:
        bad = client.post(url, body, content_type="application/json")
        assert bad.status_code == 400, (body, bad.content)
        assert bad.json()["detail"]
    outside = {"type": "LineString", "coordinates": [[110.0, -7.0], [110.1, -7.1]]}
    assert client.post(url, outside, content_type="application/json").status_code == 404


def test_zonal_statistics_of_a_pixel_aligned_rectangle(client, ingest):
    """A rectangle on cell edges in the DEM's CRS holds exactly rows r0:r1, cols c0:c1."""
    img = ingest(JAKARTA_DEM)
    r0, r1, c0, c1 = 100, 180, 60, 150
    with rasterio.open(shared_file(JAKARTA_DEM)) as src:
        block = src.read(1, masked=True)[r0:r1, c0:c1]
        t = src.transform
        to_geo = Transformer.from_crs(src.crs.to_wkt(), "EPSG:4326", always_xy=True)
    xs = np.concatenate([np.linspace(c0, c1, 20), np.full(20, c1), np.linspace(c1, c0, 20), np.full(20, c0)])
    ys = np.concatenate([np.full(20, r0), np.linspace(r0, r1, 20), np.full(20, r1), np.linspace(r1, r0, 20)])
    ex, ey = t.c + xs * t.a, t.f + ys * t.e
    lon, lat = to_geo.transform(ex, ey)
    ring = [[float(a), float(b)] for a, b in zip(lon, lat)] + [[float(lon[0]), float(lat[0])]]
    r = client.post(f"/api/imagery/{img.pk}/zonal/", {"type": "Polygon", "coordinates": [ring]}, content_type="application/json")
    assert r.status_code == 200, r.content
    z = r.json()
    assert z["count"] == block.count()
    assert z["count"] + z["nodata_count"] == (r1 - r0) * (c1 - c0)
    assert z["min"] == block.min() and z["max"] == block.max()
    assert z["mean"] == pytest.approx(float(block.mean()), rel=1e-9)
    assert z["median"] == pytest.approx(float(np.ma.median(block)))
    assert z["area_m2"] == pytest.approx((r1 - r0) * (c1 - c0) * t.a**2 / 0.9996**2, rel=0.01)


def test_zonal_bad_and_outside_polygons(client, ingest):
    img = ingest(JAKARTA_DEM)
    url = f"/api/imagery/{img.pk}/zonal/"
    bowtie = {"type": "Polygon", "coordinates": [[[106.84, -6.26], [106.86, -6.28], [106.86, -6.26], [106.84, -6.28], [106.84, -6.26]]]}
    assert client.post(url, bowtie, content_type="application/json").status_code == 400
    far = {"type": "Polygon", "coordinates": [[[110, -7], [110.1, -7], [110.1, -7.1], [110, -7]]]}
    assert client.post(url, far, content_type="application/json").status_code == 404
    assert client.post(url, {"geometry": None}, content_type="application/json").status_code == 400


def test_sample_dem_bilinear_is_exact_on_a_plane(tmp_path):
    """Bilinear interpolation reproduces a plane z = a + b·x + c·y exactly (away from the border)."""
    from imagery.terrain import sample_dem

    x0, y0, cell, n = 700_000.0, 9_306_000.0, 10.0, 200
    cx = x0 + (np.arange(n) + 0.5) * cell
    cy = y0 - (np.arange(n) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cy)
    plane = (50 + 0.01 * (gx - x0) - 0.02 * (gy - y0)).astype("float64")
    path = write_geotiff(tmp_path / "plane.tif", plane, transform=rasterio.transform.from_origin(x0, y0, cell, cell))
    rng = np.random.default_rng(3)
    px = rng.uniform(x0 + 20, x0 + n * cell - 20, 200)
    py = rng.uniform(y0 - n * cell + 20, y0 - 20, 200)
    lon, lat = Transformer.from_crs("EPSG:32748", "EPSG:4326", always_xy=True).transform(px, py)
    z = sample_dem(path, np.column_stack([lon, lat]), method="bilinear")
    np.testing.assert_allclose(z, 50 + 0.01 * (px - x0) - 0.02 * (py - y0), atol=1e-6)
    nearest = sample_dem(path, np.column_stack([lon, lat]))
    assert np.abs(nearest - z).max() <= 0.5 * cell * (0.01 + 0.02) + 1e-9
    assert np.isnan(sample_dem(path, [(0.0, 0.0)])).all()
