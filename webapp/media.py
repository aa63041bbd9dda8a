"""/media/… behind the same access policy as what the files belong to (issue 12).

- ``photos/…``: a Photo row must name the file, the asset it belongs to must
  be live (a soft-deleted asset's photos are not served; planners and admins,
  who may restore it, still see them), and reads follow PUBLIC_READ.
- ``imagery/…``: stored COGs follow PUBLIC_READ like the imagery tiles.
- anything else under MEDIA_ROOT: 404.

The content type comes from the stored bytes (never the file name); every
answer carries ``X-Content-Type-Options: nosniff``, a ``Content-Disposition``
and a CSP that runs nothing, so even a legacy file named ``*.html`` is never
rendered as a page of the platform's origin."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from django.utils.translation import gettext as _

from geo_platform import access
from geo_platform.errors import error, json_errors
from geo_platform.uploads import content_type_of

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _not_found(path: str) -> JsonResponse:
    return error(404, _("no such file: /media/%(path)s") % {"path": path}, {"path": [path]})


def _photo_allowed(request, name: str) -> bool:
    from layers.models import Photo
    from layers.selectors import LAYERS

    photo = Photo.objects.filter(image=name).only("layer", "object_id").first()
    if photo is None:
        return False
    spec = LAYERS.get(photo.layer)
    if spec is None:
        return False
    qs = spec.model.objects.filter(pk=photo.object_id)
    if spec.soft_delete and not access.PLANNER.allows(request.user):
        qs = qs.filter(deleted_at__isnull=True)
    return qs.exists()


@require_safe
@json_errors
def media_view(request, path: str):
    root = Path(settings.MEDIA_ROOT).resolve()
    file = (root / path).resolve()
    if root not in file.parents or not file.is_file():
        return _not_found(path)
    access.PUBLIC_READ_LOGIN_WRITE.check(request)  # also sets request.user from an API token
    relative = file.relative_to(root).as_posix()
    imagery_root = Path(settings.IMAGERY_ROOT).resolve()
    if imagery_root in file.parents:
        if not relative.endswith(".tif") or "/.tmp/" in f"/{file.relative_to(imagery_root).as_posix()}":
            return _not_found(path)
        content_type = "image/tiff"
    elif relative.startswith("photos/"):
        if not _photo_allowed(request, relative):
            return _not_found(path)
        with open(file, "rb") as fh:
            content_type = content_type_of(fh.read(16)) or "application/octet-stream"
    elif relative.startswith("reports/"):  # issue 17: citizens' report photos (re-encoded JPEG, public like the report)
        from reports.models import ReportPhoto

        if not ReportPhoto.objects.filter(image=relative).exists():
            return _not_found(path)
        content_type = "image/jpeg"
    else:
        return _not_found(path)
    if content_type == "image/tiff":  # COGs may be gigabytes: streamed (the server closes the file)
        response = FileResponse(open(file, "rb"), content_type=content_type)
    else:  # photos are small (uploads are capped): read whole, so no open file outlives the request
        response = HttpResponse(file.read_bytes(), content_type=content_type)
    inline = content_type.startswith("image/") and content_type != "image/tiff"
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{file.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
