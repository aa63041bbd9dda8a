"""Celery tasks (issue 18). Each is idempotent and is delivered again when
its worker dies (acks_late + reject_on_worker_lost)."""
from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, name="imports.run_import")
def run_import(job_id: str) -> str:
    from imports.services import run_job

    return run_job(job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, name="imports.compute_needs")
def compute_needs() -> dict:
    """Full needs recomputation (one transaction; runs again from the start after a worker loss)."""
    from django.db import transaction

    from needs.services import lighting_needs_compute

    with transaction.atomic():
        return lighting_needs_compute()
