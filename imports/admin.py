from django.contrib import admin
from django.utils.html import format_html

from imports.models import ImportJob, Upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("filename", "layer", "status", "phase", "progress", "created_by", "created_at")
    list_filter = ("status", "layer")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": format_html(
            'Impor / Imports — <a href="/imports/">mulai impor baru · start a new import</a>')}
        return super().changelist_view(request, extra_context)


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("filename", "length", "offset", "created_by", "created_at")
    readonly_fields = [f.name for f in Upload._meta.fields]
