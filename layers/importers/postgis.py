"""Set-based PostGIS maintenance shared by importers and API writes.

Metres come from the spheroid (geography), so they hold for any city; area
membership is decided by PostGIS in one statement per level, never in a
Python loop over rows."""
from collections.abc import Iterable

from django.db import connection

from layers.models import Area, Panel, RoadSegment, StreetLight

POINT_MODELS = (StreetLight, Panel)


def _id_filter(alias: str, ids: Iterable[int] | None) -> tuple[str, list]:
    if ids is None:
        return "", []
    return f" AND {alias}.id = ANY(%s)", [list(ids)]


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
    table = model._meta.db_table
    area_table = Area._meta.db_table
    where, params = _id_filter("t", ids)
    if model in POINT_MODELS:
        pick = f"""(SELECT a.id FROM {area_table} a
                     WHERE a.level = %s AND ST_Intersects(a.geom, t.geom)
                     ORDER BY a.area_m2 NULLS LAST, a.id LIMIT 1)"""
    else:
        # Lines wholly inside an area skip the costly intersection.
        pick = f"""(SELECT a.id FROM {area_table} a
                     WHERE a.level = %s AND ST_Intersects(a.geom, t.geom)
                     ORDER BY CASE WHEN ST_Covers(a.geom, t.geom) THEN ST_Length(t.geom)
                                   ELSE ST_Length(ST_Intersection(a.geom, t.geom)) END DESC, a.id
                     LIMIT 1)"""
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} AS t SET kecamatan_id = {pick}, "
            f"kelurahan_id = {pick} WHERE true{where}",
            ["kecamatan", "kelurahan", *params],
        )
        return cur.rowcount


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
