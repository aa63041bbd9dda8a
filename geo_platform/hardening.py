"""Production hardening middleware (issue 9).

Body size: a request whose Content-Length exceeds the limit gets 413 with the
API error shape before anything reads it: DATA_UPLOAD_MAX_MEMORY_SIZE for
non-multipart bodies (JSON, GeoJSON, forms), MAX_REQUEST_BODY_BYTES (default
IMAGERY_MAX_UPLOAD_BYTES + 1 MiB) for multipart uploads.

Login rate limiting: after LOGIN_RATE_LIMIT failed logins for one username from
one client address within LOGIN_RATE_WINDOW seconds (issue 12: keyed on both), further login POSTs for it
(`/login/`, `/admin/login/`, any path in LOGIN_RATE_PATHS) get 429 until the
window passes. Failures are counted from Django's `user_login_failed`
signal, so every login form that calls `authenticate(request, ...)` is
covered; a successful login clears the count. The count lives in the
"default" cache (per process with LocMemCache: use a shared cache such as
Redis or Memcached when several workers must share it)."""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import JsonResponse

from geo_platform.errors import error


def _client_key(request, username: str | None = None) -> str:
    """Issue 12: failures are counted per (address, username), so one address's failures for one name
    never lock out another user behind the same address (NAT, office proxy) or the same user elsewhere."""
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    if username is None:
        username = _posted_username(request)
    digest = hashlib.sha256((username or "").strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"login-failures:{address}:{digest}"


def _posted_username(request) -> str:
    if request is None or request.method != "POST":
        return ""
    try:
        return str(request.POST.get("username", ""))
    except Exception:  # an unreadable body: the form will refuse it
        return ""


def _limit() -> tuple[int, int]:
    return int(getattr(settings, "LOGIN_RATE_LIMIT", 10)), int(getattr(settings, "LOGIN_RATE_WINDOW", 300))


@receiver(user_login_failed)
def _count_failure(sender, credentials=None, request=None, **kwargs):
    if request is None:
        return
    _, window = _limit()
    username = (credentials or {}).get("username")
    key = _client_key(request, None if username is None else str(username))
    if cache.add(key, 1, timeout=window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)


@receiver(user_logged_in)
def _clear_failures(sender, request=None, user=None, **kwargs):
    if request is not None:
        cache.delete(_client_key(request, user.get_username() if user is not None else None))
        cache.delete(_client_key(request))


def _too_large(limit: int) -> JsonResponse:
    return error(413, f"request body too large: at most {limit:,} bytes are allowed", {"body": [f"more than {limit} bytes"]})


# Issue 15: apps that accept large multipart uploads register their limit here (the kernel imports no app):
# a function returning bytes; the largest registered limit (+1 MiB envelope) bounds a multipart body.
MULTIPART_LIMITS: list = []


def register_multipart_limit(limit_bytes) -> None:
    if limit_bytes not in MULTIPART_LIMITS:
        MULTIPART_LIMITS.append(limit_bytes)


def multipart_limit() -> int | None:
    configured = getattr(settings, "MAX_REQUEST_BODY_BYTES", None)
    if configured:
        return int(configured)
    if not MULTIPART_LIMITS:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return max(int(f()) for f in MULTIPART_LIMITS) + 1024 * 1024


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Issue 18: a tus PATCH body streams to disk, bounded by its upload's declared length.
        if length and request.META.get("CONTENT_TYPE", "") != "application/offset+octet-stream":
            if request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
                limit = multipart_limit()
            else:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                return _too_large(limit)
        return self.get_response(request)


class LoginRateLimitMiddleware:
    """Refuses login POSTs with 429 (Retry-After) once the limit is reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in getattr(settings, "LOGIN_RATE_PATHS", ("/login/", "/admin/login/")):
            limit, window = _limit()
            if (cache.get(_client_key(request)) or 0) >= limit:
                response = error(429, f"too many failed logins for this user from this address; try again in {window // 60} minutes",
                                 {"login": [f"more than {limit} failed attempts within {window} s"]})
                response["Retry-After"] = str(window)
                return response
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """While PostgreSQL is unreachable (restart, failover) requests get a
    503 with Retry-After and the API error shape instead of a 500 page; the
    broken connection is dropped, and CONN_HEALTH_CHECKS reconnects on the
    next request once the database is back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # raised outside a view (e.g. a middleware's query)
            return self.process_exception(request, exc)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        from django.db import connections

        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        response = error(503, "the database is unavailable; try again shortly", {"database": ["unavailable"]})
        response["Retry-After"] = "5"
        return response


# ---------------------------------------------------------------- issue 12
def _is_loopback(request) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class RejectNulMiddleware:
    """A NUL byte in the path or query string is a 400 (PostgreSQL cannot store or compare it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query.lower() or "\x00" in query:
            return error(400, "NUL characters are not allowed in the URL", {"query": ["contains NUL"]})
        return self.get_response(request)


class LocalDebugMiddleware:
    """DEBUG pages (tracebacks, URL lists) only for clients on the loopback interface: anyone else gets
    the plain pages of a production server, even when `make run` serves on a public address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (settings.DEBUG and response.status_code == 404 and not _is_loopback(request)
                and response.get("Content-Type", "").startswith("text/html")):
            from django.views import defaults

            from geo_platform.errors import not_found

            return not_found(request) if request.path.startswith(("/api/", "/tiles/", "/ogc/", "/imagery/")) else \
                defaults.page_not_found(request, None)
        return response


try:
    from django.views.debug import ExceptionReporter as _ExceptionReporter
except ImportError:  # pragma: no cover
    _ExceptionReporter = object


class LocalOnlyExceptionReporter(_ExceptionReporter):
    """DEFAULT_EXCEPTION_REPORTER: the technical 500 page only for loopback clients."""

    def _hidden(self) -> bool:
        return self.request is not None and not _is_loopback(self.request)

    def get_traceback_html(self):
        if self._hidden():
            return "<!doctype html><title>Server error</title><h1>Server error (500)</h1>"
        return super().get_traceback_html()

    def get_traceback_text(self):
        if self._hidden():
            return "Server error (500)"
        return super().get_traceback_text()


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname.replace("{s}", "*")
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return ""


def content_security_policy(script_hashes=()) -> str:
    """The platform's CSP: everything from the platform's own origin; inline scripts only by hash
    (folium's map set-up, Django admin's and Swagger UI's bootstraps); basemap tiles from BASEMAP_URL."""
    basemap = _origin(getattr(settings, "BASEMAP_URL", ""))
    scripts = " ".join(["'self'", *sorted(set(script_hashes))])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{' ' + basemap if basemap else ''}",
        "font-src 'self' data:",
        f"connect-src 'self'{' ' + basemap if basemap else ''}",  # the field app's service worker caches basemap tiles
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class ContentSecurityPolicyMiddleware:
    """Issue 12: a Content-Security-Policy on every response that has none (HTML pages get the hashes
    of their own inline scripts, so nothing else inline runs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        hashes = ()
        if (response.get("Content-Type", "").startswith("text/html") and not response.streaming
                and not response.get("Content-Encoding")):
            hashes = tuple(
                "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
                for body in _INLINE_SCRIPT.findall(response.content) if body.strip()
            )
        response["Content-Security-Policy"] = content_security_policy(hashes)
        return response
