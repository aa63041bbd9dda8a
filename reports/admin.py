from django.contrib import admin

from geo_platform.widgets import LocalGISModelAdmin
from reports.models import CitizenProposal, Open311Key, Report, ReportPhoto


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "active", "created_by", "created_at")
    list_filter = ("active",)
    readonly_fields = ("key", "created_by", "created_at")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class PhotoInline(admin.TabularInline):
    model = ReportPhoto
    extra = 0
    readonly_fields = ("image", "width", "height", "created_at")


@admin.register(Report)
class ReportAdmin(LocalGISModelAdmin):
    list_display = ("id", "service_code", "status", "priority", "duplicate_of", "work_order", "kecamatan", "requested_at", "expected_at")
    list_filter = ("service_code", "status", "channel")
    raw_id_fields = ("pju", "road", "duplicate_of", "work_order", "proposal", "kecamatan", "kelurahan", "api_key")
    inlines = [PhotoInline]
    search_fields = ("description", "address_string")


@admin.register(CitizenProposal)
class CitizenProposalAdmin(LocalGISModelAdmin):
    list_display = ("id", "citizens", "status", "road", "kecamatan", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("road", "kecamatan", "kelurahan")
