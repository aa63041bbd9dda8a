"""Fixtures for the layer API, tile and OGC tests: a small real city (two
kecamatan, roads, PJU) and users in each group, all in real PostGIS."""
import random

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from layers.importers.postgis import assign_areas, refresh_measures
from layers.models import Area, RoadSegment, StreetLight

WEST_BOX = (106.60, -6.22, 106.63, -6.17)
EAST_BOX = (106.63, -6.22, 106.66, -6.17)


def square(box):
    return MultiPolygon(Polygon.from_bbox(box), srid=4326)


def make_city(n_lights: int = 60, seed: int = 7) -> dict:
    """Two kecamatan side by side, 3 roads and `n_lights` PJU scattered with a
    fixed seed; statuses cycle through the codes."""
    west = Area.objects.create(level="kecamatan", code="99.71.01", name="Barat", geom=square(WEST_BOX))
    east = Area.objects.create(level="kecamatan", code="99.71.02", name="Timur", geom=square(EAST_BOX))
    refresh_measures(Area)
    roads = [
        RoadSegment.objects.create(road_class="arterial", name="Jl. Utama", condition="good", source="test",
                                   geom=LineString((106.605, -6.20), (106.655, -6.20), srid=4326)),
        RoadSegment.objects.create(road_class="local", name="Jl. Kecil", condition="heavy_damage", source="test",
                                   geom=LineString((106.61, -6.18), (106.612, -6.21), srid=4326)),
        RoadSegment.objects.create(road_class="path", name="Gang", condition="fair", source="other",
                                   geom=LineString((106.64, -6.18), (106.641, -6.181), srid=4326)),
    ]
    rng = random.Random(seed)
    statuses = ["working", "off", "damaged", "unknown"]
    lights = [
        StreetLight(
            code=f"PJU-{i:03d}", status=statuses[i % 4], source="test" if i % 3 else "survey",
            lamp_type="led" if i % 2 else "hps",
            geom=Point(rng.uniform(106.601, 106.659), rng.uniform(-6.219, -6.171), srid=4326),
        )
        for i in range(n_lights)
    ]
    StreetLight.objects.bulk_create(lights)
    refresh_measures(RoadSegment)
    assign_areas(RoadSegment)
    assign_areas(StreetLight)
    return {"west": west, "east": east, "roads": roads}


def user_in(group: str | None, *, superuser: bool = False, name: str | None = None) -> User:
    name = name or (group or ("admin" if superuser else "nobody"))
    if superuser:
        user = User.objects.create_superuser(name, f"{name}@example.org", "pw")
    else:
        user = User.objects.create_user(name, f"{name}@example.org", "pw")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def city(db):
    return make_city()


@pytest.fixture
def planner(db):
    return client_for(user_in("planner"))


@pytest.fixture
def officer(db):
    return client_for(user_in("field_officer"))


@pytest.fixture
def analyst(db):
    return client_for(user_in("analyst"))


@pytest.fixture
def admin_client_api(db):
    return client_for(user_in(None, superuser=True))
