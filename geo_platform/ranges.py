"""Allowed ranges of the numeric properties (issue 12), defined once: API
serializers, importers and price loaders read them from here. A value
outside its range — or NaN/±infinity — is refused with a 400 naming the
field (imports: the row is rejected with the reason), so no stored number can
overflow a later computation (a 1e300 width once made /api/programme/ fail
for everyone)."""
from __future__ import annotations

import math

# name → (minimum, maximum), inclusive; units in the name
RANGES: dict[str, tuple[float, float]] = {
    # roads (SPEC §3)
    "width_m": (0.0, 100.0),
    "lanes": (0, 20),
    "sdi": (0.0, 1000.0),  # Bina Marga surface distress index; > 150 is already heavy damage
    "iri": (0.0, 50.0),  # m/km; > 12 is already heavy damage
    # PJU
    "wattage_w": (0.0, 5000.0),
    "pole_height_m": (0.0, 60.0),
    # field positions
    "accuracy_m": (0.0, 100_000.0),
    # estimates: unit prices in IDR (price lists, import_prices)
    "unit_price": (0.0, 1e13),
}


def check(name: str, value) -> str | None:
    """None when ``value`` fits the range of ``name``, else the error message."""
    lo, hi = RANGES[name]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return f"{name} must be a number"
    if not math.isfinite(number):
        return f"{name} must be a finite number"
    if not lo <= number <= hi:
        return f"{name} must be between {lo:g} and {hi:g}"
    return None


def drf_validators(name: str) -> list:
    """DRF field validators for ``name`` (finite, within the range)."""
    from rest_framework import serializers

    def validator(value):
        if value is None:
            return
        message = check(name, value)
        if message:
            raise serializers.ValidationError(message)

    return [validator]
