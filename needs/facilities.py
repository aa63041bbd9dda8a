"""Schools, markets and hospitals for the priority score (`Facility`).

`facility_import(path)` reads an OSM `.osm.pbf` (nodes with `amenity`, and
areas — closed ways and multipolygons — at a point on their surface, set by
PostGIS) or any vector file GDAL reads with a `kind` (school/market/hospital)
or `amenity` column. Rows are upserted by (source, source_id): the OSM id,
else the file's feature id; other amenities are skipped and counted."""
from __future__ import annotations

import re
from pathlib import Path

import pyogrio
from django.db import connection, transaction

from geo_platform.srid import STORAGE_SRID
from needs.models import FACILITY_KINDS, Facility

# OSM amenity → Facility.kind
AMENITY_KIND = {
    **dict.fromkeys(["school", "kindergarten", "college", "university"], "school"),
    "marketplace": "market",
    **dict.fromkeys(["hospital", "clinic"], "hospital"),
}
KINDS = {k for k, _ in FACILITY_KINDS}
_AMENITY_TAG = re.compile(r'"amenity"=>"([^"]*)"')


def _kind(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if value in KINDS else AMENITY_KIND.get(value)


def _amenity_from_tags(tags) -> str | None:
    match = _AMENITY_TAG.search(tags) if isinstance(tags, str) else None
    return match.group(1) if match else None


def _read(path: Path) -> list[tuple[str, str, str, bytes]]:
    """(kind, name, source_id, WKB in WGS 84) of the facilities in the file."""
    rows = []
    if path.name.endswith(".osm.pbf"):
        points = pyogrio.read_dataframe(path, layer="points", columns=["osm_id", "name", "other_tags"])
        for osm_id, name, tags, geom in zip(points.osm_id, points.name, points.other_tags, points.geometry):
            kind = _kind(_amenity_from_tags(tags))
            if kind:
                rows.append((kind, name, f"node/{osm_id}", geom.wkb))
        areas = pyogrio.read_dataframe(path, layer="multipolygons", columns=["osm_id", "osm_way_id", "name", "amenity"])
        for osm_id, way_id, name, amenity, geom in zip(areas.osm_id, areas.osm_way_id, areas.name, areas.amenity, areas.geometry):
            kind = _kind(amenity)
            if kind and geom is not None:
                ref = f"way/{way_id}" if isinstance(way_id, str) and way_id else f"relation/{osm_id}"
                rows.append((kind, name, ref, geom.wkb))
        return rows
    df = pyogrio.read_dataframe(path, fid_as_index=True)
    if df.crs is not None and df.crs.to_epsg() != STORAGE_SRID:
        df = df.to_crs(STORAGE_SRID)
    column = next((c for c in ("kind", "amenity") if c in df.columns), None)
    if column is None:
        raise ValueError(f"{path.name} has no `kind` or `amenity` column")
    names = df["name"] if "name" in df.columns else [None] * len(df)
    for fid, value, name, geom in zip(df.index, df[column], names, df.geometry):
        kind = _kind(value)
        if kind and geom is not None and not geom.is_empty:
            rows.append((kind, name, str(fid), geom.wkb))
    return rows


@transaction.atomic
def facility_import(path, *, source: str | None = None) -> dict:
    path = Path(path)
    source = source or path.name.split(".")[0]
    rows = _read(path)
    table = Facility._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {table} (kind, name, source, source_id, geom)
            SELECT r.kind, coalesce(r.name, ''), %s, r.source_id,
                   ST_PointOnSurface(ST_SetSRID(ST_GeomFromWKB(r.wkb), %s))
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::bytea[]) AS r(kind, name, source_id, wkb)
            ON CONFLICT (source, source_id) WHERE source_id <> ''
            DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, geom = EXCLUDED.geom
            RETURNING (xmax = 0)
            """,
            [source, STORAGE_SRID, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]],
        )
        flags = [r[0] for r in cur.fetchall()]
    created = sum(flags)
    by_kind = {}
    for kind, *_ in rows:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"created": created, "updated": len(flags) - created, "by_kind": by_kind, "source": source}
