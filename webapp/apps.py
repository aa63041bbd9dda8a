from django.apps import AppConfig


class WebappConfig(AppConfig):
    """Pages: the planner map /map/ (folium) and the field app /field/ (PWA)."""

    name = "webapp"
    verbose_name = "Peta & aplikasi lapangan"
