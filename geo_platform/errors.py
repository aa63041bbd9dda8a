"""The one exception → HTTP status table (titiler's DEFAULT_STATUS_CODES) and
the one error shape of SPEC §4: ``{"detail": "...", "errors": {...}}``.

- Apps ``register(ExceptionClass, status, field=...)`` their domain exceptions
  (usually where they define them); an exception may add keys to the body with
  an ``extra()`` method (e.g. a 409's ``current`` Feature).
- DRF views get it through ``EXCEPTION_HANDLER`` (`exception_handler`); plain
  Django views through `json_errors` (a decorator) or `error_response`.
- Messages are in the request's language (LocaleMiddleware, ``?lang=id|en``:
  `geo_platform.language`); the kernel's own texts are in ``locale/``.
Views never pick an error status or build an error body themselves."""
from __future__ import annotations

import functools

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

NON_FIELD = "non_field_errors"


class ApiError(Exception):
    """Base of the kernel's domain exceptions: a message and the input at fault (the key in ``errors``)."""

    field = NON_FIELD

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        self.message = message
        if field:
            self.field = field


class InvalidInput(ApiError):
    pass


class NotFound(ApiError):
    pass


class Forbidden(ApiError):
    pass


class Conflict(ApiError):
    pass


class TooLarge(ApiError):
    pass


# exception class → (status, default `errors` key); looked up along the exception's MRO
STATUS_CODES: dict[type[BaseException], tuple[int, str | None]] = {}
# exception class → function(exc) -> dict of extra body keys (for classes without an ``extra()`` method)
EXTRAS: dict[type[BaseException], object] = {}


def register(exc_class: type[BaseException], status, field=None, *, extra=None) -> type[BaseException]:
    """Map ``exc_class`` (and its subclasses) to ``status``; ``field`` is its key in ``errors``;
    ``extra(exc) -> dict`` adds keys to the body (e.g. ``current``). ``status`` and ``field`` may be
    functions of the exception (for exceptions that carry their own)."""
    STATUS_CODES[exc_class] = (status, field)
    if extra is not None:
        EXTRAS[exc_class] = extra
    return exc_class


for _cls, _status, _field in (
    (InvalidInput, 400, None), (Forbidden, 403, None), (NotFound, 404, None), (Conflict, 409, None), (TooLarge, 413, None),
    (ObjectDoesNotExist, 404, "id"), (Http404, 404, "path"), (DjangoPermissionDenied, 403, None),
    (DjangoValidationError, 400, None), (RequestDataTooBig, 413, "body"), (SuspiciousOperation, 400, None),
    (RecursionError, 400, "body"),  # e.g. JSON nested 100,000 levels deep
):
    register(_cls, _status, _field)

# Django's and the kernel's messages for exceptions that carry none (translated at response time)
DEFAULT_MESSAGES = {
    400: gettext_noop("The request is not valid."),
    401: gettext_noop("Login or an API token is needed."),
    403: gettext_noop("You are not allowed to do this."),
    404: gettext_noop("Not found."),
    405: gettext_noop("This method is not allowed here."),
    409: gettext_noop("The resource changed meanwhile."),
    413: gettext_noop("The request is too large."),
}


def lookup(exc: BaseException) -> tuple[int, str | None] | None:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            status, field = STATUS_CODES[cls]
            return (status(exc) if callable(status) else status), (field(exc) if callable(field) else field)
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):  # PostgreSQL cannot store a NUL character
        return 400, "body"
    return None


def status_for(exc: BaseException) -> int | None:
    found = lookup(exc)
    return found[0] if found else None


def _message(exc: BaseException, status: int) -> str:
    if isinstance(exc, RecursionError):
        return _("The request body is nested too deeply.")
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):
        return _("Text values may not contain NUL characters.")
    if isinstance(exc, DjangoValidationError):
        return "; ".join(str(m) for m in exc.messages)
    text = getattr(exc, "message", None) or (str(exc) if exc.args else "")
    if isinstance(exc, (ObjectDoesNotExist, Http404)) or not text:
        return _(DEFAULT_MESSAGES.get(status, DEFAULT_MESSAGES[400]))
    return str(text)


def body_for(exc: BaseException, status: int, field: str | None) -> dict:
    """The SPEC §4 body of a mapped exception (plus its ``extra()`` keys)."""
    message = _message(exc, status)
    key = getattr(exc, "field", None) or field or NON_FIELD
    if isinstance(getattr(exc, "errors", None), dict):  # the exception names its fields itself
        errors = exc.errors
    elif isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
        errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    else:
        errors = {key: [message]}
    body = {"detail": message, "errors": errors}
    extra = getattr(exc, "extra", None)
    if callable(extra):
        body.update(extra())
    for cls in type(exc).__mro__:
        if cls in EXTRAS:
            body.update(EXTRAS[cls](exc))
            break
    return body


def error_body(detail: str, errors: dict | None = None, **extra) -> dict:
    return {"detail": str(detail), "errors": errors if errors is not None else {}, **extra}


def error(status: int, detail: str, errors: dict | None = None, **extra) -> JsonResponse:
    """A plain-view error response in the SPEC §4 shape (for errors found without an exception)."""
    return JsonResponse(error_body(detail, errors, **extra), status=status)


def _drf_body(data) -> dict:
    """DRF's exception data (a detail, a field → messages dict, or a list) in the SPEC §4 shape."""
    if isinstance(data, dict) and "detail" in data:
        return {"detail": str(data["detail"]), "errors": {k: v for k, v in data.items() if k != "detail"}}
    if isinstance(data, dict):
        first = next(iter(data.items()), ("error", ""))
        msg = first[1][0] if isinstance(first[1], list) and first[1] else first[1]
        if isinstance(msg, dict):  # nested serializer errors
            msg = next(iter(msg.values()), "")
            msg = msg[0] if isinstance(msg, list) and msg else msg
        return {"detail": f"{first[0]}: {msg}", "errors": data}
    data = list(data) if isinstance(data, (list, tuple)) else [data]
    return {"detail": "; ".join(str(d) for d in data), "errors": {NON_FIELD: data}}


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: the table first, then DRF's own exceptions; always the SPEC §4 shape,
    always JSON (whatever renderer ?format= chose)."""
    found = lookup(exc)
    if found is not None and not isinstance(exc, drf.APIException):
        status, field = found
        response = Response(body_for(exc, status, field), status=status)
    elif isinstance(exc, drf.APIException):
        from rest_framework.views import exception_handler as drf_exception_handler

        response = drf_exception_handler(exc, context)
        if response is None:
            return None
        body = _drf_body(response.data)
        if isinstance(exc, drf.MethodNotAllowed):  # DRF has no Indonesian text for it
            method = getattr(context.get("request"), "method", "")
            body = {"detail": f"{_(DEFAULT_MESSAGES[405])} ({method})", "errors": {"method": [method]}}
        if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)) and response.status_code == 403:
            # DRF says 403 when session authentication comes first; the platform says 401 on every door
            response.status_code = 401
            response["WWW-Authenticate"] = 'Token realm="api"'
        errors = getattr(exc, "errors", None)  # an APIException may carry the errors dict of SPEC §4
        if isinstance(errors, dict):
            body["errors"] = errors
        response.data = body
    else:
        return None  # a 5xx is a bug: let it raise
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
    return response


def error_response(exc: BaseException) -> JsonResponse | None:
    """Plain views: the JSON error for a mapped (or DRF) exception, else None (let it raise)."""
    if isinstance(exc, drf.APIException):
        body = _drf_body(exc.detail if isinstance(exc.detail, (dict, list)) else {"detail": exc.detail})
        response = JsonResponse(body, status=exc.status_code)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = 'Token realm="api"'
        return response
    found = lookup(exc)
    if found is None:
        return None
    status, field = found
    return JsonResponse(body_for(exc, status, field), status=status)


def json_errors(view):
    """Decorator for plain Django views: mapped exceptions → SPEC §4 JSON with their status."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:
            response = error_response(exc)
            if response is None:
                raise
            return response

    return wrapper


def not_found(request, exception=None):
    """handler404: JSON with the API error shape under /api/, /tiles/, /ogc/ and
    /imagery/ (clients parse it); Django's page elsewhere."""
    from django.views import defaults

    detail = _("No such resource: %(path)s") % {"path": request.path}
    if request.path.startswith("/open311/"):  # issue 17: GeoReport v2 clients parse the spec's error list
        return JsonResponse([{"code": 404, "description": detail}], status=404, safe=False)
    if request.path.startswith(("/api/", "/tiles/", "/ogc/", "/imagery/")):
        return error(404, detail, {"path": [request.path]})
    return defaults.page_not_found(request, exception)
