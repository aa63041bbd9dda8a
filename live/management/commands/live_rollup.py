"""manage.py live_rollup — rebuild the hourly rollups now (live/rollups.py).

Without options: the hours marked by ingest batches (what the worker's rollup
thread does every LIVE_ROLLUP_SECONDS). With --from/--to: every hour in the
range, from the raw partitions still kept (after a restore or a bulk load)."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime


class Command(BaseCommand):
    help = "Rebuild the hourly telemetry rollups from the raw rows (marked hours, or --from/--to)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="ISO 8601 start (with --to)")
        parser.add_argument("--to", dest="end", help="ISO 8601 end, exclusive")

    def handle(self, *args, start=None, end=None, **opts):
        from live import rollups

        if bool(start) != bool(end):
            raise CommandError("give both --from and --to, or neither")
        if start:
            a, b = parse_datetime(start), parse_datetime(end)
            if a is None or b is None or a.tzinfo is None or b.tzinfo is None or b <= a:
                raise CommandError("--from and --to must be ISO 8601 with a time zone, --to after --from")
            done = rollups.rebuild(a, b)
        else:
            done = rollups.run(limit=1_000_000)  # one pass over every marked hour
        self.stdout.write(f"rebuilt {done['hours']} hours")
