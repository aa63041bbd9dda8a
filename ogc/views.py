"""OGC API – Features – Part 1: Core (+ Part 3 queryables), thin Django
views over the framework-free core (ogc/core.py builds every document) and
the PostGIS provider (ogc/provider.py: the same PostGIS-built GeoJSON as
/api/). Collections are the API layers pju, roads, areas. Read by GDAL's
OAPIF driver and QGIS; browsers get HTML how-to pages."""
from __future__ import annotations

import gzip
import json
import re

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import NotAuthenticated, NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from geo_platform import access, errors, geojson
from layers import exports
from layers.apis import flatgeobuf_response
from layers.filters import MAX_ID
from ogc import core
from ogc.provider import COLLECTIONS, PostgisProvider

CRS84 = core.CRS84
# The kernel's paging rule (geo_platform.geojson); ogc/core.py is framework-free and keeps the same two
# numbers (tests/ogc/test_core.py checks they agree). Unlike /api/, a `limit` above the maximum is served
# as the maximum page (OGC clients may ask for more) and each next page doubles up to it (core.next_limit).
DEFAULT_LIMIT = geojson.DEFAULT_LIMIT
MAX_LIMIT = geojson.MAX_LIMIT
GEOJSON = core.GEOJSON
HTML = core.HTML
# Pages from ~100 KB up are compressed here at zlib level 1 instead of by GZipMiddleware
# (level 6): a 10,000-PJU page (5 MB) costs 11 ms instead of 65 ms, for 283 KB instead of 224 KB.
FAST_GZIP_FROM = 100_000
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


class JSONOnly(BaseContentNegotiation):
    """JSON whatever the client's Accept says (GeoJSON, JSON, */*)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# Reads public unless PUBLIC_READ=0; FlatGeobuf downloads (f=fgb) are exports: login (SPEC §4).
OGC_POLICY = access.Policy(read=access.PUBLIC, write=access.LOGIN, export=access.LOGIN, name="OGC API: public read, login export")

# The core's refusals (bad bbox, limit, sortby, ...) are 400s naming their parameters (SPEC §4).
errors.register(core.OgcError, 400)


class OgcView(APIView):
    # + HTTP Basic: QGIS 3.22 can send a user name and password but no token header.
    authentication_classes = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, BasicAuthentication]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly
    permission_classes = [OGC_POLICY]
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
                raise ValidationError({"f": [_("unknown format %(f)r; here: %(allowed)s") % {"f": f, "allowed": ", ".join(allowed)}]})
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
        return {"ogc_url": self.url(), "api_url": self.request.build_absolute_uri("/api/"),
                "docs_url": self.request.build_absolute_uri("/api/docs/"), "token": token,
                "public_read": settings.PUBLIC_READ, "page_size": DEFAULT_LIMIT, "max_limit": MAX_LIMIT}

    @property
    def provider(self) -> PostgisProvider:
        if not hasattr(self, "_provider"):
            self._provider = PostgisProvider()
        return self._provider

    def collection(self, collection_id: str, *, with_extent: bool = False) -> core.Collection:
        if not self.provider.has(collection_id):
            raise NotFound(_("no collection %(id)r; collections: %(all)s") % {"id": collection_id, "all": ", ".join(COLLECTIONS)})
        return self.provider.collection(collection_id, with_extent=with_extent)


@extend_schema(exclude=True)
class LandingView(OgcView):
    html_template = "ogc/landing.html"

    def get(self, request):
        return self.respond(core.landing(self.url(), docs_url=request.build_absolute_uri("/api/docs/")),
                            collections=core.collections(self.url(), self.provider)["collections"])


@extend_schema(exclude=True)
class OpenApiView(OgcView):
    """OpenAPI 3.0 of the OGC API (service-desc)."""

    def get(self, request):
        return HttpResponse(json.dumps(core.openapi(self.url(), self.provider)), content_type=core.OPENAPI)


@extend_schema(exclude=True)
class ConformanceView(OgcView):
    def get(self, request):
        return Response(core.conformance())


@extend_schema(exclude=True)
class CollectionsView(OgcView):
    html_template = "ogc/landing.html"

    def get(self, request):
        doc = core.collections(self.url(), self.provider)
        return self.respond(doc, collections=doc["collections"])


@extend_schema(exclude=True)
class CollectionView(OgcView):
    html_template = "ogc/collection.html"

    def get(self, request, collection):
        c = self.collection(collection, with_extent=True)
        return self.respond(core.collection(self.url(), c), collection=collection,
                            properties=self.provider.output_properties(collection), filters=c.filters)


@extend_schema(exclude=True)
class SchemaView(OgcView):
    """JSON Schema of a collection's features (GDAL's OAPIF driver reads the field types from it)."""

    def get(self, request, collection):
        return Response(core.schema(self.url(), self.collection(collection)), content_type=core.SCHEMA_JSON)


@extend_schema(exclude=True)
class QueryablesView(OgcView):
    """OGC API – Features Part 3 queryables of a collection."""

    def get(self, request, collection):
        return Response(core.queryables(self.url(), self.collection(collection)), content_type=core.SCHEMA_JSON)


@extend_schema(exclude=True)
class ItemsView(OgcView):
    def get(self, request, collection):
        c = self.collection(collection)
        query = request.query_params
        try:
            core.check_items_query(query, c)
        except core.OgcError as exc:
            raise exc.translated(_) from None
        if self.output_format(("json", "fgb")) == "fgb":  # an export: the whole filtered collection (SPEC §4: login)
            if not OGC_POLICY.export.allows(request.user, request, self):
                raise NotAuthenticated(_("Exports (f=fgb) need login or an API token."))
            data, n, last_id, limit = self.provider.flatgeobuf(collection, query, max_features=exports.MAX_FEATURES)
            return flatgeobuf_response(data, collection, next_url=self._next(last_id, limit) if n == limit else None)
        limit_text = core.page_limit(query.get("limit"))
        if limit_text != query.get("limit"):
            query = query.copy()
            query["limit"] = limit_text
        page, limit, offset, after = self.provider.page(collection, query, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT)
        head = core.items_head(
            self_url=request.build_absolute_uri(), collection_url=self.url(f"collections/{collection}"),
            # Exact when the request is filtered or the collection small; else PostgreSQL's estimate (no full scan per page).
            matched=page.matched, returned=page.returned, time_stamp=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            next_url=self._next(page.last_id, core.next_limit(limit)) if page.more else None,
            prev_url=self._page(max(0, offset - limit), limit) if offset > 0 and after is None else None,
        )
        return fast_gzip(request, HttpResponse(core.items_bytes(head, page.body), content_type=GEOJSON))

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


def fast_gzip(request, response: HttpResponse) -> HttpResponse:
    """Compress a large page at level 1 when the client accepts gzip (GDAL
    and QGIS do); GZipMiddleware leaves a response that has a Content-Encoding."""
    if len(response.content) >= FAST_GZIP_FROM and ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response.content = gzip.compress(response.content, compresslevel=1, mtime=0)
        response["Content-Encoding"] = "gzip"
        patch_vary_headers(response, ("Accept-Encoding",))
    return response


@extend_schema(exclude=True)
class ItemView(OgcView):
    def get(self, request, collection, fid):
        self.collection(collection)
        feature = self.provider.feature(collection, int(fid)) if len(fid) <= 19 and int(fid) <= MAX_ID else None  # issue 12
        if feature is None:
            raise NotFound(_("no feature %(fid)s in collection %(collection)s") % {"fid": fid, "collection": collection})
        feature["links"] = core.item_links(self.url(), collection, fid)
        return HttpResponse(json.dumps(feature), content_type=GEOJSON)
