"""Writes to the map layers. Each is one transaction: the row, its measures
(`length_m`/`area_m2` on the spheroid) and areas (kecamatan/kelurahan) set by
PostGIS, the audit entry, and after commit the `layer_changed` signal other
apps (needs, caches) listen to. Tile caches need no call: a statement trigger
bumps the table's revision (migration 0003)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from geo_platform import errors
from layers.importers.postgis import assign_area_parents, assign_areas, refresh_measures
from layers.models import Area, AuditLog, Photo, RoadSegment, StreetLight
from layers.selectors import LayerSpec, feature_dict

# sender=model, ids=[...], action="create"|"update"|"delete"|"restore"
layer_changed = Signal()
# issue 15: a bulk import wrote a layer (no per-edit signal): sender=layer slug, report=the import report,
# log=a callable for progress lines (or None). needs/ recomputes its layers in full.
layer_imported = Signal()
# issue 15: `load_demo` loaded the layers' demo; apps above layers add theirs (sender=None, stdout=...).
demo_loading = Signal()

# A field edit of these values survives re-imports (SPEC §3).
FIELD_ORIGIN = {StreetLight: ("status", "status_origin"), RoadSegment: ("condition", "condition_origin")}


class DuplicateSource(errors.InvalidInput):
    """(source, source_id) already used by another feature (400, `errors` names the field)."""

    def __init__(self, source, source_id):
        self.errors = {"source_id": [f"another feature already has source {source!r} and source_id {source_id!r}"]}
        super().__init__(self.errors["source_id"][0])


class DuplicateController(DuplicateSource):
    """Issue 16: `controller_id` already on another PJU (one controller, one PJU)."""

    def __init__(self, controller_id):
        self.errors = {"controller_id": [f"another PJU already has controller_id {controller_id!r}"]}
        Exception.__init__(self, self.errors["controller_id"][0])


def _duplicate(model, values: dict, pk=None) -> DuplicateSource:
    controller = values.get("controller_id")
    if controller and model.objects.filter(controller_id=controller).exclude(pk=pk).exists():
        return DuplicateController(controller)
    return DuplicateSource(values.get("source"), values.get("source_id"))


class Conflict(errors.Conflict):
    """PATCH with a stale or missing version: 409 with the current Feature (SPEC §4)."""

    field = "version"

    def __init__(self, detail: str, current: dict | None):
        super().__init__(detail)
        self.detail, self.current = detail, current

    def extra(self) -> dict:
        return {"current": self.current}


@dataclass
class WriteResult:
    pk: int
    created: bool


def _after_geometry_write(model, ids: list[int]) -> None:
    refresh_measures(model, ids)
    if model is Area:
        assign_area_parents(ids)
    else:
        assign_areas(model, ids)


def _json_safe(data: dict) -> dict:
    out = {}
    for k, v in data.items():
        if k == "geom":
            out[k] = v.wkt if v is not None else None
        elif hasattr(v, "pk"):
            out[k] = v.pk
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[k] = v
        else:
            out[k] = str(v)
    return out


def audit_record(*, layer: str, object_id: int, action: str, user=None, changes: dict | None = None,
                 before: dict | None = None, channel: str = "api") -> AuditLog:
    """One history entry: who (user), when, what (values before and after),
    through which channel (api, admin, import). Also used by imagery and admin."""
    return AuditLog.objects.create(
        layer=layer, object_id=object_id, action=action, user=user if user and user.is_authenticated else None,
        changes=_json_safe(changes or {}), before=_json_safe(before or {}), channel=channel,
    )


def _audit(spec: LayerSpec, pk: int, action: str, user, changes: dict, before: dict | None = None) -> None:
    audit_record(layer=spec.slug, object_id=pk, action=action, user=user, changes=changes, before=before)


def _notify(model, ids, action, needs_later: bool = False):
    # needs_later (issue 18): listeners may do their slow part (the needs refresh) in a background task.
    transaction.on_commit(lambda: layer_changed.send(sender=model, ids=list(ids), action=action, needs_later=needs_later))


def generate_pju_code(pk: int) -> str:
    """PJU-<kecamatan code>-<id, 6 digits> (PJU-<id> without a kecamatan):
    unique because the id is, readable on the pole's label."""
    light = StreetLight.objects.select_related("kecamatan").get(pk=pk)
    code = f"PJU-{light.kecamatan.code}-{pk:06d}" if light.kecamatan_id else f"PJU-{pk:06d}"
    StreetLight.objects.filter(pk=pk, code="").update(code=code)
    return code


@transaction.atomic
def feature_create(*, spec: LayerSpec, data: dict, user=None) -> WriteResult:
    """Create a feature. A repeated `client_id` returns the first result
    (created=False) instead of a duplicate."""
    model = spec.model
    client_id = data.get("client_id")
    if client_id:
        existing = model.objects.filter(client_id=client_id).values_list("pk", flat=True).first()
        if existing:
            return WriteResult(existing, False)
    values = dict(data)
    if model in FIELD_ORIGIN:
        value_field, origin_field = FIELD_ORIGIN[model]
        if value_field in values:
            values[origin_field] = "field"
    try:
        with transaction.atomic():
            obj = model.objects.create(**values)
    except IntegrityError:
        if client_id:  # a concurrent repeat of the same client_id won the race
            existing = model.objects.filter(client_id=client_id).values_list("pk", flat=True).first()
            if existing:
                return WriteResult(existing, False)
        raise _duplicate(model, values) from None
    _after_geometry_write(model, [obj.pk])
    if model is StreetLight and not obj.code:
        generate_pju_code(obj.pk)  # issue 19: a PJU tagged in the field gets a code
    _audit(spec, obj.pk, "create", user, data)
    _notify(model, [obj.pk], "create")
    return WriteResult(obj.pk, True)


@transaction.atomic
def feature_update(*, spec: LayerSpec, pk: int, data: dict, version, user=None, needs_later: bool = False) -> int:
    """Apply a partial update when `version` is the stored one; raise
    Conflict (→ 409 with the current feature) otherwise. `needs_later`: the
    needs refresh runs as a background job instead of after the commit in
    this request (a citizen report's intake)."""
    model = spec.model
    obj = _live(spec).select_for_update().get(pk=pk)
    if version is None:
        raise Conflict("version is required: send the version you edited (properties.version)", feature_dict(spec, pk))
    if version != obj.version:
        raise Conflict(
            f"version {version} is stale: the feature is at version {obj.version}; reload and apply your edit again",
            feature_dict(spec, pk),
        )
    changes, before = {}, {}
    for name, value in data.items():
        if getattr(obj, name) != value:
            changes[name], before[name] = value, getattr(obj, name)
            setattr(obj, name, value)
    if model in FIELD_ORIGIN:
        value_field, origin_field = FIELD_ORIGIN[model]
        if value_field in data:
            before.setdefault(origin_field, getattr(obj, origin_field))
            setattr(obj, origin_field, "field")
            changes.setdefault(origin_field, "field")
    before["version"] = obj.version
    obj.version += 1
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise _duplicate(model, {"source": obj.source, "source_id": obj.source_id,
                                 "controller_id": getattr(obj, "controller_id", "")}, pk) from None
    if "geom" in changes:
        _after_geometry_write(model, [pk])
    _audit(spec, pk, "update", user, {**changes, "version": obj.version}, before)
    _notify(model, [pk], "update", needs_later)
    return obj.version


@transaction.atomic
def feature_delete(*, spec: LayerSpec, pk: int, user=None) -> None:
    """Soft delete (restorable) where the layer has `deleted_at`; areas are
    deleted for good (their assets keep no dangling link: SET NULL)."""
    obj = _live(spec).select_for_update().get(pk=pk)
    before = {f.name: getattr(obj, f.name) for f in spec.model._meta.concrete_fields if f.name not in ("geom_3857",)}
    if spec.soft_delete:
        obj.deleted_at = timezone.now()
        obj.version += 1
        obj.save(update_fields=["deleted_at", "version", "updated_at"])
        before = {"deleted_at": None, "version": obj.version - 1}
        changes = {"soft": True, "deleted_at": obj.deleted_at, "version": obj.version}
    else:
        obj.delete()
        changes = {"soft": False}
    _audit(spec, pk, "delete", user, changes, before)
    _notify(spec.model, [pk], "delete")


@transaction.atomic
def feature_restore(*, spec: LayerSpec, pk: int, user=None) -> int:
    obj = spec.model.objects.select_for_update().get(pk=pk, deleted_at__isnull=False)
    before = {"deleted_at": obj.deleted_at, "version": obj.version}
    obj.deleted_at = None
    obj.version += 1
    obj.save(update_fields=["deleted_at", "version", "updated_at"])
    _audit(spec, pk, "restore", user, {"deleted_at": None, "version": obj.version}, before)
    _notify(spec.model, [pk], "restore")
    return obj.version


@transaction.atomic
def photo_add(*, spec: LayerSpec, pk: int, image, caption: str = "", taken_at=None, geom=None, accuracy_m=None, user=None) -> Photo:
    _live(spec).get(pk=pk)  # 404 for unknown or deleted features
    photo = Photo.objects.create(
        layer=spec.slug, object_id=pk, image=image, caption=caption, taken_at=taken_at, geom=geom,
        accuracy_m=accuracy_m, uploaded_by=user if user and user.is_authenticated else None,
    )
    _audit(spec, pk, "photo", user, {"photo": photo.pk, "name": photo.image.name})
    return photo


def _live(spec: LayerSpec):
    qs = spec.model.objects.all()
    return qs.filter(deleted_at__isnull=True) if spec.soft_delete else qs


@transaction.atomic
def road_survey_create(*, spec: LayerSpec, road_id: int, data: dict, user=None):
    """Store an SDI survey (issue 14, SPEC §6) and update the road's `sdi`,
    `condition` (the SDI class), `surveyed_on`, origin `field` and version;
    audited and announced like any edit. A repeated `client_id` (an offline
    phone sending again) returns the first survey, created=False."""
    from geo_platform.condition import sdi_from_survey
    from layers.models import RoadSurvey

    client_id = data.get("client_id")
    if client_id:
        existing = RoadSurvey.objects.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
    road = _live(spec).select_for_update().get(pk=road_id)
    photos = list(dict.fromkeys(data.get("photos") or []))
    known = set(Photo.objects.filter(layer=spec.slug, object_id=road_id, pk__in=photos).values_list("pk", flat=True))
    missing = [p for p in photos if p not in known]
    if missing:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({"photos": [f"no photo {', '.join(map(str, missing))} of road {road_id} "
                                          f"(upload them first: POST /api/roads/{road_id}/photos/)"]})
    result = sdi_from_survey(crack_area_pct=data["crack_area_pct"], crack_width_mm=data["crack_width_mm"],
                             potholes_per_100m=data["potholes_per_100m"], rut_depth_cm=data["rut_depth_cm"])
    survey = RoadSurvey.objects.create(
        road=road, surveyed_on=data["surveyed_on"], crack_area_pct=data["crack_area_pct"], crack_width_mm=data["crack_width_mm"],
        potholes_per_100m=data["potholes_per_100m"], rut_depth_cm=data["rut_depth_cm"], sdi=result["sdi"],
        condition=result["condition"], photos=photos, notes=data.get("notes", ""), client_id=client_id,
        surveyed_by=user if user and user.is_authenticated else None)
    before = {"sdi": road.sdi, "condition": road.condition, "surveyed_on": road.surveyed_on,
              "condition_origin": road.condition_origin, "version": road.version}
    road.sdi, road.condition, road.surveyed_on = result["sdi"], result["condition"], data["surveyed_on"]
    road.condition_origin = "field"
    road.version += 1
    road.save(update_fields=["sdi", "condition", "surveyed_on", "condition_origin", "version", "updated_at"])
    _audit(spec, road.pk, "update", user, {"sdi": road.sdi, "condition": road.condition, "surveyed_on": road.surveyed_on,
                                           "condition_origin": "field", "version": road.version, "survey": survey.pk}, before)
    _notify(RoadSegment, [road.pk], "update")
    return survey, True
