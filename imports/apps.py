from django.apps import AppConfig


class ImportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "imports"
    verbose_name = "Impor / Imports"

    def ready(self):
        from imports.jobs import queue_needs
        from needs import signals

        def job_json(request, job):
            from imports.apis import background_json

            return background_json(request, job)

        # needs refreshes after bulk edits and POST /api/needs/compute/ run as background jobs (issue 18)
        signals.register_queue(queue_needs, job_json)
