from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


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
    path("", include("webapp.urls")),
]

handler404 = "geo_platform.errors.not_found"
