"""OGC API – Features read by GDAL's OAPIF driver (ogrinfo, ogr2ogr) against
a live server; expected counts and ids come from the rows the test wrote."""
import json
import subprocess

import pyogrio
import pytest

from layers.models import Area, RoadSegment, StreetLight
from tests.layers.api_support import make_city

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_city(live_server):
    make_city(n_lights=57)
    return live_server.url


def run(*args):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_ogrinfo_lists_the_collections_with_feature_counts(live_city):
    out = run("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{live_city}/ogc/")
    counts = {}
    layer = None
    for line in out.splitlines():
        if line.startswith("Layer name:"):
            layer = line.split(":", 1)[1].strip()
        elif line.startswith("Feature Count:"):
            counts[layer] = int(line.split(":", 1)[1])
    assert counts == {"pju": 57, "roads": 3, "areas": 2}
    # Field types come from the collection's JSON schema (rel=describedBy), not from guessing on a page of nulls.
    assert "wattage_w: Real" in out and "version: Integer" in out and "installed_on: Date" in out


@pytest.mark.parametrize("collection, model, key", [("pju", StreetLight, "code"), ("roads", RoadSegment, "name"), ("areas", Area, "code")])
def test_ogr2ogr_copies_every_feature_to_a_geopackage(live_city, tmp_path, collection, model, key):
    out = tmp_path / f"{collection}.gpkg"
    # A page size of 10 makes GDAL follow the rel=next links.
    run("ogr2ogr", "-f", "GPKG", "-preserve_fid", str(out), f"OAPIF:{live_city}/ogc/", collection, "-oo", "PAGE_SIZE=10")
    df = pyogrio.read_dataframe(out, fid_as_index=True)
    assert len(df) == model.objects.count()
    # Integer feature ids become the GeoPackage fids; the attributes match too.
    assert sorted(df.index) == sorted(model.objects.values_list("id", flat=True))
    assert sorted(df[key]) == sorted(model.objects.values_list(key, flat=True))
    if collection == "pju":
        stored = {p.code: (p.geom.x, p.geom.y, p.status) for p in StreetLight.objects.all()}
        for row in df.itertuples():
            x, y, status = stored[row.code]
            assert (row.geometry.x, row.geometry.y) == pytest.approx((x, y), abs=1e-7)
            assert row.status == status


def test_paging_links_and_bbox(live_city, client):
    url = "/ogc/collections/pju/items?limit=20"
    seen = []
    while url:
        r = client.get(url)
        assert r["Content-Type"] == "application/geo+json"
        doc = json.loads(r.content)
        assert doc["numberMatched"] == 57 and doc["numberReturned"] == len(doc["features"])
        seen += [f["id"] for f in doc["features"]]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    assert seen == sorted(StreetLight.objects.values_list("id", flat=True))
    box = (106.62, -6.21, 106.64, -6.19)
    doc = json.loads(client.get("/ogc/collections/pju/items?bbox=" + ",".join(map(str, box))).content)
    expected = {p.pk for p in StreetLight.objects.all() if box[0] <= p.geom.x <= box[2] and box[1] <= p.geom.y <= box[3]}
    assert {f["id"] for f in doc["features"]} == expected


def test_landing_conformance_collection_and_item(live_city, client):
    landing = json.loads(client.get("/ogc/").content)
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    api = client.get("/ogc/api")
    assert api["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = json.loads(api.content)
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    # QGIS (QgsOapifApiRequest) reads limit's default and maximum from components/parameters/limit.
    assert {"$ref": "#/components/parameters/limit"} in items["parameters"]
    assert {"$ref": "#/components/parameters/limit"} in doc["paths"]["/collections/pju/items"]["get"]["parameters"]
    limit = doc["components"]["parameters"]["limit"]
    assert (limit["name"], limit["in"], limit["style"], limit["explode"]) == ("limit", "query", "form", False)
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (1000, 10000)
    conf = json.loads(client.get("/ogc/conformance").content)["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    coll = json.loads(client.get("/ogc/collections/roads").content)
    assert coll["id"] == "roads" and coll["itemType"] == "feature"
    lons = [c[0] for r in RoadSegment.objects.all() for c in r.geom.coords]
    assert coll["extent"]["spatial"]["bbox"][0][0] == pytest.approx(min(lons))
    pk = RoadSegment.objects.order_by("pk").first().pk
    item = json.loads(client.get(f"/ogc/collections/roads/items/{pk}").content)
    assert item["id"] == pk and item["type"] == "Feature"
    assert client.get("/ogc/collections/roads/items/999999").status_code == 404
    assert client.get("/ogc/collections/panels").status_code == 404
    big = json.loads(client.get("/ogc/collections/pju/items?limit=50000").content)
    assert big["numberReturned"] == 57  # a limit above the maximum is served as the maximum page
    assert client.get("/ogc/collections/pju/items?limit=0").status_code == 400
    bad = client.get("/ogc/collections/pju/items?bbox-crs=EPSG:3857")
    assert bad.status_code == 400 and "bbox-crs" in json.loads(bad.content)["errors"]
