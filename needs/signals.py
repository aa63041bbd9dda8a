"""Keep the stored lighting needs current after every edit through the API
(SPEC §4): layers.services sends `layer_changed` after commit with the ids
written; the roads they touch are recomputed. Bulk imports, the admin and
raw SQL do not send it: run `manage.py compute_needs` after them."""
from django.dispatch import receiver

from layers.models import RoadSegment, StreetLight
from layers.services import layer_changed


@receiver(layer_changed, dispatch_uid="needs_refresh_on_layer_change")
def refresh_on_layer_change(sender, ids, action, **kwargs):
    from needs.services import lighting_needs_refresh

    if sender is StreetLight:
        lighting_needs_refresh(pju_ids=ids)
    elif sender is RoadSegment:
        lighting_needs_refresh(road_ids=ids)
