"""Road condition classification (SPEC §6, DOMAIN §4), defined once.

The bands below are the only definition of the SDI and IRI class edges. The
Python classifier, the SQL text (programme, tiles, summaries) and the Django
ORM expression (needs layers) are all generated from them, so SDI 100 is
`fair` and SDI 100.1 `light_damage` everywhere.

- SDI: good < 50, fair 50–100 (inclusive), light damage > 100 to 150, heavy > 150.
- IRI (m/km): good < 4, fair 4–8 (inclusive), light damage > 8 to 12, heavy > 12.
- The *effective condition* of a road is the worst of its recorded
  `condition`, its SDI class and its IRI class; `unknown` only when all three
  are missing. Kemantapan ("mantap") = effective good or fair.

SDI from a visual survey (Bina Marga form, DOMAIN §4): :func:`sdi_from_survey`.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Q, Value, When

from geo_platform import codes

# Worst last. `unknown` ranks below everything: any known value wins.
SEVERITY = ("unknown", "good", "fair", "light_damage", "heavy_damage")
MANTAP = ("good", "fair")
DAMAGED = ("light_damage", "heavy_damage")


@dataclass(frozen=True)
class Band:
    """A class holds values up to `upper` (`inclusive`: ≤, else <); the last class has no upper edge."""

    condition: str
    upper: float | None
    inclusive: bool = False


# The definition (SPEC §6). Source: Bina Marga SDI [C2], IRI ends [C3] (DOMAIN §4).
BANDS: dict[str, tuple[Band, ...]] = {
    "sdi": (Band("good", 50.0), Band("fair", 100.0, True), Band("light_damage", 150.0, True), Band("heavy_damage", None)),
    "iri": (Band("good", 4.0), Band("fair", 8.0, True), Band("light_damage", 12.0, True), Band("heavy_damage", None)),
}
MEASURES = tuple(BANDS)  # ("sdi", "iri"): the RoadSegment columns


def band(measure: str, value: float | None) -> str:
    """The class of one SDI or IRI value; `unknown` when None."""
    if value is None:
        return "unknown"
    for b in BANDS[measure]:
        if b.upper is None or value < b.upper or (b.inclusive and value == b.upper):
            return b.condition
    raise AssertionError("the last band is open")


def effective_condition(condition: str | None, sdi: float | None = None, iri: float | None = None) -> str:
    candidates = [condition if condition in SEVERITY else "unknown", band("sdi", sdi), band("iri", iri)]
    return max(candidates, key=SEVERITY.index)


def _at_least(measure: str, condition: str) -> tuple[str, float] | None:
    """(operator, edge) such that `value <op> edge` ⇔ the value's class is `condition` or worse;
    None for the best class (any value qualifies)."""
    bands = BANDS[measure]
    i = [b.condition for b in bands].index(condition)
    if i == 0:
        return None
    prev = bands[i - 1]
    return (">" if prev.inclusive else ">=", prev.upper)


def _ranked_known() -> list[str]:
    return list(SEVERITY[1:])[::-1]  # worst first


def effective_condition_sql(alias: str = "") -> str:
    """SQL text of the effective condition over columns condition, sdi, iri
    (of table alias `alias`). Constants only come from BANDS: no request text."""
    p = f"{alias}." if alias else ""
    whens = []
    for cond in _ranked_known():
        tests = [f"{p}condition = '{cond}'"]
        for m in MEASURES:
            edge = _at_least(m, cond)
            tests.append(f"{p}{m} IS NOT NULL" if edge is None else f"{p}{m} {edge[0]} {edge[1]!r}")
        whens.append(f"WHEN {' OR '.join(tests)} THEN '{cond}'")
    return f"(CASE {' '.join(whens)} ELSE 'unknown' END)"


def effective_condition_expression() -> Case:
    """The same classification as a Django ORM expression (RoadSegment querysets)."""
    lookups = {">": "gt", ">=": "gte"}
    whens = []
    for cond in _ranked_known():
        q = Q(condition=cond)
        for m in MEASURES:
            edge = _at_least(m, cond)
            q |= Q(**{f"{m}__isnull": False}) if edge is None else Q(**{f"{m}__{lookups[edge[0]]}": edge[1]})
        whens.append(When(q, then=Value(cond)))
    return Case(*whens, default=Value("unknown"), output_field=CharField())


def band_text(measure: str) -> dict[str, str]:
    """Human text of each class edge, e.g. {"fair": "50–100", "heavy_damage": "> 150"} (legend, README)."""
    out, lower = {}, None
    for b in BANDS[measure]:
        if lower is None:
            out[b.condition] = f"< {b.upper:g}" if not b.inclusive else f"≤ {b.upper:g}"
        elif b.upper is None:
            out[b.condition] = f"> {lower[0]:g}" if lower[1] else f"≥ {lower[0]:g}"
        else:
            lo = f"> {lower[0]:g}" if lower[1] else f"{lower[0]:g}"
            out[b.condition] = f"{lo} – {b.upper:g}" if not lower[1] else f"{lo} – ≤ {b.upper:g}"
        lower = (b.upper, b.inclusive)
    return out


def legend() -> list[dict]:
    """Rows of the map legend: code, label (Bahasa Indonesia), SDI and IRI ranges."""
    labels = dict(codes.ROAD_CONDITIONS)
    sdi, iri = band_text("sdi"), band_text("iri")
    return [{"code": c, "label": labels[c], "sdi": sdi.get(c, ""), "iri": iri.get(c, ""), "mantap": c in MANTAP}
            for c in (*_ranked_known()[::-1], "unknown")]


# ---------------------------------------------------------------- SDI from a visual survey (DOMAIN §4)
# Each table: (upper edge, inclusive?, value); the last row has no edge. Sources: DJBM survey form [C1], [C2].
SDI_CRACK_AREA = ((0.0, True, 0.0), (10.0, False, 5.0), (30.0, True, 20.0), (None, False, 40.0))  # % of the segment
CRACK_WIDTH_DOUBLES_MM = 3.0  # SDI₂ = 2·SDI₁ when the crack width is > 3 mm
SDI_POTHOLES = ((0.0, True, 0.0), (10.0, False, 15.0), (50.0, True, 75.0), (None, False, 225.0))  # per 100 m (the form's 0.1 km)
SDI_RUTTING = ((0.0, True, 0.0), (1.0, False, 2.5), (3.0, True, 10.0), (None, False, 20.0))  # depth in cm


def _lookup(table, value: float) -> float:
    for upper, inclusive, points in table:
        if upper is None or value < upper or (inclusive and value == upper):
            return points
    raise AssertionError("the last row is open")


def sdi_from_survey(*, crack_area_pct: float, crack_width_mm: float, potholes_per_100m: float, rut_depth_cm: float) -> dict:
    """SDI₁…SDI₄ of the Bina Marga form. No cracks, holes or ruts add nothing
    (a zero row); the potholes unit is per 100 m (the form counts per 0.1 km)."""
    sdi1 = _lookup(SDI_CRACK_AREA, crack_area_pct)
    sdi2 = 2 * sdi1 if crack_width_mm > CRACK_WIDTH_DOUBLES_MM else sdi1
    sdi3 = sdi2 + _lookup(SDI_POTHOLES, potholes_per_100m)
    sdi4 = sdi3 + _lookup(SDI_RUTTING, rut_depth_cm)
    return {"sdi1": sdi1, "sdi2": sdi2, "sdi3": sdi3, "sdi": sdi4, "condition": band("sdi", sdi4)}


# ---------------------------------------------------------------- whose roads (SPEC §6 authority rule)
OTHER_AUTHORITIES = ("national", "province")  # listed apart from the city's programme and kemantapan


def city_authorities() -> tuple[str, ...]:
    """Authorities (status jalan) counted as the city's network by the
    programme and kemantapan: setting ``CITY_ROAD_AUTHORITIES``, default
    city, village (kept by the city) and unknown (no status recorded yet —
    OSM imports carry none; record `authority` to move a road out)."""
    from django.conf import settings

    value = getattr(settings, "CITY_ROAD_AUTHORITIES", None) or ("city", "village", "unknown")
    return tuple(value)
