"""Price a bill of quantities with a price list: cost = Σ quantity × unit
price, plus overhead/profit (biaya umum & keuntungan, ≤ 15 %, 0 when the
prices already include it) and PPN on both. Quantities are rounded to 0.01
of their unit and money to the sen (half up) per line, so an exported
workbook's formulas (=ROUND(volume × price, 2)) give exactly the JSON
numbers. With ``general=True`` (RAB of works) the price list's Divisi 1 and
SMKK lines are added (a percentage of the physical works or a lump sum) and
the total is rounded as the price list says (default: down to Rp 1,000).

Other apps call :func:`price_items`, e.g. the lighting needs for PJU:

    >>> from estimates.pricing import price_items
    >>> bill = price_items([("PJU-POLE-9M", 12), ("PJU-LAMP-LED-90W", 12), ("PJU-ARM", 12), ("PJU-CABLE-M", 420)])
    >>> bill["total"], bill["items"][0]["amount"]
"""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Iterable

from num2words import num2words

from estimates.errors import EstimateInputError
from estimates.models import GeneralItem, PriceList, UnitPrice

SEN = Decimal("0.01")
QTY = Decimal("0.01")
HUNDRED = Decimal("100")


def money(value) -> Decimal:
    return Decimal(value).quantize(SEN, rounding=ROUND_HALF_UP)


def quantity(value) -> Decimal:
    return Decimal(repr(float(value))).quantize(QTY, rounding=ROUND_HALF_UP)


def price_list_get(*, price_list_id: int | None = None, region: str | None = None, year: int | None = None) -> PriceList:
    """The chosen price list: by id, by region (and year; newest year when
    none), else the active one (newest year)."""
    qs = PriceList.objects.all()
    if price_list_id is not None:
        obj = qs.filter(pk=price_list_id).first()
        if obj is None:
            raise EstimateInputError(f"no price list with id {price_list_id}", "price_list")
        return obj
    if region or year:
        if region:
            qs = qs.filter(region__iexact=region)
        if year:
            qs = qs.filter(year=year)
        obj = qs.order_by("-year").first()
        if obj is None:
            raise EstimateInputError(f"no price list for region={region!r} year={year!r}", "price_list")
        return obj
    obj = qs.filter(is_active=True).order_by("-year").first() or qs.order_by("-year").first()
    if obj is None:
        raise EstimateInputError("no price list is loaded (admin → daftar harga satuan)", "price_list")
    return obj


def terbilang(amount: Decimal) -> str:
    """Total in Indonesian words (num2words), e.g. 'satu juta ... rupiah'."""
    rupiah = int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return f"{num2words(rupiah, lang='id')} rupiah"


def price_list_preload(price_list: PriceList) -> dict:
    return {"prices": {p.code: p for p in UnitPrice.objects.filter(price_list=price_list)},
            "general": list(GeneralItem.objects.filter(price_list=price_list).order_by("position", "code"))}


def round_total(total: Decimal, price_list: PriceList) -> Decimal:
    step = price_list.round_to or Decimal("0")
    if price_list.rounding == "none" or step <= 0:
        return total
    mode = ROUND_DOWN if price_list.rounding == "down" else ROUND_HALF_UP
    return (total / step).quantize(Decimal("1"), rounding=mode) * step


def general_lines(physical: Decimal, price_list: PriceList, general_items: list | None = None) -> list[dict]:
    """Divisi 1 and SMKK lines: a percentage of the physical works or a lump sum (1 Ls)."""
    lines = []
    if general_items is None:
        general_items = list(GeneralItem.objects.filter(price_list=price_list).order_by("position", "code"))
    for g in general_items:
        amount = money(physical * g.value / HUNDRED) if g.basis == "percent" else money(g.value)
        lines.append({"code": g.code, "description": g.description, "unit": "Ls", "quantity": Decimal("1.00"),
                      "unit_price": amount, "amount": amount, "source": g.source, "general": True,
                      "basis": g.basis, "percent": g.value if g.basis == "percent" else None})
    return lines


def price_items(items: Iterable, *, price_list: PriceList | None = None, general: bool = False, preload: dict | None = None) -> dict:
    """Price a list of (code, quantity) — or dicts with code, quantity and an
    optional description — with the price list (default: the active one).
    Unknown codes are a 400 naming them. Returns items with unit prices and
    amounts, subtotal, overhead, tax, total (Decimal) and the list used."""
    price_list = price_list or price_list_get()
    rows = []
    for item in items:
        if isinstance(item, dict):
            rows.append((item["code"], item["quantity"], item.get("description"), item.get("unit")))
        else:
            code, qty = item
            rows.append((code, qty, None, None))
    if preload is not None:  # {"prices": {code: UnitPrice}, "general": [GeneralItem]} of this price list (many bills at once)
        prices = preload["prices"]
    else:
        prices = {p.code: p for p in UnitPrice.objects.filter(price_list=price_list, code__in=[r[0] for r in rows])}
    missing = sorted({r[0] for r in rows if r[0] not in prices})
    if missing:
        raise EstimateInputError(
            f"no unit price for {', '.join(missing)} in price list {price_list.region} {price_list.year}", "items"
        )
    lines = []
    for code, qty, description, unit in rows:
        p = prices[code]
        q = quantity(qty)
        if q < 0:
            raise EstimateInputError(f"quantity of {code} is negative", "items")
        amount = money(q * p.price)
        lines.append({"code": code, "description": description or p.description, "unit": p.unit, "quantity": q,
                      "unit_price": p.price, "amount": amount, "source": p.source})
    physical = sum((line["amount"] for line in lines), Decimal("0.00"))
    if general:
        lines = general_lines(physical, price_list, preload["general"] if preload is not None else None) + lines
    subtotal = sum((line["amount"] for line in lines), Decimal("0.00"))
    overhead_pct = price_list.effective_overhead_pct
    overhead = money(subtotal * overhead_pct / HUNDRED)
    tax = money((subtotal + overhead) * price_list.tax_pct / HUNDRED)
    unrounded = subtotal + overhead + tax
    total = round_total(unrounded, price_list) if general else unrounded
    return {
        "items": lines,
        "physical_subtotal": physical,
        "subtotal": subtotal,
        "overhead_pct": overhead_pct,
        "overhead": overhead,
        "tax_pct": price_list.tax_pct,
        "tax": tax,
        "total": total,
        "total_unrounded": unrounded,
        "rounding": {"to": price_list.round_to if general else None, "mode": price_list.rounding if general else "none",
                     "adjustment": total - unrounded},
        "total_words": terbilang(total),
        "currency": price_list.currency,
        "price_list": {"id": price_list.pk, "name": price_list.name, "region": price_list.region, "year": price_list.year,
                       "currency": price_list.currency,
                       "prices_include_overhead": price_list.prices_include_overhead, "source": price_list.source},
    }
