"""/api/live/ (SSE), /api/live/summary/, /api/pju/{id}/telemetry/, commands, /api/energy/ (SPEC §7)."""
from django.urls import path

from live import apis

urlpatterns = [
    path("api/live/", apis.live_stream, name="live-stream"),
    path("api/live/summary/", apis.SummaryView.as_view(), name="live-summary"),
    path("api/live/commands/", apis.CommandStateView.as_view(), name="live-commands"),
    path("api/live/commands/<uuid:pk>/", apis.CommandStateView.as_view(), name="live-command"),
    path("api/pju/command/", apis.CommandView.as_view(), name="pju-group-command"),
    path("api/pju/<int:pk>/command/", apis.CommandView.as_view(), name="pju-command"),
    path("api/pju/<int:pk>/telemetry/", apis.TelemetryView.as_view(), name="pju-telemetry"),
    path("api/energy/", apis.EnergyView.as_view(), name="energy"),
]
