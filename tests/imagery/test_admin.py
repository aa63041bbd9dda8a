"""The imagery admin works offline: its map widget is served from our static files."""
import re

import pytest
from django.contrib.auth import get_user_model

from tests.imagery.conftest import COLORADO

pytestmark = pytest.mark.django_db


def test_admin_list_and_change_pages_use_local_map_assets(client, ingest):
    img = ingest(COLORADO, name="Colorado Springs")
    admin = get_user_model().objects.create_superuser("admin-img", "a@example.org", "x")
    client.force_login(admin)
    listing = client.get("/admin/imagery/imagery/")
    assert listing.status_code == 200 and "Colorado Springs" in listing.content.decode()
    page = client.get(f"/admin/imagery/imagery/{img.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert any("ol.js" in s for s in scripts)
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/ol/ol.js"), "vendored OpenLayers missing"
    assert not [s for s in scripts if s.startswith(("http://", "https://", "//"))], scripts
    assert client.get("/admin/imagery/imagery/add/").status_code == 403  # files come through import/upload
