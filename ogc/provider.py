"""The PostGIS provider behind ogc/core.py: the API layers pju, roads, areas
(layers.selectors.LAYERS) described as OGC collections, their pages and
features read through layers.selectors (PostGIS writes the GeoJSON text)."""
from __future__ import annotations

from django.db import models

from layers import selectors
from layers.filters import filter_layer, is_filtered, parse_after, parse_paging, parse_properties
from ogc.core import Collection, Property

COLLECTIONS = ("pju", "roads", "areas")
AREA_FILTER = Property("area", {"type": "string"}, "area code (kecamatan, kelurahan or larger): the features in it")


def json_type(model_field) -> dict:
    """JSON Schema of a model field's value."""
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


class PostgisProvider:
    """OGC collections over the layer specs. One per request (the extent is read once)."""

    def __init__(self):
        self._described: dict[tuple[str, bool], Collection] = {}

    def collection_ids(self) -> tuple[str, ...]:
        return COLLECTIONS

    def has(self, collection_id: str) -> bool:
        return collection_id in COLLECTIONS

    def spec(self, collection_id: str) -> selectors.LayerSpec:
        return selectors.LAYERS[collection_id]

    def collection(self, collection_id: str, *, with_extent: bool = True) -> Collection:
        """The collection's description; its extent (a scan of the whole
        table) only when asked: item pages and the OpenAPI document do not."""
        key = (collection_id, with_extent)
        if key not in self._described:
            spec = self.spec(collection_id)
            props = []
            for name in spec.properties:
                field = spec.model._meta.get_field(name.removesuffix("_id") if name in selectors.OUTPUT_NAMES else name)
                props.append(Property(selectors.OUTPUT_NAMES.get(name, name), json_type(field), str(field.verbose_name)))
            if spec.has_areas:
                props += [Property("kecamatan", {"type": "string"}, "kecamatan code"),
                          Property("kelurahan", {"type": "string"}, "kelurahan code")]
            self._described[key] = Collection(
                id=collection_id, title=spec.title, description=spec.description,
                extent=selectors.layer_extent(spec) if with_extent else None,
                geometry_type=spec.geometry_types[-1], properties=tuple(props), filters=spec.filters,
                extra_filters=(AREA_FILTER,),
            )
        return self._described[key]

    # -------------------------------------------------------------- reads
    def query(self, collection_id: str, query, *, default_limit: int, max_limit: int):
        """(filtered queryset, limit, offset, after, properties, filtered?) of
        an items request; a bad value raises a 400 (layers.filters)."""
        spec = self.spec(collection_id)
        qs = filter_layer(spec, selectors.layer_queryset(spec), query)
        limit, offset = parse_paging(query, default_limit=default_limit, max_limit=max_limit)
        return qs, limit, offset, parse_after(query), parse_properties(spec, query, "properties"), is_filtered(spec, query)

    def page(self, collection_id: str, query, *, default_limit: int, max_limit: int):
        """(selectors.Page, limit, offset, after) of one items page."""
        qs, limit, offset, after, properties, filtered = self.query(collection_id, query, default_limit=default_limit,
                                                                   max_limit=max_limit)
        page = selectors.feature_page(self.spec(collection_id), qs, limit=limit, offset=offset, after=after,
                                      filtered=filtered, properties=properties)
        return page, limit, offset, after

    def flatgeobuf(self, collection_id: str, query, *, max_features: int):
        """(FlatGeobuf bytes, features, last id, limit) of the filtered collection."""
        qs, limit, offset, after, properties, _ = self.query(collection_id, query, default_limit=max_features,
                                                            max_limit=max_features)
        data, n, last_id = selectors.flatgeobuf(self.spec(collection_id), qs, limit=limit, offset=offset, after=after,
                                                properties=properties)
        return data, n, last_id, limit

    def feature(self, collection_id: str, fid: int) -> dict | None:
        return selectors.feature_dict(self.spec(collection_id), fid)

    def output_properties(self, collection_id: str) -> tuple[str, ...]:
        return selectors.output_properties(self.spec(collection_id))
