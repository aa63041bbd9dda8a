"""Closing the loop (SPEC §8): a work order that becomes done or rejected —
through the API, the field app or the admin — closes the reports joined to
it, in the same transaction."""
from django.db.models.signals import post_save
from django.dispatch import receiver

from needs.models import WorkOrder


@receiver(post_save, sender=WorkOrder, dispatch_uid="reports_close_with_work_order")
def close_reports(sender, instance, raw=False, **kwargs):
    if raw or instance.status not in ("done", "rejected"):
        return
    from reports.services import reports_close_for_order

    reports_close_for_order(instance)
