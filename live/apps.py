from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Jaringan PJU langsung / live PJU network"
    default_auto_field = "django.db.models.BigAutoField"
