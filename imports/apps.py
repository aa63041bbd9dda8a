from django.apps import AppConfig


class ImportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "imports"
    verbose_name = "Impor / Imports"

    def ready(self):
        from imports.jobs import queue_needs
        from needs import signals

        signals.register_queue(queue_needs)  # needs refreshes after bulk edits run as background jobs (issue 18)
