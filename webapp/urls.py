"""/ (home), /dashboard/, /map/ (planner map), /field/ (field officer app: page,
manifest, service worker), /login/, /logout/ and Django's /i18n/setlang/
(language switch)."""
from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from webapp import views

urlpatterns = [
    path("", views.home_page, name="home"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/extra.json", views.pages_extra, name="pages-extra"),
    path("dashboard/revision.json", views.data_revision, name="pages-revision"),
    path("map/", views.map_page, name="map"),
    path("map/search/", views.map_search, name="map-search"),
    path("map/officers/", views.officers, name="map-officers"),
    path("field/", views.field_page, name="field"),
    path("field/manifest.webmanifest", views.field_manifest, name="field-manifest"),
    path("field/sw.js", views.field_service_worker, name="field-sw"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),  # photos in development (DEBUG only)
]
