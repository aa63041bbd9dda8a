"""The lighting rule (SPEC §5 v2) and the priority score, configurable.

Defaults come from geo_platform.codes.LIGHTING_RULE (the class table: H, k,
W, lane width, Ē, standard lamp) and the lumen-method constants there;
settings may override per class, e.g.
``NEEDS_LIGHTING_RULE = {"local": {"H": 8, "k": 5, "E": 3}}`` (only the keys
given change; ``"lamp"`` is merged key by key too). ``NEEDS_PRIORITY``
overrides the score weights below."""
from __future__ import annotations

from django.conf import settings

from geo_platform import codes

# SPEC §5 constants of the rule (not per class)
REACH_EXTRA_M = 10.0  # a PJU lights a road within W/2 + 10 m of it
POLE_OFFSET_M = 0.7  # proposed poles stand W/2 + 0.7 m off the centreline
LIT_STATUSES = ["working", "unknown"]  # presumed working until reported off/damaged
BROKEN_STATUSES = ["off", "damaged"]
MIN_PIECE_M = 1.0  # under-lit pieces shorter than this are ignored
EPS_M = 0.01  # 1 cm: poles "exactly S apart" on the ground, either way
SLIVER_M = 0.02  # discs this close meet: no sliver of road between them (1 cm either way + float noise)
KINDS = ("missing", "weak", "dark")

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


def lighting_rule() -> dict[str, dict]:
    """Per class: H, k, W, lane, E, lamp and S = k·H, with settings overrides
    applied; the lamp also gets `mf` (maintenance factor of its type)."""
    overrides = getattr(settings, "NEEDS_LIGHTING_RULE", {}) or {}
    rule = {}
    for cls, values in codes.LIGHTING_RULE.items():
        extra = dict(overrides.get(cls, {}))
        lamp = {**values["lamp"], **extra.pop("lamp", {})}
        merged = {**values, **extra, "lamp": lamp}
        merged["S"] = merged["k"] * merged["H"]
        lamp["mf"] = maintenance_factor(lamp["type"])
        rule[cls] = merged
    return rule


def lumen_constants() -> dict:
    """Efficacy (lm/W by lamp type), UF and MF, with settings overrides
    (``NEEDS_LUMEN_METHOD = {"efficacy": {"led": 150}, "uf": 0.35}``)."""
    over = getattr(settings, "NEEDS_LUMEN_METHOD", {}) or {}
    return {
        "efficacy": {**codes.LAMP_EFFICACY_LM_W, **over.get("efficacy", {})},
        "uf": float(over.get("uf", codes.UTILISATION_FACTOR)),
        "mf": {**codes.MAINTENANCE_FACTOR, **over.get("mf", {})},
    }


def maintenance_factor(lamp_type: str) -> float:
    mf = lumen_constants()["mf"]
    return float(mf.get(lamp_type, mf["other"]))


def priority_weights() -> dict:
    return {**PRIORITY, **(getattr(settings, "NEEDS_PRIORITY", {}) or {})}
