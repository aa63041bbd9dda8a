"""POST /api/roads/{id}/survey/ (issue 14, SPEC §6): the Bina Marga SDI form
of DOMAIN §4 stored, the road's sdi/condition/surveyed_on updated. Expected
SDI values are worked out here from DOMAIN §4's table, step by step."""
import uuid

import pytest
from django.contrib.gis.geos import LineString

from layers.importers.postgis import refresh_measures
from layers.models import AuditLog, RoadSegment, RoadSurvey
from tests.layers.api_support import client_for, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def road(db):
    r = RoadSegment.objects.create(name="Jl. Survei", road_class="local", condition="good", surface="asphalt", source="t",
                                   geom=LineString((106.63, -6.18), (106.632, -6.18), srid=4326))
    refresh_measures(RoadSegment, [r.pk])
    return r


@pytest.fixture
def officer(db):
    return client_for(user_in("field_officer"))


def survey(client, road_id, **body):
    return client.post(f"/api/roads/{road_id}/survey/", body, format="json")


@pytest.mark.parametrize("form,sdi,condition", [
    # crack 15 % → SDI₁ 20; width 4 mm > 3 → SDI₂ 40; 12 holes/100 m (10–50) → +75 = 115; rut 2 cm (1–3) → +10 = 125
    ({"crack_area_pct": 15, "crack_width_mm": 4, "potholes_per_100m": 12, "rut_depth_cm": 2}, 125.0, "light_damage"),
    # crack 5 % → 5; width 2 mm → 5; no holes → 5; rut 0.5 cm (< 1) → +2.5 = 7.5
    ({"crack_area_pct": 5, "crack_width_mm": 2, "potholes_per_100m": 0, "rut_depth_cm": 0.5}, 7.5, "good"),
    # crack 40 % → 40; width 5 mm → 80; 60 holes (> 50) → +225 = 305; rut 4 cm → +20 = 325
    ({"crack_area_pct": 40, "crack_width_mm": 5, "potholes_per_100m": 60, "rut_depth_cm": 4}, 325.0, "heavy_damage"),
    # crack 30 % (10–30) → 20; 2 mm → 20; 9 holes (< 10) → +15 = 35; rut 3 cm (1–3) → +10 = 45
    ({"crack_area_pct": 30, "crack_width_mm": 2, "potholes_per_100m": 9, "rut_depth_cm": 3}, 45.0, "good"),
    # crack 10 % → 20; 3 mm (not > 3) → 20; 10 holes → +75 = 95; rut 0 → 95: fair (50–100)
    ({"crack_area_pct": 10, "crack_width_mm": 3, "potholes_per_100m": 10, "rut_depth_cm": 0}, 95.0, "fair"),
])
def test_survey_computes_sdi_and_updates_the_road(officer, road, form, sdi, condition):
    r = survey(officer, road.pk, surveyed_on="2026-11-30", **form)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["survey"]["sdi"] == pytest.approx(sdi) and out["survey"]["condition"] == condition
    props = out["road"]["properties"]
    assert props["sdi"] == pytest.approx(sdi) and props["condition"] == condition and props["surveyed_on"] == "2026-11-30"
    assert props["version"] == road.version + 1 and props["condition_origin"] == "field"
    road.refresh_from_db()
    assert (road.sdi, road.condition) == (pytest.approx(sdi), condition)
    assert AuditLog.objects.filter(layer="roads", object_id=road.pk, action="update").exists()


def test_a_repeated_client_id_returns_the_first_survey(officer, road):
    cid = str(uuid.uuid4())
    form = {"crack_area_pct": 15, "crack_width_mm": 4, "potholes_per_100m": 12, "rut_depth_cm": 2, "client_id": cid}
    first = survey(officer, road.pk, **form)
    again = survey(officer, road.pk, **form)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["survey"]["id"] == first.json()["survey"]["id"] and RoadSurvey.objects.count() == 1


def test_bad_surveys_are_4xx_and_write_nothing(officer, road, client):
    good = {"crack_area_pct": 15, "crack_width_mm": 4, "potholes_per_100m": 12, "rut_depth_cm": 2}
    for body, field in [({**good, "crack_area_pct": 120}, "crack_area_pct"), ({**good, "rut_depth_cm": -1}, "rut_depth_cm"),
                        ({k: v for k, v in good.items() if k != "potholes_per_100m"}, "potholes_per_100m"),
                        ({**good, "surveyed_on": "2999-01-01"}, "surveyed_on"), ({**good, "photos": [987654]}, "photos")]:
        r = survey(officer, road.pk, **body)
        assert r.status_code == 400, (body, r.content)
        assert field in r.json()["errors"]
    assert survey(officer, 987654321, **good).status_code == 404
    assert client.post(f"/api/roads/{road.pk}/survey/", good, content_type="application/json").status_code in (401, 403)
    road.refresh_from_db()
    assert RoadSurvey.objects.count() == 0 and road.sdi is None and road.version == 1
