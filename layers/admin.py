from django.contrib import admin
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from geo_platform.widgets import LocalGISModelAdmin
from layers.models import Area, AuditLog, Panel, Photo, RoadSegment, RoadSurvey, StreetLight
from layers.services import audit_record

SLUGS = {Area: "areas", Panel: "panels", RoadSegment: "roads", StreetLight: "pju"}


class AuditedAdmin(LocalGISModelAdmin):
    """Admin edits and deletes go into the audit history (channel "admin",
    values before and after) and bump `version` like an API edit; assets are
    soft-deleted (restorable with the "restore" action or POST …/restore/)."""

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "history")

    @admin.display(description="riwayat / history")
    def history(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = AuditLog.objects.filter(layer=SLUGS[type(obj)], object_id=obj.pk).select_related("user")[:50]
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td></tr>",
            ((r.at.strftime("%Y-%m-%d %H:%M:%S %Z"), r.get_action_display(), r.get_channel_display(),
              r.user.username if r.user else "-", r.before, r.changes) for r in rows)))

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        before = {name: form.initial.get(name) for name in form.changed_data} if change else {}
        if change and form.changed_data and hasattr(obj, "version"):
            before["version"] = obj.version
            obj.version += 1
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        after = {name: getattr(obj, name) for name in form.changed_data}
        if hasattr(obj, "version"):
            after["version"] = obj.version
        audit_record(layer=SLUGS[type(obj)], object_id=obj.pk, action="update" if change else "create",
                     user=request.user, changes=after, before=before, channel="admin")

    def _delete(self, request, obj):
        if hasattr(obj, "deleted_at"):
            if obj.deleted_at is not None:
                return
            before = {"deleted_at": None, "version": obj.version}
            obj.deleted_at, obj.version = timezone.now(), obj.version + 1
            obj.save(update_fields=["deleted_at", "version", "updated_at"])
            changes = {"soft": True, "deleted_at": obj.deleted_at, "version": obj.version}
        else:
            before, changes = {"code": getattr(obj, "code", ""), "name": str(obj)}, {"soft": False}
            pk = obj.pk
            obj.delete()
            obj.pk = pk
        audit_record(layer=SLUGS[type(obj)], object_id=obj.pk, action="delete", user=request.user,
                     changes=changes, before=before, channel="admin")

    @transaction.atomic
    def delete_model(self, request, obj):
        self._delete(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._delete(request, obj)


@admin.action(description="Pulihkan yang dihapus / restore deleted")
def restore_selected(modeladmin, request, queryset):
    with transaction.atomic():
        for obj in queryset.filter(deleted_at__isnull=False):
            before = {"deleted_at": obj.deleted_at, "version": obj.version}
            obj.deleted_at, obj.version = None, obj.version + 1
            obj.save(update_fields=["deleted_at", "version", "updated_at"])
            audit_record(layer=SLUGS[type(obj)], object_id=obj.pk, action="restore", user=request.user,
                         changes={"deleted_at": None, "version": obj.version}, before=before, channel="admin")


@admin.register(Area)
class AreaAdmin(AuditedAdmin):
    list_display = ("code", "name", "level", "parent", "area_m2", "source")
    list_filter = ("level", "source")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


class AssetAdmin(AuditedAdmin):
    raw_id_fields = ("kecamatan", "kelurahan")
    readonly_fields = ("version", "created_at", "updated_at", "deleted_at")
    list_select_related = ("kecamatan",)
    actions = [restore_selected]


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
    """Who changed what, when, through which channel (API, admin, import); read-only."""

    list_display = ("at", "layer", "object_id", "action", "channel", "user")
    list_filter = ("layer", "action", "channel")
    search_fields = ("object_id",)
    readonly_fields = ("at", "layer", "object_id", "action", "channel", "user", "before", "changes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Photo)
class PhotoAdmin(LocalGISModelAdmin):
    list_display = ("id", "layer", "object_id", "caption", "taken_at", "uploaded_by", "created_at")
    list_filter = ("layer",)
    raw_id_fields = ("uploaded_by",)


@admin.register(RoadSurvey)
class RoadSurveyAdmin(admin.ModelAdmin):
    """SDI surveys (issue 14): read in the admin, written by POST /api/roads/{id}/survey/."""

    list_display = ("road", "surveyed_on", "sdi", "condition", "surveyed_by")
    list_filter = ("condition",)
    raw_id_fields = ("road",)
