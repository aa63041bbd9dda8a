from django.apps import AppConfig


class EstimatesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "estimates"
    verbose_name = "Estimasi material & RAB"

    def ready(self):
        from layers.services import demo_loading

        demo_loading.connect(_load_demo, dispatch_uid="estimates_demo")  # manage.py load_demo (layers never imports this app)


def _load_demo(sender, stdout=None, **kwargs):
    from estimates import demo

    demo.load(stdout)
