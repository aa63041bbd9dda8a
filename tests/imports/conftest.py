"""Import job tests (issue 18): a real Celery worker (a subprocess, prefork
pool of one) on a real Redis, against the test database. The broker is a
Redis database of its own (TEST_CELERY_BROKER_URL, default DB 15), emptied
when the worker starts, so nothing else interferes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# The zip-bomb test needs a small ceiling (the default is 4 GB).
MAX_UNZIPPED = 20 * 1024 * 1024


def database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
    return f"postgis://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def pg_connect():
    db = connection.settings_dict
    conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"] or None, password=db.get("PASSWORD") or None,
                            host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432)
    conn.autocommit = True
    return conn


def wait_for(predicate, timeout=180.0, what="condition"):
    """Poll until predicate() is truthy (generous timeout; no timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def upload_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("imports")
    settings.IMPORT_UPLOAD_DIR = path
    return path


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, upload_dir):
    import redis

    from geo_platform.celery import app

    subprocess.run([str(ROOT / "scripts/ensure_redis.sh")], check=True, env={**os.environ, "CELERY_BROKER_URL": BROKER})
    redis.Redis.from_url(BROKER).flushdb()
    app.conf.update(broker_url=BROKER, result_backend=BROKER, task_always_eager=False)
    # A producer pool made earlier in the session (e.g. by an eager task) still points at the old broker.
    app._pool = None
    app.amqp._producer_pool = None
    with django_db_blocker.unblock():
        url = database_url()
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": BROKER, "CELERY_RESULT_BACKEND": BROKER,
           "IMPORT_UPLOAD_DIR": str(upload_dir), "IMPORT_MAX_UNZIPPED_BYTES": str(MAX_UNZIPPED),
           "GEO_PLATFORM_SHARED_DATA": str(settings.SHARED_DATA_DIR), "PYTHONUNBUFFERED": "1",
           "IMAGERY_ROOT": str(upload_dir / "imagery")}  # imagery jobs write their COGs here
    env.pop("GEO_PLATFORM_TEST_DB", None)
    log = open(upload_dir / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "geo_platform", "worker", "--pool", "prefork", "--concurrency", "1",
         "--loglevel", "info", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(lambda: b"ready." in (upload_dir / "worker.log").read_bytes() or proc.poll() is not None,
                 timeout=120, what="the Celery worker to start")
        assert proc.poll() is None, (upload_dir / "worker.log").read_text(errors="replace")
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def planner(django_user_model):
    from django.contrib.auth.models import Group

    from layers.permissions import ensure_groups

    ensure_groups()
    user = django_user_model.objects.create_user("planner18", password="x")
    user.groups.add(Group.objects.get(name="planner"))
    return user


@pytest.fixture
def api(planner):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(planner)
    return client
