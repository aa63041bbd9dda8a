"""/lapor/ (the citizens' form) and /lapor/{id}/ (a report's status):
phone first; the reporter's contact is never shown on either page. Texts
through gettext (reports/locale): Bahasa Indonesia by default, English with
`?lang=en`, the page's language switch (cookie) or the browser's
Accept-Language (LocaleMiddleware + geo_platform.language)."""
from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import pgettext
from django.utils.translation import pgettext_lazy
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from layers.selectors import LAYERS, layer_extent
from reports import selectors, services
from reports.catalogue import REOPEN_DAYS, SERVICES

# The pages' texts (English msgids in the context "lapor", so other apps' catalogues never override them;
# Bahasa Indonesia in reports/locale/id), also sent to lapor.js as config.strings.
STRINGS = {
    "title": pgettext_lazy("lapor", "Report a street light or road"),
    "intro": pgettext_lazy("lapor", "Pick the street light on the map or tap the map to drop a pin, then send."),
    "service": pgettext_lazy("lapor", "Report type"),
    "pick": pgettext_lazy("lapor", "Tap a light to pick it, or tap the map to drop a pin."),
    "picked_pju": pgettext_lazy("lapor", "Light picked"),
    "picked_pin": pgettext_lazy("lapor", "Pin at"),
    "locate": pgettext_lazy("lapor", "My location"),
    "photo": pgettext_lazy("lapor", "Photo (optional, max 10 MB)"),
    "description": pgettext_lazy("lapor", "Description"),
    "contact": pgettext_lazy("lapor", "Contact (optional, never shown)"),
    "name": pgettext_lazy("lapor", "Name"),
    "email": pgettext_lazy("lapor", "Email"),
    "phone": pgettext_lazy("lapor", "Phone/WhatsApp"),
    "send": pgettext_lazy("lapor", "Send report"),
    "sending": pgettext_lazy("lapor", "Sending…"),
    "sent": pgettext_lazy("lapor", "Sent. Report number"),
    "queued": pgettext_lazy("lapor", "No signal: the report is kept on this device and sent automatically when online."),
    "no_location": pgettext_lazy("lapor", "Pick a light or drop a pin on the map first."),
    "see_status": pgettext_lazy("lapor", "See status"),
    "pending": pgettext_lazy("lapor", "waiting to send"),
    "status": pgettext_lazy("lapor", "Status"),
    "open": pgettext_lazy("lapor", "Open (being handled)"),
    "closed": pgettext_lazy("lapor", "Closed"),
    "notes": pgettext_lazy("lapor", "Notes"),
    "requested": pgettext_lazy("lapor", "Reported"),
    "expected": pgettext_lazy("lapor", "Expected by"),
    "closed_at": pgettext_lazy("lapor", "Closed at"),
    "photos": pgettext_lazy("lapor", "Photos"),
    "closing_photo": pgettext_lazy("lapor", "Photo of the repair"),
    "duplicate": pgettext_lazy("lapor", "This report was joined to report"),
    "reopen": pgettext_lazy("lapor", "Still broken? Reopen"),
    "overdue": pgettext_lazy("lapor", "Overdue"),
    "new_report": pgettext_lazy("lapor", "Make a new report"),
    "language": pgettext_lazy("lapor", "Language"),
    "error": pgettext_lazy("lapor", "Failed"),
    "citizens": pgettext_lazy("lapor", "citizens reported the same"),
}


def _lang() -> str:
    """The request's language (one of settings.LANGUAGES; Bahasa Indonesia unless English was asked for)."""
    return "en" if (translation.get_language() or "").startswith("en") else "id"


def _strings() -> dict:
    strings = {key: str(text) for key, text in STRINGS.items()}
    strings["reopen_hint"] = pgettext("lapor", "A report can be reopened within %(days)s days of closing.") % {"days": REOPEN_DAYS}
    return strings


def _language(request) -> dict:
    return {"current": _lang(), "available": settings.LANGUAGES, "setlang": reverse("set_language"),
            "next": request.get_full_path()}


@require_GET
@ensure_csrf_cookie
def report_form(request):
    request.session["lapor"] = True  # the public form posts with this session (+ CSRF)
    english = _lang() == "en"
    extent = layer_extent(LAYERS["pju"])
    config = {
        "strings": _strings(),
        "services": [{"code": s.code, "name": s.name_en if english else s.name, "asset": s.asset} for s in SERVICES.values()],
        "urls": {"post": "/open311/v2/requests.json", "pju": "/api/pju/", "status": "/lapor/"},
        "extent": list(extent) if extent else None,
        "basemap_url": settings.BASEMAP_URL,
        "max_photo_bytes": 10 * 1024 * 1024,
    }
    return render(request, "reports/lapor.html", {"config": config, "s": config["strings"], "lang": _language(request)})


@require_GET
@ensure_csrf_cookie
def report_status(request, pk: int):
    report = selectors.report_list(ids=[pk]).first()
    if report is None:
        raise Http404("no such report")
    feature = json.loads(selectors.report_feature_text(report.pk, request, with_contact=False))
    props = feature["properties"]
    owner = pk in request.session.get("lapor_reports", [])
    root = report.duplicate_of
    context = {
        "report": report, "p": props, "s": _strings(), "lang": _language(request),
        "service": SERVICES[report.service_code],
        "service_name": SERVICES[report.service_code].name_en if _lang() == "en" else SERVICES[report.service_code].name,
        "requested": selectors.iso(report.requested_at), "expected": selectors.iso(report.expected_at),
        "closed": selectors.iso(report.closed_at or (root.closed_at if root else None)),
        "closing_photo": report.media_url if report.status == "closed" and report.media_url.startswith("/") else "",
        "can_reopen": owner and services.can_reopen(report),
        "citizens": (root or report).priority,
    }
    return render(request, "reports/status.html", context)
