"""Import jobs (SPEC §9): create, run (the Celery task's body), cancel.

All or nothing: the import and the job's final state are written in one
transaction; the full needs recomputation that follows a PJU, road or area
import is a job of its own (imports.jobs, task `imports.compute_needs`),
queued when the import commits. Progress and cancellation go through a
second, autocommit connection, so the browser sees them while the import's
transaction is still open. A worker killed mid-way leaves no rows (PostgreSQL
rolls the open transaction back); Celery delivers the task again
(acks_late + reject_on_worker_lost) and the job runs again from the start."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import psycopg2
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from geo_platform import access
from imports.models import ImportJob, Upload
from imports.queueing import send_after_commit
from layers.importers.readers import FileError
from layers.importers.service import LAYERS, ImportCancelled, import_layer

log = logging.getLogger(__name__)

# Share of the whole job each phase takes on the progress bar (in order).
PHASE_SPAN = {"read": (0.0, 0.05), "validate": (0.05, 0.65), "membership": (0.65, 0.75),
              "write": (0.75, 0.9), "needs": (0.9, 1.0)}
NEEDS_LAYERS = ("pju", "roads", "areas")
MAX_ATTEMPTS = 3
LEVELS = ("provinsi", "kabupaten_kota", "kecamatan", "kelurahan")


class JobError(ValueError):
    """A request that cannot become a job (400)."""


IMPORTERS = access.Role("planner", "admin")  # planners and admins (SPEC §9)
IMPORT_POLICY = access.Policy(read=IMPORTERS, write=IMPORTERS, name="imports")


def can_import(user) -> bool:
    return IMPORTERS.allows(user)


def job_dir(job_id) -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR) / "jobs" / str(job_id)


def create_job(user, *, layer: str, source: str = "", level: str = "", mapping=None, id_field: str = "",
               uploaded_file=None, upload: Upload | None = None) -> ImportJob:
    if layer not in LAYERS:
        raise JobError(f"layer: one of {', '.join(sorted(LAYERS))}")
    if level and level not in LEVELS:
        raise JobError(f"level: one of {', '.join(LEVELS)}")
    if mapping is not None and not isinstance(mapping, dict):
        raise JobError("mapping: a JSON object like {\"fields\": {…}, \"values\": {…}}")
    if (uploaded_file is None) == (upload is None):
        raise JobError("give either `file` (multipart, up to 100 MB) or `upload` (a finished tus upload)")
    job = ImportJob(created_by=user, layer=layer, source=source[:100], level=level, mapping=mapping, id_field=id_field[:100])
    folder = job_dir(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    if upload is not None:
        if not upload.complete:
            raise JobError(f"upload: {upload.offset:,} of {upload.length:,} bytes received; finish the upload first")
        job.filename, job.path, job.upload = upload.filename, upload.path, upload
    else:
        name = get_valid_filename(os.path.basename(uploaded_file.name or "upload")) or "upload"
        target = folder / name
        with target.open("wb") as fh:
            for chunk in uploaded_file.chunks():
                fh.write(chunk)
        job.filename, job.path = name, str(target)
    job.save()
    from imports.tasks import run_import

    send_after_commit(run_import, job)
    return job


def cancel_job(job: ImportJob) -> ImportJob:
    """Ask a running job to stop (it rolls back); a queued one stops at once."""
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    ImportJob.objects.filter(pk=job.pk, status="queued").update(status="cancelled", finished_at=timezone.now())
    job.refresh_from_db()
    return job


class Tracker:
    """Progress and cancel flag on an autocommit connection of its own."""

    def __init__(self, job_id):
        db = settings.DATABASES["default"]
        self.job_id = str(job_id)
        self.conn = psycopg2.connect(dbname=db["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
                                     host=db.get("HOST") or None, port=db.get("PORT") or None,
                                     application_name="geo_platform import progress")
        self.conn.autocommit = True
        self.last = -1.0

    def update(self, phase: str, fraction: float) -> None:
        lo, hi = PHASE_SPAN[phase]
        value = round(lo + (hi - lo) * max(0.0, min(1.0, fraction)), 4)
        if value - self.last < 0.005 and fraction not in (0.0, 1.0):
            return
        self.last = value
        with self.conn.cursor() as cur:  # GREATEST: progress never goes back
            cur.execute("UPDATE imports_importjob SET phase = %s, progress = GREATEST(progress, %s) WHERE id = %s",
                        [phase, value, self.job_id])

    def cancelled(self) -> bool:
        with self.conn.cursor() as cur:
            cur.execute("SELECT cancel_requested FROM imports_importjob WHERE id = %s", [self.job_id])
            row = cur.fetchone()
        return bool(row is None or row[0])

    def close(self):
        self.conn.close()


def run_job(job_id) -> str:
    """The task's body; idempotent (a finished job is left alone)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return job.status if job else "missing"
    if job.cancel_requested:
        _finish(job_id, status="cancelled")
        return "cancelled"
    if job.attempts >= MAX_ATTEMPTS:
        _finish(job_id, status="failed", error=f"the worker was lost {job.attempts} times while running this import")
        return "failed"
    ImportJob.objects.filter(pk=job_id).update(status="running", phase="read", attempts=job.attempts + 1,
                                               worker_pid=os.getpid(), started_at=timezone.now())
    tracker = Tracker(job_id)
    mapping_path = None
    try:
        path = Path(job.path)
        if not path.exists():
            raise FileError("the uploaded file is gone from the server")
        if path.stat().st_size == 0:
            raise FileError(f"{job.filename} is empty (0 bytes)")
        if job.mapping:
            mapping_path = job_dir(job.id) / "mapping.json"
            mapping_path.parent.mkdir(parents=True, exist_ok=True)
            import json

            mapping_path.write_text(json.dumps(job.mapping), encoding="utf-8")
        with transaction.atomic():
            report = import_layer(path, job.layer, source=job.source or None, id_field=job.id_field or None,
                                  mapping_path=mapping_path, default_level=job.level or None, progress=False,
                                  rejects_dir=job_dir(job.id), on_progress=tracker.update, cancelled=tracker.cancelled)
            needs_job = None
            tracker.update("needs", 0.0)
            if report["created"] + report["updated"] and job.layer in NEEDS_LAYERS:
                # The full needs recomputation is a job of its own (task imports.compute_needs),
                # queued when this import commits (a rolled-back import queues nothing).
                from imports.jobs import queue_needs

                needs_job = queue_needs(created_by=job.created_by).pk
            tracker.update("needs", 1.0)
            report["file"] = job.filename
            # The job's final state commits with the data, unless a cancel came first.
            done = ImportJob.objects.filter(pk=job_id, cancel_requested=False).update(
                status="done", phase="done", progress=1.0, report=report, error="", needs_job=needs_job,
                rejects_file=report.get("rejects_file", ""), finished_at=timezone.now())
            if not done:
                raise ImportCancelled
        return "done"
    except ImportCancelled:
        _finish(job_id, status="cancelled")
        return "cancelled"
    except FileError as exc:
        _finish(job_id, status="failed", error=str(exc))
        return "failed"
    except Exception as exc:  # an unexpected failure still ends the job, with the reason
        log.exception("import job %s failed", job_id)
        _finish(job_id, status="failed", error=f"unexpected error: {exc.__class__.__name__}: {exc}")
        return "failed"
    finally:
        tracker.close()


def _finish(job_id, *, status: str, error: str = "") -> None:
    ImportJob.objects.filter(pk=job_id).update(status=status, error=error, finished_at=timezone.now())


def remove_files(job: ImportJob) -> None:
    shutil.rmtree(job_dir(job.id), ignore_errors=True)
