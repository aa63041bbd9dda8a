"""Web import jobs on a real Celery worker and Redis (issue 18, SPEC §9)."""
from __future__ import annotations

import io
import json
import os
import signal
import zipfile

import pandas as pd
import pyogrio
import pytest
from django.core.management import call_command

from imports.models import ImportJob
from layers.models import RoadSegment, StreetLight
from tests.conftest import shared_file
from tests.imports.conftest import MAX_UNZIPPED, pg_connect, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FINISHED = ("done", "failed", "cancelled")


def submit(api, path, layer, **fields):
    with open(path, "rb") as fh:
        r = api.post("/api/imports/", {"file": fh, "layer": layer, **fields}, format="multipart")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/imports/{body['id']}/")
    return body["id"]


def job_state(api, job_id) -> dict:
    r = api.get(f"/api/imports/{job_id}/")
    assert r.status_code == 200
    return r.json()


def finished(api, job_id, timeout=300) -> dict:
    return wait_for(lambda: (lambda s: s if s["status"] in FINISHED else None)(job_state(api, job_id)),
                    timeout=timeout, what=f"job {job_id} to finish")


def cli_report(path, layer, source) -> dict:
    out = io.StringIO()
    call_command("import_layer", str(path), "--layer", layer, "--source", source, "--dry-run", "--json", "--no-needs",
                 verbosity=0, stdout=out)
    return json.loads(out.getvalue())


def comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("file", "rejects_file", "dry_run")}


def lamps_gdf():
    return pyogrio.read_dataframe(shared_file("osm_porto/porto_street_lamps.geojson"))


def make_file(kind: str, tmp_path):
    """The same Porto street lamps (OSM, 94 nodes) in each supported format."""
    if kind == "geojson":
        return shared_file("osm_porto/porto_street_lamps.geojson"), "pju"
    if kind == "osm.pbf":
        return shared_file("osm_porto/porto.osm.pbf"), "pju"
    gdf = lamps_gdf()
    if kind == "gpkg":
        path = tmp_path / "lamps.gpkg"
        pyogrio.write_dataframe(gdf, path, driver="GPKG")
    elif kind == "kml":
        path = tmp_path / "lamps.kml"
        pyogrio.write_dataframe(gdf[["geometry"]].assign(name=gdf.get("id", gdf.index).astype(str)), path, driver="KML")
    elif kind == "zip":
        shp = tmp_path / "shp"
        shp.mkdir()
        pyogrio.write_dataframe(gdf[["geometry"]].assign(lamp_type="LED"), shp / "lamps.shp", driver="ESRI Shapefile")
        path = tmp_path / "lamps.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in shp.iterdir():
                zf.write(f, f.name)
    elif kind in ("csv", "xlsx"):
        table = pd.DataFrame({"kode": [f"P-{i}" for i in range(len(gdf))], "bujur": gdf.geometry.x, "lintang": gdf.geometry.y,
                              "jenis_lampu": "SON-T", "daya": "150"})
        table.loc[3, "bujur"] = None  # one row without coordinates: rejected in both paths
        path = tmp_path / f"lamps.{kind}"
        table.to_csv(path, index=False) if kind == "csv" else table.to_excel(path, index=False)
    return path, "pju"


@pytest.mark.parametrize("kind", ["geojson", "gpkg", "zip", "kml", "csv", "xlsx", "osm.pbf"])
def test_web_import_gives_the_command_line_report(kind, api, celery_worker, tmp_path):
    path, layer = make_file(kind, tmp_path)
    source = f"web-{kind}"
    expected = cli_report(path, layer, source)  # dry run: nothing written
    assert StreetLight.objects.filter(source=source).count() == 0
    state = finished(api, submit(api, path, layer, source=source))
    assert state["status"] == "done", state
    assert comparable(state["report"]) == comparable(expected)
    assert StreetLight.objects.filter(source=source).count() == expected["created"] > 0
    if expected["rejected"]:
        r = api.get(state["rejects_url"])
        assert r.status_code == 200 and b"reason" in b"".join(r.streaming_content)


def test_progress_is_monotonic_through_every_phase(api, celery_worker, tmp_path):
    from django.conf import settings

    # The first 4,000 of the demo file's 18,574 Jakarta OSM ways (the import and its needs job take a fifth of the time).
    demo_roads = settings.BASE_DIR / "data" / "demo" / "vector" / "jakarta_roads_osm_2012.gpkg"
    path = tmp_path / "jakarta_roads_4000.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(demo_roads, max_features=4000), path, layer="roads")
    job_id = submit(api, path, "roads", source="progress")
    seen = []

    def poll():
        s = job_state(api, job_id)
        seen.append((s["progress"], s["phase"]))
        return s if s["status"] in FINISHED else None

    state = wait_for(poll, timeout=600, what="the roads import")
    assert state["status"] == "done", state
    values = [p for p, _ in seen]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values), "progress went backwards"
    assert values[-1] == 1.0 and state["phase"] == "done"
    order = ["queued", "read", "validate", "membership", "write", "needs", "done"]
    phases = [order.index(ph) for _, ph in seen]
    assert phases == sorted(phases), "phases out of order"
    # Every feature of the file is accounted for (the file's own count, from GDAL).
    n = pyogrio.read_info(path)["features"]
    r = state["report"]
    assert r["features"] == n == r["created"] + r["updated"] + r["skipped"] + r["rejected"]
    assert RoadSegment.objects.filter(source="progress").count() == r["created"]


def _block_writes():
    """Hold a lock that the import's INSERT into the roads table waits for."""
    conn = pg_connect()
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("LOCK TABLE layers_roadsegment IN SHARE ROW EXCLUSIVE MODE")
    return conn


def _roads_file(tmp_path):
    """Porto roads (OSM) as a GeoPackage."""
    return shared_file("osm_porto/porto_roads.geojson")


def test_cancel_mid_import_leaves_zero_rows(api, celery_worker, tmp_path):
    lock = _block_writes()
    try:
        job_id = submit(api, _roads_file(tmp_path), "roads", source="cancelled")
        wait_for(lambda: job_state(api, job_id)["phase"] == "write", what="the job to reach the write phase")
        r = api.delete(f"/api/imports/{job_id}/")
        assert r.status_code == 202
    finally:
        lock.rollback()  # the INSERT runs now; the job sees the cancel and rolls back
        lock.close()
    state = finished(api, job_id)
    assert state["status"] == "cancelled"
    assert RoadSegment.objects.filter(source="cancelled").count() == 0
    # A queued job cancelled before the worker takes it.
    assert api.delete(f"/api/imports/{job_id}/").status_code == 202  # cancelling twice is harmless


def test_sigkill_of_the_worker_mid_import_leaves_nothing_half_written(api, celery_worker, tmp_path):
    path = _roads_file(tmp_path)
    expected = cli_report(path, "roads", "killed")
    lock = _block_writes()
    try:
        job_id = submit(api, path, "roads", source="killed")
        wait_for(lambda: job_state(api, job_id)["phase"] == "write", what="the job to reach the write phase")
        pid = ImportJob.objects.get(pk=job_id).worker_pid
        assert pid and pid != celery_worker.pid
        os.kill(pid, signal.SIGKILL)  # the pool process running the import
        # Celery delivers the task again; the second attempt waits on the same lock.
        wait_for(lambda: ImportJob.objects.get(pk=job_id).attempts >= 2 or job_state(api, job_id)["status"] == "failed",
                 what="the retry")
        assert RoadSegment.objects.filter(source="killed").count() == 0
    finally:
        lock.rollback()
        lock.close()
    state = finished(api, job_id)
    assert state["status"] in ("done", "failed"), state
    count = RoadSegment.objects.filter(source="killed").count()
    if state["status"] == "done":  # retried to the end: the whole file, once
        assert comparable(state["report"]) == comparable(expected)
        assert count == expected["created"]
    else:
        assert count == 0


def _bad_files(tmp_path):
    corrupt = tmp_path / "corrupt.gpkg"
    corrupt.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    wrong = tmp_path / "report.pdf"
    wrong.write_bytes(b"%PDF-1.4\n%%EOF\n")
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("roads.shp", b"\0" * (MAX_UNZIPPED + 1024 * 1024))  # inflates past the worker's ceiling
    crs = tmp_path / "unknown_crs.geojson"
    crs.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:999999"}},
                               "features": [{"type": "Feature", "properties": {},
                                             "geometry": {"type": "Point", "coordinates": [700000, 9300000]}}]}))
    return {
        "corrupt": (corrupt, "cannot read corrupt.gpkg"),
        "wrong type": (wrong, "unsupported file type '.pdf'"),
        "0 bytes": (empty, "empty (0 bytes)"),
        "zip bomb": (bomb, "zip bomb"),
        "unsupported CRS": (crs, "EPSG:999999"),
    }


def test_bad_files_fail_with_a_clear_reason_and_write_nothing(api, celery_worker, tmp_path):
    for name, (path, reason) in _bad_files(tmp_path).items():
        job_id = submit(api, path, "pju", source=f"bad-{path.stem}")
        state = finished(api, job_id)
        assert state["status"] == "failed", (name, state)
        assert reason in state["error"], (name, state["error"])
        assert StreetLight.objects.filter(source=f"bad-{path.stem}").count() == 0


def test_planners_and_admins_only(client, django_user_model, celery_worker):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.post("/api/imports/", {"layer": "pju"}).status_code in (401, 403)
    officer = django_user_model.objects.create_user("officer18", password="x")
    c = APIClient()
    c.force_authenticate(officer)
    r = c.post("/api/imports/", {"layer": "pju"})
    assert r.status_code == 403 and "detail" in r.json()
    assert c.options("/api/uploads/").status_code == 403


def test_bad_requests_get_400(api, celery_worker):
    r = api.post("/api/imports/", {"layer": "rivers"}, format="multipart")
    assert r.status_code == 400 and "layer" in r.json()["errors"]
    r = api.post("/api/imports/", {"layer": "pju"}, format="multipart")
    assert r.status_code == 400 and "detail" in r.json()
