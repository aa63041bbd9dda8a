from django.apps import AppConfig


class EstimatesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "estimates"
    verbose_name = "Estimasi material & RAB"
