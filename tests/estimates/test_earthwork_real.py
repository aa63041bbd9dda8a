"""Earthwork on the real Ciliwung DEM (EPSG:32748, 10 m, int16) and on a DEM
stored in geographic coordinates. The grid expectation is recomputed here
with rasterio, shapely and pyproj directly (cell centres in the flat-ended
corridor, Σ max(z − z_design, 0) · cell area), never through estimates.*."""
import numpy as np
import pytest
import rasterio
import rasterio.warp
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString

from imagery.services import imagery_ingest
from tests.conftest import shared_file
from tests.estimates.conftest import GEOD

pytestmark = pytest.mark.django_db
JAKARTA_DEM = "dem/jakarta_ciliwung_dem_10m_utm48s.tif"
LINE = [[106.845, -6.262], [106.852, -6.270], [106.865, -6.288]]


def independent_grid(path, lonlat, width, z0, grade):
    with rasterio.open(path) as ds:
        tr = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True)
        line = LineString([tr.transform(x, y) for x, y in lonlat])
        corridor = line.buffer(width / 2, cap_style="flat")
        z = ds.read(1, masked=True)
        rows, cols = np.mgrid[0 : ds.height, 0 : ds.width]
        xs, ys = rasterio.transform.xy(ds.transform, rows.ravel(), cols.ravel())
        xs, ys = np.asarray(xs), np.asarray(ys)
        inside = shapely.contains_xy(corridor, xs, ys)
        zc = z.ravel()[inside]
        assert not np.ma.getmaskarray(zc).any()
        chain = shapely.line_locate_point(line, shapely.points(xs[inside], ys[inside]))
        dz = zc.astype(float) - (z0 + grade / 100 * chain)
        cell = abs(ds.transform.a * ds.transform.e)
        return float(dz[dz > 0].sum() * cell), float(-dz[dz < 0].sum() * cell), line.length


def test_grid_on_the_real_jakarta_dem_matches_rasterio(client):
    path = shared_file(JAKARTA_DEM)
    img = imagery_ingest(source=path, kind="dem").imagery
    with rasterio.open(path) as ds:
        xs, ys = rasterio.warp.transform("EPSG:4326", ds.crs, [LINE[0][0], LINE[-1][0]], [LINE[0][1], LINE[-1][1]])
        z_start, z_end = [float(v[0]) for v in ds.sample(zip(xs, ys))]
    length = GEOD.line_length([p[0] for p in LINE], [p[1] for p in LINE])
    grade = (z_end - z_start) / length * 100
    width = 40.0  # ≥ 4 DEM cells: the DEM's own cells are used
    cut, fill, utm_length = independent_grid(path, LINE, width, z_start, grade)
    body = {"alignment": {"type": "LineString", "coordinates": LINE}, "width_m": width, "side_slope": 0,
            "crossfall_percent": 0, "topsoil_m": 0, "pavement_depth_m": 0,
            "design": {"start_elevation": z_start, "grade_percent": grade}, "method": "grid", "station_interval_m": 25}
    r = client.post(f"/api/imagery/{img.pk}/earthwork/", body, content_type="application/json")
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["crs"] == "EPSG:32748"
    assert out["length_m"] == pytest.approx(utm_length, rel=1e-9)
    assert out["length_m"] == pytest.approx(length, rel=1e-3)  # UTM scale factor near Jakarta
    scale = max(cut, fill)
    assert abs(out["cut_m3"] - cut) <= 0.005 * scale and abs(out["fill_m3"] - fill) <= 0.005 * scale, (out["cut_m3"], cut, out["fill_m3"], fill)
    # the station methods see the same terrain: within 15 % of the grid on this real ground
    for method in ("average_end_area", "prismoidal"):
        other = client.post(f"/api/imagery/{img.pk}/earthwork/", {**body, "method": method}, content_type="application/json").json()
        assert other["net_m3"] == pytest.approx(out["net_m3"], rel=0.15, abs=0.15 * scale)
        assert len(other["stations"]) == int(np.ceil(other["length_m"] / 25)) + 1
        assert all(s["section"] for s in other["stations"])


def test_dem_in_geographic_coordinates_is_resampled_on_a_utm_grid(client, tmp_path):
    # z = 50 m everywhere, 0.0001° cells, EPSG:4326; design 49 m level, vertical walls: cut = W · L · 1 m
    path = tmp_path / "flat_wgs84.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(106.62, -6.17, 0.0001, 0.0001), nodata=-9999) as dst:
        dst.write(np.full((1, 200, 200), 50.0, dtype="float32"))
    img = imagery_ingest(source=path, kind="dem").imagery
    lon2, lat2, _ = GEOD.fwd(106.625, -6.18, 90, 100.0)
    body = {"alignment": {"type": "LineString", "coordinates": [[106.625, -6.18], [lon2, lat2]]}, "width_m": 10,
            "side_slope": 0, "crossfall_percent": 0, "topsoil_m": 0, "pavement_depth_m": 0,
            "design": {"start_elevation": 49.0, "grade_percent": 0}}
    for method, rel in (("average_end_area", 1e-3), ("prismoidal", 1e-3), ("grid", 0.02)):
        r = client.post(f"/api/imagery/{img.pk}/earthwork/", {**body, "method": method}, content_type="application/json")
        assert r.status_code == 200, r.content
        assert r.json()["cut_m3"] == pytest.approx(1000.0, rel=rel), method
        assert r.json()["fill_m3"] == pytest.approx(0.0, abs=1e-6)
    assert r.json()["grid"]["resampled"] is True and r.json()["crs"] == "EPSG:32748"
