"""Thin HTTP views of the needs (SPEC §4): GeoJSON layers built by PostGIS
(selectors), the area summary, recomputation, the Musrenbang export and work
orders (services)."""
from __future__ import annotations

import json
from types import SimpleNamespace

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_platform import access, errors
from layers import exports as layer_exports
from geo_platform.geojson import collection_response, geojson_response, parse_paging
from layers.apis import GeoJSONRenderer
from needs import exports, filters, selectors, services, signals, work_orders
from needs.serializers import (
    WorkOrderAssignSerializer,
    WorkOrderCloseSerializer,
    WorkOrderCreateSerializer,
    WorkOrderRejectSerializer,
    parse_near,
)

ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}}}
COLLECTION_SCHEMA = {"type": "object", "description": "GeoJSON FeatureCollection with count and next"}

# work orders' domain exceptions in the platform's one table (SPEC §4 bodies; 409s carry the current state)
errors.register(work_orders.IllegalTransition, 409, "status", extra=lambda exc: {"status": exc.current})
errors.register(work_orders.DuplicateOrder, 409, "target",
                extra=lambda exc: {"current": json.loads(work_orders.work_order_feature_text(exc.order.pk))})
errors.register(work_orders.NotAllowed, 403, "user")

# slug → (layer description, queryset, filter set)
NEED_ENDPOINTS = {
    "lighting-gaps": (selectors.LIGHTING_GAPS, selectors.lighting_gap_list, filters.GapFilterSet),
    "proposed-pju": (selectors.PROPOSED_PJU, selectors.proposed_pju_list, filters.ProposedFilterSet),
    "lamp-upgrades": (selectors.LAMP_UPGRADES, selectors.lamp_upgrade_list, filters.UpgradeFilterSet),
    "broken-pju": (selectors.BROKEN_PJU, selectors.broken_pju_list, filters.BrokenFilterSet),
    "damaged-roads": (selectors.DAMAGED_ROADS, selectors.damaged_road_list, filters.DamagedFilterSet),
}
STORED = {"lighting-gaps", "proposed-pju"}


def _ordering(query, slug: str) -> str:
    value = query.get("ordering") or "id"
    allowed = ("id", "-priority") if slug in STORED else ("id",)
    if value not in allowed:
        raise ValidationError({"ordering": [_("ordering must be one of %(allowed)s") % {"allowed": ", ".join(allowed)}]})
    return value


def _file_renderer(fmt: str, media: str):
    return type(f"{fmt.upper()}Renderer", (JSONRenderer,), {"media_type": media, "format": fmt})


class NeedLayerView(APIView):
    permission_classes = [access.PUBLIC_READ_LOGIN_WRITE]  # exports need login: the policy's export rule (issue 12)
    renderer_classes = [
        GeoJSONRenderer, JSONRenderer,
        _file_renderer("csv", "text/csv"),
        _file_renderer("gpkg", "application/geopackage+sqlite3"),
        _file_renderer("kml", "application/vnd.google-earth.kml+xml"),
    ]
    slug = ""

    def get(self, request):
        layer, queryset, filterset = NEED_ENDPOINTS[self.slug]
        qs = filters.apply_filters(filterset, queryset(), request.query_params)
        order = _ordering(request.query_params, self.slug)
        fmt = request.accepted_renderer.format
        if fmt in layer_exports.FORMATS:  # the layers' GDAL exports of the same PostGIS-built Features
            limit, offset = parse_paging(request.query_params, default_limit=layer_exports.MAX_FEATURES, max_limit=layer_exports.MAX_FEATURES)
            body, _count = selectors.geojson_page(layer, qs, limit=limit, offset=offset, order=order)
            return layer_exports.export_response(SimpleNamespace(slug=self.slug.replace("-", "_")), body, fmt)
        limit, offset = parse_paging(request.query_params)
        page = selectors.need_feature_page(layer, qs, limit=limit, offset=offset, order=order)
        return collection_response(request, page, limit=limit, offset=offset)


NEED_PARAMETERS = [
    OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat (WGS 84)"),
    OpenApiParameter("area", str, description="area code: needs of that kecamatan/kelurahan"),
    OpenApiParameter("road_class", str, description="arterial, collector, local, neighbourhood, path (comma-separated)"),
    OpenApiParameter("road", int, description="gaps/proposed PJU: one road id"),
    OpenApiParameter("status", str, description="broken PJU: off, damaged; lamp upgrades: any PJU status"),
    OpenApiParameter("kind", str, description="lighting gaps: missing, weak, dark (SPEC §5)"),
    OpenApiParameter("need_condition", str, description="damaged roads: light_damage, heavy_damage"),
    OpenApiParameter("min_priority", float, description="gaps/proposed PJU: priority score at least"),
    OpenApiParameter("ordering", str, description="id (default) or -priority (gaps/proposed PJU)"),
    OpenApiParameter("limit", int, description="page size, default 1,000, max 10,000"),
    OpenApiParameter("offset", int),
    OpenApiParameter("format", str, enum=["geojson", "csv", "gpkg", "kml"], description="export format (GDAL)"),
]


def need_layer_view(slug: str, summary: str):
    def get(self, request):
        return NeedLayerView.get(self, request)

    get = extend_schema(
        parameters=NEED_PARAMETERS, summary=summary, operation_id=f"needs_{slug.replace('-', '_')}",
        responses={200: OpenApiResponse(COLLECTION_SCHEMA), 400: OpenApiResponse(ERROR_SCHEMA)},
    )(get)
    cls = type(f"{slug.title().replace('-', '')}View", (NeedLayerView,), {"slug": slug, "get": get})
    return cls.as_view()


class SummaryView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("level", str, enum=["kecamatan", "kelurahan"], description="default kecamatan")],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Needs per kecamatan/kelurahan: PJU, working %, km under-lit by kind, new poles, lamp upgrades, repairs (each with its cost), road km by condition, kemantapan, cost",
    )
    def get(self, request):
        level = request.query_params.get("level") or "kecamatan"
        if level not in ("kecamatan", "kelurahan"):
            raise ValidationError({"level": [_("level must be kecamatan or kelurahan, not %(level)r") % {"level": level}]})
        summary = selectors.strip_raw(selectors.area_summary(level=level))
        summary["computed_at"] = selectors.last_run_at(full=True)
        summary["refreshed_at"] = selectors.last_run_at(full=False)
        return Response(summary)


class ComputeView(APIView):
    permission_classes = [access.PLANNERS_ONLY]

    @extend_schema(
        request={"application/json": {"type": "object", "properties": {"roads": {"type": "array", "items": {"type": "integer"}}}}},
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description=f"`roads` (at most {services.COMPUTE_SYNC_MAX_ROADS:,}) "
                                 "recomputed in the request: the run's report"),
            202: OpenApiResponse(OpenApiTypes.OBJECT, description="all roads, or more roads than that: a background needs "
                                 "job (as GET /api/jobs/{id}/; Location header) to poll until `done`"),
            400: OpenApiResponse(ERROR_SCHEMA), 401: OpenApiResponse(ERROR_SCHEMA), 403: OpenApiResponse(ERROR_SCHEMA),
        },
        summary="Recompute lighting gaps and proposed PJU: all roads (a background job), or `roads`",
    )
    def post(self, request):
        roads = request.data.get("roads") if isinstance(request.data, dict) else None
        if roads is not None and (not isinstance(roads, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in roads)):
            raise ValidationError({"roads": [_("roads must be a list of road ids (integers)")]})
        report, job = services.lighting_needs_compute_request(road_ids=roads, user=request.user)
        if job is None:
            return Response(report)
        body = signals.job_json(request, job)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ExportView(APIView):
    permission_classes = [access.LOGIN_ONLY]  # issue 12: exports need login (SPEC §4)
    renderer_classes = [
        _file_renderer("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        _file_renderer("csv", "text/csv"),
        JSONRenderer,
    ]

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["xlsx", "csv"], description="xlsx (default) or csv"),
            OpenApiParameter("area", str, description="area code"),
            OpenApiParameter("road_class", str),
            OpenApiParameter("min_priority", float),
        ],
        responses={200: OpenApiTypes.BINARY, 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Musrenbang proposals (new PJU per road, poles with coordinates, repairs) as XLSX or CSV",
    )
    def get(self, request):
        fmt = request.query_params.get("format") or "xlsx"
        if fmt not in ("xlsx", "csv"):
            raise ValidationError({"format": [_("format must be xlsx or csv")]})
        query = request.query_params.copy()
        query.pop("format", None)
        gaps = filters.apply_filters(filters.GapFilterSet, selectors.lighting_gap_list(), query)
        content, content_type, filename = exports.musrenbang_export(gaps=gaps, fmt=fmt)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# --- work orders ---


class WorkOrderBase(APIView):
    permission_classes = [access.LOGIN_ONLY]  # work orders are never public (the tiles declare the same)
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_order(self, pk: int):
        order = work_orders.work_order_get(pk)
        if order is None:
            raise NotFound(f"no work order with id {pk}")
        return order

    def feature(self, pk: int) -> HttpResponse:
        return geojson_response(work_orders.work_order_feature_text(pk))



class WorkOrderListView(WorkOrderBase):
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("mine", bool, description="1 = orders assigned to me"),
            OpenApiParameter("near", str, description="lon,lat: nearest first, with distance_m"),
            OpenApiParameter("status", str, description="open, assigned, in_progress, done, rejected"),
            OpenApiParameter("kind", str, description="broken_pju, proposed_pju, lighting_gap, damaged_road"),
            OpenApiParameter("bbox", str), OpenApiParameter("area", str),
            OpenApiParameter("limit", int), OpenApiParameter("offset", int),
        ],
        responses={200: OpenApiResponse(COLLECTION_SCHEMA), 400: OpenApiResponse(ERROR_SCHEMA)},
        summary="Work orders (GeoJSON); ?mine=1&near=lon,lat lists an officer's orders nearest first", operation_id="work_orders_list",
    )
    def get(self, request):
        query = request.query_params
        mine = (query.get("mine") or "").lower() in ("1", "true", "yes")
        near = parse_near(query.get("near"))
        qs = work_orders.work_order_list(user=request.user, mine=mine)
        qs = filters.apply_filters(filters.WorkOrderFilterSet, qs, query)
        limit, offset = parse_paging(query)
        page = work_orders.work_order_page(qs, near=near, limit=limit, offset=offset)
        return collection_response(request, page, limit=limit, offset=offset)

    @extend_schema(
        request=WorkOrderCreateSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiResponse(ERROR_SCHEMA), 403: OpenApiResponse(ERROR_SCHEMA)},
        summary="Create a work order from a need (planners); `assigned_to` assigns it at once",
    )
    def post(self, request):
        work_orders.permissions.check(request.user, "create")
        serializer = WorkOrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = work_orders.work_order_create(user=request.user, **serializer.validated_data)
        return geojson_response(work_orders.work_order_feature_text(order.pk), status.HTTP_201_CREATED)


class WorkOrderDetailView(WorkOrderBase):
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(ERROR_SCHEMA)}, summary="One work order", operation_id="work_orders_retrieve")
    def get(self, request, pk):
        self.get_order(pk)
        return self.feature(pk)


class WorkOrderTransitionView(WorkOrderBase):
    """POST /api/work-orders/{id}/{action}/: one endpoint, the action's input
    serializer from this table, the rules from work_orders.TRANSITIONS and
    work_orders.permissions."""

    INPUTS = {
        "assign": WorkOrderAssignSerializer,
        "start": None,
        "close": WorkOrderCloseSerializer,
        "reject": WorkOrderRejectSerializer,
    }

    def post(self, request, pk, action):
        order = self.get_order(pk)
        data = {}
        if self.INPUTS[action] is not None:
            serializer = self.INPUTS[action](data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        work_orders.work_order_transition(order=order, user=request.user, action=action, **data)
        return self.feature(pk)


_CLOSE_REQUEST = {"multipart/form-data": {"type": "object", "properties": {
    "photo": {"type": "string", "format": "binary"}, "lon": {"type": "number"}, "lat": {"type": "number"},
    "accuracy_m": {"type": "number"}, "note": {"type": "string"}}}}
_TRANSITION_DOCS = {  # action → (request schema, summary)
    "assign": (WorkOrderAssignSerializer, "Assign (or reassign) to a field officer (planners): open/assigned → assigned"),
    "start": (None, "The assigned officer starts the work: assigned → in_progress"),
    "close": (_CLOSE_REQUEST, "The assigned officer closes the work with a photo and a GPS position near the asset: in_progress → done"),
    "reject": (WorkOrderRejectSerializer, "Reject (planners, or the assigned officer): open/assigned/in_progress → rejected"),
}


def work_order_transition_view(action: str):
    """The transition view for one action (its own OpenAPI operation)."""
    request_schema, summary = _TRANSITION_DOCS[action]

    def post(self, request, pk, action=action):
        return WorkOrderTransitionView.post(self, request, pk, action)

    post = extend_schema(
        request=request_schema, summary=summary, operation_id=f"work_orders_{action}",
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(ERROR_SCHEMA), 403: OpenApiResponse(ERROR_SCHEMA),
                   409: OpenApiResponse(ERROR_SCHEMA)},
    )(post)
    return type(f"WorkOrder{action.title()}View", (WorkOrderTransitionView,), {"post": post}).as_view()
