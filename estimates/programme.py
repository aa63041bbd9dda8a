"""Condition-driven road programme (SPEC §4 /api/programme/): for every road
segment, condition → treatment (DOMAIN §4, table `Treatment`) → template →
cost, ranked and cut at a budget, aggregated per area and road class.

Set-based: one SQL statement over the whole road table. The only Python
work is pricing each treatment's template once per m² (a few templates):
cost of a segment = length (spheroid) × width × area fraction × cost per m²,
overhead and PPN included. Width: the segment's width_m, else lanes × 3.0 m,
else the class default W (SPEC §5).

Condition: the worst of the recorded condition and the classes of its SDI
and IRI when present (DOMAIN §4: "if IRI and SDI disagree, take the worse").

Ranking: treatment priority (1 = first: heavy damage), then road class
(arterial first), then cheaper segments first, then id. With a budget, the
segments of the ranked list are funded while the running total stays within
it (a prefix of the ranking)."""
from __future__ import annotations

import json
from decimal import Decimal

from django.db import connection

from estimates.errors import EstimateInputError
from estimates.models import PriceList, Treatment
from estimates.pricing import price_items, price_list_get
from estimates.quantities import Piece, template_quantities
from estimates.selectors import template_list
from geo_platform import codes
from layers.models import Area, RoadSegment

LEVELS = ("kecamatan", "kelurahan")
# DOMAIN §4: condition class by SDI (Bina Marga) and IRI (m/km); upper bounds of good, fair, light damage.
# The effective condition is the worst of the recorded condition, the SDI class and the IRI class.
SEVERITY = ["unknown", "good", "fair", "light_damage", "heavy_damage"]
SDI_BOUNDS = (50.0, 100.0, 150.0)  # < 50 baik, 50–100 sedang, 100–150 rusak ringan, > 150 rusak berat
IRI_BOUNDS = (4.0, 8.0, 12.0)      # < 4, 4–8, 8–12, > 12


def _band_sql(column: str, bounds: tuple[float, float, float]) -> str:
    good, fair, light = bounds
    return (f"CASE WHEN {column} IS NULL THEN 0 WHEN {column} < {good} THEN 1 WHEN {column} < {fair} THEN 2 "
            f"WHEN {column} <= {light} THEN 3 ELSE 4 END")


def _severity_sql(column: str) -> str:
    return "CASE " + " ".join(f"WHEN {column} = '{code}' THEN {i}" for i, code in enumerate(SEVERITY)) + " ELSE 0 END"


EFFECTIVE_CONDITION_SQL = (
    f"(ARRAY{SEVERITY!r})[1 + GREATEST({_severity_sql('r.condition')}, {_band_sql('r.sdi', SDI_BOUNDS)}, "
    f"{_band_sql('r.iri', IRI_BOUNDS)})]"
)
_REFERENCE_M2 = 1_000_000.0  # price a large area once so per-line rounding is negligible per m²


def treatment_rates(*, price_list: PriceList) -> list[dict]:
    """Each treatment with its template's total cost per m² (overhead and PPN included)."""
    out = []
    cache: dict[int, float] = {}
    treatments = list(Treatment.objects.order_by("priority", "condition", "surface"))
    templates = {t.pk: t for t in template_list(active_only=False).filter(pk__in={t.template_id for t in treatments})}
    for t in treatments:
        t.template = templates[t.template_id]
        if t.template_id not in cache:
            q = template_quantities(t.template, [Piece(area_m2=_REFERENCE_M2)])
            cache[t.template_id] = float(price_items(q["pay_items"], price_list=price_list)["total"]) / _REFERENCE_M2
        out.append({"condition": t.condition, "surface": t.surface, "name": t.name, "template": t.template.code,
                    "area_fraction": t.area_fraction, "priority": t.priority, "cost_per_m2": cache[t.template_id]})
    return out


_SQL = """
WITH tr AS (
    SELECT * FROM unnest(%(t_cond)s::text[], %(t_surf)s::text[], %(t_frac)s::float8[], %(t_cost)s::float8[], %(t_prio)s::int[])
        WITH ORDINALITY AS tr(condition, surface, fraction, cost_m2, priority, t_idx)
), cls AS (
    SELECT * FROM unnest(%(c_class)s::text[], %(c_width)s::float8[], %(c_rank)s::int[]) AS cls(road_class, w, class_rank)
), r AS (
    SELECT r.id, r.road_class, {condition} AS condition, r.surface, r.{level}_id AS area_id,
           COALESCE(r.length_m, ST_Length(r.geom::geography)) AS length_m,
           COALESCE(NULLIF(r.width_m, 0), r.lanes * %(lane)s, cls.w) AS width_m, cls.class_rank
    FROM {roads} r JOIN cls ON cls.road_class = r.road_class
    WHERE r.deleted_at IS NULL {where}
), m AS (
    SELECT r.id, r.road_class, r.condition, r.area_id, r.length_m, r.width_m, r.class_rank,
           COALESCE(t1.t_idx, t0.t_idx) AS t_idx, COALESCE(t1.fraction, t0.fraction) AS fraction,
           COALESCE(t1.cost_m2, t0.cost_m2) AS cost_m2, COALESCE(t1.priority, t0.priority) AS priority
    FROM r
    LEFT JOIN tr t1 ON t1.condition = r.condition AND t1.surface = r.surface
    LEFT JOIN tr t0 ON t0.condition = r.condition AND t0.surface = ''
), f AS MATERIALIZED (
    SELECT id, road_class, condition, area_id, length_m, width_m, t_idx, fraction, treated_m2, cost, rank, cumulative,
           (%(budget)s::float8 IS NULL OR cumulative <= %(budget)s::float8) AS funded
    FROM (
        SELECT c.*, row_number() OVER w AS rank, sum(cost) OVER w AS cumulative
        FROM (SELECT m.*, length_m * width_m * fraction AS treated_m2, length_m * width_m * fraction * cost_m2 AS cost
              FROM m WHERE t_idx IS NOT NULL) c
        WINDOW w AS (ORDER BY priority, class_rank, cost, id)
    ) ranked
)
SELECT json_build_object(
  'groups', (SELECT COALESCE(json_agg(g ORDER BY g.first_rank), '[]'::json) FROM (
      SELECT area_id, road_class, t_idx, count(*) AS segments, sum(length_m) AS length_m,
             sum(treated_m2) AS treated_m2, sum(cost) AS cost, count(*) FILTER (WHERE funded) AS funded_segments,
             COALESCE(sum(length_m) FILTER (WHERE funded), 0) AS funded_length_m,
             COALESCE(sum(cost) FILTER (WHERE funded), 0) AS funded_cost, min(rank) AS first_rank
      FROM f GROUP BY area_id, road_class, t_idx) g),
  'totals', (SELECT json_build_object('segments', count(*), 'length_m', COALESCE(sum(length_m), 0),
             'treated_m2', COALESCE(sum(treated_m2), 0), 'cost', COALESCE(sum(cost), 0),
             'funded_segments', count(*) FILTER (WHERE funded), 'funded_length_m', COALESCE(sum(length_m) FILTER (WHERE funded), 0),
             'funded_cost', COALESCE(sum(cost) FILTER (WHERE funded), 0)) FROM f),
  'unassessed', (SELECT json_build_object('segments', count(*), 'length_m', COALESCE(sum(length_m), 0))
                 FROM m WHERE t_idx IS NULL),
  'segments', (SELECT COALESCE(json_agg(s ORDER BY s.rank), '[]'::json) FROM (
      SELECT f.id, r.name, f.road_class, f.condition, r.condition AS condition_recorded, r.sdi, r.iri, r.surface, f.area_id,
             f.t_idx, f.length_m, f.width_m, f.fraction, f.treated_m2, f.cost, f.rank, f.cumulative, f.funded
      FROM (SELECT * FROM f ORDER BY rank LIMIT %(limit)s) f JOIN {roads} r ON r.id = f.id) s)
)
"""


def programme_build(*, level: str = "kecamatan", budget: Decimal | None = None, price_list: PriceList | None = None,
                    area: str | None = None, source: str | None = None, limit: int = 100) -> dict:
    if level not in LEVELS:
        raise EstimateInputError(f"level must be one of {', '.join(LEVELS)}", "level")
    price_list = price_list or price_list_get()
    rates = treatment_rates(price_list=price_list)
    classes = [c for c, _ in codes.ROAD_CLASSES]
    params = {
        "t_cond": [t["condition"] for t in rates], "t_surf": [t["surface"] for t in rates], "t_frac": [t["area_fraction"] for t in rates],
        "t_cost": [t["cost_per_m2"] for t in rates], "t_prio": [t["priority"] for t in rates],
        "c_class": classes, "c_width": [codes.LIGHTING_RULE[c]["W"] for c in classes], "c_rank": list(range(1, len(classes) + 1)),
        "lane": codes.LANE_WIDTH_M, "budget": float(budget) if budget is not None else None, "limit": int(limit),
    }
    where = []
    if area:
        area_obj = Area.objects.filter(code=area).first()
        if area_obj is None:
            raise EstimateInputError(f"no area with code {area!r}", "area")
        where.append("AND (r.kecamatan_id = %(area_id)s OR r.kelurahan_id = %(area_id)s OR r.kecamatan_id IN "
                     f"(SELECT id FROM {Area._meta.db_table} WHERE parent_id = %(area_id)s))")
        params["area_id"] = area_obj.pk
    if source:
        where.append("AND r.source = %(source)s")
        params["source"] = source
    sql = _SQL.format(level=level, roads=RoadSegment._meta.db_table, where=" ".join(where), condition=EFFECTIVE_CONDITION_SQL)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        raw = cur.fetchone()[0]
    data = raw if isinstance(raw, dict) else json.loads(raw)
    area_ids = {g["area_id"] for g in data["groups"] if g["area_id"]} | {s["area_id"] for s in data["segments"] if s["area_id"]}
    areas = {a.pk: (a.code, a.name) for a in Area.objects.filter(pk__in=area_ids).only("code", "name")}

    def area_of(area_id):
        code, name = areas.get(area_id, (None, None))
        return {"area_code": code, "area_name": name}

    def money(v):
        return round(float(v), 2)

    def treatment_of(t_idx):  # 1-based ordinality into rates
        return {"treatment": rates[t_idx - 1]["name"], "template": rates[t_idx - 1]["template"]}

    groups = [{**area_of(g["area_id"]), "road_class": g["road_class"], **treatment_of(g["t_idx"]),
               "segments": g["segments"], "length_m": g["length_m"], "treated_m2": g["treated_m2"], "cost": money(g["cost"]),
               "funded_segments": g["funded_segments"], "funded_length_m": g["funded_length_m"], "funded_cost": money(g["funded_cost"]),
               "first_rank": g["first_rank"]} for g in data["groups"]]
    segments = [{**{k: s[k] for k in ("id", "name", "road_class", "condition", "condition_recorded", "sdi", "iri", "surface",
                                      "length_m", "width_m", "treated_m2", "rank", "funded")},
                 **treatment_of(s["t_idx"]), "area_fraction": s["fraction"], **area_of(s["area_id"]), "cost": money(s["cost"]), "cumulative_cost": money(s["cumulative"])}
                for s in data["segments"]]
    totals = {**data["totals"], "cost": money(data["totals"]["cost"]), "funded_cost": money(data["totals"]["funded_cost"]),
              "unassessed_segments": data["unassessed"]["segments"], "unassessed_length_m": data["unassessed"]["length_m"]}
    return {
        "level": level,
        "budget": float(budget) if budget is not None else None,
        "currency": price_list.currency,
        "price_list": {"id": price_list.pk, "name": price_list.name, "region": price_list.region, "year": price_list.year},
        "treatments": rates,
        "totals": totals,
        "groups": groups,
        "segments": segments,
        "assumptions": {
            "cost": "length (WGS 84 spheroid) × width × area fraction × template cost per m² (overhead and PPN included)",
            "width": f"width_m, else lanes × {codes.LANE_WIDTH_M:g} m, else class default W (SPEC §5)",
            "ranking": "treatment priority, road class (arterial first), cost ascending, id",
            "budget": "segments funded while the running total of the ranking stays within the budget",
            "condition": "the worst of the recorded condition, the SDI class (< 50, 50–100, 100–150, > 150) and the IRI class "
                         "(< 4, 4–8, 8–12, > 12 m/km), DOMAIN §4",
            "unassessed": "roads with no condition, SDI or IRI get no treatment and are counted apart",
        },
    }
