from django.contrib import admin

from geo_platform.widgets import LocalGISModelAdmin, LocalOSMWidget
from imagery.models import Imagery


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
