"""geo_platform.client against a live test server (real PostGIS): paging,
bbox, filters, CRS, the direct-database path and errors as exceptions.
Expected values come from the rows the tests wrote (ORM) and from shapely /
pyproj, never from the client or the API."""
import math
import uuid

import pytest
import requests
import shapely
from django.contrib.auth.models import User
from pyproj import Geod
from rest_framework.authtoken.models import Token

from geo_platform.client import (
    AuthenticationError, BadRequest, Client, Conflict, NotFound, PermissionDenied, PlatformError,
)
from geo_platform.client.core import sqlalchemy_url
from layers.models import RoadSegment, StreetLight
from tests.layers.api_support import make_city
from tests.notebooks.support import database_url

pytestmark = pytest.mark.django_db(transaction=True)
GEOD = Geod(ellps="WGS84")
N_LIGHTS = 23


class CountingSession(requests.Session):
    def __init__(self):
        super().__init__()
        self.urls = []

    def request(self, method, url, *args, **kwargs):
        self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def city(live_server, settings):
    settings.BASEMAP_URL = ""
    return make_city(n_lights=N_LIGHTS)


@pytest.fixture
def gp(city, live_server):
    url = live_server.url.replace("localhost", "127.0.0.1")  # another name for the same server
    return Client(url, token="", database_url=database_url(), session=CountingSession())


def stored_lights(**filters):
    return {p.pk: p for p in StreetLight.objects.filter(**filters)}


def test_paging_follows_next_across_pages_and_keeps_every_feature(gp):
    gp.page_size = 5
    pju = gp.pju()
    # the server builds `next` from its Host header (localhost); we stay on our own origin
    assert all(u.startswith(gp.url) for u in gp.session.urls[1:])
    stored = stored_lights()
    assert sorted(pju.index) == sorted(stored) and pju.index.is_unique
    assert pju.attrs["count"] == N_LIGHTS
    assert len(gp.session.urls) == math.ceil(N_LIGHTS / 5)  # 5 pages of 5, 5, 5, 5, 3
    assert all(pju.loc[pk, "code"] == p.code and pju.loc[pk, "status"] == p.status for pk, p in stored.items())


def test_max_features_stops_early(gp):
    gp.page_size = 4
    first = gp.pju(max_features=6)
    assert len(first) == 6 and len(gp.session.urls) == 2
    assert set(first.index) <= set(stored_lights())


def test_crs_is_wgs84_and_coordinates_are_the_stored_ones(gp, city):
    pju = gp.pju()
    assert pju.crs.to_epsg() == 4326
    for pk, p in stored_lights().items():
        assert (pju.geometry[pk].x, pju.geometry[pk].y) == pytest.approx((p.geom.x, p.geom.y), abs=1e-6)
    roads = gp.roads()
    assert roads.crs.to_epsg() == 4326 and set(roads.geom_type) == {"LineString"}
    # metres after to_crs(UTM) agree with pyproj's geodesic on the stored line
    utm = roads.to_crs(roads.estimate_utm_crs())
    for road in RoadSegment.objects.all():
        lons, lats = zip(*road.geom.coords)
        assert utm.length[road.pk] == pytest.approx(GEOD.line_length(lons, lats), rel=1e-3)
    areas = gp.areas()
    assert areas.crs.to_epsg() == 4326 and set(areas["code"]) == {"99.71.01", "99.71.02"}


def test_bbox_returns_the_features_intersecting_it(gp):
    box = (106.60, -6.20, 106.625, -6.17)
    expected = {pk for pk, p in stored_lights().items() if shapely.box(*box).intersects(shapely.Point(p.geom.x, p.geom.y))}
    assert 0 < len(expected) < N_LIGHTS
    assert set(gp.pju(bbox=box).index) == expected
    assert set(gp.pju(bbox=",".join(map(str, box))).index) == expected  # a string works too
    assert set(gp.pju(bbox=shapely.box(*box)).index) == expected  # and anything with .bounds
    # roads: the box cuts Jl. Utama (y = -6.20) and Jl. Kecil, not the Gang
    names = set(gp.roads(bbox=(106.60, -6.215, 106.62, -6.19))["name"])
    assert names == {"Jl. Utama", "Jl. Kecil"}


def test_filters_single_list_and_area(gp, city):
    assert set(gp.pju(status="off").index) == set(stored_lights(status="off"))
    both = gp.pju(status=["off", "damaged"])
    assert set(both.index) == set(stored_lights(status__in=["off", "damaged"]))
    assert set(gp.pju(area="99.71.01").index) == set(stored_lights(kecamatan=city["west"]))
    assert set(gp.roads(condition="heavy_damage")["name"]) == {"Jl. Kecil"}
    assert set(gp.roads(source="other")["name"]) == {"Gang"}


def test_empty_result_is_an_empty_geodataframe_with_a_crs(gp):
    empty = gp.pju(bbox=(10.0, 10.0, 10.1, 10.1))
    assert len(empty) == 0 and empty.crs.to_epsg() == 4326 and empty.attrs["count"] == 0


@pytest.mark.parametrize("kwargs, field", [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": (106.7, -6.1, 106.6, -6.2)}, "bbox"),
    ({"status": "broken"}, "status"),
    ({"area": "00.00.00"}, "area"),
    ({"offset": -1}, "offset"),
])
def test_bad_parameters_raise_bad_request_naming_the_parameter(gp, kwargs, field):
    with pytest.raises(BadRequest) as info:
        gp.pju(**kwargs)
    err = info.value
    assert err.status == 400 and field in err.errors and err.detail
    assert field in str(err)


def test_not_found_unknown_layer_and_unreachable_server(gp, live_server):
    missing = max(stored_lights()) + 1000
    with pytest.raises(NotFound) as info:
        gp.feature("pju", missing)
    assert info.value.status == 404 and str(missing) in info.value.detail
    with pytest.raises(ValueError, match="unknown layer"):
        gp.layer("lampu")
    with pytest.raises(ValueError, match="unknown needs layer"):
        gp.needs("dark-roads")
    dead = Client("http://127.0.0.1:9", timeout=5)  # discard port: nothing listens
    with pytest.raises(PlatformError) as info:
        dead.pju()
    assert info.value.status is None and "cannot reach" in str(info.value)


def test_tokens_authentication_and_permission_errors(gp, live_server):
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.61, -6.19]},
               "properties": {"status": "working", "client_id": str(uuid.uuid4())}}
    with pytest.raises((AuthenticationError, PermissionDenied)) as info:
        gp.post("api/pju/", feature)  # anonymous
    assert info.value.status in (401, 403)
    # DRF answers a bad token with 401, or 403 when session auth comes first: either way a clear exception
    with pytest.raises((AuthenticationError, PermissionDenied)) as info:
        Client(live_server.url, token="not-a-token").pju()
    assert info.value.status in (401, 403) and "token" in info.value.detail.lower()
    plain = User.objects.create_user("tanpa-grup", password="pw-123456")
    with pytest.raises(PermissionDenied) as info:
        Client(live_server.url, token=Token.objects.create(user=plain).key).post("api/pju/", feature)
    assert info.value.status == 403 and "layers.add_streetlight" in info.value.detail  # names the permission (any language)
    assert StreetLight.objects.count() == N_LIGHTS  # nothing written


def test_stale_version_is_a_conflict_with_the_current_feature(gp, live_server):
    admin = User.objects.create_superuser("admin-klien", "a@example.org", "pw")
    client = Client(live_server.url, token=Token.objects.create(user=admin).key)
    pk = min(stored_lights())
    stored = StreetLight.objects.get(pk=pk)
    with pytest.raises(Conflict) as info:
        client.request("PATCH", f"api/pju/{pk}/", json={"properties": {"status": "off", "version": stored.version + 5}})
    assert info.value.status == 409 and info.value.body["current"]["id"] == pk
    assert StreetLight.objects.get(pk=pk).status == stored.status


def test_direct_database_path_matches_the_api(gp, live_server, monkeypatch):
    api = gp.pju()
    db = gp.db_layer("pju", columns=["code", "status"])
    assert db.crs.to_epsg() == 4326 and sorted(db.index) == sorted(api.index)
    assert (db.loc[api.index, "status"] == api["status"]).all()
    off = gp.read_postgis("SELECT id, geom FROM layers_streetlight WHERE status = :s", {"s": "off"}, index_col="id")
    assert set(off.index) == set(stored_lights(status="off"))
    with pytest.raises(ValueError, match="unknown columns"):
        gp.db_layer("pju", columns=["status; DROP TABLE x"])
    assert sqlalchemy_url("postgis://u:p@h:5432/d") == "postgresql+psycopg2://u:p@h:5432/d"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(PlatformError, match="DATABASE_URL"):
        Client(live_server.url).read_postgis("SELECT 1")


def test_estimate_of_a_drawn_line_uses_ground_metres(gp):
    from estimates import demo as estimates_demo

    estimates_demo.load()  # templates and prices (an earlier transactional test may have flushed them)
    line = [(106.61, -6.19), (106.62, -6.195)]
    est = gp.estimate(line, template="FFF1", width_m=7)
    length = GEOD.line_length([p[0] for p in line], [p[1] for p in line])
    assert est["length_m"] == pytest.approx(length, rel=1e-6)
    assert est["area_m2"] == pytest.approx(7 * length, rel=1e-6)
    with pytest.raises(ValueError):
        gp.estimate(line, road_ids=[1], template="FFF1")
    with pytest.raises(BadRequest) as info:
        gp.estimate(line, template="NO-SUCH", width_m=7)
    assert "template" in info.value.errors


def test_needs_layers_and_summary_as_tables(gp, city):
    from needs.models import LightingGap, ProposedPJU
    from needs.services import lighting_needs_compute

    lighting_needs_compute()
    gaps = gp.needs("lighting-gaps")
    proposed = gp.needs("proposed_pju")  # underscores work too
    assert set(gaps.index) == set(LightingGap.objects.values_list("id", flat=True)) and len(gaps) > 0
    assert set(proposed.index) == set(ProposedPJU.objects.values_list("id", flat=True))
    assert gaps.crs.to_epsg() == 4326 and set(gaps.geom_type) == {"LineString"}
    box = (106.60, -6.22, 106.63, -6.17)
    inside = {g.pk for g in LightingGap.objects.all() if shapely.box(*box).intersects(shapely.from_wkt(g.geom.wkt))}
    assert set(gp.needs("lighting-gaps", bbox=box).index) == inside
    broken = gp.needs("broken-pju")
    assert set(broken.index) == set(stored_lights(status__in=["off", "damaged"]))
    summary = gp.needs_summary("kecamatan")
    for key in ("west", "east"):
        area = city[key]
        assert summary.loc[area.code, "pju_count"] == StreetLight.objects.filter(kecamatan=area).count()
    assert {"road_km_good", "road_km_heavy_damage", "cost_proposed_pju"} <= set(summary.columns)
    with pytest.raises(BadRequest) as info:
        gp.needs_summary("provinsi_x")
    assert "level" in info.value.errors


def test_imagery_footprints_and_profile_match_rasterio(gp, settings, tmp_path):
    import rasterio
    from pyproj import Transformer

    from imagery.services import imagery_ingest
    from tests.notebooks.support import DEM_FILE

    settings.IMAGERY_ROOT = tmp_path / "imagery"
    dem = imagery_ingest(source=DEM_FILE, kind="dem", name="DEM uji").imagery
    fp = gp.imagery()
    assert list(fp.index) == [dem.pk] and fp.crs.to_epsg() == 4326 and fp.loc[dem.pk, "kind"] == "dem"
    assert len(gp.imagery(bbox=(0.0, 0.0, 1.0, 1.0))) == 0
    with rasterio.open(DEM_FILE) as ds:
        to_geo = Transformer.from_crs(ds.crs.to_wkt(), "EPSG:4326", always_xy=True)
        to_utm = Transformer.from_crs("EPSG:4326", ds.crs.to_wkt(), always_xy=True)
        b = ds.bounds
        a = to_geo.transform(b.left + 0.3 * (b.right - b.left), b.bottom + 0.3 * (b.top - b.bottom))
        z = to_geo.transform(b.left + 0.6 * (b.right - b.left), b.bottom + 0.7 * (b.top - b.bottom))
        prof = gp.profile(dem.pk, [a, z], interval_m=50)
        assert prof.attrs["length_m"] == pytest.approx(GEOD.line_length([a[0], z[0]], [a[1], z[1]]), rel=1e-9)
        assert prof.crs.to_epsg() == 4326 and prof["distance_m"].diff().dropna().max() <= 50 + 1e-6
        band = ds.read(1)
        for row in prof.itertuples():
            r, c = ds.index(*to_utm.transform(row.lon, row.lat))
            value = band[r, c]
            if value == ds.nodata:
                assert row.elevation_m is None or math.isnan(row.elevation_m)
            else:
                assert row.elevation_m == pytest.approx(float(value), abs=1e-6)
    with pytest.raises(NotFound):
        gp.profile(dem.pk + 99, [a, z])
