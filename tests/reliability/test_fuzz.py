"""Property-based fuzzing of the whole API with schemathesis (issue 9):
every operation of /api/schema/, bounded (FUZZ_EXAMPLES per operation,
default 15) and deterministic (derandomized Hypothesis, fixed seed), sent
in-process through the WSGI application as an admin (so writes are
exercised too) against a small real city in PostGIS. Checks: no 5xx, and
responses match the schema (content type and body schema where the schema
documents them). The number of cases run is written to
test-output/reliability_fuzz.json."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from geo_platform.wsgi import application
from tests.reliability.support import client_for, make_city, user_in, write_dem

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 15))
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CASES: dict[str, int] = {}


@pytest.fixture
def in_process_wsgi():
    """Keep the test's database connection open across WSGI requests (as
    Django's test client does): the handler would close it after each one."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def fuzz_city(django_db_setup, django_db_blocker, tmp_path_factory):
    """The city, DEM and admin, made once for the module inside a transaction
    rolled back at its end; each operation's test runs in a savepoint of it
    (pytest-django's `db`), so what its cases write is undone before the next."""
    from django.db import transaction
    from django.test.utils import override_settings

    from imagery.services import imagery_ingest

    tmp = tmp_path_factory.mktemp("fuzz")
    with override_settings(IMAGERY_ROOT=tmp / "imagery", BASEMAP_URL=""), django_db_blocker.unblock():
        with transaction.atomic():
            make_city(n_lights=10)
            dem = tmp / "dem.tif"
            write_dem(dem)
            imagery_ingest(source=dem, kind="dem")
            token = client_for(user_in(None, superuser=True, name="fuzzer"))._credentials["HTTP_AUTHORIZATION"]
            yield {"imagery": tmp / "imagery", "headers": {"Authorization": token, "Accept-Encoding": "identity"}}
            transaction.set_rollback(True)


@pytest.fixture
def fuzz_world(fuzz_city, db, tmp_path, settings, in_process_wsgi):
    # a copy of the module's imagery folder per operation: a case deleting the DEM removes only this copy's COG
    settings.IMAGERY_ROOT = tmp_path / "imagery"
    shutil.copytree(fuzz_city["imagery"], settings.IMAGERY_ROOT)
    settings.BASEMAP_URL = ""
    return fuzz_city["headers"]


@schema.parametrize()
@seed(20261122)
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_fuzz(fuzz_world, case):
    label = f"{case.method.upper()} {case.path}"
    CASES[label] = CASES.get(label, 0) + 1
    response = case.call(headers=fuzz_world)
    case.validate_response(response, checks=[not_a_server_error, content_type_conformance, response_schema_conformance])


@pytest.fixture(scope="module", autouse=True)
def _write_counts():
    yield
    out = Path(__file__).resolve().parents[2] / "test-output"
    out.mkdir(exist_ok=True)
    (out / "reliability_fuzz.json").write_text(json.dumps({"total": sum(CASES.values()), "per_operation": CASES}, indent=1))
