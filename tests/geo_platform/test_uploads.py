"""The one image rule (geo_platform.uploads) as the reports use it:
shrunk to fit, always JPEG, size reported; types outside JPEG/PNG/WebP refused."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from geo_platform.uploads import ImageRejected, reencode_image, sniff_image
from reports import images


def upload(fmt: str, size, mode="RGBA", name="p"):
    buf = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 0) if mode == "RGBA" else (10, 200, 30)).save(buf, format=fmt)
    return SimpleUploadedFile(f"{name}.{fmt.lower()}", buf.getvalue())


def test_reports_photos_are_shrunk_jpeg_with_their_size():
    content, width, height = images.reencode(upload("PNG", (4000, 1000)))
    data = content.read()
    assert sniff_image(data) == "JPEG" and content.name.endswith(".jpg")
    assert (width, height) == (2560, 640)  # 4000 × 1000 scaled by 2560 / 4000
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (2560, 640) and img.mode == "RGB"


def test_the_layers_keep_png_and_size():
    content = reencode_image(upload("PNG", (300, 200)))
    assert sniff_image(content.read()) == "PNG" and content.image_size == (300, 200)


def test_types_outside_the_rule_are_refused_for_reports_too():
    for fmt in ("GIF", "BMP"):
        with pytest.raises(images.BadImage):
            images.reencode(upload(fmt, (50, 50), mode="RGB"))
    assert images.BadImage is ImageRejected
