"""Default reference data from estimates/data/ (CSV/JSON, each value with its
source or 'estimate'): concrete mixes, materials, pavement templates, the
default price list and the condition → treatment table.

`load_defaults(get_model)` upserts by natural key (code, grade, region+year,
condition+surface). It runs in the data migration (with historical models)
and from estimates.demo.load; edits made in the admin to rows that are not
in the files are left alone, rows in the files are reset to the files."""
from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Callable

DATA_DIR = Path(__file__).resolve().parent / "data"


def _csv(name: str) -> list[dict]:
    with open(DATA_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _json(name: str):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _none(v):
    return None if v in ("", None) else v


def load_defaults(get_model: Callable[[str], type]) -> dict:
    ConcreteMix = get_model("ConcreteMix")
    Material = get_model("Material")
    PavementTemplate = get_model("PavementTemplate")
    Layer = get_model("Layer")
    Coat = get_model("Coat")
    PriceList = get_model("PriceList")
    UnitPrice = get_model("UnitPrice")
    Treatment = get_model("Treatment")
    counts = {}

    mixes = {}
    for row in _csv("concrete_mixes.csv"):
        mixes[row["grade"]], _ = ConcreteMix.objects.update_or_create(
            grade=row["grade"],
            defaults={k: float(row[k]) for k in ("cement_kg", "sand_kg", "gravel_kg", "water_l")} | {"source": row["source"]},
        )
    counts["concrete_mixes"] = len(mixes)

    materials = {}
    for row in _csv("materials.csv"):
        materials[row["code"]], _ = Material.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "density_t_m3": float(row["density_t_m3"]),
                "density_source": row["density_source"],
                "loss_factor": float(row["loss_factor"]),
                "loss_source": row["loss_source"],
                "concrete_mix": mixes[row["concrete_mix"]] if _none(row.get("concrete_mix")) else None,
            },
        )
    counts["materials"] = len(materials)

    templates = {}
    for t in _json("templates.json"):
        fields = {k: v for k, v in t.items() if k not in ("code", "layers", "coats")}
        for key in ("dowel_item", "tie_bar_item", "steel_source"):
            fields[key] = fields.get(key) or ""
        tpl, _ = PavementTemplate.objects.update_or_create(code=t["code"], defaults=fields)
        Layer.objects.filter(template=tpl).delete()
        Coat.objects.filter(template=tpl).delete()
        for layer in t["layers"]:
            Layer.objects.create(template=tpl, **{**layer, "material": materials[layer["material"]]})
        for coat in t["coats"]:
            Coat.objects.create(template=tpl, **coat)
        templates[t["code"]] = tpl
    counts["templates"] = len(templates)

    n_prices = 0
    for pl in _json("price_lists.json"):
        meta = {k: v for k, v in pl.items() if k not in ("region", "year", "file")}
        meta["overhead_pct"], meta["tax_pct"] = Decimal(meta["overhead_pct"]), Decimal(meta["tax_pct"])
        obj, _ = PriceList.objects.update_or_create(region=pl["region"], year=pl["year"], defaults=meta)
        if obj.is_active:
            PriceList.objects.exclude(pk=obj.pk).filter(is_active=True).update(is_active=False)
        for row in _csv(pl["file"]):
            UnitPrice.objects.update_or_create(
                price_list=obj, code=row["code"],
                defaults={"description": row["description"], "unit": row["unit"], "price": Decimal(row["price"]), "source": row["source"]},
            )
            n_prices += 1
    counts["unit_prices"] = n_prices

    n = 0
    for row in _csv("treatments.csv"):
        Treatment.objects.update_or_create(
            condition=row["condition"], surface=row["surface"],
            defaults={"name": row["name"], "template": templates[row["template"]], "area_fraction": float(row["area_fraction"]),
                      "priority": int(row["priority"]), "source": row["source"]},
        )
        n += 1
    counts["treatments"] = n
    return counts
