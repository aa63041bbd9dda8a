"""Readers turn a vector file into raw rows: (source_id, shapely geometry in
WGS 84 or None, attributes, problem). GeoPackage, Shapefile (also zipped),
GeoJSON, KML, FlatGeobuf go through GDAL (pyogrio); CSV/XLSX through pandas
with lon/lat (or start/end) columns; OpenStreetMap .osm.pbf through pyosmium."""
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo_platform import codes
from geo_platform.srid import STORAGE_SRID
from layers.importers.mapping import RowError, blank, resolve_columns

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}
VECTOR_SUFFIXES = {".gpkg", ".shp", ".zip", ".geojson", ".json", ".kml", ".fgb", ".gml"}


@dataclass
class RawRow:
    source_id: str
    geom: object | None  # shapely geometry in STORAGE_SRID
    attrs: dict = field(default_factory=dict)
    problem: str | None = None  # set when the row cannot be used
    approximate: bool = False
    skip: str | None = None  # set when the row is deliberately not imported


@dataclass
class Batch:
    """A batch of rows as columns: source ids, shapely geometries in
    STORAGE_SRID (None when missing), the attributes as a DataFrame, and per
    row (or None for none) a problem, a skip reason and the approximate flag."""
    source_ids: np.ndarray
    geoms: np.ndarray
    attrs: pd.DataFrame
    problem: np.ndarray | None = None
    skip: np.ndarray | None = None
    approximate: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.source_ids)


def batches_of(rows, size: int):
    """RawRows grouped into Batches of `size` rows (table and OSM readers)."""
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield _batch(chunk)
            chunk = []
    if chunk:
        yield _batch(chunk)


def _batch(rows: list[RawRow]) -> Batch:
    def column(values):
        out = np.empty(len(rows), dtype=object)
        out[:] = values
        return out

    return Batch(
        source_ids=column([r.source_id for r in rows]),
        geoms=column([r.geom for r in rows]),
        # Object columns, None where a row lacks the key (OSM tags vary per element), values as read.
        attrs=pd.DataFrame({k: pd.Series(column([r.attrs.get(k) for r in rows]), dtype=object)
                            for k in dict.fromkeys(k for r in rows for k in r.attrs)},
                           index=range(len(rows))),
        problem=column([r.problem for r in rows]),
        skip=column([r.skip for r in rows]),
        approximate=np.array([r.approximate for r in rows], dtype=bool),
    )


class FileError(ValueError):
    """The file as a whole cannot be read (format, CRS, layer)."""


def detect_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        return "osm"
    if path.suffix.lower() in TABLE_SUFFIXES:
        return "table"
    if path.suffix.lower() in VECTOR_SUFFIXES:
        return "vector"
    tif = {".tif", ".tiff", ".jp2", ".png", ".jpg", ".ecw", ".img", ".vrt"}
    if path.suffix.lower() in tif:
        raise FileError(f"{path.name} is a raster: use `manage.py import_imagery` for imagery")
    raise FileError(f"unsupported file type '{path.suffix}' (GeoPackage, Shapefile/.zip, GeoJSON, KML, CSV, XLSX or .osm.pbf)")


def read_batches(path: Path, layer: str, mapping: dict, id_field: str | None) -> tuple[int, Iterator[Batch]]:
    """(feature count, iterator of Batches of at most READ_BATCH rows)."""
    kind = detect_kind(path)
    if kind == "vector":
        return read_vector(path, layer, id_field)
    total, rows = read_osm(path, layer) if kind == "osm" else read_table(path, layer, mapping, id_field)
    return total, batches_of(rows, READ_BATCH)


def _to_storage_crs(gdf, path: Path):
    crs = gdf.crs
    if crs is None:
        # GeoJSON is WGS 84 by definition (RFC 7946); other files must declare their CRS
        # or hold lon/lat — out-of-range coordinates are then rejected row by row.
        return gdf.set_crs(STORAGE_SRID, allow_override=True)
    if CRS.from_user_input(crs).to_epsg() == STORAGE_SRID:
        return gdf
    try:
        return gdf.to_crs(STORAGE_SRID)
    except Exception as exc:  # pyproj raises several types for unusable CRSs
        raise FileError(f"cannot reproject from the file's CRS {crs}: {exc}") from exc


# A zipped Shapefile larger than this once inflated is refused (zip bomb); env IMPORT_MAX_UNZIPPED_BYTES.
MAX_UNZIPPED_BYTES = int(os.environ.get("IMPORT_MAX_UNZIPPED_BYTES", 4 * 1024**3))
LONLAT_CRS_NAMES = {f"epsg:{STORAGE_SRID}", f"urn:ogc:def:crs:epsg::{STORAGE_SRID}", "urn:ogc:def:crs:ogc:1.3:crs84", "crs84", "ogc:crs84"}


def check_zip(path: Path) -> None:
    """Refuse member names that climb out of the archive and archives that
    inflate beyond MAX_UNZIPPED_BYTES (GDAL reads them in place: nothing is extracted)."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileError(f"{path.name} is not a readable zip archive: {exc}") from exc
    for m in members:
        parts = PurePosixPath(m.filename.replace("\\", "/")).parts
        if m.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise FileError(f"{path.name}: unsafe member path {m.filename!r} (absolute or with ..)")
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise FileError(
            f"{path.name} inflates to {total:,} bytes uncompressed, more than the {MAX_UNZIPPED_BYTES:,} allowed (zip bomb?)"
        )


def _declared_geojson_crs(path: Path) -> str | None:
    """The name in an old-style GeoJSON `crs` member, if any (GDAL drops names PROJ does not know)."""
    if path.suffix.lower() not in {".geojson", ".json"}:
        return None
    with path.open("rb") as f:
        head = f.read(65536).decode("utf-8", "replace")
    match = re.search(r'"crs"\s*:\s*\{.*?"name"\s*:\s*"([^"]+)"', head, re.S)
    return match.group(1) if match else None


READ_BATCH = 50_000  # features read from the file at a time (memory stays flat)


def read_vector(path: Path, layer: str, id_field: str | None):
    """(feature count, row iterator) read in batches of READ_BATCH features:
    the first batch is read here, so an unreadable file or CRS fails at once."""
    if path.suffix.lower() == ".zip":
        check_zip(path)
    try:
        layers = pyogrio.list_layers(path)
        name = layers[0][0] if len(layers) else None
        info = pyogrio.read_info(path, layer=name, force_feature_count=True)
        total = int(info["features"])
        first = pyogrio.read_dataframe(path, layer=name, fid_as_index=True, max_features=READ_BATCH)
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise FileError(f"cannot read {path.name} as a vector file: {exc}") from exc
    if id_field and id_field not in first.columns:
        raise FileError(f"--id-field '{id_field}' is not a column of {path.name} (columns: {', '.join(map(str, first.columns))})")
    declared = _declared_geojson_crs(path)  # GDAL falls back to WGS 84 for names PROJ does not know
    if declared and declared.strip().lower() not in LONLAT_CRS_NAMES:
        raise FileError(f"{path.name} declares the CRS {declared!r}, which PROJ does not know")
    first = _to_storage_crs(first, path)

    # A GeoPackage table's features come in fid order (the fid is its rowid): the next batch is the rows
    # past the last fid read, which SQLite finds by the rowid — skip_features steps over every row before.
    fid = info.get("fid_column") if info.get("driver") == "GPKG" and first.index.is_monotonic_increasing else None
    fid = '"' + fid.replace('"', '""') + '"' if fid else None

    def batches():
        gdf, done = first, 0
        while True:
            yield gdf
            done += len(gdf)
            if len(gdf) < READ_BATCH or done >= total:
                return
            after = {"where": f"{fid} > {int(gdf.index[-1])}"} if fid else {"skip_features": done}
            try:
                gdf = pyogrio.read_dataframe(path, layer=name, fid_as_index=True, max_features=READ_BATCH, **after)
            except Exception as exc:
                raise FileError(f"cannot read {path.name} past feature {done}: {exc}") from exc
            if not len(gdf):
                return
            gdf = _to_storage_crs(gdf, path)

    def columns():
        done = 0
        for gdf in batches():
            ids = gdf[id_field] if id_field else pd.Series(gdf.index.to_numpy(), dtype=object)
            if pd.api.types.is_string_dtype(ids) and ids.dtype != object:  # text ids as they are, blank ones None
                sids = ids.to_numpy(dtype=object)
                texts = ids.fillna("").to_numpy(dtype=object).tolist()
                sids[~np.fromiter(map(bool, map(str.strip, texts)), dtype=bool, count=len(texts))] = None
            else:
                sids = per_distinct(pd.Series(ids.to_numpy(dtype=object)), lambda v: None if blank(v) else _id_text(v))
            blank_ids = pd.isna(sids)
            if blank_ids.any():  # rows without an id are numbered by their place in the file
                sids[blank_ids] = (np.flatnonzero(blank_ids) + done + 1).astype(str)
            done += len(gdf)
            attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).reset_index(drop=True)
            yield Batch(sids, np.asarray(gdf.geometry.values, dtype=object), attrs)

    return max(total, len(first)), columns()


def per_distinct(values: pd.Series, fn) -> np.ndarray:
    """fn applied once to each distinct value of `values` (a few hundred codes
    in a million rows), spread back to every row as an object array."""
    codes_, uniques = distinct(values)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [fn(v) for v in uniques]
    return mapped[codes_]


def distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(per row the index of its value in uniques, the distinct values as an
    object array), a missing value given as the file had it."""
    try:
        codes_, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable values (lists or dicts of a JSON property): each row's own
        codes_, uniques = np.arange(len(values)), values.to_numpy(dtype=object, copy=True)
    uniques = np.asarray(uniques, dtype=object)
    na = pd.isna(uniques)
    if na.any():  # factorize turns None into NaN: give fn the missing value as the file had it
        uniques[na] = values[values.isna()].iloc[0]
    return codes_, uniques


def _id_text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def read_table(path: Path, layer: str, mapping: dict, id_field: str | None):
    try:
        if path.suffix.lower() in {".xlsx", ".xls"}:
            df = pd.read_excel(path, dtype=object)
        else:
            df = None
            with path.open("rb") as f:
                utf16 = f.read(2) in (b"\xff\xfe", b"\xfe\xff")
            for enc in (("utf-16",) if utf16 else ()) + ("utf-8-sig", "cp1252", "latin-1"):
                try:
                    df = pd.read_csv(path, sep=None, engine="python", dtype=object, encoding=enc)
                    break
                except UnicodeDecodeError:
                    continue
    except Exception as exc:
        raise FileError(f"cannot read {path.name} as a table: {exc}") from exc
    if df is None:
        raise FileError(f"cannot decode {path.name} (tried UTF-8, CP-1252, Latin-1)")
    if id_field and id_field not in df.columns:
        raise FileError(f"--id-field '{id_field}' is not a column of {path.name}")
    cols = resolve_columns(mapping, df.columns)
    has_point = "lon" in cols and "lat" in cols
    has_line = all(k in cols for k in ("lon_start", "lat_start", "lon_end", "lat_end"))
    records = df.to_dict("records")

    def num(rec, key):
        value = rec.get(cols[key])
        if blank(value):
            return None
        try:
            return float(str(value).strip().replace(",", "."))
        except ValueError:
            raise RowError(f"{cols[key]} is not a coordinate", value)

    def rows():
        for i, rec in enumerate(records):
            sid = rec.get(id_field) if id_field else None
            sid = str(i + 1) if blank(sid) else _id_text(sid)
            try:
                if layer == "roads" and has_line:
                    a = (num(rec, "lon_start"), num(rec, "lat_start"))
                    b = (num(rec, "lon_end"), num(rec, "lat_end"))
                    if None in a and None in b:
                        raise RowError("no coordinates (start and end point missing)")
                    if None in a or None in b:
                        raise RowError("only one end point: a road needs a start and an end")
                    yield RawRow(sid, shapely.LineString([a, b]), rec, approximate=True)
                elif has_point and layer != "roads":
                    x, y = num(rec, "lon"), num(rec, "lat")
                    if x is None or y is None:
                        raise RowError("no coordinates (longitude/latitude empty)")
                    yield RawRow(sid, shapely.Point(x, y), rec)
                else:
                    need = "start/end longitude and latitude columns" if layer == "roads" else "longitude/latitude columns"
                    raise RowError(f"no coordinates: the table has no {need}")
            except RowError as exc:
                yield RawRow(sid, None, rec, problem=exc.reason)

    return len(df), rows()


def read_osm(path: Path, layer: str):
    """OSM ways/nodes mapped as SPEC §3. Ways of a clipped extract keep the
    nodes present in the file when at least two remain."""
    import osmium

    if layer not in {"roads", "pju"}:
        raise FileError(f"an .osm.pbf file holds roads or PJU, not {layer}")
    try:
        fp = osmium.FileProcessor(str(path))
        if layer == "roads":
            fp = fp.with_locations().with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        else:
            fp = fp.with_filter(osmium.filter.EntityFilter(osmium.osm.NODE))
        fp = fp.with_filter(osmium.filter.KeyFilter("highway"))
        out = []
        for obj in fp:
            tags = dict(obj.tags)
            sid = str(obj.id)
            if layer == "pju":
                if tags.get("highway") != "street_lamp":
                    continue
                out.append(RawRow(sid, shapely.Point(obj.location.lon, obj.location.lat), tags))
                continue
            highway = tags.get("highway")
            if highway not in codes.OSM_HIGHWAY_CLASS:
                out.append(RawRow(sid, None, tags, skip=f"highway={highway} is not a mapped road class"))
                continue
            coords = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) < 2:
                out.append(RawRow(sid, None, tags, problem="fewer than two of the way's nodes are in the file"))
                continue
            out.append(RawRow(sid, shapely.LineString(coords), tags))
    except RuntimeError as exc:
        raise FileError(f"cannot read {path.name} as OpenStreetMap PBF: {exc}") from exc
    return len(out), iter(out)
