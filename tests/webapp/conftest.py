"""Browser tests: Playwright driving Debian's /usr/bin/chromium (no browser
download; launch arguments of STACK.md pitfall 12) against pytest-django's
live server (transactional database, real PostGIS). BASEMAP_URL is empty, so
no request may leave the machine: every page records each request's host."""
from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls of
# the tests themselves are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def offline_settings(settings, tmp_path):
    settings.BASEMAP_URL = ""  # no basemap: nothing may leave the machine
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_READ = True


class PageLog:
    """Requests (hosts), console errors and page errors of a page."""

    def __init__(self, page, server_url: str):
        self.page = page
        self.server_host = urlsplit(server_url).netloc
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def foreign_hosts(self) -> set[str]:
        hosts = set()
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.netloc != self.server_host:
                hosts.add(parts.netloc or url[:40])
        return hosts

    def paths(self, prefix: str) -> list[str]:
        return [urlsplit(u).path for u in self.urls if urlsplit(u).path.startswith(prefix)]


def png_bytes(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def login_cookie(live_server, user) -> dict:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


@pytest.fixture
def officer(transactional_db):
    from django.contrib.auth.models import Group, User

    from layers.permissions import ensure_groups

    ensure_groups()
    user = User.objects.create_user("petugas1", password="rahasia-123")
    user.groups.add(Group.objects.get(name="field_officer"))
    return user


def wait_for_service_worker(page, timeout_ms: int = 20000) -> None:
    ready = page.evaluate(
        "ms => Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise(r => setTimeout(() => r(false), ms))])",
        timeout_ms,
    )
    assert ready, "the service worker did not become ready"


def close_context(context) -> None:
    """Close a browser context only when no request is in flight: the live
    server answers in threads, and a tile request still reading a table when
    the transactional test's flush TRUNCATEs it ends in a deadlock."""
    for page in context.pages:
        try:  # the live stream (live/live.js) never goes idle: close it first
            page.evaluate("() => { if (window.geoLive) window.geoLive.close(); return true; }")
        except Exception:  # noqa: BLE001 - a closed or crashed page
            pass
        try:
            page.wait_for_load_state("networkidle", timeout=15000)
        except Exception:  # noqa: BLE001 - best effort; closing anyway
            pass
    context.close()


@pytest.fixture(autouse=True)
def _contexts_closed_before_flush(transactional_db, browser):
    """Whatever a test left open (a failure midway) is closed, idle first,
    before the database is flushed (this fixture is torn down before
    transactional_db, which it depends on)."""
    yield
    for context in list(browser.contexts):
        close_context(context)
