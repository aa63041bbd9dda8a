"""/api/<layer>/… for every layer of selectors.LAYERS (one set of views),
/tiles/<layer>/<z>/<x>/<y>.pbf and /tiles/<layer>.json for every tile layer."""
from django.urls import path, register_converter

from layers import apis, selectors, tiles


class LayerConverter:
    """Only the slugs of the API layers, so /api/imagery/ etc. stay free."""

    regex = "|".join(selectors.LAYERS)

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class TileLayerConverter(LayerConverter):
    regex = "[a-z][a-z0-9_]*"


register_converter(LayerConverter, "layer")
register_converter(TileLayerConverter, "tilelayer")

urlpatterns = [
    path("api/", apis.ApiRootView.as_view(), name="api-root"),
    path("api/<layer:layer>/", apis.LayerListView.as_view(), name="layer-list"),
    path("api/<layer:layer>/<int:pk>/", apis.LayerDetailView.as_view(), name="layer-detail"),
    path("api/<layer:layer>/<int:pk>/restore/", apis.LayerRestoreView.as_view(), name="layer-restore"),
    path("api/<layer:layer>/<int:pk>/photos/", apis.PhotoView.as_view(), name="layer-photos"),
    # issue 14: SDI survey of a road (SPEC §6)
    path("api/roads/<int:pk>/survey/", apis.RoadSurveyView.as_view(), {"layer": "roads"}, name="road-survey"),
    path("api/<layer:layer>/<int:pk>/history/", apis.LayerHistoryView.as_view(), name="layer-history"),
    path("tiles/<tilelayer:layer>/<int:z>/<int:x>/<int:y>.pbf", tiles.tile_view, name="tile"),
    path("tiles/<tilelayer:layer>.json", tiles.tilejson_view, name="tilejson"),
]
