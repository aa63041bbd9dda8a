"""/lapor/ (the citizens' form) and /lapor/{id}/ (a report's status):
Bahasa Indonesia first, English through Django's language switch; phone
first. The reporter's contact is never shown on either page."""
from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from layers.selectors import LAYERS, layer_extent
from reports import selectors, services
from reports.catalogue import REOPEN_DAYS, SERVICES

STRINGS = {
    "id": {
        "title": "Lapor PJU & jalan", "intro": "Pilih lampu PJU di peta atau ketuk peta untuk menaruh pin, lalu kirim.",
        "service": "Jenis laporan", "pick": "Ketuk titik PJU untuk memilih lampu, atau ketuk peta untuk menaruh pin.",
        "picked_pju": "PJU dipilih", "picked_pin": "Pin di", "locate": "Lokasi saya", "photo": "Foto (opsional, maks. 10 MB)",
        "description": "Keterangan", "contact": "Kontak (opsional, tidak ditampilkan)", "name": "Nama", "email": "Email",
        "phone": "Telepon/WA", "send": "Kirim laporan", "sending": "Mengirim…", "sent": "Terkirim. Nomor laporan",
        "queued": "Tidak ada sinyal: laporan disimpan di perangkat dan dikirim otomatis saat online.",
        "no_location": "Pilih PJU atau taruh pin di peta dulu.", "see_status": "Lihat status", "pending": "menunggu dikirim",
        "status": "Status", "open": "Terbuka (sedang ditangani)", "closed": "Selesai", "notes": "Catatan petugas",
        "requested": "Dilaporkan", "expected": "Target selesai", "closed_at": "Diselesaikan", "photos": "Foto",
        "closing_photo": "Foto penyelesaian", "duplicate": "Laporan ini digabung dengan laporan", "reopen": "Masih rusak? Buka kembali",
        "reopen_hint": f"Dapat dibuka kembali dalam {REOPEN_DAYS} hari setelah selesai.", "overdue": "Melewati target",
        "new_report": "Buat laporan baru", "language": "Bahasa", "error": "Gagal",
        "citizens": "warga melaporkan hal yang sama",
    },
    "en": {
        "title": "Report a street light or road", "intro": "Pick the street light on the map or tap the map to drop a pin, then send.",
        "service": "Report type", "pick": "Tap a light to pick it, or tap the map to drop a pin.",
        "picked_pju": "Light picked", "picked_pin": "Pin at", "locate": "My location", "photo": "Photo (optional, max 10 MB)",
        "description": "Description", "contact": "Contact (optional, never shown)", "name": "Name", "email": "Email",
        "phone": "Phone/WhatsApp", "send": "Send report", "sending": "Sending…", "sent": "Sent. Report number",
        "queued": "No signal: the report is kept on this device and sent automatically when online.",
        "no_location": "Pick a light or drop a pin on the map first.", "see_status": "See status", "pending": "waiting to send",
        "status": "Status", "open": "Open (being handled)", "closed": "Closed", "notes": "Notes",
        "requested": "Reported", "expected": "Expected by", "closed_at": "Closed", "photos": "Photos",
        "closing_photo": "Photo of the repair", "duplicate": "This report was joined to report", "reopen": "Still broken? Reopen",
        "reopen_hint": f"A report can be reopened within {REOPEN_DAYS} days of closing.", "overdue": "Overdue",
        "new_report": "Make a new report", "language": "Language", "error": "Failed",
        "citizens": "citizens reported the same",
    },
}


def _lang(request) -> str:
    """Bahasa Indonesia unless the visitor chose English with the switch (the
    language cookie); the browser's Accept-Language is not followed here."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return "en" if chosen.startswith("en") else "id"


def _strings(request) -> dict:
    return STRINGS[_lang(request)]


def _language(request) -> dict:
    return {"current": _lang(request), "available": settings.LANGUAGES, "setlang": reverse("set_language"),
            "next": request.get_full_path()}


@require_GET
@ensure_csrf_cookie
def report_form(request):
    request.session["lapor"] = True  # the public form posts with this session (+ CSRF)
    english = _lang(request) == "en"
    extent = layer_extent(LAYERS["pju"])
    config = {
        "strings": _strings(request),
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
    feature = selectors.report_feature(report, request.build_absolute_uri, with_contact=False)
    props = feature["properties"]
    owner = pk in request.session.get("lapor_reports", [])
    root = report.duplicate_of
    context = {
        "report": report, "p": props, "s": _strings(request), "lang": _language(request),
        "service": SERVICES[report.service_code],
        "requested": selectors.iso(report.requested_at), "expected": selectors.iso(report.expected_at),
        "closed": selectors.iso(report.closed_at or (root.closed_at if root else None)),
        "closing_photo": report.media_url if report.status == "closed" and report.media_url.startswith("/") else "",
        "can_reopen": owner and services.can_reopen(report),
        "citizens": (root or report).priority,
    }
    return render(request, "reports/status.html", context)
