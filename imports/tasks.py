"""Celery tasks (issue 18). Each is idempotent and is delivered again when
its worker dies (acks_late + reject_on_worker_lost)."""
from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, name="imports.run_import")
def run_import(job_id: str) -> str:
    from imports.services import run_job

    return run_job(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, name="imports.compute_needs")
def compute_needs(job_id: str | None = None):
    """Needs recomputation as a job (`imports.jobs`: full after an import or
    on request, the roads near an edit after a citizen report); without a
    job id, a full recomputation in one transaction."""
    if job_id:
        from imports.jobs import run

        return run(job_id)
    from django.db import transaction

    from needs.services import lighting_needs_compute

    with transaction.atomic():
        return lighting_needs_compute()


@shared_task(acks_late=True, reject_on_worker_lost=True, name="imports.run_background_job")
def run_background_job(job_id: str) -> str:
    """Imagery ingest and the programme / Musrenbang exports (imports.jobs)."""
    from imports.jobs import run

    return run(job_id)
