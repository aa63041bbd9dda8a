"""`make run`'s web server is bounded (issue 18): the Procfile's `web:` line
(uvicorn, ASGI) against the test database, four Chromium pages opening the
planner map at once. While the roads table is locked every roads-tile
request waits holding its database connection, so the server's connections
climb to the bound and must stop there; then the lock goes and every page
finishes loading."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from layers.importers.service import import_layer
from tests.conftest import shared_file
from tests.imports.conftest import database_url, pg_connect, wait_for
from tests.webapp.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "geo_platform-bound-test"
WORKERS, PER_WORKER = 1, 4  # one process: the bound is reached whatever the kernel's accept order
BOUND = WORKERS * PER_WORKER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name}: line in the Procfile")


@pytest.fixture
def web_server():
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "PGAPPNAME": APP_NAME, "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_WORKERS": str(WORKERS), "WEB_MAX_CONCURRENT_REQUESTS": str(PER_WORKER), "BASEMAP_URL": "",
           "PUBLIC_READ": "1", "DJANGO_DEBUG": "1", "DB_CONN_MAX_AGE": "3600"}  # no reconnects mid-test
    env.pop("GEO_PLATFORM_TEST_DB", None)
    proc = subprocess.Popen(["/bin/sh", "-c", procfile_command("web")], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(url + "/api/", timeout=60).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            assert proc.poll() is None, "the web server exited"
            return False

    try:
        wait_for(up, timeout=120, what="the web server")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def server_connections(cur) -> int:
    # Client connections only: a parallel query's workers carry their leader's application_name
    # but are not connections (PostgreSQL bounds them by max_parallel_workers).
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND backend_type = 'client backend'",
                [APP_NAME])
    return cur.fetchone()[0]


def test_map_in_several_browsers_stays_within_the_connection_bound(web_server):
    from playwright.sync_api import sync_playwright

    import_layer(shared_file("osm_porto/porto_street_lamps.geojson"), "pju", source="bound", progress=False)
    import_layer(shared_file("osm_porto/porto_roads.geojson"), "roads", source="bound", progress=False)
    watcher, lock = pg_connect(), pg_connect()
    peak, stop = [0], threading.Event()

    def watch():
        with watcher.cursor() as cur:
            while not stop.is_set():
                peak[0] = max(peak[0], server_connections(cur))
                stop.wait(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    tiles, errors = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # A browser context each: Chromium's six connections per host are per context.
            # bypass_csp: wait_for_function evaluates strings, which the platform's CSP forbids (as tests/webapp).
            pages = [browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True).new_page() for _ in range(4)]
            for page in pages:
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("response", lambda r: tiles.append(r.status) if "/tiles/roads/" in r.url else None)
                page.goto(web_server + "/map/")
                page.wait_for_function("window.GP && GP.ready === true")
            lock.autocommit = False
            with lock.cursor() as cur:
                cur.execute("LOCK TABLE layers_roadsegment IN ACCESS EXCLUSIVE MODE")
            for page in pages:  # Porto at zoom 16: a screenful of roads tiles each
                page.evaluate("() => { gpMap.setView([41.15, -8.61], 16, {animate: false}); return true; }")
            # Roads tiles wait on the lock, each holding a connection: the count reaches the bound …
            wait_for(lambda: peak[0] >= BOUND, timeout=120, what=f"{BOUND} server connections")
            lock.rollback()  # … and the waiting requests go through
            for page in pages:
                page.wait_for_function("!GP.layers.roads.isLoading()", timeout=120_000)
            browser.close()
    finally:
        stop.set()
        thread.join()
        lock.close()
        watcher.close()
    assert not errors, errors
    assert len(tiles) > BOUND and all(status == 200 for status in tiles), tiles
    assert peak[0] == BOUND, f"{peak[0]} connections, bound {BOUND}"
