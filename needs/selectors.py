"""Reads of the needs layers. PostGIS writes the GeoJSON text (as in
layers.selectors); filters are django-filter sets reusing the layers' bbox
and area filters, so `bbox`, `area`, codes, `limit` and `offset` behave the
same on every layer.

Stored: lighting gaps and proposed PJU (needs.services). Live: broken PJU
and damaged roads are queries on the layers, current with every edit."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection
from django.db.models import Case, CharField, Q, QuerySet, Value, When

from geo_platform import codes
from geo_platform import condition as road_condition
from layers.models import Area, RoadSegment, StreetLight
from layers.selectors import GEOJSON_DECIMALS
from needs import rule as rules
from needs.costs import as_float, unit_costs
from needs.models import Facility, LightingGap, NeedsRun, ProposedPJU, WorkOrder

AREA = Area._meta.db_table
ROADS = RoadSegment._meta.db_table
FACILITIES = Facility._meta.db_table
BROKEN_STATUSES = ("off", "damaged")
DAMAGE_CODES = road_condition.DAMAGED
AUTHORITY_CODES = tuple(code for code, _ in codes.ROAD_AUTHORITIES)


@dataclass(frozen=True)
class NeedLayer:
    slug: str
    fields: tuple[str, ...]  # model columns (attnames) read by the inner query
    properties: tuple[tuple[str, str], ...]  # (output name, SQL over `t` and the joins)
    joins: str = ""
    order: str = "t.id"


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
        ("proposed_pju", "t.proposed_count"), ("road_length_m", "t.road_length_m"), *_RULE_PROPS,
        ("priority", "t.priority"), *_AREA_PROPS, ("computed_at", "t.computed_at"),
    ),
    joins=f" LEFT JOIN {ROADS} r ON r.id = t.road_id" + _AREAS_JOIN,
)
PROPOSED_PJU = NeedLayer(
    slug="proposed-pju",
    fields=(*_STORED_FIELDS, "gap_id", "chainage_m", "side", "estimated_cost"),
    properties=(
        ("road", "t.road_id"), ("road_name", "r.name"), ("road_class", "t.road_class"),
        ("chainage_m", "t.chainage_m"), ("side", "t.side"), ("gap", "t.gap_id"), ("road_length_m", "t.road_length_m"),
        *_RULE_PROPS, ("priority", "t.priority"), ("estimated_cost", "t.estimated_cost"), *_AREA_PROPS,
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
        ("priority", f"{_class_points_sql('nr.road_class')} + {_damage_points_sql('t.status')} + {_facility_points_sql('t.geom')}"),
        *_AREA_PROPS, ("version", "t.version"),
    ),
    # its road: the nearest on the spheroid among the 5 nearest by the GiST index
    joins=f""" LEFT JOIN LATERAL (
        SELECT c.id, c.road_class, ST_Distance(c.geom::geography, t.geom::geography) AS d
        FROM (SELECT r.id, r.road_class, r.geom FROM {ROADS} r WHERE r.deleted_at IS NULL
              ORDER BY r.geom <-> t.geom LIMIT 5) c
        ORDER BY 3 LIMIT 1) nr ON true""" + _AREAS_JOIN,
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
NEED_LAYERS = {layer.slug: layer for layer in (LIGHTING_GAPS, PROPOSED_PJU, BROKEN_PJU, DAMAGED_ROADS)}


def lighting_gap_list() -> QuerySet[LightingGap]:
    return LightingGap.objects.all()


def proposed_pju_list() -> QuerySet[ProposedPJU]:
    return ProposedPJU.objects.all()


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


def geojson_page(layer: NeedLayer, qs: QuerySet, *, limit: int, offset: int = 0, order: str = "id") -> tuple[bytes, int]:
    """(comma-joined Feature texts as UTF-8 bytes, number returned) for one
    page of `qs`, built by PostGIS in one query (bytes pass straight to the
    response, as in layers.selectors). `order` is "id" or "-priority"."""
    order_by = ("-priority", "id") if order == "-priority" else ("id",)
    page = qs.order_by(*order_by)[offset : offset + limit]
    inner = page.values("id", *layer.fields, _gj=AsGeoJSON("geom", precision=GEOJSON_DECIMALS))
    sql, params = inner.query.sql_with_params()
    pairs = ", ".join(f"'{name}', {expr}" for name, expr in layer.properties)
    feature = (
        "json_build_object('type', 'Feature', 'id', t.id, 'geometry', t._gj::json, "
        f"'properties', json_build_object({pairs}))"
    )
    agg_order = "t.priority DESC, t.id" if order == "-priority" else "t.id"
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*), convert_to(coalesce(string_agg(({feature})::text, ',' ORDER BY {agg_order}), ''), 'UTF8') "
            f"FROM ({sql}) t{layer.joins}",
            params,
        )
        n, body = cur.fetchone()
    return bytes(body), n


def need_feature_collection(layer: NeedLayer, qs: QuerySet, *, limit: int, offset: int = 0, order: str = "id") -> tuple[bytes, int, int]:
    """(features as UTF-8 bytes, number returned, number matched)."""
    body, n = geojson_page(layer, qs, limit=limit, offset=offset, order=order)
    matched = offset + n if (n < limit and (n > 0 or offset == 0)) else qs.count()
    return body, n, matched


def area_summary(*, level: str) -> dict:
    """Per area of `level` (kecamatan/kelurahan), computed by PostGIS: PJU
    count, working %, under-lit km, proposed PJU, broken PJU, road km by
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
    sql = f"""
    WITH pju AS (
        SELECT {col} AS area_id, count(*) AS pju_count,
               count(*) FILTER (WHERE status = 'working') AS pju_working,
               count(*) FILTER (WHERE status = 'off') AS broken_off,
               count(*) FILTER (WHERE status = 'damaged') AS broken_damaged
        FROM {StreetLight._meta.db_table} WHERE deleted_at IS NULL GROUP BY 1
    ), gaps AS (
        SELECT {col} AS area_id, count(*) AS gaps, sum(length_m) AS underlit_m
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
           coalesce(pju.pju_count, 0), coalesce(pju.pju_working, 0), coalesce(pju.broken_off, 0),
           coalesce(pju.broken_damaged, 0),
           coalesce(gaps.gaps, 0), coalesce(gaps.underlit_m, 0), coalesce(proposed.proposed_pju, 0),
           proposed.proposed_cost, coalesce(proposed.priced, 0),
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
    costs = unit_costs()
    areas, unassigned = [], None
    for row in rows:
        item = _summary_row(row, costs)
        if row[0] is None:
            unassigned = item
        else:
            areas.append(item)
    all_rows = areas + ([unassigned] if unassigned else [])
    totals = _summary_totals(all_rows)
    return {"level": level, "areas": areas, "unassigned": unassigned, "totals": totals}


def _km(m) -> float:
    return round(float(m) / 1000.0, 6)


def _summary_row(row, costs: dict | None) -> dict:
    (_, code, name, pju_count, working, broken_off, broken_damaged, gaps, underlit_m, proposed, cost, priced,
     road_m, good_m, fair_m, light_m, heavy_m, unknown_m, damaged_m, damaged_roads,
     net_mantap_m, net_assessed_m, net_unassessed_m, *per_authority) = row
    repair = None
    if costs:
        repair = broken_off * costs["repair"]["off"] + broken_damaged * costs["repair"]["damaged"]
    return _summary_fields(
        code=code, name=name, pju_count=pju_count, pju_working=working, broken_pju=broken_off + broken_damaged,
        gaps=gaps, underlit_m=float(underlit_m), proposed=proposed, cost=cost, priced=priced, repair=repair,
        road_m=float(road_m),
        by_condition={"good": float(good_m), "fair": float(fair_m), "light_damage": float(light_m),
                      "heavy_damage": float(heavy_m), "unknown": float(unknown_m)},
        damaged_m=float(damaged_m), damaged_roads=damaged_roads,
        kemantapan={"network": (float(net_mantap_m), float(net_assessed_m), float(net_unassessed_m)),
                    **{a: (float(per_authority[2 * i]), float(per_authority[2 * i + 1]), 0.0)
                       for i, a in enumerate(AUTHORITY_CODES)}},
    )


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _summary_fields(*, code, name, pju_count, pju_working, broken_pju, gaps, underlit_m, proposed, cost, priced,
                    repair, road_m, by_condition, damaged_m, damaged_roads, kemantapan) -> dict:
    proposed_cost = (cost or Decimal(0)) if priced == proposed else None
    total_cost = proposed_cost + repair if proposed_cost is not None and repair is not None else None
    return {
        "code": code,
        "name": name,
        "pju_count": pju_count,
        "pju_working": pju_working,
        "working_pct": round(100.0 * pju_working / pju_count, 2) if pju_count else None,
        "broken_pju": broken_pju,
        "lighting_gaps": gaps,
        "underlit_km": _km(underlit_m),
        "proposed_pju": proposed,
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
        "cost_breakdown": {"proposed_pju": as_float(proposed_cost), "broken_pju": as_float(repair)},
        "_raw": {"underlit_m": underlit_m, "road_m": road_m, "by_condition": by_condition, "damaged_m": damaged_m,
                 "kemantapan": kemantapan,
                 "cost": cost, "priced": priced, "repair": repair},
    }


def _summary_totals(rows: list[dict]) -> dict:
    raw = [r["_raw"] for r in rows]
    by_condition = {k: sum(r["by_condition"][k] for r in raw) for k in ("good", "fair", "light_damage", "heavy_damage", "unknown")}
    proposed = sum(r["proposed_pju"] for r in rows)
    priced = sum(r["priced"] for r in raw)
    costs = [r["cost"] for r in raw if r["cost"] is not None]
    repairs = [r["repair"] for r in raw]
    out = _summary_fields(
        code=None, name="Total", pju_count=sum(r["pju_count"] for r in rows),
        pju_working=sum(r["pju_working"] for r in rows), broken_pju=sum(r["broken_pju"] for r in rows),
        gaps=sum(r["lighting_gaps"] for r in rows), underlit_m=sum(r["underlit_m"] for r in raw),
        proposed=proposed, cost=sum(costs) if costs else None, priced=priced,
        repair=None if any(r is None for r in repairs) else sum(repairs, Decimal(0)),
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


def work_order_list(*, user=None, mine: bool = False) -> QuerySet[WorkOrder]:
    qs = WorkOrder.objects.select_related("assigned_to", "kecamatan", "kelurahan")
    if mine and user is not None:
        qs = qs.filter(assigned_to=user)
    return qs
