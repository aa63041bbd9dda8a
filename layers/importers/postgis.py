"""Set-based PostGIS maintenance shared by importers and API writes.

Metres come from the spheroid (geography), so they hold for any city; area
membership is decided by PostGIS in one statement per level, never in a
Python loop over rows."""
from collections.abc import Iterable

from django.db import connection

from geo_platform.srid import STORAGE_SRID
from layers.models import Area, Panel, RoadSegment, StreetLight

POINT_MODELS = (StreetLight, Panel)


def _id_filter(alias: str, ids: Iterable[int] | None) -> tuple[str, list]:
    """` AND alias.id IN (…ids)`. The ids go in as one array joined by hash
    (a planner semi-join): `id = ANY(array)` as a row filter re-scans the
    array per candidate row, ~60× slower for the 133,000 simulated PJU of
    the demo (226 s against 7 s for their area membership); one id still
    uses the primary key index."""
    if ids is None:
        return "", []
    return f" AND {alias}.id IN (SELECT unnest(%s::bigint[]))", [list(ids)]


def refresh_measures(model, ids: Iterable[int] | None = None) -> int:
    """Fill `length_m` (roads) or `area_m2` (areas) on the WGS 84 spheroid."""
    table = model._meta.db_table
    if model is RoadSegment:
        expr = "length_m = ST_Length(t.geom::geography)"
    elif model is Area:
        expr = "area_m2 = ST_Area(t.geom::geography)"
    else:
        return 0
    where, params = _id_filter("t", ids)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} AS t SET {expr} WHERE true{where}", params)
        return cur.rowcount


def assign_areas(model, ids: Iterable[int] | None = None) -> int:
    """Set kecamatan/kelurahan of assets: the area holding a point, or the
    area holding the largest share of a line (SPEC §3). Areas that do not
    exist leave the field empty."""
    where, params = _id_filter("t", ids)
    return assign_areas_in_table(model._meta.db_table, points=model in POINT_MODELS, where=where, params=params)


def _membership_sql(source: str, *, points: bool, where: str = "") -> str:
    """CTEs ending in `pick (id, kec, kel)`: the best kecamatan and kelurahan
    of each row of `source` (SQL of a table or subquery with id, geom): the
    smallest area of a level holding a point, the area holding the largest
    share of a line.

    Areas drive the join (each area's prepared geometry is reused across the
    assets it holds), lines wholly inside an area skip the costly
    intersection, and DISTINCT ON keeps the best area per level."""
    if points:
        share = "-a.area_m2"  # nested areas of one level: the smallest holds the point
    else:
        share = ("CASE WHEN ST_Covers(a.geom, t.geom) THEN ST_Length(t.geom) "
                 "ELSE ST_Length(ST_Intersection(a.geom, t.geom)) END")
    return f"""
        WITH cand AS (
            SELECT t.id, a.level, a.id AS area_id, {share} AS share
            FROM {Area._meta.db_table} a JOIN {source} t ON ST_Intersects(a.geom, t.geom)
            WHERE a.level IN ('kecamatan', 'kelurahan'){where}
        ), best AS (
            SELECT DISTINCT ON (id, level) id, level, area_id FROM cand ORDER BY id, level, share DESC, area_id
        ), pick AS (
            SELECT id, max(area_id) FILTER (WHERE level = 'kecamatan') AS kec,
                       max(area_id) FILTER (WHERE level = 'kelurahan') AS kel
            FROM best GROUP BY id
        )"""


def assign_areas_in_table(table: str, *, points: bool, where: str = "", params: list | None = None,
                          pieces: bool = False, into: str | None = None, on_step=None) -> int:
    """Area membership for the rows of `table` (an asset table or an import's
    staging table with id, geom, kecamatan_id, kelurahan_id), in one statement.

    `into` (an import's staging table, GiST-indexed on geom): the rows are
    not updated; a new table of that name (in the import's private schema,
    see layers.importers.service) gets (id, kec, kel) for the rows that have
    an area, for the upsert to join (no second version of every staged row).
    Each step is a CREATE TABLE … AS, which PostgreSQL may run with parallel
    workers (an INSERT … SELECT it runs on one core).

    `pieces` (with `into`, lines): the areas are first cut into small pieces
    (ST_Subdivide, GiST-indexed); a line meeting one area of a level belongs
    to it with no intersection at all, and the share of a line meeting
    several is summed over the small pieces it crosses (same result, a
    fraction of the work on large kelurahan polygons). `on_step(fraction)`
    is called after each step."""
    params = params or []
    if into:
        if pieces and not points:
            return _lines_by_pieces_into(table, into, on_step or (lambda f: None))
        with connection.cursor() as cur:
            cur.execute(f"CREATE UNLOGGED TABLE {into} AS " + _membership_sql(table, points=points, where=where)
                        + " SELECT id, kec, kel FROM pick", params)
            return cur.rowcount
    with connection.cursor() as cur:
        cur.execute(_membership_sql(table, points=points, where=where) + f"""
            UPDATE {table} AS t SET kecamatan_id = pick.kec, kelurahan_id = pick.kel
            FROM (SELECT t.id FROM {table} t WHERE true{where}) AS todo
            LEFT JOIN pick ON pick.id = todo.id
            WHERE t.id = todo.id
              AND (t.kecamatan_id IS DISTINCT FROM pick.kec OR t.kelurahan_id IS DISTINCT FROM pick.kel)
        """, params + params)
        return cur.rowcount


def areas_at(point) -> tuple[int | None, int | None]:
    """(kecamatan id, kelurahan id) holding a lon/lat point (GEOS), by the
    rule assets get (assign_areas)."""
    source = "(SELECT 0 AS id, ST_SetSRID(ST_MakePoint(%s, %s), %s) AS geom)"
    with connection.cursor() as cur:
        cur.execute(_membership_sql(source, points=True) + " SELECT kec, kel FROM pick", [point.x, point.y, STORAGE_SRID])
        row = cur.fetchone()
    return (row[0], row[1]) if row else (None, None)


PIECE_VERTICES = 64


def _lines_by_pieces_into(table: str, into: str, on_step) -> int:
    """The lines' membership as table `into` (id, kec, kel), in four
    set-based steps over narrow rows (ids, no geometry carried through a
    sort): which area pieces each line meets (the pieces drive the join, so
    each piece's prepared geometry serves every line it meets); per line and
    level, whether it meets one area or several; the length inside each area
    for the lines meeting several (the only intersections computed); and the
    best area per level (largest share, then the smallest id)."""
    area_table = Area._meta.db_table
    steps = [
        # One id per piece (row_number over the subdivided rows, not over the areas).
        f"""CREATE UNLOGGED TABLE import_area_pieces AS
            SELECT row_number() OVER () AS pid, area_id, level = 'kelurahan' AS kel, geom FROM (
                SELECT id AS area_id, level, ST_Subdivide(geom, {PIECE_VERTICES}) AS geom
                FROM {area_table} WHERE level IN ('kecamatan', 'kelurahan')) AS cut""",
        "CREATE INDEX ON import_area_pieces USING gist (geom)",
        "ANALYZE import_area_pieces",
        f"""CREATE UNLOGGED TABLE import_hit AS
            SELECT t.id, p.kel, p.area_id, p.pid FROM import_area_pieces p JOIN {table} t ON ST_Intersects(p.geom, t.geom)""",
        "ANALYZE import_hit",
        """CREATE UNLOGGED TABLE import_hit_group AS
           SELECT id, kel, min(area_id) AS lo, max(area_id) AS hi FROM import_hit GROUP BY id, kel""",
        "ANALYZE import_hit_group",
        f"""CREATE UNLOGGED TABLE import_share AS
            SELECT h.id, h.kel, h.area_id, sum(ST_Length(ST_Intersection(p.geom, t.geom))) AS share
            FROM import_hit_group g JOIN import_hit h ON h.id = g.id AND h.kel = g.kel
            JOIN import_area_pieces p ON p.pid = h.pid JOIN {table} t ON t.id = h.id
            WHERE g.lo <> g.hi GROUP BY h.id, h.kel, h.area_id""",
        f"""CREATE UNLOGGED TABLE {into} AS
            SELECT id, max(area_id) FILTER (WHERE NOT kel) AS kec, max(area_id) FILTER (WHERE kel) AS kel FROM (
                SELECT id, kel, lo AS area_id FROM import_hit_group WHERE lo = hi
                UNION ALL
                (SELECT DISTINCT ON (id, kel) id, kel, area_id FROM import_share ORDER BY id, kel, share DESC, area_id)
            ) AS best GROUP BY id""",
        "DROP TABLE import_hit, import_hit_group, import_share, import_area_pieces",
    ]
    rows = 0
    with connection.cursor() as cur:
        for i, sql in enumerate(steps, 1):
            cur.execute(sql)
            rows = cur.rowcount if i == len(steps) - 1 else rows
            on_step(i / len(steps))
    return rows


def assign_area_parents(ids: Iterable[int] | None = None) -> int:
    """Parent of each area: by Kemendagri code prefix (36.71.01 → 36.71) when
    such an area exists, else the next level up that holds most of it."""
    table = Area._meta.db_table
    where, params = _id_filter("c", ids)
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {table} AS c SET parent_id = p.id FROM {table} p
                WHERE c.parent_id IS NULL AND p.code = regexp_replace(c.code, '\\.[^.]+$', '')
                  AND position('.' in c.code) > 0{where}""",
            params,
        )
        n = cur.rowcount
        cur.execute(
            f"""UPDATE {table} AS c SET parent_id = (
                    SELECT p.id FROM {table} p
                    WHERE p.level = CASE c.level WHEN 'kelurahan' THEN 'kecamatan'
                                                 WHEN 'kecamatan' THEN 'kabupaten_kota'
                                                 WHEN 'kabupaten_kota' THEN 'provinsi' END
                      AND ST_Intersects(p.geom, ST_PointOnSurface(c.geom))
                    ORDER BY p.area_m2 NULLS LAST LIMIT 1)
                WHERE c.parent_id IS NULL AND c.level <> 'provinsi'{where}""",
            params,
        )
        return n + cur.rowcount
