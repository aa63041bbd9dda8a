"""tus 1.0 resumable uploads at /api/uploads/ (SPEC §9), over real HTTP on
pytest-django's live server: a connection broken half-way, then resumed."""
from __future__ import annotations

import base64
import hashlib
import socket
from urllib.parse import urlsplit

import pytest
import requests
from rest_framework.authtoken.models import Token

from imports.models import Upload
from layers.models import StreetLight
from tests.conftest import shared_file
from tests.imports.conftest import wait_for
from tests.imports.test_jobs import cli_report, comparable

pytestmark = pytest.mark.django_db(transaction=True)
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def auth(planner, upload_dir):
    return {"Authorization": f"Token {Token.objects.create(user=planner).key}"}


def create(live_server, auth, length: int, filename: str) -> str:
    meta = "filename " + base64.b64encode(filename.encode()).decode()
    r = requests.post(f"{live_server.url}/api/uploads/", headers={**TUS, **auth, "Upload-Length": str(length),
                                                                  "Upload-Metadata": meta}, timeout=60)
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Upload-Offset"] == "0"
    return r.headers["Location"]


def offset(location, auth) -> int:
    r = requests.head(location, headers={**TUS, **auth}, timeout=60)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    return int(r.headers["Upload-Offset"])


def broken_patch(location, auth, start: int, length: int, blocks) -> None:
    """PATCH announcing `length` bytes from `start`, send only what `blocks` yields, then drop the connection."""
    url = urlsplit(location)
    sock = socket.create_connection((url.hostname, url.port), timeout=120)
    head = (f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: {auth['Authorization']}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {start}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode())
    for block in blocks:
        sock.sendall(block)
    sock.shutdown(socket.SHUT_WR)
    sock.close()


def test_protocol_basics(live_server, auth):
    r = requests.options(f"{live_server.url}/api/uploads/", headers=auth, timeout=30)
    assert r.status_code == 204 and r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) >= {"creation", "termination"}
    # Tus-Resumable is required; a wrong offset is a conflict; the body type is fixed.
    assert requests.post(f"{live_server.url}/api/uploads/", headers={**auth, "Upload-Length": "10"}, timeout=30).status_code == 412
    location = create(live_server, auth, 10, "a.csv")
    base = {**TUS, **auth, "Content-Type": "application/offset+octet-stream"}
    assert requests.patch(location, data=b"12345", headers={**base, "Upload-Offset": "3"}, timeout=30).status_code == 409
    assert requests.patch(location, data=b"12345", headers={**base, "Content-Type": "text/plain", "Upload-Offset": "0"},
                          timeout=30).status_code == 415
    r = requests.patch(location, data=b"12345", headers={**base, "Upload-Offset": "0"}, timeout=30)
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "5"
    assert offset(location, auth) == 5
    assert requests.delete(location, headers={**TUS, **auth}, timeout=30).status_code == 204
    assert requests.head(location, headers={**TUS, **auth}, timeout=30).status_code == 404


def test_upload_broken_half_way_resumes_and_imports(live_server, auth, api, celery_worker):
    path = shared_file("osm_porto/porto_street_lamps.geojson")
    data = path.read_bytes()
    half = len(data) // 2
    location = create(live_server, auth, len(data), "porto_lamps.geojson")
    broken_patch(location, auth, 0, len(data), [data[:half]])
    got = wait_for(lambda: (lambda n: n if n == half else None)(offset(location, auth)), what="the server to keep the first half")
    r = requests.patch(location, data=data[got:], timeout=60,
                       headers={**TUS, **auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(got)})
    assert r.status_code == 204 and int(r.headers["Upload-Offset"]) == len(data)
    upload = Upload.objects.get(pk=location.rstrip("/").rsplit("/", 1)[-1])
    with open(upload.path, "rb") as fh:
        assert hashlib.sha256(fh.read()).digest() == hashlib.sha256(data).digest()
    # The finished upload becomes an import job.
    expected = cli_report(path, "pju", "tus")
    r = api.post("/api/imports/", {"upload": location, "layer": "pju", "source": "tus"}, format="json")
    assert r.status_code == 202, r.content
    state = wait_for(lambda: (lambda s: s if s["status"] in ("done", "failed") else None)(api.get(r.json()["url"]).json()))
    assert state["status"] == "done" and comparable(state["report"]) == comparable(expected)
    assert StreetLight.objects.filter(source="tus").count() == expected["created"]


def test_unfinished_upload_cannot_be_imported(live_server, auth, api):
    location = create(live_server, auth, 100, "x.csv")
    r = api.post("/api/imports/", {"upload": location, "layer": "pju"}, format="json")
    assert r.status_code == 400 and "0 of 100 bytes" in r.json()["detail"]


BLOCK = 4 * 1024 * 1024


def block(i: int) -> bytes:
    """Block i of the big upload: 4 MiB whose content names its position (a misplaced block changes the hash)."""
    return i.to_bytes(8, "little") * (BLOCK // 8)


@pytest.mark.slow
def test_two_gigabyte_upload_resumes_after_a_broken_connection(live_server, auth):
    n = 2 * 1024**3 // BLOCK + 1  # 2 GiB + 4 MiB
    total = n * BLOCK
    location = create(live_server, auth, total, "big.gpkg")
    broken_patch(location, auth, 0, total, (block(i) for i in range(n // 2)))
    got = wait_for(lambda: (lambda v: v if v == (n // 2) * BLOCK else None)(offset(location, auth)),
                   timeout=900, what="the first half on disk")
    # Resume from the server's offset (a whole number of blocks here).
    url = urlsplit(location)
    sock = socket.create_connection((url.hostname, url.port), timeout=300)
    sock.sendall((f"PATCH {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                  f"Authorization: {auth['Authorization']}\r\nContent-Type: application/offset+octet-stream\r\n"
                  f"Upload-Offset: {got}\r\nContent-Length: {total - got}\r\nConnection: close\r\n\r\n").encode())
    for i in range(got // BLOCK, n):
        sock.sendall(block(i))
    reply = sock.makefile("rb").readline()
    sock.close()
    assert b" 204 " in reply, reply
    assert offset(location, auth) == total
    upload = Upload.objects.get(pk=location.rstrip("/").rsplit("/", 1)[-1])
    expected, actual = hashlib.sha256(), hashlib.sha256()
    for i in range(n):
        expected.update(block(i))
    with open(upload.path, "rb") as fh:
        while chunk := fh.read(BLOCK):
            actual.update(chunk)
    assert actual.digest() == expected.digest()
    assert requests.delete(location, headers={**TUS, **auth}, timeout=60).status_code == 204
