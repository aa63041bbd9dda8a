from django.contrib import admin

from geo_platform.widgets import LocalGISModelAdmin
from layers.models import Area, AuditLog, Panel, Photo, RoadSegment, StreetLight


@admin.register(Area)
class AreaAdmin(LocalGISModelAdmin):
    list_display = ("code", "name", "level", "parent", "area_m2", "source")
    list_filter = ("level", "source")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


class AssetAdmin(LocalGISModelAdmin):
    raw_id_fields = ("kecamatan", "kelurahan")
    readonly_fields = ("version", "created_at", "updated_at")
    list_select_related = ("kecamatan",)


@admin.register(RoadSegment)
class RoadSegmentAdmin(AssetAdmin):
    list_display = ("id", "name", "road_class", "surface", "width_m", "condition", "length_m", "kecamatan", "source")
    list_filter = ("road_class", "condition", "surface", "source")
    search_fields = ("name", "section_code", "source_id")


@admin.register(StreetLight)
class StreetLightAdmin(AssetAdmin):
    list_display = ("id", "code", "status", "lamp_type", "wattage_w", "kecamatan", "source")
    list_filter = ("status", "lamp_type", "ownership", "source")
    search_fields = ("code", "source_id")
    raw_id_fields = ("kecamatan", "kelurahan", "panel")


@admin.register(Panel)
class PanelAdmin(AssetAdmin):
    list_display = ("id", "code", "pln_customer_id", "kecamatan", "source")
    search_fields = ("code", "pln_customer_id")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Who changed what through the API (read-only)."""

    list_display = ("at", "layer", "object_id", "action", "user")
    list_filter = ("layer", "action")
    search_fields = ("object_id",)
    readonly_fields = ("at", "layer", "object_id", "action", "user", "changes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Photo)
class PhotoAdmin(LocalGISModelAdmin):
    list_display = ("id", "layer", "object_id", "caption", "taken_at", "uploaded_by", "created_at")
    list_filter = ("layer",)
    raw_id_fields = ("uploaded_by",)
