"""/open311/v2/… (GeoReport v2), /api/reports/…, /api/open311-keys/…, /lapor/…"""
from django.urls import path, re_path

from reports import apis, open311_views, pages

FMT = r"(?P<fmt>[a-z]+)"

urlpatterns = [
    path("open311/v2/", open311_views.discovery, name="open311-root"),
    re_path(rf"^open311/v2/discovery\.{FMT}$", open311_views.discovery, name="open311-discovery"),
    re_path(rf"^open311/v2/services\.{FMT}$", open311_views.service_list, name="open311-services"),
    re_path(rf"^open311/v2/services/(?P<code>[^/]+)\.{FMT}$", open311_views.service_definition, name="open311-service"),
    re_path(rf"^open311/v2/requests\.{FMT}$", open311_views.requests_view, name="open311-requests"),
    re_path(rf"^open311/v2/requests/(?P<pk>[^/]+)\.{FMT}$", open311_views.request_detail, name="open311-request"),
    path("api/reports/", apis.ReportLayerView.as_view(), name="report-list"),
    path("api/reports/summary/", apis.ReportSummaryView.as_view(), name="report-summary"),
    path("api/reports/proposals/", apis.ProposalListView.as_view(), name="report-proposals"),
    path("api/reports/<int:pk>/", apis.ReportDetailView.as_view(), name="report-detail"),
    path("api/reports/<int:pk>/reopen/", apis.ReportReopenView.as_view(), name="report-reopen"),
    path("api/open311-keys/", apis.Open311KeyListView.as_view(), name="open311-key-list"),
    path("api/open311-keys/<int:pk>/", apis.Open311KeyDetailView.as_view(), name="open311-key-detail"),
    path("lapor/", pages.report_form, name="lapor"),
    path("lapor/<int:pk>/", pages.report_status, name="lapor-status"),
]
