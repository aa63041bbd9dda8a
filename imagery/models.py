"""Imagery catalogue: one row per stored Cloud-Optimized GeoTIFF.

The file itself lives under settings.IMAGERY_ROOT (``file`` is relative to it);
the footprint is the outline of the valid pixels in WGS 84 (STORAGE_SRID)."""
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db import models

from geo_platform.srid import STORAGE_SRID

KINDS = [
    ("orthophoto", "Ortofoto (foto udara)"),
    ("satellite", "Citra satelit"),
    ("drone", "Ortofoto drone"),
    ("dem", "DEM (model elevasi digital)"),
    ("dsm", "DSM (model permukaan digital)"),
]
KIND_CODES = [code for code, _ in KINDS]
ELEVATION_KINDS = ("dem", "dsm")


class Imagery(models.Model):
    name = models.CharField("nama", max_length=200)
    kind = models.CharField("jenis", max_length=20, choices=KINDS, db_index=True)
    captured_on = models.DateField("tanggal akuisisi", null=True, blank=True, db_index=True)
    footprint = models.MultiPolygonField(srid=STORAGE_SRID)
    source_crs = models.TextField("CRS sumber", help_text="EPSG:nnnn when known, else WKT")
    source_epsg = models.PositiveIntegerField(null=True, blank=True)
    gsd_m = models.FloatField("GSD (m)")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bands = models.PositiveSmallIntegerField()
    dtype = models.CharField(max_length=20)
    nodata = models.FloatField(null=True, blank=True)
    statistics = models.JSONField(default=dict, blank=True)
    checksum = models.CharField("sha256 berkas sumber", max_length=64, unique=True)
    file = models.CharField("berkas COG", max_length=300, help_text="relative to IMAGERY_ROOT")
    size_bytes = models.BigIntegerField("ukuran COG (byte)")
    source_size_bytes = models.BigIntegerField("ukuran sumber (byte)")
    original_filename = models.CharField(max_length=300, blank=True, default="")
    licence = models.CharField("lisensi", max_length=200, blank=True, default="")
    attribution = models.CharField("atribusi", max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "citra"
        verbose_name_plural = "citra"
        ordering = ["-captured_on", "name", "id"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def path(self) -> Path:
        return Path(settings.IMAGERY_ROOT) / self.file

    @property
    def is_elevation(self) -> bool:
        return self.kind in ELEVATION_KINDS
