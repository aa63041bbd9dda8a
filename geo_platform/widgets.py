"""Django's GIS admin widget loads OpenLayers from a CDN; serve the same
version (ol 7.2.2, from the npm registry, BSD-2) from our static files."""
from django.contrib.gis.admin import GISModelAdmin
from django.contrib.gis.forms.widgets import OSMWidget


class LocalOSMWidget(OSMWidget):
    class Media:
        extend = False  # replace, not add to, the CDN media of OSMWidget
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")


class LocalGISModelAdmin(GISModelAdmin):
    gis_widget = LocalOSMWidget
    gis_widget_kwargs = {"attrs": {"default_zoom": 12, "default_lon": 106.63, "default_lat": -6.18}}
