"""OGC API – Features – Part 1: Core, a thin layer over layers/selectors.py
(the same PostGIS-built GeoJSON as /api/). Collections are the API layers
pju, roads, areas. Read by GDAL's OAPIF driver and QGIS."""
from __future__ import annotations

import json

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from layers import exports, selectors
from layers.apis import flatgeobuf_response
from layers.filters import MAX_ID, filter_layer, is_filtered, parse_after, parse_paging, parse_properties
from layers.permissions import can_read

COLLECTIONS = ("pju", "roads", "areas")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
BASE_PARAMS = {"bbox", "limit", "offset", "f", "datetime", "bbox-crs", "crs", "after", "properties"}
FLATGEOBUF = exports.FLATGEOBUF
HTML = "text/html"


class JSONOnly(BaseContentNegotiation):
    """JSON whatever the client's Accept says (GeoJSON, JSON, */*)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ReadPermission(BasePermission):
    message = "login or an API token is needed (PUBLIC_READ=0)"

    def has_permission(self, request, view):
        return can_read(request)


class OgcView(APIView):
    # + HTTP Basic: QGIS 3.22 can send a user name and password but no token header.
    authentication_classes = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, BasicAuthentication]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly
    permission_classes = [ReadPermission]
    http_method_names = ["get", "head", "options"]

    def url(self, path: str = "") -> str:
        return self.request.build_absolute_uri("/ogc/" + path)

    html_template = ""  # views with an HTML encoding (landing, collections) name their template

    def output_format(self, allowed: tuple[str, ...] = ("json",)) -> str:
        """`f=` (json, geojson, html, fgb where the view has it), else the
        Accept header: browsers (text/html first) get the HTML page."""
        f = self.request.query_params.get("f", "")
        if f == "geojson":
            f = "json"
        if f:
            if f not in allowed:
                raise ValidationError({"f": [f"unknown format {f!r}; here: {', '.join(allowed)}"]})
            return f
        accept = self.request.headers.get("Accept", "")
        if "html" in allowed and accept.split(",")[0].strip().startswith(HTML):
            return "html"
        return "json"

    def respond(self, doc: dict, **context):
        """The JSON document, or its HTML page for browsers (OGC API – Features HTML encoding)."""
        if self.output_format(("json", "html")) == "html":
            html = render_to_string(self.html_template, {"doc": doc, **self.html_context(), **context}, request=self.request)
            response = HttpResponse(html, content_type="text/html; charset=utf-8")
            response["Cache-Control"] = "private, no-store"  # may show the user's token
        else:
            response = Response(doc)
        patch_vary_headers(response, ("Accept",))
        return response

    def html_context(self) -> dict:
        """What the how-to pages need: the URLs, and the user's API token if
        they are logged in and have one (else how to get one)."""
        token = None
        user = self.request.user
        if user and user.is_authenticated:
            from rest_framework.authtoken.models import Token

            token = Token.objects.filter(user=user).values_list("key", flat=True).first()
        from django.conf import settings

        return {"ogc_url": self.url(), "api_url": self.request.build_absolute_uri("/api/"),
                "docs_url": self.request.build_absolute_uri("/api/docs/"), "token": token,
                "public_read": settings.PUBLIC_READ, "page_size": DEFAULT_LIMIT, "max_limit": MAX_LIMIT}

    def spec(self, collection: str):
        if collection not in COLLECTIONS:
            raise NotFound(f"no collection {collection!r}; collections: {', '.join(COLLECTIONS)}")
        return selectors.LAYERS[collection]

    def collection_doc(self, slug: str) -> dict:
        spec = selectors.LAYERS[slug]
        extent = selectors.layer_extent(spec) or (-180.0, -90.0, 180.0, 90.0)
        return {
            "id": slug,
            "title": spec.title,
            "description": spec.description or spec.title,
            "itemType": "feature",
            "crs": [CRS84],
            "storageCrs": CRS84,
            "extent": {"spatial": {"bbox": [list(extent)], "crs": CRS84}},
            "links": [
                {"href": self.url(f"collections/{slug}"), "rel": "self", "type": "application/json", "title": "this collection"},
                {"href": self.url(f"collections/{slug}/items"), "rel": "items", "type": GEOJSON, "title": "items"},
                {"href": self.url(f"collections/{slug}/items?f=fgb"), "rel": "items", "type": FLATGEOBUF,
                 "title": "all items as FlatGeobuf (with spatial index; login needed)"},
                {"href": self.url(f"collections/{slug}?f=html"), "rel": "alternate", "type": HTML, "title": "how to open it in QGIS/GDAL"},
                {"href": self.url(f"collections/{slug}/schema"), "rel": "describedby", "type": "application/schema+json",
                 "title": "JSON schema of the features"},
                # GDAL's OAPIF driver (3.6) looks for this spelling.
                {"href": self.url(f"collections/{slug}/schema"), "rel": "describedBy", "type": "application/schema+json",
                 "title": "JSON schema of the features"},
            ],
        }


@extend_schema(exclude=True)
class LandingView(OgcView):
    html_template = "ogc/landing.html"

    def get(self, request):
        return self.respond({
            "title": "geo_platform OGC API – Features",
            "description": "PJU, roads and administrative areas as OGC API – Features (Core, GeoJSON)",
            "links": [
                {"href": self.url(), "rel": "self", "type": "application/json", "title": "this document"},
                {"href": self.url("api"), "rel": "service-desc", "type": OPENAPI, "title": "OpenAPI definition of this API"},
                {"href": request.build_absolute_uri("/api/docs/"), "rel": "service-doc", "type": "text/html", "title": "API documentation"},
                {"href": self.url("conformance"), "rel": "conformance", "type": "application/json", "title": "conformance classes"},
                {"href": self.url("collections"), "rel": "data", "type": "application/json", "title": "collections"},
                {"href": self.url() + "?f=html", "rel": "alternate", "type": HTML, "title": "how to open these layers in QGIS and GDAL"},
            ],
        }, collections=[self.collection_doc(slug) for slug in COLLECTIONS])


def _param(name: str, where: str, schema: dict, description: str = "", required: bool = False, **extra) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description, **extra}


@extend_schema(exclude=True)
class OpenApiView(OgcView):
    """OpenAPI 3.0 of the OGC API (service-desc): clients such as QGIS and
    newer GDAL read the page size (`limit` default/maximum) from it."""

    def get(self, request):
        feature_collection = {"description": "GeoJSON FeatureCollection with numberMatched, numberReturned and links",
                              "content": {GEOJSON: {"schema": {"type": "object"}}}}
        error = {"description": "error", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}}}}}}
        limit_param = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                             f"page size (default {DEFAULT_LIMIT:,}, maximum {MAX_LIMIT:,}; larger values are served as the maximum)",
                             style="form", explode=False)
        common = [
            _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                   "minlon,minlat,maxlon,maxlat (CRS84)", style="form", explode=False),
            # QGIS and GDAL read the page size from components/parameters/limit (default and maximum).
            {"$ref": "#/components/parameters/limit"},
            _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "features to skip (the next link uses `after`)",
                   style="form", explode=False),
            _param("after", "query", {"type": "integer", "minimum": 0},
                   "keyset paging: the last id of the previous page (next links carry it)", style="form", explode=False),
            _param("properties", "query", {"type": "array", "items": {"type": "string"}},
                   "properties to return (comma-separated); empty = none", style="form", explode=False),
            _param("f", "query", {"type": "string", "enum": ["json", "fgb"], "default": "json"},
                   "json (GeoJSON) or fgb (FlatGeobuf of the whole filtered collection; login needed)", style="form", explode=False),
        ]
        paths = {
            "/": {"get": {"operationId": "landing", "responses": {"200": {"description": "landing page"}}}},
            "/conformance": {"get": {"operationId": "conformance", "responses": {"200": {"description": "conformance classes"}}}},
            "/collections": {"get": {"operationId": "collections", "responses": {"200": {"description": "collections"}}}},
            "/collections/{collectionId}": {"get": {
                "operationId": "collection",
                "parameters": [_param("collectionId", "path", {"type": "string", "enum": list(COLLECTIONS)})],
                "responses": {"200": {"description": "collection"}, "404": error}}},
            "/collections/{collectionId}/items": {"get": {
                "operationId": "items",
                "parameters": [_param("collectionId", "path", {"type": "string", "enum": list(COLLECTIONS)}), *common],
                "responses": {"200": feature_collection, "400": error, "404": error}}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "operationId": "item",
                "parameters": [_param("collectionId", "path", {"type": "string", "enum": list(COLLECTIONS)}),
                               _param("featureId", "path", {"type": "integer"})],
                "responses": {"200": {"description": "GeoJSON Feature", "content": {GEOJSON: {"schema": {"type": "object"}}}},
                              "404": error}}},
        }
        for slug in COLLECTIONS:  # per collection, with its attribute filters
            spec = selectors.LAYERS[slug]
            filters = [_param(f, "query", {"type": "string"}, f"{f} code(s), comma-separated", style="form", explode=False)
                       for f in spec.filters]
            paths[f"/collections/{slug}/items"] = {"get": {
                "operationId": f"items_{slug}", "summary": spec.title,
                "parameters": [*common, *filters], "responses": {"200": feature_collection, "400": error}}}
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "geo_platform OGC API – Features", "version": "1.0.0"},
            "servers": [{"url": self.url().rstrip("/")}],
            "paths": paths,
            "components": {"parameters": {"limit": limit_param}},
        }
        return HttpResponse(json.dumps(doc), content_type=OPENAPI)


@extend_schema(exclude=True)
class ConformanceView(OgcView):
    def get(self, request):
        return Response({"conformsTo": CONFORMANCE})


@extend_schema(exclude=True)
class CollectionsView(OgcView):
    html_template = "ogc/landing.html"

    def get(self, request):
        collections = [self.collection_doc(slug) for slug in COLLECTIONS]
        return self.respond({
            "links": [{"href": self.url("collections"), "rel": "self", "type": "application/json", "title": "collections"}],
            "collections": collections,
        }, collections=collections)


@extend_schema(exclude=True)
class CollectionView(OgcView):
    html_template = "ogc/collection.html"

    def get(self, request, collection):
        spec = self.spec(collection)
        return self.respond(self.collection_doc(collection), collection=collection,
                            properties=selectors.output_properties(spec), filters=spec.filters)


def _json_type(model_field) -> dict:
    from django.db import models

    if isinstance(model_field, models.BooleanField):
        return {"type": "boolean"}
    if isinstance(model_field, (models.IntegerField, models.ForeignKey)):
        return {"type": "integer"}
    if isinstance(model_field, models.FloatField):
        return {"type": "number"}
    if isinstance(model_field, models.DateTimeField):
        return {"type": "string", "format": "date-time"}
    if isinstance(model_field, models.DateField):
        return {"type": "string", "format": "date"}
    out = {"type": "string"}
    if model_field.choices:
        out["enum"] = [code for code, _ in model_field.choices]
    return out


@extend_schema(exclude=True)
class SchemaView(OgcView):
    """JSON Schema of a collection's features: GDAL's OAPIF driver reads the
    field types from it (numbers stay numbers even when a page has nulls)."""

    def get(self, request, collection):
        spec = self.spec(collection)
        props = {}
        for name in spec.properties:
            field = spec.model._meta.get_field(name.removesuffix("_id") if name in selectors.OUTPUT_NAMES else name)
            entry = _json_type(field)
            entry["title"] = str(field.verbose_name)
            props[selectors.OUTPUT_NAMES.get(name, name)] = entry
        if spec.has_areas:
            props["kecamatan"] = {"type": "string", "title": "kecamatan code"}
            props["kelurahan"] = {"type": "string", "title": "kelurahan code"}
        geometry = spec.geometry_types[-1]
        doc = {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": self.url(f"collections/{collection}/schema"),
            "title": spec.title,
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "integer"},
                "geometry": {"$ref": f"https://geojson.org/schema/{geometry}.json"},
                "properties": {"type": "object", "properties": props},
            },
        }
        return Response(doc, content_type="application/schema+json")


@extend_schema(exclude=True)
class ItemsView(OgcView):
    def get(self, request, collection):
        spec = self.spec(collection)
        query = request.query_params
        unknown = sorted(set(query) - BASE_PARAMS - set(spec.filters) - {"area"})
        if unknown:
            raise ValidationError({k: ["unknown query parameter"] for k in unknown})
        for crs_param in ("bbox-crs", "crs"):
            if query.get(crs_param) not in (None, "", CRS84):
                raise ValidationError({crs_param: [f"only {CRS84} is supported"]})
        fmt = self.output_format(("json", "fgb"))
        qs = filter_layer(spec, selectors.layer_queryset(spec), query)
        after, properties = parse_after(query), parse_properties(spec, query, "properties")
        if fmt == "fgb":  # an export: the whole filtered collection in one file (SPEC §4: login)
            exports.require_login(request)
            limit, offset = parse_paging(query, default_limit=exports.MAX_FEATURES, max_limit=exports.MAX_FEATURES)
            data, n, last_id = selectors.flatgeobuf(spec, qs, limit=limit, offset=offset, after=after, properties=properties)
            return flatgeobuf_response(data, collection, next_url=self._next(last_id, limit) if n == limit else None)
        limit_text = query.get("limit", "")
        if limit_text.isascii() and limit_text.isdigit() and (len(limit_text) > 18 or int(limit_text) > MAX_LIMIT):  # issue 12: "²", 5000 digits
            query = query.copy()
            query["limit"] = str(MAX_LIMIT)  # OGC clients may ask for more; serve the maximum page
        limit, offset = parse_paging(query, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
        page = selectors.feature_page(spec, qs, limit=limit, offset=offset, after=after,
                                      filtered=is_filtered(spec, query), properties=properties)
        links = [
            {"href": self.request.build_absolute_uri(), "rel": "self", "type": GEOJSON, "title": "this page"},
            {"href": self.url(f"collections/{collection}"), "rel": "collection", "type": "application/json", "title": "the collection"},
        ]
        if page.more:
            # Each next page is twice as large, up to the maximum: GDAL 3.6 starts at limit=10 (it
            # does not read the OpenAPI limit), QGIS at 1,000; both follow next links as given, so a
            # whole-collection harvest takes ~20 requests instead of 13,000 or 133.
            links.append({"href": self._next(page.last_id, min(2 * limit, MAX_LIMIT)), "rel": "next", "type": GEOJSON,
                          "title": "next page"})
        if offset > 0 and after is None:
            links.append({"href": self._page(max(0, offset - limit), limit), "rel": "prev", "type": GEOJSON, "title": "previous page"})
        head = {
            "type": "FeatureCollection",
            # Exact when the request is filtered or the collection small; else PostgreSQL's estimate (no full scan per page).
            "numberMatched": page.matched,
            "numberReturned": page.returned,
            "timeStamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        }
        return HttpResponse(json.dumps(head)[:-1].encode() + b',"features":[' + page.body + b"]}", content_type=GEOJSON)

    def _page(self, offset: int, limit: int) -> str:
        query = self.request.GET.copy()
        query["offset"], query["limit"] = str(offset), str(limit)
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")

    def _next(self, last_id: int, limit: int) -> str:
        """Keyset paging: the next page starts after the last id served."""
        query = self.request.GET.copy()
        query.pop("offset", None)
        query["after"], query["limit"] = str(last_id), str(limit)
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")


@extend_schema(exclude=True)
class ItemView(OgcView):
    def get(self, request, collection, fid):
        spec = self.spec(collection)
        feature = selectors.feature_dict(spec, int(fid)) if len(fid) <= 19 and int(fid) <= MAX_ID else None  # issue 12: 5000 digits
        if feature is None:
            raise NotFound(f"no feature {fid} in collection {collection}")
        feature["links"] = [
            {"href": self.url(f"collections/{collection}/items/{fid}"), "rel": "self", "type": GEOJSON, "title": "this feature"},
            {"href": self.url(f"collections/{collection}"), "rel": "collection", "type": "application/json", "title": "the collection"},
        ]
        return HttpResponse(json.dumps(feature), content_type=GEOJSON)
