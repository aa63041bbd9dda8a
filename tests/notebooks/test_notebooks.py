"""Every notebook in notebooks/ runs (nbclient, the venv kernel) against a
live test server and database holding the demo subset; any cell error
fails. The notebooks check themselves (asserts against independent
computations); here we also check the files they write against numbers
computed from the database rows with pyproj, not with our code."""
import json
import os
from collections import defaultdict
from pathlib import Path

import nbformat
import openpyxl
import pytest
from pyproj import Geod

from layers.models import Area, RoadSegment
from needs.models import ProposedPJU
from notebooks import run as nbrun
from tests.notebooks.support import analyst_token, database_url, load_demo_subset

NOTEBOOKS = nbrun.notebooks()
GEOD = Geod(ellps="WGS84")


def test_there_are_four_numbered_notebooks_committed_without_outputs():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, path.name
        stale = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
        assert not stale, f"{path.name}: code cells {stale} carry outputs (clear them before committing)"


@pytest.mark.django_db(transaction=True)
def test_every_notebook_runs_against_the_live_platform(live_server, settings, tmp_path, subtests):
    settings.IMAGERY_ROOT = tmp_path / "imagery"
    settings.BASEMAP_URL = ""
    loaded = load_demo_subset(tmp_path)
    out = tmp_path / "out"
    env = {
        "GEO_PLATFORM_URL": live_server.url,
        "GEO_PLATFORM_TOKEN": analyst_token(),
        "DATABASE_URL": database_url(),
        "GEO_PLATFORM_OUTPUT": str(out),
        "BASEMAP_URL": "",
    }
    only = [n for n in os.environ.get("GEO_PLATFORM_NOTEBOOKS", "").split(",") if n]  # e.g. "03,04" while editing
    for path in NOTEBOOKS:
        if only and path.name[:2] not in only:
            continue
        with subtests.test(notebook=path.name):
            nbrun.execute(path, env=env, timeout=300)

    if not only:
        with subtests.test(check="files written by the notebooks"):
            _check_outputs(out, loaded)


def _geodesic_km(geom) -> float:
    lons, lats = zip(*geom.coords)
    return GEOD.line_length(lons, lats) / 1000


def _check_outputs(out: Path, loaded: dict):
    # 01: the map of one kecamatan's roads and the status chart exist.
    html = (out / "01_peta.html").read_text()
    assert '"road_class": "' in html
    assert (out / "01_status_pju.png").stat().st_size > 1000

    # 02: the per-kecamatan table adds up to the stored proposed PJU.
    import pandas as pd

    table = pd.read_csv(out / "02_celah_per_kecamatan.csv")
    assert table["proposed_pju"].sum() == ProposedPJU.objects.filter(kecamatan__isnull=False).count()
    assert "CircleMarker" in (out / "02_usulan_pju.html").read_text() or "circleMarker" in (out / "02_usulan_pju.html").read_text()

    # 03: km by condition per kecamatan = geodesic lengths of the stored road lines (pyproj).
    expected = defaultdict(float)
    codes = dict(Area.objects.values_list("id", "code"))
    for road in RoadSegment.objects.filter(kecamatan__isnull=False):
        expected[(codes[road.kecamatan_id], road.condition)] += _geodesic_km(road.geom)
    wb = openpyxl.load_workbook(out / "03_program_jalan.xlsx", read_only=True)
    assert {"km_kondisi", "penanganan", "material_ton", "biaya"} <= set(wb.sheetnames)
    rows = list(wb["km_kondisi"].iter_rows(values_only=True))
    header = rows[0]
    got = {}
    for row in rows[1:]:
        for col, value in zip(header[1:], row[1:]):
            if col in ("good", "fair", "light_damage", "heavy_damage", "unknown") and value:
                got[(row[0], col)] = value
    assert set(got) == {k for k, v in expected.items() if v > 0}
    for key, km in expected.items():
        assert got[key] == pytest.approx(km, rel=1e-6), key

    # 04: the profile and earthwork results were saved with their inputs.
    terrain = json.loads((out / "04_terrain.json").read_text())
    assert terrain["dem_id"] == loaded["dem_id"]
    assert terrain["earthwork"]["average_end_area"]["cut_m3"] >= 0
