import json

from django.core.management.base import BaseCommand, CommandError

from layers.importers.readers import FileError
from layers.importers.service import LAYERS, import_layer


class Command(BaseCommand):
    help = "Import a vector file (GeoPackage, Shapefile/.zip, GeoJSON, KML, CSV/XLSX with lon/lat, .osm.pbf) into a layer."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--layer", required=True, choices=sorted(LAYERS))
        parser.add_argument("--source", help="source name kept on every row (default: file name, or 'osm')")
        parser.add_argument("--id-field", help="column holding a stable id (default: the file's fid, else row position)")
        parser.add_argument("--mapping", help="JSON file overriding the column/value mapping (see layers/importers/mapping.py)")
        parser.add_argument("--level", choices=["provinsi", "kabupaten_kota", "kecamatan", "kelurahan"],
                            help="areas: administrative level when the file does not say")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")
        parser.add_argument("--no-needs", action="store_true",
                            help="do not recompute the needs layers after a PJU or road import (run compute_needs later)")

    def handle(self, *args, **opts):
        try:
            report = import_layer(
                opts["path"], opts["layer"], source=opts["source"], id_field=opts["id_field"],
                mapping_path=opts["mapping"], dry_run=opts["dry_run"], default_level=opts["level"],
                progress=opts["verbosity"] > 0,
            )
        except FileError as exc:
            raise CommandError(str(exc)) from exc
        changed = report["created"] + report["updated"] and not report["dry_run"]
        if changed and not opts["no_needs"]:
            # Imports write in bulk, without the per-edit signal: dependants (the needs layers) refresh in full.
            from layers.services import layer_imported

            log = self.stderr.write if opts["verbosity"] > 0 else None
            layer_imported.send(sender=opts["layer"], report=report, log=log)
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"{report['file']} → {report['layer']} (source {report['source']}): {report['features']} features: "
            f"{report['created']} created, {report['updated']} updated, {report['skipped']} skipped, "
            f"{report['rejected']} rejected" + (" [dry run: nothing written]" if report["dry_run"] else "")
        )
        for reason, n in report["reasons"].items():
            self.stdout.write(f"  {n:7d}  {reason}")
        if report.get("rejects_file"):
            self.stdout.write(f"  rejected rows with reasons: {report['rejects_file']}")
