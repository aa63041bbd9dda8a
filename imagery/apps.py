from django.apps import AppConfig


class ImageryConfig(AppConfig):
    name = "imagery"
    verbose_name = "Citra (ortofoto, satelit, DEM)"

    def ready(self):
        from geo_platform import gdal_safety

        gdal_safety.configure_rasterio()  # issue 12: rasterio's GDAL never reaches the network
