"""Citizen reports (SPEC §8, Open311 GeoReport v2 "service requests").

* `Open311Key`: an API key an admin issues to an app (LAKSA, Tangerang LIVE…).
* `Report`: one service request. It is snapped to a PJU (light services) or a
  road (road services); a duplicate (same asset, same service, while the first
  is open) keeps its own id and points at the first (`duplicate_of`). Light and
  road reports hang on a work order of the needs app; `pju_usulan` reports on a
  `CitizenProposal` (Musrenbang). The reporter's contact fields are never
  public: the Open311 reads and the public pages leave them out.
* `ReportPhoto`: photos sent with a report, re-encoded (EXIF stripped)."""
import secrets

from django.conf import settings
from django.contrib.gis.db import models

from geo_platform.srid import STORAGE_SRID
from layers.models import Area, RoadSegment, StreetLight
from needs.models import WorkOrder
from reports.catalogue import SERVICES

SERVICE_CODES = [(s.code, s.name) for s in SERVICES.values()]
STATUSES = [("open", "Terbuka"), ("closed", "Selesai")]  # GeoReport v2 statuses
CHANNELS = [("api", "Aplikasi (api_key)"), ("web", "Formulir /lapor/")]


def new_key() -> str:
    return secrets.token_urlsafe(32)


class Open311Key(models.Model):
    name = models.CharField("aplikasi", max_length=200)
    key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "kunci API Open311"
        verbose_name_plural = "kunci API Open311"
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class CitizenProposal(models.Model):
    """A place where citizens ask for a new PJU (`pju_usulan`), for Musrenbang:
    reports within PROPOSAL_JOIN_M of an open proposal join it."""

    road = models.ForeignKey(RoadSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    citizens = models.PositiveIntegerField("jumlah warga", default=1)
    status = models.CharField(max_length=10, choices=STATUSES, default="open", db_index=True)
    kecamatan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kelurahan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    geom = models.PointField(srid=STORAGE_SRID)

    class Meta:
        verbose_name = "usulan PJU warga (Musrenbang)"
        verbose_name_plural = "usulan PJU warga (Musrenbang)"
        ordering = ["-citizens", "id"]


class Report(models.Model):
    service_code = models.CharField(max_length=30, choices=SERVICE_CODES, db_index=True)
    status = models.CharField(max_length=10, choices=STATUSES, default="open", db_index=True)
    status_notes = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    address_string = models.CharField(max_length=500, blank=True, default="")
    media_url = models.CharField("foto penutupan / media", max_length=1000, blank=True, default="")
    priority = models.PositiveIntegerField("prioritas (jumlah warga)", default=1)
    geom = models.PointField("lokasi laporan", srid=STORAGE_SRID)
    pju = models.ForeignKey(StreetLight, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    road = models.ForeignKey(RoadSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snap_distance_m = models.FloatField("jarak ke aset (m)", null=True, blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates")
    work_order = models.ForeignKey(WorkOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    proposal = models.ForeignKey(CitizenProposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    kecamatan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kelurahan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=CHANNELS, default="api")
    api_key = models.ForeignKey(Open311Key, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Contact: never public (SPEC §4, §8)
    email = models.EmailField(blank=True, default="")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    account_id = models.CharField(max_length=100, blank=True, default="")
    device_id = models.CharField(max_length=100, blank=True, default="")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    expected_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "laporan warga"
        verbose_name_plural = "laporan warga"
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["pju", "service_code", "status"]),
            models.Index(fields=["road", "service_code", "status"]),
            models.Index(fields=["work_order"]),
        ]

    def __str__(self):
        return f"Laporan {self.pk} ({self.service_code})"


class ReportPhoto(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="reports/%Y/%m/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "foto laporan"
        verbose_name_plural = "foto laporan"
        ordering = ["id"]
