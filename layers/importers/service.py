"""`import_layer`: read → validate → map → upsert by (source, source_id), in
one transaction. Every feature of the file ends up counted exactly once as
created, updated, skipped or rejected; rejected rows go to a CSV with reasons."""
import csv
import datetime
import io
import json
import math
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.db import OperationalError, connection, transaction
from tqdm import tqdm

from geo_platform import codes
from geo_platform.ranges import RANGES  # issue 12: one range table
from geo_platform.srid import STORAGE_SRID
from layers.importers import mapping as m
from layers.importers.postgis import assign_area_parents, assign_areas, assign_areas_in_table
from layers.importers.readers import FileError, distinct, read_batches
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


def _per_value(column, fn, n: int):
    """fn applied once to each distinct raw value of a column (None: the file
    lacks the column, every row is blank) → (values, errors) per row; an
    error is the RowError or SkipRow fn raised for that value (errors is
    None when no value raised one)."""
    def safe(value):
        try:
            return fn(value), None
        except (m.RowError, SkipRow) as exc:
            return None, exc

    if isinstance(fn, _Text) and column is not None and pd.api.types.is_string_dtype(column) and column.dtype != object:
        return fn.column(column), None  # never an error
    if column is None:
        value, error = safe(None)
        values = np.empty(n, dtype=object)
        values[:] = [value] * n
        if error is None:
            return values, None
        errors = np.empty(n, dtype=object)
        errors[:] = [error] * n
        return values, errors
    codes_, uniques = distinct(column)
    pairs = [safe(v) for v in uniques]
    values = np.empty(len(pairs), dtype=object)
    values[:] = [p[0] for p in pairs]
    if all(p[1] is None for p in pairs):
        return values[codes_], None
    errors = np.empty(len(pairs), dtype=object)
    errors[:] = [p[1] for p in pairs]
    return values[codes_], errors[codes_]


class _Text:
    """A free-text field: '' when blank, else the text (stripped) cut to
    `limit`; a column of strings is done at C speed (str methods mapped over
    the column, a slice only when a text is longer than `limit`)."""

    def __init__(self, limit: int, strip: bool = False):
        self.limit, self.strip = limit, strip

    def __call__(self, v):
        return "" if m.blank(v) else (str(v).strip() if self.strip else str(v))[:self.limit]

    def column(self, column: pd.Series) -> np.ndarray:
        texts = column.fillna("").to_numpy(dtype=object).tolist()
        stripped = list(map(str.strip, texts))
        if self.strip:
            texts = stripped
        elif "" in stripped:  # blank: ''
            texts = [t if s else "" for t, s in zip(texts, stripped)]
        if texts and max(map(len, texts)) > self.limit:
            texts = [t[:self.limit] for t in texts]
        out = np.empty(len(texts), dtype=object)
        out[:] = texts
        return out


_text = _Text


def _map_batch(layer: str, batch, cols: dict, mp: dict, ctx: dict) -> tuple[dict, np.ndarray]:
    """The layer's columns for a batch, each raw value of a column mapped once
    (codes, numbers, dates; SPEC §3), and per row the first error in the
    order the fields are read (None: the row maps cleanly)."""
    n = len(batch)
    attrs = batch.attrs

    def get(name):
        col = cols.get(name)
        return attrs[col] if col is not None and col in attrs.columns else None

    fields: list[tuple[str, object]] = []  # (field, fn of the raw value), in the order errors are raised
    if layer == "pju":
        panels = ctx["panels"]
        fields = [
            ("code", _text(100)),
            ("status", lambda v: m.as_code(v, "status", mp)),
            ("lamp_type", lambda v: m.as_code(v, "lamp_type", mp)),
            ("wattage_w", lambda v: m.as_float(v, "wattage_w", *RANGES["wattage_w"])),
            ("pole_height_m", lambda v: m.as_float(v, "pole_height_m", *RANGES["pole_height_m"])),
            ("ownership", m.as_ownership),
            ("legal", m.as_legal),
            ("power_source", _text(60)),
            ("pln_customer_id", _text(60)),
            ("installed_on", lambda v: m.as_date(v, "installed_on")),
            ("panel_id", lambda v: None if m.blank(v) else panels.get(str(v)), "panel"),
            ("controller_id", _text(64, strip=True)),  # issue 16
        ]
    elif layer == "panels":
        fields = [("code", _text(100)), ("pln_customer_id", _text(60)), ("meter", _text(60))]
    elif layer == "roads":
        if ctx["osm"] or cols.get("road_class", "").lower() == "highway":
            def road_class(raw):
                mapped = codes.OSM_HIGHWAY_CLASS.get(str(raw))
                if mapped is None:
                    raise SkipRow(f"highway={raw} is not a mapped road class")
                return mapped
        else:
            def road_class(raw):
                return m.as_code(raw, "road_class", mp, default="local")
        fields = [
            ("road_class", road_class),
            ("lanes", lambda v: (lambda f: int(f) if f else None)(m.as_float(v, "lanes", *RANGES["lanes"]))),
            ("width_m", lambda v: m.as_float(v, "width_m", *RANGES["width_m"])),
            ("name", _text(300, strip=True)),
            ("section_code", _text(60)),
            ("authority", lambda v: m.as_code(v, "authority", mp)),
            ("surface", codes.osm_surface if ctx["osm"] else (lambda v: m.as_code(v, "surface", mp))),
            ("condition", lambda v: m.as_code(v, "condition", mp)),
            ("sdi", lambda v: m.as_float(v, "sdi", *RANGES["sdi"])),
            ("iri", lambda v: m.as_float(v, "iri", *RANGES["iri"])),
            ("surveyed_on", lambda v: m.as_date(v, "surveyed_on")),
        ]
    else:  # areas
        def level(raw):
            value = m.as_code(raw, "level", mp, default="") if not m.blank(raw) else ctx["default_level"]
            if value not in codes.AREA_LEVEL_RANK:
                raise m.RowError("level: cannot tell the administrative level", raw)
            return value

        def name(raw):
            if m.blank(raw):
                raise m.RowError("name: empty")
            return str(raw).strip()[:200]

        fields = [("level", level), ("name", name), ("code", lambda v: None if m.blank(v) else str(v).strip()[:40])]
    values: dict = {}
    error = np.full(n, None, dtype=object)
    for field, fn, *column in fields:
        values[field], errors = _per_value(get(column[0] if column else field), fn, n)
        if errors is not None:
            first = (error == None) & (errors != None)  # noqa: E711 — element-wise on object arrays
            error[first] = errors[first]
    if layer == "roads":
        values["approximate"] = batch.approximate if batch.approximate is not None else np.zeros(n, dtype=bool)
    if layer == "areas":  # an area without a code is named after its source id
        missing = values["code"] == None  # noqa: E711
        values["code"][missing] = [f"{ctx['source']}-{sid}"[:40] for sid in batch.source_ids[missing]]
    return values, error


class SkipRow(Exception):
    pass


MEASURE = {"roads": ("length_m", "ST_Length(s.geom::geography)"), "areas": ("area_m2", "ST_Area(s.geom::geography)")}


def _create_stage(layer: str) -> list[str]:
    """An empty staging table shaped like the layer's table, in the import's
    private schema (_private_schema)."""
    table = LAYERS[layer]._meta.db_table
    cols = ["source", "source_id", *COLUMNS[layer], "geom"]
    with connection.cursor() as cur:
        cur.execute(f"CREATE UNLOGGED TABLE import_stage AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA")
        cur.execute("ALTER TABLE import_stage ADD COLUMN id bigserial")
    return cols


@contextmanager
def _private_schema():
    """A schema of the import's own, first on the search path, for its
    staging tables. They are UNLOGGED tables, not temporary ones, so that
    PostgreSQL can scan them with parallel workers (the area membership runs
    on every core); created in the import's transaction and never committed,
    they are seen by no other session, and a rollback or a killed worker
    takes them away with the transaction. Dropped at the end."""
    name = f"import_{uuid.uuid4().hex[:16]}"
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('search_path')")
        path = cur.fetchone()[0]
        cur.execute(f"CREATE SCHEMA {name}")
        cur.execute("SELECT set_config('search_path', %s, true)", [f"{name}, {path}"])
    yield name
    with connection.cursor() as cur:
        cur.execute(f"DROP SCHEMA {name} CASCADE")
        cur.execute("SELECT set_config('search_path', %s, true)", [path])


def _text_columns(layer: str) -> list[str]:
    model = LAYERS[layer]
    return [c for c in COLUMNS[layer] if model._meta.get_field(c).get_internal_type() in ("CharField", "TextField")]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_texts(values: np.ndarray, not_null: bool) -> list[str]:
    """A column's fields for COPY's text format, the values PostgreSQL gets
    as it got them from the CSV pandas wrote: str(value) (a float's repr(),
    a boolean True/False), a missing value (None, NaN, pd.isna) NULL; in a
    FORCE_NOT_NULL column '' instead, elsewhere an empty text NULL too (an
    unquoted empty CSV field)."""
    if values.dtype == bool:
        return np.where(values, "True", "False").tolist()
    values = np.asarray(values, dtype=object)
    missing = pd.isna(values)
    if missing.all():
        return ["" if not_null else "\\N"] * len(values)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        texts = (np.where(missing, "", values) if missing.any() else values).tolist()
    else:  # as the csv module writes an object: a float by repr(), anything else by str()
        texts = ["" if gone else v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)
                 for v, gone in zip(values.tolist(), missing.tolist())]
    joined = "".join(texts)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        texts = [t.translate(_COPY_ESCAPES) for t in texts]
    if not not_null and "" in texts:
        texts = [t or "\\N" for t in texts]
    return texts


def _ewkb_hex(wkb: np.ndarray, srid: int) -> list[str]:
    """Hex EWKB with `srid` from plain WKB (shapely.to_wkb's default): the
    type gets the SRID flag and the SRID follows it — the bytes
    shapely.to_wkb(set_srid(g, srid), include_srid=True) writes, without
    cloning each geometry to set its SRID."""
    texts = [w.hex() for w in wkb.tolist()]
    heads = {}
    for head in {t[:10] for t in texts}:  # byte order and type: a handful per batch
        raw = bytes.fromhex(head)
        order = "little" if raw[0] == 1 else "big"
        kind = int.from_bytes(raw[1:5], order) | 0x20000000
        heads[head] = (raw[:1] + kind.to_bytes(4, order) + srid.to_bytes(4, order)).hex()
    return [heads[t[:10]] + t[10:] for t in texts]


def _copy_frame(layer: str, cols: list[str], frame: dict, cursor) -> None:
    """COPY a batch of validated rows (`frame`: column name → array of
    values, geometry as hex EWKB) into the staging table, in COPY's text
    format written column by column. `cursor`: a cursor of the import's
    connection (this runs on the copy thread of _validate_into_stage, where
    `connection` would be another one)."""
    n = len(frame["geom"])
    if not n:
        return
    not_null = {"source", "source_id", *_text_columns(layer)}
    fields = []
    for c in cols:
        if c == "geom":
            fields.append(frame[c])
        elif np.ndim(frame[c]) == 0:  # one value for every row (the source)
            fields.append(_copy_texts(np.array([frame[c]], dtype=object), c in not_null) * n)
        else:
            fields.append(_copy_texts(frame[c], c in not_null))
    text = "\n".join(map("\t".join, zip(*fields))) + "\n"
    del fields
    cursor.copy_expert(f"COPY import_stage ({', '.join(cols)}) FROM STDIN", io.StringIO(text), 1 << 20)


def _finish_stage(layer: str, on_progress, cancelled) -> None:
    """Compute, beside the staging table, what the asset table stores besides
    the file's values — area membership, into table import_membership (id,
    kec, kel), in set-based steps (layers.importers.postgis) — so the upsert
    writes each row once."""
    with connection.cursor() as cur:
        if layer != "areas":
            cur.execute("CREATE INDEX ON import_stage USING gist (geom)")
        cur.execute("ANALYZE import_stage")
    if layer == "areas":
        return

    def step(fraction):
        if cancelled():
            raise ImportCancelled
        on_progress("membership", 0.1 + 0.9 * fraction)

    step(0.0)
    assign_areas_in_table("import_stage", points=layer in ("pju", "panels"), pieces=True, into="import_membership",
                          on_step=step)
    with connection.cursor() as cur:
        cur.execute("ANALYZE import_membership")


def _upsert(layer: str, source: str, staged: int) -> tuple[int, int, int, int]:
    """INSERT … SELECT … FROM import_stage ON CONFLICT (source, source_id) DO UPDATE.
    Returns (created, updated, unchanged, kept)."""
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
        select += ["mb.kec", "mb.kel"]
        derived += ["kecamatan_id", "kelurahan_id"]
    sets += [f"{c} = EXCLUDED.{c}" for c in derived]
    conflict = "(code)" if layer == "areas" else "(source, source_id) WHERE source_id <> ''"
    membership = "" if layer == "areas" else "LEFT JOIN import_membership mb ON mb.id = s.id"
    # A bulk load locks the table first, so `known` cannot change under it.
    restore = _drop_for_bulk(table) if staged >= BULK_ROWS and _holds_fewer(table, staged) else []
    with connection.cursor() as cur:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE source = %s AND source_id <> '')", [source])
        known = cur.fetchone()[0]
    if restore and not known and layer != "areas":
        # A bulk first import of a source: no ON CONFLICT needs the (source, source_id) index, and
        # the staged ids are unique (validation), so it is built once after the INSERT too — a
        # unique build, which would still refuse a duplicate — instead of a million insertions.
        restore = _drop_source_index(LAYERS[layer]) + restore
    # A first import of a source meets none of its rows: a plain INSERT (areas
    # are matched by code, whatever their source).
    on_conflict = f"""ON CONFLICT {conflict} DO UPDATE SET {', '.join(sets)},
                source = EXCLUDED.source, source_id = EXCLUDED.source_id,
                updated_at = now(), version = t.version + 1
            WHERE {changed}""" if known or layer == "areas" else ""
    # One statement: the upsert, and the history (channel "import") of each
    # created or changed feature from its RETURNING rows. Unchanged rows are
    # not rewritten (no dead row versions, no history entry).
    sql = f"""
        WITH written AS (
            INSERT INTO {table} AS t ({', '.join(insert_cols)})
            SELECT {', '.join(select)} FROM import_stage s {membership}
            {on_conflict}
            RETURNING id, (xmax = 0) AS inserted
        ), history AS (
            INSERT INTO layers_auditlog (layer, object_id, action, at, changes, before, channel)
            SELECT %s, id, CASE WHEN inserted THEN 'create' ELSE 'update' END, now(), %s::jsonb, '{{}}'::jsonb, 'import'
            FROM written
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FROM written
    """
    with connection.cursor() as cur:
        kept = 0
        if keep and known:  # a first import of this source keeps nothing: no join over the staged rows
            # Rows where this file would have overwritten a value set in the field.
            cur.execute(f"""SELECT count(*) FROM import_stage s JOIN {table} t
                            ON t.source = s.source AND t.source_id = s.source_id AND t.source_id <> ''
                            WHERE t.{keep[1]} = 'field' AND t.{keep[0]} IS DISTINCT FROM s.{keep[0]}""")
            kept = cur.fetchone()[0]
        cur.execute(sql, [layer, json.dumps({"source": source})])
        created, written = cur.fetchone()
        _restore_after_bulk(restore)
        cur.execute("DROP TABLE import_stage")
        cur.execute("DROP TABLE IF EXISTS import_membership")
    return created, written - created, staged - written, kept


# A bulk load — at least BULK_ROWS rows and more than the table holds — drops
# the table's plain (non-unique) indexes and its foreign keys, and restores
# them after the upsert, in the same transaction: one sorted build per index
# instead of a million insertions (two of them GiST), and one set-based check
# per foreign key instead of one query per row and key. The price: the
# layer's table is locked (ACCESS EXCLUSIVE) until the import commits. When
# the lock cannot be had within BULK_LOCK_TIMEOUT (readers busy), the indexes
# and keys are maintained row by row as usual.
BULK_ROWS = 20_000
BULK_LOCK_TIMEOUT = "2s"


def _holds_fewer(table: str, rows: int) -> bool:
    """Whether `table` holds fewer than `rows` rows (counts no further)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS head", [rows])
        return cur.fetchone()[0] < rows


def _drop_for_bulk(table: str) -> list[str]:
    """Drop `table`'s non-unique indexes and foreign keys; the statements
    restoring them, or [] when the lock was refused (nothing dropped)."""
    with connection.cursor() as cur:
        cur.execute("""SELECT quote_ident(c.relname), pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary""", [table])
        indexes = cur.fetchall()
        cur.execute("SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table])
        keys = cur.fetchall()
        try:
            with transaction.atomic():  # a savepoint: a refused lock leaves the import going
                cur.execute(f"SET LOCAL lock_timeout = '{BULK_LOCK_TIMEOUT}'")
                cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                if keys:  # checks still pending from earlier in the transaction run now (ALTER TABLE refuses them)
                    cur.execute(f"SET CONSTRAINTS {', '.join(name for name, _ in keys)} IMMEDIATE")
                    cur.execute(f"ALTER TABLE {table} " + ", ".join(f"DROP CONSTRAINT {name}" for name, _ in keys))
                for name, _ in indexes:
                    cur.execute(f"DROP INDEX {name}")
        except OperationalError:
            return []
        finally:
            cur.execute("SET LOCAL lock_timeout = 0")
    return [definition for _, definition in indexes] + [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
                                                        for name, definition in keys]


def _drop_source_index(model) -> list[str]:
    """Drop the table's unique (source, source_id) index — the model's
    UniqueConstraint with a condition, which PostgreSQL holds as a partial
    unique index — and return the statement restoring it. The caller holds
    the table's ACCESS EXCLUSIVE lock (_drop_for_bulk)."""
    names = [c.name for c in model._meta.constraints if tuple(getattr(c, "fields", ())) == ("source", "source_id")]
    restore = []
    with connection.cursor() as cur:
        for name in names:
            cur.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
            restore.append(cur.fetchone()[0])
            cur.execute(f'DROP INDEX "{name}"')
    return restore


def _restore_after_bulk(statements: list[str]) -> None:
    with connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in statements:
            cur.execute(statement)


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
    total, batches = read_batches(path, layer, mp, id_field)
    on_progress("read", 1.0)
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
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                # Bulk statements: JIT compilation costs seconds and buys nothing here; sorts stay in
                # memory; the membership's joins run on parallel workers even over the small areas table.
                cur.execute("SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; "
                            "SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL parallel_setup_cost = 100")
            with _private_schema():
                stage_cols = _create_stage(layer)
                staged = _validate_into_stage(layer, batches, total, mp, ctx, is_osm, default_level, stage_cols,
                                              report, reasons, rejects, progress, on_progress, cancelled)
                if cancelled():
                    raise ImportCancelled
                on_progress("validate", 1.0)
                if staged:
                    on_progress("membership", 0.0)
                    _finish_stage(layer, on_progress, cancelled)
                    on_progress("membership", 1.0)
                    if cancelled():
                        raise ImportCancelled
                    on_progress("write", 0.0)
                    created, updated, unchanged, kept = _upsert(layer, source, staged)
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


def _common_geometries(geoms: np.ndarray, want: str) -> np.ndarray:
    """The cleaned geometry of each row in the common case — a point or line
    of the layer's type with finite lon/lat in range (and, for a line, two
    distinct points) — checked on the whole batch with shapely's vectorised
    functions by the same rules as _clean_geometry; None for any other row,
    which then goes through _clean_geometry alone (its exact reason, or a repair)."""
    out = np.full(len(geoms), None, dtype=object)
    if not len(geoms) or want not in ("Point", "LineString"):
        return out
    ok = (shapely.get_type_id(geoms) == (0 if want == "Point" else 1)) & ~shapely.is_empty(geoms)
    if ok.any():
        g = geoms[ok]  # a copy: geometries replaced below are replaced in g alone
        solid = shapely.get_coordinate_dimension(g) > 2  # Z or M: force_2d; a 2D geometry stays the one read
        if solid.any():
            g[solid] = shapely.force_2d(g[solid])
        coords, index = shapely.get_coordinates(g, return_index=True)
        bad = ~np.isfinite(coords).all(axis=1) | (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
        good = np.bincount(index[bad], minlength=len(g)) == 0
        if want == "LineString":
            # remove_repeated_points (tolerance 0) drops a point equal in x and y to the one before it:
            # only the lines holding such a pair go through it, the others are left as they are.
            repeated = (coords[1:] == coords[:-1]).all(axis=1) & (index[1:] == index[:-1])
            if repeated.any():
                lines = np.unique(index[1:][repeated])
                g[lines] = shapely.remove_repeated_points(g[lines])
            good &= (shapely.get_num_coordinates(g) >= 2) & (shapely.length(g) > 0)
        out[np.flatnonzero(ok)[good]] = g[good]
    return out


def _categorized(column: pd.Series) -> pd.Series:
    """`column` as pandas hashes an object column — factorized into a
    Categorical whose categories are hashed and spread by code — done once
    for both hash keys of _digests (the hashes are the same). Columns pandas
    hashes otherwise are returned as they are."""
    values = column.array
    if isinstance(values, pd.arrays.StringArray):  # python-backed str: hashed by its object ndarray
        values = values._ndarray
    elif isinstance(values, pd.arrays.NumpyExtensionArray) and values.dtype == object:
        values = values.to_numpy()
    else:
        return column
    codes_, categories = pd.factorize(values, sort=False)
    dtype = pd.CategoricalDtype(categories=pd.Index(categories, copy=False), ordered=False)
    return pd.Series(pd.Categorical.from_codes(codes_, dtype=dtype, validate=False), index=column.index, copy=False)


def _digests(batch, wkb: np.ndarray | None = None) -> list[int]:
    """Per row, a 128-bit digest of the raw geometry (`wkb`: shapely.to_wkb
    of batch.geoms, when the caller has it) and every attribute (two 64-bit
    pandas hashes), for 'identical duplicate row'."""
    frame = batch.attrs.copy(deep=False)
    frame["__wkb"] = shapely.to_wkb(batch.geoms) if wkb is None else wkb
    try:
        hashed = pd.DataFrame({i: _categorized(frame[c]) for i, c in enumerate(frame.columns)}, index=frame.index)
        first = pd.util.hash_pandas_object(hashed, index=False).to_numpy()
        second = pd.util.hash_pandas_object(hashed, index=False, hash_key="import.digest.02").to_numpy()
    except TypeError:  # values pandas cannot hash (lists or dicts of a JSON property): by their text
        # (the WKB by its hex: astype(str) would try to decode its bytes as UTF-8)
        raw = frame.pop("__wkb").tolist()
        frame = frame.astype(str)
        frame["__wkb"] = [w.hex() if isinstance(w, bytes) else "" for w in raw]
        first = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        second = pd.util.hash_pandas_object(frame, index=False, hash_key="import.digest.02").to_numpy()
    return [(a << 64) | b for a, b in zip(first.tolist(), second.tolist())]  # one int: a third of a tuple's memory


def _validate_into_stage(layer, batches, total, mp, ctx, is_osm, default_level, stage_cols,
                         report, reasons, rejects, progress, on_progress, cancelled) -> int:
    """Validate and map each batch of rows column-wise; COPY the good ones to
    the staging table a batch at a time. Returns the number of rows staged.
    Python touches a row alone only for the rare odd geometry (exact reason
    or repair) and for the duplicate checks (set operations on the whole
    batch; row by row only when the batch holds a duplicate).

    Batch n is COPYed on a second thread, over the import's own connection,
    while batch n+1 is read and validated (psycopg2 lets the GIL go while
    PostgreSQL parses the rows); at most one COPY is in flight, and it is
    waited for before this returns or raises."""
    pending = None
    with connection.cursor() as cur, ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-copy") as copier:
        def stage(frame):
            nonlocal pending
            if pending is not None:
                pending.result()  # the previous batch's COPY (its error, if any, raised here)
            pending = copier.submit(_copy_frame, layer, stage_cols, frame, cur)

        try:
            staged = _validate_batches(layer, batches, total, mp, ctx, is_osm, default_level, stage,
                                       report, reasons, rejects, progress, on_progress, cancelled)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                wait([pending])  # leaving on an error: the COPY in flight ends before the cursor and transaction do
    return staged


def _validate_batches(layer, batches, total, mp, ctx, is_osm, default_level, stage,
                      report, reasons, rejects, progress, on_progress, cancelled) -> int:
    """The loop of _validate_into_stage; `stage(frame)` COPYs a batch's good rows."""
    staged = 0
    seen: set[str] = set()
    digests: set[int] = set()
    area_codes: set[str] = set()
    cols = None
    source = ctx["source"]
    done = 0
    on_progress("validate", 0.0)
    bar = tqdm(total=total, desc=f"import {layer}", unit="feat", disable=not progress, file=sys.stderr)
    for batch in batches:
        n = len(batch)
        if cols is None:
            # OSM tags vary per element: SPEC §3 names the tags read.
            cols = OSM_TAGS if is_osm else m.resolve_columns(mp, list(batch.attrs.columns))
            if layer == "areas" and "level" not in cols and not default_level:
                lower = {str(k).lower() for k in batch.attrs.columns}
                ctx["default_level"] = next((lvl for col, lvl in m.AREA_LEVEL_BY_COLUMN if col in lower), None)
        error = np.full(n, None, dtype=object)
        if batch.skip is not None:
            for i in np.flatnonzero(batch.skip != None):  # noqa: E711
                error[i] = SkipRow(batch.skip[i])
        if batch.problem is not None:
            for i in np.flatnonzero((batch.problem != None) & (error == None)):  # noqa: E711
                error[i] = m.RowError(batch.problem[i])
        geoms = _common_geometries(batch.geoms, EXPECTED_GEOM[layer])
        for i in np.flatnonzero((geoms == None) & (error == None)):  # noqa: E711 — the rare odd geometry
            try:
                geoms[i] = _clean_geometry(batch.geoms[i], layer)
            except m.RowError as exc:
                error[i] = exc
        values, map_error = _map_batch(layer, batch, cols, mp, ctx)
        later = error == None  # noqa: E711
        error[later] = map_error[later]
        wkb = shapely.to_wkb(batch.geoms)  # the raw geometries: for the digests, and staged as they are when cleaning left them
        keep = _first_rows(error.tolist(), _digests(batch, wkb), batch.source_ids.tolist(),
                           values["code"].tolist() if layer == "areas" else None,
                           seen, digests, area_codes, report, reasons, rejects)
        if keep.any():
            every = keep.all()
            kept = geoms if every else geoms[keep]
            raw = batch.geoms if every else batch.geoms[keep]
            ewkb = wkb if every else wkb[keep]
            changed = np.fromiter((a is not b for a, b in zip(kept.tolist(), raw.tolist())), dtype=bool, count=len(kept))
            if changed.any():  # a geometry cleaning made anew: its own WKB
                ewkb = ewkb.copy()
                ewkb[changed] = shapely.to_wkb(kept[changed])
            frame = {c: values[c] if every else values[c][keep] for c in COLUMNS[layer]}
            frame.update(source=source, source_id=batch.source_ids if every else batch.source_ids[keep],
                         geom=_ewkb_hex(ewkb, STORAGE_SRID))
            stage(frame)
            staged += len(kept)
        done += n
        bar.update(n)
        if cancelled():
            raise ImportCancelled
        on_progress("validate", min(1.0, done / total) if total else 0.0)
    bar.close()
    return staged


def _first_rows(errors: list, row_digests: list[int], sids: list[str], area_code: list | None,
                seen: set, digests: set, area_codes: set, report: dict, reasons: Counter, rejects: list) -> np.ndarray:
    """Which rows of a batch are staged: those without an error that are no
    identical duplicate of a row staged before (digest), and whose id (and
    area code) no row staged before holds; the others counted as skipped or
    rejected, in the order of the file. When the batch's good rows hold no
    digest, id or code twice and none seen before — the common case — set
    operations decide for all of them at once."""
    keep = np.zeros(len(errors), dtype=bool)
    good = [i for i, exc in enumerate(errors) if exc is None]
    good_digests = row_digests if len(good) == len(errors) else [row_digests[i] for i in good]
    good_sids = sids if len(good) == len(errors) else [sids[i] for i in good]
    good_codes = None if area_code is None else [area_code[i] for i in good]
    if (len(set(good_digests)) == len(good) and digests.isdisjoint(good_digests)
            and len(set(good_sids)) == len(good) and seen.isdisjoint(good_sids)
            and (good_codes is None or (len(set(good_codes)) == len(good) and area_codes.isdisjoint(good_codes)))):
        digests.update(good_digests)
        seen.update(good_sids)
        if good_codes is not None:
            area_codes.update(good_codes)
        keep[good] = True
        checked = [(i, errors[i]) for i in range(len(errors)) if errors[i] is not None]
    else:
        checked = []
        for i, (exc, digest) in enumerate(zip(errors, row_digests)):
            if exc is None:
                if digest in digests:
                    exc = SkipRow("identical duplicate row")
                elif sids[i] in seen:
                    exc = m.RowError("duplicate id with different content", sids[i])
                elif area_code is not None and area_code[i] in area_codes:
                    exc = m.RowError("duplicate area code", area_code[i])
                else:
                    if area_code is not None:
                        area_codes.add(area_code[i])
                    seen.add(sids[i])
                    digests.add(digest)
                    keep[i] = True
                    continue
            checked.append((i, exc))
    for i, exc in checked:
        if isinstance(exc, SkipRow):
            report["skipped"] += 1
            reasons[f"skipped: {exc}"] += 1
        else:
            report["rejected"] += 1
            reasons[f"rejected: {exc.reason}"] += 1
            rejects.append((sids[i], str(exc)))
    return keep


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
