from django.urls import path, re_path

from ogc import views

app_name = "ogc"
urlpatterns = [
    path("ogc/", views.LandingView.as_view(), name="landing"),
    re_path(r"^ogc/+api/?$", views.OpenApiView.as_view(), name="api"),
    re_path(r"^ogc/+conformance/?$", views.ConformanceView.as_view(), name="conformance"),
    re_path(r"^ogc/+collections/?$", views.CollectionsView.as_view(), name="collections"),
    re_path(r"^ogc/+collections/(?P<collection>[a-z_]+)/?$", views.CollectionView.as_view(), name="collection"),
    re_path(r"^ogc/+collections/(?P<collection>[a-z_]+)/schema/?$", views.SchemaView.as_view(), name="schema"),
    re_path(r"^ogc/+collections/(?P<collection>[a-z_]+)/queryables/?$", views.QueryablesView.as_view(), name="queryables"),
    re_path(r"^ogc/+collections/(?P<collection>[a-z_]+)/items/?$", views.ItemsView.as_view(), name="items"),
    re_path(r"^ogc/+collections/(?P<collection>[a-z_]+)/items/(?P<fid>[0-9]+)/?$", views.ItemView.as_view(), name="item"),
]
