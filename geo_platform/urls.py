from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from webapp.media import media_view  # issue 12

urlpatterns = [
    # issue 19: "/" is the home page of webapp (webapp/urls.py); geo_platform.views.home is no longer routed
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("layers.urls")),
    path("", include("ogc.urls")),
    path("", include("imagery.urls")),
    path("", include("estimates.urls")),
    path("", include("needs.urls")),
    # issue 12: /media/ behind the access policy of what the files belong to (before webapp's DEBUG-only static serving)
    re_path(r"^media/(?P<path>.+)$", media_view, name="media"),
    path("", include("webapp.urls")),
    path("", include("imports.urls")),  # issue 18: /api/imports/, /api/uploads/ (tus), /imports/
    path("", include("live.urls")),  # issue 16
    path("", include("reports.urls")),  # issue 17: /open311/v2/, /api/reports/, /lapor/
]

handler404 = "geo_platform.errors.not_found"
