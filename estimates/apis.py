"""Thin HTTP views: templates, estimates (JSON, ?format=xlsx|csv|pdf), the
condition-driven programme and earthwork on a DEM (SPEC §4)."""
from __future__ import annotations

import math

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from estimates import earthwork, exports, programme
from geo_platform import access, geojson
from estimates.errors import EstimateInputError
from estimates.pricing import price_list_get
from estimates.selectors import (
    earthwork_bill, estimate_build, geometry_piece, location_get, price_list_for_location, road_pieces, template_get, template_list,
)
from imagery.selectors import elevation_get

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Estimates and analyses write nothing: readable like any public layer; exports
# (?format=xlsx|csv|pdf) need login (issue 12) — the policy's export rule.
ReadLike = access.PUBLIC_COMPUTE


class _FileRenderer(BaseRenderer):
    charset = None
    render_style = "binary"
    build = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        request = (renderer_context or {}).get("request")
        if response is not None and response.status_code >= 400:  # errors stay JSON (geo_platform.errors answers in JSON)
            return JSONRenderer().render(data)
        if request is not None and request.method == "OPTIONS":  # DRF's metadata, not an estimate
            return JSONRenderer().render(data)
        return type(self).build(data)


class XLSXRenderer(_FileRenderer):
    media_type, format = XLSX_MEDIA, "xlsx"
    build = staticmethod(exports.estimate_xlsx)


class CSVRenderer(_FileRenderer):
    media_type, format, charset = "text/csv", "csv", "utf-8"
    render_style = "text"
    build = staticmethod(lambda data: exports.estimate_csv(data).encode("utf-8"))


class PDFRenderer(_FileRenderer):
    media_type, format = "application/pdf", "pdf"
    build = staticmethod(exports.estimate_pdf)


MAX_VERTICES = 50_000
PROGRAMME_LIMIT = 100  # ranked segments per page of /api/programme/


def _geojson_geometry(data):
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") not in ("LineString", "Polygon", "MultiPolygon"):
        raise EstimateInputError(_("geometry must be a GeoJSON LineString, Polygon or MultiPolygon"), "geometry")
    coords = data.get("coordinates")

    def positions(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            yield c
        elif isinstance(c, (list, tuple)):
            for x in c:
                yield from positions(x)
        else:
            raise EstimateInputError(_("geometry has invalid coordinates"), "geometry")

    pts = []
    for p in positions(coords):
        pts.append(p)
        if len(pts) > MAX_VERTICES:  # issue 12: bounded work per request
            raise EstimateInputError(_("geometry has more than %(max)s vertices; simplify it")
                                     % {"max": number_format(MAX_VERTICES, force_grouping=True)}, "geometry")
    if not pts:
        raise EstimateInputError(_("geometry is empty"), "geometry")
    for p in pts:
        if len(p) < 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in p[:2]) \
                or not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            raise EstimateInputError(_("coordinates must be lon/lat in WGS 84 (RFC 7946)"), "geometry")
    if data["type"] == "LineString" and len(pts) < 2:
        raise EstimateInputError(_("a LineString needs at least two positions"), "geometry")
    if data["type"] != "LineString":
        rings = [coords] if data["type"] == "Polygon" else coords
        for poly in rings:
            for ring in poly:
                if len(ring) < 4 or list(ring[0][:2]) != list(ring[-1][:2]):
                    raise EstimateInputError(_("each polygon ring needs at least four positions, first = last"), "geometry")
    return {"type": data["type"], "coordinates": coords}


def _mix_loss_factor(m) -> float:
    """The whole layer's loss factor: for an asphalt mix the aggregate and bitumen shares' factors blended."""
    if m.binder_share:
        return (1 - m.binder_share) * m.loss_factor + m.binder_share * m.binder_loss_factor
    return m.loss_factor


class TemplateListApi(APIView):
    permission_classes = [ReadLike]

    @extend_schema(operation_id="templates_list", responses={200: OpenApiResponse({"type": "array", "items": {"type": "object"}})},
                   summary="Pavement templates: layers (thickness, density, loss factor) and coats")
    def get(self, request):
        out = []
        for t in template_list():
            out.append({
                "code": t.code, "name": t.name, "kind": t.kind, "description": t.description, "source": t.source,
                "layers": [{"name": layer.name, "material": layer.material.code, "thickness_m": layer.thickness_m,
                            "density_t_m3": layer.material.density_t_m3, "loss_factor": _mix_loss_factor(layer.material),
                            "aggregate_loss_factor": layer.material.loss_factor,
                            "material_kind": layer.material.kind, "bitumen_share": layer.material.binder_share,
                            "bitumen_loss_factor": layer.material.binder_loss_factor if layer.material.binder_share else None,
                            "pay_item": layer.pay_item, "pay_basis": layer.pay_basis, "source": layer.source,
                            "density_source": layer.material.density_source, "loss_source": layer.material.loss_source}
                           for layer in t.layers.all()],
                "coats": [{"name": c.name, "rate_l_m2": c.rate_l_m2, "on_surface": c.on_surface, "pay_item": c.pay_item,
                           "source": c.source} for c in t.coats.all()],
                "items": [{"name": i.name, "rate_per_m2": i.rate_per_m2, "unit": i.unit, "pay_item": i.pay_item, "source": i.source}
                          for i in t.items.all()],
            })
        return Response(out)


class EstimateApi(APIView):
    parser_classes = [JSONParser]
    permission_classes = [ReadLike]
    renderer_classes = [JSONRenderer, XLSXRenderer, CSVRenderer, PDFRenderer]

    class EstimateInputSerializer(serializers.Serializer):
        template = serializers.CharField(max_length=40)
        geometry = serializers.JSONField(required=False)
        road_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=10000)
        width_m = serializers.FloatField(required=False, min_value=0)
        price_list = serializers.IntegerField(required=False, min_value=1)
        region = serializers.CharField(required=False, max_length=100)
        year = serializers.IntegerField(required=False, min_value=1900, max_value=2200)

        def validate_width_m(self, value):
            if not math.isfinite(value) or value <= 0:
                raise serializers.ValidationError(_("width_m must be a positive number of metres"))
            if value > 200:
                raise serializers.ValidationError(_("width_m must be at most 200 m"))
            return value

        def validate(self, attrs):
            if ("geometry" in attrs) == ("road_ids" in attrs):
                raise serializers.ValidationError({"geometry": [_("give either geometry (+ width_m for a LineString) or road_ids")]})
            return attrs

    @extend_schema(
        operation_id="estimates_create", request=EstimateInputSerializer, responses={200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("format", str, enum=["json", "xlsx", "csv", "pdf"], description="RAB workbook, CSV or PDF")],
        examples=[OpenApiExample("line", request_only=True, value={
            "geometry": {"type": "LineString", "coordinates": [[106.63, -6.18], [106.639, -6.18]]}, "width_m": 7, "template": "FFF1"})],
        summary="Material quantities and cost (RAB) of a template over a drawn road, a polygon or road ids",
    )
    def post(self, request):
        s = self.EstimateInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        template = template_get(code=d["template"])
        if "geometry" in d:
            geometry = _geojson_geometry(d["geometry"])
            pieces = [geometry_piece(geometry=geometry, width_m=d.get("width_m"))]
            location = location_get(geometry=geometry)
        else:
            pieces = road_pieces(road_ids=d["road_ids"], width_m=d.get("width_m"))  # issue 19: a typed width wins
            location = location_get(road_ids=[p.road_id for p in pieces])
        chosen = any(d.get(k) for k in ("price_list", "region", "year"))
        price_list = (price_list_get(price_list_id=d.get("price_list"), region=d.get("region"), year=d.get("year")) if chosen
                      else price_list_for_location(location) or price_list_get())
        est = estimate_build(template=template, pieces=pieces, price_list=price_list, location=location)
        response = Response(est)
        fmt = getattr(request.accepted_renderer, "format", "json")
        if fmt in ("xlsx", "csv", "pdf"):
            response["Content-Disposition"] = f'attachment; filename="RAB_{template.code}.{fmt}"'
        return response


# ---------------------------------------------------------------- earthwork on a DEM of the imagery catalogue
class EarthworkApi(APIView):
    parser_classes = [JSONParser]
    permission_classes = [ReadLike]

    class EarthworkDesignSerializer(serializers.Serializer):
        start_elevation = serializers.FloatField(min_value=-1000, max_value=10000)
        grade_percent = serializers.FloatField(min_value=-100, max_value=100, default=0.0)

    class EarthworkInputSerializer(serializers.Serializer):
        alignment = serializers.JSONField()
        width_m = serializers.FloatField()
        design = serializers.JSONField()
        side_slope = serializers.FloatField(min_value=0, max_value=100, required=False,
                                            help_text="H:V for both sides (0 = vertical); else cut_slope / fill_slope")
        cut_slope = serializers.FloatField(min_value=0, max_value=100, required=False, help_text=f"H:V, default {earthwork.DEFAULT_CUT_SLOPE:g}")
        fill_slope = serializers.FloatField(min_value=0, max_value=100, required=False, help_text=f"H:V, default {earthwork.DEFAULT_FILL_SLOPE:g}")
        crossfall_percent = serializers.FloatField(min_value=0, max_value=20, default=earthwork.DEFAULT_CROSSFALL_PERCENT)
        topsoil_m = serializers.FloatField(min_value=0, max_value=2, default=earthwork.DEFAULT_TOPSOIL_M)
        pavement_depth_m = serializers.FloatField(min_value=0, max_value=3, required=False,
                                                  help_text="depth of the box; default: the template's layers")
        template = serializers.CharField(max_length=40, required=False, default=earthwork.DEFAULT_TEMPLATE)
        method = serializers.ChoiceField(choices=earthwork.METHODS, default="average_end_area")
        station_interval_m = serializers.FloatField(required=False, min_value=0.1)
        swell = serializers.FloatField(required=False, min_value=0, max_value=1, default=earthwork.DEFAULT_SWELL)
        shrinkage = serializers.FloatField(required=False, min_value=0.5, max_value=1, default=earthwork.DEFAULT_SHRINKAGE)

        def validate_width_m(self, value):
            if not math.isfinite(value) or value <= 0 or value > 200:
                raise serializers.ValidationError(_("width_m must be a positive number of metres (at most 200)"))
            return value

        def validate_design(self, value):
            s = EarthworkApi.EarthworkDesignSerializer(data=value if isinstance(value, dict) else {})
            if not s.is_valid():
                raise serializers.ValidationError({k: [str(e) for e in v] for k, v in s.errors.items()})
            return s.validated_data

        def validate_alignment(self, value):
            if isinstance(value, dict) and value.get("type") == "Feature":
                value = value.get("geometry")
            if not isinstance(value, dict) or value.get("type") != "LineString":
                raise serializers.ValidationError(_("alignment must be a GeoJSON LineString"))
            try:
                geom = _geojson_geometry(value)
            except EstimateInputError as exc:
                raise serializers.ValidationError(exc.message) from None
            return [list(map(float, p[:2])) for p in geom["coordinates"]]

    @extend_schema(
        operation_id="imagery_earthwork", request=EarthworkInputSerializer, responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("road", request_only=True, value={
            "alignment": {"type": "LineString", "coordinates": [[106.845, -6.27], [106.85, -6.275]]}, "width_m": 7,
            "design": {"start_elevation": 30, "grade_percent": 0.5}, "side_slope": 2, "method": "prismoidal", "station_interval_m": 20})],
        summary="Cut and fill of a road corridor on a DEM (grid, average end area, prismoidal) with cross-sections",
    )
    def post(self, request, pk: int):
        s = self.EarthworkInputSerializer(data=request.data if isinstance(request.data, dict) else {})
        s.is_valid(raise_exception=True)
        d = s.validated_data
        depth = d.get("pavement_depth_m")
        if depth is None:
            depth = sum(layer.thickness_m for layer in template_get(code=d["template"]).layers.all())
        dem = elevation_get(imagery_id=pk)
        result = earthwork.earthwork(
            dem.path, alignment=d["alignment"], width_m=d["width_m"], start_elevation=d["design"]["start_elevation"],
            grade_percent=d["design"]["grade_percent"], side_slope=d.get("side_slope"), method=d["method"],
            station_interval_m=d.get("station_interval_m"), swell=d["swell"], shrinkage=d["shrinkage"],
            cut_slope=d.get("cut_slope"), fill_slope=d.get("fill_slope"), crossfall_percent=d["crossfall_percent"],
            pavement_depth_m=depth, topsoil_m=d["topsoil_m"],
        )
        result["template"] = None if d.get("pavement_depth_m") is not None else d["template"]
        return Response({"imagery": dem.pk, **result, "bill": earthwork_bill(result)})


# ---------------------------------------------------------------- condition-driven programme
class ProgrammeCSVRenderer(_FileRenderer):
    media_type, format, charset = "text/csv", "csv", "utf-8"
    render_style = "text"
    build = staticmethod(lambda data: exports.programme_csv(data).encode("utf-8"))


class ProgrammeXLSXRenderer(_FileRenderer):
    media_type, format = XLSX_MEDIA, "xlsx"
    build = staticmethod(exports.programme_xlsx)


class ProgrammeApi(APIView):
    permission_classes = [ReadLike]
    renderer_classes = [JSONRenderer, ProgrammeCSVRenderer, ProgrammeXLSXRenderer]

    class ProgrammeFilterSerializer(serializers.Serializer):
        level = serializers.ChoiceField(choices=programme.LEVELS, default="kecamatan")
        budget = serializers.DecimalField(required=False, max_digits=20, decimal_places=2, min_value=0,
                                          help_text="per year; segments are funded in rank order while the year's total stays within it")
        years = serializers.IntegerField(required=False, min_value=1, max_value=programme.MAX_YEARS, default=1)
        area = serializers.CharField(required=False, max_length=40)
        bbox = serializers.CharField(required=False, max_length=200, help_text="minlon,minlat,maxlon,maxlat")
        road_class = serializers.CharField(required=False, max_length=200, help_text="comma-separated codes")
        condition = serializers.CharField(required=False, max_length=200, help_text="recorded condition codes, comma-separated")
        authority = serializers.CharField(required=False, max_length=200,
                                          help_text="default: the city's roads (city, village, unknown); 'all', or codes")
        source = serializers.CharField(required=False, max_length=100)
        # The kernel's paging bounds (geo_platform.geojson); unlike a FeatureCollection the ranked list
        # defaults to 100 rows and accepts limit=0 (the totals without segments).
        limit = serializers.IntegerField(required=False, min_value=0, max_value=geojson.MAX_LIMIT, default=PROGRAMME_LIMIT)
        offset = serializers.IntegerField(required=False, min_value=0, max_value=geojson.MAX_OFFSET, default=0)
        price_list = serializers.IntegerField(required=False, min_value=1)
        region = serializers.CharField(required=False, max_length=100)
        year = serializers.IntegerField(required=False, min_value=1900, max_value=2200)

        @staticmethod
        def _codes(value, allowed, name):
            items = [v.strip() for v in value.split(",") if v.strip()]
            bad = [v for v in items if v not in allowed]
            if bad:
                raise serializers.ValidationError(f"unknown {name} {', '.join(bad)}; one of {', '.join(allowed)}")
            return items

        def validate_road_class(self, value):
            return self._codes(value, programme.CLASSES, "road_class")

        def validate_condition(self, value):
            return self._codes(value, [c for c, _ in programme.codes.ROAD_CONDITIONS], "condition")

        def validate_authority(self, value):
            return self._codes(value, ["all", *programme.AUTHORITIES], "authority")

        def validate_bbox(self, value):
            try:
                parts = [float(v) for v in value.split(",")]
            except ValueError:
                raise serializers.ValidationError("bbox must be minlon,minlat,maxlon,maxlat") from None
            if len(parts) != 4 or not all(math.isfinite(v) for v in parts) or not (
                    -180 <= parts[0] < parts[2] <= 180 and -90 <= parts[1] < parts[3] <= 90):
                raise serializers.ValidationError("bbox must be minlon,minlat,maxlon,maxlat in WGS 84, min < max")
            return tuple(parts)

    @extend_schema(operation_id="programme", parameters=[ProgrammeFilterSerializer], responses={200: OpenApiTypes.OBJECT},
                   summary="Effective condition × surface → treatment → cost for every road segment, ranked, cut at the "
                           "budget per year, per area, road class and treatment; the city's roads by default")
    def get(self, request):
        f = self.ProgrammeFilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        d = f.validated_data
        price_list = price_list_get(price_list_id=d.get("price_list"), region=d.get("region"), year=d.get("year"))
        out = programme.programme_build(
            level=d["level"], budget=d.get("budget"), price_list=price_list, area=d.get("area"), source=d.get("source"),
            limit=d["limit"], offset=d["offset"], bbox=d.get("bbox"), road_class=d.get("road_class"),
            condition=d.get("condition"), authority=d.get("authority"), years=d["years"])
        nxt = None
        if d["limit"] and d["offset"] + d["limit"] < out["count"]:
            nxt = geojson.page_url(request, d["offset"] + d["limit"], d["limit"])
        out["next"] = nxt
        response = Response(out)
        fmt = getattr(request.accepted_renderer, "format", "json")
        if fmt in ("csv", "xlsx"):
            response["Content-Disposition"] = f'attachment; filename="program_penanganan_jalan.{fmt}"'
        return response
