"""Background jobs other than imports (issue 18, SPEC §9) on a real Celery
worker and Redis: full needs recomputation (also queued after a web import
and by a citizen report's intake), imagery ingest (COG conversion), the
programme and Musrenbang exports — each a job to poll, with the file to
download. Expected numbers come from the geometry (pyproj's geodesic) and
the rule, not from the code under test."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from imagery.models import Imagery
from imports.models import BackgroundJob
from layers.models import RoadSegment, StreetLight
from needs.models import LightingGap, ProposedPJU
from tests.imports.conftest import wait_for
from tests.needs.support import JAKARTA_ARTERIAL, geodesic_length, make_road, road_coords

pytestmark = pytest.mark.django_db(transaction=True)
FINISHED = ("done", "failed", "cancelled")


def start(api, kind, status=202, fmt="json", **params):
    r = api.post("/api/jobs/", {"kind": kind, **params}, format=fmt)
    assert r.status_code == status, r.content
    return r.json()


def finished(api, url_or_id, timeout=300) -> dict:
    url = url_or_id if str(url_or_id).startswith("http") else f"/api/jobs/{url_or_id}/"

    def state():
        s = api.get(url).json()
        return s if s["status"] in FINISHED else None

    return wait_for(state, timeout=timeout, what=f"job {url} to finish")


def test_needs_recomputation_runs_as_a_job(api, celery_worker):
    road = make_road(JAKARTA_ARTERIAL, "arterial")  # 296.69 m, no PJU: under-lit over its whole length
    L = geodesic_length(road_coords(JAKARTA_ARTERIAL))
    body = start(api, "needs")
    assert body["status"] == "queued" and body["kind"] == "needs"
    state = finished(api, body["id"])
    assert state["status"] == "done" and state["progress"] == 1.0, state
    assert state["result"]["gaps"] == 1
    assert state["result"]["proposed"] == math.ceil(L / 35)  # arterial spacing 35 m: 9 poles
    assert state["result"]["underlit_m"] == pytest.approx(L, abs=0.5)
    assert LightingGap.objects.filter(road=road).count() == 1
    assert ProposedPJU.objects.count() == math.ceil(L / 35)
    assert BackgroundJob.objects.get(pk=body["id"]).attempts == 1


def test_web_import_queues_the_full_needs_recomputation(api, celery_worker, tmp_path):
    import geopandas as gpd
    import shapely

    coords = road_coords(JAKARTA_ARTERIAL)
    path = tmp_path / "one_road.geojson"
    gpd.GeoDataFrame({"name": ["Jalan Uji"], "kelas": ["arteri"]}, geometry=[shapely.LineString(coords)],
                     crs=4326).to_file(path, driver="GeoJSON")
    with open(path, "rb") as fh:
        r = api.post("/api/imports/", {"file": fh, "layer": "roads", "source": "jobs18"}, format="multipart")
    assert r.status_code == 202, r.content
    job = wait_for(lambda: (lambda s: s if s["status"] in FINISHED else None)(api.get(r.json()["url"]).json()),
                   timeout=300, what="the import")
    assert job["status"] == "done" and job["report"]["created"] == 1
    assert job["needs_job_url"], job
    needs = finished(api, job["needs_job_url"])
    assert needs["status"] == "done" and needs["kind"] == "needs"
    road = RoadSegment.objects.get(source="jobs18")
    L = geodesic_length(coords)
    assert sum(g.length_m for g in LightingGap.objects.filter(road=road)) == pytest.approx(L, abs=0.5)


def test_citizen_report_intake_refreshes_the_needs_in_a_job(planner, django_capture_on_commit_callbacks):
    """Without a worker the task runs eagerly (tests/conftest.py): the edit queues a needs job for its ids."""
    from layers.selectors import LAYERS
    from layers.services import feature_update

    road = make_road(JAKARTA_ARTERIAL, "arterial")
    with django_capture_on_commit_callbacks(execute=True):
        feature_update(spec=LAYERS["roads"], pk=road.pk, data={"condition": "light_damage"}, version=road.version,
                       needs_later=True)
    job = BackgroundJob.objects.get(kind="needs")
    assert job.params == {"roads": [road.pk]}
    job.refresh_from_db()
    assert job.status == "done" and job.result["roads"] >= 1
    assert LightingGap.objects.filter(road=road).count() == 1


def test_musrenbang_and_programme_exports_are_jobs_with_a_file(api, celery_worker):
    from estimates import demo as estimates_demo
    from needs.services import lighting_needs_compute

    estimates_demo.load()  # price lists and templates (emptied by earlier transactional tests)
    road = make_road(JAKARTA_ARTERIAL, "arterial", condition="heavy_damage", authority="city")
    L = geodesic_length(road_coords(JAKARTA_ARTERIAL))
    lighting_needs_compute()
    state = finished(api, start(api, "musrenbang_export", format="csv")["id"])
    assert state["status"] == "done", state
    r = api.get(state["download_url"])
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["No", "Kecamatan"] and len(rows) == 2
    data = dict(zip(rows[0], rows[1]))
    assert int(data["ID ruas"]) == road.pk and int(data["Usulan titik PJU"]) == math.ceil(L / 35)

    state = finished(api, start(api, "programme_export", format="csv", level="kecamatan")["id"])
    assert state["status"] == "done", state
    r = api.get(state["download_url"])
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8"))))
    assert sum(int(g["segments"]) for g in rows) == 1
    assert sum(float(g["length_m"]) for g in rows) == pytest.approx(L, abs=0.5)


def _geotiff(path, width=64, height=48, origin=(106.80, -6.20), px=0.0001):
    data = (np.arange(width * height, dtype=np.uint8).reshape(1, height, width) % 251) + 1
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=from_origin(origin[0], origin[1], px, px)) as dst:
        dst.write(data)
    return (origin[0], origin[1] - height * px, origin[0] + width * px, origin[1])


def test_imagery_ingest_is_a_job(api, celery_worker, tmp_path, upload_dir):
    bounds = _geotiff(tmp_path / "ortho.tif")
    with open(tmp_path / "ortho.tif", "rb") as fh:
        body = start(api, "imagery", fmt="multipart", file=fh, imagery_kind="orthophoto", name="Ortho uji")
    state = finished(api, body["id"])
    assert state["status"] == "done", state
    assert state["result"]["ingest"] == "created"
    img = Imagery.objects.get(pk=state["result"]["imagery"])
    assert img.name == "Ortho uji"
    assert img.footprint.extent == pytest.approx(bounds, abs=1e-6)
    assert (upload_dir / "imagery" / img.file).is_file()
    # a file that is no raster: failed with the reason, nothing registered
    bad = tmp_path / "not_a_raster.tif"
    bad.write_bytes(b"this is not a GeoTIFF\n" * 100)
    with open(bad, "rb") as fh:
        body = start(api, "imagery", fmt="multipart", file=fh, imagery_kind="orthophoto")
    state = finished(api, body["id"])
    assert state["status"] == "failed" and state["error"], state
    assert Imagery.objects.count() == 1


def test_jobs_check_input_and_access(api, client, django_user_model, celery_worker):
    assert start(api, "nonsense", status=400)["errors"]["kind"]
    r = api.post("/api/jobs/", {"kind": "musrenbang_export", "format": "pdf"}, format="json")
    assert r.status_code == 400 and "format" in r.json()["errors"]
    r = api.post("/api/jobs/", {"kind": "needs", "roads": "all"}, format="json")
    assert r.status_code == 400 and "roads" in r.json()["errors"]
    r = api.post("/api/jobs/", {"kind": "programme_export", "level": "planet"}, format="json")
    assert r.status_code == 400 and "level" in r.json()["errors"]
    assert client.post("/api/jobs/", {"kind": "needs"}, content_type="application/json").status_code in (401, 403)
    viewer = django_user_model.objects.create_user("viewer18", password="x")
    client.force_login(viewer)
    assert client.post("/api/jobs/", {"kind": "needs"}, content_type="application/json").status_code == 403
    mine = client.post("/api/jobs/", {"kind": "musrenbang_export", "format": "csv"}, content_type="application/json")
    assert mine.status_code == 202
    # someone else's job is not found
    theirs = start(api, "musrenbang_export", format="csv")
    assert client.get(f"/api/jobs/{theirs['id']}/").status_code == 404
    assert client.get(f"/api/jobs/{mine.json()['id']}/").status_code == 200
    finished(api, theirs["id"])


# --- POST /api/needs/compute/ off the request path: all roads, or more than COMPUTE_SYNC_MAX_ROADS, as a job ---

def _arterial_expectations():
    L = geodesic_length(road_coords(JAKARTA_ARTERIAL))  # 296.69 m, no PJU: under-lit over its whole length
    return L, math.ceil(L / 35)  # arterial spacing 35 m (SPEC §5): 9 poles


def _compute_job_done(api, response, road, L, poles):
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == "needs" and body["status"] in ("queued", "running", "done")
    assert response["Location"].endswith(f"/api/jobs/{body['id']}/") and response["Location"] == body["url"]
    state = finished(api, response["Location"])
    assert state["status"] == "done" and state["progress"] == 1.0, state
    assert LightingGap.objects.filter(road=road).count() == 1
    assert sum(LightingGap.objects.filter(road=road).values_list("length_m", flat=True)) == pytest.approx(L, abs=0.5)
    assert ProposedPJU.objects.filter(road=road).count() == poles
    assert BackgroundJob.objects.get(pk=body["id"]).created_by.username == "planner18"
    return state


def test_full_compute_api_is_a_background_job(api, celery_worker):
    road = make_road(JAKARTA_ARTERIAL, "arterial")
    L, poles = _arterial_expectations()
    state = _compute_job_done(api, api.post("/api/needs/compute/", {}, format="json"), road, L, poles)
    assert state["result"]["full"] is True and state["result"]["gaps"] == 1 and state["result"]["proposed"] == poles


def test_compute_api_over_the_bound_is_a_job_a_small_list_stays_in_the_request(api, celery_worker):
    from needs.services import COMPUTE_SYNC_MAX_ROADS

    road = make_road(JAKARTA_ARTERIAL, "arterial")
    L, poles = _arterial_expectations()
    small = api.post("/api/needs/compute/", {"roads": [road.pk]}, format="json")
    assert small.status_code == 200, small.content
    assert small.json()["roads"] == 1 and small.json()["gaps"] == 1 and small.json()["proposed"] == poles
    assert small.json()["underlit_m"] == pytest.approx(L, abs=0.5)
    assert not BackgroundJob.objects.exists()  # the planner's refresh after an edit is not queued
    LightingGap.objects.all().delete()
    ProposedPJU.objects.all().delete()
    many = list(range(road.pk, road.pk + COMPUTE_SYNC_MAX_ROADS + 1))  # the road and ids of no road
    _compute_job_done(api, api.post("/api/needs/compute/", {"roads": many}, format="json"), road, L, poles)


@pytest.fixture
def broker_down():
    """The Celery app sends to a Redis port nothing listens on (a real, unreachable broker)."""
    from geo_platform.celery import app

    before = app.conf.broker_url, app.conf.task_always_eager
    app.conf.update(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.update(broker_url=before[0], task_always_eager=before[1])
    app._pool = None
    app.amqp._producer_pool = None


def test_full_compute_api_runs_in_the_request_when_the_broker_is_down(api, broker_down, caplog):
    road = make_road(JAKARTA_ARTERIAL, "arterial")
    L, poles = _arterial_expectations()
    with caplog.at_level("ERROR", logger="needs.services"):
        r = api.post("/api/needs/compute/", {}, format="json")
    assert r.status_code == 200, r.content
    assert any("could not queue the needs recomputation" in m for m in caplog.messages)  # tried the queue first
    assert r.json()["full"] is True and r.json()["gaps"] == 1 and r.json()["proposed"] == poles
    assert r.json()["underlit_m"] == pytest.approx(L, abs=0.5)
    assert LightingGap.objects.filter(road=road).count() == 1
    assert not BackgroundJob.objects.exists()  # no job left waiting for a queue that is down


def test_a_job_or_import_with_the_broker_down_is_a_503_and_fails_with_the_reason(api, broker_down, tmp_path):
    """Nothing waits `queued` for a worker that will never get it, and the client gets a 503 naming the queue
    (in Bahasa Indonesia by default, English with ?lang=en), not a 500."""
    from imports.models import ImportJob

    r = api.post("/api/jobs/", {"kind": "musrenbang_export", "format": "csv"}, format="json")
    assert r.status_code == 503, r.content
    assert set(r.json()) >= {"detail", "errors"} and "queue" in r.json()["errors"]
    assert "Antrean latar belakang tidak dapat dihubungi" in r.json()["detail"]  # Bahasa Indonesia by default
    job = BackgroundJob.objects.get()
    assert job.status == "failed" and "queue" in job.error and job.finished_at is not None

    path = tmp_path / "one_point.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                    '"geometry":{"type":"Point","coordinates":[106.8,-6.2]}}]}')
    with open(path, "rb") as fh:
        r = api.post("/api/imports/?lang=en", {"file": fh, "layer": "pju", "source": "down"}, format="multipart")
    assert r.status_code == 503, r.content
    assert "background queue" in r.json()["detail"]
    imp = ImportJob.objects.get()
    assert imp.status == "failed" and "queue" in imp.error
    assert not StreetLight.objects.filter(source="down").exists()
