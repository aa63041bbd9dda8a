"""Needs located in the field (SPEC §4–5), stored in WGS 84 with a Web
Mercator copy for tiles, like the layers they derive from.

* `LightingGap` / `ProposedPJU`: results of the SPEC §5 lighting rule,
  recomputed set-based by PostGIS (needs/gaps.sql) for the roads an edit
  touches or in full by `compute_needs`.
* `LampMatch`: which PJU (any status) lights which road at which chainage,
  with the `weak` metres its standard disc reaches (an upgrade) and the
  `dark` metres its recorded disc would restore (a repair); kept so that
  moving or switching off a lamp refreshes the roads it lit before.
* `Facility`: schools, markets, hospitals (priority: nearness).
* `WorkOrder`: a need turned into a job for a field officer.
The derived tables hold no database-level foreign keys (db_constraint=False)
and few indexes (each costs at every run's inserts; tables of ~10⁵ rows scan fast):
they are rebuilt from the layers by whole runs, and per-row deferred FK
checks at commit cost more than the analysis itself (Django still cascades
ORM deletes). Broken PJU and damaged roads are not copied: they are live queries on the
layers (needs/selectors.py)."""
from django.conf import settings
from django.contrib.gis.db import models
from django.db.models.fields.json import KT

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID
from layers.models import Area, Photo, RoadSegment, StreetLight, mercator_copy

SIDES = [("left", "Kiri"), ("right", "Kanan")]
# SPEC §5 v2: three disjoint kinds of under-lit road
GAP_KINDS = [
    ("missing", "Belum ada PJU (perlu tiang baru)"),
    ("weak", "Lampu kurang kuat (perlu peningkatan lampu)"),
    ("dark", "PJU mati/rusak (perlu perbaikan)"),
]
FACILITY_KINDS = [("school", "Sekolah"), ("market", "Pasar"), ("hospital", "Rumah sakit/Puskesmas")]


class RuleValues(models.Model):
    """The rule values used for one result (SPEC §5), so each feature says
    what it was computed with."""

    road_class = models.CharField("kelas", max_length=20, choices=codes.ROAD_CLASSES)
    pole_height_m = models.FloatField("H (m)")
    spacing_factor = models.FloatField("k")
    spacing_m = models.FloatField("S = k·H (m)")
    width_m = models.FloatField("W (m)")
    reach_m = models.FloatField("W/2 + 10 m")
    offset_m = models.FloatField("W/2 + 0.7 m")
    road_length_m = models.FloatField("panjang ruas (m)")
    priority = models.FloatField("skor prioritas", default=0)
    kecamatan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False)
    kelurahan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class LightingGap(RuleValues):
    road = models.ForeignKey(RoadSegment, on_delete=models.CASCADE, related_name="lighting_gaps", db_constraint=False, db_index=False)
    kind = models.CharField(max_length=10, choices=GAP_KINDS)
    start_m = models.FloatField("awal (m)")
    end_m = models.FloatField("akhir (m)")
    length_m = models.FloatField("panjang kurang terang (m)")
    gap_m = models.FloatField("panjang bentang gabungan (m)")  # the stretch (SPEC §5.4) this piece belongs to
    proposed_count = models.PositiveIntegerField("usulan PJU", default=0)
    geom = models.LineStringField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.LineStringField)

    class Meta:
        verbose_name = "celah penerangan"
        verbose_name_plural = "celah penerangan"
        indexes = [models.Index(fields=["road", "start_m"])]

    def __str__(self):
        return f"Celah {self.start_m:.0f}–{self.end_m:.0f} m, jalan #{self.road_id}"


class ProposedPJU(RuleValues):
    road = models.ForeignKey(RoadSegment, on_delete=models.CASCADE, related_name="proposed_pju", db_constraint=False, db_index=False)
    gap = models.ForeignKey(LightingGap, on_delete=models.CASCADE, related_name="proposed", db_constraint=False, db_index=False)
    chainage_m = models.FloatField("posisi (m)")
    side = models.CharField("sisi", max_length=5, choices=SIDES)
    estimated_cost = models.DecimalField("perkiraan biaya (IDR)", max_digits=18, decimal_places=2, null=True, blank=True)
    lamp = models.JSONField("lampu standar kelas", default=dict, blank=True)
    geom = models.PointField(srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.PointField)

    class Meta:
        verbose_name = "usulan PJU"
        verbose_name_plural = "usulan PJU"
        indexes = [models.Index(fields=["road", "chainage_m"])]

    def __str__(self):
        return f"Usulan PJU {self.chainage_m:.0f} m, jalan #{self.road_id}"


class LampMatch(models.Model):
    """PJU `pju` (any status) lights road `road` at `chainage_m`; on that
    road its standard disc reaches `weak_m` weak metres (counted when its own
    disc is smaller: `upgrade`) and its recorded disc covers `dark_m` dark
    metres (off/damaged PJU: what a repair restores)."""

    road = models.ForeignKey(RoadSegment, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    pju = models.ForeignKey(StreetLight, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    chainage_m = models.FloatField()
    side = models.CharField(max_length=5, choices=SIDES)
    radius_m = models.FloatField("ρ lampu tercatat (m)", default=0)
    standard_radius_m = models.FloatField("ρ lampu standar (m)", default=0)
    weak_m = models.FloatField(default=0)
    dark_m = models.FloatField(default=0)
    upgrade = models.BooleanField(default=False)

    class Meta:
        verbose_name = "PJU pada ruas"
        verbose_name_plural = "PJU pada ruas"
        indexes = [models.Index(fields=["road"]), models.Index(fields=["pju"])]


class Facility(models.Model):
    kind = models.CharField(max_length=10, choices=FACILITY_KINDS, db_index=True)
    name = models.CharField("nama", max_length=300, blank=True, default="")
    source = models.CharField(max_length=100, default="manual")
    source_id = models.CharField(max_length=200, blank=True, default="")
    geom = models.PointField(srid=STORAGE_SRID)

    class Meta:
        verbose_name = "fasilitas umum"
        verbose_name_plural = "fasilitas umum"
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], condition=~models.Q(source_id=""), name="facility_source_uniq")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}".strip()


class NeedsRun(models.Model):
    """One computation of the lighting needs (full or for some roads)."""

    full = models.BooleanField(default=True)
    roads = models.PositiveIntegerField(default=0)
    gaps = models.PositiveIntegerField(default=0)
    proposed = models.PositiveIntegerField(default=0)
    underlit_m = models.FloatField(default=0)
    seconds = models.FloatField(default=0)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "perhitungan kebutuhan"
        verbose_name_plural = "perhitungan kebutuhan"
        ordering = ["-finished_at"]


WORK_ORDER_KINDS = [
    ("broken_pju", "Perbaikan PJU mati/rusak"),
    ("proposed_pju", "Pemasangan PJU baru"),
    ("lighting_gap", "Penerangan ruas kurang terang"),
    ("damaged_road", "Perbaikan jalan rusak"),
]
WORK_ORDER_STATES = [
    ("open", "Baru"),
    ("assigned", "Ditugaskan"),
    ("in_progress", "Dikerjakan"),
    ("done", "Selesai"),
    ("rejected", "Ditolak"),
    ("verified", "Terverifikasi sensor"),  # issue 16: done, and the PJU's controller confirms the repair
]
# Issue 16: who raised the order (SPEC §7: an alarm opens one with source `sensor`).
WORK_ORDER_SOURCES = [("planner", "Perencana"), ("sensor", "Sensor")]
WORK_ORDER_ACTIVE = ("open", "assigned", "in_progress")  # at most one per need (constraints below)


class WorkOrder(models.Model):
    kind = models.CharField(max_length=20, choices=WORK_ORDER_KINDS, db_index=True)
    status = models.CharField(max_length=20, choices=WORK_ORDER_STATES, default="open", db_index=True)
    title = models.CharField("judul", max_length=300)
    notes = models.TextField("catatan", blank=True, default="")
    priority = models.FloatField("skor prioritas", default=0)
    pju = models.ForeignKey(StreetLight, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_orders")
    road = models.ForeignKey(RoadSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_orders")
    # Proposed poles and gaps are recomputed: the order keeps their values.
    need_ref = models.JSONField("kebutuhan asal", default=dict, blank=True)
    kecamatan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kelurahan = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_orders"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    reject_reason = models.TextField(blank=True, default="")
    closing_note = models.TextField(blank=True, default="")
    closing_geom = models.PointField("posisi GPS penutupan", srid=STORAGE_SRID, null=True, blank=True)
    closing_accuracy_m = models.FloatField(null=True, blank=True)
    closing_distance_m = models.FloatField("jarak ke aset (m)", null=True, blank=True)
    closing_photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_pju = models.ForeignKey(StreetLight, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    source = models.CharField("asal", max_length=20, choices=WORK_ORDER_SOURCES, default="planner", db_default="planner")  # issue 16
    verified_at = models.DateTimeField(null=True, blank=True)  # issue 16: telemetry confirmed the repair
    geom = models.PointField("lokasi", srid=STORAGE_SRID)
    geom_3857 = mercator_copy(models.PointField)

    class Meta:
        verbose_name = "perintah kerja"
        verbose_name_plural = "perintah kerja"
        ordering = ["-created_at", "-id"]
        # issue 12: one active (open, assigned, in progress) order per need, enforced by partial unique indexes
        constraints = [
            models.UniqueConstraint(fields=["pju"], condition=models.Q(kind="broken_pju", status__in=WORK_ORDER_ACTIVE),
                                    name="work_order_one_active_broken_pju"),
            models.UniqueConstraint(fields=["road"], condition=models.Q(kind="damaged_road", status__in=WORK_ORDER_ACTIVE),
                                    name="work_order_one_active_damaged_road"),
            models.UniqueConstraint(KT("need_ref__proposed_pju"),
                                    condition=models.Q(kind="proposed_pju", status__in=WORK_ORDER_ACTIVE),
                                    name="work_order_one_active_proposed_pju"),
            models.UniqueConstraint(KT("need_ref__lighting_gap"),
                                    condition=models.Q(kind="lighting_gap", status__in=WORK_ORDER_ACTIVE),
                                    name="work_order_one_active_lighting_gap"),
        ]

    def __str__(self):
        return f"WO-{self.pk}: {self.title}"
