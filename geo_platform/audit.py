"""Audit history for the data edited outside the layers services (issue 9):
pavement templates and their layers/coats, materials, treatments, price
lists, unit prices and work orders. Model signals write the platform's one
audit log (layers.AuditLog, `layer` = the slug below): values before and
after each save or delete, the user, and the channel — `admin` for requests
under /admin/, `api` for other requests, `import` outside a request
(management commands, loaders). AuditContextMiddleware makes the current
request known to the signal handlers. Bulk writes (bulk_create, update())
send no signals and are not recorded here."""
from __future__ import annotations

import threading

from django.apps import apps
from django.db.models.signals import post_delete, post_save, pre_save

AUDITED = {
    ("estimates", "pavementtemplate"): "templates",
    ("estimates", "layer"): "template_layers",
    ("estimates", "coat"): "template_coats",
    ("estimates", "material"): "materials",
    ("estimates", "treatment"): "treatments",
    ("estimates", "pricelist"): "price_lists",
    ("estimates", "unitprice"): "unit_prices",
    ("needs", "workorder"): "work_orders",
}
SKIP = {"updated_at", "created_at"}
_local = threading.local()


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _local.request = request
        try:
            return self.get_response(request)
        finally:
            _local.request = None


def _context():
    request = getattr(_local, "request", None)
    if request is None:
        return None, "import"
    user = getattr(request, "user", None)  # DRF copies the token's user onto the Django request
    return user, "admin" if request.path.startswith("/admin/") else "api"


def _slug(sender) -> str | None:
    key = (sender._meta.app_label, sender._meta.model_name)
    if key not in AUDITED:
        return None
    try:
        if apps.get_model(*key) is not sender:  # historical models in migrations
            return None
    except LookupError:
        return None
    return AUDITED[key]


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields if f.attname not in SKIP}


def _before(sender, instance, raw=False, **kwargs):
    if raw or not _slug(sender) or instance.pk is None:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = _values(old) if old is not None else None


def _after(sender, instance, created=False, raw=False, **kwargs):
    slug = _slug(sender)
    if raw or not slug:
        return
    user, channel = _context()
    now = _values(instance)
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    if created or before is None:
        audit_record(layer=slug, object_id=instance.pk, action="create", user=user, changes=now, channel=channel)
        return
    changed = [k for k in now if now[k] != before.get(k)]
    if changed:
        audit_record(layer=slug, object_id=instance.pk, action="update", user=user, channel=channel,
                     changes={k: now[k] for k in changed}, before={k: before.get(k) for k in changed})


def _deleted(sender, instance, **kwargs):
    slug = _slug(sender)
    if not slug:
        return
    user, channel = _context()
    audit_record(layer=slug, object_id=instance.pk, action="delete", user=user, before=_values(instance), channel=channel)


# the function that stores one audit entry (keyword arguments layer, object_id, action, user, channel,
# changes, before): the app owning the audit table registers it with `connect(recorder=...)`;
# the kernel imports no app (issue 15).
_recorder = None


def audit_record(**entry) -> None:
    if _recorder is not None:
        _recorder(**entry)


def connect(*, recorder) -> None:
    global _recorder
    _recorder = recorder
    pre_save.connect(_before, dispatch_uid="gp_audit_pre_save")
    post_save.connect(_after, dispatch_uid="gp_audit_post_save")
    post_delete.connect(_deleted, dispatch_uid="gp_audit_post_delete")
