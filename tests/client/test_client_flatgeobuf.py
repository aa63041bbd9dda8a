"""The client reads whole layers as FlatGeobuf when it has a token (issue
20), with the same features as the GeoJSON path; expected ids and values
come from the rows the test wrote (ORM)."""
import pytest
import requests
from rest_framework.authtoken.models import Token

from geo_platform.client import AuthenticationError, Client, PermissionDenied
from layers.models import StreetLight
from tests.layers.api_support import make_city, user_in
from tests.notebooks.support import database_url

pytestmark = pytest.mark.django_db(transaction=True)


class CountingSession(requests.Session):
    def __init__(self):
        super().__init__()
        self.urls = []

    def request(self, method, url, *args, **kwargs):
        self.urls.append((url, dict(kwargs.get("params") or {})))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def url(live_server, settings):
    settings.BASEMAP_URL = ""
    make_city(n_lights=31)
    return live_server.url.replace("localhost", "127.0.0.1")


def test_whole_layer_with_a_token_comes_as_flatgeobuf_with_the_geojson_features(url):
    token = Token.objects.create(user=user_in("analyst")).key
    fgb_client = Client(url, token=token, database_url=database_url(), session=CountingSession())
    pju = fgb_client.pju()
    assert len(fgb_client.session.urls) == 1 and fgb_client.session.urls[0][1].get("format") == "fgb"
    geojson = Client(url, token="", database_url=database_url()).pju()
    stored = {p.pk: p for p in StreetLight.objects.all()}
    assert list(pju.index) == sorted(stored) == list(geojson.index)
    assert pju.crs.to_epsg() == 4326 and pju.attrs["count"] == len(stored)
    for pk, row in pju.iterrows():
        assert (row.geometry.x, row.geometry.y) == (stored[pk].geom.x, stored[pk].geom.y)
        assert row["status"] == stored[pk].status == geojson.loc[pk, "status"]
        assert row["code"] == stored[pk].code and row["kecamatan"] == geojson.loc[pk, "kecamatan"]
    # filters and fields go to the server
    off = fgb_client.pju(status="off", fields="status")
    assert list(off.index) == sorted(pk for pk, p in stored.items() if p.status == "off")
    assert set(off.columns) == {"status", "geometry"}


def test_without_a_token_the_client_pages_geojson_and_fgb_needs_login(url):
    anonymous = Client(url, token="", database_url=database_url(), session=CountingSession())
    assert len(anonymous.pju()) == StreetLight.objects.count()
    assert all(params.get("format") != "fgb" for _, params in anonymous.session.urls)
    with pytest.raises((AuthenticationError, PermissionDenied)):
        anonymous.layer("pju", format="fgb")
