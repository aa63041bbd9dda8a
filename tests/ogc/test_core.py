"""ogc/core.py: the OGC documents as pure functions over a provider (no
framework), and the views that adapt them. The pure tests use a small
static provider written here (a second real provider of the contract, not a
stand-in for the database); the HTTP tests read the demo city through the
PostGIS provider and check what the documents advertise actually works."""
import ast
import json
import sys
from pathlib import Path

import pytest

from layers.models import StreetLight
from ogc import core
from tests.layers.api_support import make_city

ROOT = Path(__file__).resolve().parents[2]
N = 57


class StaticProvider:
    """Two collections described in code: what a file- or service-backed
    provider would return."""

    def __init__(self):
        self.described = {
            "lamps": core.Collection(
                id="lamps", title="Lamps", description="", extent=(1.0, 2.0, 3.0, 4.0), geometry_type="Point",
                properties=(core.Property("status", {"type": "string", "enum": ["on", "off"]}, "status"),
                            core.Property("watts", {"type": "number"})),
                filters=("status",), extra_filters=(core.Property("zone", {"type": "string"}),)),
            "roads": core.Collection(id="roads", title="Roads", description="Road lines", extent=None,
                                     geometry_type="LineString", properties=()),
        }

    def collection_ids(self):
        return tuple(self.described)

    def collection(self, collection_id, *, with_extent=True):
        return self.described[collection_id]


BASE = "https://gis.example.org/ogc/"


def test_core_imports_nothing_but_the_standard_library():
    tree = ast.parse((ROOT / "ogc/core.py").read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert modules and modules <= set(sys.stdlib_module_names) | {"__future__"}, modules


def test_documents_from_a_static_provider():
    provider = StaticProvider()
    landing = core.landing(BASE, docs_url="https://gis.example.org/api/docs/")
    assert {(ln["rel"], ln["href"]) for ln in landing["links"]} >= {
        ("service-desc", BASE + "api"), ("conformance", BASE + "conformance"), ("data", BASE + "collections")}
    colls = core.collections(BASE, provider)["collections"]
    assert [c["id"] for c in colls] == ["lamps", "roads"]
    assert colls[0]["extent"]["spatial"]["bbox"] == [[1.0, 2.0, 3.0, 4.0]]
    assert colls[1]["extent"]["spatial"]["bbox"] == [[-180.0, -90.0, 180.0, 90.0]]  # unknown extent = the world
    assert colls[1]["description"] == "Road lines" and colls[0]["description"] == "Lamps"
    rels = {ln["rel"]: ln["href"] for ln in colls[0]["links"]}
    assert rels[core.REL_QUERYABLES] == BASE + "collections/lamps/queryables"
    assert rels["describedBy"] == rels["describedby"] == BASE + "collections/lamps/schema"

    schema = core.schema(BASE, provider.collection("lamps"))
    assert schema["properties"]["geometry"]["$ref"].endswith("/Point.json")
    assert schema["properties"]["properties"]["properties"] == {
        "status": {"type": "string", "enum": ["on", "off"], "title": "status"}, "watts": {"type": "number"}}
    queryables = core.queryables(BASE, provider.collection("lamps"))
    assert set(queryables["properties"]) == {"geometry", "status", "zone"}  # watts is no filter

    api = core.openapi(BASE, provider)
    assert api["servers"] == [{"url": BASE.rstrip("/")}]
    lamp_params = [p.get("name") for p in api["paths"]["/collections/lamps/items"]["get"]["parameters"]]
    assert {"bbox", "offset", "after", "properties", "status", "zone"} <= set(lamp_params)
    assert api["paths"]["/collections/{collectionId}"]["get"]["parameters"][0]["schema"]["enum"] == ["lamps", "roads"]


def test_items_rules():
    lamps = StaticProvider().collection("lamps")
    core.check_items_query({"bbox": "1,2,3,4", "status": "on", "zone": "A", "crs": core.CRS84}, lamps)
    with pytest.raises(core.OgcError) as err:
        core.check_items_query({"watts": "5", "sortby": "x", "limit": "3"}, lamps)
    assert set(err.value.errors) == {"watts", "sortby"}
    with pytest.raises(core.OgcError) as err:
        core.check_items_query({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, lamps)
    assert set(err.value.errors) == {"bbox-crs"}
    # Oversize limits are served as the maximum page; the rest is the provider's to judge.
    assert [core.page_limit(v) for v in ("50000", "9" * 5000, "10000", "7", "", None, "-1", "²")] == [
        "10000", "10000", "10000", "7", "", None, "-1", "²"]
    sizes = [10]
    while sizes[-1] < core.MAX_LIMIT:
        sizes.append(core.next_limit(sizes[-1]))
    assert sizes == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10000]
    head = core.items_head(self_url="s", collection_url="c", matched=5, returned=2, time_stamp="t", next_url="n")
    body = json.loads(core.items_bytes(head, b'{"type":"Feature","id":1},{"type":"Feature","id":2}'))
    assert [f["id"] for f in body["features"]] == [1, 2]
    assert [ln["rel"] for ln in body["links"]] == ["self", "collection", "next"]
    assert (body["numberMatched"], body["numberReturned"]) == (5, 2)


@pytest.mark.django_db
def test_queryables_advertise_filters_that_work(client):
    make_city(n_lights=N)
    r = client.get("/ogc/collections/pju/queryables")
    assert r.status_code == 200 and r["Content-Type"] == "application/schema+json"
    props = json.loads(r.content)["properties"]
    assert {"status", "lamp_type", "ownership", "source", "controller_id", "area", "geometry"} <= set(props)
    assert "wattage_w" not in props  # a property, not a filter
    # The status codes of SPEC §3 (make_city cycles through all four).
    assert sorted(props["status"]["enum"]) == sorted(["working", "off", "damaged", "unknown"])
    for status in props["status"]["enum"]:
        doc = json.loads(client.get(f"/ogc/collections/pju/items?status={status}").content)
        assert doc["numberMatched"] == StreetLight.objects.filter(status=status).count() > 0
        assert {f["properties"]["status"] for f in doc["features"]} == {status}
    assert client.get("/ogc/collections/pju/items?status=glowing").status_code == 400
    assert client.get("/ogc/collections/panels/queryables").status_code == 404
    coll = json.loads(client.get("/ogc/collections/pju").content)
    assert any(ln["rel"] == core.REL_QUERYABLES and ln["href"].endswith("/ogc/collections/pju/queryables")
               for ln in coll["links"])


@pytest.mark.django_db
def test_core_errors_are_400s_in_the_spec_shape(client):
    make_city(n_lights=3)
    r = client.get("/ogc/collections/pju/items?sortby=code&crs=EPSG:4326")
    assert r.status_code == 400
    body = json.loads(r.content)
    assert set(body) >= {"detail", "errors"} and "sortby" in body["errors"]


@pytest.mark.django_db
def test_large_pages_are_gzipped_fast_and_hold_the_same_features(client):
    import gzip

    make_city(n_lights=400)
    url = "/ogc/collections/pju/items?limit=400"
    plain = client.get(url)
    assert "Content-Encoding" not in plain and len(plain.content) >= 100_000  # big enough to be compressed here
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 5
    assert packed.content[8] == 4  # gzip header XFL = 4: fastest compression (GZipMiddleware's level 6 writes 0)
    features = json.loads(gzip.decompress(packed.content))["features"]
    assert features == json.loads(plain.content)["features"]
    assert [f["id"] for f in features] == sorted(StreetLight.objects.values_list("id", flat=True))
    small = client.get("/ogc/collections/pju/items?limit=5", HTTP_ACCEPT_ENCODING="gzip")  # GZipMiddleware's (level 6)
    assert len(json.loads(gzip.decompress(small.content))["features"]) == 5


@pytest.mark.django_db
def test_item_pages_and_openapi_do_not_scan_for_the_extent(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_city(n_lights=5)
    for url, scans in (("/ogc/collections/pju/items?limit=2", 0), ("/ogc/api", 0), ("/ogc/collections/pju/queryables", 0),
                       ("/ogc/collections/pju", 1), ("/ogc/collections", 3)):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        assert sum("ST_EXTENT" in q["sql"].upper() for q in ctx.captured_queries) == scans, url


def test_the_core_pages_by_the_kernels_paging_rule():
    """ogc/core.py is framework-free, so it keeps its own copy of the two numbers of
    geo_platform.geojson's paging rule: they must agree (SPEC §4: 1,000 by default, at most 10,000)."""
    from geo_platform import geojson
    from ogc import views

    assert (core.DEFAULT_LIMIT, core.MAX_LIMIT) == (geojson.DEFAULT_LIMIT, geojson.MAX_LIMIT) == (1000, 10_000)
    assert (views.DEFAULT_LIMIT, views.MAX_LIMIT) == (1000, 10_000)
