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


@pytest.fixture
def fuzz_world(db, tmp_path, settings, in_process_wsgi):
    from imagery.services import imagery_ingest

    settings.IMAGERY_ROOT = tmp_path / "imagery"
    settings.BASEMAP_URL = ""
    make_city(n_lights=10)
    dem = tmp_path / "dem.tif"
    write_dem(dem)
    imagery_ingest(source=dem, kind="dem")
    token = client_for(user_in(None, superuser=True, name="fuzzer"))._credentials["HTTP_AUTHORIZATION"]
    return {"Authorization": token, "Accept-Encoding": "identity"}


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
