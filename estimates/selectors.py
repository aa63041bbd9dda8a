"""Reads: templates, measured pieces (metres by PostGIS on the WGS 84
spheroid), and the priced estimate of a template over them."""
from __future__ import annotations

import json

from django.db import connection
from django.db.models import Prefetch, QuerySet

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID
from estimates.errors import EstimateInputError
from estimates.models import Coat, Layer, PavementTemplate, PriceList, TemplateItem
from estimates.pricing import price_items
from estimates.quantities import Piece, template_quantities
from layers.models import Area, RoadSegment


def template_list(*, active_only: bool = True) -> QuerySet[PavementTemplate]:
    qs = PavementTemplate.objects.prefetch_related(
        Prefetch("layers", queryset=Layer.objects.select_related("material__concrete_mix").order_by("position")),
        Prefetch("coats", queryset=Coat.objects.order_by("position")),
        Prefetch("items", queryset=TemplateItem.objects.order_by("position")),
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


AREAS = Area._meta.db_table
_LOCATION_ROADS_SQL = f"""
SELECT r.id, r.name, k.name, kl.name, COALESCE(kk.name, kk2.name)
FROM {RoadSegment._meta.db_table} r
LEFT JOIN {AREAS} k ON k.id = r.kecamatan_id
LEFT JOIN {AREAS} kl ON kl.id = r.kelurahan_id
LEFT JOIN {AREAS} kk ON kk.id = k.parent_id AND kk.level = 'kabupaten_kota'
LEFT JOIN LATERAL (SELECT a.name FROM {AREAS} a WHERE a.level = 'kabupaten_kota'
                   AND ST_Intersects(a.geom, ST_PointOnSurface(r.geom)) LIMIT 1) kk2 ON kk.id IS NULL
WHERE r.id = ANY(%s) ORDER BY r.id
"""
_LOCATION_GEOM_SQL = f"""
SELECT a.level, a.name FROM {AREAS} a
WHERE a.level IN ('kabupaten_kota', 'kecamatan', 'kelurahan')
  AND ST_Intersects(a.geom, ST_SetSRID(ST_GeomFromGeoJSON(%s), {STORAGE_SRID}))
ORDER BY a.level, a.name
"""
MAX_LOCATION_ROADS = 50


def _names(values) -> list[str]:
    return sorted({v for v in values if v})


def location_get(*, road_ids: list[int] | None = None, geometry: dict | None = None) -> dict:
    """Where the works are: road names, kecamatan, kelurahan and the
    kabupaten/kota (its name is matched with a price list's region)."""
    if road_ids:
        with connection.cursor() as cur:
            cur.execute(_LOCATION_ROADS_SQL, [list(road_ids)])
            rows = cur.fetchall()
        return {
            "roads": [{"id": i, "name": n or f"Jalan #{i}", "kecamatan": k, "kelurahan": kl} for i, n, k, kl, _ in rows[:MAX_LOCATION_ROADS]],
            "road_names": _names(r[1] for r in rows),
            "kecamatan": _names(r[2] for r in rows),
            "kelurahan": _names(r[3] for r in rows),
            "kabupaten_kota": _names(r[4] for r in rows),
        }
    with connection.cursor() as cur:
        cur.execute(_LOCATION_GEOM_SQL, [json.dumps(geometry)])
        rows = cur.fetchall()
    return {"roads": [], "road_names": [], **{lvl: _names(n for lv, n in rows if lv == lvl) for lvl in ("kecamatan", "kelurahan", "kabupaten_kota")}}


def price_list_for_location(location: dict) -> PriceList | None:
    """The newest price list whose region is the location's kabupaten/kota, if any."""
    regions = location.get("kabupaten_kota") or []
    if len(regions) != 1:
        return None
    return PriceList.objects.filter(region__iexact=regions[0]).order_by("-year").first()


def region_check(location: dict, price_list: dict) -> dict:
    """Is the price list the location's region's? `matched` True/False, or None when the region is unknown."""
    regions = location.get("kabupaten_kota") or []
    region = price_list["region"]
    if not regions:
        return {"matched": None, "warning": (f"Wilayah (kabupaten/kota) lokasi tidak diketahui: daftar harga {region} "
                                             f"{price_list['year']} dipakai — periksa apakah berlaku untuk lokasi ini.")}
    if any(r.lower() == region.lower() for r in regions):
        return {"matched": True, "warning": None}
    return {"matched": False, "warning": (f"Daftar harga {region} {price_list['year']} dipakai untuk lokasi di "
                                          f"{', '.join(regions)}: harga satuan wilayah lain, ganti dengan daftar harga setempat.")}


def estimate_build(*, template: PavementTemplate, pieces: list[Piece], price_list: PriceList | None = None,
                   location: dict | None = None) -> dict:
    """Quantities of the template over the pieces, priced (SPEC §4 shape),
    with Divisi 1/SMKK lines, the rounded total, where the works are and
    whether the price list is that region's."""
    q = template_quantities(template, pieces)
    bill = price_items(q["pay_items"], price_list=price_list, general=True)
    pl = bill["price_list"]
    location = location or {"roads": [], "road_names": [], "kecamatan": [], "kelurahan": [], "kabupaten_kota": []}
    region = region_check(location, pl)
    warnings = [region["warning"]] if region["warning"] else []
    assumptions = {
        "template": {"code": template.code, "name": template.name, "kind": template.kind, "source": template.source},
        "price_list": pl,
        "overhead_pct": bill["overhead_pct"],
        "tax_pct": bill["tax_pct"],
        "region_matched": region["matched"],
        "measurement": "lengths and areas on the WGS 84 spheroid (PostGIS geography); area of a line = length × width",
        "quantities": "volume = area × compacted thickness; mass = volume × density; asphalt mix with loss = aggregate share × 1.05 "
                      "+ bitumen share × 1.03 (per-component loss factors); asphalt paid by mass with loss (t), aggregate and concrete "
                      "by compacted volume (m³), paving by area (m²); quantities rounded to 0.01 of their unit",
        "general_items": "Divisi 1 (mobilisation, traffic management) and SMKK as a percentage of the physical works or a lump sum",
        "rounding": {"to": bill["rounding"]["to"], "mode": bill["rounding"]["mode"]},
        "materials": {layer["material"]: {"density_t_m3": layer["density_t_m3"], "loss_factor": layer["loss_factor"],
                                          **({"bitumen_share": layer["bitumen_share"], "aggregate_loss_factor": layer["aggregate_loss_factor"],
                                              "bitumen_loss_factor": layer["bitumen_loss_factor"]} if "bitumen_share" in layer else {})}
                      for layer in q["layers"]},
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
        "works": q["works"],
        "concrete": q["concrete"],
        "steel": q["steel"],
        "items": bill["items"],
        "physical_subtotal": bill["physical_subtotal"],
        "subtotal": bill["subtotal"],
        "overhead": bill["overhead"],
        "tax": bill["tax"],
        "total_unrounded": bill["total_unrounded"],
        "rounding_adjustment": bill["rounding"]["adjustment"],
        "total": bill["total"],
        "total_words": bill["total_words"],
        "currency": bill["currency"],
        "location": location,
        "warnings": warnings,
        "assumptions": assumptions,
    }


TOPSOIL_ITEM = "3.1.(10)"  # Pengupasan tanah humus (m³)
EXCAVATION_ITEM = "3.1.(1)"  # Galian biasa (m³ bank)
EMBANKMENT_ITEM = "3.2.(1a)"  # Timbunan biasa dari sumber galian: borrow (m³ compacted)
REUSE_ITEM = "3.2.(1b)"  # Timbunan biasa dari hasil galian: cut reused (m³ compacted)
DISPOSAL_ITEM = "3.1.(9)"  # Pembuangan bahan galian (m³ loose)


def earthwork_bill(result: dict, *, price_list: PriceList | None = None) -> dict | None:
    """Cost of an earthwork result (SPEC §6): topsoil stripping, excavation of the cut (bank m³), fill from
    the cut reused first, then from borrow (compacted m³), disposal of the surplus and topsoil (loose m³);
    None when the price list lacks these items."""
    b = result["balance"]
    lines = [(TOPSOIL_ITEM, b["topsoil_m3"]), (EXCAVATION_ITEM, result["cut_m3"]), (REUSE_ITEM, b["fill_from_cut_m3"]),
             (EMBANKMENT_ITEM, b["fill_from_borrow_m3"]), (DISPOSAL_ITEM, b["disposal_loose_m3"])]
    try:
        bill = price_items([{"code": c, "quantity": q} for c, q in lines if q > 0], price_list=price_list)
    except EstimateInputError:
        return None
    return {k: bill[k] for k in ("items", "subtotal", "overhead", "tax", "total", "total_words", "currency", "price_list")}
