"""Concurrent edits through the API, each thread on its own PostgreSQL
connection (transaction=True: the rows are committed and visible across
connections):

- N officers PATCH one PJU with the same version at the same moment: exactly
  one wins (200), every other gets 409 with the current feature;
- N clients each add K to a counter with read-modify-write and retry on
  409: the final value is exactly N·K (no lost update) and the version
  counts every successful write;
- the same client_id POSTed concurrently makes exactly one row."""
from __future__ import annotations

import threading
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from layers.models import AuditLog, StreetLight
from tests.reliability.support import client_for, user_in

pytestmark = pytest.mark.django_db(transaction=True)
N = 8


def run_together(fn, n=N):
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def officers():
    return [client_for(user_in("field_officer", name=f"petugas{i}")) for i in range(N)]


def test_same_version_patches_one_wins_rest_409(officers):
    pju = StreetLight.objects.create(status="working", geom=Point(106.62, -6.2, srid=4326))

    def patch(i):
        r = officers[i].patch(f"/api/pju/{pju.pk}/", {"properties": {"wattage_w": 100 + i, "version": 1}}, format="json")
        return r.status_code, r.json()

    results = run_together(patch)
    codes = sorted(c for c, _ in results)
    assert codes == [200] + [409] * (N - 1), codes
    winner = next(body for c, body in results if c == 200)
    for c, body in results:
        if c == 409:
            assert body["current"]["properties"]["version"] == 2
            assert body["current"]["properties"]["wattage_w"] == winner["properties"]["wattage_w"]
    pju.refresh_from_db()
    assert (pju.version, pju.wattage_w) == (2, winner["properties"]["wattage_w"])
    assert AuditLog.objects.filter(layer="pju", object_id=pju.pk, action="update").count() == 1


def test_read_modify_write_with_retry_loses_no_update(officers):
    k = 5
    pju = StreetLight.objects.create(status="working", wattage_w=0, geom=Point(106.62, -6.2, srid=4326))
    url = f"/api/pju/{pju.pk}/"

    def add(i):
        client, conflicts = officers[i], 0
        feature = client.get(url).json()
        for _ in range(k):
            while True:
                props = feature["properties"]
                r = client.patch(url, {"properties": {"wattage_w": props["wattage_w"] + 1, "version": props["version"]}}, format="json")
                if r.status_code == 200:
                    feature = r.json()
                    break
                assert r.status_code == 409, r.content
                conflicts += 1
                feature = r.json()["current"]
        return conflicts

    conflicts = run_together(add)
    pju.refresh_from_db()
    assert pju.wattage_w == N * k
    assert pju.version == 1 + N * k
    assert AuditLog.objects.filter(layer="pju", object_id=pju.pk, action="update").count() == N * k
    assert sum(conflicts) > 0  # the race really happened


def test_concurrent_repeats_of_one_client_id_make_one_row(officers):
    cid = str(uuid.uuid4())
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.62, -6.2]},
            "properties": {"status": "off", "client_id": cid}}

    results = run_together(lambda i: (lambda r: (r.status_code, r.json()["id"]))(officers[i].post("/api/pju/", body, format="json")))
    assert sorted(c for c, _ in results).count(201) == 1, results
    assert {c for c, _ in results} <= {200, 201}
    assert len({pk for _, pk in results}) == 1
    assert StreetLight.objects.filter(client_id=cid).count() == 1
