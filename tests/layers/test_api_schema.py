"""OpenAPI 3 at /api/schema/ documents the layer endpoints; /api/docs/ loads
only assets served by us (drf-spectacular-sidecar), never a CDN."""
import json
import re

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_documents_the_layer_endpoints(client):
    r = client.get("/api/schema/?format=json")
    assert r.status_code == 200
    doc = json.loads(r.content)
    assert doc["openapi"].startswith("3.")
    ops = {op["operationId"]: (path, method) for path, item in doc["paths"].items() for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    for op in ("layer_list", "layer_create", "layer_retrieve", "layer_update", "layer_delete", "layer_restore", "layer_photo_create"):
        assert op in ops, op
    path, _ = ops["layer_list"]
    params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
    assert {"bbox", "limit", "offset", "status", "road_class", "condition", "area", "format"} <= set(params)
    assert set(params["layer"]["schema"]["enum"]) == {"pju", "roads", "areas", "panels"}


def test_docs_page_uses_local_assets_only(client):
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"(https?://[^"]+)"', html)
    assert any("swagger-ui" in u for u in urls)
    external = [u for u in urls if u.startswith(("http://", "https://", "//")) and "testserver" not in u]
    assert external == []
    from django.conf import settings
    from django.contrib.staticfiles import finders

    assets = [u for u in urls if u.startswith("/" + settings.STATIC_URL.strip("/") + "/")]
    assert any(u.endswith(".js") for u in assets)
    for u in assets:
        assert finders.find(u.split("?")[0].removeprefix("/" + settings.STATIC_URL.strip("/") + "/")), u
