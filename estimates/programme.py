"""Condition-driven road programme (SPEC §4 /api/programme/, §6 v2): for
every road segment, effective condition × surface → treatment (table
`Treatment`, data with sources) → template (fixed, or the structure for the
road's design traffic) → cost, ranked, cut at a budget, over one or several
years, aggregated per area, road class and treatment.

Set-based: one SQL statement over the whole road table. Python prices each
template once per m² (a few templates, Divisi 1/SMKK percentages, overhead
and PPN included) and expands the treatment table into every (condition,
surface, class, traffic band) combination — about a thousand rows joined by
hash. Cost of a segment = length (spheroid) × width × area fraction × cost
per m². Width: width_m, else lanes × 3.0 m, else the class default W (SPEC §5).

- Condition: the effective condition (geo_platform.condition: the worst of
  the recorded condition, the SDI class and the IRI class).
- Surface: the road's surface; `unknown` is taken as its class's usual
  surface (data/structures.json) and flagged `surface_assumed`.
- Structure by traffic: `design_esa` (million ESA) in the MDP 2017 bands,
  else the class default (arterial FFF5, collector FFF3, local and
  neighbourhood FFF1, path paving block; rigid: 250 / 200 mm slabs).
- Authority: by default the city's network (geo_platform.condition.
  city_authorities: city, village, unknown); national and province roads are
  listed apart (`excluded`); `authority=all` includes every road, or a list.
- Ranking: treatment priority (1 = heavy damage first), road class (arterial
  first), cheaper segments first, then id. With a budget, year 1 funds the
  longest prefix of the ranking within it, year 2 continues from there, … for
  `years` years (the RPJMD view); what is left is `remaining`."""
from __future__ import annotations

import json
from decimal import Decimal

from django.db import connection

from estimates.defaults import structures
from estimates.errors import EstimateInputError
from estimates.models import PriceList, Treatment
from estimates.pricing import price_items, price_list_get, price_list_preload
from estimates.quantities import Piece, template_quantities
from estimates.selectors import template_list
from geo_platform import codes
from geo_platform import condition as road_condition
from layers.models import Area, RoadSegment

LEVELS = ("kecamatan", "kelurahan")
CONDITIONS = ("good", "fair", "light_damage", "heavy_damage")
SURFACES = tuple(c for c, _ in codes.ROAD_SURFACES if c != "unknown")
CLASSES = tuple(c for c, _ in codes.ROAD_CLASSES)
AUTHORITIES = tuple(c for c, _ in codes.ROAD_AUTHORITIES)
MAX_YEARS = 20
_REFERENCE_M2 = 1_000_000.0  # price a large area once so per-line rounding is negligible per m²


# ---------------------------------------------------------------- structure by design traffic (SPEC §6)
def esa_edges() -> list[float]:
    """Union of the ESA band edges of every structure kind (million ESA), ascending."""
    data = structures()
    return sorted({e for kind in ("flexible", "rigid") for e, _ in data[kind]["by_esa"] if e is not None})


def structure_template(kind: str, road_class: str, design_esa: float | None) -> str:
    """Template code of a structure kind for the design traffic, else the class default."""
    data = structures()[kind]
    if design_esa is None:
        return data["by_class"].get(road_class, data["by_class"]["local"])
    for edge, code in data["by_esa"]:
        if edge is None or design_esa < edge:
            return code
    raise AssertionError("the last band is open")


def _band_sql(column: str, edges: list[float]) -> str:
    """Band index of design_esa: −1 unknown (class default), 0 … len(edges) by the edges."""
    whens = " ".join(f"WHEN {column} < {e!r} THEN {i}" for i, e in enumerate(edges))
    return f"(CASE WHEN {column} IS NULL THEN -1 {whens} ELSE {len(edges)} END)"


def _band_value(i: int, edges: list[float]) -> float | None:
    """A representative ESA inside band i (for picking its template)."""
    if i < 0:
        return None
    return (edges[i] - 1e-6) if i < len(edges) else edges[-1] + 1.0


# ---------------------------------------------------------------- treatment table, priced
def _template_cost_m2(template, price_list: PriceList, preload: dict) -> float:
    q = template_quantities(template, [Piece(area_m2=_REFERENCE_M2)])
    bill = price_items(q["pay_items"], price_list=price_list, general=True, preload=preload)
    return float(bill["total_unrounded"]) / _REFERENCE_M2


_TABLE_CACHE: dict[str, dict] = {}
_DATA_TABLES = ("treatment", "pavementtemplate", "layer", "coat", "templateitem", "material", "concretemix")


def _data_fingerprint(price_list: PriceList) -> str:
    """md5 of every row the treatment table is priced from (a few hundred small rows, one query): an edit in
    the admin changes it, so the cached table is never stale."""
    parts = [f"(SELECT string_agg(t::text, ',' ORDER BY t.id) FROM estimates_{name} t)" for name in _DATA_TABLES]
    parts += [f"(SELECT string_agg(t::text, ',' ORDER BY t.id) FROM estimates_{name} t WHERE t.price_list_id = %(pl)s)"
              for name in ("unitprice", "generalitem")]
    parts.append("(SELECT p::text FROM estimates_pricelist p WHERE p.id = %(pl)s)")
    with connection.cursor() as cur:
        cur.execute(f"SELECT md5(concat_ws('|', {', '.join(parts)}))", {"pl": price_list.pk})
        return cur.fetchone()[0]


def treatment_table(*, price_list: PriceList) -> dict:
    """Treatments (rows of the data with their sources), the priced templates
    and every (condition, surface, class, ESA band) → treatment/template
    combination; cached per process while the data's fingerprint holds."""
    key = _data_fingerprint(price_list)
    if key not in _TABLE_CACHE:
        if len(_TABLE_CACHE) > 8:
            _TABLE_CACHE.clear()
        _TABLE_CACHE[key] = _treatment_table(price_list=price_list)
    return _TABLE_CACHE[key]


def _treatment_table(*, price_list: PriceList) -> dict:
    treatments = list(Treatment.objects.select_related("template").order_by("priority", "condition", "surface"))
    templates = {t.code: t for t in template_list(active_only=False)}
    edges = esa_edges()
    by_key = {(t.condition, t.surface): i for i, t in enumerate(treatments)}
    tpl_codes: list[str] = []
    costs: dict[str, float] = {}
    preload = price_list_preload(price_list)

    def tpl_index(code: str) -> int:
        if code not in templates:
            raise EstimateInputError(f"template {code!r} of the structure table is not loaded", "template")
        if code not in costs:
            costs[code] = _template_cost_m2(templates[code], price_list, preload)
            tpl_codes.append(code)
        return tpl_codes.index(code)

    combos = []
    for cond in CONDITIONS:
        for surf in SURFACES:
            ti = by_key.get((cond, surf), by_key.get((cond, "")))
            if ti is None:
                continue
            t = treatments[ti]
            for cls in CLASSES:
                bands = range(-1, len(edges) + 1) if t.structure else [None]
                for band in bands:
                    code = structure_template(t.structure, cls, _band_value(band, edges)) if t.structure else t.template.code
                    k = tpl_index(code)
                    for b in ([band] if band is not None else range(-1, len(edges) + 1)):
                        combos.append((cond, surf, cls, b, ti, k, costs[code], t.area_fraction, t.priority))
    rows = [{"condition": t.condition, "surface": t.surface, "name": t.name,
             "template": t.template.code if t.template_id else None, "structure": t.structure or None,
             "is_upgrade": t.is_upgrade, "area_fraction": t.area_fraction, "priority": t.priority, "source": t.source,
             "cost_per_m2": costs[t.template.code] if t.template_id else None} for t in treatments]
    tpl_rows = [{"code": c, "name": templates[c].name, "kind": templates[c].kind, "cost_per_m2": costs[c]} for c in tpl_codes]
    return {"treatments": rows, "templates": tpl_rows, "combos": combos, "edges": edges}


def treatment_rates(*, price_list: PriceList) -> list[dict]:
    """Each treatment row with its cost per m² (fixed templates; structure rows per class default)."""
    table = treatment_table(price_list=price_list)
    return table["treatments"]


_SQL = """
WITH cls AS (
    SELECT * FROM unnest(%(c_class)s::text[], %(c_width)s::float8[], %(c_rank)s::int[], %(c_surf)s::text[])
        AS cls(road_class, w, class_rank, surface)
), r AS (
    SELECT r.id, r.road_class, r.authority, {condition} AS condition,
           CASE WHEN r.surface = 'unknown' THEN cls.surface ELSE r.surface END AS surface,
           {band} AS band, r.{level}_id AS area_id,
           COALESCE(r.length_m, ST_Length(r.geom::geography)) AS length_m,
           COALESCE(NULLIF(r.width_m, 0), r.lanes * %(lane)s, cls.w) AS width_m, cls.class_rank
    FROM {roads} r JOIN cls ON cls.road_class = r.road_class
    WHERE r.deleted_at IS NULL {where}
), k AS (  -- position in the dense (condition, surface, class, band) table: a subscript, no join
    SELECT r.*, r.authority = ANY(%(authorities)s::text[]) AS in_programme,
           1 + (((array_position(%(k_conds)s::text[], r.condition) - 1) * %(n_surf)s
                 + array_position(%(k_surfs)s::text[], r.surface::text) - 1) * %(n_class)s
                + r.class_rank - 1) * %(n_band)s + r.band + 1 AS key
    FROM r
), m AS (
    SELECT k.*, NULLIF((%(k_t)s::int[])[key], 0) - 1 AS t_idx, (%(k_tpl)s::int[])[key] AS tpl_idx, (%(k_frac)s::float8[])[key] AS fraction,
           (%(k_prio)s::int[])[key] AS priority, k.length_m * k.width_m * (%(k_frac)s::float8[])[key] AS treated_m2,
           k.length_m * k.width_m * (%(k_frac)s::float8[])[key] * (%(k_cost)s::float8[])[key] AS cost
    FROM k
), a AS MATERIALIZED (  -- every matching road once; only the costed ones are ranked
    SELECT m.id, m.road_class, m.authority, m.condition, m.surface, m.area_id, m.length_m, m.width_m, m.t_idx, m.tpl_idx, m.fraction,
           m.treated_m2, m.cost, m.in_programme, m.costed, row_number() OVER w AS rank, sum(m.cost) OVER w AS cumulative
    FROM (SELECT m.*, m.in_programme AND m.t_idx IS NOT NULL AS costed FROM m) m
    WINDOW w AS (PARTITION BY m.costed ORDER BY m.priority, m.class_rank, m.cost, m.id)
), f AS NOT MATERIALIZED (
    SELECT * FROM a WHERE costed
), yr AS (
    WITH RECURSIVE y(year, start_c, end_c) AS (
        SELECT 1, 0::float8, (SELECT COALESCE(max(cumulative), 0) FROM f WHERE cumulative <= %(budget)s::float8)
        WHERE %(budget)s::float8 IS NOT NULL
        UNION ALL
        SELECT year + 1, end_c, (SELECT COALESCE(max(cumulative), y.end_c) FROM f WHERE cumulative <= y.end_c + %(budget)s::float8)
        FROM y WHERE year < %(years)s
    ) SELECT * FROM y
), lim AS (
    SELECT COALESCE((SELECT max(end_c) FROM yr), 'Infinity'::float8) AS funded_to
), agg AS (  -- per group, per treatment and in total in one pass (GROUPING() bits: area_id, road_class, t_idx, tpl_idx)
    SELECT GROUPING(area_id, road_class, t_idx, tpl_idx) AS gs, area_id, road_class, t_idx, tpl_idx, count(*) AS segments,
           COALESCE(sum(length_m), 0) AS length_m, COALESCE(sum(treated_m2), 0) AS treated_m2, COALESCE(sum(cost), 0) AS cost,
           count(*) FILTER (WHERE cumulative <= lim.funded_to) AS funded_segments,
           COALESCE(sum(length_m) FILTER (WHERE cumulative <= lim.funded_to), 0) AS funded_length_m,
           COALESCE(sum(cost) FILTER (WHERE cumulative <= lim.funded_to), 0) AS funded_cost, min(rank) AS first_rank
    FROM f, lim GROUP BY GROUPING SETS ((area_id, road_class, t_idx, tpl_idx), (t_idx, tpl_idx), ())
)
SELECT json_build_object(
  'groups', (SELECT COALESCE(json_agg(g ORDER BY g.first_rank), '[]'::json) FROM (
      SELECT area_id, road_class, t_idx, tpl_idx, segments, length_m, treated_m2, cost, funded_segments, funded_length_m,
             funded_cost, first_rank FROM agg WHERE gs = 0) g),
  'by_treatment', (SELECT COALESCE(json_agg(g ORDER BY g.t_idx, g.tpl_idx), '[]'::json) FROM (
      SELECT t_idx, tpl_idx, segments, length_m, treated_m2, cost, funded_cost FROM agg WHERE gs = 12) g),
  'totals', COALESCE((SELECT json_build_object('segments', segments, 'length_m', length_m, 'treated_m2', treated_m2, 'cost', cost,
             'funded_segments', funded_segments, 'funded_length_m', funded_length_m, 'funded_cost', funded_cost)
             FROM agg WHERE gs = 15),
             json_build_object('segments', 0, 'length_m', 0, 'treated_m2', 0, 'cost', 0, 'funded_segments', 0,
                               'funded_length_m', 0, 'funded_cost', 0)),
  'years', (SELECT COALESCE(json_agg(x ORDER BY x.year), '[]'::json) FROM (
      SELECT yr.year, yr.end_c - yr.start_c AS cost, yr.end_c AS cumulative,
             (SELECT count(*) FROM f WHERE f.cumulative > yr.start_c AND f.cumulative <= yr.end_c) AS segments,
             (SELECT COALESCE(sum(length_m), 0) FROM f WHERE f.cumulative > yr.start_c AND f.cumulative <= yr.end_c) AS length_m
      FROM yr) x),
  'unassessed', (SELECT json_build_object('segments', count(*), 'length_m', COALESCE(sum(length_m), 0))
                 FROM a WHERE a.in_programme AND a.t_idx IS NULL),
  'excluded', (SELECT COALESCE(json_agg(e ORDER BY e.authority), '[]'::json) FROM (
      SELECT authority, count(*) AS segments, COALESCE(sum(length_m), 0) AS length_m, COALESCE(sum(cost), 0) AS cost,
             count(*) FILTER (WHERE t_idx IS NULL) AS unassessed_segments
      FROM a WHERE NOT a.in_programme GROUP BY authority) e),
  'segments', (SELECT COALESCE(json_agg(s ORDER BY s.rank), '[]'::json) FROM (
      SELECT f.id, r.name, f.road_class, r.authority, f.condition, r.condition AS condition_recorded, r.sdi, r.iri,
             f.surface, r.surface AS surface_recorded, r.design_esa, f.area_id, f.t_idx, f.tpl_idx, f.length_m, f.width_m, f.fraction,
             f.treated_m2, f.cost, f.rank, f.cumulative, f.cumulative <= lim.funded_to AS funded,
             (SELECT yr.year FROM yr WHERE f.cumulative > yr.start_c AND f.cumulative <= yr.end_c) AS year
      FROM (SELECT * FROM f ORDER BY rank LIMIT %(limit)s OFFSET %(offset)s) f JOIN {roads} r ON r.id = f.id, lim) s)
)
"""


def programme_build(*, level: str = "kecamatan", budget: Decimal | None = None, price_list: PriceList | None = None,
                    area: str | None = None, source: str | None = None, limit: int = 100, offset: int = 0,
                    bbox: tuple[float, float, float, float] | None = None, road_class: list[str] | None = None,
                    condition: list[str] | None = None, authority: list[str] | None = None, years: int = 1) -> dict:
    """The programme. `authority`: None = the city's network (default),
    ["all"] = every road, else the listed authorities. `budget` is per year."""
    if level not in LEVELS:
        raise EstimateInputError(f"level must be one of {', '.join(LEVELS)}", "level")
    if not 1 <= int(years) <= MAX_YEARS:
        raise EstimateInputError(f"years must be between 1 and {MAX_YEARS}", "years")
    price_list = price_list or price_list_get()
    table = treatment_table(price_list=price_list)
    surf_by_class = structures()["surface_by_class"]
    if authority is None:
        authorities = list(road_condition.city_authorities())
    elif "all" in authority:
        authorities = list(AUTHORITIES)
    else:
        authorities = list(authority)
    n_band = len(table["edges"]) + 2
    size = len(CONDITIONS) * len(SURFACES) * len(CLASSES) * n_band
    # no NULLs in the arrays: PostgreSQL then reads element i directly (with NULLs it walks the null bitmap)
    dense = {"t": [0] * size, "tpl": [0] * size, "cost": [0.0] * size, "frac": [0.0] * size, "prio": [0] * size}
    for cond, surf, cls, band, t_idx, tpl_idx, cost, frac, prio in table["combos"]:
        key = (((CONDITIONS.index(cond)) * len(SURFACES) + SURFACES.index(surf)) * len(CLASSES) + CLASSES.index(cls)) * n_band + band + 1
        for name, value in zip(("t", "tpl", "cost", "frac", "prio"), (t_idx + 1, tpl_idx, cost, frac, prio)):
            dense[name][key] = value
    params = {
        **{f"k_{name}": values for name, values in dense.items()},
        "k_conds": list(CONDITIONS), "k_surfs": list(SURFACES), "n_surf": len(SURFACES), "n_class": len(CLASSES), "n_band": n_band,
        "c_class": list(CLASSES), "c_width": [codes.LIGHTING_RULE[c]["W"] for c in CLASSES],
        "c_rank": list(range(1, len(CLASSES) + 1)), "c_surf": [surf_by_class.get(c, "asphalt") for c in CLASSES],
        "lane": codes.LANE_WIDTH_M, "budget": float(budget) if budget is not None else None, "years": int(years),
        "limit": int(limit), "offset": int(offset), "authorities": authorities,
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
    if bbox:
        where.append("AND r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) "
                     "AND ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))")
        params.update(dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox))))
    if road_class:
        where.append("AND r.road_class = ANY(%(road_class)s::text[])")
        params["road_class"] = list(road_class)
    if condition:  # the recorded condition code, as on the layers
        where.append("AND r.condition = ANY(%(condition)s::text[])")
        params["condition"] = list(condition)
    sql = _SQL.format(level=level, roads=RoadSegment._meta.db_table, where=" ".join(where),
                      condition=road_condition.effective_condition_sql("r"), band=_band_sql("r.design_esa", table["edges"]))
    with connection.cursor() as cur:
        cur.execute(sql, params)
        raw = cur.fetchone()[0]
    data = raw if isinstance(raw, dict) else json.loads(raw)
    return _shape(data, table=table, level=level, budget=budget, years=int(years), price_list=price_list,
                  authorities=authorities, limit=int(limit), offset=int(offset))


def _money(v) -> float:
    return round(float(v), 2)


def _shape(data: dict, *, table: dict, level: str, budget, years: int, price_list: PriceList, authorities: list[str],
           limit: int, offset: int) -> dict:
    rows, tpls = table["treatments"], table["templates"]
    area_ids = {g["area_id"] for g in data["groups"] if g["area_id"]} | {s["area_id"] for s in data["segments"] if s["area_id"]}
    areas = {a.pk: (a.code, a.name) for a in Area.objects.filter(pk__in=area_ids).only("code", "name")}

    def area_of(area_id):
        code, name = areas.get(area_id, (None, None))
        return {"area_code": code, "area_name": name}

    def treatment_of(t_idx, tpl_idx):
        t = rows[t_idx]
        return {"treatment": t["name"], "template": tpls[tpl_idx]["code"], "is_upgrade": t["is_upgrade"]}

    groups = [{**area_of(g["area_id"]), "road_class": g["road_class"], **treatment_of(g["t_idx"], g["tpl_idx"]),
               "segments": g["segments"], "length_m": g["length_m"], "treated_m2": g["treated_m2"], "cost": _money(g["cost"]),
               "funded_segments": g["funded_segments"], "funded_length_m": g["funded_length_m"],
               "funded_cost": _money(g["funded_cost"]), "first_rank": g["first_rank"]} for g in data["groups"]]
    by_treatment = [{**treatment_of(g["t_idx"], g["tpl_idx"]), "segments": g["segments"], "length_m": g["length_m"],
                     "treated_m2": g["treated_m2"], "cost": _money(g["cost"]), "funded_cost": _money(g["funded_cost"])}
                    for g in data["by_treatment"]]
    segments = [{
        **{k: s[k] for k in ("id", "name", "road_class", "authority", "condition_recorded", "sdi", "iri", "design_esa",
                             "length_m", "width_m", "treated_m2", "rank", "funded", "year")},
        "effective_condition": s["condition"], "condition": s["condition"],
        "surface": s["surface"], "surface_assumed": s["surface_recorded"] == "unknown",
        **treatment_of(s["t_idx"], s["tpl_idx"]), "area_fraction": s["fraction"], **area_of(s["area_id"]),
        "cost": _money(s["cost"]), "cumulative_cost": _money(s["cumulative"])} for s in data["segments"]]
    totals = {**data["totals"], "cost": _money(data["totals"]["cost"]), "funded_cost": _money(data["totals"]["funded_cost"]),
              "unassessed_segments": data["unassessed"]["segments"], "unassessed_length_m": data["unassessed"]["length_m"]}
    total_cost = totals["cost"]
    year_rows = [{"year": y["year"], "budget": float(budget), "cost": _money(y["cost"]), "segments": y["segments"],
                  "length_m": y["length_m"], "remaining_cost": _money(total_cost - y["cumulative"])} for y in data["years"]]
    count = totals["segments"]
    return {
        "level": level,
        "budget": float(budget) if budget is not None else None,
        "years": years,
        "currency": price_list.currency,
        "price_list": {"id": price_list.pk, "name": price_list.name, "region": price_list.region, "year": price_list.year},
        "authorities": authorities,
        "treatments": rows,
        "templates": tpls,
        "totals": totals,
        "by_treatment": by_treatment,
        "multi_year": year_rows,
        "remaining_cost": _money(total_cost - totals["funded_cost"]),
        "excluded": [{**e, "cost": _money(e["cost"])} for e in data["excluded"]],
        "groups": groups,
        "count": count,
        "limit": limit,
        "offset": offset,
        "segments": segments,
        "assumptions": {
            "cost": "length (WGS 84 spheroid) × width × area fraction × template cost per m² (Divisi 1/SMKK percentages, overhead "
                    "and PPN included)",
            "width": f"width_m, else lanes × {codes.LANE_WIDTH_M:g} m, else class default W (SPEC §5)",
            "condition": "effective condition: the worst of the recorded condition, the SDI class (< 50, 50–100, > 100–150, > 150) "
                         "and the IRI class (< 4, 4–8, > 8–12, > 12 m/km), SPEC §6",
            "surface": "the road's surface; unknown is taken as the class's usual surface (city streets asphalt, paths paving)",
            "structure": "reconstruction and upgrades use the structure for design_esa (MDP 2017 Bagan Desain 3B), else the class "
                         "default (arterial FFF5, collector FFF3, local/neighbourhood FFF1, path paving block)",
            "authority": f"costed: {', '.join(authorities)}; other authorities are listed in `excluded` (authority=all includes them)",
            "ranking": "treatment priority, road class (arterial first), cost ascending, id",
            "budget": "per year: each year funds the longest prefix of the remaining ranking within the budget",
            "unassessed": "roads with no condition, SDI or IRI get no treatment and are counted apart",
        },
    }
