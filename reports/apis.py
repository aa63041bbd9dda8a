"""/api/ endpoints of the reports (SPEC §4 error shape): the reports layer
(GeoJSON, `overdue`/`new` filters; contacts only for dispatchers), the
summary per kecamatan, the citizens' proposals, reopening, and the Open311
API keys (admins)."""
from __future__ import annotations

from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from rest_framework.renderers import JSONRenderer

from geo_platform import access, errors
from geo_platform.geojson import collection_response, geojson_response, parse_paging
from layers.apis import GeoJSONRenderer
from layers.filters import MAX_ID, parse_bbox
from needs.work_orders import is_planner
from reports import selectors, services
from reports.catalogue import SERVICES
from reports.models import Open311Key, Report


def _flag(query, name) -> bool:
    value = query.get(name, "")
    if value not in ("", "0", "1", "true", "false"):
        raise ValidationError({name: [_("%(name)s must be 1 or 0") % {"name": name}]})
    return value in ("1", "true")


def _report_missing(pk: int) -> NotFound:
    return NotFound(_("no report with id %(id)s") % {"id": pk})


def _key_missing(pk: int) -> NotFound:
    return NotFound(_("no API key with id %(id)s") % {"id": pk})


def _pk(pk: int, missing) -> int:
    if pk > MAX_ID:
        raise missing(pk)
    return pk


# a refused intake (status and parameter carried by the exception) in the platform's one error table
errors.register(services.IntakeError, lambda exc: exc.status, lambda exc: exc.param)
PublicRead = access.PUBLIC_READ_LOGIN_WRITE  # the layers' rule: public unless PUBLIC_READ=0


class ReportLayerView(APIView):
    permission_classes = [PublicRead]
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(
        summary="Citizen reports as GeoJSON (the map layer and the dispatcher's list)", operation_id="reports_list",
        parameters=[
            OpenApiParameter("overdue", str, description="1: open reports past their expected_datetime"),
            OpenApiParameter("new", str, description="1: open reports whose work order nobody has taken yet (dispatcher's inbox)"),
            OpenApiParameter("status", str, description="open, closed (comma-separated)"),
            OpenApiParameter("service_code", str, description="comma-separated service codes"),
            OpenApiParameter("area", str, description="kecamatan/kelurahan code"),
            OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat"),
            OpenApiParameter("limit", int), OpenApiParameter("offset", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        query = request.query_params
        bad = [k for k, v in query.items() if "\x00" in v]
        if bad:
            raise ValidationError({bad[0]: [_("NUL characters are not allowed")]})
        codes = [c for c in query.get("service_code", "").split(",") if c]
        if any(c not in SERVICES for c in codes):
            raise ValidationError({"service_code": [_("one of %(codes)s") % {"codes": ", ".join(SERVICES)}]})
        status_values = [s for s in query.get("status", "").split(",") if s]
        if any(s not in ("open", "closed") for s in status_values):
            raise ValidationError({"status": [_("open or closed")]})
        bbox = None
        if query.get("bbox"):
            try:
                bbox = parse_bbox(query["bbox"]).extent
            except Exception as exc:  # django.forms.ValidationError
                raise ValidationError({"bbox": [getattr(exc, "message", str(exc))]}) from None
        limit, offset = parse_paging(query)
        qs = selectors.report_list(service_codes=codes, status=status_values, overdue=_flag(query, "overdue"),
                                   new=_flag(query, "new"), area=query.get("area") or None, bbox=bbox)
        page = selectors.report_page(qs, request, with_contact=is_planner(request.user), limit=limit, offset=offset)
        return collection_response(request, page, limit=limit, offset=offset)


class ReportDetailView(APIView):
    permission_classes = [PublicRead]
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(summary="One citizen report (GeoJSON Feature)", operation_id="reports_retrieve", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        text = selectors.report_feature_text(_pk(pk, _report_missing), request, with_contact=is_planner(request.user))
        if text is None:
            raise _report_missing(pk)
        return geojson_response(text)


class ReportSummaryView(APIView):
    permission_classes = [PublicRead]

    @extend_schema(summary="Reports per kecamatan/kelurahan: received, done, median days to fix, overdue",
                   operation_id="reports_summary", parameters=[OpenApiParameter("level", str, enum=["kecamatan", "kelurahan"])],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        level = request.query_params.get("level", "kecamatan")
        if level not in ("kecamatan", "kelurahan"):
            raise ValidationError({"level": [_("kecamatan or kelurahan")]})
        rows = selectors.report_summary(level=level)
        totals = {k: sum(r[k] for r in rows) for k in ("received", "done", "overdue", "open")}
        return Response({"level": level, "areas": rows, "totals": totals})


class ProposalListView(APIView):
    permission_classes = [PublicRead]
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(summary="Citizens' requests for new PJU (pju_usulan) for Musrenbang, with the number of citizens asking",
                   operation_id="reports_proposals", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        limit, offset = parse_paging(request.query_params)
        page = selectors.proposal_page(selectors.proposal_list(), limit=limit, offset=offset)
        return collection_response(request, page, limit=limit, offset=offset)


class ReopenSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    api_key = serializers.CharField(required=False, allow_blank=True, default="")


class ReportReopenView(APIView):
    """The reporter (same /lapor/ session, or the app's api_key) or a
    dispatcher reopens a report closed within the last 7 days."""

    permission_classes = [access.Policy(read=access.ANYONE, write=access.ANYONE, name="citizens")]
    renderer_classes = [GeoJSONRenderer, JSONRenderer]

    @extend_schema(request=ReopenSerializer, summary="Reopen a report closed within 7 days", operation_id="reports_reopen",
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        report = Report.objects.filter(pk=_pk(pk, _report_missing)).first()
        if report is None:
            raise _report_missing(pk)
        data = ReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user  # token or session (DRF checks CSRF for logged-in sessions)
        key = services.open311_key_lookup(data.validated_data["api_key"])
        owner_by_key = key is not None and report.api_key_id == key.pk
        if not (owner_by_key or is_planner(user)):
            # an anonymous citizen: the /lapor/ session that sent the report, CSRF-checked
            if CsrfViewMiddleware(lambda r: None).process_view(request._request, None, (), {}) is not None:
                raise PermissionDenied(_("CSRF check failed: reload the /lapor/ page and send again"))
            owner = pk in request._request.session.get("lapor_reports", [])
            if not owner:
                raise PermissionDenied(_("only the reporter (same device or app) or a dispatcher reopens a report"))
        report = services.report_reopen(report=report, user=user, note=data.validated_data["note"])
        return geojson_response(selectors.report_feature_text(report.pk, request, with_contact=False))


IsAdmin = access.ADMINS_ONLY  # only admins manage Open311 API keys


class KeySerializer(serializers.ModelSerializer):
    class Meta:
        model = Open311Key
        fields = ["id", "name", "key", "active", "created_at"]
        read_only_fields = ["id", "key", "created_at"]


class Open311KeyListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=KeySerializer(many=True), summary="Open311 API keys (admins)", operation_id="open311_keys_list")
    def get(self, request):
        return Response(KeySerializer(Open311Key.objects.all(), many=True).data)

    @extend_schema(request=KeySerializer, responses=KeySerializer, summary="Issue an Open311 API key (admins)", operation_id="open311_keys_create")
    def post(self, request):
        data = KeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.open311_key_create(name=data.validated_data["name"], user=request.user)
        return Response(KeySerializer(key).data, status=status.HTTP_201_CREATED)


class Open311KeyDetailView(APIView):
    permission_classes = [IsAdmin]

    def _get(self, pk):
        key = Open311Key.objects.filter(pk=_pk(pk, _key_missing)).first()
        if key is None:
            raise _key_missing(pk)
        return key

    @extend_schema(responses=KeySerializer, summary="One Open311 API key", operation_id="open311_keys_retrieve")
    def get(self, request, pk: int):
        return Response(KeySerializer(self._get(pk)).data)

    @extend_schema(responses={204: None}, summary="Revoke an Open311 API key", operation_id="open311_keys_revoke")
    def delete(self, request, pk: int):
        key = self._get(pk)
        key.active = False
        key.save(update_fields=["active"])
        return Response(status=status.HTTP_204_NO_CONTENT)
