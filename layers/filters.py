"""Query parameters of the layer endpoints (SPEC §4): `bbox`, attribute codes,
`area` (an area code), `limit`/`offset`. Validated with django-filter; a bad
value is a 400 naming the parameter, never a silent empty result."""
from __future__ import annotations

import django_filters
from django import forms
from django.contrib.gis.geos import Polygon
from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from geo_platform.srid import STORAGE_SRID
from layers.models import Area
from geo_platform.geojson import MAX_OFFSET, parse_paging  # noqa: F401 (the kernel's paging rule)
from layers.selectors import LayerSpec

# Web Mercator cannot hold the poles; every stored geometry has a 3857 copy.
MAX_LAT = 85.0511287798
MAX_ID = 2**63 - 1  # bigint ids


def parse_bbox(value: str) -> Polygon:
    parts = value.split(",")
    if len(parts) != 4:
        raise forms.ValidationError(_("bbox must be minlon,minlat,maxlon,maxlat (4 numbers)"))
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise forms.ValidationError(_("bbox must be 4 numbers: minlon,minlat,maxlon,maxlat")) from None
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise forms.ValidationError(_("bbox is outside lon -180..180 / lat -90..90 (GeoJSON order is lon,lat)"))
    if minx > maxx or miny > maxy:
        raise forms.ValidationError(_("bbox minimum is larger than its maximum (order: minlon,minlat,maxlon,maxlat)"))
    # A zero-width box (a point or a line) is widened by a hair to stay a valid polygon.
    poly = Polygon.from_bbox((minx, miny, max(maxx, minx + 1e-9), max(maxy, miny + 1e-9)))
    poly.srid = STORAGE_SRID
    return poly


class BBoxField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        return parse_bbox(value)


class BBoxFilter(django_filters.Filter):
    field_class = BBoxField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(geom__intersects=value)


class AreaCodeFilter(django_filters.CharFilter):
    """Assets of an area given by its code: the kecamatan/kelurahan they were
    assigned to, or for larger areas the assets its geometry holds."""

    def filter(self, qs, value):
        if not value:
            return qs
        area = Area.objects.filter(code=value).only("id", "level").first()
        if area is None:
            raise ValidationError({"area": [_("no area with code %(code)r") % {"code": value}]})
        model = qs.model
        if model is Area:
            return qs.filter(Q(pk=area.pk) | Q(parent_id=area.pk) | Q(parent__parent_id=area.pk))
        if area.level in ("kecamatan", "kelurahan"):
            return qs.filter(**{f"{area.level}_id": area.pk})
        return qs.filter(geom__intersects=Area.objects.filter(pk=area.pk).values("geom"))


def filterset_for(spec: LayerSpec) -> type[django_filters.FilterSet]:
    """A FilterSet with `bbox`, `area` and the layer's attribute filters."""
    attrs = {"bbox": BBoxFilter(), "area": AreaCodeFilter()}
    for name in spec.filters:
        model_field = spec.model._meta.get_field(name)
        if model_field.choices:
            attrs[name] = django_filters.MultipleChoiceFilter(choices=model_field.choices, method=_in_filter(name))
        else:
            attrs[name] = django_filters.CharFilter(field_name=name)
    meta = type("Meta", (), {"model": spec.model, "fields": []})
    attrs["Meta"] = meta
    return type(f"{spec.model.__name__}FilterSet", (django_filters.FilterSet,), attrs)


def _in_filter(name):
    def method(qs, _field_name, values):
        return qs.filter(**{f"{name}__in": values}) if values else qs

    return method


class _CommaQueryDict:
    """Lets `status=working,off` mean the same as `status=working&status=off`."""

    def __init__(self, query, multi: set[str]):
        self._q, self._multi = query, multi

    def getlist(self, key):
        out = []
        for v in self._q.getlist(key):
            out.extend(x for x in v.split(",") if x) if key in self._multi else out.append(v)
        return out

    def get(self, key, default=None):
        return self._q.get(key, default)

    def __contains__(self, key):
        return key in self._q

    def __iter__(self):
        return iter(self._q)

    def keys(self):
        return self._q.keys()


def filter_layer(spec: LayerSpec, qs, query) -> object:
    """Apply the query parameters to `qs`; a bad value raises a 400."""
    fs_class = filterset_for(spec)
    multi = {n for n, f in fs_class.base_filters.items() if isinstance(f, django_filters.MultipleChoiceFilter)}
    fs = fs_class(data=_CommaQueryDict(query, multi), queryset=qs)
    if not fs.is_valid():
        errors = {k: [str(m) for m in v] for k, v in fs.errors.items()}
        raise ValidationError(errors)
    return fs.qs


# --- issue 20: keyset paging, property selection, "is this request filtered?" ---
def parse_after(query) -> int | None:
    """`after`: the last id of the previous page (keyset paging; `next` links carry it)."""
    value = query.get("after")
    if value in (None, ""):
        return None
    try:
        after = int(value)
    except ValueError:
        raise ValidationError({"after": [_("after must be an integer (the last id of the previous page)")]}) from None
    if not 0 <= after <= MAX_ID:
        raise ValidationError({"after": [_("after must be between 0 and %(max)s") % {"max": MAX_ID}]})
    return after


def parse_properties(spec: LayerSpec, query, param: str) -> tuple[str, ...] | None:
    """`properties=a,b` (OGC API) or `fields=a,b` (/api/): the properties to
    output, None = all of them; an empty value selects none (id and geometry only).
    An unknown name is a 400 listing the known ones."""
    from layers.selectors import output_properties

    if param not in query:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in ",".join(query.getlist(param)).split(",") if n.strip()))
    known = output_properties(spec)
    unknown = [n for n in names if n not in known]
    if unknown:
        text = _("unknown properties %(names)s; known: %(known)s") if len(unknown) > 1 else _("unknown property %(names)s; known: %(known)s")
        raise ValidationError({param: [text % {"names": ", ".join(unknown), "known": ", ".join(known)}]})
    return names


def is_filtered(spec: LayerSpec, query) -> bool:
    """Does the request narrow the layer (bbox, area or a code filter)? Then
    its count is exact; an unfiltered one may use the planner's estimate."""
    return any(query.get(name) not in (None, "") for name in ("bbox", "area", *spec.filters))
