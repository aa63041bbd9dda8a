"""Demo data for `make run` / `manage.py load_demo` (idempotent: imports
upsert by (source, source_id); simulation is deterministic and skips rows
that exist)."""
from pathlib import Path

from django.conf import settings

from layers.importers.service import import_layer
from layers.simulate import simulate_road_condition, simulate_streetlights

DEMO_DIR = Path(settings.BASE_DIR) / "data" / "demo" / "vector"
JAKARTA_ROADS = "osm_jakarta_2012"
# (file, layer, source, extra options)
DEMO_IMPORTS = [
    ("kecamatan_kota_tangerang_tangsel.geojson", "areas", "wilayah_boundaries", {}),
    ("kelurahan_kota_tangerang.geojson", "areas", "wilayah_boundaries", {}),
    ("kelurahan_kota_tangerang_selatan.geojson", "areas", "wilayah_boundaries", {}),
    ("jakarta_kecamatan_osm_2012.geojson", "areas", "osm_jakarta_kecamatan_2012", {"default_level": "kecamatan"}),
    ("jakarta_kelurahan_osm_2012.geojson", "areas", "osm_jakarta_kelurahan_2012", {"default_level": "kelurahan"}),
    ("jakarta_roads_osm_2012.gpkg", "roads", JAKARTA_ROADS, {}),
    ("porto.osm.pbf", "roads", "osm_porto", {}),
    ("porto.osm.pbf", "pju", "osm_porto", {}),
]


def load(stdout=None, progress: bool = True) -> list[dict]:
    say = stdout.write if stdout else (lambda s: None)
    reports = []
    for name, layer, source, opts in DEMO_IMPORTS:
        report = import_layer(DEMO_DIR / name, layer, source=source, progress=progress, **opts)
        reports.append(report)
        say(f"{name} → {layer}: {report['created']} created, {report['updated']} updated, "
            f"{report['skipped']} skipped, {report['rejected']} rejected")
    n = simulate_road_condition(road_sources=[JAKARTA_ROADS])
    say(f"simulated road condition (marked simulated): {n} Jakarta roads")
    n = simulate_streetlights(road_sources=[JAKARTA_ROADS])
    say(f"simulated PJU inventory (source=simulated) along Jakarta roads: {n} created")
    return reports
