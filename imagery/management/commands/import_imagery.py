"""manage.py import_imagery PATH --kind {orthophoto,satellite,drone,dem,dsm} [--name NAME] [--json]

PATH is a raster file or a folder of them (*.tif, *.tiff). With --json the
report is one JSON object on stdout; progress goes to stderr."""
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imagery.errors import ImageryError
from imagery.models import KIND_CODES
from imagery.services import imagery_ingest

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".jp2", ".asc"}


def import_paths(paths, *, kind, name=None, captured_on=None, licence="", attribution="", progress=None, progress_out=None) -> dict:
    report = {"created": 0, "updated": 0, "skipped": 0, "rejected": 0, "reasons": {}, "id": None, "ids": []}
    reasons: Counter = Counter()
    for path in paths:
        try:
            result = imagery_ingest(
                source=path, kind=kind, name=name if len(paths) == 1 else None,
                captured_on=captured_on, licence=licence, attribution=attribution, progress_out=progress_out,
            )
        except ImageryError as exc:
            report["rejected"] += 1
            reasons[f"rejected: {path.name}: {exc.message}"] += 1
            if progress:
                progress(f"{path}: rejected: {exc.message}")
            continue
        report[result.status] += 1
        if result.status != "created":
            reasons[f"{result.status}: same file (sha256) as imagery {result.imagery.pk}"] += 1
        report["ids"].append(result.imagery.pk)
        report["id"] = result.imagery.pk
        if progress:
            progress(f"{path}: {result.status} imagery {result.imagery.pk} ({result.imagery.name})")
    report["reasons"] = dict(reasons)
    return report


class Command(BaseCommand):
    help = "Register a raster (orthophoto, satellite scene, drone mosaic, DEM/DSM) as a Cloud-Optimized GeoTIFF."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--kind", required=True, choices=KIND_CODES)
        parser.add_argument("--name")
        parser.add_argument("--captured-on", type=dt.date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--licence", default="")
        parser.add_argument("--attribution", default="")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")

    def handle(self, *args, **opts):
        root = Path(opts["path"])
        if root.is_dir():
            paths = sorted(p for p in root.iterdir() if p.suffix.lower() in RASTER_SUFFIXES and p.is_file())
        elif root.is_file():
            paths = [root]
        else:
            raise CommandError(f"{root}: no such file or folder")

        def progress(msg):
            if opts["json"]:
                print(msg, file=sys.stderr, flush=True)
            else:
                self.stdout.write(msg)

        report = import_paths(
            paths, kind=opts["kind"], name=opts["name"], captured_on=opts["captured_on"],
            licence=opts["licence"], attribution=opts["attribution"], progress=progress,
            progress_out=sys.stderr if opts["verbosity"] >= 1 else None,
        )
        if opts["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(
                f"created {report['created']}, updated {report['updated']}, skipped {report['skipped']}, rejected {report['rejected']}"
            )
        if report["rejected"]:
            raise CommandError(f"{report['rejected']} file(s) rejected", returncode=1)
