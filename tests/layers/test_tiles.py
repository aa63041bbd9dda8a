"""Vector tiles decoded with mapbox-vector-tile. The expected feature sets
come from pyproj + mercantile (tile bounds and the MVT edge buffer), not
from PostGIS or our code."""
import gzip
import json
import random

import mapbox_vector_tile
import mercantile
import pytest
from django.contrib.gis.geos import LineString, Point
from django.db import connection
from pyproj import Transformer

from layers.models import RoadSegment, StreetLight
from layers.tiles import BUFFER, EXTENT, TILE_LAYERS
from tests.layers.api_support import city  # noqa: F401

pytestmark = pytest.mark.django_db
TO_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
Z = 15
TILE = mercantile.tile(106.63, -6.195, Z)  # inside the test city


def decode(content: bytes, layer: str) -> list[dict]:
    if not content:
        return []
    return mapbox_vector_tile.decode(content).get(layer, {}).get("features", [])


def fetch(client, url, **headers):
    r = client.get(url, **headers)
    assert r.status_code == 200, r.content[:300]
    data = r.content
    if r.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return r, data


def expected_ids(points: dict, tile, margin_units=BUFFER, eps_m=0.05):
    """ids of the points within the tile widened by the MVT buffer; points
    within eps of that edge are returned separately (either answer is fine)."""
    b = mercantile.xy_bounds(tile)
    pad = (b.right - b.left) * margin_units / EXTENT
    left, bottom, right, top = b.left - pad, b.bottom - pad, b.right + pad, b.top + pad
    inside, edge = set(), set()
    for pk, (lon, lat) in points.items():
        x, y = TO_3857.transform(lon, lat)
        dist = min(abs(x - left), abs(x - right), abs(y - bottom), abs(y - top))
        if left <= x <= right and bottom <= y <= top:
            (edge if dist < eps_m else inside).add(pk)
        elif dist < eps_m:
            edge.add(pk)
    return inside, edge


def dense_points(n=3000, seed=3):
    """Random PJU over a few z15 tiles around TILE, statuses cycling."""
    b = mercantile.bounds(TILE)
    w, h = b.east - b.west, b.north - b.south
    rng = random.Random(seed)
    objs = [
        StreetLight(status=["working", "off", "damaged", "unknown"][i % 4], code=f"T{i}",
                    geom=Point(rng.uniform(b.west - w, b.east + w), rng.uniform(b.south - h, b.north + h), srid=4326))
        for i in range(n)
    ]
    StreetLight.objects.bulk_create(objs)
    return {p.pk: (p.geom.x, p.geom.y) for p in StreetLight.objects.all()}


def test_detail_tile_holds_exactly_the_points_meeting_it(client, db):
    points = dense_points()
    _, data = fetch(client, f"/tiles/pju/{Z}/{TILE.x}/{TILE.y}.pbf")
    got = {f["id"] for f in decode(data, "pju")}
    inside, edge = expected_ids(points, TILE)
    assert len(inside) > 100
    assert inside <= got and got <= inside | edge


def test_detail_tile_properties_and_positions(client, db):
    points = dense_points(400)
    _, data = fetch(client, f"/tiles/pju/{Z}/{TILE.x}/{TILE.y}.pbf")
    features = decode(data, "pju")
    assert features
    b = mercantile.xy_bounds(TILE)
    size = b.right - b.left
    by_id = {p.pk: p for p in StreetLight.objects.filter(pk__in=[f["id"] for f in features])}
    for f in features:
        obj = by_id[f["id"]]
        assert f["properties"]["status"] == obj.status and f["properties"]["code"] == obj.code
        x, y = TO_3857.transform(*points[f["id"]])
        # decode() flips y so that 0 is the bottom edge; one tile unit of tolerance.
        px, py = f["geometry"]["coordinates"]
        assert px == pytest.approx((x - b.left) / size * EXTENT, abs=1.0)
        assert py == pytest.approx((y - b.bottom) / size * EXTENT, abs=1.0)


def test_lines_are_clipped_and_only_those_crossing_the_tile_come(client, db):
    b = mercantile.bounds(TILE)
    mid_lat = (b.north + b.south) / 2
    crossing = RoadSegment.objects.create(road_class="local", geom=LineString((b.west - 0.01, mid_lat), (b.east + 0.01, mid_lat), srid=4326))
    # Its bounding box overlaps the tile, the line does not (a diagonal past a corner).
    corner = RoadSegment.objects.create(road_class="local", geom=LineString((b.east - 0.0005, b.north + 0.01), (b.east + 0.01, b.north - 0.0005), srid=4326))
    far = RoadSegment.objects.create(road_class="local", geom=LineString((b.east + 0.05, mid_lat), (b.east + 0.06, mid_lat), srid=4326))
    _, data = fetch(client, f"/tiles/roads/{Z}/{TILE.x}/{TILE.y}.pbf")
    features = decode(data, "roads")
    assert {f["id"] for f in features} == {crossing.pk}
    xs = [c[0] for c in features[0]["geometry"]["coordinates"]]
    assert min(xs) >= -BUFFER - 1 and max(xs) <= EXTENT + BUFFER + 1  # clipped to tile + buffer
    assert corner.pk and far.pk


def test_low_zoom_clusters_count_every_point(client, db):
    points = dense_points(2000)
    z = 10
    tile = mercantile.tile(106.63, -6.195, z)
    _, data = fetch(client, f"/tiles/pju/{z}/{tile.x}/{tile.y}.pbf")
    features = decode(data, "pju")
    inside, edge = expected_ids(points, tile, margin_units=BUFFER)
    total = sum(f["properties"]["count"] for f in features)
    assert len(inside) <= total <= len(inside | edge)
    assert len(features) < total  # points sharing a cell were merged


def test_zoom_rules_pick_attributes(client, city):
    tile = mercantile.tile(106.63, -6.2, 13)
    _, data = fetch(client, f"/tiles/pju/13/{tile.x}/{tile.y}.pbf")
    features = decode(data, "pju")
    assert features and all(set(f["properties"]) == {"status"} for f in features)
    tile = mercantile.tile(106.63, -6.2, 11)
    _, data = fetch(client, f"/tiles/roads/11/{tile.x}/{tile.y}.pbf")
    names = {RoadSegment.objects.get(pk=f["id"]).road_class for f in decode(data, "roads")}
    assert names == {"arterial"}  # below z12 only arterial/collector roads


def test_below_minzoom_is_empty(client, city):
    r, data = fetch(client, "/tiles/pju/5/25/15.pbf")
    assert data == b""


def test_etag_304_and_cache_headers(client, city):
    url = f"/tiles/pju/{Z}/{TILE.x}/{TILE.y}.pbf"
    r, _ = fetch(client, url, HTTP_ACCEPT_ENCODING="gzip")
    assert r["Content-Encoding"] == "gzip" and r["Cache-Control"] == "no-cache"
    assert r["Content-Type"] == "application/vnd.mapbox-vector-tile"
    etag = r["ETag"]
    r2 = client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert r2.status_code == 304 and r2.content == b"" and r2["ETag"] == etag
    r3 = client.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert r3.status_code == 200


def _tile_status(client, pk, etag=None):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    r = client.get(f"/tiles/pju/{Z}/{TILE.x}/{TILE.y}.pbf", **headers)
    feats = {f["id"]: f for f in decode(r.content, "pju")} if r.status_code == 200 else {}
    return r, feats.get(pk)


def test_an_api_edit_shows_in_the_next_tile_request(client, city, planner_token_client):
    b = mercantile.bounds(TILE)
    lamp = StreetLight.objects.create(status="working", geom=Point((b.west + b.east) / 2, (b.south + b.north) / 2, srid=4326))
    r, f = _tile_status(client, lamp.pk)
    assert f["properties"]["status"] == "working"
    etag = r["ETag"]
    body = {"properties": {"status": "damaged", "version": 1}}
    assert planner_token_client.patch(f"/api/pju/{lamp.pk}/", body, format="json").status_code == 200
    r, f = _tile_status(client, lamp.pk, etag)  # the old ETag no longer matches
    assert r.status_code == 200 and r["ETag"] != etag
    assert f["properties"]["status"] == "damaged"
    assert planner_token_client.delete(f"/api/pju/{lamp.pk}/").status_code == 204
    r, f = _tile_status(client, lamp.pk)
    assert f is None


def test_a_raw_sql_edit_also_invalidates(client, city):
    b = mercantile.bounds(TILE)
    lamp = StreetLight.objects.create(status="working", geom=Point((b.west + b.east) / 2, (b.south + b.north) / 2, srid=4326))
    _tile_status(client, lamp.pk)
    with connection.cursor() as cur:  # e.g. an importer's bulk statement
        cur.execute("UPDATE layers_streetlight SET status = 'off' WHERE id = %s", [lamp.pk])
    _, f = _tile_status(client, lamp.pk)
    assert f["properties"]["status"] == "off"


def test_bad_tile_addresses(client, city):
    assert client.get("/tiles/nope/1/0/0.pbf").status_code == 404
    r = client.get("/tiles/pju/3/8/0.pbf")
    assert r.status_code == 400 and "x" in json.loads(r.content)["errors"]
    assert client.get("/tiles/pju/31/0/0.pbf").status_code == 400


def test_tilejson(client, city):
    r = client.get("/tiles/pju.json")
    doc = json.loads(r.content)
    assert doc["tiles"][0].endswith("/tiles/pju/{z}/{x}/{y}.pbf")
    assert doc["minzoom"] == TILE_LAYERS["pju"].minzoom and doc["vector_layers"][0]["id"] == "pju"
    lons = [p.geom.x for p in StreetLight.objects.all()]
    lats = [p.geom.y for p in StreetLight.objects.all()]
    assert doc["bounds"] == pytest.approx([min(lons), min(lats), max(lons), max(lats)])


def test_dense_low_zoom_tiles_stay_under_500_kb(client, db):
    """60,000 PJU packed in one z12 tile: the cap and clusters keep every
    zoom's tile under the 500 KB budget."""
    tile12 = mercantile.tile(106.63, -6.195, 12)
    b = mercantile.bounds(tile12)
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO layers_streetlight (source, source_id, version, status, status_origin, lamp_type, ownership,
                   code, power_source, pln_customer_id, created_at, updated_at, geom)
               SELECT 'bench', '', 1, 'working', 'import', 'led', 'city', 'K' || g, '', '', now(), now(),
                      ST_SetSRID(ST_MakePoint(%s + random() * %s, %s + random() * %s), 4326)
               FROM generate_series(1, 60000) g""",
            [b.west, b.east - b.west, b.south, b.north - b.south],
        )
    for z in (10, 11, 12, 13, 14):
        t = mercantile.tile(106.63, -6.195, z) if z <= 12 else mercantile.children(tile12, zoom=z)[0]
        r, data = fetch(client, f"/tiles/pju/{z}/{t.x}/{t.y}.pbf")
        assert len(data) < 500_000, (z, len(data))
        assert decode(data, "pju")


@pytest.fixture
def planner_token_client(db):
    from tests.layers.api_support import client_for, user_in

    return client_for(user_in("planner"))


def test_damaged_roads_tiles_follow_condition_and_sdi_iri_limits(client, db):
    """DOMAIN §4: a road is damaged by its condition code, or by SDI > 100 / IRI > 8 whatever the code says."""
    base = dict(road_class="local")
    rows = {
        "coded": dict(condition="light_damage"),
        "sdi": dict(condition="good", sdi=120.0),
        "iri": dict(condition="fair", iri=9.5),
        "fine": dict(condition="good", sdi=40.0, iri=3.0),
    }
    ids = {}
    for i, (name, extra) in enumerate(rows.items()):
        y = -6.2 - i * 0.0005
        ids[name] = RoadSegment.objects.create(geom=LineString((106.700, y), (106.703, y), srid=4326), **base, **extra).id
    tile = mercantile.tile(106.7015, -6.2008, 14)
    _, data = fetch(client, f"/tiles/damaged_roads/{tile.z}/{tile.x}/{tile.y}.pbf")
    got = {f["id"] for f in decode(data, "damaged_roads")}
    assert got == {ids["coded"], ids["sdi"], ids["iri"]}
