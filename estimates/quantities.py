"""Material quantities of a pavement template over measured pieces of road.

A *piece* is a drawn line (length × width), a road segment (its own length
and width) or a polygon (area only). All quantities follow DOMAIN §2:

    volume_m3 = area_m2 × thickness_m                 (compacted)
    mass_t = volume_m3 × density_t_m3
    mass_with_loss_t = mass_t × loss_factor           (one material)
    asphalt mix (binder share b, SPEC §6 per-component losses):
      aggregate_t = mass_t × (1 − b), with loss × loss_factor (1.05)
      bitumen_t = mass_t × b, with loss × binder_loss_factor (1.03)
      mass_with_loss_t = the sum of the two
    litres = area_m2 × rate_l_m2                     (prime/tack coats, rate by the surface it goes on)
    item quantity = area_m2 × rate_per_m2             (milling, grading, joint sealing, re-laying)

Rigid slabs (JPCP) add dowels across every internal transverse joint and
tie bars along every internal longitudinal joint; steel kg =
count × bar length × 0.00617·d² (d in mm). For a polygon (no length or
width) the counts are per-area rates: A / (joint spacing × bar spacing)."""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

from estimates.models import PAY_UNITS, PavementTemplate

STEEL_KG_PER_M_PER_MM2 = 0.00617  # kg/m = 0.00617·d² (d in mm), DOMAIN §2 ◐
# Dowel diameter (mm) by slab thickness (mm), Pd T-14-2003 (DOMAIN §2 ◐): upper bound → d
DOWEL_DIAMETERS = [(140, 20), (160, 24), (190, 28), (220, 33), (250, 36)]
EPS = 1e-9


@dataclass
class Piece:
    area_m2: float
    length_m: float | None = None
    width_m: float | None = None
    road_id: int | None = None
    width_source: str = ""
    notes: list[str] = field(default_factory=list)


def dowel_diameter_mm(slab_thickness_m: float) -> float:
    h = slab_thickness_m * 1000
    for upper, d in DOWEL_DIAMETERS:
        if h <= upper + EPS:
            return float(d)
    return float(DOWEL_DIAMETERS[-1][1])


def steel_kg_per_m(d_mm: float) -> float:
    return STEEL_KG_PER_M_PER_MM2 * d_mm * d_mm


def _joint_bars(piece: Piece, joint_spacing: float, bar_spacing: float, along_length: bool) -> float:
    """Bars across internal joints. Transverse joints (every joint_spacing of
    length) carry floor(W / bar spacing) dowels; longitudinal joints (every
    joint_spacing of width) carry floor(L / bar spacing) tie bars."""
    if piece.length_m is None or piece.width_m is None:
        return piece.area_m2 / (joint_spacing * bar_spacing)
    run, across = (piece.length_m, piece.width_m) if along_length else (piece.width_m, piece.length_m)
    joints = max(math.ceil(run / joint_spacing - EPS) - 1, 0)
    return joints * math.floor(across / bar_spacing + EPS)


def template_quantities(template: PavementTemplate, pieces: list[Piece]) -> dict:
    """Layer volumes and masses, coats, concrete constituents, steel and the
    pay quantities (item code → quantity) of a template over the pieces."""
    area = sum(p.area_m2 for p in pieces)
    lengths = [p.length_m for p in pieces]
    length = None if any(v is None for v in lengths) else sum(lengths)
    layers, coats, concrete, steel = [], [], [], []
    pay: "OrderedDict[str, dict]" = OrderedDict()

    def add_pay(code: str, description: str, unit: str, quantity: float):
        entry = pay.setdefault(code, {"code": code, "description": description, "unit": unit, "quantity": 0.0})
        entry["quantity"] += quantity

    slab = None
    for layer in template.layers.all():
        m = layer.material
        volume = area * layer.thickness_m
        mass = volume * m.density_t_m3
        split = {}
        if m.binder_share:
            aggregate, bitumen = mass * (1 - m.binder_share), mass * m.binder_share
            split = {"aggregate_t": aggregate, "aggregate_loss_factor": m.loss_factor, "aggregate_with_loss_t": aggregate * m.loss_factor,
                     "bitumen_share": m.binder_share, "bitumen_t": bitumen, "bitumen_loss_factor": m.binder_loss_factor,
                     "bitumen_with_loss_t": bitumen * m.binder_loss_factor}
            with_loss = split["aggregate_with_loss_t"] + split["bitumen_with_loss_t"]
        else:
            with_loss = mass * m.loss_factor
        layers.append({
            "name": layer.name,
            "material": m.code,
            "thickness_m": layer.thickness_m,
            "area_m2": area,
            "volume_m3": volume,
            "density_t_m3": m.density_t_m3,
            "mass_t": mass,
            "loss_factor": with_loss / mass if mass else m.loss_factor,
            "mass_with_loss_t": with_loss,
            **split,
            "pay_item": layer.pay_item,
            "pay_basis": layer.pay_basis,
            "source": layer.source,
        })
        basis_qty = {"mass": mass, "mass_with_loss": with_loss, "volume": volume, "area": area}[layer.pay_basis]
        add_pay(layer.pay_item, f"{layer.name} {layer.thickness_m * 1000:g} mm", PAY_UNITS[layer.pay_basis], basis_qty)
        if m.concrete_mix_id:
            mix = m.concrete_mix
            batched = volume * m.loss_factor
            concrete.append({
                "layer": layer.name, "grade": mix.grade, "volume_m3": volume, "volume_with_loss_m3": batched,
                "cement_kg": batched * mix.cement_kg, "sand_kg": batched * mix.sand_kg,
                "gravel_kg": batched * mix.gravel_kg, "water_l": batched * mix.water_l, "source": mix.source,
            })
        if layer.is_slab and slab is None:
            slab = layer

    for coat in template.coats.all():
        litres = area * coat.rate_l_m2
        coats.append({"name": coat.name, "rate_l_m2": coat.rate_l_m2, "on_surface": coat.on_surface, "litres": litres,
                      "pay_item": coat.pay_item, "source": coat.source})
        add_pay(coat.pay_item, coat.name, "L", litres)

    works = []
    for item in template.items.all():
        qty = area * item.rate_per_m2
        works.append({"name": item.name, "rate_per_m2": item.rate_per_m2, "unit": item.unit, "quantity": qty,
                      "pay_item": item.pay_item, "source": item.source})
        add_pay(item.pay_item, item.name, item.unit, qty)

    if template.kind == "rigid" and slab is not None:
        d_dowel = template.dowel_diameter_mm or dowel_diameter_mm(slab.thickness_m)
        dowels = sum(_joint_bars(p, template.joint_spacing_m, template.dowel_spacing_m, True) for p in pieces)
        ties = sum(_joint_bars(p, template.longitudinal_joint_spacing_m, template.tie_bar_spacing_m, False) for p in pieces)
        dowels, ties = math.ceil(dowels - EPS), math.ceil(ties - EPS)
        for name, count, d, length_bar, item in (
            ("Ruji (dowel)", dowels, d_dowel, template.dowel_length_m, template.dowel_item),
            ("Batang pengikat (tie bar)", ties, template.tie_bar_diameter_mm, template.tie_bar_length_m, template.tie_bar_item),
        ):
            kg = count * length_bar * steel_kg_per_m(d)
            steel.append({"name": name, "count": count, "diameter_mm": d, "length_m": length_bar, "kg_per_m": steel_kg_per_m(d), "kg": kg,
                          "pay_item": item, "source": template.steel_source})
            if item and kg:
                add_pay(item, f"{name} Ø{d:g} mm", "kg", kg)

    return {
        "length_m": length,
        "area_m2": area,
        "layers": layers,
        "coats": coats,
        "works": works,
        "concrete": concrete,
        "steel": steel,
        "pay_items": list(pay.values()),
    }
