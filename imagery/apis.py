"""Thin HTTP layer: parse input → one selector/service call → output.

Status codes come only from the platform's one table (geo_platform.errors, imagery's rows in
imagery.errors); access from geo_platform.access policies."""
from __future__ import annotations

import functools
import json
import math
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rio_tiler.errors import PointOutsideBounds
from shapely import geometry as sgeom

from geo_platform import access
from geo_platform.errors import json_errors
from geo_platform.geojson import DEFAULT_LIMIT, MAX_LIMIT, Page, collection_head
from imagery import conf, terrain
from imagery.errors import InvalidParameter, RasterTooLarge
from imagery.models import KIND_CODES, Imagery
from imagery.readers import get_dataset
from imagery.selectors import elevation_get, imagery_get, imagery_list, imagery_tile_source
from imagery.services import imagery_delete, imagery_ingest_upload
from imagery.tiles import check_tile_address, parse_tile_params, render_tile, tilejson



# ---------------------------------------------------------------- output
def imagery_feature(obj: Imagery, request) -> dict:
    tiles = request.build_absolute_uri(f"/imagery/{obj.pk}/tiles/") + "{z}/{x}/{y}.png"
    return {
        "type": "Feature",
        "id": obj.pk,
        "geometry": json.loads(obj.footprint.geojson),
        "properties": {
            "name": obj.name,
            "kind": obj.kind,
            "captured_on": obj.captured_on.isoformat() if obj.captured_on else None,
            "gsd_m": obj.gsd_m,
            "crs": obj.source_crs,
            "width": obj.width,
            "height": obj.height,
            "bands": obj.bands,
            "dtype": obj.dtype,
            "nodata": obj.nodata,
            "size_bytes": obj.size_bytes,
            "checksum": obj.checksum,
            "licence": obj.licence,
            "attribution": obj.attribution,
            "statistics": obj.statistics,
            "tiles": tiles,
            "tilejson": request.build_absolute_uri(reverse("imagery-tilejson", args=[obj.pk])),
            "created_at": obj.created_at.isoformat(),
        },
    }


# ---------------------------------------------------------------- input
class BBoxField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            values = tuple(float(v) for v in str(data).split(","))
        except ValueError:
            raise serializers.ValidationError("bbox must be minlon,minlat,maxlon,maxlat") from None
        if len(values) != 4 or not all(map(math.isfinite, values)):
            raise serializers.ValidationError("bbox must be four numbers: minlon,minlat,maxlon,maxlat")
        w, s, e, n = values
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90 and w <= e):
            raise serializers.ValidationError("bbox must be minlon,minlat,maxlon,maxlat in WGS 84 with min ≤ max")
        return values


class KindListField(serializers.CharField):
    def to_internal_value(self, data):
        kinds = [k.strip() for k in str(data).split(",") if k.strip()]
        bad = [k for k in kinds if k not in KIND_CODES]
        if bad or not kinds:
            raise serializers.ValidationError(f"kind must be among {', '.join(KIND_CODES)}")
        return kinds


class DateIntervalField(serializers.CharField):
    """``date=YYYY-MM-DD`` or an OGC-style interval ``start/end`` (``..`` = open)."""

    def to_internal_value(self, data):
        parts = str(data).split("/")
        if len(parts) > 2:
            raise serializers.ValidationError("date must be YYYY-MM-DD or start/end (.. for an open end)")
        field = serializers.DateField()
        try:
            values = [None if p in ("", "..") else field.to_internal_value(p) for p in parts]
        except serializers.ValidationError:
            raise serializers.ValidationError("date must be YYYY-MM-DD or start/end (.. for an open end)") from None
        if len(values) == 1:
            if values[0] is None:
                raise serializers.ValidationError("date must be YYYY-MM-DD")
            return {"captured_on": values[0]}
        if values[0] and values[1] and values[0] > values[1]:
            raise serializers.ValidationError("the interval's start is after its end")
        return {"captured_from": values[0], "captured_to": values[1]}


def _geometry(data, types: tuple[str, ...]):
    """A GeoJSON geometry (bare, in "geometry", or a Feature) → shapely, lon/lat checked."""
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    elif isinstance(data, dict) and "geometry" in data:
        data = data["geometry"]
    if not isinstance(data, dict) or data.get("type") not in types:
        raise InvalidParameter(f"geometry must be a GeoJSON {' or '.join(types)}", "geometry")
    try:
        geom = sgeom.shape(data)
    except Exception:
        raise InvalidParameter("geometry has invalid coordinates", "geometry") from None
    if geom.is_empty:
        raise InvalidParameter("geometry is empty", "geometry")
    west, south, east, north = geom.bounds
    if not (all(map(math.isfinite, geom.bounds)) and -180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidParameter("coordinates must be lon/lat in WGS 84 (RFC 7946)", "geometry")
    return geom


# SPEC §4: uploads by admins and planners; deleting needs staff; terrain POSTs only compute
CATALOGUE = access.PLANNERS_WRITE
DETAIL = access.Policy(read=access.PUBLIC, write=access.PLANNER, delete=access.Role(staff=True), name="imagery detail")
ANALYSIS = access.PUBLIC_COMPUTE
TILES = access.Policy(read=access.PUBLIC, name="imagery tiles")


# ---------------------------------------------------------------- catalogue
class ImageryListApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [CATALOGUE]

    class FilterSerializer(serializers.Serializer):
        bbox = BBoxField(required=False)
        kind = KindListField(required=False)
        captured_on = serializers.DateField(required=False)
        captured_from = serializers.DateField(required=False)
        captured_to = serializers.DateField(required=False)
        date = DateIntervalField(required=False)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
        offset = serializers.IntegerField(required=False, min_value=0, max_value=2**62, default=0)

    class UploadSerializer(serializers.Serializer):
        file = serializers.FileField()
        kind = serializers.ChoiceField(choices=KIND_CODES)
        name = serializers.CharField(required=False, max_length=200)
        captured_on = serializers.DateField(required=False)
        licence = serializers.CharField(required=False, max_length=200, default="")
        attribution = serializers.CharField(required=False, max_length=500, default="")

    @extend_schema(operation_id="imagery_list", parameters=[FilterSerializer], responses={200: OpenApiTypes.OBJECT},
                   summary="Catalogue: footprints as a GeoJSON FeatureCollection")
    def get(self, request):
        f = self.FilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        params = dict(f.validated_data)
        limit, offset = params.pop("limit"), params.pop("offset")
        for key, value in (params.pop("date", None) or {}).items():
            if value is not None:
                params[key] = value
        qs = imagery_list(**params)
        rows = list(qs[offset : offset + limit])
        head = collection_head(request, Page(b"", len(rows), qs.count()), limit=limit, offset=offset)
        return Response({**head, "features": [imagery_feature(o, request) for o in rows]})

    @extend_schema(operation_id="imagery_upload", request={"multipart/form-data": UploadSerializer},
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT},
                   summary="Upload a georeferenced raster (converted to a COG)")
    def post(self, request):
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = conf.max_upload_bytes()
        if declared > limit + 1024 * 1024:  # multipart envelope allowance; the file itself is checked again
            raise RasterTooLarge(f"the upload is {declared:,} bytes, more than the {limit:,} allowed")
        s = self.UploadSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        result = imagery_ingest_upload(upload=data.pop("file"), kind=data.pop("kind"), created_by=request.user, **data)
        body = imagery_feature(result.imagery, request)
        body["properties"]["ingest"] = result.status
        return Response(body, status=201 if result.status == "created" else 200)


class ImageryDetailApi(APIView):
    permission_classes = [DETAIL]

    @extend_schema(operation_id="imagery_detail", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        return Response(imagery_feature(imagery_get(imagery_id=pk), request))

    @extend_schema(operation_id="imagery_delete", responses={204: None})
    def delete(self, request, pk: int):
        imagery_delete(imagery=imagery_get(imagery_id=pk), user=request.user)
        return Response(status=204)


# ---------------------------------------------------------------- terrain
class ElevationApi(APIView):
    class InputSerializer(serializers.Serializer):
        lon = serializers.FloatField(min_value=-180, max_value=180)
        lat = serializers.FloatField(min_value=-90, max_value=90)
        method = serializers.ChoiceField(choices=["nearest", "bilinear"], default="nearest")

    @extend_schema(operation_id="imagery_elevation", parameters=[InputSerializer], responses={200: OpenApiTypes.OBJECT},
                   summary="Elevation of the DEM cell holding a WGS 84 point")
    def get(self, request, pk: int):
        s = self.InputSerializer(data=request.query_params)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        dem = elevation_get(imagery_id=pk)
        z = terrain.sample_dem(dem.path, [(d["lon"], d["lat"])], method=d["method"])[0]
        if math.isnan(z) and not _inside(dem.path, d["lon"], d["lat"]):
            raise PointOutsideBounds(f"({d['lon']}, {d['lat']}) lies outside the DEM")
        return Response({"lon": d["lon"], "lat": d["lat"], "elevation_m": None if math.isnan(z) else float(z),
                         "method": d["method"], "imagery": dem.pk, "crs": dem.source_crs})


def _inside(path, lon, lat) -> bool:
    ds = get_dataset(path)
    x, y = terrain.to_native_xy(ds, [lon], [lat])
    b = ds.bounds
    return bool(b.left <= x[0] <= b.right and b.bottom <= y[0] <= b.top)


class ProfileApi(APIView):
    parser_classes = [JSONParser]
    permission_classes = [ANALYSIS]

    class OptionsSerializer(serializers.Serializer):
        interval_m = serializers.FloatField(required=False, min_value=0.01)
        method = serializers.ChoiceField(choices=["nearest", "bilinear"], default="nearest")

    @extend_schema(operation_id="imagery_profile", request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT},
                   examples=[OpenApiExample("line", value={"geometry": {"type": "LineString", "coordinates": [[106.838, -6.255], [106.87, -6.296]]}, "interval_m": 20}, request_only=True)],
                   summary="Elevation profile along a LineString")
    def post(self, request, pk: int):
        body = request.data if isinstance(request.data, dict) else {}
        line = _geometry(body, ("LineString",))
        opts = self.OptionsSerializer(data={k: body[k] for k in ("interval_m", "method") if k in body})
        opts.is_valid(raise_exception=True)
        dem = elevation_get(imagery_id=pk)
        result = terrain.elevation_profile(dem.path, list(line.coords), **opts.validated_data)
        return Response({"imagery": dem.pk, **result})


class ZonalApi(APIView):
    parser_classes = [JSONParser]
    permission_classes = [ANALYSIS]

    @extend_schema(operation_id="imagery_zonal", request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT},
                   examples=[OpenApiExample("polygon", value={"type": "Polygon", "coordinates": [[[106.84, -6.26], [106.86, -6.26], [106.86, -6.28], [106.84, -6.28], [106.84, -6.26]]]}, request_only=True)],
                   summary="Zonal statistics of the DEM over a Polygon")
    def post(self, request, pk: int):
        body = request.data if isinstance(request.data, dict) else {}
        poly = _geometry(body, ("Polygon", "MultiPolygon"))
        if not poly.is_valid:
            raise InvalidParameter("the polygon is not valid (self-intersecting ring?)", "geometry")
        dem = elevation_get(imagery_id=pk)
        return Response({"imagery": dem.pk, **terrain.zonal_statistics(dem.path, poly)})


# ---------------------------------------------------------------- tiles (plain Django views: no DRF overhead per tile)
def _tile_door(view):
    """Plain tile views: the TILES policy, then the one error table."""

    @functools.wraps(view)
    @json_errors
    def wrapper(request, *args, **kwargs):
        TILES.check(request)
        return view(request, *args, **kwargs)

    return wrapper


@_tile_door
def tile_view(request, pk: int, z: int, x: int, y: int):
    check_tile_address(z, x, y)
    img = imagery_tile_source(imagery_id=pk)
    params = parse_tile_params(request.GET, img)
    etag = f'"{img.checksum[:16]}-{params.cache_key()}"'
    cache_control = f"{'public' if settings.PUBLIC_READ else 'private'}, max-age={conf.tile_max_age()}"
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(render_tile(img, z, x, y, params), content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    # PNG is already deflate-compressed: keep GZipMiddleware from spending CPU on it
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    return response


@_tile_door
def tilejson_view(request, pk: int):
    img = imagery_tile_source(imagery_id=pk)
    parse_tile_params(request.GET, img)  # validate options passed through to the tile URL
    query = urlencode([(k, v) for k in request.GET for v in request.GET.getlist(k)])
    url = request.build_absolute_uri(f"/imagery/{img.pk}/tiles/") + "{z}/{x}/{y}.png" + (f"?{query}" if query else "")
    return JsonResponse(tilejson(img, url))
