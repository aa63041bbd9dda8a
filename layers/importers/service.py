"""`import_layer`: read → validate → map → upsert by (source, source_id), in
one transaction. Every feature of the file ends up counted exactly once as
created, updated, skipped or rejected; rejected rows go to a CSV with reasons."""
import csv
import datetime
import hashlib
import json
import math
import sys
from collections import Counter
from pathlib import Path

import shapely
from django.conf import settings
from django.db import connection, transaction
from psycopg2.extras import execute_values
from tqdm import tqdm

from geo_platform import codes
from geo_platform.ranges import RANGES  # issue 12: one range table
from geo_platform.srid import STORAGE_SRID
from layers.importers import mapping as m
from layers.importers.postgis import assign_area_parents, assign_areas, assign_areas_in_table
from layers.importers.readers import FileError, RawRow, read_rows
from layers.models import Area, Panel, RoadSegment, StreetLight

LAYERS = {"pju": StreetLight, "roads": RoadSegment, "areas": Area, "panels": Panel}
EXPECTED_GEOM = {"pju": "Point", "panels": "Point", "roads": "LineString", "areas": "MultiPolygon"}
# Columns written per layer (besides source, source_id, geom); `kept` names the
# field-set value a re-import must not overwrite, with its origin column.
COLUMNS = {
    "pju": ["code", "status", "lamp_type", "wattage_w", "pole_height_m", "ownership", "legal",
            "power_source", "pln_customer_id", "installed_on", "panel_id"],
    "panels": ["code", "pln_customer_id", "meter"],
    "roads": ["name", "section_code", "road_class", "authority", "surface", "width_m", "lanes",
              "condition", "sdi", "iri", "surveyed_on", "approximate"],
    "areas": ["level", "code", "name"],
}
OSM_TAGS = {"name": "name", "section_code": "ref", "road_class": "highway", "width_m": "width",
            "lanes": "lanes", "surface": "surface", "lamp_type": "lamp_type"}
KEPT = {"pju": ("status", "status_origin"), "roads": ("condition", "condition_origin")}


class ImportAborted(Exception):
    pass


def _clean_geometry(geom, layer: str):
    """Validated geometry in STORAGE_SRID (2D), or RowError with the reason."""
    if geom is None:
        raise m.RowError("no geometry")
    if geom.is_empty:
        raise m.RowError("empty geometry")
    geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not (coords.size and math.isfinite(coords.sum())):
        raise m.RowError("coordinates are not finite numbers (NaN/∞)")
    if (abs(coords[:, 0]) > 180).any() or (abs(coords[:, 1]) > 90).any():
        raise m.RowError("coordinates outside lon −180…180 / lat −90…90 (projected data without a declared CRS?)")
    want = EXPECTED_GEOM[layer]
    kind = geom.geom_type
    if want == "Point":
        if kind == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        elif kind != "Point":
            raise m.RowError(f"wrong geometry type {kind}: {layer} needs a Point")
    elif want == "LineString":
        if kind == "MultiLineString":
            merged = shapely.line_merge(geom)
            if merged.geom_type != "LineString":
                raise m.RowError(f"MultiLineString of {len(geom.geoms)} disconnected parts: split it into segments")
            geom = merged
        elif kind != "LineString":
            raise m.RowError(f"wrong geometry type {kind}: roads need a LineString")
        geom = shapely.remove_repeated_points(geom)
        if len(geom.coords) < 2 or geom.length == 0:
            raise m.RowError("line with fewer than two distinct points")
    else:
        if kind not in ("Polygon", "MultiPolygon"):
            raise m.RowError(f"wrong geometry type {kind}: areas need a Polygon or MultiPolygon")
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = shapely.make_valid(geom)
            polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
            fixed = shapely.union_all(polys) if polys else None
            # Safe repair: a valid polygonal result that keeps the area within 1 %.
            if fixed is None or fixed.is_empty or abs(fixed.area - abs(geom.area)) > 0.01 * fixed.area:
                raise m.RowError(f"invalid polygon that cannot be repaired safely ({reason})")
            geom = fixed
        if geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
    return geom


def _map_row(layer: str, attrs: dict, cols: dict, mp: dict, row: RawRow, ctx: dict) -> dict:
    def get(name):
        col = cols.get(name)
        return attrs.get(col) if col else None

    if layer == "pju":
        return {
            "code": "" if m.blank(get("code")) else str(get("code"))[:100],
            "status": m.as_code(get("status"), "status", mp),
            "lamp_type": m.as_code(get("lamp_type"), "lamp_type", mp),
            "wattage_w": m.as_float(get("wattage_w"), "wattage_w", *RANGES["wattage_w"]),
            "pole_height_m": m.as_float(get("pole_height_m"), "pole_height_m", *RANGES["pole_height_m"]),
            "ownership": m.as_ownership(get("ownership")),
            "legal": m.as_legal(get("legal")),
            "power_source": "" if m.blank(get("power_source")) else str(get("power_source"))[:60],
            "pln_customer_id": "" if m.blank(get("pln_customer_id")) else str(get("pln_customer_id"))[:60],
            "installed_on": m.as_date(get("installed_on"), "installed_on"),
            "panel_id": ctx["panels"].get(str(get("panel"))) if not m.blank(get("panel")) else None,
        }
    if layer == "panels":
        return {
            "code": "" if m.blank(get("code")) else str(get("code"))[:100],
            "pln_customer_id": "" if m.blank(get("pln_customer_id")) else str(get("pln_customer_id"))[:60],
            "meter": "" if m.blank(get("meter")) else str(get("meter"))[:60],
        }
    if layer == "roads":
        raw_class = get("road_class")
        if ctx["osm"] or cols.get("road_class", "").lower() == "highway":
            road_class = codes.OSM_HIGHWAY_CLASS.get(str(raw_class))
            if road_class is None:
                raise SkipRow(f"highway={raw_class} is not a mapped road class")
        else:
            road_class = m.as_code(raw_class, "road_class", mp, default="local")
        surface = get("surface")
        lanes = m.as_float(get("lanes"), "lanes", *RANGES["lanes"])
        width = m.as_float(get("width_m"), "width_m", *RANGES["width_m"])
        return {
            "name": "" if m.blank(get("name")) else str(get("name")).strip()[:300],
            "section_code": "" if m.blank(get("section_code")) else str(get("section_code"))[:60],
            "road_class": road_class,
            "authority": m.as_code(get("authority"), "authority", mp),
            "surface": codes.osm_surface(surface) if ctx["osm"] else m.as_code(surface, "surface", mp),
            "width_m": width,
            "lanes": int(lanes) if lanes else None,
            "condition": m.as_code(get("condition"), "condition", mp),
            "sdi": m.as_float(get("sdi"), "sdi", *RANGES["sdi"]),
            "iri": m.as_float(get("iri"), "iri", *RANGES["iri"]),
            "surveyed_on": m.as_date(get("surveyed_on"), "surveyed_on"),
            "approximate": row.approximate,
        }
    # areas
    level = get("level")
    level = m.as_code(level, "level", mp, default="") if not m.blank(level) else ctx["default_level"]
    if level not in codes.AREA_LEVEL_RANK:
        raise m.RowError("level: cannot tell the administrative level", get("level"))
    name = get("name")
    if m.blank(name):
        raise m.RowError("name: empty")
    code = get("code")
    code = f"{ctx['source']}-{row.source_id}" if m.blank(code) else str(code).strip()
    return {"level": level, "code": code[:40], "name": str(name).strip()[:200]}


class SkipRow(Exception):
    pass


MEASURE = {"roads": ("length_m", "ST_Length(s.geom::geography)"), "areas": ("area_m2", "ST_Area(s.geom::geography)")}


def _stage(layer: str, rows: list[tuple]) -> None:
    """Load rows into a temporary table and compute, there, what the asset
    table stores besides the file's values (area membership): one INSERT …
    SELECT then writes each row once, with no second pass over the table."""
    table = LAYERS[layer]._meta.db_table
    cols = ["source", "source_id", *COLUMNS[layer], "geom"]
    template = "(" + ", ".join(["%s"] * (len(cols) - 1)) + f", ST_GeomFromWKB(%s, {STORAGE_SRID}))"
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS import_stage")
        cur.execute(f"CREATE TEMP TABLE import_stage ON COMMIT DROP AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA")
        cur.execute("ALTER TABLE import_stage ADD COLUMN id bigserial, ADD COLUMN kecamatan_id bigint, ADD COLUMN kelurahan_id bigint")
        execute_values(cur, f"INSERT INTO import_stage ({', '.join(cols)}) VALUES %s", rows, template=template, page_size=5000)
        if layer != "areas":
            cur.execute("CREATE INDEX ON import_stage USING gist (geom)")
            cur.execute("ANALYZE import_stage")
    if layer != "areas":
        assign_areas_in_table("import_stage", points=layer in ("pju", "panels"))


def _upsert(layer: str, source: str, rows: list[tuple]) -> tuple[list[int], int, int, int, int]:
    """Stage, then INSERT … SELECT … ON CONFLICT (source, source_id) DO UPDATE.
    Returns (ids created or changed, created, updated, unchanged, kept)."""
    _stage(layer, rows)
    table = LAYERS[layer]._meta.db_table
    cols = COLUMNS[layer]
    keep = KEPT.get(layer)
    new = {c: f"EXCLUDED.{c}" for c in cols + ["geom"]}
    sets = []
    if keep:
        # A value set in the field is kept; a simulated one only until real data brings one.
        value, origin = keep
        held = f"(t.{origin} = 'field' OR (t.{origin} = 'simulated' AND EXCLUDED.{value} = 'unknown'))"
        new[value] = f"CASE WHEN {held} THEN t.{value} ELSE EXCLUDED.{value} END"
        sets.append(f"{origin} = CASE WHEN {held} THEN t.{origin} ELSE 'import' END")
    sets += [f"{c} = {expr}" for c, expr in new.items()]
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM {new[c]}" for c in cols) + " OR NOT ST_Equals(t.geom, EXCLUDED.geom)"
    insert_cols = ["source", "source_id", *cols, "geom", "created_at", "updated_at", "version"]
    select = ["s.source", "s.source_id", *(f"s.{c}" for c in cols), "s.geom", "now()", "now()", "1"]
    derived = []
    if keep:
        insert_cols.append(keep[1])
        select.append("'import'")
    if layer in MEASURE:
        insert_cols.append(MEASURE[layer][0])
        select.append(MEASURE[layer][1])
        derived.append(MEASURE[layer][0])
    if layer != "areas":
        insert_cols += ["kecamatan_id", "kelurahan_id"]
        select += ["s.kecamatan_id", "s.kelurahan_id"]
        derived += ["kecamatan_id", "kelurahan_id"]
    sets += [f"{c} = EXCLUDED.{c}" for c in derived]
    conflict = "(code)" if layer == "areas" else "(source, source_id) WHERE source_id <> ''"
    sql = f"""
        INSERT INTO {table} AS t ({', '.join(insert_cols)})
        SELECT {', '.join(select)} FROM import_stage s ORDER BY s.id
        ON CONFLICT {conflict} DO UPDATE SET {', '.join(sets)},
            source = EXCLUDED.source, source_id = EXCLUDED.source_id,
            updated_at = now(), version = t.version + 1
        WHERE {changed}
        RETURNING id, (xmax = 0) AS inserted
    """
    with connection.cursor() as cur:
        kept = 0
        if keep:
            # Rows where this file would have overwritten a value set in the field.
            cur.execute(f"""SELECT count(*) FROM import_stage s JOIN {table} t
                            ON t.source = s.source AND t.source_id = s.source_id AND t.source_id <> ''
                            WHERE t.{keep[1]} = 'field' AND t.{keep[0]} IS DISTINCT FROM s.{keep[0]}""")
            kept = cur.fetchone()[0]
        # Unchanged rows are not rewritten (no dead row versions, no audit entry, no RETURNING row).
        cur.execute(sql)
        result = cur.fetchall()
        cur.execute("DROP TABLE import_stage")
        # History (channel "import"): one entry per created or changed feature, set-based.
        audited = [(r[0], "create" if r[1] else "update") for r in result]
        if audited:
            cur.execute(
                "INSERT INTO layers_auditlog (layer, object_id, action, at, changes, before, channel) "
                "SELECT %s, a.id, a.action, now(), %s::jsonb, '{}'::jsonb, 'import' "
                "FROM unnest(%s::bigint[], %s::text[]) AS a(id, action)",
                [layer, json.dumps({"source": source}), [a[0] for a in audited], [a[1] for a in audited]],
            )
    ids = [r[0] for r in result]  # created or changed
    created = sum(1 for r in result if r[1])
    updated = len(result) - created
    unchanged = len(rows) - len(result)
    return ids, created, updated, unchanged, kept


def import_layer(path, layer: str, *, source: str | None = None, id_field: str | None = None,
                 mapping_path=None, dry_run: bool = False, progress: bool = True,
                 default_level: str | None = None, rejects_dir: Path | None = None) -> dict:
    path = Path(path)
    if layer not in LAYERS:
        raise FileError(f"unknown layer '{layer}' (pju, roads, areas, panels)")
    if not path.exists():
        raise FileError(f"no such file: {path}")
    try:
        mp = m.load_mapping(layer, mapping_path)
    except m.RowError as exc:
        raise FileError(str(exc)) from exc
    total, rows = read_rows(path, layer, mp, id_field)
    is_osm = path.name.lower().endswith(".pbf")
    source = source or ("osm" if is_osm else path.name.split(".")[0])
    ctx = {"osm": is_osm, "source": source, "default_level": default_level, "panels": {}}
    if layer == "pju":
        # A lamp names its panel by the panel's code or source id (e.g. Kediri's box_key).
        panels = Panel.objects.filter(deleted_at__isnull=True)
        ctx["panels"] = dict(panels.exclude(code="").values_list("code", "id"))
        ctx["panels"].update(panels.exclude(source_id="").values_list("source_id", "id"))

    report = {"file": str(path), "layer": layer, "source": source, "features": total,
              "created": 0, "updated": 0, "skipped": 0, "rejected": 0, "kept": 0, "reasons": {}, "dry_run": dry_run}
    reasons: Counter = Counter()
    rejects: list[tuple] = []
    batch: list[tuple] = []
    seen: dict[str, bytes] = {}
    digests: set[bytes] = set()
    area_codes: set[str] = set()
    cols = None
    for row in tqdm(rows, total=total, desc=f"import {layer}", unit="feat", disable=not progress, file=sys.stderr):
        if cols is None:
            # OSM tags vary per element: SPEC §3 names the tags read.
            cols = OSM_TAGS if is_osm else m.resolve_columns(mp, list(row.attrs.keys()))
            if layer == "areas" and "level" not in cols and not default_level:
                lower = {k.lower() for k in row.attrs}
                ctx["default_level"] = next((lvl for col, lvl in m.AREA_LEVEL_BY_COLUMN if col in lower), None)
        try:
            if row.skip:
                raise SkipRow(row.skip)
            if row.problem:
                raise m.RowError(row.problem)
            geom = _clean_geometry(row.geom, layer)
            values = _map_row(layer, row.attrs, cols, mp, row, ctx)
            wkb = shapely.to_wkb(geom, hex=False)
            digest = hashlib.sha1(wkb + repr(sorted(row.attrs.items(), key=str)).encode()).digest()
            if digest in digests:
                raise SkipRow("identical duplicate row")
            if row.source_id in seen:
                raise m.RowError("duplicate id with different content", row.source_id)
            if layer == "areas":
                if values["code"] in area_codes:
                    raise m.RowError("duplicate area code", values["code"])
                area_codes.add(values["code"])
            seen[row.source_id] = digest
            digests.add(digest)
            batch.append((source, row.source_id, *[values[c] for c in COLUMNS[layer]], wkb))
        except SkipRow as exc:
            report["skipped"] += 1
            reasons[f"skipped: {exc}"] += 1
        except m.RowError as exc:
            report["rejected"] += 1
            reasons[f"rejected: {exc.reason}"] += 1
            rejects.append((row.source_id, str(exc)))

    try:
        with transaction.atomic():
            if batch:
                ids, created, updated, unchanged, kept = _upsert(layer, source, batch)
                report.update(created=created, updated=updated)
                report["skipped"] += unchanged
                if unchanged:
                    reasons["skipped: unchanged since the last import"] += unchanged
                if kept:
                    report["kept"] = kept
                    reasons[f"kept: {KEPT[layer][0]} set in the field"] += kept
                if layer == "areas":
                    assign_area_parents()
                    if created or updated:  # membership of existing assets may change
                        for asset_model in (StreetLight, RoadSegment, Panel):
                            assign_areas(asset_model)
            if dry_run:
                raise ImportAborted
    except ImportAborted:
        pass
    report["reasons"] = dict(sorted(reasons.items()))
    if rejects:
        report["rejects_file"] = str(_write_rejects(path, layer, rejects, rejects_dir))
    return report


def _write_rejects(path: Path, layer: str, rejects: list[tuple], rejects_dir: Path | None) -> Path:
    folder = rejects_dir or Path(settings.BASE_DIR) / "var" / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    out = folder / f"{path.name}.{layer}.{stamp}.rejected.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source_id", "reason"])
        w.writerows(rejects)
    return out
