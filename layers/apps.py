from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "Lapisan aset (PJU, jalan, wilayah)"
