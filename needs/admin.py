from django.contrib import admin

from geo_platform.widgets import LocalGISModelAdmin
from needs.models import Facility, LightingGap, NeedsRun, ProposedPJU, WorkOrder


class ResultAdmin(LocalGISModelAdmin):
    raw_id_fields = ("road", "kecamatan", "kelurahan")
    list_select_related = ("road", "kecamatan")

    def has_add_permission(self, request):
        return False  # results come from compute_needs


@admin.register(LightingGap)
class LightingGapAdmin(ResultAdmin):
    list_display = ("id", "road", "road_class", "kind", "start_m", "end_m", "length_m", "proposed_count", "priority", "kecamatan")
    list_filter = ("road_class", "kind")


@admin.register(ProposedPJU)
class ProposedPJUAdmin(ResultAdmin):
    list_display = ("id", "road", "road_class", "chainage_m", "side", "priority", "estimated_cost", "kecamatan")
    list_filter = ("road_class", "side")
    raw_id_fields = ("road", "gap", "kecamatan", "kelurahan")


@admin.register(Facility)
class FacilityAdmin(LocalGISModelAdmin):
    list_display = ("id", "kind", "name", "source")
    list_filter = ("kind", "source")
    search_fields = ("name",)


@admin.register(WorkOrder)
class WorkOrderAdmin(LocalGISModelAdmin):
    list_display = ("id", "title", "kind", "status", "assigned_to", "priority", "created_at", "done_at")
    list_filter = ("kind", "status")
    search_fields = ("title", "notes")
    raw_id_fields = ("pju", "road", "kecamatan", "kelurahan", "closing_photo", "created_pju", "created_by", "assigned_to")
    readonly_fields = ("created_at", "assigned_at", "started_at", "done_at", "rejected_at", "version")


@admin.register(NeedsRun)
class NeedsRunAdmin(admin.ModelAdmin):
    list_display = ("finished_at", "full", "roads", "gaps", "proposed", "underlit_m", "seconds")
