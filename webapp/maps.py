"""The planner map, built with folium (Leaflet) and served by Django.

folium writes the page (map, basemap, Leaflet.draw and the locate control);
webapp/static/webapp/map.js adds what folium has no element for: vector
tile layers (Leaflet.VectorGrid) from the layers registry, the layer control,
legend, popups with photos, search, zoom to kecamatan, imagery and the
estimate panel. Every script and style sheet is a local static file
(geo_platform/static/vendor/, vendored from the npm registry), so the page
works with no internet; folium's CDN defaults are replaced."""
from __future__ import annotations

import re

import folium
from branca.element import Element, MacroElement
from folium import plugins
from jinja2 import Template
from django.templatetags.static import static
from django.utils.html import json_script

VENDOR = "vendor/"
LEAFLET_JS = [("leaflet", VENDOR + "leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", VENDOR + "leaflet/leaflet.css")]
PLUGIN_JS = [
    VENDOR + "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "webapp/vectorgrid-compat.js",
    VENDOR + "leaflet.markercluster/leaflet.markercluster.js",
    "webapp/map.js",  # bootstrap: keeps folium's GP.initMap call for the module js/map/main.js
    "live/live.js",  # issue 16: the live stream as `geo:live` events (the map recolours PJU from them)
    "reports/map-reports.js",  # issue 17: citizen reports overlays and the dispatcher's list (wraps GP.initMap)
]
PLUGIN_CSS = [
    VENDOR + "leaflet.markercluster/MarkerCluster.css",
    VENDOR + "leaflet.markercluster/MarkerCluster.Default.css",
    "webapp/map.css",
]
MODULE_JS = [
    "webapp/js/map/main.js",  # issue 15: the map itself, in ES modules (js/map/*.js)
    "webapp/js/map-needs.js",  # issue 19: the "where first?" panel
]
DRAW_JS = [("leaflet_draw_js", VENDOR + "leaflet-draw/leaflet.draw.js")]
DRAW_CSS = [("leaflet_draw_css", VENDOR + "leaflet-draw/leaflet.draw.css")]
LOCATE_JS = [("Control_locate_min_js", VENDOR + "leaflet.locatecontrol/L.Control.Locate.min.js")]
LOCATE_CSS = [("Control_locate_min_css", VENDOR + "leaflet.locatecontrol/L.Control.Locate.min.css")]
DEFAULT_BOUNDS = [94.9, -11.1, 141.1, 6.1]  # Indonesia, when there is no data yet


def _local(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, static(path)) for name, path in pairs]


class PlannerApp(MacroElement):
    """Hands the folium map to map.js (the configuration is the page's json_script #page-config)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            window.gpMap = {{ this._parent.get_name() }};
            GP.initMap({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict):
        super().__init__()
        self._name = "PlannerApp"
        self.config = config


class DrawTexts(MacroElement):
    """Leaflet.draw's texts in the page language; added before the Draw control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            GP.localiseDraw({{ this.strings|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, strings: dict):
        super().__init__()
        self._name = "DrawTexts"
        self.strings = strings


def planner_map_html(*, config: dict, basemap_url: str, title: str, lang: str) -> str:
    """The whole /map/ page as HTML text."""
    config = {**config, "bounds": config.get("bounds") or DEFAULT_BOUNDS}
    # The view is set by map.js (the data's bounds, or #zoom/lat/lon from the address) without animation:
    # a folium fit_bounds would animate, and its end would undo any view set meanwhile.
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_control=True, prefer_canvas=True)
    m.default_js, m.default_css = _local(LEAFLET_JS), _local(LEAFLET_CSS)
    if basemap_url:
        folium.TileLayer(
            tiles=basemap_url, name=str(config["strings"]["basemap_osm"]), overlay=False, control=False,
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>', max_zoom=19,
        ).add_to(m)
    DrawTexts(config["strings"]).add_to(m)
    draw = plugins.Draw(
        export=False, position="topleft",
        draw_options={"polyline": {"shapeOptions": {"color": "#6a3d9a", "weight": 5}},
                      "polygon": {"allowIntersection": False, "shapeOptions": {"color": "#6a3d9a"}},
                      "rectangle": False, "circle": False, "marker": False, "circlemarker": False},
        edit_options={"edit": False, "remove": True},
    )
    draw.default_js, draw.default_css = _local(DRAW_JS), _local(DRAW_CSS)
    draw.add_to(m)
    locate = plugins.LocateControl(position="topleft", strings={"title": config["strings"]["locate"]})
    locate.default_js, locate.default_css = _local(LOCATE_JS), _local(LOCATE_CSS)
    locate.add_to(m)
    root = m.get_root()
    # Leaflet first (same names as folium's defaults, so folium's own links replace these in place).
    for name, url in m.default_css + m.default_js:
        link = folium.CssLink(url) if name.endswith("_css") else folium.JavascriptLink(url)
        root.header.add_child(link, name=name)
    root.header.add_child(Element(
        f'<title>{title}</title><meta charset="utf-8">'
        f'<link rel="icon" href="{static("webapp/icons/icon-192.png")}">'
    ), name="gp_title")
    for i, path in enumerate(PLUGIN_CSS):
        root.header.add_child(folium.CssLink(static(path)), name=f"gp_css_{i}")
    for i, path in enumerate(PLUGIN_JS):
        root.header.add_child(folium.JavascriptLink(static(path)), name=f"gp_js_{i}")
    # ES modules that hook into map.js once it is ready (GP.whenReady): the needs panel and choropleth.
    for i, path in enumerate(MODULE_JS):
        root.header.add_child(Element(f'<script type="module" src="{static(path)}"></script>'), name=f"gp_module_{i}")
    # issue 15: every URL, code list and label the scripts use, as JSON data (not script) in the page
    root.header.add_child(Element(str(json_script(config, "page-config"))), name="gp_config")
    PlannerApp(config).add_to(m)
    html = root.render()
    # Let people zoom the page (WCAG 1.4.4): folium's viewport forbids it; the map's own pinch zoom is unaffected.
    html = re.sub(r",\s*maximum-scale=1\.0,\s*user-scalable=no", "", html, count=1)
    return html.replace("<html>", f'<html lang="{lang}">', 1)
