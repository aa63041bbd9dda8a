from django.core.management import call_command
from django.core.management.base import BaseCommand

from layers import demo as layers_demo


class Command(BaseCommand):
    help = ("Load the demo data (areas, OSM roads and lamps, simulated PJU and road condition, imagery, "
            "pavement templates and prices), then compute the needs layers. Idempotent.")

    def handle(self, *args, **opts):
        layers_demo.load(self.stdout, progress=opts["verbosity"] > 0)
        from layers.services import demo_loading

        demo_loading.send(sender=None, stdout=self.stdout)  # imagery, then estimates (their apps' ready() order)
        self.stdout.write("")
        call_command("compute_needs", stdout=self.stdout, verbosity=opts["verbosity"])
        # Bulk loads leave dead row versions and stale statistics: counts and tiles
        # were ~5× slower until the tables were vacuumed and analysed.
        from django.db import connection

        from layers.models import Area, Panel, RoadSegment, StreetLight

        with connection.cursor() as cur:
            for model in (Area, RoadSegment, StreetLight, Panel):
                cur.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        self.stdout.write(self.style.SUCCESS("demo data loaded"))
