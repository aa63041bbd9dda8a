"""Reads: templates, measured pieces (metres by PostGIS on the WGS 84
spheroid), and the priced estimate of a template over them."""
from __future__ import annotations

import json

from django.db import connection
from django.db.models import Prefetch, QuerySet

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID
from estimates.errors import EstimateInputError
from estimates.models import Coat, Layer, PavementTemplate, PriceList
from estimates.pricing import price_items
from estimates.quantities import Piece, template_quantities
from layers.models import RoadSegment


def template_list(*, active_only: bool = True) -> QuerySet[PavementTemplate]:
    qs = PavementTemplate.objects.prefetch_related(
        Prefetch("layers", queryset=Layer.objects.select_related("material__concrete_mix").order_by("position")),
        Prefetch("coats", queryset=Coat.objects.order_by("position")),
    ).order_by("kind", "code")
    return qs.filter(is_active=True) if active_only else qs


def template_get(*, code: str) -> PavementTemplate:
    obj = template_list(active_only=True).filter(code=code).first()
    if obj is None:
        known = ", ".join(template_list().values_list("code", flat=True))
        raise EstimateInputError(f"unknown template {code!r}; known templates: {known}", "template")
    return obj


_MEASURE_SQL = f"""
SELECT GeometryType(g), ST_IsValid(g), ST_IsValidReason(g),
       ST_Length(g::geography), ST_Area(g::geography)
FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%s), {STORAGE_SRID}) AS g) s
"""


def geometry_piece(*, geometry: dict, width_m: float | None) -> Piece:
    """A drawn LineString (+ width) or (Multi)Polygon measured by PostGIS on
    the spheroid: ST_Length/ST_Area of geography, right in any UTM zone."""
    with connection.cursor() as cur:
        cur.execute(_MEASURE_SQL, [json.dumps(geometry)])
        gtype, valid, reason, length, area = cur.fetchone()
    if gtype == "LINESTRING":
        if width_m is None:
            raise EstimateInputError("width_m is required with a LineString", "width_m")
        if not length or length <= 0:
            raise EstimateInputError("the LineString has zero length", "geometry")
        return Piece(area_m2=length * width_m, length_m=length, width_m=width_m, width_source="request")
    if not valid:
        raise EstimateInputError(f"the polygon is not valid: {reason}", "geometry")
    if not area or area <= 0:
        raise EstimateInputError("the polygon has zero area", "geometry")
    return Piece(area_m2=area)


_ROADS_SQL = f"""
SELECT id, road_class, COALESCE(length_m, ST_Length(geom::geography)), width_m, lanes
FROM {RoadSegment._meta.db_table}
WHERE id = ANY(%s) AND deleted_at IS NULL
"""


def road_pieces(*, road_ids: list[int], width_m: float | None = None) -> list[Piece]:
    """Road segments with their own length (spheroid) and width: `width_m`
    when the user typed one, else the stored width_m, else lanes × 3.0 m,
    else the class default W (SPEC §5)."""
    ids = list(dict.fromkeys(int(i) for i in road_ids))
    with connection.cursor() as cur:
        cur.execute(_ROADS_SQL, [ids])
        rows = {r[0]: r for r in cur.fetchall()}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise EstimateInputError(f"no road with id {', '.join(map(str, missing[:20]))}", "road_ids")
    pieces = []
    for i in ids:
        _, road_class, length, width, lanes = rows[i]
        if width_m:
            w, src = float(width_m), "width typed by the user"
        elif width and width > 0:
            w, src = float(width), "width_m"
        else:
            w = codes.default_width_m(road_class, lanes)
            src = f"lanes × {codes.LANE_WIDTH_M:g} m" if lanes else f"class default W ({road_class})"
        pieces.append(Piece(area_m2=float(length) * w, length_m=float(length), width_m=w, road_id=i, width_source=src))
    return pieces


def estimate_build(*, template: PavementTemplate, pieces: list[Piece], price_list: PriceList | None = None) -> dict:
    """Quantities of the template over the pieces, priced (SPEC §4 shape)."""
    q = template_quantities(template, pieces)
    bill = price_items(q["pay_items"], price_list=price_list)
    pl = bill["price_list"]
    assumptions = {
        "template": {"code": template.code, "name": template.name, "kind": template.kind, "source": template.source},
        "price_list": pl,
        "overhead_pct": bill["overhead_pct"],
        "tax_pct": bill["tax_pct"],
        "measurement": "lengths and areas on the WGS 84 spheroid (PostGIS geography); area of a line = length × width",
        "quantities": "volume = area × compacted thickness; mass = volume × density; mass_with_loss = mass × loss factor; "
                      "asphalt paid by compacted mass (t), aggregate and concrete by compacted volume (m³), paving by area (m²)",
        "materials": {layer["material"]: {"density_t_m3": layer["density_t_m3"], "loss_factor": layer["loss_factor"]} for layer in q["layers"]},
        "pieces": [
            {"road_id": p.road_id, "length_m": p.length_m, "width_m": p.width_m, "area_m2": p.area_m2, "width_source": p.width_source}
            for p in pieces[:1000]
        ],
    }
    if template.kind == "rigid":
        assumptions["steel"] = ("dowels across internal transverse joints, tie bars along internal longitudinal joints; "
                                "kg = count × bar length × 0.00617·d²; a polygon uses per-area rates")
    return {
        "template": template.code,
        "length_m": q["length_m"],
        "area_m2": q["area_m2"],
        "layers": q["layers"],
        "coats": q["coats"],
        "concrete": q["concrete"],
        "steel": q["steel"],
        "items": bill["items"],
        "subtotal": bill["subtotal"],
        "overhead": bill["overhead"],
        "tax": bill["tax"],
        "total": bill["total"],
        "total_words": bill["total_words"],
        "currency": bill["currency"],
        "assumptions": assumptions,
    }


EXCAVATION_ITEM = "3.1.(1)"  # Galian biasa (m³ bank)
EMBANKMENT_ITEM = "3.2.(1a)"  # Timbunan biasa dari sumber galian (m³ compacted)


def earthwork_bill(result: dict, *, price_list: PriceList | None = None) -> dict | None:
    """Cost of an earthwork result: excavation of the cut (bank m³) and embankment of the fill
    (compacted m³), priced with the price list; None when the list lacks these items."""
    try:
        bill = price_items([{"code": EXCAVATION_ITEM, "quantity": result["cut_m3"]},
                            {"code": EMBANKMENT_ITEM, "quantity": result["fill_m3"]}], price_list=price_list)
    except EstimateInputError:
        return None
    return {k: bill[k] for k in ("items", "subtotal", "overhead", "tax", "total", "total_words", "currency", "price_list")}
