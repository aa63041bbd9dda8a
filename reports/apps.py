from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Laporan warga (Open311 GeoReport v2)"

    def ready(self):
        from reports import signals  # noqa: F401  (work orders closing close their reports)
