"""The admin serves every layer model with a map widget whose OpenLayers comes
from our static files, never a CDN."""
import re

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon

from layers.models import Area, Panel, RoadSegment, StreetLight

pytestmark = pytest.mark.django_db
CDN = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|openlayers\.org/(?:api|en)")


@pytest.mark.parametrize("model, geom", [
    (StreetLight, Point(106.63, -6.18, srid=4326)),
    (Panel, Point(106.63, -6.18, srid=4326)),
    (RoadSegment, LineString((106.63, -6.18), (106.64, -6.18), srid=4326)),
    (Area, MultiPolygon(Polygon.from_bbox((106.6, -6.2, 106.7, -6.1)), srid=4326)),
])
def test_admin_change_pages_use_the_local_map_widget(admin_client, model, geom):
    extra = {"road_class": "local"} if model is RoadSegment else {}
    if model is Area:
        extra = {"level": "kecamatan", "code": "99.01.01", "name": "Uji"}
    obj = model.objects.create(geom=geom, **extra)
    opts = model._meta
    for url in (f"/admin/{opts.app_label}/{opts.model_name}/", f"/admin/{opts.app_label}/{opts.model_name}/add/",
                f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not CDN.search(html), url
    assert "vendor/ol/ol.js" in html and "gis/js/OLMapWidget.js" in html


def test_vendored_openlayers_is_served(client):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/ol/ol.js") and finders.find("vendor/ol/LICENSE.md")
