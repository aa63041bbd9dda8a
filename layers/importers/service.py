"""`import_layer`: read → validate → map → upsert by (source, source_id), in
one transaction. Every feature of the file ends up counted exactly once as
created, updated, skipped or rejected; rejected rows go to a CSV with reasons."""
import csv
import datetime
import hashlib
import io
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
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
            "power_source", "pln_customer_id", "installed_on", "panel_id", "controller_id"],
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


class _Memo:
    """The mapping functions are pure: each distinct raw value of a column is
    mapped once per import (a million rows hold a few hundred distinct codes),
    errors included."""

    def __init__(self, m_module):
        self.cache: dict = {}
        self.m = m_module
        for name in ("as_code", "as_float", "as_date", "as_ownership", "as_legal"):
            setattr(self, name, self._wrap(getattr(m_module, name)))

    def __getattr__(self, name):  # RowError, blank, …
        return getattr(self.m, name)

    def _wrap(self, fn):
        cache = self.cache

        def call(value, *args, **kw):
            try:
                key = (fn, type(value), value, args[:1], tuple(kw.items()))
                hit = cache.get(key, cache)
            except TypeError:  # unhashable value
                return fn(value, *args, **kw)
            if hit is cache:
                try:
                    hit = fn(value, *args, **kw)
                except self.m.RowError as exc:
                    hit = exc
                if len(cache) < 200_000:
                    cache[key] = hit
            if isinstance(hit, self.m.RowError):
                raise self.m.RowError(hit.reason, hit.detail)
            return hit

        return call


def _map_row(layer: str, attrs: dict, cols: dict, mp: dict, row: RawRow, ctx: dict) -> dict:
    m = ctx.get("memo") or _M  # noqa: F811 — memoised mapping functions

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
            "controller_id": "" if m.blank(get("controller_id")) else str(get("controller_id")).strip()[:64],  # issue 16
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


_M = m


MEASURE = {"roads": ("length_m", "ST_Length(s.geom::geography)"), "areas": ("area_m2", "ST_Area(s.geom::geography)")}


STAGE_BATCH = 10_000  # validated rows sent to the staging table per COPY


def _create_stage(layer: str) -> list[str]:
    """An empty temporary staging table shaped like the layer's table (dropped at commit)."""
    table = LAYERS[layer]._meta.db_table
    cols = ["source", "source_id", *COLUMNS[layer], "geom"]
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS import_stage")
        cur.execute(f"CREATE TEMP TABLE import_stage ON COMMIT DROP AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA")
        cur.execute("ALTER TABLE import_stage ADD COLUMN id bigserial, ADD COLUMN kecamatan_id bigint, ADD COLUMN kelurahan_id bigint")
    return cols


def _copy_value(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):  # geometry: hex EWKB, which PostGIS reads as input
        return value.hex()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_batch(cols: list[str], rows: list[tuple]) -> None:
    """COPY validated rows into the staging table (streamed: one batch in memory)."""
    if not rows:
        return
    buf = io.StringIO()
    buf.writelines("\t".join(map(_copy_value, row)) + "\n" for row in rows)
    buf.seek(0)
    with connection.cursor() as cur:
        cur.copy_expert(f"COPY import_stage ({', '.join(cols)}) FROM STDIN", buf)


def _finish_stage(layer: str) -> None:
    """Compute, in the staging table, what the asset table stores besides the
    file's values (area membership): the upsert then writes each row once."""
    if layer != "areas":
        with connection.cursor() as cur:
            cur.execute("CREATE INDEX ON import_stage USING gist (geom)")
            cur.execute("ANALYZE import_stage")
        assign_areas_in_table("import_stage", points=layer in ("pju", "panels"), pieces=True)


def _upsert(layer: str, source: str, staged: int) -> tuple[list[int], int, int, int, int]:
    """INSERT … SELECT … FROM import_stage ON CONFLICT (source, source_id) DO UPDATE.
    Returns (ids created or changed, created, updated, unchanged, kept)."""
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
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE source = %s AND source_id <> '')", [source])
        if keep and cur.fetchone()[0]:  # a first import of this source keeps nothing: no join over the staged rows
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
    unchanged = staged - len(result)
    return ids, created, updated, unchanged, kept


class ImportCancelled(Exception):
    """Raised when `cancelled()` turns true: the transaction is rolled back, nothing is written."""


def _no_progress(phase: str, fraction: float) -> None:
    pass


def import_layer(path, layer: str, *, source: str | None = None, id_field: str | None = None,
                 mapping_path=None, dry_run: bool = False, progress: bool = True,
                 default_level: str | None = None, rejects_dir: Path | None = None,
                 on_progress=None, cancelled=None) -> dict:
    """Import `path` into `layer`, all or nothing (one transaction).

    The file is read in batches; each batch is validated and mapped, then
    COPYed into a temporary staging table, so memory stays flat whatever the
    file's size. Area membership is computed on the staging table in SQL, and
    one INSERT … SELECT … ON CONFLICT writes the layer. `on_progress(phase,
    fraction)` is called with phase "read", "validate", "membership" and
    "write" (fraction 0–1 within the phase); `cancelled()` is polled between
    batches and between phases (ImportCancelled rolls everything back)."""
    on_progress = on_progress or _no_progress
    cancelled = cancelled or (lambda: False)
    path = Path(path)
    if layer not in LAYERS:
        raise FileError(f"unknown layer '{layer}' (pju, roads, areas, panels)")
    if not path.exists():
        raise FileError(f"no such file: {path}")
    try:
        mp = m.load_mapping(layer, mapping_path)
    except m.RowError as exc:
        raise FileError(str(exc)) from exc
    on_progress("read", 0.0)
    total, rows = read_rows(path, layer, mp, id_field)
    on_progress("read", 1.0)
    is_osm = path.name.lower().endswith(".pbf")
    source = source or ("osm" if is_osm else path.name.split(".")[0])
    ctx = {"osm": is_osm, "source": source, "default_level": default_level, "panels": {}, "memo": _Memo(m)}
    if layer == "pju":
        # A lamp names its panel by the panel's code or source id (e.g. Kediri's box_key).
        panels = Panel.objects.filter(deleted_at__isnull=True)
        ctx["panels"] = dict(panels.exclude(code="").values_list("code", "id"))
        ctx["panels"].update(panels.exclude(source_id="").values_list("source_id", "id"))

    report = {"file": str(path), "layer": layer, "source": source, "features": total,
              "created": 0, "updated": 0, "skipped": 0, "rejected": 0, "kept": 0, "reasons": {}, "dry_run": dry_run}
    reasons: Counter = Counter()
    rejects: list[tuple] = []
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                # Bulk statements: JIT compilation costs seconds and buys nothing here; sorts stay in memory.
                cur.execute("SET LOCAL jit = off; SET LOCAL work_mem = '256MB'")
            stage_cols = _create_stage(layer)
            staged = _validate_into_stage(layer, rows, total, mp, ctx, is_osm, default_level, stage_cols,
                                          report, reasons, rejects, progress, on_progress, cancelled)
            if cancelled():
                raise ImportCancelled
            on_progress("validate", 1.0)
            if staged:
                on_progress("membership", 0.0)
                _finish_stage(layer)
                on_progress("membership", 1.0)
                if cancelled():
                    raise ImportCancelled
                on_progress("write", 0.0)
                ids, created, updated, unchanged, kept = _upsert(layer, source, staged)
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
                on_progress("write", 1.0)
            if cancelled():
                raise ImportCancelled
            if dry_run:
                raise ImportAborted
    except ImportAborted:
        pass
    report["reasons"] = dict(sorted(reasons.items()))
    if rejects:
        report["rejects_file"] = str(_write_rejects(path, layer, rejects, rejects_dir))
    return report


PREVALIDATE_CHUNK = 5000


def _prevalidated(rows, layer: str):
    """(row, EWKB or None) for each row. The common case — a point or line
    of the layer's type with finite lon/lat in range (and, for a line, two
    distinct points) — is checked on whole chunks with shapely's vectorised
    functions, by the same rules as _clean_geometry; any other row gets None
    and goes through _clean_geometry alone (its exact reason, or a repair)."""
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= PREVALIDATE_CHUNK:
            yield from _prevalidate_chunk(chunk, EXPECTED_GEOM[layer])
            chunk = []
    yield from _prevalidate_chunk(chunk, EXPECTED_GEOM[layer])


def _prevalidate_chunk(chunk: list, want: str):
    out = np.full(len(chunk), None, dtype=object)
    if chunk and want in ("Point", "LineString"):
        geoms = np.array([r.geom if isinstance(r.geom, shapely.Geometry) else None for r in chunk], dtype=object)
        ok = (shapely.get_type_id(geoms) == (0 if want == "Point" else 1)) & ~shapely.is_empty(geoms)
        if ok.any():
            g = shapely.force_2d(geoms[ok])
            coords, index = shapely.get_coordinates(g, return_index=True)
            bad = ~np.isfinite(coords).all(axis=1) | (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
            good = np.bincount(index[bad], minlength=len(g)) == 0
            if want == "LineString":
                g = shapely.remove_repeated_points(g)
                good &= (shapely.get_num_coordinates(g) >= 2) & (shapely.length(g) > 0)
            if good.any():
                out[np.flatnonzero(ok)[good]] = shapely.to_wkb(shapely.set_srid(g[good], STORAGE_SRID), hex=False, include_srid=True)
    yield from zip(chunk, out)


def _validate_into_stage(layer, rows, total, mp, ctx, is_osm, default_level, stage_cols,
                         report, reasons, rejects, progress, on_progress, cancelled) -> int:
    """Validate and map each row; COPY the good ones to the staging table in
    batches. Returns the number of rows staged."""
    batch: list[tuple] = []
    staged = 0
    seen: set[str] = set()
    digests: set[bytes] = set()
    area_codes: set[str] = set()
    cols = None
    source = ctx["source"]
    step = max(1, min(STAGE_BATCH, total // 50 or 1))
    on_progress("validate", 0.0)
    rows = _prevalidated(rows, layer)
    for i, (row, ewkb) in enumerate(tqdm(rows, total=total, desc=f"import {layer}", unit="feat", disable=not progress, file=sys.stderr), 1):
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
            if ewkb is None:  # not the common case: checked (and repaired) one by one, for the exact reason
                geom = _clean_geometry(row.geom, layer)
                ewkb = shapely.to_wkb(shapely.set_srid(geom, STORAGE_SRID), hex=False, include_srid=True)
            values = _map_row(layer, row.attrs, cols, mp, row, ctx)
            # One EWKB serves both the duplicate check and the COPY.
            digest = hashlib.sha1(ewkb + repr(sorted(row.attrs.items(), key=str)).encode()).digest()
            if digest in digests:
                raise SkipRow("identical duplicate row")
            if row.source_id in seen:
                raise m.RowError("duplicate id with different content", row.source_id)
            if layer == "areas":
                if values["code"] in area_codes:
                    raise m.RowError("duplicate area code", values["code"])
                area_codes.add(values["code"])
            seen.add(row.source_id)
            digests.add(digest)
            batch.append((source, row.source_id, *[values[c] for c in COLUMNS[layer]], ewkb))
        except SkipRow as exc:
            report["skipped"] += 1
            reasons[f"skipped: {exc}"] += 1
        except m.RowError as exc:
            report["rejected"] += 1
            reasons[f"rejected: {exc.reason}"] += 1
            rejects.append((row.source_id, str(exc)))
        if len(batch) >= STAGE_BATCH:
            _copy_batch(stage_cols, batch)
            staged += len(batch)
            batch = []
        if i % step == 0:
            if cancelled():
                raise ImportCancelled
            on_progress("validate", min(1.0, i / total) if total else 0.0)
    _copy_batch(stage_cols, batch)
    return staged + len(batch)


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
