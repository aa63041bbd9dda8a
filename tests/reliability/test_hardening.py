"""Production settings and request hardening (issue 9):

- with DJANGO_DEBUG=0 the settings refuse to load without a real SECRET_KEY
  or with open/missing ALLOWED_HOSTS (checked in a fresh interpreter);
  with all set, cookies are Secure/HttpOnly, HSTS is on;
- session-authenticated API writes need the CSRF token (token auth does not);
- repeated failed logins from one address get 429 with Retry-After, on the
  site login and the admin login; the limit resets after a good login."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.test import Client

from tests.reliability.cluster import ROOT
from tests.reliability.support import client_for, user_in

pytestmark = pytest.mark.django_db
PROBE = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='geo_platform.settings'; "
         "from django.conf import settings; "
         "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, "
         "settings.SECURE_HSTS_SECONDS > 0)")


def _load(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, word", [
    ({"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "pju.example.go.id"}, "SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production", "DJANGO_ALLOWED_HOSTS": "pju.example.go.id"}, "SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "s" * 50}, "ALLOWED_HOSTS"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "s" * 50, "DJANGO_ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
    ({"DJANGO_PRODUCTION": "1", "DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY": "s" * 50, "DJANGO_ALLOWED_HOSTS": "pju.example.go.id"}, "DJANGO_DEBUG"),
    ({"DJANGO_PRODUCTION": "1"}, "SECRET_KEY"),  # production implies DEBUG off, then the key is required
])
def test_production_settings_refuse_unsafe_configuration(env, word):
    result = _load(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and word in result.stderr


@pytest.mark.parametrize("mode", [{"DJANGO_DEBUG": "0"}, {"DJANGO_PRODUCTION": "1"}])
def test_production_settings_with_real_values_are_hardened(mode):
    result = _load(**mode, DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="pju.example.go.id")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "True"]


def test_session_writes_need_the_csrf_token():
    user = user_in("planner", name="sesi")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.62, -6.2]}, "properties": {}}
    refused = client.post("/api/pju/", body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    token = "k" * 32  # a well-formed CSRF secret, as the csrftoken cookie carries it
    client.cookies["csrftoken"] = token
    accepted = client.post("/api/pju/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    # API tokens are not cookies: no CSRF for them.
    assert client_for(user).post("/api/pju/", body, format="json").status_code == 201


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_failed_logins_are_rate_limited(path, settings):
    cache.clear()
    settings.LOGIN_RATE_LIMIT, settings.LOGIN_RATE_WINDOW = 5, 300
    user_in(None, superuser=True, name="kepala")
    client = Client()
    codes = [client.post(path, {"username": "kepala", "password": f"salah{i}"}).status_code for i in range(5)]
    assert 429 not in codes
    blocked = client.post(path, {"username": "kepala", "password": "pw"})  # even the right password now waits
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) == 300
    assert "too many failed logins" in blocked.json()["detail"]
    other = Client(REMOTE_ADDR="10.9.8.7")  # another address is not affected
    assert other.post(path, {"username": "kepala", "password": "pw"}).status_code == 302
    cache.clear()


def test_good_login_clears_the_count(settings):
    cache.clear()
    settings.LOGIN_RATE_LIMIT = 3
    user_in(None, superuser=True, name="kepala2")
    client = Client()
    for i in range(2):
        client.post("/login/", {"username": "kepala2", "password": "salah"})
    assert client.post("/login/", {"username": "kepala2", "password": "pw"}).status_code == 302
    client.logout()
    for i in range(2):
        assert client.post("/login/", {"username": "kepala2", "password": "salah"}).status_code != 429
    cache.clear()
