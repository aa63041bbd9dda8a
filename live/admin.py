"""Admin pages of the live network: dead letters (read-only, for admins), alarms, commands, live states."""
from django.contrib import admin

from live.models import Alarm, Command, DeadLetter, LiveEvent, LiveState, TelemetryHourly


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "reason", "controller_id", "topic", "detail")
    list_filter = ("reason",)
    search_fields = ("controller_id", "topic", "detail")
    readonly_fields = ("received_at", "reason", "controller_id", "topic", "detail", "payload")


@admin.register(Alarm)
class AlarmAdmin(ReadOnlyAdmin):
    list_display = ("opened_at", "kind", "pju", "cleared_at", "work_order")
    list_filter = ("kind", "cleared_at")
    raw_id_fields = ("pju", "work_order")


@admin.register(Command)
class CommandAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "controller_id", "level", "state", "attempts", "acked_at", "created_by")
    list_filter = ("state",)
    search_fields = ("controller_id",)


@admin.register(LiveState)
class LiveStateAdmin(ReadOnlyAdmin):
    list_display = ("pju", "power_state", "level", "active_power_w", "last_seen")
    list_filter = ("power_state",)
    raw_id_fields = ("pju",)


@admin.register(LiveEvent)
class LiveEventAdmin(ReadOnlyAdmin):
    list_display = ("ts", "event", "pju", "detail")
    list_filter = ("event",)


@admin.register(TelemetryHourly)
class TelemetryHourlyAdmin(ReadOnlyAdmin):
    list_display = ("hour", "pju", "messages", "energy_kwh", "burning_s", "reported_s")
