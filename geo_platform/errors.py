"""One error shape for the API (SPEC §4): {"detail": "...", "errors": {...}}."""
from rest_framework.exceptions import ParseError
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, RecursionError):  # e.g. JSON nested 100,000 levels deep
        exc = ParseError("request body is nested too deeply")
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):  # issue 12: PostgreSQL cannot store a NUL character
        exc = ParseError("text values may not contain NUL characters")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data:
        detail = str(data["detail"])
        errors = {k: v for k, v in data.items() if k != "detail"}
    elif isinstance(data, dict):
        first = next(iter(data.items()), ("error", ""))
        msg = first[1][0] if isinstance(first[1], list) and first[1] else first[1]
        detail = f"{first[0]}: {msg}"
        errors = data
    else:
        detail, errors = "; ".join(str(d) for d in data), {"non_field_errors": data}
    response.data = {"detail": detail, "errors": errors}
    return response


def not_found(request, exception=None):
    """handler404: JSON with the API error shape under /api/, /tiles/, /ogc/ and
    /imagery/ (clients parse it); Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    if request.path.startswith("/open311/"):  # issue 17: GeoReport v2 clients parse the spec's error list
        return JsonResponse([{"code": 404, "description": f"no such resource: {request.path}"}], status=404, safe=False)
    if request.path.startswith(("/api/", "/tiles/", "/ogc/", "/imagery/")):
        return JsonResponse({"detail": f"no such resource: {request.path}", "errors": {"path": [request.path]}}, status=404)
    return defaults.page_not_found(request, exception)
