"""Query parameters of the needs endpoints: the layers' `bbox` and `area`
filters, codes (comma-separated lists allowed), `road`, `min_priority`.
A bad value is a 400 naming the parameter."""
from __future__ import annotations

import django_filters
from rest_framework.exceptions import ValidationError

from geo_platform import codes
from layers.filters import AreaCodeFilter, BBoxFilter, _CommaQueryDict
from layers.models import RoadSegment, StreetLight
from needs.models import GAP_KINDS, SIDES, WORK_ORDER_KINDS, WORK_ORDER_STATES, LightingGap, ProposedPJU, WorkOrder

BROKEN_CHOICES = [c for c in codes.PJU_STATUSES if c[0] in ("off", "damaged")]
DAMAGE_CHOICES = [c for c in codes.ROAD_CONDITIONS if c[0] in ("light_damage", "heavy_damage")]


def _in(name):
    def method(qs, _field_name, values):
        return qs.filter(**{f"{name}__in": values}) if values else qs

    return method


def _multi(choices, name):
    return django_filters.MultipleChoiceFilter(choices=choices, method=_in(name))


class _LightingNeedFilterSet(django_filters.FilterSet):
    """Filters shared by the stored lighting results (gaps and proposed PJU)."""

    bbox = BBoxFilter()
    area = AreaCodeFilter()
    road_class = _multi(codes.ROAD_CLASSES, "road_class")
    road = django_filters.NumberFilter(field_name="road_id")
    min_priority = django_filters.NumberFilter(field_name="priority", lookup_expr="gte")


class GapFilterSet(_LightingNeedFilterSet):
    kind = _multi(GAP_KINDS, "kind")

    class Meta:
        model = LightingGap
        fields = []


class ProposedFilterSet(_LightingNeedFilterSet):
    side = _multi(SIDES, "side")

    class Meta:
        model = ProposedPJU
        fields = []


class BrokenFilterSet(django_filters.FilterSet):
    bbox = BBoxFilter()
    area = AreaCodeFilter()
    status = _multi(BROKEN_CHOICES, "status")
    lamp_type = _multi(codes.LAMP_TYPES, "lamp_type")
    source = django_filters.CharFilter(field_name="source")

    class Meta:
        model = StreetLight
        fields = []


class UpgradeFilterSet(django_filters.FilterSet):
    bbox = BBoxFilter()
    area = AreaCodeFilter()
    status = _multi(codes.PJU_STATUSES, "status")
    lamp_type = _multi(codes.LAMP_TYPES, "lamp_type")
    source = django_filters.CharFilter(field_name="source")

    class Meta:
        model = StreetLight
        fields = []


class DamagedFilterSet(django_filters.FilterSet):
    bbox = BBoxFilter()
    area = AreaCodeFilter()
    road_class = _multi(codes.ROAD_CLASSES, "road_class")
    condition = _multi(codes.ROAD_CONDITIONS, "condition")
    need_condition = _multi(DAMAGE_CHOICES, "need")
    source = django_filters.CharFilter(field_name="source")

    class Meta:
        model = RoadSegment
        fields = []


class WorkOrderFilterSet(django_filters.FilterSet):
    bbox = BBoxFilter()
    area = AreaCodeFilter()
    status = _multi(WORK_ORDER_STATES, "status")
    kind = _multi(WORK_ORDER_KINDS, "kind")
    assigned_to = django_filters.NumberFilter(field_name="assigned_to_id")

    class Meta:
        model = WorkOrder
        fields = []


def apply_filters(filterset_class, qs, query):
    multi = {n for n, f in filterset_class.base_filters.items() if isinstance(f, django_filters.MultipleChoiceFilter)}
    fs = filterset_class(data=_CommaQueryDict(query, multi), queryset=qs)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs
