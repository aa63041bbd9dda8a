"""The demo data the notebooks need, loaded through the real importers (not
the full `load_demo`: its 133,000 simulated PJU take a minute): the
Tangerang/Tangsel and Jakarta kecamatan, the Jakarta OSM roads of a window
around the Ciliwung DEM (clipped with pyogrio into a GeoPackage), simulated
road condition and PJU along them, the lighting needs, the default prices
and templates, and the Ciliwung DEM."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyogrio
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

DEMO = Path(settings.BASE_DIR) / "data" / "demo"
ROADS_FILE = DEMO / "vector" / "jakarta_roads_osm_2012.gpkg"
DEM_FILE = DEMO / "imagery" / "jakarta_ciliwung_dem_10m_utm48s.tif"
# South/East Jakarta around the Ciliwung DEM: ~1,600 OSM ways in 8 kecamatan+.
ROADS_BBOX = (106.80, -6.31, 106.88, -6.24)
ROADS_SOURCE = "osm_jakarta_2012"


def clipped_roads(tmp_dir: Path, bbox=ROADS_BBOX) -> Path:
    """The demo roads intersecting `bbox`, written as a GeoPackage (fid kept as source id column)."""
    df = pyogrio.read_dataframe(ROADS_FILE, bbox=bbox, fid_as_index=True)
    df["osm_fid"] = df.index.astype(str)
    out = Path(tmp_dir) / "jakarta_roads_subset.gpkg"
    pyogrio.write_dataframe(df, out, layer="roads")
    return out


def load_demo_subset(tmp_dir: Path) -> dict:
    """Load the subset; returns the import reports and the DEM's id."""
    from estimates import demo as estimates_demo
    from imagery.services import imagery_ingest
    from layers.importers.service import import_layer
    from layers.simulate import simulate_road_condition, simulate_streetlights
    from needs.services import lighting_needs_compute

    estimates_demo.load()  # templates and prices (a transactional test before us may have flushed them)
    reports = [
        import_layer(DEMO / "vector" / "kecamatan_kota_tangerang_tangsel.geojson", "areas",
                     source="wilayah_boundaries", progress=False),
        import_layer(DEMO / "vector" / "jakarta_kecamatan_osm_2012.geojson", "areas",
                     source="osm_jakarta_kecamatan_2012", default_level="kecamatan", progress=False),
        import_layer(clipped_roads(tmp_dir), "roads", source=ROADS_SOURCE, id_field="osm_fid", progress=False),
    ]
    simulate_road_condition(road_sources=[ROADS_SOURCE])
    n_pju = simulate_streetlights(road_sources=[ROADS_SOURCE])
    needs = lighting_needs_compute()
    dem = imagery_ingest(source=DEM_FILE, kind="dem", name="DEM Ciliwung, Jakarta (10 m)", licence="MIT",
                         attribution="DEM: floodhack2016-jakarta, © 2016 Martin Dobias (MIT)").imagery
    return {"reports": reports, "pju": n_pju, "needs": needs, "dem_id": dem.pk}


def analyst_token(username: str = "analis") -> str:
    """A user of the `analyst` group and its DRF token."""
    user = get_user_model().objects.create_user(username, password="rahasia-analis-123")
    group, _ = Group.objects.get_or_create(name="analyst")
    user.groups.add(group)
    return Token.objects.create(user=user).key


def database_url() -> str:
    """DATABASE_URL of the database the tests (and the live server) use."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgis://{quote(s['USER'], safe='')}:{quote(s['PASSWORD'], safe='')}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def restore_migration_data(django_db_setup, django_db_blocker):
    """Transactional tests end with a flush that also empties the rows data
    migrations wrote (estimates' templates, prices, treatments); with
    --reuse-db the next session would start without them. Put them back once
    all tests have run (groups come back by themselves: flush sends post_migrate)."""
    yield
    with django_db_blocker.unblock():
        from estimates import demo as estimates_demo

        estimates_demo.load()
