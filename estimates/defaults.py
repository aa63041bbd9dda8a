"""Default reference data from estimates/data/ (CSV/JSON, each value with its
source or 'estimate'): concrete mixes, materials, pavement templates, the
default price list and the condition → treatment table.

`load_defaults(get_model)` creates what is missing by natural key (code,
grade, region+year, condition+surface) and leaves existing rows alone, so
edits made in the admin survive `load_demo`; `overwrite=True` resets the
rows of the files to the files. It runs in the data migration (with
historical models) and from estimates.demo.load."""
from __future__ import annotations

import csv
import functools
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


@functools.lru_cache(maxsize=1)
def structures() -> dict:
    """Structure by design traffic (SPEC §6): ESA bands and class defaults per kind, data/structures.json."""
    return _json("structures.json")


def load_defaults(get_model: Callable[[str], type], *, overwrite: bool = False) -> dict:
    ConcreteMix = get_model("ConcreteMix")
    Material = get_model("Material")
    PavementTemplate = get_model("PavementTemplate")
    Layer = get_model("Layer")
    Coat = get_model("Coat")
    PriceList = get_model("PriceList")
    UnitPrice = get_model("UnitPrice")
    Treatment = get_model("Treatment")
    def optional(name):  # models newer than a historical migration state are skipped there
        try:
            return get_model(name)
        except LookupError:
            return None

    TemplateItem = optional("TemplateItem")
    GeneralItem = optional("GeneralItem")
    counts = {}

    def upsert(model, lookup: dict, defaults: dict):
        names = {f.name for f in model._meta.get_fields()}
        defaults = {k: v for k, v in defaults.items() if k in names}  # fields a historical model lacks
        if overwrite:
            obj, created = model.objects.update_or_create(**lookup, defaults=defaults)
        else:
            obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
        counts["created"] = counts.get("created", 0) + int(created)
        return obj, created

    mixes = {}
    for row in _csv("concrete_mixes.csv"):
        mixes[row["grade"]], _ = upsert(
            ConcreteMix, {"grade": row["grade"]},
            {k: float(row[k]) for k in ("cement_kg", "sand_kg", "gravel_kg", "water_l")} | {"source": row["source"]},
        )
    counts["concrete_mixes"] = len(mixes)

    materials = {}
    for row in _csv("materials.csv"):
        materials[row["code"]], _ = upsert(
            Material, {"code": row["code"]},
            {
                "name": row["name"],
                "density_t_m3": float(row["density_t_m3"]),
                "density_source": row["density_source"],
                "kind": row.get("kind") or "other",
                "loss_factor": float(row["loss_factor"]),
                "loss_source": row["loss_source"],
                "binder_share": float(row["binder_share"]) if _none(row.get("binder_share")) else None,
                "binder_loss_factor": float(row.get("binder_loss_factor") or 1.0),
                "binder_source": row.get("binder_source") or "",
                "concrete_mix": mixes[row["concrete_mix"]] if _none(row.get("concrete_mix")) else None,
            },
        )
    counts["materials"] = len(materials)

    templates = {}
    for t in _json("templates.json"):
        fields = {k: v for k, v in t.items() if k not in ("code", "layers", "coats", "items")}
        for key in ("dowel_item", "tie_bar_item", "steel_source"):
            fields[key] = fields.get(key) or ""
        tpl, created = upsert(PavementTemplate, {"code": t["code"]}, fields)
        templates[t["code"]] = tpl
        if not (created or overwrite):
            continue
        Layer.objects.filter(template=tpl).delete()
        Coat.objects.filter(template=tpl).delete()
        if TemplateItem:
            TemplateItem.objects.filter(template=tpl).delete()
        for layer in t["layers"]:
            Layer.objects.create(template=tpl, **{**layer, "material": materials[layer["material"]]})
        coat_fields = {f.name for f in Coat._meta.get_fields()}
        for coat in t["coats"]:
            Coat.objects.create(template=tpl, **{k: v for k, v in coat.items() if k in coat_fields})
        for item in t.get("items", []) if TemplateItem else []:
            TemplateItem.objects.create(template=tpl, **item)
    counts["templates"] = len(templates)

    n_prices = 0
    for pl in _json("price_lists.json"):
        meta = {k: v for k, v in pl.items() if k not in ("region", "year", "file")}
        meta["overhead_pct"], meta["tax_pct"] = Decimal(meta["overhead_pct"]), Decimal(meta["tax_pct"])
        if "round_to" in meta:
            meta["round_to"] = Decimal(meta["round_to"])
        obj, created = upsert(PriceList, {"region": pl["region"], "year": pl["year"]}, meta)
        if (created or overwrite) and obj.is_active:
            PriceList.objects.exclude(pk=obj.pk).filter(is_active=True).update(is_active=False)
        for row in _csv(pl["file"]):
            upsert(
                UnitPrice, {"price_list": obj, "code": row["code"]},
                {"description": row["description"], "unit": row["unit"], "price": Decimal(row["price"]), "source": row["source"]},
            )
            n_prices += 1
    counts["unit_prices"] = n_prices

    n = 0
    for row in _csv("general_items.csv") if GeneralItem else []:
        pl = PriceList.objects.filter(region=row["region"], year=int(row["year"])).first()
        if pl is None:
            continue
        upsert(GeneralItem, {"price_list": pl, "code": row["code"]},
               {"position": int(row["position"]), "description": row["description"], "basis": row["basis"],
                "value": Decimal(row["value"]), "source": row["source"]})
        n += 1
    counts["general_items"] = n

    n = 0
    rows = _csv("treatments.csv")
    treatment_fields = {f.name for f in Treatment._meta.get_fields()}
    if "structure" not in treatment_fields:  # historical state before v2: the old rows come with 0005
        rows = []
    if overwrite:  # v2 (issue 14): rows by surface × condition; drop the rows of the old table
        keep = {(row["condition"], row["surface"]) for row in rows}
        for t in Treatment.objects.all():
            if (t.condition, t.surface) not in keep:
                t.delete()
    for row in rows:
        upsert(
            Treatment, {"condition": row["condition"], "surface": row["surface"]},
            {"name": row["name"], "template": templates[row["template"]] if row["template"] else None,
             "structure": row.get("structure") or "", "is_upgrade": (row.get("is_upgrade") or "").lower() == "true",
             "area_fraction": float(row["area_fraction"]), "priority": int(row["priority"]), "source": row["source"]},
        )
        n += 1
    counts["treatments"] = n
    return counts
