"""Costs of needs, priced by the estimates app (estimates.pricing.price_items
with the active price list: unit prices + overhead + PPN, Decimal), per
road class from the class table's standard lamp (SPEC §5, codes.LIGHTING_RULE):

* a new pole (`proposed`) = the class's pole, its LED luminaire, an arm, a
  foundation, the installation and S metres of cable (the run from the
  previous pole);
* a lamp upgrade (`upgrade`) = the class's LED luminaire + installation, on
  the existing pole;
* a repair (`repair`, by status): `off` = a lamp + installation; `damaged` =
  lamp, arm and installation (the lamp of the class of the PJU's road).
A PJU both broken and listed as an upgrade is priced once, as the upgrade
(the new lamp replaces the broken one). Without the estimates app or a price
list (or with an item missing from it) every cost stays null."""
from __future__ import annotations

from decimal import Decimal

from needs import rule as rules

ARM, FOUNDATION, INSTALL, CABLE = "PJU-ARM", "PJU-FOUNDATION", "PJU-INSTALL", "PJU-CABLE-M"


def pole_items(road_class: str) -> list[tuple[str, float]]:
    r = rules.lighting_rule()[road_class]
    lamp = r["lamp"]
    return [(lamp["pole_item"], 1), (lamp["lamp_item"], 1), (ARM, 1), (FOUNDATION, 1), (INSTALL, 1), (CABLE, r["S"])]


def upgrade_items(road_class: str) -> list[tuple[str, float]]:
    return [(rules.lighting_rule()[road_class]["lamp"]["lamp_item"], 1), (INSTALL, 1)]


def repair_items(road_class: str, status: str) -> list[tuple[str, float]]:
    items = upgrade_items(road_class)
    return items + [(ARM, 1)] if status == "damaged" else items


def unit_costs() -> dict | None:
    """{"proposed": {class: Decimal}, "upgrade": {class: Decimal},
    "repair": {status: {class: Decimal}}, "price_list": {...}} or None when
    nothing can be priced."""
    try:
        from estimates.pricing import price_items, price_list_get
        from rest_framework.exceptions import ValidationError
    except ImportError:
        return None
    classes = list(rules.lighting_rule())
    try:
        price_list = price_list_get()

        def total(items):
            return price_items(items, price_list=price_list)["total"]

        proposed = {cls: total(pole_items(cls)) for cls in classes}
        upgrade = {cls: total(upgrade_items(cls)) for cls in classes}
        repair = {s: {cls: total(repair_items(cls, s)) for cls in classes} for s in rules.BROKEN_STATUSES}
    except ValidationError:
        return None
    return {
        "proposed": proposed,
        "upgrade": upgrade,
        "repair": repair,
        "price_list": {"id": price_list.pk, "name": price_list.name, "year": price_list.year},
    }


def lamp_spec(road_class: str) -> dict:
    """The class's standard lamp as proposals and upgrades carry it."""
    lamp = rules.lighting_rule()[road_class]["lamp"]
    return {"type": lamp["type"], "wattage_w": lamp["watt"], "lumen": lamp["lumen"], "pole_height_m": lamp["pole_m"]}


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
