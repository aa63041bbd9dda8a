"""Citizen photos (SPEC §8): images only, at most REPORT_PHOTO_MAX_BYTES
(10 MB), decoded and re-encoded by Pillow as JPEG — the orientation is
applied to the pixels first, so dropping EXIF (GPS position, camera, time)
loses nothing the picture needs. Anything Pillow cannot decode as an image
is refused. (Issue 12 may bring a shared helper to geo_platform/.)"""
from __future__ import annotations

import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
MAX_SIDE_PX = 2560
MAX_PIXELS = 40_000_000


class BadImage(ValueError):
    pass


def max_bytes() -> int:
    return int(getattr(settings, "REPORT_PHOTO_MAX_BYTES", 10 * 1024 * 1024))


def reencode(upload) -> tuple[ContentFile, int, int]:
    """(JPEG without metadata, width, height) from an uploaded file, or BadImage."""
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise BadImage(f"the photo is {size / 1e6:.1f} MB; at most {limit / 1e6:.0f} MB is accepted")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise BadImage(f"the photo is larger than {limit / 1e6:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in ACCEPTED_FORMATS:
                    raise BadImage(f"{fmt or 'this file'} is not an accepted image format (JPEG, PNG, WebP…)")
                if probe.width * probe.height > MAX_PIXELS:
                    raise BadImage(f"the photo has {probe.width}×{probe.height} pixels; at most {MAX_PIXELS:,} are accepted")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                img.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
                if img.mode not in ("RGB", "L"):
                    img = img.convert("RGBA").convert("RGB") if "A" in img.mode or img.mode == "P" else img.convert("RGB")
                out = io.BytesIO()
                img.save(out, format="JPEG", quality=85, optimize=True)  # no exif= argument: no metadata written
                width, height = img.size
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"the file is not a readable image ({exc.__class__.__name__})") from None
    return ContentFile(out.getvalue(), name="photo.jpg"), width, height
