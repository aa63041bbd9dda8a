"""Assets of the city, stored in WGS 84 (STORAGE_SRID) with GiST indexes.

Metres are computed by PostGIS on the spheroid (geography) when rows are
written (`length_m`, `area_m2`), so they are right for any city."""

from django.contrib.gis.db import models
from django.core.validators import MinValueValidator
from django.contrib.gis.db.models.functions import Transform

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID, WEB_MERCATOR_SRID


def mercator_copy(geom_field):
    """A stored Web Mercator copy of `geom`, kept by PostgreSQL (generated
    column), so vector tiles need no per-request ST_Transform."""
    return models.GeneratedField(
        expression=Transform("geom", WEB_MERCATOR_SRID),
        output_field=geom_field(srid=WEB_MERCATOR_SRID),
        db_persist=True,
        editable=False,
    )


class Area(models.Model):
    level = models.CharField(max_length=20, choices=codes.AREA_LEVELS, db_index=True)
    code = models.CharField("kode Kemendagri", max_length=40, unique=True)
    name = models.CharField("nama", max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    area_m2 = models.FloatField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=100, default="manual")
    source_id = models.CharField(max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    geom = models.MultiPolygonField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.MultiPolygonField)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "wilayah administrasi"
        verbose_name_plural = "wilayah administrasi"
        ordering = ["code"]

    def __str__(self):
        return f"{self.get_level_display()} {self.name} ({self.code})"


class Asset(models.Model):
    """Fields every mapped asset shares: provenance, versioning, soft delete, areas."""

    # Plain B-tree indexes (Meta.indexes of each table), not db_index: Django adds a second,
    # varchar_pattern_ops index per CharField for LIKE 'x%' queries nobody makes, which every
    # insert and every bulk import's index rebuild paid for (issue 18).
    source = models.CharField(max_length=100, default="manual")
    source_id = models.CharField(max_length=200, blank=True, default="")
    client_id = models.UUIDField(null=True, blank=True, unique=True, default=None)
    version = models.PositiveIntegerField(default=1)
    kecamatan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kelurahan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Indexed where set only (Meta.indexes: the few soft-deleted rows, found for restores); a full
    # index would hold a NULL per live row, written by every insert and rebuilt by every bulk import.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class RoadSegment(Asset):
    name = models.CharField("nama", max_length=300, blank=True, default="")
    section_code = models.CharField("nomor ruas", max_length=60, blank=True, default="")
    road_class = models.CharField("kelas", max_length=20, choices=codes.ROAD_CLASSES)
    authority = models.CharField("status jalan", max_length=20, choices=codes.ROAD_AUTHORITIES, default="unknown")
    surface = models.CharField("perkerasan", max_length=20, choices=codes.ROAD_SURFACES, default="unknown")
    width_m = models.FloatField("lebar (m)", null=True, blank=True)
    lanes = models.PositiveSmallIntegerField("lajur", null=True, blank=True)
    condition = models.CharField("kondisi", max_length=20, choices=codes.ROAD_CONDITIONS, default="unknown")
    condition_origin = models.CharField(max_length=20, choices=codes.VALUE_ORIGINS, default="import")
    sdi = models.FloatField(null=True, blank=True)
    iri = models.FloatField(null=True, blank=True)
    surveyed_on = models.DateField("tanggal survei", null=True, blank=True)
    # issue 14: design traffic (million ESA, MDP 2017) picks a reconstruction's structure (SPEC §6)
    design_esa = models.FloatField("beban lalu lintas rencana (juta ESA)", null=True, blank=True,
                                   validators=[MinValueValidator(0)])
    approximate = models.BooleanField(default=False, help_text="Garis lurus dari titik awal–akhir")
    length_m = models.FloatField(null=True, blank=True, editable=False)
    geom = models.LineStringField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.LineStringField)

    class Meta:
        verbose_name = "ruas jalan"
        verbose_name_plural = "ruas jalan"
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], condition=~models.Q(source_id=""), name="road_source_uniq")]
        indexes = [models.Index(fields=["deleted_at"], name="road_deleted", condition=models.Q(deleted_at__isnull=False)),
                   models.Index(fields=["source"], name="road_source"),
                   models.Index(fields=["road_class"], name="road_class"), models.Index(fields=["condition"], name="road_condition")]

    def __str__(self):
        return self.name or f"Jalan #{self.pk}"


class Panel(Asset):
    code = models.CharField("kode panel", max_length=100, blank=True, default="")
    pln_customer_id = models.CharField("ID pelanggan PLN", max_length=60, blank=True, default="")
    meter = models.CharField("meteran", max_length=60, blank=True, default="")
    geom = models.PointField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.PointField)

    class Meta:
        verbose_name = "panel PJU"
        verbose_name_plural = "panel PJU"
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], condition=~models.Q(source_id=""), name="panel_source_uniq")]
        indexes = [models.Index(fields=["deleted_at"], name="panel_deleted", condition=models.Q(deleted_at__isnull=False)),
                   models.Index(fields=["source"], name="panel_source")]

    def __str__(self):
        return self.code or f"Panel #{self.pk}"


class StreetLight(Asset):
    code = models.CharField("kode PJU", max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, choices=codes.PJU_STATUSES, default="unknown")
    status_origin = models.CharField(max_length=20, choices=codes.VALUE_ORIGINS, default="import")
    lamp_type = models.CharField("jenis lampu", max_length=20, choices=codes.LAMP_TYPES, default="unknown")
    wattage_w = models.FloatField("daya (W)", null=True, blank=True)
    pole_height_m = models.FloatField("tinggi tiang (m)", null=True, blank=True)
    ownership = models.CharField("kepemilikan", max_length=20, choices=codes.OWNERSHIPS, default="unknown")
    legal = models.BooleanField(null=True, blank=True, help_text="False = sambungan ilegal (tanpa meter)")
    power_source = models.CharField("sumber listrik", max_length=60, blank=True, default="")
    pln_customer_id = models.CharField("ID pelanggan PLN", max_length=60, blank=True, default="")
    panel = models.ForeignKey(Panel, null=True, blank=True, on_delete=models.SET_NULL, related_name="lights")
    installed_on = models.DateField("tanggal pasang", null=True, blank=True)
    # Issue 16 (SPEC §7): the smart-light controller publishing on pju/{controller_id}/…; "" = none.
    controller_id = models.CharField("ID kontroler", max_length=64, blank=True, default="", db_default="")
    geom = models.PointField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.PointField)

    class Meta:
        verbose_name = "PJU (Penerangan Jalan Umum)"
        verbose_name_plural = "PJU (Penerangan Jalan Umum)"
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], condition=~models.Q(source_id=""), name="pju_source_uniq"),
            models.UniqueConstraint(fields=["controller_id"], condition=~models.Q(controller_id=""), name="pju_controller_uniq"),  # issue 16
        ]
        indexes = [models.Index(fields=["deleted_at"], name="pju_deleted", condition=models.Q(deleted_at__isnull=False)),
                   models.Index(fields=["source"], name="pju_source"), models.Index(fields=["code"], name="pju_code"),
                   models.Index(fields=["status"], name="pju_status")]

    def __str__(self):
        return self.code or f"PJU #{self.pk}"




# --- API support (issue 3): tiles on a stored Web Mercator copy, photos, audit, revisions ---


class Photo(models.Model):
    """A photo of an asset taken in the field (POST /api/{layer}/{id}/photos/)."""

    layer = models.CharField(max_length=20, db_index=True)  # API slug: pju, roads, areas, panels
    object_id = models.BigIntegerField(db_index=True)
    image = models.FileField(upload_to="photos/%Y/%m/")
    caption = models.CharField(max_length=300, blank=True, default="")
    taken_at = models.DateTimeField(null=True, blank=True)
    geom = models.PointField(srid=STORAGE_SRID, null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "foto"
        verbose_name_plural = "foto"
        ordering = ["created_at", "id"]


class AuditLog(models.Model):
    """Who changed what through the API; soft deletes and restores included."""

    ACTIONS = [("create", "Dibuat"), ("update", "Diubah"), ("delete", "Dihapus"), ("restore", "Dipulihkan"), ("photo", "Foto")]
    CHANNELS = [("api", "API"), ("admin", "Admin"), ("import", "Impor"), ("sensor", "Sensor")]  # sensor: issue 16
    layer = models.CharField(max_length=20)  # API slug (pju, roads, areas, panels) or "imagery"
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=ACTIONS)
    user = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict, blank=True)  # values after the change
    before = models.JSONField(default=dict, blank=True)  # the same fields' values before it
    channel = models.CharField(max_length=10, choices=CHANNELS, default="api")

    class Meta:
        verbose_name = "log audit"
        verbose_name_plural = "log audit"
        ordering = ["-at", "-id"]
        # A feature's history is read by (layer, object_id); one index for it, not three (layer,
        # its LIKE twin, object_id) plus two for channel: an import writes a row per feature (issue 18).
        indexes = [models.Index(fields=["layer", "object_id"], name="auditlog_layer_object")]


class LayerRevision(models.Model):
    """One counter per table, bumped by a PostgreSQL statement trigger on every
    INSERT/UPDATE/DELETE/TRUNCATE (API, importers, admin or raw SQL alike):
    tile caches and ETags key on it, so an edit shows in the next request."""

    table = models.CharField(max_length=63, primary_key=True)
    revision = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "revisi layer"
        verbose_name_plural = "revisi layer"


class RoadSurvey(models.Model):
    """A visual condition survey of a road segment (Bina Marga SDI form,
    DOMAIN §4; POST /api/roads/{id}/survey/). Its SDI updates the road's
    `sdi`, `condition` and `surveyed_on` (issue 14)."""

    road = models.ForeignKey(RoadSegment, on_delete=models.CASCADE, related_name="surveys")
    surveyed_on = models.DateField("tanggal survei")
    crack_area_pct = models.FloatField("luas retak (% segmen)", validators=[MinValueValidator(0)])
    crack_width_mm = models.FloatField("lebar retak (mm)", validators=[MinValueValidator(0)])
    potholes_per_100m = models.FloatField("jumlah lubang per 100 m", validators=[MinValueValidator(0)])
    rut_depth_cm = models.FloatField("kedalaman alur (cm)", validators=[MinValueValidator(0)])
    sdi = models.FloatField()
    condition = models.CharField(max_length=20, choices=codes.ROAD_CONDITIONS)
    photos = models.JSONField("foto (id)", default=list, blank=True)
    notes = models.TextField("catatan", blank=True, default="")
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    surveyed_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "survei kondisi jalan (SDI)"
        verbose_name_plural = "survei kondisi jalan (SDI)"
        ordering = ["-surveyed_on", "-id"]

    def __str__(self):
        return f"{self.road} {self.surveyed_on}: SDI {self.sdi:g}"
