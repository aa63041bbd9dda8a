"""OGC API – Features documents, framework-free (pygeoapi style).

Pure functions from a provider's description of its collections and a base
URL to the JSON documents of OGC API – Features Part 1 (landing page,
conformance, collections, collection, items envelope, item links, OpenAPI)
and Part 3's queryables, plus the paging rule of the `next` links. No Django,
no DRF, no database here: `ogc/provider.py` describes the PostGIS layers
(`Provider` below is its contract) and `ogc/views.py` adapts HTTP to these
functions. Request checks that are OGC's own (unknown parameters, CRSs,
oversize `limit`) raise `OgcError`, which the views map to a SPEC §4 400."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
DEFAULT_LIMIT = 1000  # = geo_platform.geojson (the kernel's paging rule; this module imports no framework)
MAX_LIMIT = 10_000
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
FLATGEOBUF = "application/flatgeobuf"
HTML = "text/html"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
JSON_SCHEMA = "https://json-schema.org/draft/2019-09/schema"
# Query parameters every items request may carry (the collection adds its attribute filters).
# + `lang` (id|en): the language of the messages on every door of the platform (geo_platform.language)
BASE_PARAMS = frozenset({"bbox", "limit", "offset", "f", "datetime", "bbox-crs", "crs", "after", "properties", "lang"})


# The refusals' texts: English, and the stable key (gettext msgid) the views translate them by
# (`OgcError.translated`); `%(name)s` values come from the error's `params`.
UNKNOWN_PARAMETER = "unknown query parameter"
ONLY_CRS = "only %(crs)s is supported"


class OgcError(ValueError):
    """A request OGC API – Features refuses: `errors` maps parameter → messages
    (the message texts above, filled in from `params`)."""

    def __init__(self, errors: dict[str, list[str]], params: Mapping[str, object] | None = None):
        self.texts = errors
        self.params = dict(params or {})
        self.errors = {k: [text % self.params for text in v] for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))

    def translated(self, gettext) -> OgcError:
        """The same refusal with its texts through `gettext` (the caller's language)."""
        return OgcError({k: [gettext(text) for text in v] for k, v in self.texts.items()}, self.params)


@dataclass(frozen=True)
class Property:
    name: str
    json_type: Mapping  # JSON Schema of the value: {"type": "string", "enum": [...]}, ...
    title: str = ""


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    extent: tuple[float, float, float, float] | None  # lon/lat, None = unknown/empty
    geometry_type: str  # GeoJSON type name
    properties: tuple[Property, ...]
    filters: tuple[str, ...] = ()  # attribute query parameters (codes, comma-separated)
    extra_filters: tuple[Property, ...] = field(default_factory=tuple)  # filters that are not properties (e.g. area)


class Provider(Protocol):
    """What the core needs from a data source (ogc/provider.py: PostGIS)."""

    def collection_ids(self) -> tuple[str, ...]: ...

    def collection(self, collection_id: str, *, with_extent: bool = True) -> Collection:
        """`with_extent=False`: the extent may be left None (it can cost a scan)."""


# ------------------------------------------------------------------ links
def link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str, *, docs_url: str) -> dict:
    """The landing page (`base` ends with a slash: the /ogc/ URL)."""
    return {
        "title": "geo_platform OGC API – Features",
        "description": "PJU, roads and administrative areas as OGC API – Features (Core, GeoJSON)",
        "links": [
            link(base, "self", JSON, "this document"),
            link(base + "api", "service-desc", OPENAPI, "OpenAPI definition of this API"),
            link(docs_url, "service-doc", HTML, "API documentation"),
            link(base + "conformance", "conformance", JSON, "conformance classes"),
            link(base + "collections", "data", JSON, "collections"),
            link(base + "?f=html", "alternate", HTML, "how to open these layers in QGIS and GDAL"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": list(CONFORMANCE)}


def collection(base: str, c: Collection) -> dict:
    url = f"{base}collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description or c.title,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [list(c.extent or (-180.0, -90.0, 180.0, 90.0))], "crs": CRS84}},
        "links": [
            link(url, "self", JSON, "this collection"),
            link(f"{url}/items", "items", GEOJSON, "items"),
            link(f"{url}/items?f=fgb", "items", FLATGEOBUF, "all items as FlatGeobuf (with spatial index; login needed)"),
            link(f"{url}?f=html", "alternate", HTML, "how to open it in QGIS/GDAL"),
            link(f"{url}/queryables", REL_QUERYABLES, SCHEMA_JSON, "properties the items may be filtered by"),
            link(f"{url}/schema", "describedby", SCHEMA_JSON, "JSON schema of the features"),
            # GDAL's OAPIF driver (3.6) looks for this spelling.
            link(f"{url}/schema", "describedBy", SCHEMA_JSON, "JSON schema of the features"),
        ],
    }


def collections(base: str, provider: Provider) -> dict:
    return {
        "links": [link(base + "collections", "self", JSON, "collections")],
        "collections": [collection(base, provider.collection(cid)) for cid in provider.collection_ids()],
    }


def _properties_schema(props) -> dict:
    return {p.name: {**p.json_type, **({"title": p.title} if p.title else {})} for p in props}


def schema(base: str, c: Collection) -> dict:
    """JSON Schema of the collection's features: GDAL's OAPIF driver reads
    the field types from it (numbers stay numbers even when a page has nulls)."""
    return {
        "$schema": JSON_SCHEMA,
        "$id": f"{base}collections/{c.id}/schema",
        "title": c.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"$ref": f"https://geojson.org/schema/{c.geometry_type}.json"},
            "properties": {"type": "object", "properties": _properties_schema(c.properties)},
        },
    }


def queryables(base: str, c: Collection) -> dict:
    """OGC API – Features Part 3 queryables: the attribute filters the items
    accept (`?status=working,broken`), plus the geometry (by `bbox`)."""
    by_name = {p.name: p for p in (*c.properties, *c.extra_filters)}
    props = {"geometry": {"$ref": f"https://geojson.org/schema/{c.geometry_type}.json", "title": "geometry (filter with bbox)"}}
    props.update(_properties_schema(by_name[name] for name in c.filters if name in by_name))
    props.update(_properties_schema(c.extra_filters))
    return {
        "$schema": JSON_SCHEMA,
        "$id": f"{base}collections/{c.id}/queryables",
        "title": c.title,
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }


# ------------------------------------------------------------------ items
def check_items_query(query: Mapping[str, str], c: Collection) -> None:
    """OGC-level checks of an items request (the provider checks values)."""
    allowed = BASE_PARAMS | set(c.filters) | {p.name for p in c.extra_filters}
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise OgcError({k: [UNKNOWN_PARAMETER] for k in unknown})
    for name in ("bbox-crs", "crs"):
        if query.get(name) not in (None, "", CRS84):
            raise OgcError({name: [ONLY_CRS]}, {"crs": CRS84})


def page_limit(value: str | None) -> str | None:
    """`limit` as the provider should read it: a number above the maximum
    is served as the maximum page (OGC clients may ask for more); anything
    else is left for the provider to accept or refuse."""
    if value and value.isascii() and value.isdigit() and (len(value) > 18 or int(value) > MAX_LIMIT):
        return str(MAX_LIMIT)
    return value


def next_limit(limit: int) -> int:
    """Each next page is twice as large, up to the maximum: GDAL 3.6 starts at
    limit=10 (it does not read the OpenAPI limit), QGIS at the OpenAPI default;
    both follow next links as given, so a whole-collection harvest takes ~20
    requests instead of 13,000 or 133."""
    return min(2 * limit, MAX_LIMIT)


def items_head(*, self_url: str, collection_url: str, matched: int, returned: int, time_stamp: str,
               next_url: str | None = None, prev_url: str | None = None) -> dict:
    """The FeatureCollection's members before `features` (which the provider
    writes as text). `numberMatched` may be an estimate for a whole large
    collection (the provider says so in its docs)."""
    links = [link(self_url, "self", GEOJSON, "this page"), link(collection_url, "collection", JSON, "the collection")]
    if next_url:
        links.append(link(next_url, "next", GEOJSON, "next page"))
    if prev_url:
        links.append(link(prev_url, "prev", GEOJSON, "previous page"))
    return {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned, "timeStamp": time_stamp,
            "links": links}


def items_bytes(head: dict, features: bytes) -> bytes:
    """The FeatureCollection as bytes: the head's JSON with the provider's
    comma-joined Feature texts spliced in (never parsed and re-serialised)."""
    return json.dumps(head)[:-1].encode() + b',"features":[' + features + b"]}"


def item_links(base: str, collection_id: str, fid: int | str) -> list[dict]:
    return [
        link(f"{base}collections/{collection_id}/items/{fid}", "self", GEOJSON, "this feature"),
        link(f"{base}collections/{collection_id}", "collection", JSON, "the collection"),
    ]


# ------------------------------------------------------------------ OpenAPI
def _param(name: str, where: str, schema_: dict, description: str = "", required: bool = False, **extra) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema_,
            "description": description, **extra}


def openapi(base: str, provider: Provider) -> dict:
    """OpenAPI 3.0 of the API (service-desc): QGIS and newer GDAL read the
    page size (`limit` default and maximum) from components/parameters/limit."""
    ids = list(provider.collection_ids())
    feature_collection = {"description": "GeoJSON FeatureCollection with numberMatched, numberReturned and links",
                          "content": {GEOJSON: {"schema": {"type": "object"}}}}
    error = {"description": "error", "content": {JSON: {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}}}}}}
    limit_param = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                         f"page size (default {DEFAULT_LIMIT:,}, maximum {MAX_LIMIT:,}; larger values are served as the maximum)",
                         style="form", explode=False)
    common = [
        _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
               "minlon,minlat,maxlon,maxlat (CRS84)", style="form", explode=False),
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
    cid = _param("collectionId", "path", {"type": "string", "enum": ids})
    paths = {
        "/": {"get": {"operationId": "landing", "responses": {"200": {"description": "landing page"}}}},
        "/conformance": {"get": {"operationId": "conformance", "responses": {"200": {"description": "conformance classes"}}}},
        "/collections": {"get": {"operationId": "collections", "responses": {"200": {"description": "collections"}}}},
        "/collections/{collectionId}": {"get": {
            "operationId": "collection", "parameters": [cid], "responses": {"200": {"description": "collection"}, "404": error}}},
        "/collections/{collectionId}/queryables": {"get": {
            "operationId": "queryables", "parameters": [cid],
            "responses": {"200": {"description": "queryables (JSON Schema)"}, "404": error}}},
        "/collections/{collectionId}/items": {"get": {
            "operationId": "items", "parameters": [cid, *common],
            "responses": {"200": feature_collection, "400": error, "404": error}}},
        "/collections/{collectionId}/items/{featureId}": {"get": {
            "operationId": "item", "parameters": [cid, _param("featureId", "path", {"type": "integer"})],
            "responses": {"200": {"description": "GeoJSON Feature", "content": {GEOJSON: {"schema": {"type": "object"}}}},
                          "404": error}}},
    }
    for collection_id in ids:  # per collection, with its attribute filters
        c = provider.collection(collection_id, with_extent=False)
        filters = [_param(f, "query", {"type": "string"}, f"{f} code(s), comma-separated", style="form", explode=False)
                   for f in (*c.filters, *(p.name for p in c.extra_filters))]
        paths[f"/collections/{collection_id}/items"] = {"get": {
            "operationId": f"items_{collection_id}", "summary": c.title,
            "parameters": [*common, *filters], "responses": {"200": feature_collection, "400": error}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "geo_platform OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": base.rstrip("/")}],
        "paths": paths,
        "components": {"parameters": {"limit": limit_param}},
    }
