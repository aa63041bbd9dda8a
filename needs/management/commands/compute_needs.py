"""`manage.py compute_needs [--road ID ...] [--json]`: recompute the lighting
gaps and proposed PJU (SPEC §5) for all roads, or for the roads given."""
import json
import sys

from django.core.management.base import BaseCommand

from needs.services import lighting_needs_compute


class Command(BaseCommand):
    help = "Recompute lighting gaps and proposed PJU (SPEC §5), set-based in PostGIS"

    def add_arguments(self, parser):
        parser.add_argument("--road", type=int, action="append", dest="roads", help="only this road id (repeatable)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as one JSON object")

    def handle(self, *args, roads=None, as_json=False, **options):
        print("computing lighting needs …", file=sys.stderr)
        report = lighting_needs_compute(road_ids=roads)
        if as_json:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(
                f"{report['roads']} roads: {report['gaps']} under-lit stretches, "
                f"{report['underlit_m'] / 1000:.2f} km under-lit, {report['proposed']} proposed PJU "
                f"({report['seconds']:.1f} s)"
            )

