"""Bulk reads (issue 20): keyset paging, cheap counts, property selection,
FlatGeobuf and the HTML how-to pages, on /ogc/ and /api/. Expected ids,
counts and attributes come from the rows the test wrote (ORM)."""
import json
import subprocess
from urllib.parse import parse_qs, urlsplit

import pyogrio
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from layers import selectors
from layers.models import StreetLight
from tests.layers.api_support import client_for, make_city, user_in

pytestmark = pytest.mark.django_db
N = 57


@pytest.fixture
def city(db):
    return make_city(n_lights=N)


@pytest.fixture
def analyst(db):
    return client_for(user_in("analyst"))


def get_json(client, url, status=200, **headers):
    r = client.get(url, **headers)
    assert r.status_code == status, r.content[:500]
    return json.loads(r.content)


def next_link(doc):
    links = [link["href"] for link in doc.get("links", []) if link["rel"] == "next"]
    return links[0] if links else doc.get("next")


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# ---------------------------------------------------------------- keyset paging
@pytest.mark.parametrize("start, sizes", [
    # /ogc/: each next page doubles, up to 10,000 (GDAL 3.6 starts at limit=10 and follows next links as given)
    ("/ogc/collections/pju/items?limit=20", [20, 37]),
    ("/api/pju/?limit=20", [20, 20, 17]),  # /api/ keeps the page size
])
def test_next_links_carry_the_last_id_and_walk_every_feature_once(client, city, start, sizes):
    url, seen, pages = start, [], []
    while url:
        doc = get_json(client, url)
        ids = [f["id"] for f in doc["features"]]
        seen += ids
        pages.append(len(ids))
        url = next_link(doc)
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["after"] == [str(ids[-1])] and "offset" not in query  # keyset, not offset
            url = local(url)
    assert seen == sorted(StreetLight.objects.values_list("id", flat=True))
    assert pages == sizes  # the short last page has no next link


def test_ogc_next_pages_grow_to_the_maximum(client, city):
    doc = get_json(client, "/ogc/collections/pju/items?limit=10")
    assert parse_qs(urlsplit(next_link(doc)).query)["limit"] == ["20"]
    doc = get_json(client, "/ogc/collections/pju/items?limit=10000&after=0")
    assert next_link(doc) is None  # 57 < 10,000
    ids = sorted(StreetLight.objects.values_list("id", flat=True))
    doc = get_json(client, f"/ogc/collections/pju/items?limit=6000&after={ids[0] - 1}")
    assert doc["numberReturned"] == N


def test_after_and_offset_both_accepted_and_combine(client, city):
    ids = sorted(StreetLight.objects.values_list("id", flat=True))
    doc = get_json(client, f"/ogc/collections/pju/items?after={ids[9]}&limit=5")
    assert [f["id"] for f in doc["features"]] == ids[10:15]
    doc = get_json(client, "/ogc/collections/pju/items?offset=10&limit=5")
    assert [f["id"] for f in doc["features"]] == ids[10:15]
    assert {link["rel"] for link in doc["links"]} >= {"next", "prev"}
    doc = get_json(client, f"/api/pju/?after={ids[9]}&offset=5&limit=5")
    assert [f["id"] for f in doc["features"]] == ids[15:20]
    # with a filter: ids after the cursor that match it
    off = sorted(StreetLight.objects.filter(status="off").values_list("id", flat=True))
    doc = get_json(client, f"/api/pju/?status=off&after={off[2]}&limit=3")
    assert [f["id"] for f in doc["features"]] == off[3:6] and doc["count"] == len(off)


@pytest.mark.parametrize("url", ["/ogc/collections/pju/items?after=abc", "/api/pju/?after=-1", "/api/pju/?after=1.5"])
def test_bad_after_is_a_400_naming_it(client, city, url):
    doc = get_json(client, url, status=400)
    assert "after" in doc["errors"]


# ---------------------------------------------------------------- counts
def test_filtered_count_is_exact(client, city):
    working = StreetLight.objects.filter(status="working").count()
    doc = get_json(client, "/ogc/collections/pju/items?status=working&limit=3")
    assert doc["numberMatched"] == working and doc["numberReturned"] == 3
    doc = get_json(client, "/api/pju/?status=working&limit=3")
    assert doc["count"] == working and doc["count_exact"] is True


def test_unfiltered_large_layer_gets_the_planner_estimate_without_counting(client, city, monkeypatch):
    """A whole layer above EXACT_COUNT_BELOW is not counted on every page:
    the number comes from the table statistics (here freshly analysed, so
    the estimate is the row count)."""
    monkeypatch.setattr(selectors, "EXACT_COUNT_BELOW", 10)  # our 57 rows count as "large"
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {StreetLight._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        doc = get_json(client, "/api/pju/?limit=5")
        ogc = get_json(client, "/ogc/collections/pju/items?limit=5")
    assert not [q for q in queries.captured_queries if 'COUNT(*) AS "__count"' in q["sql"]]
    assert abs(doc["count"] - N) <= 3 and doc["count_exact"] is False
    assert abs(ogc["numberMatched"] - N) <= 3
    assert next_link(doc) and next_link(ogc)


# ---------------------------------------------------------------- property selection
def test_properties_on_ogc_and_fields_on_api_select_properties(client, city):
    doc = get_json(client, "/ogc/collections/pju/items?properties=status,kecamatan&limit=5")
    for f in doc["features"]:
        assert set(f["properties"]) == {"status", "kecamatan"}
        assert f["properties"]["status"] == StreetLight.objects.get(pk=f["id"]).status
        assert f["geometry"]["type"] == "Point"
    doc = get_json(client, "/api/pju/?fields=code&limit=5")
    assert [f["properties"] for f in doc["features"]] == [
        {"code": c} for c in StreetLight.objects.order_by("id").values_list("code", flat=True)[:5]]
    doc = get_json(client, "/api/pju/?fields=&limit=2")
    assert [f["properties"] for f in doc["features"]] == [{}, {}]
    json.dumps(doc)  # still valid JSON


@pytest.mark.parametrize("url, param", [
    ("/ogc/collections/pju/items?properties=status,nope", "properties"),
    ("/ogc/collections/roads/items?properties=status", "properties"),  # a PJU property, not a road one
    ("/api/pju/?fields=geom_3857", "fields"),
])
def test_unknown_property_is_a_400(client, city, url, param):
    doc = get_json(client, url + "&lang=en", status=400)  # "known:" is the English text (Bahasa Indonesia by default)
    assert param in doc["errors"] and "known:" in doc["errors"][param][0]


# ---------------------------------------------------------------- FlatGeobuf
# GDAL writes the file from its own database connection: these tests commit their rows.
fgb_db = pytest.mark.django_db(transaction=True)


def _fgb(client, url, tmp_path):
    r = client.get(url)
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"] == "application/flatgeobuf"
    path = tmp_path / "out.fgb"
    path.write_bytes(b"".join(r.streaming_content))
    return path


@pytest.mark.parametrize("url", ["/ogc/collections/pju/items?f=fgb", "/api/pju/?format=fgb"])
def test_flatgeobuf_needs_login(client, city, url):
    r = client.get(url)
    assert r.status_code in (401, 403) and "detail" in json.loads(r.content)


@pytest.mark.parametrize("url", ["/ogc/collections/pju/items?f=fgb", "/api/pju/?format=fgb"])
@fgb_db
def test_flatgeobuf_opens_in_ogrinfo_and_geopandas_with_the_geojson_features(analyst, city, url, tmp_path):
    path = _fgb(analyst, url, tmp_path)
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"Feature Count: {N}" in out.stdout and "Geometry: Point" in out.stdout
    # the packed R-tree: a spatial filter answers with exactly the features in the box
    box = (106.62, -6.21, 106.64, -6.19)
    spat = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-spat", *map(str, box), "-fields=YES", str(path)],
                          capture_output=True, text=True, timeout=60)
    in_box = {p.pk for p in StreetLight.objects.all() if box[0] <= p.geom.x <= box[2] and box[1] <= p.geom.y <= box[3]}
    assert spat.stdout.count("OGRFeature(") == len(in_box) > 0

    import geopandas as gpd

    fgb = gpd.read_file(path).set_index("id").sort_index()
    geojson = get_json(analyst, "/api/pju/?limit=1000")["features"]
    assert list(fgb.index) == [f["id"] for f in geojson]
    assert fgb.crs.to_epsg() == 4326
    for f in geojson:
        row = fgb.loc[f["id"]]
        # GeoJSON keeps 7 decimals (~1 cm); FlatGeobuf the stored doubles
        assert (row.geometry.x, row.geometry.y) == pytest.approx(f["geometry"]["coordinates"], abs=6e-8)
        stored = StreetLight.objects.get(pk=f["id"]).geom
        assert (row.geometry.x, row.geometry.y) == (stored.x, stored.y)
        for key in ("code", "status", "lamp_type", "source", "kecamatan", "kelurahan", "version"):
            assert row[key] == f["properties"][key] or (row[key] is None and f["properties"][key] is None)


@fgb_db
def test_flatgeobuf_filters_properties_and_empty_result(analyst, city, tmp_path):
    path = _fgb(analyst, "/api/pju/?format=fgb&status=off&fields=status,code", tmp_path)
    df = pyogrio.read_dataframe(path)
    assert sorted(df["id"]) == sorted(StreetLight.objects.filter(status="off").values_list("id", flat=True))
    assert set(df.columns) == {"id", "status", "code", "geometry"} and set(df["status"]) == {"off"}
    empty = _fgb(analyst, "/ogc/collections/roads/items?f=fgb&bbox=0,0,0.001,0.001", tmp_path)
    assert len(pyogrio.read_dataframe(empty)) == 0


@fgb_db
def test_flatgeobuf_pages_with_a_link_header(analyst, city, tmp_path):
    ids = sorted(StreetLight.objects.values_list("id", flat=True))
    r = analyst.get("/api/pju/?format=fgb&limit=50")
    assert r.status_code == 200
    nxt = r["Link"].split(">")[0].lstrip("<")
    assert parse_qs(urlsplit(nxt).query)["after"] == [str(ids[49])]
    path = _fgb(analyst, local(nxt), tmp_path)
    assert sorted(pyogrio.read_dataframe(path)["id"]) == ids[50:]


# ---------------------------------------------------------------- HTML
@pytest.mark.parametrize("url", ["/ogc/", "/ogc/?f=html", "/ogc/collections", "/ogc/collections/pju"])
def test_browsers_get_a_how_to_page(client, city, url):
    r = client.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert "http://testserver/ogc/" in html and "OAPIF:http://testserver/ogc/" in html
    assert "Only request features overlapping the view extent" in html
    assert "GDAL_HTTP_HEADERS" in html


def test_how_to_page_shows_the_logged_in_users_token(client, city):
    from rest_framework.authtoken.models import Token

    user = user_in("analyst", name="ana")
    token = Token.objects.create(user=user)
    client.force_login(user)
    html = client.get("/ogc/collections/pju?f=html").content.decode()
    assert token.key in html and "typename='pju'" in html


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/geo+json, application/json", ""])
def test_machine_clients_still_get_json(client, city, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    for url in ("/ogc/", "/ogc/collections", "/ogc/collections/pju"):
        assert "links" in get_json(client, url, **headers)


def test_unknown_f_is_a_400_and_api_docs_link_to_the_how_to(client, city):
    assert "f" in get_json(client, "/ogc/?f=xml", status=400)["errors"]
    assert "f" in get_json(client, "/ogc/collections/pju/items?f=html", status=400)["errors"]
    r = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert "/ogc/?f=html" in json.loads(r.content)["info"]["description"]


def test_basic_auth_reads_ogc_when_public_read_is_off(client, city, settings):
    """QGIS 3.22 can send a user name and password but no token header."""
    import base64

    settings.PUBLIC_READ = False
    user_in("analyst", name="qgis")
    assert client.get("/ogc/collections/pju/items?limit=1").status_code in (401, 403)
    auth = "Basic " + base64.b64encode(b"qgis:pw").decode()
    doc = get_json(client, "/ogc/collections/pju/items?limit=1", HTTP_AUTHORIZATION=auth)
    assert doc["numberReturned"] == 1
