"""Write serializers (drf-gis): a GeoJSON Feature in, validated model values
out. Reads never go through these (PostGIS builds the GeoJSON, selectors.py);
`stock_serializer_for` is the stock drf-gis read path, kept for the bench."""
from __future__ import annotations

import json

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo_platform import ranges
from geo_platform.srid import STORAGE_SRID
from layers.filters import MAX_LAT
from layers.selectors import LayerSpec

# Set by the server, never by a client.
READ_ONLY = {
    "id", "version", "length_m", "area_m2", "kecamatan", "kelurahan", "created_at", "updated_at",
    "deleted_at", "geom_3857", "status_origin", "condition_origin", "parent",
}


def validate_geometry(spec: LayerSpec, geom: GEOSGeometry) -> GEOSGeometry:
    """Type, coordinate range and validity of an incoming geometry."""
    if geom.srid not in (None, STORAGE_SRID):
        raise serializers.ValidationError(_("geometry must be GeoJSON lon/lat (EPSG:%(srid)s), got SRID %(got)s")
                                          % {"srid": STORAGE_SRID, "got": geom.srid})
    geom.srid = STORAGE_SRID
    if geom.geom_type not in spec.geometry_types:
        raise serializers.ValidationError(_("layer %(layer)s takes %(types)s, got %(got)s") % {
            "layer": spec.slug, "types": _(" or ").join(spec.geometry_types), "got": geom.geom_type})
    if geom.empty:
        raise serializers.ValidationError(_("geometry is empty"))
    minx, miny, maxx, maxy = geom.extent
    if not (-180 <= minx and maxx <= 180):
        raise serializers.ValidationError(_("longitude out of range -180..180 (got %(min)s..%(max)s); GeoJSON order is [lon, lat]")
                                          % {"min": minx, "max": maxx})
    if not (-MAX_LAT <= miny and maxy <= MAX_LAT):
        raise serializers.ValidationError(_("latitude out of range ±%(limit)s (got %(min)s..%(max)s); GeoJSON order is [lon, lat]")
                                          % {"limit": f"{MAX_LAT:.4f}", "min": miny, "max": maxy})
    if geom.hasz:
        geom = GEOSGeometry(memoryview(_force_2d(geom)), srid=STORAGE_SRID)  # 2D columns
    if geom.geom_type == "LineString" and geom.length == 0:
        raise serializers.ValidationError(_("line has zero length (all points equal)"))
    if not geom.valid:
        raise serializers.ValidationError(_("geometry is not valid: %(reason)s") % {"reason": geom.valid_reason})
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=STORAGE_SRID)
    return geom


LONLAT_CRS_NAMES = {f"epsg:{STORAGE_SRID}", f"urn:ogc:def:crs:epsg::{STORAGE_SRID}", "urn:ogc:def:crs:ogc:1.3:crs84", "crs84", "ogc:crs84"}


def _is_lonlat_crs(crs) -> bool:
    """An old-style GeoJSON `crs` member naming WGS 84 lon/lat (anything else is refused)."""
    name = crs.get("properties", {}).get("name", "") if isinstance(crs, dict) and isinstance(crs.get("properties"), dict) else ""
    return isinstance(name, str) and name.strip().lower() in LONLAT_CRS_NAMES


def _force_2d(geom: GEOSGeometry) -> str:
    from django.contrib.gis.geos import WKBWriter

    writer = WKBWriter()
    writer.outdim = 2
    return bytes(writer.write(geom))


def write_serializer_for(spec: LayerSpec) -> type[GeoFeatureModelSerializer]:
    model_fields = [f.name for f in spec.model._meta.concrete_fields if f.name not in READ_ONLY and f.name != "geom"]
    if spec.soft_delete:
        model_fields = [f for f in model_fields if f != "client_id"] + ["client_id"]

    class Meta:
        model = spec.model
        geo_field = "geom"
        fields = model_fields + ["geom"]
        id_field = False
        # (source, source_id) uniqueness is a conditional DB constraint;
        # services turn its IntegrityError into a 400 naming the fields.
        validators = []
        # issue 12: numeric properties within geo_platform.ranges (finite, no 1e300 widths)
        extra_kwargs = {name: {"validators": ranges.drf_validators(name)} for name in model_fields if name in ranges.RANGES}

    def validate_geom(self, value):
        return validate_geometry(spec, value)

    def to_internal_value(self, data):
        if not isinstance(data, dict) or data.get("type") != "Feature":
            raise serializers.ValidationError({"type": [_('body must be a GeoJSON Feature: {"type": "Feature", "geometry": ..., "properties": {...}}')]})
        props = data.get("properties") or {}
        if not isinstance(props, dict):
            raise serializers.ValidationError({"properties": [_("properties must be an object")]})
        unknown = sorted(set(props) - set(model_fields) - {"version"} - READ_ONLY)
        if unknown:
            raise serializers.ValidationError({k: [_("unknown property for layer %(layer)s") % {"layer": spec.slug}] for k in unknown})
        if "geometry" in data and data["geometry"] is None:
            raise serializers.ValidationError({"geometry": [_("geometry is required")]})
        crs = [g.get("crs") for g in (data, data.get("geometry")) if isinstance(g, dict) and g.get("crs") is not None]
        if crs and not all(_is_lonlat_crs(c) for c in crs):
            raise serializers.ValidationError({"geometry": [
                _("unsupported crs %(crs)s: GeoJSON geometry is lon/lat WGS 84 (RFC 7946, no crs member)") % {"crs": json.dumps(crs[0])[:200]}]})
        data = {**data, "properties": {k: v for k, v in props.items() if k in model_fields}}
        return GeoFeatureModelSerializer.to_internal_value(self, data)

    attrs = {"Meta": Meta, "validate_geom": validate_geom, "to_internal_value": to_internal_value}
    if spec.soft_delete:
        attrs["client_id"] = serializers.UUIDField(required=False, allow_null=True)
    return type(f"{spec.model.__name__}WriteSerializer", (GeoFeatureModelSerializer,), attrs)


def stock_serializer_for(spec: LayerSpec) -> type[GeoFeatureModelSerializer]:
    """djangorestframework-gis's stock read serializer for the same
    properties: the slow path the bench compares against."""
    from layers.selectors import OUTPUT_NAMES

    field_names = ["id", *[p.removesuffix("_id") if p in OUTPUT_NAMES else p for p in spec.properties], "geom"]
    extra = {}
    if spec.has_areas:
        extra["kecamatan"] = serializers.SlugRelatedField(slug_field="code", read_only=True)
        extra["kelurahan"] = serializers.SlugRelatedField(slug_field="code", read_only=True)
        field_names += ["kecamatan", "kelurahan"]

    class Meta:
        model = spec.model
        geo_field = "geom"
        fields = field_names

    return type(f"{spec.model.__name__}StockSerializer", (GeoFeatureModelSerializer,), {"Meta": Meta, **extra})



class PhotoInputSerializer(serializers.Serializer):
    """Multipart photo upload: an image, optional caption, time, GPS fix."""

    image = serializers.FileField()
    caption = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    taken_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    lon = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-MAX_LAT, max_value=MAX_LAT)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, default=None, validators=ranges.drf_validators("accuracy_m"))

    def validate_image(self, value):
        """Issue 12: type from the bytes, re-encoded by Pillow under a server-made name (geo_platform.uploads)."""
        from geo_platform.uploads import ImageRejected, reencode_image

        try:
            return reencode_image(value)
        except ImageRejected as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs):
        if (attrs.get("lon") is None) != (attrs.get("lat") is None):
            message = _("lon and lat come together")
            raise serializers.ValidationError({"lon": [message], "lat": [message]})
        return attrs

    def photo_values(self) -> dict:
        from django.contrib.gis.geos import Point

        d = self.validated_data
        geom = Point(d["lon"], d["lat"], srid=STORAGE_SRID) if d.get("lon") is not None else None
        return {"image": d["image"], "caption": d.get("caption", ""), "taken_at": d.get("taken_at"), "geom": geom, "accuracy_m": d.get("accuracy_m")}
