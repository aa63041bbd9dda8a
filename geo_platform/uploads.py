"""Uploaded images (issue 12): the type comes from the bytes, never from the
name or the Content-Type header; every photo is decoded and re-encoded by
Pillow (EXIF orientation applied, every metadata chunk dropped: GPS, maker
notes, comments, text chunks, and whatever trails the image data, e.g. an
HTML payload appended to a PNG) and stored under a server-made name whose
extension matches the re-encoded type. SVG, HTML and every format outside
IMAGE_TYPES are refused; an image declaring more than PHOTO_MAX_PIXELS is
refused from its header, before it is decoded (decompression bombs)."""
from __future__ import annotations

import io
import re
import uuid
import warnings
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _

# Pillow format → (stored extension, content type). Only these are accepted.
IMAGE_TYPES = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
CONTENT_TYPES = {ext: ctype for ext, ctype in IMAGE_TYPES.values()} | {"jpeg": "image/jpeg"}
DEFAULT_MAX_PIXELS = 50_000_000  # a 48-megapixel phone camera fits; 20,000 × 20,000 does not
JPEG_QUALITY = 88


class ImageRejected(ValueError):
    """The upload is not an acceptable image; the message says why (→ 400)."""


def max_pixels() -> int:
    return int(getattr(settings, "PHOTO_MAX_PIXELS", None) or DEFAULT_MAX_PIXELS)


def sniff_image(data: bytes) -> str | None:
    """The Pillow format name of an accepted image type from its first bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def reencode_image(upload, *, max_side: int | None = None, jpeg: bool = False) -> ContentFile:
    """A clean copy of an uploaded photo (file-like), ready for a FileField;
    ImageRejected otherwise. `max_side` shrinks it to fit that many pixels a
    side; `jpeg` writes JPEG whatever came in (transparency flattened). The
    result's `image_size` is its (width, height)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    fmt = sniff_image(head)
    if fmt is None:
        raise ImageRejected(_("the file is not a JPEG, PNG or WebP image (SVG, HTML and other types are refused)"))
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=[fmt]) as img:
                width, height = img.size
                if width * height > limit:
                    raise ImageRejected(_("the image declares %(width)s×%(height)s pixels, more than the %(limit)s allowed") % {
                        "width": width, "height": height, "limit": number_format(limit, force_grouping=True)})
                img = ImageOps.exif_transpose(img)  # also loads the pixels
                if max_side:
                    img.thumbnail((max_side, max_side))
                out = io.BytesIO()
                if jpeg or fmt == "JPEG" or (fmt == "WEBP" and "A" not in img.getbands()):
                    if img.mode not in ("RGB", "L"):  # transparency over black, as Pillow flattens RGBA → RGB
                        img = img.convert("RGBA").convert("RGB") if "A" in img.mode or img.mode == "P" else img.convert("RGB")
                    img.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
                    ext = "jpg"
                else:
                    keep = img if img.mode in ("RGB", "RGBA", "L", "LA", "P") else img.convert("RGBA")
                    keep.save(out, "PNG", optimize=False)
                    ext = "png"
                size = img.size
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(_("the image is too large to decode safely (%(reason)s)") % {"reason": exc}) from None
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError) as exc:
        raise ImageRejected(_("the image cannot be read (%(reason)s)") % {"reason": exc}) from None
    content = ContentFile(out.getvalue(), name=server_name(getattr(upload, "name", "") or "", ext))
    content.image_size = size
    return content


_CLIENT_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def server_name(client_name: str, ext: str) -> str:
    """``<random hex>.<ext>``; a client file name that is exactly a UUID (the field app names each photo by
    its outbox id, to recognise it after a lost answer) is kept after the random part, nothing else of it."""
    stem = Path(client_name).stem
    keep = f"-{stem.lower()}" if _CLIENT_ID.fullmatch(stem) else ""
    return f"{uuid.uuid4().hex}{keep}.{ext}"


def content_type_of(data: bytes) -> str | None:
    """Content type of stored image bytes (from the bytes, for serving), or None."""
    fmt = sniff_image(data)
    return IMAGE_TYPES[fmt][1] if fmt else None
