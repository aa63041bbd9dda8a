"""Live PJU network (SPEC §7): what the controllers report and what the
platform sends them.

* `Telemetry` — raw history, one row per accepted telemetry message, in a
  table partitioned by day on `ts` (created by migration 0001's SQL; Django
  only reads it). Partitions are created ahead and dropped whole after
  `LIVE_RETENTION_DAYS` (live/partitions.py).
* `TelemetryHourly` — per PJU and hour: kWh, burning and reporting seconds,
  faults; kept for years; rebuilt from the raw rows by live/rollups.py for
  the hours in `RollupDirty`.
* `LiveState` — the latest state of each PJU with a controller.
* `LiveEvent`, `Alarm`, `Command`, `DeadLetter`."""
import uuid

from django.conf import settings
from django.db import models

from layers.models import StreetLight

POWER_STATES = [("on", "Menyala"), ("off", "Mati"), ("dimmed", "Diredupkan")]
POWER_CODE = {"off": 0, "on": 1, "dimmed": 2}  # smallint in the raw table
POWER_NAME = {v: k for k, v in POWER_CODE.items()}
EVENT_KINDS = [
    ("lamp_failure", "Lampu gagal"),
    ("supply_loss", "Pasokan listrik hilang"),
    ("lamp_unexpected_on", "Lampu menyala tak terduga"),
    ("tilt", "Tiang miring"),
    ("door_open", "Pintu panel terbuka"),
    ("restored", "Pulih"),
]
ALARM_KINDS = [
    ("lamp_failure", "Lampu gagal"),
    ("supply_loss", "Pasokan listrik hilang"),
    ("off_at_night", "Mati pada malam hari"),
    ("day_burning", "Menyala siang hari"),
    ("offline", "Tidak melapor"),
]
COMMAND_STATES = [("queued", "Antre"), ("sent", "Terkirim"), ("acknowledged", "Diterima"), ("failed", "Gagal")]
# Why a message went to the dead-letter table; defined once (live/protocol.py raises them).
DEAD_LETTER_REASONS = [
    ("bad_topic", "Topik tidak dikenal"),
    ("oversized", "Pesan terlalu besar"),
    ("bad_encoding", "Bukan UTF-8"),
    ("malformed_json", "JSON rusak"),
    ("not_object", "JSON bukan objek"),
    ("missing_field", "Field wajib tidak ada"),
    ("bad_field", "Nilai field salah"),
    ("bad_timestamp", "Waktu tidak terbaca"),
    ("future_timestamp", "Waktu di masa depan"),
    ("stale", "Lebih tua dari masa simpan"),
    ("unknown_event", "Jenis event tidak dikenal"),
    ("unknown_controller", "Kontroler tidak dikenal"),
    ("out_of_order", "Urutan waktu mundur"),
    ("unknown_command", "Ack untuk perintah tak dikenal"),
    ("processing_error", "Gagal diproses"),
]


class Telemetry(models.Model):
    """Raw telemetry (partitioned table `live_telemetry`, unmanaged)."""

    pk = models.CompositePrimaryKey("pju_id", "ts")
    ts = models.DateTimeField()
    active_energy_kwh = models.FloatField(null=True)
    pju_id = models.BigIntegerField()
    active_power_w = models.FloatField(null=True)
    operating_hours = models.FloatField(null=True)
    voltage_v = models.FloatField(null=True)
    level = models.SmallIntegerField(null=True)
    power_state = models.SmallIntegerField()

    class Meta:
        managed = False
        db_table = "live_telemetry"
        verbose_name = "telemetri"
        verbose_name_plural = "telemetri"


class TelemetryHourly(models.Model):
    pju = models.ForeignKey(StreetLight, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    hour = models.DateTimeField()
    messages = models.PositiveIntegerField(default=0)
    energy_kwh = models.FloatField("kWh terukur", default=0)  # sum of positive active_energy_kwh deltas
    burning_s = models.FloatField("detik menyala", default=0)
    reported_s = models.FloatField("detik terpantau", default=0)  # availability = reported_s / 3600
    faults = models.PositiveIntegerField(default=0)
    max_power_w = models.FloatField(null=True)

    class Meta:
        verbose_name = "rekap telemetri per jam"
        verbose_name_plural = "rekap telemetri per jam"
        constraints = [models.UniqueConstraint(fields=["pju", "hour"], name="live_hourly_pju_hour")]
        indexes = [models.Index(fields=["hour"])]


class LiveState(models.Model):
    pju = models.OneToOneField(StreetLight, primary_key=True, on_delete=models.CASCADE, related_name="live")
    power_state = models.CharField(max_length=8, choices=POWER_STATES, blank=True, default="")
    level = models.SmallIntegerField(null=True)
    active_power_w = models.FloatField(null=True)
    active_energy_kwh = models.FloatField(null=True)
    operating_hours = models.FloatField(null=True)
    voltage_v = models.FloatField(null=True)
    last_ts = models.DateTimeField("waktu pesan terakhir", null=True)
    last_seen = models.DateTimeField("diterima terakhir", null=True)  # no index: updated by every message (HOT updates)
    schedule = models.JSONField("jadwal peredupan", null=True, blank=True)

    class Meta:
        verbose_name = "status langsung PJU"
        verbose_name_plural = "status langsung PJU"


class LiveEvent(models.Model):
    pju = models.ForeignKey(StreetLight, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    ts = models.DateTimeField()
    event = models.CharField(max_length=24, choices=EVENT_KINDS)
    detail = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "event kontroler"
        verbose_name_plural = "event kontroler"
        constraints = [models.UniqueConstraint(fields=["pju", "ts", "event"], name="live_event_uniq")]
        indexes = [models.Index(fields=["ts"], name="live_event_ts")]  # faults per hour (live/rollups.py)
        ordering = ["-ts"]


class Alarm(models.Model):
    pju = models.ForeignKey(StreetLight, on_delete=models.CASCADE, related_name="alarms")
    kind = models.CharField(max_length=20, choices=ALARM_KINDS)
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    work_order = models.ForeignKey("needs.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "alarm"
        verbose_name_plural = "alarm"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["pju", "kind"], condition=models.Q(cleared_at__isnull=True), name="live_alarm_one_active")
        ]


class Command(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.UUIDField(null=True, blank=True, db_index=True)
    pju = models.ForeignKey(StreetLight, on_delete=models.CASCADE, related_name="+")
    controller_id = models.CharField(max_length=64)
    level = models.SmallIntegerField(null=True, blank=True)
    schedule = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=COMMAND_STATES, default="queued", db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "perintah kontroler"
        verbose_name_plural = "perintah kontroler"
        ordering = ["-created_at"]

    def payload(self) -> dict:
        body = {"id": str(self.id)}
        if self.schedule is not None:
            body["schedule"] = self.schedule
        else:
            body["level"] = self.level
        return body


class DeadLetter(models.Model):
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    topic = models.CharField(max_length=300)
    controller_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    reason = models.CharField(max_length=20, choices=DEAD_LETTER_REASONS, db_index=True)
    detail = models.TextField(blank=True, default="")
    payload = models.TextField(blank=True, default="")  # first LIVE_DEAD_LETTER_KEEP_BYTES, as text

    class Meta:
        verbose_name = "pesan ditolak (dead letter)"
        verbose_name_plural = "pesan ditolak (dead letter)"
        ordering = ["-received_at", "-id"]


class RollupDirty(models.Model):
    """An hour whose rollups must be rebuilt from the raw telemetry (live/rollups.py):
    marked by each ingest batch, cleared by the rollup run; `gen` grows with each mark."""

    hour = models.DateTimeField(primary_key=True)
    gen = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = "jam menunggu rekap"
        verbose_name_plural = "jam menunggu rekap"
