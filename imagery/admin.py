from django.contrib import admin

from geo_platform.widgets import LocalGISModelAdmin, LocalOSMWidget
from imagery.models import Imagery
from imagery.services import imagery_delete


class OfflineOSMWidget(LocalOSMWidget):
    """LocalOSMWidget's Media extends Django's (which lists the OpenLayers CDN);
    extend = False keeps only the vendored files."""

    class Media:
        extend = False
        css = LocalOSMWidget.Media.css
        js = LocalOSMWidget.Media.js


@admin.register(Imagery)
class ImageryAdmin(LocalGISModelAdmin):
    gis_widget = OfflineOSMWidget
    list_display = ("id", "name", "kind", "captured_on", "gsd_m", "source_crs", "width", "height", "bands", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "original_filename", "checksum")
    readonly_fields = (
        "source_crs", "source_epsg", "gsd_m", "width", "height", "bands", "dtype", "nodata", "statistics",
        "checksum", "file", "size_bytes", "source_size_bytes", "original_filename", "created_by", "created_at", "updated_at",
    )

    def has_add_permission(self, request):
        return False  # files come in through `manage.py import_imagery` or POST /api/imagery/

    def save_model(self, request, obj, form, change):
        from layers.services import audit_record

        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            audit_record(layer="imagery", object_id=obj.pk, action="update", user=request.user, channel="admin",
                         changes={name: getattr(obj, name) for name in form.changed_data}, before=before)

    def delete_model(self, request, obj):
        imagery_delete(imagery=obj, user=request.user, channel="admin")  # audited; the COG goes too

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
