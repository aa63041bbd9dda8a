import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from estimates.errors import EstimateInputError
from estimates.services import price_list_import_csv


class Command(BaseCommand):
    help = "Import unit prices (HSPK/AHSP) from a CSV: code, description, unit, price[, source]. Upserts by (region, year, code)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--region", required=True)
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--name")
        parser.add_argument("--overhead", type=Decimal, help="biaya umum & keuntungan in %% (0–15)")
        parser.add_argument("--tax", type=Decimal, help="PPN in %%")
        parser.add_argument("--includes-overhead", action="store_true", help="prices already include overhead (overhead = 0)")
        parser.add_argument("--source", default="", help="source of rows without their own source column, or 'estimate'")
        parser.add_argument("--activate", action="store_true", help="make this the active price list")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        try:
            report = price_list_import_csv(
                source=o["path"], region=o["region"], year=o["year"], name=o["name"], overhead_pct=o["overhead"], tax_pct=o["tax"],
                prices_include_overhead=True if o["includes_overhead"] else None, activate=o["activate"], default_source=o["source"])
        except EstimateInputError as exc:
            raise CommandError(exc.message) from None
        except OSError as exc:
            raise CommandError(str(exc)) from None
        if o["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(f"price list {report['price_list']}: {report['created']} created, {report['updated']} updated")
