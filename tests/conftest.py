"""Shared fixtures. Tests run against real PostGIS (pytest-django creates
test_<name> with the postgis extension); a missing database fails."""
import os
from pathlib import Path

import pytest
from django.conf import settings

SHARED = Path(settings.SHARED_DATA_DIR)
OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"


def shared_file(relative: str) -> Path:
    """A file from ../shared/data (GEO_PLATFORM_SHARED_DATA). The openly licensed
    files also live in data/demo; the unlicensed Indonesian tables only there."""
    path = SHARED / relative
    if not SHARED.exists():
        pytest.skip(f"shared data folder {SHARED} is absent (set GEO_PLATFORM_SHARED_DATA)")
    assert path.exists(), f"missing shared data file {path}"
    return path


@pytest.fixture
def output_dir():
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Users are created and log in by the hundred: see tests/hashers.py
    (the product's settings keep Django's default hashers)."""
    from django.conf import settings as django_settings
    from django.test.utils import override_settings

    fast = "tests.hashers.FastPBKDF2PasswordHasher"
    default = [h for h in django_settings.PASSWORD_HASHERS if not h.endswith(".PBKDF2PasswordHasher")]
    with override_settings(PASSWORD_HASHERS=[fast, *default]):
        yield


@pytest.fixture(scope="session", autouse=True)
def migration_data(django_db_setup, django_db_blocker):
    """Rows written by data migrations (estimates' templates, prices,
    treatments) are emptied by the flush that ends each transactional test;
    with --reuse-db a later session would start without them. Load them (an
    idempotent upsert) when the session starts and again when it ends."""
    from estimates import demo as estimates_demo

    with django_db_blocker.unblock():
        estimates_demo.load()
    yield
    with django_db_blocker.unblock():
        estimates_demo.load()


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Issue 18: a task queued by a test without a real worker (a citizen
    report's needs refresh) runs in the test's process, never on a broker
    another worker reads; tests using the `celery_worker` fixture get the
    real worker on their own Redis database."""
    from geo_platform.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = "celery_worker" not in request.fixturenames
    yield
    app.conf.task_always_eager = before
