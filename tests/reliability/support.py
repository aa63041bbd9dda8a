"""Shared helpers of the reliability tests: a small city (tests.layers), one
user per role, a tiny DEM written with rasterio, a work order per officer,
and snapshots of every table (row count + md5 of the ordered rows, computed
by PostgreSQL) to prove that a refused request wrote nothing."""
from __future__ import annotations

import numpy as np
import rasterio
from django.db import connection
from pyproj import Transformer
from rasterio.transform import from_origin

from tests.layers.api_support import client_for, make_city, user_in  # noqa: F401

ROLES = ("anonymous", "field_officer", "planner", "analyst", "admin")


def role_user(role: str):
    if role == "anonymous":
        return None
    if role == "admin":
        return user_in(None, superuser=True, name="admin_r")
    return user_in(role, name=f"{role}_r")


def write_dem(path, *, lon=106.62, lat=-6.20, size=40, cell=10.0) -> None:
    """A DEM in UTM 48S (EPSG:32748) around (lon, lat): z = 10 + 0.1·column."""
    x, y = Transformer.from_crs(4326, 32748, always_xy=True).transform(lon, lat)
    data = (10 + 0.1 * np.arange(size, dtype="float32"))[None, :].repeat(size, axis=0)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs="EPSG:32748",
                   transform=from_origin(x - size * cell / 2, y + size * cell / 2, cell, cell), nodata=-9999)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def db_fingerprint(tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of the rows ordered by their text)} for every table
    of the public schema (or the given ones)."""
    with connection.cursor() as cur:
        if tables is None:
            cur.execute(
                "select tablename from pg_tables where schemaname = 'public' "
                "and tablename not in ('spatial_ref_sys', 'django_session') order by 1"
            )
            tables = [r[0] for r in cur.fetchall()]
        out = {}
        for t in tables:
            cur.execute(f'select count(*), md5(coalesce(string_agg(x::text, \'|\' order by x::text), \'\')) from "{t}" x')
            out[t] = tuple(cur.fetchone())
        return out
