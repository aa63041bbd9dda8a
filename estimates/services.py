"""Writes: import a unit-price list from CSV (HSPK/AHSP style)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from estimates.errors import EstimateInputError
from estimates.models import PriceList, UnitPrice
from geo_platform import ranges

REQUIRED = ("code", "description", "unit", "price")


def _read_rows(source) -> list[dict]:
    if isinstance(source, (str, Path)):
        text = Path(source).read_bytes().decode("utf-8-sig")
    else:
        raw = source.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


def _price(value: str) -> Decimal:
    """Accept 1500000, 1500000.50, 1.500.000 or 1.500.000,50 (Indonesian grouping)."""
    v = (value or "").strip().replace("Rp", "").replace(" ", "")
    if "," in v and "." in v:
        v = v.replace(".", "").replace(",", ".") if v.rfind(",") > v.rfind(".") else v.replace(",", "")
    elif v.count(".") > 1:
        v = v.replace(".", "")
    elif "," in v:
        v = v.replace(",", ".") if len(v.split(",")[-1]) != 3 else v.replace(",", "")
    return Decimal(v)


@transaction.atomic
def price_list_import_csv(*, source, region: str, year: int, name: str | None = None, overhead_pct: Decimal | None = None,
                          tax_pct: Decimal | None = None, prices_include_overhead: bool | None = None,
                          activate: bool = False, default_source: str = "") -> dict:
    """Create or update the price list of (region, year) from a CSV with
    columns code, description, unit, price[, source]. Every row must carry a
    source (its own column or ``default_source``, e.g. 'SSH Kota Tangerang
    2025' or 'estimate'). Any bad row rejects the whole file: nothing is written."""
    rows = _read_rows(source)
    if not rows:
        raise EstimateInputError("the CSV has no rows", "file")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise EstimateInputError(f"the CSV lacks the column(s) {', '.join(missing)}; needed: {', '.join(REQUIRED)}[, source]", "file")
    errors, seen, clean = {}, set(), []
    for i, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        problems = []
        if not code:
            problems.append("empty code")
        elif code in seen:
            problems.append(f"duplicate code {code}")
        seen.add(code)
        try:
            price = _price(row.get("price", ""))
            if not price.is_finite() or ranges.check("unit_price", price):  # issue 12: the one range table
                problems.append(ranges.check("unit_price", price) or "price must be a finite number")
        except (InvalidOperation, ValueError):
            price = None
            problems.append(f"price {row.get('price')!r} is not a number")
        src = (row.get("source") or "").strip() or default_source
        if not src:
            problems.append("no source (add a source column or --source, e.g. 'estimate')")
        if not (row.get("unit") or "").strip():
            problems.append("empty unit")
        if problems:
            errors[f"line {i}"] = problems
        else:
            clean.append((code, row["description"].strip(), row["unit"].strip(), price, src))
    if errors:
        first = next(iter(errors.items()))
        raise EstimateInputError(f"{len(errors)} bad row(s), e.g. {first[0]}: {'; '.join(first[1])}", "file") from None
    defaults = {"name": name or f"Harga satuan {region} {year}", "source": default_source or "imported CSV"}
    if overhead_pct is not None:
        if not (0 <= overhead_pct <= 15):
            raise EstimateInputError("overhead must be between 0 and 15 %", "overhead_pct")
        defaults["overhead_pct"] = overhead_pct
    if tax_pct is not None:
        defaults["tax_pct"] = tax_pct
    if prices_include_overhead is not None:
        defaults["prices_include_overhead"] = prices_include_overhead
    price_list, created = PriceList.objects.update_or_create(region=region, year=year, defaults=defaults)
    n_created = n_updated = 0
    for code, description, unit, price, src in clean:
        _, was_created = UnitPrice.objects.update_or_create(
            price_list=price_list, code=code, defaults={"description": description, "unit": unit, "price": price, "source": src})
        n_created += was_created
        n_updated += not was_created
    if activate:
        PriceList.objects.exclude(pk=price_list.pk).update(is_active=False)
        PriceList.objects.filter(pk=price_list.pk).update(is_active=True)
    return {"price_list": price_list.pk, "created": n_created, "updated": n_updated, "price_list_created": created}
