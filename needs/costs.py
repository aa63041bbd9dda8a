"""Costs of needs, priced by the estimates app (estimates.pricing.price_items
with the active price list: unit prices + overhead + PPN, Decimal).

* a proposed PJU = one pole (PJU-POLE-9M), one LED lamp (PJU-LAMP-LED-90W),
  one arm (PJU-ARM), one installation (PJU-INSTALL) and S metres of cable
  (PJU-CABLE-M, the class's maximum spacing: the run from the previous pole);
* a broken PJU: `off` = a lamp + installation; `damaged` = lamp, arm and
  installation.
Without the estimates app or a price list every cost stays null."""
from __future__ import annotations

from decimal import Decimal

from needs import rule as rules

POLE_ITEMS = [("PJU-POLE-9M", 1), ("PJU-LAMP-LED-90W", 1), ("PJU-ARM", 1), ("PJU-INSTALL", 1)]
CABLE = "PJU-CABLE-M"
REPAIR_ITEMS = {
    "off": [("PJU-LAMP-LED-90W", 1), ("PJU-INSTALL", 1)],
    "damaged": [("PJU-LAMP-LED-90W", 1), ("PJU-ARM", 1), ("PJU-INSTALL", 1)],
}


def pole_items(road_class: str) -> list[tuple[str, float]]:
    spacing = rules.lighting_rule()[road_class]["S"]
    return [*POLE_ITEMS, (CABLE, spacing)]


def unit_costs() -> dict | None:
    """{"proposed": {class: Decimal}, "repair": {status: Decimal}, "price_list": {...}}
    or None when nothing can be priced."""
    try:
        from estimates.pricing import price_items, price_list_get
        from rest_framework.exceptions import ValidationError
    except ImportError:
        return None
    try:
        price_list = price_list_get()
        proposed = {cls: price_items(pole_items(cls), price_list=price_list)["total"] for cls in rules.lighting_rule()}
        repair = {status: price_items(items, price_list=price_list)["total"] for status, items in REPAIR_ITEMS.items()}
    except ValidationError:
        return None
    return {
        "proposed": proposed,
        "repair": repair,
        "price_list": {"id": price_list.pk, "name": price_list.name, "year": price_list.year},
    }


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
