"""Thin page views: /map/ (folium), /field/ (installable offline app), its
manifest and service worker, login/logout. Data comes from selectors; the
pages read and write through the public API (/api/…, /tiles/…)."""
from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from geo_platform import condition as road_condition
from geo_platform import access
from geo_platform.errors import error, json_errors
from layers.apis import RoadSurveyInputSerializer
from needs.work_orders import close_radius_m, is_planner
from webapp import labels, selectors
from webapp.maps import PLUGIN_CSS, PLUGIN_JS, planner_map_html

SEARCH_MAX_CHARS = 100
FIELD_SHELL = [  # static files the service worker keeps for offline use
    "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
    "vendor/leaflet/images/marker-icon.png", "vendor/leaflet/images/marker-shadow.png",
    "webapp/field.js", "webapp/field-queue.js", "webapp/field.css",
    "webapp/js/offline-queue.js", "webapp/js/config.js", "webapp/js/format.js", "webapp/js/i18n.js",  # issue 15: ES modules
    "webapp/js/survey.js",
    "webapp/icons/icon-192.png", "webapp/icons/icon-512.png",
]


def field_max_accuracy_m() -> float:
    """A fix worse than this (metres) asks the officer to confirm (FIELD_MAX_ACCURACY_M, default 20)."""
    return float(getattr(settings, "FIELD_MAX_ACCURACY_M", 20.0))


SURVEY_MEASURES = ("crack_area_pct", "crack_width_mm", "potholes_per_100m", "rut_depth_cm")


def survey_form() -> dict:
    """The field app's survey form (js/survey.js): each measurement's limits, read from the
    API's own serializer (POST /api/roads/{id}/survey/), and the IRI's (m/km, never negative)."""
    fields = RoadSurveyInputSerializer().fields
    limits = {name: {"min": fields[name].min_value, "max": fields[name].max_value} for name in SURVEY_MEASURES}
    limits["iri"] = {"min": 0, "max": None}
    return {"limits": limits}


def _languages(request) -> dict:
    return {
        "current": get_language(),
        "available": [[code, name] for code, name in settings.LANGUAGES],
        "setlang": reverse("set_language"),
        "next": request.get_full_path(),
    }


def _error(status: int, detail: str, **errors) -> JsonResponse:
    return error(status, detail, errors or {"request": [detail]})


def can_read(request) -> bool:
    """Pages (redirected to the login when refused) follow the JSON doors' policy."""
    return access.PUBLIC_READ_LOGIN_WRITE.allows(request)


@require_GET
@ensure_csrf_cookie
def map_page(request):
    if not can_read(request):
        return redirect(f"{reverse('login')}?next={request.path}")
    strings = labels.strings(labels.UI)
    extents = selectors.map_extents()
    config = {
        "layers": selectors.map_layer_list(),
        "kecamatan": extents["kecamatan"],
        "area_names": extents.get("area_names", {}),
        "bounds": extents["bounds"],
        "strings": strings,
        "codes": labels.code_labels(),
        "fields": labels.strings(labels.FIELD_NAMES),
        "colours": {"status": labels.STATUS_COLOURS, "condition": labels.CONDITION_COLOURS,
                    "wo_status": labels.WO_COLOURS, "gap": labels.GAP_COLOURS},
        # issue 14: the legend's SDI/IRI ranges, from the one definition (geo_platform/condition.py)
        "condition_bands": {row["code"]: f"SDI {row['sdi']} · IRI {row['iri']}" for row in road_condition.legend() if row["sdi"]},
        "home": selectors.city_home(settings.CITY_HOME),
        "planner": is_planner(request.user),
        "urls": {
            "officers": reverse("map-officers"), "work_orders": "/api/work-orders/", "summary": reverse("needs-summary"),
            "export": reverse("needs-export"),
            "search": reverse("map-search"), "templates": "/api/templates/", "estimates": "/api/estimates/",
            "imagery": "/api/imagery/", "imagery_tiles": "/imagery/{id}/tiles/{z}/{x}/{y}.png",
            "login": f"{reverse('login')}?next={reverse('map')}", "logout": reverse("logout"),
            # issue 15: templates filled by the scripts (js/config.js fillUrl); issue 16: the live stream
            "feature": "/api/{api}/{id}/", "tiles": "/tiles/{layer}/{z}/{x}/{y}.pbf", "live": LIVE_URL,
        },
        "lists": labels.map_code_lists(),
        "popup_fields": labels.MAP_POPUP_FIELDS, "value_groups": labels.MAP_VALUE_GROUPS,
        "need_kinds": labels.MAP_NEED_KINDS, "layer_z": labels.MAP_LAYER_Z,
        "basemap": bool(settings.BASEMAP_URL),
        "csrf_token": get_token(request),
        "language": _languages(request),
        "user": request.user.get_username() if request.user.is_authenticated else "",
    }
    html = planner_map_html(config=config, basemap_url=settings.BASEMAP_URL, title=_("Planner map"), lang=get_language())
    return HttpResponse(html)


@require_GET
@json_errors
def map_search(request):
    """?q= road name or PJU code → [{kind, label, bbox | lon/lat}, …]."""
    access.PUBLIC_READ_LOGIN_WRITE.check(request)
    q = request.GET.get("q", "")
    if not q.strip():
        return _error(400, "q (a road name or PJU code) is required", q=["this parameter is required"])
    if len(q) > SEARCH_MAX_CHARS:
        return _error(400, f"q is longer than {SEARCH_MAX_CHARS} characters", q=[f"at most {SEARCH_MAX_CHARS} characters"])
    return JsonResponse({"results": selectors.map_search(q=q)})


@require_GET
@login_required(login_url="login")
@ensure_csrf_cookie
def field_page(request):
    user = request.user
    config = {
        "strings": labels.strings(labels.FIELD_UI),
        "codes": labels.code_labels(),
        "fields": labels.strings(labels.FIELD_NAMES),
        "colours": {"status": labels.STATUS_COLOURS, "condition": labels.CONDITION_COLOURS},
        "max_accuracy_m": field_max_accuracy_m(),
        "close_radius_m": close_radius_m(),
        "survey": survey_form(),
        "basemap_url": settings.BASEMAP_URL,
        "user": {"username": user.get_username(), "groups": list(user.groups.values_list("name", flat=True))},
        "language": _languages(request),
        "urls": {"sw": reverse("field-sw"), "login": reverse("login"), "logout": reverse("logout"),
                 # issue 15: the offline queue's addresses (js/offline-queue.js)
                 "collection": "/api/{layer}/", "feature": "/api/{layer}/{id}/", "photos": "/api/{layer}/{id}/photos/",
                 "work_order": "/api/work-orders/{id}/", "survey": "/api/roads/{id}/survey/",
                 "imagery": "/api/imagery/", "imagery_tiles": "/imagery/{id}/tiles/{z}/{x}/{y}.png"},
    }
    return render(request, "webapp/field.html", {"config": config, "max_accuracy_m": config["max_accuracy_m"]})


@require_GET
def field_manifest(request):
    manifest = {
        "name": _("geo_platform field app"),
        "short_name": _("Field"),
        "start_url": reverse("field"),
        "scope": reverse("field"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#00695c",
        "lang": get_language(),
        "icons": [
            {"src": static("webapp/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("webapp/icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
        ],
    }
    return HttpResponse(json.dumps(manifest), content_type="application/manifest+json")


@require_GET
@never_cache
def field_service_worker(request):
    """The service worker, served from /field/ so that its scope is /field/."""
    shell = [reverse("field"), reverse("field-manifest")] + [static(p) for p in FIELD_SHELL]
    version = hashlib.blake2s(json.dumps(shell).encode() + _static_stamp(), digest_size=6).hexdigest()
    body = render_to_string("webapp/sw.js", {"shell": json.dumps(shell), "version": version})
    response = HttpResponse(body, content_type="application/javascript")
    response["Service-Worker-Allowed"] = reverse("field")
    return response


def _static_stamp() -> bytes:
    """Changes when the app's own JS/CSS change, so a new service worker installs."""
    from django.contrib.staticfiles import finders

    digest = hashlib.blake2s(digest_size=8)
    for path in FIELD_SHELL + PLUGIN_JS + PLUGIN_CSS:
        found = finders.find(path)
        if found:
            with open(found, "rb") as fh:
                digest.update(fh.read())
    return digest.digest()


class LoginView(auth_views.LoginView):
    template_name = "webapp/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return self.get_redirect_url() or reverse("field")


@require_POST
def logout_view(request):
    logout(request)
    return redirect("login")


# --- issue 19: home page, command-centre dashboard, officers for work orders ---

PAGE_FIGURES = (  # (key in the summary's totals, label, unit) — the key figures of SPEC §10
    ("pju_count", _lazy("PJU"), ""), ("working_pct", _lazy("Working"), "%"),
    ("broken_pju", _lazy("Broken PJU (off/damaged)"), ""), ("underlit_km", _lazy("Under-lit roads"), "km"),
    ("proposed_pju", _lazy("New poles proposed"), ""), ("damaged_km", _lazy("Damaged roads"), "km"),
    ("kemantapan_pct", _lazy("Kemantapan (good + fair)"), "%"), ("estimated_cost", _lazy("Estimated cost"), "IDR"),
)


def _page_context(request) -> dict:
    from needs import selectors as need_selectors

    summary = need_selectors.strip_raw(need_selectors.area_summary(level="kecamatan"))
    totals = summary["totals"]
    figures = [{"key": k, "label": str(label), "unit": unit, "value": totals.get(k)} for k, label, unit in PAGE_FIGURES]
    private = request.user.is_authenticated
    extra = {"pju_status": selectors.pju_status_by_area(level="kecamatan"),
             "work_orders": selectors.work_order_counts() if private else None}
    if private:
        open_orders = sum(n for s, n in extra["work_orders"].items() if s in ("open", "assigned", "in_progress"))
        figures.append({"key": "open_work_orders", "label": str(_("Open work orders")), "unit": "", "value": open_orders})
    return {
        "figures": figures,
        "page_config": {
            "strings": labels.strings(labels.PAGES),
            "codes": labels.code_labels(),
            "colours": {"status": labels.STATUS_COLOURS, "condition": labels.CONDITION_COLOURS, "wo_status": labels.WO_COLOURS},
            "extra": extra,
            "urls": {"summary": reverse("needs-summary"), "extra": reverse("pages-extra"), "revision": reverse("pages-revision"), "live": LIVE_URL,
                     "tiles": "/tiles/{layer}/{z}/{x}/{y}.pbf",
                     "live_available": _resolves(LIVE_URL)},
            "home": selectors.city_home(settings.CITY_HOME) or DEFAULT_HOME,
            "poll_ms": settings.DASHBOARD_POLL_MS,
            "language": get_language(),
        },
        "links": _links(),
        "languages": _languages(request),
    }


LIVE_URL = "/api/live/"  # the live network's event stream (issue 16), used when installed


def _resolves(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


DEFAULT_HOME = [94.9, -11.1, 141.1, 6.1]  # Indonesia, when there is no data yet


def _links() -> list[dict]:
    """The way into every part of the platform; a page not installed on this
    deployment (e.g. the public report form) is not linked."""
    from django.urls import NoReverseMatch, Resolver404, resolve

    out = []
    for name, label, text in (
        ("map", _("Planner map"), _("Where first? Needs, ranked kecamatan, estimates and work orders.")),
        ("field", _("Field app"), _("For officers on the street: tag PJU, report damage, close work orders, offline.")),
        ("/lapor/", _("Report a problem"), _("Citizens report a dark street or a damaged road (Open311).")),
        ("dashboard", _("Command centre"), _("The same figures live, for a large screen.")),
        ("api-docs", _("API documentation"), _("Every layer and figure as an open API.")),
        ("admin:index", _("Administration"), _("Users, imports and data management.")),
    ):
        try:
            if name.startswith("/"):  # a path of another app (issue 17's public report form)
                resolve(name)
                url, name = name, "report"
            else:
                url = reverse(name)
        except (NoReverseMatch, Resolver404):
            continue
        out.append({"name": name.split(":")[0], "url": url, "label": str(label), "text": str(text)})
    return out


@require_GET
@ensure_csrf_cookie
def home_page(request):
    if not can_read(request):
        return redirect(f"{reverse('login')}?next={request.path}")
    return render(request, "webapp/home.html", _page_context(request))


@require_GET
@ensure_csrf_cookie
def dashboard_page(request):
    if not can_read(request):
        return redirect(f"{reverse('login')}?next={request.path}")
    return render(request, "webapp/dashboard.html", _page_context(request))


@require_GET
@never_cache
@json_errors
def pages_extra(request):
    """What the pages show besides /api/needs/summary/: PJU by status per
    kecamatan, and work orders by state for logged-in users."""
    access.PUBLIC_READ_LOGIN_WRITE.check(request)
    return JsonResponse({
        "pju_status": selectors.pju_status_by_area(level="kecamatan"),
        "work_orders": selectors.work_order_counts() if request.user.is_authenticated else None,
    })


@require_GET
@never_cache
@json_errors
def data_revision(request):
    """{"revision": "..."}: changes with every write to a map layer's table (the dashboard's cheap poll)."""
    access.PUBLIC_READ_LOGIN_WRITE.check(request)
    return JsonResponse({"revision": selectors.data_revision()})


@require_GET
@json_errors
def officers(request):
    """Field officers a planner may assign a work order to."""
    access.PLANNERS_ONLY.check(request)
    return JsonResponse({"officers": selectors.field_officers()})
