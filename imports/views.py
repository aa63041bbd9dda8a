"""The admin's import page (/imports/): upload a file, watch the job's
progress, read the report (Bahasa Indonesia and English side by side)."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from imports import services
from layers.importers.service import LAYERS


@login_required(login_url="/admin/login/")
def import_page(request):
    if not services.can_import(request.user):
        raise PermissionDenied("Only planners and admins may import data.")
    return render(request, "imports/import_page.html", {"layers": sorted(LAYERS), "levels": services.LEVELS})
