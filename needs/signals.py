"""Keep the stored lighting needs current after every edit through the API
(SPEC §4): layers.services sends `layer_changed` after commit with the ids
written; the roads they touch are recomputed. Bulk imports, the admin and
raw SQL do not send it: run `manage.py compute_needs` after them."""
import logging

from django.dispatch import receiver

from layers.models import RoadSegment, StreetLight
from layers.services import layer_changed, layer_imported

log = logging.getLogger(__name__)
# issue 15: the app that queues background refreshes (imports) registers its function here
# (needs never imports the apps above it): queue(pju=[...]) or queue(roads=[...]) (no ids: a full
# recomputation), with created_by=user; it returns the job, which job_json(request, job) describes
# (the body of GET /api/jobs/{id}/).
_queue = None
_job_json = None


def register_queue(queue, job_json=None) -> None:
    global _queue, _job_json
    _queue, _job_json = queue, job_json


def can_queue() -> bool:
    return _queue is not None and _job_json is not None


def queue_job(**params):
    """Queue a needs job (raises when the broker is down: the caller does the work itself)."""
    return _queue(**params)


def job_json(request, job) -> dict:
    return _job_json(request, job)


@receiver(layer_changed, dispatch_uid="needs_refresh_on_layer_change")
def refresh_on_layer_change(sender, ids, action, needs_later=False, **kwargs):
    from needs.services import lighting_needs_refresh

    if sender not in (StreetLight, RoadSegment):
        return
    if needs_later and _queue is not None:  # issue 18: the refresh runs as a background job (task imports.compute_needs)
        try:
            _queue(**{"pju" if sender is StreetLight else "roads": ids})
            return
        except Exception:  # no broker: refresh here, as before
            log.exception("could not queue the needs refresh after %s of %s %s; refreshing now", action, sender.__name__, ids)
    try:
        if sender is StreetLight:
            lighting_needs_refresh(pju_ids=ids)
        else:
            lighting_needs_refresh(road_ids=ids)
    except Exception:  # the edit is committed; a failed refresh must not turn it into a 500
        log.exception("needs refresh after %s of %s %s failed; run compute_needs", action, sender.__name__, ids)


@receiver(layer_imported, dispatch_uid="needs_recompute_on_layer_import")
def recompute_on_layer_import(sender, report=None, log=None, **kwargs):
    """A bulk import of PJU, roads or areas (import_layer): recompute the needs layers in full."""
    from needs.services import lighting_needs_compute

    if sender not in ("pju", "roads", "areas"):
        return
    if log is not None:
        log("recomputing the needs layers (compute_needs) …")
    lighting_needs_compute()
