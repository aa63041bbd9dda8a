"""Sending a job's task to the Celery broker (SPEC §9), once for imports and
background jobs. The task is sent after the job's row commits; a broker that
cannot be reached fails the job with the reason (nothing left `queued` for a
worker that will never get it) and answers 503 through the kernel's error
table, never a 500."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_platform import errors

log = logging.getLogger(__name__)


class QueueUnavailable(errors.ApiError):
    field = "queue"


errors.register(QueueUnavailable, 503)


def send_after_commit(task, job) -> None:
    """``task.delay(job.id)`` once the job's row is committed (at once outside a transaction)."""

    def send():
        try:
            task.delay(str(job.id))
        except Exception as exc:  # kombu's OperationalError and friends: the broker is down or refuses
            log.error("could not queue %s job %s: %s", type(job).__name__, job.pk, exc)
            type(job).objects.filter(pk=job.pk, status="queued").update(
                status="failed", error=f"the background queue could not be reached: {exc.__class__.__name__}",
                finished_at=timezone.now())
            raise QueueUnavailable(_("The background queue cannot be reached right now; the job was not started. Try again later.")) from exc

    transaction.on_commit(send)
