"""The lighting rule (SPEC §5) and the priority score, configurable.

Defaults come from geo_platform.codes.LIGHTING_RULE; settings may override
per class, e.g. ``NEEDS_LIGHTING_RULE = {"local": {"H": 8, "k": 5}}``
(only the keys given change). ``NEEDS_PRIORITY`` overrides the score weights
below."""
from __future__ import annotations

from django.conf import settings

from geo_platform import codes

# SPEC §5 constants of the rule (not per class)
REACH_EXTRA_M = 10.0  # a PJU counts within W/2 + 10 m of the road
POLE_OFFSET_M = 0.7  # proposed poles stand W/2 + 0.7 m off the centreline
LIT_STATUSES = ["working", "unknown"]  # presumed working until reported off/damaged
EPS_M = 0.001  # 1 mm: floating-point noise allowed in gap comparisons

# Priority score (0–100), documented in docs/needs.md
PRIORITY = {
    # road class points
    "class_points": {"arterial": 40, "collector": 32, "local": 24, "neighbourhood": 16, "path": 8},
    # lighting gaps: 1 point per `length_divisor_m` under-lit metres, at most `length_points`
    "length_divisor_m": 10.0,
    "length_points": 30.0,
    # broken PJU: damaged / off; damaged roads: heavy / light damage
    "damage_points": {"damaged": 30, "off": 20, "heavy_damage": 30, "light_damage": 20},
    # a school, market or hospital within `facility_m` metres
    "facility_m": 300.0,
    "facility_points": 30.0,
}

TREATMENTS = {
    # broken PJU
    "off": ("repair_lamp", "Perbaikan lampu (ganti lampu/driver, cek sambungan)"),
    "damaged": ("replace_fixture", "Penggantian armatur/lampu dan pemeriksaan tiang/lengan"),
    # damaged roads (Permen PU 13/PRT/M/2011)
    "light_damage": ("periodic_rehabilitation", "Pemeliharaan berkala / rehabilitasi"),
    "heavy_damage": ("reconstruction", "Rekonstruksi / peningkatan"),
}


def lighting_rule() -> dict[str, dict[str, float]]:
    """Per class: H, k, W and S = k·H, with settings overrides applied."""
    overrides = getattr(settings, "NEEDS_LIGHTING_RULE", {}) or {}
    rule = {}
    for cls, values in codes.LIGHTING_RULE.items():
        merged = {**values, **overrides.get(cls, {})}
        merged["S"] = merged["k"] * merged["H"]
        rule[cls] = merged
    return rule


def priority_weights() -> dict:
    return {**PRIORITY, **(getattr(settings, "NEEDS_PRIORITY", {}) or {})}
