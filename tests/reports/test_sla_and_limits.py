"""SLA → expected_datetime (configurable), overdue reports (layer filter and
summary per kecamatan with a hand-computed median), and the abuse limits:
rate per address and device, images only, ≤ 10 MB, EXIF removed (checked
with Pillow on the stored file)."""
import io
import os
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from reports.models import Report, ReportPhoto
from tests.reports.conftest import jpeg_bytes, post_report

pytestmark = pytest.mark.django_db


def at(scene, code="PJU-A"):
    lamp = scene["lamps"][code]
    return (lamp.geom.x, lamp.geom.y)


def test_sla_is_configurable_per_service(client, scene, api_key, settings):
    settings.OPEN311_SLA_DAYS = {"pju_mati": 1.5}
    r = post_report(client, api_key, "pju_mati", at(scene))
    (seen,) = client.get(f"/open311/v2/requests/{r.json()[0]['service_request_id']}.json").json()
    gap = datetime.fromisoformat(seen["expected_datetime"]) - datetime.fromisoformat(seen["requested_datetime"])
    assert gap == pytest.approx(timedelta(hours=36), abs=timedelta(seconds=1))
    r = post_report(client, api_key, "jalan_rusak", at(scene))  # default 14 days
    (seen,) = client.get(f"/open311/v2/requests/{r.json()[0]['service_request_id']}.json").json()
    gap = datetime.fromisoformat(seen["expected_datetime"]) - datetime.fromisoformat(seen["requested_datetime"])
    assert gap == pytest.approx(timedelta(days=14), abs=timedelta(seconds=1))


def test_overdue_layer_and_summary_per_kecamatan(client, scene, api_key):
    ids = []
    for code in ("PJU-A", "PJU-B", "PJU-C"):
        ids.append(int(post_report(client, api_key, "pju_mati", at(scene, code)).json()[0]["service_request_id"]))
    for _ in range(3):
        ids.append(int(post_report(client, api_key, "pju_usulan", at(scene, "PJU-A")).json()[0]["service_request_id"]))
    now = timezone.now()
    # three closed reports, fixed in 1, 2 and 5 days → median 2 days
    for rid, days in zip(ids[3:], (1, 2, 5)):
        Report.objects.filter(pk=rid).update(status="closed", requested_at=now - timedelta(days=10), closed_at=now - timedelta(days=10 - days))
    # one open report past its deadline
    Report.objects.filter(pk=ids[0]).update(expected_at=now - timedelta(hours=1))
    layer = client.get("/api/reports/?overdue=1").json()
    assert [f["id"] for f in layer["features"]] == [ids[0]] and layer["features"][0]["properties"]["overdue"] is True
    assert client.get(f"/api/reports/{ids[1]}/").json()["properties"]["overdue"] is False
    summary = client.get("/api/reports/summary/?level=kecamatan").json()
    (row,) = summary["areas"]
    assert row["code"] == "99.71.01"
    assert (row["received"], row["done"], row["overdue"], row["open"]) == (6, 3, 1, 3)
    assert row["median_days_to_fix"] == pytest.approx(2.0, abs=1e-6)
    assert client.get("/api/reports/summary/?level=provinsi").status_code == 400
    assert client.get("/api/reports/?overdue=maybe").json()["errors"]["overdue"]


def test_rate_limit_per_address_and_per_device(scene, api_key, settings):
    settings.REPORT_RATE_LIMIT = 2
    web = Client(REMOTE_ADDR="10.1.1.1")
    web.get("/lapor/")  # the page's session allows posting without a key
    assert post_report(web, None, "pju_mati", at(scene), device_id="dev-1").status_code == 201
    assert post_report(web, None, "pju_mati", at(scene), device_id="dev-2").status_code == 201
    r = post_report(web, None, "pju_mati", at(scene), device_id="dev-3")
    assert r.status_code == 429 and "address" in r.json()[0]["description"] and r["Retry-After"]
    # another address, but a device that already sent two (through an app's key)
    other = Client(REMOTE_ADDR="10.2.2.2")
    assert post_report(other, api_key, "pju_mati", at(scene), device_id="dev-9").status_code == 201
    assert post_report(other, api_key, "pju_mati", at(scene), device_id="dev-9").status_code == 201
    r = post_report(other, api_key, "pju_mati", at(scene), device_id="dev-9")
    assert r.status_code == 429 and "device" in r.json()[0]["description"]
    assert Report.objects.count() == 4


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "KameraWarga"  # Make
    exif[0x0110] = "HP-123"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (6.0, 10.0, 30.0), "E", (106.0, 37.0, 12.0)
    return exif.tobytes()


def test_photos_are_reencoded_without_exif(client, scene, api_key):
    raw = jpeg_bytes(size=(80, 40), exif=_exif_with_gps())
    with Image.open(io.BytesIO(raw)) as original:  # the upload does carry EXIF with GPS
        assert original.getexif()[0x010F] == "KameraWarga" and original.getexif().get_ifd(0x8825)
    r = post_report(client, api_key, "pju_mati", at(scene), media=SimpleUploadedFile("p.jpg", raw, content_type="image/jpeg"))
    assert r.status_code == 201
    photo = ReportPhoto.objects.get()
    with photo.image.open("rb") as fh, Image.open(fh) as stored:
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0 and "exif" not in stored.info
        assert stored.size == (40, 80)  # the orientation was applied to the pixels before EXIF went
    with photo.image.open("rb") as fh:
        assert b"KameraWarga" not in fh.read()


def test_only_images_up_to_10_mb(client, scene, api_key):
    text = SimpleUploadedFile("x.jpg", b"#!/bin/sh\necho not a photo\n", content_type="image/jpeg")
    r = post_report(client, api_key, "pju_mati", at(scene), media=text)
    assert r.status_code == 400 and "bukan gambar" in r.json()[0]["description"]  # Bahasa Indonesia by default
    svg = SimpleUploadedFile("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', content_type="image/svg+xml")
    assert post_report(client, api_key, "pju_mati", at(scene), media=svg).status_code == 400
    # a real PNG just over 10 MB (10 × 1024 × 1024 bytes): random pixels do not compress
    big = io.BytesIO()
    Image.frombytes("RGB", (2000, 1800), os.urandom(2000 * 1800 * 3)).save(big, format="PNG")
    noise = big.getvalue()
    assert len(noise) > 10 * 1024 * 1024
    r = post_report(client, api_key, "pju_mati", at(scene), media=SimpleUploadedFile("big.png", noise, content_type="image/png"))
    assert r.status_code == 400 and "MB" in r.json()[0]["description"]
    assert Report.objects.count() == 0 and ReportPhoto.objects.count() == 0


def test_layer_filters_refuse_nul(client, scene):
    r = client.get("/api/reports/?area=99%00")
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
