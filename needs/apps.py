from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "needs"
    verbose_name = "Kebutuhan lapangan (celah penerangan, usulan PJU, perintah kerja)"

    def ready(self):
        from needs import signals, tiles  # noqa: F401  (tile layers registered; refresh on layer edits)
