"""/imagery/{id}/tiles/{z}/{x}/{y}.png decoded and compared with the source
raster read directly with rasterio at the same place."""
import math

import matplotlib
import mercantile
import numpy as np
import pytest
import rasterio
import rasterio.warp

from tests.conftest import shared_file
from tests.imagery.conftest import BALI, COLORADO, JAKARTA_DEM, LANDSAT, decode_png, write_geotiff

pytestmark = pytest.mark.django_db


def tile_url(img, t, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/imagery/{img.pk}/tiles/{t.z}/{t.x}/{t.y}.png" + (f"?{q}" if q else "")


def tile_pixel_lonlat(t, size=256):
    """lon/lat of every pixel centre of a Web Mercator tile (mercantile)."""
    b = mercantile.xy_bounds(t)
    res_x, res_y = (b.right - b.left) / size, (b.top - b.bottom) / size
    cols, rows = np.meshgrid(np.arange(size), np.arange(size))
    mx = b.left + (cols + 0.5) * res_x
    my = b.top - (rows + 0.5) * res_y
    lon = np.degrees(mx / 6378137.0)
    lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - np.pi / 2)
    return lon, lat


def source_at(path, lon, lat):
    """Source values (bands, h, w) and validity (h, w) at lon/lat, nearest cell,
    located with GDAL's transformer (rasterio.warp.transform)."""
    with rasterio.open(path) as src:
        xs, ys = rasterio.warp.transform("EPSG:4326", src.crs, lon.ravel().tolist(), lat.ravel().tolist())
        rows, cols = rasterio.transform.rowcol(src.transform, xs, ys)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (cols >= 0) & (rows < src.height) & (cols < src.width)
        data = src.read()
        mask = src.dataset_mask()
        r, c = np.clip(rows, 0, src.height - 1), np.clip(cols, 0, src.width - 1)
        values = data[:, r, c].reshape(src.count, *lon.shape)
        valid = (inside & (mask[r, c] > 0)).reshape(lon.shape)
    return values, valid


def west_edge_of_data(path):
    """lon/lat of the westernmost valid pixel (rasterio mask), middle of its column."""
    with rasterio.open(path) as src:
        mask = src.dataset_mask() > 0
        col = int(np.flatnonzero(mask.any(axis=0))[0]) + 2
        row = int(np.median(np.flatnonzero(mask[:, col])))
        x, y = src.xy(row, col)
        lon, lat = rasterio.warp.transform(src.crs, "EPSG:4326", [x], [y])
    return lon[0], lat[0]


def zoom_for(path):
    """Zoom whose pixels are at least as fine as the source's (closed form)."""
    with rasterio.open(path) as src:
        w, s, e, n = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        gsd = abs(src.transform.a) if src.crs.is_projected else abs(src.transform.a) * 111_320
    lat = (s + n) / 2
    z = math.ceil(math.log2(2 * math.pi * 6378137 * math.cos(math.radians(lat)) / (256 * gsd)))
    return z, (w, s, e, n)


@pytest.mark.parametrize("rel", [BALI, COLORADO, LANDSAT])
@pytest.mark.parametrize("where", ["centre", "west_edge_of_data"])
def test_rgb_tile_pixels_match_the_source(client, ingest, rel, where):
    img = ingest(rel)
    z, (w, s, e, n) = zoom_for(shared_file(rel))
    lon, lat = ((w + e) / 2, (s + n) / 2) if where == "centre" else west_edge_of_data(shared_file(rel))
    t = mercantile.tile(lon, lat, z)
    r = client.get(tile_url(img, t))
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    png = decode_png(r.content)
    assert png.shape == (4, 256, 256)  # RGB + alpha
    plon, plat = tile_pixel_lonlat(t)
    values, valid = source_at(shared_file(rel), plon, plat)
    opaque = png[3] == 255
    # transparency where the source has no data (outside, nodata, alpha 0)
    assert (opaque == valid).mean() > 0.98
    if where == "west_edge_of_data":
        assert (~opaque).sum() > 1000, "a tile on the edge of the data must show transparency"
    assert opaque.sum() > 1000
    both = opaque & valid
    for band in range(3):
        same = png[band][both] == values[band][both]
        assert same.mean() > 0.95, (band, same.mean())


def test_dem_tile_uses_the_terrain_colour_ramp_over_the_dem_range(client, ingest):
    img = ingest(JAKARTA_DEM)
    with rasterio.open(shared_file(JAKARTA_DEM)) as src:
        data = src.read(1, masked=True)
        lo, hi = float(data.min()), float(data.max())
    z, (w, s, e, n) = zoom_for(shared_file(JAKARTA_DEM))
    t = mercantile.tile((w + e) / 2, (s + n) / 2, z)
    png = decode_png(client.get(tile_url(img, t)).content)
    assert png.shape == (4, 256, 256)
    plon, plat = tile_pixel_lonlat(t)
    values, valid = source_at(shared_file(JAKARTA_DEM), plon, plat)
    opaque = png[3] == 255
    assert (opaque == valid).mean() > 0.98
    idx = np.floor((values[0].astype(float) - lo) / (hi - lo) * 255).clip(0, 255)
    expected = matplotlib.colormaps["terrain"](idx / 255.0)[..., :3] * 255
    diff = np.abs(np.moveaxis(png[:3], 0, -1).astype(float) - expected)
    close = (diff <= 3).all(axis=-1)[opaque & valid]
    assert close.mean() > 0.95


def test_dem_rescale_and_colormap_name(client, ingest):
    img = ingest(JAKARTA_DEM)
    z, (w, s, e, n) = zoom_for(shared_file(JAKARTA_DEM))
    t = mercantile.tile((w + e) / 2, (s + n) / 2, z)
    png = decode_png(client.get(tile_url(img, t, rescale="20,30", colormap_name="viridis")).content)
    values, valid = source_at(shared_file(JAKARTA_DEM), *tile_pixel_lonlat(t))
    idx = np.floor((values[0].astype(float).clip(20, 30) - 20) / 10 * 255)
    expected = matplotlib.colormaps["viridis"](idx / 255.0)[..., :3] * 255
    close = (np.abs(np.moveaxis(png[:3], 0, -1) - expected) <= 3).all(axis=-1)[(png[3] == 255) & valid]
    assert close.mean() > 0.95
    assert client.get(tile_url(img, t, colormap_name="nope")).status_code == 400
    assert client.get(tile_url(img, t, rescale="30,20")).status_code == 400


@pytest.mark.parametrize("grade", [0.5, -0.5, 0.0])
def test_hillshade_of_a_plane_matches_lambert_shading(client, ingest, tmp_path, grade):
    """z = g·(x − x0) in UTM 48S; light from azimuth 315°, altitude 45°.
    Lambert: I = n·L with n = (−g, 0, 1)/√(1+g²), L = (cos45·sin315, cos45·cos315, sin45);
    grey = 255·(I + 1)/2."""
    from imagery.services import imagery_ingest

    x0, y0, cell, size = 700_000.0, 9_306_000.0, 10.0, 400
    cols = np.arange(size) * cell + cell / 2
    plane = np.tile(100.0 + grade * cols, (size, 1)).astype("float32")
    path = write_geotiff(tmp_path / f"plane_{grade}.tif", plane, transform=rasterio.transform.from_origin(x0, y0, cell, cell))
    img = imagery_ingest(source=path, kind="dem").imagery
    with rasterio.open(path) as src:
        w, s, e, n = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    t = mercantile.tile((w + e) / 2, (s + n) / 2, 15)
    r = client.get(tile_url(img, t, hillshade=1))
    assert r.status_code == 200
    png = decode_png(r.content)
    assert png.shape == (2, 256, 256)  # grey + alpha
    light = np.array([math.cos(math.radians(45)) * math.sin(math.radians(315)),
                      math.cos(math.radians(45)) * math.cos(math.radians(315)), math.sin(math.radians(45))])
    normal = np.array([-grade, 0.0, 1.0]) / math.sqrt(1 + grade**2)
    expected = 255 * (normal @ light + 1) / 2
    inner = png[0][8:-8, 8:-8][png[1][8:-8, 8:-8] == 255]
    assert inner.size > 10_000
    assert np.median(inner) == pytest.approx(expected, abs=3)


def test_tile_outside_the_image_is_404_json(client, ingest):
    img = ingest(COLORADO)
    r = client.get(tile_url(img, mercantile.tile(106.8, -6.2, 14)))
    assert r.status_code == 404
    assert "outside" in r.json()["detail"] and set(r.json()) == {"detail", "errors"} and "tile" in r.json()["errors"]
    assert client.get(f"/imagery/{img.pk}/tiles/3/9/1.png").status_code == 404  # x beyond 2^z
    assert client.get(f"/imagery/{img.pk + 999}/tiles/3/1/1.png").status_code == 404


def test_low_zoom_tiles_read_overviews(client, ingest):
    img = ingest(LANDSAT)
    t = mercantile.tile(-77.8, 24.5, 6)
    png = decode_png(client.get(tile_url(img, t)).content)
    assert (png[3] == 255).sum() > 0 and (png[3] == 0).sum() > 0


def test_cache_headers_and_revalidation(client, ingest):
    img = ingest(COLORADO)
    z, (w, s, e, n) = zoom_for(shared_file(COLORADO))
    url = tile_url(img, mercantile.tile((w + e) / 2, (s + n) / 2, z))
    r = client.get(url)
    assert "max-age=" in r["Cache-Control"] and r["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=r["ETag"])
    assert again.status_code == 304 and again.content == b""
    other = client.get(url + "?bidx=3")
    assert other["ETag"] != r["ETag"]


def test_tile_options(client, ingest):
    img = ingest(BALI)
    z, (w, s, e, n) = zoom_for(shared_file(BALI))
    t = mercantile.tile((w + e) / 2, (s + n) / 2, z)
    assert decode_png(client.get(tile_url(img, t, tilesize=512)).content).shape == (4, 512, 512)
    grey = decode_png(client.get(tile_url(img, t, bidx=2)).content)
    assert grey.shape == (2, 256, 256)  # one band + alpha
    rgb = decode_png(client.get(tile_url(img, t)).content)
    np.testing.assert_array_equal(grey[0][grey[1] == 255], rgb[1][grey[1] == 255])
    swapped = decode_png(client.get(tile_url(img, t, bidx="3,2,1")).content)
    np.testing.assert_array_equal(swapped[0], rgb[2])
    for bad in ({"bidx": "1,2,3,4"}, {"bidx": "5"}, {"bidx": "x"}, {"tilesize": 300}, {"hillshade": 1}, {"rescale": "a,b"}):
        r = client.get(tile_url(img, t, **bad))
        assert r.status_code == 400, bad
        assert r.json()["detail"] and list(r.json()["errors"])


def test_tilejson(client, ingest):
    img = ingest(BALI)
    r = client.get(f"/imagery/{img.pk}/tilejson.json?bidx=1")
    assert r.status_code == 200
    tj = r.json()
    with rasterio.open(shared_file(BALI)) as src:
        expected = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
    assert tj["bounds"] == pytest.approx(list(expected), abs=1e-5)
    assert tj["tiles"][0].endswith("/{z}/{x}/{y}.png?bidx=1") and f"/imagery/{img.pk}/tiles/" in tj["tiles"][0]
    assert 0 <= tj["minzoom"] <= tj["maxzoom"] <= 24 and tj["attribution"] == img.attribution
    assert client.get(f"/imagery/{img.pk}/tilejson.json?bidx=9").status_code == 400


def test_16_bit_multiband_scene_is_stretched_by_its_percentiles(client, tmp_path):
    """4-band uint16 (B, G, R, NIR-like) without alpha: the first three bands,
    each stretched 2–98 % (numpy percentiles of the source), every pixel opaque."""
    from imagery.services import imagery_ingest

    rng = np.random.default_rng(11)
    bands = np.stack([rng.integers(500 * (b + 1), 3000 * (b + 1), (300, 300)) for b in range(4)]).astype("uint16")
    path = write_geotiff(tmp_path / "s2.tif", bands, crs="EPSG:32748",
                         transform=rasterio.transform.from_origin(700000, 9306000, 10, 10))
    img = imagery_ingest(source=path, kind="satellite").imagery
    z, (w, s, e, n) = zoom_for(path)
    t = mercantile.tile((w + e) / 2, (s + n) / 2, z)
    r = client.get(tile_url(img, t))
    assert r.status_code == 200
    png = decode_png(r.content)
    values, valid = source_at(path, *tile_pixel_lonlat(t))
    assert png.shape == (4, 256, 256) and ((png[3] == 255) == valid).mean() > 0.98 and valid.sum() > 10_000
    both = valid & (png[3] == 255)
    for b in range(3):
        lo, hi = np.percentile(bands[b], [2, 98])
        expected = np.clip((values[b].astype(float) - lo) / (hi - lo), 0, 1) * 255
        assert np.median(np.abs(png[b].astype(float) - expected)[both]) <= 3
