"""`manage.py import_facilities PATH [--source NAME] [--json]`: schools,
markets and hospitals (OSM .osm.pbf amenities, or a vector file with a
`kind`/`amenity` column) for the needs priority score. Run compute_needs
afterwards to refresh the scores."""
import json

from django.core.management.base import BaseCommand, CommandError

from needs.facilities import facility_import


class Command(BaseCommand):
    help = "Import schools/markets/hospitals for the needs priority score"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", help="source name (default: the file name)")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, path, source=None, as_json=False, **options):
        try:
            report = facility_import(path, source=source)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(f"{report['created']} created, {report['updated']} updated: {report['by_kind']}")
