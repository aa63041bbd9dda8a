"""/api/needs/… layers, summary, compute, Musrenbang export; /api/work-orders/…"""
from django.urls import path

from needs import apis, work_orders

urlpatterns = [
    path("api/needs/lighting-gaps/", apis.need_layer_view("lighting-gaps", "Under-lit stretches (SPEC §5), GeoJSON lines"), name="needs-lighting-gaps"),
    path("api/needs/proposed-pju/", apis.need_layer_view("proposed-pju", "Proposed PJU (SPEC §5), GeoJSON points"), name="needs-proposed-pju"),
    path("api/needs/lamp-upgrades/", apis.need_layer_view("lamp-upgrades", "PJU to upgrade to their class's standard lamp (SPEC §5 weak), with the lamp and its cost"), name="needs-lamp-upgrades"),
    path("api/needs/broken-pju/", apis.need_layer_view("broken-pju", "PJU off or damaged, with the treatment and the dark metres each repair restores"), name="needs-broken-pju"),
    path("api/needs/damaged-roads/", apis.need_layer_view("damaged-roads", "Roads in light/heavy damage or beyond the SDI/IRI thresholds"), name="needs-damaged-roads"),
    path("api/needs/summary/", apis.SummaryView.as_view(), name="needs-summary"),
    path("api/needs/compute/", apis.ComputeView.as_view(), name="needs-compute"),
    path("api/needs/export/", apis.ExportView.as_view(), name="needs-export"),
    path("api/work-orders/", apis.WorkOrderListView.as_view(), name="work-order-list"),
    path("api/work-orders/<int:pk>/", apis.WorkOrderDetailView.as_view(), name="work-order-detail"),
    *(path(f"api/work-orders/<int:pk>/{action}/", apis.work_order_transition_view(action), name=f"work-order-{action}")
      for action in work_orders.ACTIONS),
]
