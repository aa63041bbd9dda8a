"""Fault tests on a throwaway PostgreSQL cluster (tests/reliability/cluster.py),
never the machine's shared one:

- an import SIGKILLed while it is writing leaves no row behind, and the same
  import run again afterwards lands completely;
- PostgreSQL stopped (immediate mode = a crash) and started again under
  load: the service (gunicorn, 2 workers, persistent connections) answers
  503 during the outage, recovers by itself, and every write it acknowledged
  is in the database afterwards; retries with the same client_id create no
  duplicates. Figures go to test-output/reliability_faults.json."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import requests
from shapely import points

from tests.reliability.cluster import ROOT, Cluster, _free_port, wait_until

FIGURES: dict = {}


@pytest.fixture(scope="module")
def cluster():
    c = Cluster().init()
    c.migrate()
    yield c
    c.destroy()


def _env(cluster) -> dict:
    env = {**os.environ, "DATABASE_URL": cluster.url, "DJANGO_DEBUG": "1", "BASEMAP_URL": ""}
    env.pop("GEO_PLATFORM_TEST_DB", None)
    return env


def _write_points(path: Path, n: int) -> None:
    rng = np.random.default_rng(9)
    geoms = points(rng.uniform(106.55, 106.70, n), rng.uniform(-6.30, -6.10, n))
    gpd.GeoDataFrame({"kode": [f"K{i}" for i in range(n)], "status": ["working"] * n}, geometry=geoms, crs=4326).to_file(path)


def test_import_killed_midway_leaves_no_rows(cluster, tmp_path):
    n = 60_000  # more than one READ_BATCH (50,000) of the importer: read in two batches, staged in six
    path = tmp_path / "pju_big.gpkg"
    _write_points(path, n)
    assert cluster.psql("fault", "select count(*) from layers_streetlight") == "0"
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "manage.py", "import_layer", str(path), "--layer", "pju", "--json"],
        cwd=ROOT, env=_env(cluster), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    # "Mid-way" = the import's transaction is writing: the COPY of staging rows, the area membership
    # (INSERT INTO import_membership) or the upsert into the table (WITH written AS (INSERT …)).
    caught = {}

    def inserting():
        q = cluster.psql("fault", "select left(regexp_replace(query, '\\s+', ' ', 'g'), 40) from pg_stat_activity "
                                  "where datname = 'fault' and state = 'active' and backend_xid is not null "
                                  "and (query ilike '%insert into%' or query ilike 'copy %') and pid <> pg_backend_pid() limit 1")
        caught["query"] = q
        return bool(q)

    writing = wait_until(inserting, timeout=120, step=0.01)
    assert writing is not None and proc.poll() is None, "the import finished or never started writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # The server notices the dead client and rolls its transaction back.
    gone = wait_until(lambda: cluster.psql(
        "fault", "select count(*) from pg_stat_activity where datname = 'fault' and pid <> pg_backend_pid() "
                 "and backend_type = 'client backend'") == "0", timeout=60)
    assert gone is not None
    for table in ("layers_streetlight", "layers_auditlog"):
        assert cluster.psql("fault", f"select count(*) from {table}") == "0", table
    # Its staging tables (a schema of the import's own, never committed) are gone too.
    assert cluster.psql("fault", "select count(*) from pg_namespace where nspname like 'import\\_%'") == "0"
    FIGURES["import_killed_after_s"] = round(writing, 2)
    FIGURES["import_killed_during"] = caught["query"]
    # Nothing is left that blocks a clean re-run.
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "import_layer", str(path), "--layer", "pju", "--json"],
        cwd=ROOT, env=_env(cluster), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["created"] == n
    assert cluster.psql("fault", "select count(*) from layers_streetlight") == str(n)


@pytest.fixture
def server(cluster):
    """gunicorn (2 sync workers) on a free loopback port against the throwaway cluster."""
    script = ("from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
              "u, _ = User.objects.get_or_create(username='fault_admin', defaults={'is_superuser': True, 'is_staff': True}); "
              "print(Token.objects.get_or_create(user=u)[0].key)")
    token = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", script], cwd=ROOT, env=_env(cluster),
                           capture_output=True, text=True, check=True, timeout=120).stdout.strip().splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "geo_platform.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--timeout", "60", "--graceful-timeout", "5"],
        cwd=ROOT, env=_env(cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/api/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    assert wait_until(up, timeout=60) is not None, "gunicorn did not start"
    yield base, token
    proc.terminate()
    proc.wait(timeout=30)


def test_database_restart_under_load(cluster, server):
    base, token = server
    headers = {"Authorization": f"Token {token}"}
    log: list[tuple[float, str, str, int]] = []  # (time, kind, client_id, status or -1)
    lock = threading.Lock()
    stop = threading.Event()

    def worker(k):
        session = requests.Session()
        rng = np.random.default_rng(k)
        while not stop.is_set():
            cid = str(uuid.uuid4())
            body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(rng.uniform(106.6, 106.7)), -6.2]},
                    "properties": {"status": "working", "client_id": cid}}
            try:
                status = session.post(f"{base}/api/pju/", json=body, headers=headers, timeout=15).status_code
            except requests.RequestException:
                status = -1
            try:
                read = session.get(f"{base}/api/pju/?limit=5", timeout=15).status_code
            except requests.RequestException:
                read = -1
            with lock:
                now = time.monotonic()
                log.append((now, "write", cid, status))
                log.append((now, "read", "", read))

    def writes(since: float, statuses=None) -> int:
        """Writes answered after `since` (with one of `statuses`, if given)."""
        with lock:
            return sum(1 for t, k, _, s in log if k == "write" and t > since and (statuses is None or s in statuses))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    # Waits on what the test needs to have seen, never on the clock: load running (acknowledged writes) …
    assert wait_until(lambda: writes(0, (201,)) >= 20, timeout=120) is not None, "no load before the stop"
    t_down = time.monotonic()
    cluster.stop("immediate")  # a crash: no checkpoint, WAL recovery on start
    # … the outage answered (503s after the stop) …
    assert wait_until(lambda: writes(t_down + 0.2, (503,)) >= 8, timeout=120) is not None, "no 503 during the outage"
    cluster.start()
    t_up = time.monotonic()
    recovered = wait_until(lambda: writes(t_up, (200, 201)) > 0, timeout=60)
    # … and, once recovered, a run of writes to check that all of them succeed.
    if recovered is not None:
        wait_until(lambda: writes(t_up + recovered) >= 12, timeout=60)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    outage = [(t, k, s) for t, k, _, s in log if t_down + 0.2 < t < t_up]
    assert recovered is not None, "the service did not recover after the database came back"
    assert outage, "no request was answered during the outage"
    outage_codes = {s for _, _, s in outage}
    assert outage_codes <= {503, 200, 201}, f"during the outage: {outage_codes} (expected 503 or an answer from before the stop)"
    assert 503 in outage_codes
    before = [s for t, k, _, s in log if t < t_down and k == "write"]
    assert before and set(before) <= {201}, set(before)
    after = [s for t, k, _, s in log if t > t_up + recovered and k == "write"]
    assert after and set(after) <= {201}, set(after)

    acknowledged = {cid for _, k, cid, s in log if k == "write" and s in (200, 201)}
    stored = set(cluster.psql("fault", "select client_id from layers_streetlight where client_id is not null").split())
    lost = acknowledged - stored
    assert not lost, f"{len(lost)} acknowledged writes lost"
    # Writes that got an error are retried with the same client_id: exactly one row each.
    failed = [cid for _, k, cid, s in log if k == "write" and s not in (200, 201)]
    for cid in failed[:50]:
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.65, -6.2]}, "properties": {"client_id": cid}}
        assert requests.post(f"{base}/api/pju/", json=body, headers=headers, timeout=15).status_code in (200, 201)
    dupes = cluster.psql("fault", "select count(*) - count(distinct client_id) from layers_streetlight where client_id is not null")
    assert dupes == "0"
    FIGURES.update(
        outage_s=round(t_up - t_down, 2), recovery_after_restart_s=round(recovered, 2),
        requests=len(log), acknowledged_writes=len(acknowledged), lost_writes=len(lost),
        answers_during_outage={str(c): sum(1 for *_, s in outage if s == c) for c in sorted(outage_codes)},
    )


@pytest.fixture(scope="module", autouse=True)
def _write_figures():
    yield
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "reliability_faults.json").write_text(json.dumps(FIGURES, indent=1))
