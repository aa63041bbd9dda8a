"""Import jobs and resumable uploads (issue 18, SPEC §9)."""
import uuid

from django.conf import settings
from django.db import models


class Upload(models.Model):
    """A tus 1.0 upload: `offset` bytes of `length` are in `path`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def complete(self) -> bool:
        return self.offset >= self.length


class ImportJob(models.Model):
    STATUSES = ["queued", "running", "done", "failed", "cancelled"]
    PHASES = ["queued", "read", "validate", "membership", "write", "needs", "done"]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    layer = models.CharField(max_length=20)
    source = models.CharField(max_length=100, blank=True)
    level = models.CharField(max_length=20, blank=True)
    id_field = models.CharField(max_length=100, blank=True)
    mapping = models.JSONField(null=True, blank=True)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    upload = models.ForeignKey(Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    status = models.CharField(max_length=10, default="queued", choices=[(s, s) for s in STATUSES])
    phase = models.CharField(max_length=12, default="queued")
    progress = models.FloatField(default=0.0)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    rejects_file = models.CharField(max_length=500, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    worker_pid = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The full needs recomputation queued after this import (a BackgroundJob).
    needs_job = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.filename} → {self.layer} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")


class BackgroundJob(models.Model):
    """Long work other than imports as a Celery task with a job to poll
    (SPEC §9): full needs recomputation, imagery ingest (COG conversion),
    the programme and Musrenbang exports (the file is kept for download)."""

    KINDS = ["needs", "imagery", "programme_export", "musrenbang_export"]
    STATUSES = ImportJob.STATUSES

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=[(k, k) for k in KINDS])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, default="queued", choices=[(s, s) for s in STATUSES])
    progress = models.FloatField(default=0.0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    file = models.CharField(max_length=500, blank=True)  # an export's output
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")
