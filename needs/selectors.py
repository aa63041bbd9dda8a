"""Reads of the needs layers. PostGIS writes the GeoJSON text (as in
layers.selectors); filters are django-filter sets reusing the layers' bbox
and area filters, so `bbox`, `area`, codes, `limit` and `offset` behave the
same on every layer.

Stored: lighting gaps and proposed PJU (needs.services). Live: broken PJU
and damaged roads are queries on the layers, current with every edit."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Case, QuerySet

from geo_platform import codes
from geo_platform import condition as road_condition
from layers.models import Area, RoadSegment, StreetLight
from geo_platform.geojson import FeatureSpec, Page, feature_page_sql
from geo_platform.geojson import feature_page as kernel_feature_page
from needs import rule as rules
from needs.costs import as_float, lamp_spec, unit_costs
from needs.models import Facility, LampMatch, LightingGap, NeedsRun, ProposedPJU

AREA = Area._meta.db_table
ROADS = RoadSegment._meta.db_table
FACILITIES = Facility._meta.db_table
MATCHES = LampMatch._meta.db_table
BROKEN_STATUSES = tuple(rules.BROKEN_STATUSES)
REPAIR_DEFAULT_CLASS = "collector"  # a broken PJU lighting no road is priced with this class's lamp
DAMAGE_CODES = road_condition.DAMAGED
AUTHORITY_CODES = tuple(code for code, _ in codes.ROAD_AUTHORITIES)


@dataclass(frozen=True)
class NeedLayer:
    slug: str
    fields: tuple[str, ...]  # model columns (attnames) read by the inner query
    properties: tuple[tuple[str, str], ...]  # (output name, SQL over `t` and the joins)
    joins: str = ""
    order: str = "t.id"


def _class_rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{cls}' THEN {i}" for i, cls in enumerate(rules.lighting_rule(), 1))
    return f"(CASE {column} {whens} END)"


def _lamp_sql(column: str) -> str:
    """The class's standard lamp as JSON (SPEC §5 table), from the class table."""
    import json

    whens = " ".join(f"WHEN '{cls}' THEN '{json.dumps(lamp_spec(cls))}'::json" for cls in rules.lighting_rule())
    return f"(CASE {column} {whens} END)"


def cost_sql(kind: str, class_column: str, status_column: str | None = None, costs: dict | None = None) -> str:
    """A CASE over the road class (and status for repairs) giving the unit
    cost (IDR, numeric literals from the active price list) or NULL."""
    if not costs:
        return "NULL::numeric"
    if kind == "repair":
        whens = " ".join(f"WHEN {status_column} = '{st}' AND {class_column} = '{cls}' THEN {float(v):.2f}"
                         for st, by_cls in costs["repair"].items() for cls, v in by_cls.items())
        return f"(CASE {whens} END)::numeric"
    whens = " ".join(f"WHEN '{cls}' THEN {float(v):.2f}" for cls, v in costs[kind].items())
    return f"(CASE {class_column} {whens} END)::numeric"


def _class_points_sql(column: str) -> str:
    weights = rules.priority_weights()["class_points"]
    whens = " ".join(f"WHEN '{cls}' THEN {float(p)}" for cls, p in weights.items())
    return f"(CASE {column} {whens} ELSE 0 END)"


def _facility_points_sql(geom: str) -> str:
    w = rules.priority_weights()
    return (
        f"(CASE WHEN EXISTS (SELECT 1 FROM {FACILITIES} fa WHERE ST_DWithin(fa.geom::geography, {geom}::geography, "
        f"{float(w['facility_m'])})) THEN {float(w['facility_points'])} ELSE 0 END)"
    )


def _damage_points_sql(column: str) -> str:
    weights = rules.priority_weights()["damage_points"]
    whens = " ".join(f"WHEN '{code}' THEN {float(p)}" for code, p in weights.items())
    return f"(CASE {column} {whens} ELSE 0 END)"


def _treatment_sql(column: str, index: int) -> str:
    whens = " ".join(f"WHEN '{code}' THEN '{t[index]}'" for code, t in rules.TREATMENTS.items())
    return f"(CASE {column} {whens} END)"


_AREAS_JOIN = f" LEFT JOIN {AREA} k ON k.id = t.kecamatan_id LEFT JOIN {AREA} kl ON kl.id = t.kelurahan_id"
_AREA_PROPS = (("kecamatan", "k.code"), ("kelurahan", "kl.code"))
_RULE_PROPS = (
    ("rule", "json_build_object('H', t.pole_height_m, 'k', t.spacing_factor, 'S', t.spacing_m, 'W', t.width_m, "
             "'reach_m', t.reach_m, 'offset_m', t.offset_m)"),
)
_STORED_FIELDS = (
    "road_id", "road_class", "kecamatan_id", "kelurahan_id", "pole_height_m", "spacing_factor", "spacing_m",
    "width_m", "reach_m", "offset_m", "road_length_m", "priority", "computed_at",
)

LIGHTING_GAPS = NeedLayer(
    slug="lighting-gaps",
    fields=(*_STORED_FIELDS, "kind", "start_m", "end_m", "length_m", "gap_m", "proposed_count"),
    properties=(
        ("road", "t.road_id"), ("road_name", "r.name"), ("road_class", "t.road_class"), ("kind", "t.kind"),
        ("length_m", "t.length_m"), ("start_m", "t.start_m"), ("end_m", "t.end_m"), ("gap_m", "t.gap_m"),
        ("stretch_m", "t.gap_m"), ("proposed_pju", "t.proposed_count"), ("road_length_m", "t.road_length_m"), *_RULE_PROPS,
        ("priority", "t.priority"), *_AREA_PROPS, ("computed_at", "t.computed_at"),
    ),
    joins=f" LEFT JOIN {ROADS} r ON r.id = t.road_id" + _AREAS_JOIN,
)
PROPOSED_PJU = NeedLayer(
    slug="proposed-pju",
    fields=(*_STORED_FIELDS, "gap_id", "chainage_m", "side", "estimated_cost", "lamp"),
    properties=(
        ("road", "t.road_id"), ("road_name", "r.name"), ("road_class", "t.road_class"),
        ("chainage_m", "t.chainage_m"), ("side", "t.side"), ("gap", "t.gap_id"), ("road_length_m", "t.road_length_m"),
        *_RULE_PROPS, ("priority", "t.priority"), ("lamp", "t.lamp"), ("cost", "t.estimated_cost"),
        ("estimated_cost", "t.estimated_cost"), *_AREA_PROPS,
        ("computed_at", "t.computed_at"),
    ),
    joins=f" LEFT JOIN {ROADS} r ON r.id = t.road_id" + _AREAS_JOIN,
)
BROKEN_PJU = NeedLayer(
    slug="broken-pju",
    fields=("code", "status", "lamp_type", "wattage_w", "pole_height_m", "kecamatan_id", "kelurahan_id", "version", "geom"),
    properties=(
        ("code", "t.code"), ("status", "t.status"), ("lamp_type", "t.lamp_type"), ("wattage_w", "t.wattage_w"),
        ("pole_height_m", "t.pole_height_m"), ("treatment", _treatment_sql("t.status", 0)),
        ("treatment_label", _treatment_sql("t.status", 1)),
        ("road", "nr.id"), ("road_class", "nr.road_class"), ("road_distance_m", "round(nr.d::numeric, 2)"),
        # SPEC §5: the dark metres its repair restores (stored by the last run)
        ("dark_m", "round(coalesce(lm.dark_m, 0)::numeric, 2)"),
        ("upgrade", "coalesce(lm.upgrade, false)"),  # also listed as a lamp upgrade: priced there, once
        ("repair_cost", "CASE WHEN coalesce(lm.upgrade, false) THEN NULL ELSE {repair_cost} END"),
        ("priority", f"{_class_points_sql('nr.road_class')} + {_damage_points_sql('t.status')} + {_facility_points_sql('t.geom')}"),
        *_AREA_PROPS, ("version", "t.version"),
    ),
    # its road: the nearest on the spheroid among the 5 nearest by the GiST index
    joins=f""" LEFT JOIN LATERAL (
        SELECT c.id, c.road_class, ST_Distance(c.geom::geography, t.geom::geography) AS d
        FROM (SELECT r.id, r.road_class, r.geom FROM {ROADS} r WHERE r.deleted_at IS NULL
              ORDER BY r.geom <-> t.geom LIMIT 5) c
        ORDER BY 3 LIMIT 1) nr ON true
        LEFT JOIN LATERAL (
        SELECT sum(m.dark_m) AS dark_m, bool_or(m.upgrade) AS upgrade,
               (array_agg(mr.road_class ORDER BY {_class_rank_sql('mr.road_class')}))[1] AS road_class
        FROM {MATCHES} m JOIN {ROADS} mr ON mr.id = m.road_id WHERE m.pju_id = t.id) lm ON true""" + _AREAS_JOIN,
)
LAMP_UPGRADES = NeedLayer(
    slug="lamp-upgrades",
    fields=("code", "status", "lamp_type", "wattage_w", "pole_height_m", "kecamatan_id", "kelurahan_id", "version", "geom"),
    properties=(
        ("code", "t.code"), ("status", "t.status"), ("lamp_type", "t.lamp_type"), ("wattage_w", "t.wattage_w"),
        ("pole_height_m", "t.pole_height_m"), ("road", "u.road_id"), ("road_class", "u.road_class"),
        ("radius_m", "round(u.radius_m::numeric, 2)"), ("standard_radius_m", "round(u.standard_radius_m::numeric, 2)"),
        # the weak metres its standard disc reaches (SPEC §5.3)
        ("weak_m", "round(u.weak_m::numeric, 2)"),
        ("lamp", _lamp_sql("u.road_class")), ("cost", "{upgrade_cost}"),
        ("priority", f"{_class_points_sql('u.road_class')} + least(u.weak_m / 10.0, 30) + {_facility_points_sql('t.geom')}"),
        *_AREA_PROPS, ("version", "t.version"),
    ),
    # the road it is upgraded for: the highest class among those it has weak metres on
    joins=f""" JOIN LATERAL (
        SELECT (array_agg(m.road_id ORDER BY {_class_rank_sql('r.road_class')}, m.weak_m DESC))[1] AS road_id,
               (array_agg(r.road_class ORDER BY {_class_rank_sql('r.road_class')}, m.weak_m DESC))[1] AS road_class,
               sum(m.weak_m) AS weak_m, min(m.radius_m) AS radius_m, max(m.standard_radius_m) AS standard_radius_m
        FROM {MATCHES} m JOIN {ROADS} r ON r.id = m.road_id
        WHERE m.pju_id = t.id AND m.upgrade) u ON u.road_id IS NOT NULL""" + _AREAS_JOIN,
)
DAMAGED_ROADS = NeedLayer(
    slug="damaged-roads",
    fields=("name", "road_class", "condition", "sdi", "iri", "surveyed_on", "length_m", "width_m", "kecamatan_id",
            "kelurahan_id", "version", "geom", "need"),
    properties=(
        ("name", "t.name"), ("road_class", "t.road_class"), ("condition", "t.condition"),
        ("need_condition", "t.need"), ("effective_condition", "t.need"), ("sdi", "t.sdi"), ("iri", "t.iri"), ("surveyed_on", "t.surveyed_on"),
        ("length_m", "t.length_m"), ("width_m", "t.width_m"),
        ("treatment", _treatment_sql("t.need", 0)), ("treatment_label", _treatment_sql("t.need", 1)),
        ("priority", f"{_class_points_sql('t.road_class')} + {_damage_points_sql('t.need')} + {_facility_points_sql('t.geom')}"),
        *_AREA_PROPS, ("version", "t.version"),
    ),
    joins=_AREAS_JOIN,
)
NEED_LAYERS = {layer.slug: layer for layer in (LIGHTING_GAPS, PROPOSED_PJU, LAMP_UPGRADES, BROKEN_PJU, DAMAGED_ROADS)}


def lighting_gap_list() -> QuerySet[LightingGap]:
    return LightingGap.objects.all()


def proposed_pju_list() -> QuerySet[ProposedPJU]:
    return ProposedPJU.objects.all()


def lamp_upgrade_list() -> QuerySet[StreetLight]:
    """PJU listed as upgrades to their class's standard lamp (SPEC §5.3)."""
    upgraded = LampMatch.objects.filter(upgrade=True).values("pju_id")
    return StreetLight.objects.filter(deleted_at__isnull=True, id__in=upgraded)


def broken_pju_list() -> QuerySet[StreetLight]:
    return StreetLight.objects.filter(deleted_at__isnull=True, status__in=BROKEN_STATUSES)


def need_condition_expression() -> Case:
    """The effective condition of a road (geo_platform.condition, SPEC §6):
    the worst of its code, its SDI class and its IRI class."""
    return road_condition.effective_condition_expression()


def damaged_road_list() -> QuerySet[RoadSegment]:
    """Roads whose effective condition is light or heavy damage."""
    return (
        RoadSegment.objects.filter(deleted_at__isnull=True)
        .annotate(need=need_condition_expression())
        .filter(need__in=road_condition.DAMAGED)
    )


def feature_spec(layer: NeedLayer) -> FeatureSpec:
    """The layer's Features for the kernel's builder, unit costs filled in
    from the active price list (NULL without one)."""
    costs = unit_costs() if any("_cost}" in expr for _, expr in layer.properties) else None
    tokens = {"{upgrade_cost}": cost_sql("upgrade", "u.road_class", costs=costs),
              "{repair_cost}": cost_sql("repair", f"coalesce(lm.road_class, '{REPAIR_DEFAULT_CLASS}')", "t.status", costs=costs)}
    return FeatureSpec(columns=layer.fields, properties=tuple((name, _fill(expr, tokens)) for name, expr in layer.properties),
                       joins=layer.joins)


def _order(order: str) -> tuple[tuple[str, ...], str]:
    """(queryset ordering, the same order in SQL over `t`): "id" or "-priority"."""
    return (("-priority", "id"), "t.priority DESC, t.id") if order == "-priority" else (("id",), "t.id")


def geojson_page(layer: NeedLayer, qs: QuerySet, *, limit: int, offset: int = 0, order: str = "id") -> tuple[bytes, int]:
    """(comma-joined Feature texts as UTF-8 bytes, number returned) for one
    page of `qs`, built by PostGIS in one query (geo_platform.geojson).
    `order` is "id" or "-priority"."""
    order_by, sql_order = _order(order)
    body, n, _ = feature_page_sql(feature_spec(layer), qs.order_by(*order_by)[offset : offset + limit], order=sql_order)
    return body, n


def _fill(expr: str, tokens: dict[str, str]) -> str:
    for token, value in tokens.items():
        expr = expr.replace(token, value)
    return expr


def need_feature_page(layer: NeedLayer, qs: QuerySet, *, limit: int, offset: int = 0, order: str = "id") -> Page:
    """One page of the need layer with the number matched."""
    order_by, sql_order = _order(order)
    return kernel_feature_page(feature_spec(layer), qs, limit=limit, offset=offset, order_by=order_by, order=sql_order)


def area_summary(*, level: str) -> dict:
    """Per area of `level` (kecamatan/kelurahan), computed by PostGIS: PJU
    count, working %, under-lit km by kind (SPEC §5: missing, weak, dark), new
    poles, lamp upgrades and repairs — each with its cost, no PJU counted twice
    (a broken PJU listed as an upgrade is priced as the upgrade) — road km by
    effective condition (geo_platform.condition), kemantapan % (SPEC §6:
    effective good + fair ÷ assessed length of the city's network, unknown
    reported apart; also per authority), damaged km, estimated cost. Assets without an area of
    that level are summed in `unassigned`; `totals` sums every row."""
    col = f"{level}_id"
    ec = road_condition.effective_condition_sql()
    city = ", ".join(f"'{a}'" for a in road_condition.city_authorities() if a in AUTHORITY_CODES) or "NULL"
    damaged = ", ".join(f"'{c}'" for c in road_condition.DAMAGED)
    mantap = ", ".join(f"'{c}'" for c in road_condition.MANTAP)
    per_authority = "".join(
        f", sum(length_m) FILTER (WHERE authority = '{a}' AND ec IN ({mantap})) AS {a}_mantap_m"
        f", sum(length_m) FILTER (WHERE authority = '{a}' AND ec <> 'unknown') AS {a}_assessed_m" for a in AUTHORITY_CODES)
    per_authority_cols = ", ".join(f"coalesce(roads.{a}_mantap_m, 0), coalesce(roads.{a}_assessed_m, 0)" for a in AUTHORITY_CODES)
    costs = unit_costs()
    rank = _class_rank_sql("r.road_class")
    sql = f"""
    WITH lamp_road AS (
        SELECT m.pju_id, bool_or(m.upgrade) AS upgrade,
               (array_agg(r.road_class ORDER BY {rank}) FILTER (WHERE m.upgrade))[1] AS upgrade_class,
               (array_agg(r.road_class ORDER BY {rank}))[1] AS road_class
        FROM {MATCHES} m JOIN {ROADS} r ON r.id = m.road_id
        WHERE m.upgrade OR m.pju_id IN (SELECT id FROM {StreetLight._meta.db_table} WHERE status IN ('off', 'damaged'))
        GROUP BY m.pju_id
    ), pju AS (
        SELECT p.{col} AS area_id, count(*) AS pju_count,
               count(*) FILTER (WHERE p.status = 'working') AS pju_working,
               count(*) FILTER (WHERE p.status IN ('off', 'damaged')) AS broken,
               count(*) FILTER (WHERE lr.upgrade) AS upgrades,
               sum({cost_sql("upgrade", "lr.upgrade_class", costs=costs)}) FILTER (WHERE lr.upgrade) AS upgrade_cost,
               count(*) FILTER (WHERE p.status IN ('off', 'damaged') AND NOT coalesce(lr.upgrade, false)) AS repairs,
               sum({cost_sql("repair", f"coalesce(lr.road_class, '{REPAIR_DEFAULT_CLASS}')", "p.status", costs=costs)})
                   FILTER (WHERE p.status IN ('off', 'damaged') AND NOT coalesce(lr.upgrade, false)) AS repair_cost
        FROM {StreetLight._meta.db_table} p LEFT JOIN lamp_road lr ON lr.pju_id = p.id
        WHERE p.deleted_at IS NULL GROUP BY 1
    ), gaps AS (
        SELECT {col} AS area_id, count(*) AS gaps,
               coalesce(sum(length_m) FILTER (WHERE kind = 'missing'), 0) AS missing_m,
               coalesce(sum(length_m) FILTER (WHERE kind = 'weak'), 0) AS weak_m,
               coalesce(sum(length_m) FILTER (WHERE kind = 'dark'), 0) AS dark_m
        FROM {LightingGap._meta.db_table} GROUP BY 1
    ), proposed AS (
        SELECT {col} AS area_id, count(*) AS proposed_pju, sum(estimated_cost) AS proposed_cost,
               count(estimated_cost) AS priced
        FROM {ProposedPJU._meta.db_table} GROUP BY 1
    ), roads AS (
        SELECT {col} AS area_id, sum(length_m) AS road_m,
               sum(length_m) FILTER (WHERE ec = 'good') AS good_m,
               sum(length_m) FILTER (WHERE ec = 'fair') AS fair_m,
               sum(length_m) FILTER (WHERE ec = 'light_damage') AS light_damage_m,
               sum(length_m) FILTER (WHERE ec = 'heavy_damage') AS heavy_damage_m,
               sum(length_m) FILTER (WHERE ec = 'unknown') AS unknown_m,
               sum(length_m) FILTER (WHERE ec IN ({damaged})) AS damaged_m,
               count(*) FILTER (WHERE ec IN ({damaged})) AS damaged_roads,
               sum(length_m) FILTER (WHERE authority IN ({city}) AND ec IN ({mantap})) AS net_mantap_m,
               sum(length_m) FILTER (WHERE authority IN ({city}) AND ec <> 'unknown') AS net_assessed_m,
               sum(length_m) FILTER (WHERE authority IN ({city}) AND ec = 'unknown') AS net_unassessed_m
               {per_authority}
        FROM (SELECT {col}, length_m, authority, {ec} AS ec FROM {ROADS} WHERE deleted_at IS NULL) r GROUP BY 1
    ), ids AS (
        SELECT area_id FROM pju UNION SELECT area_id FROM gaps UNION SELECT area_id FROM proposed
        UNION SELECT area_id FROM roads UNION SELECT id FROM {AREA} WHERE level = %s
    )
    SELECT ids.area_id, a.code, a.name,
           coalesce(pju.pju_count, 0), coalesce(pju.pju_working, 0), coalesce(pju.broken, 0),
           coalesce(pju.upgrades, 0), pju.upgrade_cost, coalesce(pju.repairs, 0), pju.repair_cost,
           coalesce(gaps.gaps, 0), coalesce(gaps.missing_m, 0), coalesce(gaps.weak_m, 0), coalesce(gaps.dark_m, 0),
           coalesce(proposed.proposed_pju, 0), proposed.proposed_cost, coalesce(proposed.priced, 0),
           coalesce(roads.road_m, 0), coalesce(roads.good_m, 0), coalesce(roads.fair_m, 0),
           coalesce(roads.light_damage_m, 0), coalesce(roads.heavy_damage_m, 0), coalesce(roads.unknown_m, 0),
           coalesce(roads.damaged_m, 0), coalesce(roads.damaged_roads, 0),
           coalesce(roads.net_mantap_m, 0), coalesce(roads.net_assessed_m, 0), coalesce(roads.net_unassessed_m, 0),
           {per_authority_cols}
    FROM ids
    LEFT JOIN {AREA} a ON a.id = ids.area_id
    LEFT JOIN pju ON pju.area_id IS NOT DISTINCT FROM ids.area_id
    LEFT JOIN gaps ON gaps.area_id IS NOT DISTINCT FROM ids.area_id
    LEFT JOIN proposed ON proposed.area_id IS NOT DISTINCT FROM ids.area_id
    LEFT JOIN roads ON roads.area_id IS NOT DISTINCT FROM ids.area_id
    ORDER BY a.code NULLS LAST
    """
    with connection.cursor() as cur:
        cur.execute(sql, [level])
        rows = cur.fetchall()
    areas, unassigned = [], None
    for row in rows:
        item = _summary_row(row, priced=costs is not None)
        if row[0] is None:
            unassigned = item
        else:
            areas.append(item)
    all_rows = areas + ([unassigned] if unassigned else [])
    totals = _summary_totals(all_rows, priced=costs is not None)
    return {"level": level, "areas": areas, "unassigned": unassigned, "totals": totals}


def _km(m) -> float:
    return round(float(m) / 1000.0, 6)


def _summary_row(row, *, priced: bool) -> dict:
    (_, code, name, pju_count, working, broken, upgrades, upgrade_cost, repairs, repair_cost, gaps, missing_m, weak_m,
     dark_m, proposed, cost, n_priced, road_m, good_m, fair_m, light_m, heavy_m, unknown_m, damaged_m, damaged_roads,
     net_mantap_m, net_assessed_m, net_unassessed_m, *per_authority) = row
    return _summary_fields(
        code=code, name=name, pju_count=pju_count, pju_working=working, broken_pju=broken, gaps=gaps,
        by_kind={"missing": float(missing_m), "weak": float(weak_m), "dark": float(dark_m)},
        proposed=proposed, cost=cost, n_priced=n_priced, upgrades=upgrades,
        upgrade_cost=(upgrade_cost or Decimal(0)) if priced else None, repairs=repairs,
        repair_cost=(repair_cost or Decimal(0)) if priced else None, road_m=float(road_m),
        by_condition={"good": float(good_m), "fair": float(fair_m), "light_damage": float(light_m),
                      "heavy_damage": float(heavy_m), "unknown": float(unknown_m)},
        damaged_m=float(damaged_m), damaged_roads=damaged_roads,
        kemantapan={"network": (float(net_mantap_m), float(net_assessed_m), float(net_unassessed_m)),
                    **{a: (float(per_authority[2 * i]), float(per_authority[2 * i + 1]), 0.0)
                       for i, a in enumerate(AUTHORITY_CODES)}},
    )


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _summary_fields(*, code, name, pju_count, pju_working, broken_pju, gaps, by_kind, proposed, cost, n_priced,
                    upgrades, upgrade_cost, repairs, repair_cost, road_m, by_condition, damaged_m, damaged_roads,
                    kemantapan) -> dict:
    proposed_cost = (cost or Decimal(0)) if n_priced == proposed else None
    parts = (proposed_cost, upgrade_cost, repair_cost)
    total_cost = sum(parts, Decimal(0)) if all(p is not None for p in parts) else None
    underlit_m = sum(by_kind.values())
    return {
        "code": code,
        "name": name,
        "pju_count": pju_count,
        "pju_working": pju_working,
        "working_pct": round(100.0 * pju_working / pju_count, 2) if pju_count else None,
        "broken_pju": broken_pju,
        "lighting_gaps": gaps,
        # SPEC §5: under-lit now = missing + weak + dark
        "underlit_km": _km(underlit_m),
        "underlit_km_by_kind": {k: _km(v) for k, v in by_kind.items()},
        "proposed_pju": proposed,  # new poles (missing)
        "lamp_upgrades": upgrades,  # weak
        "repairs": repairs,  # dark: off/damaged PJU not already upgrades
        "road_km": _km(road_m),
        "road_km_by_condition": {k: _km(v) for k, v in by_condition.items()},
        # SPEC §6: effective condition good or fair ÷ length assessed, the city's network (unknown apart)
        "kemantapan_pct": _pct(kemantapan["network"][0], kemantapan["network"][1]),
        "kemantapan_assessed_km": _km(kemantapan["network"][1]),
        "kemantapan_unassessed_km": _km(kemantapan["network"][2]),
        "kemantapan_by_authority": {a: {"pct": _pct(m, n), "assessed_km": _km(n)}
                                    for a, (m, n, _) in kemantapan.items() if a != "network" and n},
        "damaged_roads": damaged_roads,
        "damaged_km": _km(damaged_m),
        # IDR, priced by the estimates app (needs/costs.py); null without a price list
        "estimated_cost": as_float(total_cost),
        "cost_breakdown": {"proposed_pju": as_float(proposed_cost), "lamp_upgrades": as_float(upgrade_cost),
                           "repairs": as_float(repair_cost)},
        "_raw": {"by_kind": by_kind, "road_m": road_m, "by_condition": by_condition, "damaged_m": damaged_m,
                 "kemantapan": kemantapan, "cost": cost, "n_priced": n_priced, "upgrade_cost": upgrade_cost,
                 "repair_cost": repair_cost},
    }


def _summary_totals(rows: list[dict], *, priced: bool) -> dict:
    raw = [r["_raw"] for r in rows]
    by_condition = {k: sum(r["by_condition"][k] for r in raw) for k in ("good", "fair", "light_damage", "heavy_damage", "unknown")}
    costs = [r["cost"] for r in raw if r["cost"] is not None]
    out = _summary_fields(
        code=None, name="Total", pju_count=sum(r["pju_count"] for r in rows),
        pju_working=sum(r["pju_working"] for r in rows), broken_pju=sum(r["broken_pju"] for r in rows),
        gaps=sum(r["lighting_gaps"] for r in rows),
        by_kind={k: sum(r["by_kind"][k] for r in raw) for k in rules.KINDS},
        proposed=sum(r["proposed_pju"] for r in rows), cost=sum(costs) if costs else None,
        n_priced=sum(r["n_priced"] for r in raw), upgrades=sum(r["lamp_upgrades"] for r in rows),
        upgrade_cost=sum((r["upgrade_cost"] for r in raw), Decimal(0)) if priced else None,
        repairs=sum(r["repairs"] for r in rows),
        repair_cost=sum((r["repair_cost"] for r in raw), Decimal(0)) if priced else None,
        road_m=sum(r["road_m"] for r in raw), by_condition=by_condition,
        damaged_m=sum(r["damaged_m"] for r in raw), damaged_roads=sum(r["damaged_roads"] for r in rows),
        kemantapan={k: tuple(sum(r["kemantapan"][k][i] for r in raw) for i in range(3))
                    for k in raw[0]["kemantapan"]} if raw else {"network": (0.0, 0.0, 0.0)},
    )
    return out


def strip_raw(summary: dict) -> dict:
    for row in [*summary["areas"], summary["unassigned"], summary["totals"]]:
        if row:
            row.pop("_raw", None)
    return summary


def last_run_at(*, full: bool = True) -> str | None:
    """When the stored lighting needs were last computed in full (or, with
    full=False, refreshed for some roads after an edit)."""
    run = NeedsRun.objects.filter(full=full).order_by("-finished_at").first()
    return run.finished_at.isoformat() if run else None
