from django.apps import AppConfig


class ImageryConfig(AppConfig):
    name = "imagery"
    verbose_name = "Citra (ortofoto, satelit, DEM)"

    def ready(self):
        from geo_platform import gdal_safety

        gdal_safety.configure_rasterio()  # issue 12: rasterio's GDAL never reaches the network

        from geo_platform import hardening
        from imagery.conf import max_upload_bytes

        hardening.register_multipart_limit(max_upload_bytes)  # multipart bodies up to the imagery upload limit

        from layers.services import demo_loading

        demo_loading.connect(_load_demo, dispatch_uid="imagery_demo")  # manage.py load_demo (layers never imports this app)


def _load_demo(sender, stdout=None, **kwargs):
    from imagery import demo

    demo.load(stdout)
