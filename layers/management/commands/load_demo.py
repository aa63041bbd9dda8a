from django.core.management.base import BaseCommand

from layers import demo as layers_demo


class Command(BaseCommand):
    help = "Load the demo data (areas, OSM roads and lamps, simulated PJU and road condition, imagery). Idempotent."

    def handle(self, *args, **opts):
        layers_demo.load(self.stdout, progress=opts["verbosity"] > 0)
        from imagery import demo as imagery_demo

        imagery_demo.load(self.stdout)
        self.stdout.write(self.style.SUCCESS("demo data loaded"))
