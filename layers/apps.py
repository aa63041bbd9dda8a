from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "Lapisan aset (PJU, jalan, wilayah)"

    def ready(self):
        from django.db.models.signals import post_migrate

        from layers.permissions import ensure_groups

        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="layers_ensure_groups")

        from geo_platform import audit
        from layers.services import audit_record

        audit.connect(recorder=audit_record)  # history of templates, prices and work orders (issue 9)
