"""Thin HTTP views of the map layers (SPEC §4). One set of views serves every
layer of `selectors.LAYERS`; reads call selectors (PostGIS builds the
GeoJSON text), writes call services; drf-gis serializers validate input."""
from __future__ import annotations

import json

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from geo_platform import access
from geo_platform.geojson import GEOJSON, collection_response, geojson_response, keyset_url, page_url  # noqa: F401
from layers import exports, selectors, services
from layers.filters import MAX_ID, filter_layer, is_filtered, parse_after, parse_paging, parse_properties
from layers.permissions import METHOD_ACTION
from layers.serializers import PhotoInputSerializer, write_serializer_for

class GeoJSONRenderer(JSONRenderer):
    media_type = GEOJSON
    format = "geojson"


class GeoJSONParser(JSONParser):
    media_type = GEOJSON


def _export_renderer(fmt: str, media: str):
    return type(f"{fmt.upper()}Renderer", (JSONRenderer,), {"media_type": media, "format": fmt})


def flatgeobuf_response(data: bytes, filename: str, *, next_url: str | None = None):
    """FlatGeobuf bytes (written by PostGIS) streamed in 1 MB chunks."""
    from django.http import StreamingHttpResponse

    view = memoryview(data)
    response = StreamingHttpResponse((bytes(view[i : i + 2**20]) for i in range(0, len(view), 2**20)),
                                     content_type=exports.FLATGEOBUF)
    response["Content-Length"] = str(len(data))
    response["Content-Disposition"] = f'attachment; filename="{filename}.fgb"'
    if next_url:
        response["Link"] = f'<{next_url}>; rel="next"'
    return response


LAYER_PARAM = OpenApiParameter("layer", str, OpenApiParameter.PATH, enum=list(selectors.LAYERS), description="pju, roads, areas or panels")
ID_PARAM = OpenApiParameter("pk", int, OpenApiParameter.PATH, description="feature id")
LIST_PARAMETERS = [
    LAYER_PARAM,
    OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat (WGS 84): features intersecting it"),
    OpenApiParameter("area", str, description="area code (Kemendagri): assets of that kecamatan/kelurahan, or inside a larger area"),
    OpenApiParameter("status", str, description="PJU status, comma-separated: working, off, damaged, unknown"),
    OpenApiParameter("road_class", str, description="roads: arterial, collector, local, neighbourhood, path"),
    OpenApiParameter("condition", str, description="roads: good, fair, light_damage, heavy_damage, unknown"),
    OpenApiParameter("source", str, description="import source name"),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": selectors.MAX_LIMIT, "default": selectors.DEFAULT_LIMIT},
                     description="page size, default 1,000, max 10,000"),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "default": 0}, description="features to skip (prefer the `next` link)"),
    OpenApiParameter("after", int, description="keyset paging: the last id of the previous page (the `next` link carries it)"),
    OpenApiParameter("fields", str, description="comma-separated properties to return (e.g. `status,wattage_w`); empty = none"),
    OpenApiParameter("format", str, enum=["geojson", "csv", "gpkg", "kml", "fgb"],
                     description="export format (exports need login); fgb = FlatGeobuf with a spatial index, the whole filtered layer"),
]
FEATURE_SCHEMA = {"type": "object", "description": "GeoJSON Feature (RFC 7946)"}
COLLECTION_SCHEMA = {"type": "object", "description": "GeoJSON FeatureCollection with count and next"}
ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}}}


class LayerView(APIView):
    """Base: the layer comes from the URL (kwargs `layer`)."""

    permission_classes = [access.MODEL_PERMISSIONS]  # public read; writes need the layer's model permission
    parser_classes = [JSONParser, GeoJSONParser]

    def initial(self, request, *args, **kwargs):
        self.spec = selectors.layer_get(kwargs.get("layer", ""))
        if self.spec is None:
            raise NotFound(f"unknown layer {kwargs.get('layer')!r}; layers: {', '.join(selectors.LAYERS)}")
        if kwargs.get("pk", 0) > MAX_ID:
            raise NotFound(f"no {self.spec.slug} feature with id {kwargs['pk']}")
        super().initial(request, *args, **kwargs)

    def required_permission(self, request) -> str | None:
        """None for a method no permission maps to (TRACE etc.: the view answers 405)."""
        action = METHOD_ACTION.get(request.method)
        return f"layers.{action}_{self.spec.model._meta.model_name}" if action else None

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=
            formats = [r.format for r in self.get_renderers()]
            raise ValidationError({"format": [_("unknown format; one of %(formats)s") % {"formats": ", ".join(formats)}]}) from None

    def get_feature_or_404(self, pk: int, *, include_deleted: bool = False) -> str:
        text = selectors.feature_text(self.spec, pk, include_deleted=include_deleted)
        if text is None:
            raise NotFound(f"no {self.spec.slug} feature with id {pk}")
        return text

    def validated(self, data, *, partial: bool) -> dict:
        serializer = write_serializer_for(self.spec)(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class LayerListView(LayerView):
    permission_classes = [access.MODEL_PERMISSIONS]  # exports need login: the policy's export rule (SPEC §4)
    renderer_classes = [
        GeoJSONRenderer, JSONRenderer,
        _export_renderer("csv", "text/csv"),
        _export_renderer("gpkg", "application/geopackage+sqlite3"),
        _export_renderer("kml", "application/vnd.google-earth.kml+xml"),
        _export_renderer("fgb", exports.FLATGEOBUF),
    ]

    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses={200: OpenApiResponse(COLLECTION_SCHEMA), 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Features of the layer as a GeoJSON FeatureCollection (built by PostGIS)", operation_id="layer_list",
    )
    def get(self, request, layer):
        query = request.query_params
        qs = filter_layer(self.spec, selectors.layer_queryset(self.spec), query)
        fmt = request.accepted_renderer.format
        after, fields = parse_after(query), parse_properties(self.spec, query, "fields")
        if fmt == "fgb":
            exports.require_login(request)
            limit, offset = parse_paging(query, default_limit=exports.MAX_FEATURES, max_limit=exports.MAX_FEATURES)
            data, n, last_id = selectors.flatgeobuf(self.spec, qs, limit=limit, offset=offset, after=after, properties=fields)
            return flatgeobuf_response(data, self.spec.slug, next_url=keyset_url(request, last_id, limit) if n == limit else None)
        if fmt in exports.FORMATS:
            limit, offset = parse_paging(query, default_limit=exports.MAX_FEATURES, max_limit=exports.MAX_FEATURES)
            body, _count = selectors.feature_collection_body(self.spec, qs, limit=limit, offset=offset, after=after, properties=fields)
            return exports.export_response(self.spec, body, fmt)
        limit, offset = parse_paging(query)
        page = selectors.feature_page(self.spec, qs, limit=limit, offset=offset, after=after,
                                      filtered=is_filtered(self.spec, query), properties=fields)
        return collection_response(request, page, limit=limit, offset=offset, after=after)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiResponse(FEATURE_SCHEMA), 200: OpenApiResponse(FEATURE_SCHEMA, description="repeat of a client_id"), 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Create a feature (GeoJSON Feature; properties.client_id makes a retry idempotent)", operation_id="layer_create", parameters=[LAYER_PARAM],
    )
    def post(self, request, layer):
        data = self.validated(request.data, partial=False)
        result = services.feature_create(spec=self.spec, data=data, user=request.user)
        text = self.get_feature_or_404(result.pk, include_deleted=True)
        response = geojson_response(text, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
        response["Location"] = reverse("layer-detail", kwargs={"layer": self.spec.slug, "pk": result.pk}, request=request)
        return response


class LayerDetailView(LayerView):
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(responses={200: OpenApiResponse(FEATURE_SCHEMA), 404: OpenApiResponse(ERROR_SCHEMA)}, summary="One feature", operation_id="layer_retrieve", parameters=[LAYER_PARAM, ID_PARAM])
    def get(self, request, layer, pk):
        return geojson_response(self.get_feature_or_404(pk))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(FEATURE_SCHEMA), 400: OpenApiResponse(ERROR_SCHEMA), 409: OpenApiResponse(ERROR_SCHEMA, description="stale or missing version; `current` holds the stored feature")},
        summary="Partial update: properties.version must be the stored version", operation_id="layer_update", parameters=[LAYER_PARAM, ID_PARAM],
    )
    def patch(self, request, layer, pk):
        self.get_feature_or_404(pk)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationError({"type": [_("body must be a GeoJSON Feature")]})
        body = {"type": "Feature", **body}
        props = body.get("properties") or {}
        version = props.get("version") if isinstance(props, dict) else None
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ValidationError({"version": [_("version must be an integer")]})
        data = self.validated(body, partial=True)
        data.pop("client_id", None)
        services.feature_update(spec=self.spec, pk=pk, data=data, version=version, user=request.user)
        return geojson_response(self.get_feature_or_404(pk))

    @extend_schema(responses={204: None, 404: OpenApiResponse(ERROR_SCHEMA)}, summary="Delete (soft for assets: restorable, audited)", operation_id="layer_delete", parameters=[LAYER_PARAM, ID_PARAM])
    def delete(self, request, layer, pk):
        self.get_feature_or_404(pk)
        services.feature_delete(spec=self.spec, pk=pk, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LayerRestoreView(LayerView):
    def required_permission(self, request) -> str:
        return f"layers.delete_{self.spec.model._meta.model_name}"

    @extend_schema(request=None, responses={200: OpenApiResponse(FEATURE_SCHEMA), 404: OpenApiResponse(ERROR_SCHEMA)}, summary="Restore a soft-deleted feature", operation_id="layer_restore", parameters=[LAYER_PARAM, ID_PARAM])
    def post(self, request, layer, pk):
        if not self.spec.soft_delete:
            raise NotFound(f"layer {self.spec.slug} has no soft delete")
        if not self.spec.model.objects.filter(pk=pk, deleted_at__isnull=False).exists():
            raise NotFound(f"no deleted {self.spec.slug} feature with id {pk}")
        services.feature_restore(spec=self.spec, pk=pk, user=request.user)
        return geojson_response(self.get_feature_or_404(pk))


HISTORY_SCHEMA = {"type": "object", "properties": {"count": {"type": "integer"}, "entries": {"type": "array", "items": {
    "type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                                     "action": {"type": "string"}, "channel": {"type": "string"}, "user": {"type": "string", "nullable": True},
                                     "before": {"type": "object"}, "after": {"type": "object"}}}}}}


class LayerHistoryView(LayerView):
    """Audit history of a feature (deleted ones too): logged-in users only."""

    renderer_classes = [JSONRenderer]
    permission_classes = [access.LOGIN_ONLY]

    @extend_schema(responses={200: OpenApiResponse(HISTORY_SCHEMA), 404: OpenApiResponse(ERROR_SCHEMA)},
                   summary="Audit history: who, when, before → after, channel (api, admin, import)",
                   operation_id="layer_history", parameters=[LAYER_PARAM, ID_PARAM])
    def get(self, request, layer, pk):
        entries = selectors.audit_history(layer=self.spec.slug, object_id=pk)
        if not entries and not self.spec.model.objects.filter(pk=pk).exists():
            raise NotFound(f"no {self.spec.slug} feature with id {pk}")
        return Response({"count": len(entries), "entries": entries})


class PhotoView(LayerView):
    parser_classes = [MultiPartParser, FormParser]

    def required_permission(self, request) -> str:
        return "layers.add_photo"

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Photos of a feature", operation_id="layer_photo_list", parameters=[LAYER_PARAM, ID_PARAM])
    def get(self, request, layer, pk):
        self.get_feature_or_404(pk)
        return Response(selectors.photo_list(layer=self.spec.slug, object_id=pk))

    @extend_schema(
        request={"multipart/form-data": {"type": "object", "properties": {
            "image": {"type": "string", "format": "binary"}, "caption": {"type": "string"},
            "taken_at": {"type": "string", "format": "date-time"}, "lon": {"type": "number"},
            "lat": {"type": "number"}, "accuracy_m": {"type": "number"}}}},
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Attach a photo (multipart: image, caption, taken_at, lon, lat, accuracy_m)", operation_id="layer_photo_create", parameters=[LAYER_PARAM, ID_PARAM],
    )
    def post(self, request, layer, pk):
        self.get_feature_or_404(pk)
        serializer = PhotoInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        photo = services.photo_add(spec=self.spec, pk=pk, user=request.user, **serializer.photo_values())
        photos = selectors.photo_list(layer=self.spec.slug, object_id=pk)
        return Response(next(p for p in photos if p["id"] == photo.pk), status=status.HTTP_201_CREATED)


class RoadSurveyInputSerializer(serializers.Serializer):
    """The Bina Marga SDI form (DOMAIN §4): crack area, crack width, potholes per 100 m, rut depth."""

    crack_area_pct = serializers.FloatField(min_value=0, max_value=100)
    crack_width_mm = serializers.FloatField(min_value=0, max_value=200)
    potholes_per_100m = serializers.FloatField(min_value=0, max_value=10000)
    rut_depth_cm = serializers.FloatField(min_value=0, max_value=100)
    surveyed_on = serializers.DateField(required=False)
    photos = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=50)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    client_id = serializers.UUIDField(required=False)

    def validate_surveyed_on(self, value):
        from django.utils import timezone

        if value > timezone.localdate():
            raise serializers.ValidationError(_("surveyed_on is in the future"))
        return value


class RoadSurveyView(LayerView):
    """POST /api/roads/{id}/survey/ (issue 14, SPEC §6)."""

    def required_permission(self, request) -> str:
        return "layers.change_roadsegment"

    @extend_schema(request=RoadSurveyInputSerializer, responses={201: OpenApiTypes.OBJECT, 400: OpenApiResponse(ERROR_SCHEMA)},
                   summary="SDI survey of a road (Bina Marga form): stores it and updates the road's sdi, condition, surveyed_on",
                   operation_id="road_survey_create", parameters=[ID_PARAM])
    def post(self, request, layer, pk):
        from django.utils import timezone

        self.get_feature_or_404(pk)
        s = RoadSurveyInputSerializer(data=request.data if isinstance(request.data, dict) else {})
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data.setdefault("surveyed_on", timezone.localdate())
        survey, created = services.road_survey_create(spec=self.spec, road_id=pk, data=data, user=request.user)
        body = {"survey": {"id": survey.pk, "road": survey.road_id, "surveyed_on": survey.surveyed_on.isoformat(),
                           "crack_area_pct": survey.crack_area_pct, "crack_width_mm": survey.crack_width_mm,
                           "potholes_per_100m": survey.potholes_per_100m, "rut_depth_cm": survey.rut_depth_cm,
                           "sdi": survey.sdi, "condition": survey.condition, "photos": survey.photos, "notes": survey.notes,
                           "client_id": str(survey.client_id) if survey.client_id else None},
                "road": json.loads(self.get_feature_or_404(pk))}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ApiRootView(APIView):
    permission_classes = []

    @extend_schema(exclude=True)
    def get(self, request):
        links = {slug: reverse("layer-list", kwargs={"layer": slug}, request=request) for slug in selectors.LAYERS}
        links.update(
            schema=reverse("schema", request=request),
            docs=reverse("api-docs", request=request),
            tiles=request.build_absolute_uri("/tiles/{layer}/{z}/{x}/{y}.pbf"),
            tilejson={slug: request.build_absolute_uri(f"/tiles/{slug}.json") for slug in _tile_layers()},
            ogc=request.build_absolute_uri("/ogc/"),
        )
        # The other apps' collections (their own views; listed here so the root is a map of the API).
        for name, path in (
            ("imagery", "imagery/"), ("templates", "templates/"), ("estimates", "estimates/"),
            ("programme", "programme/"), ("work-orders", "work-orders/"),
            ("needs/lighting-gaps", "needs/lighting-gaps/"), ("needs/proposed-pju", "needs/proposed-pju/"),
            ("needs/broken-pju", "needs/broken-pju/"), ("needs/damaged-roads", "needs/damaged-roads/"),
            ("needs/summary", "needs/summary/"),
        ):
            links.setdefault(name, request.build_absolute_uri(f"/api/{path}"))
        return Response(links)


def _tile_layers():
    from layers.tiles import TILE_LAYERS

    return TILE_LAYERS
