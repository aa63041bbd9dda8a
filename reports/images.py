"""Citizen photos (SPEC §8): at most REPORT_PHOTO_MAX_BYTES (10 MB), then
the platform's one image rule (geo_platform.uploads: JPEG, PNG or WebP from
the bytes, orientation applied, every metadata chunk dropped), shrunk to
MAX_SIDE_PX a side and stored as JPEG."""
from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from geo_platform.uploads import ImageRejected, reencode_image

MAX_SIDE_PX = 2560
BadImage = ImageRejected  # the intake's name for a refused photo (→ 400)


def max_bytes() -> int:
    return int(getattr(settings, "REPORT_PHOTO_MAX_BYTES", 10 * 1024 * 1024))


def reencode(upload) -> tuple[ContentFile, int, int]:
    """(JPEG without metadata, width, height) from an uploaded file, or BadImage."""
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise BadImage(_("the photo is %(size).1f MB; at most %(limit).0f MB is accepted") % {"size": size / 1e6, "limit": limit / 1e6})
    content = reencode_image(upload, max_side=MAX_SIDE_PX, jpeg=True)
    return content, *content.image_size
