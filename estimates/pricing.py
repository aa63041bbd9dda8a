"""Price a bill of quantities with a price list: cost = Σ quantity × unit
price, plus overhead/profit (biaya umum & keuntungan, ≤ 15 %, 0 when the
prices already include it) and PPN on both. Money is Decimal, rounded to the
sen (2 decimals, half up) per line and per total, so an exported workbook
shows exactly the JSON numbers.

Other apps call :func:`price_items`, e.g. the lighting needs for PJU:

    >>> from estimates.pricing import price_items
    >>> bill = price_items([("PJU-POLE-9M", 12), ("PJU-LAMP-LED-90W", 12), ("PJU-ARM", 12), ("PJU-CABLE-M", 420)])
    >>> bill["total"], bill["items"][0]["amount"]
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

from num2words import num2words

from estimates.errors import EstimateInputError
from estimates.models import PriceList, UnitPrice

SEN = Decimal("0.01")
QTY = Decimal("0.001")
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


def price_items(items: Iterable, *, price_list: PriceList | None = None) -> dict:
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
    subtotal = sum((line["amount"] for line in lines), Decimal("0.00"))
    overhead_pct = price_list.effective_overhead_pct
    overhead = money(subtotal * overhead_pct / HUNDRED)
    tax = money((subtotal + overhead) * price_list.tax_pct / HUNDRED)
    total = subtotal + overhead + tax
    return {
        "items": lines,
        "subtotal": subtotal,
        "overhead_pct": overhead_pct,
        "overhead": overhead,
        "tax_pct": price_list.tax_pct,
        "tax": tax,
        "total": total,
        "total_words": terbilang(total),
        "currency": price_list.currency,
        "price_list": {"id": price_list.pk, "name": price_list.name, "region": price_list.region, "year": price_list.year,
                       "prices_include_overhead": price_list.prices_include_overhead, "source": price_list.source},
    }
