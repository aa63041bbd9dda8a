"""/open311/v2/: GeoReport v2 (SPEC §8). Thin views: parse the spec's
parameters, call reports.services / selectors, render JSON or XML. Errors are
the spec's error list with a 4xx, described in the request's language (Bahasa
Indonesia by default, English with ?lang=en or Accept-Language: en). Reads are public; POST needs an `api_key`
an admin issued, or the session of the /lapor/ page (CSRF-checked)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from django.conf import settings
from django.http import QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from reports import open311, selectors, services
from reports.catalogue import SERVICES

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CHANGESET = "2026-12-03T00:00:00Z"


def _absolute(request):
    return request.build_absolute_uri


def _fmt_ok(fmt: str) -> bool:
    return fmt in open311.FORMATS


def _fmt_error(fmt: str):
    return open311.error("json", 404, _("format %(fmt)r not offered: json or xml") % {"fmt": fmt})


def _jurisdiction_error(request, fmt):
    jurisdiction = request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id")
    if jurisdiction and jurisdiction not in selectors.jurisdictions():
        return open311.error(fmt, 404, _("jurisdiction_id %(id)r not found: use the city's area code") % {"id": jurisdiction})
    return None


def discovery(request, fmt: str = "json"):
    if not _fmt_ok(fmt):
        return _fmt_error(fmt)
    base = request.build_absolute_uri("/open311/v2/")
    value = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "OPEN311_CONTACT", "Diskominfo — admin geo_platform"),
        "key_service": getattr(settings, "OPEN311_KEY_SERVICE", "API keys are issued by an admin (/admin/reports/open311key/)"),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }
    return open311.render(fmt, "discovery", value)


def service_list(request, fmt: str):
    if not _fmt_ok(fmt):
        return _fmt_error(fmt)
    if err := _jurisdiction_error(request, fmt):
        return err
    english = request.GET.get("locale", "").lower().startswith("en")
    value = [
        {"service_code": s.code, "service_name": s.name_en if english else s.name, "description": s.description,
         "metadata": s.has_pju_code, "type": "realtime", "keywords": ",".join(s.keywords), "group": s.group}
        for s in SERVICES.values()
    ]
    return open311.render(fmt, "services", value)


def service_definition(request, code: str, fmt: str):
    if not _fmt_ok(fmt):
        return _fmt_error(fmt)
    if err := _jurisdiction_error(request, fmt):
        return err
    service = SERVICES.get(code)
    if service is None:
        return open311.error(fmt, 404, _("service_code %(code)r not found") % {"code": code})
    attributes = []
    if service.has_pju_code:
        attributes.append({
            "variable": True, "code": "pju_code", "datatype": "string", "required": False,
            "datatype_description": "Kode PJU pada tiang (label), mis. PJU-CPD-0012",
            "order": 1, "description": "Kode PJU / street light code (optional: else the nearest PJU within 30 m)",
            "values": [],
        })
    return open311.render(fmt, "service_definition", {"service_code": service.code, "attributes": attributes})


def _float(value, name):
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise services.IntakeError(400, name, _("%(name)s must be a number (decimal degrees, WGS 84)") % {"name": name}) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise services.IntakeError(400, name, _("%(name)s must be a finite number") % {"name": name})
    return number


def _params(request) -> QueryDict | dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise services.IntakeError(400, "body", _("the JSON body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise services.IntakeError(400, "body", _("the JSON body must be an object"))
        return data
    return request.POST


def _csrf_ok(request) -> bool:
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _submission(request, params) -> services.Submission:
    key_text = CONTROL.sub("", str(params.get("api_key") or request.GET.get("api_key") or ""))[:100]
    api_key = services.open311_key_lookup(key_text)
    if key_text and api_key is None:
        raise services.IntakeError(403, "api_key", _("invalid api_key"))
    if api_key is None:
        web = bool(request.session.get("lapor")) or request.user.is_authenticated
        if not web:
            raise services.IntakeError(403, "api_key", _("api_key required: ask an admin for a key, or use the /lapor/ page"))
        if not _csrf_ok(request):
            raise services.IntakeError(403, "csrf", _("CSRF check failed: reload the /lapor/ page and send again"))
    attribute = params.get("attribute[pju_code]") or ""
    if not attribute and isinstance(params.get("attribute"), dict):
        attribute = params["attribute"].get("pju_code") or ""

    def text(name, limit=500):
        # no control characters: PostgreSQL text cannot hold NUL, XML 1.0 no other C0 character
        return CONTROL.sub("", str(params.get(name) or ""))[:limit]

    return services.Submission(
        service_code=text("service_code", 60), lat=_float(params.get("lat"), "lat"), lon=_float(params.get("long"), "long"),
        pju_code=CONTROL.sub("", str(attribute)).strip()[:100], description=text("description", 5000), address_string=text("address_string"),
        email=text("email", 254), first_name=text("first_name", 100), last_name=text("last_name", 100),
        phone=text("phone", 40), account_id=text("account_id", 100), device_id=text("device_id", 100),
        media_url=text("media_url", 1000), photos=request.FILES.getlist("media")[:3],
        channel="api" if api_key else "web", api_key=api_key, client_address=_client_address(request), user=request.user,
    )


@csrf_exempt  # apps post with an api_key and no cookies; the web session is CSRF-checked in _submission
def requests_view(request, fmt: str):
    if not _fmt_ok(fmt):
        return _fmt_error(fmt)
    if request.method == "POST":
        return _post_request(request, fmt)
    if request.method != "GET":
        return open311.error(fmt, 405, _("method %(method)s not allowed: GET or POST") % {"method": request.method})
    if err := _jurisdiction_error(request, fmt):
        return err
    try:
        qs = _request_query(request)
    except services.IntakeError as exc:
        return open311.error(fmt, exc.status, exc.description)
    absolute = _absolute(request)
    value = [selectors.open311_request(r, absolute) for r in qs[: selectors.OPEN311_MAX]]
    return open311.render(fmt, "service_requests", value)


def _post_request(request, fmt):
    try:
        params = _params(request)
        if err := _jurisdiction_error(request, fmt):
            return err
        sub = _submission(request, params)
        report = services.report_submit(sub=sub)
    except services.IntakeError as exc:
        response = open311.error(fmt, exc.status, f"{exc.param}: {exc.description}")
        if exc.status == 429:
            response["Retry-After"] = str(services._limits()[1])
        return response
    if sub.channel == "web":
        mine = request.session.get("lapor_reports", [])
        request.session["lapor_reports"] = (mine + [report.pk])[-50:]
    notice = f"Digabung dengan laporan #{report.duplicate_of_id}" if report.duplicate_of_id else ""
    value = [{"service_request_id": str(report.pk), "service_notice": notice, "account_id": report.account_id or None}]
    return open311.render(fmt, "service_requests", value, status=201)


def _list_param(request, name) -> list[str]:
    raw = request.GET.get(name, "")
    return [v.strip() for v in raw.split(",") if v.strip()]


def _date(request, name):
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+")) if "T" in raw else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        value = None
    if value is None or not 1900 <= value.year <= 9000:
        raise services.IntakeError(400, name, _("%(name)s must be a W3C date-time such as 2026-12-01T00:00:00+07:00") % {"name": name})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _request_query(request):
    ids = _list_param(request, "service_request_id")
    if ids:
        if not all(i.isdigit() and len(i) < 19 for i in ids):
            raise services.IntakeError(400, "service_request_id", _("service_request_id must be numbers, comma-separated"))
        return selectors.report_list(ids=[int(i) for i in ids])
    codes = _list_param(request, "service_code")
    unknown = [c for c in codes if c not in SERVICES]
    if unknown:
        raise services.IntakeError(404, "service_code", _("service_code %(code)r not found") % {"code": unknown[0]})
    status = _list_param(request, "status")
    if any(s not in ("open", "closed") for s in status):
        raise services.IntakeError(400, "status", _("status must be open or closed"))
    start, end = _date(request, "start_date"), _date(request, "end_date")
    if start is None and end is None:
        start = timezone.now() - timedelta(days=selectors.DEFAULT_DAYS)
    elif start is None:
        start = end - timedelta(days=selectors.DEFAULT_DAYS)
    if end is not None and start > end:
        raise services.IntakeError(400, "start_date", _("start_date is after end_date"))
    return selectors.report_list(service_codes=codes, status=status, start=start, end=end)


def request_detail(request, pk: str, fmt: str):
    if not _fmt_ok(fmt):
        return _fmt_error(fmt)
    if err := _jurisdiction_error(request, fmt):
        return err
    report = selectors.report_list(ids=[int(pk)]).first() if pk.isdigit() and len(pk) < 19 else None
    if report is None:
        return open311.error(fmt, 404, _("service_request_id %(id)r not found") % {"id": pk})
    return open311.render(fmt, "service_requests", [selectors.open311_request(report, _absolute(request))])
