"""Production hardening middleware (issue 9).

Body size: a request whose Content-Length exceeds the limit gets 413 with the
API error shape before anything reads it: DATA_UPLOAD_MAX_MEMORY_SIZE for
non-multipart bodies (JSON, GeoJSON, forms), MAX_REQUEST_BODY_BYTES (default
IMAGERY_MAX_UPLOAD_BYTES + 1 MiB) for multipart uploads.

Login rate limiting: after LOGIN_RATE_LIMIT failed logins from
one client address within LOGIN_RATE_WINDOW seconds, further login POSTs
(`/login/`, `/admin/login/`, any path in LOGIN_RATE_PATHS) get 429 until the
window passes. Failures are counted from Django's `user_login_failed`
signal, so every login form that calls `authenticate(request, ...)` is
covered; a successful login clears the count. The count lives in the
"default" cache (per process with LocMemCache: use a shared cache such as
Redis or Memcached when several workers must share it)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import JsonResponse


def _client_key(request) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return f"login-failures:{address}"


def _limit() -> tuple[int, int]:
    return int(getattr(settings, "LOGIN_RATE_LIMIT", 10)), int(getattr(settings, "LOGIN_RATE_WINDOW", 300))


@receiver(user_login_failed)
def _count_failure(sender, credentials=None, request=None, **kwargs):
    if request is None:
        return
    _, window = _limit()
    key = _client_key(request)
    if cache.add(key, 1, timeout=window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)


@receiver(user_logged_in)
def _clear_failures(sender, request=None, user=None, **kwargs):
    if request is not None:
        cache.delete(_client_key(request))


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"detail": f"request body too large: at most {limit:,} bytes are allowed", "errors": {"body": [f"more than {limit} bytes"]}},
        status=413,
    )


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
                from imagery.conf import max_upload_bytes

                limit = int(getattr(settings, "MAX_REQUEST_BODY_BYTES", None) or max_upload_bytes() + 1024 * 1024)
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
                response = JsonResponse(
                    {
                        "detail": f"too many failed logins from this address; try again in {window // 60} minutes",
                        "errors": {"login": [f"more than {limit} failed attempts within {window} s"]},
                    },
                    status=429,
                )
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
        response = JsonResponse(
            {"detail": "the database is unavailable; try again shortly", "errors": {"database": ["unavailable"]}},
            status=503,
        )
        response["Retry-After"] = "5"
        return response
