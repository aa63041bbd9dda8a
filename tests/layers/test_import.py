"""import_layer on the real files of ../shared/data. Expected counts come from
GDAL (ogrinfo), pandas value counts or SOURCES.md, never from the importer."""
import json
import math
import subprocess
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from pyproj import Geod

from layers.importers.readers import FileError
from layers.importers.service import import_layer
from layers.models import Area, Panel, RoadSegment, StreetLight
from tests.conftest import shared_file

GEOD = Geod(ellps="WGS84")
pytestmark = pytest.mark.django_db


def ogr_count(path, layer, where):
    out = subprocess.run(["ogrinfo", "-ro", "-q", "-sql", f"SELECT COUNT(*) AS n FROM {layer} WHERE {where}", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split("n (Integer) =")[1].split()[0])


def run(path, layer, **kw):
    return import_layer(path, layer, progress=False, **kw)


def identical_duplicates(gdf) -> int:
    """Rows repeating an earlier row exactly (geometry and every attribute), by pandas."""
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str)
    frame["_wkb"] = gdf.geometry.to_wkb()
    return int(frame.duplicated().sum())


def accounted(report):
    return report["created"] + report["updated"] + report["skipped"] + report["rejected"]


def test_jakarta_roads_every_feature_accounted_and_lengths_geodesic(tmp_path):
    path = shared_file("jakarta_osm_2012/jakarta_roads_osm_2012.gpkg")
    unmapped = ogr_count(path, "roads", "highway = 'construction'")  # the only value outside SPEC §3's list
    total = ogr_count(path, "roads", "1 = 1")
    gdf = gpd.read_file(path, engine="pyogrio", fid_as_index=True)
    gdf = gdf[gdf.highway != "construction"]
    dups = identical_duplicates(gdf)
    report = run(path, "roads", source="jkt")
    assert report["features"] == total == 18574
    assert (report["created"], report["skipped"], report["rejected"]) == (total - unmapped - dups, unmapped + dups, 0)
    assert RoadSegment.objects.filter(source="jkt").count() == total - unmapped - dups
    # Lengths: pyproj geodesic lengths of the same lines, computed here.
    gdf = gdf[~gdf.drop(columns="geometry").astype(str).assign(w=gdf.geometry.to_wkb()).duplicated()]
    expected = {str(fid): GEOD.geometry_length(g) for fid, g in zip(gdf.index, gdf.geometry)}
    got = dict(RoadSegment.objects.filter(source="jkt").values_list("source_id", "length_m"))
    assert got.keys() == expected.keys()
    worst = max(abs(got[k] - expected[k]) / max(expected[k], 1) for k in expected)
    assert worst < 1e-6
    assert sum(got.values()) == pytest.approx(sum(expected.values()), rel=1e-9)
    # Re-import: nothing new, nothing duplicated.
    again = run(path, "roads", source="jkt")
    assert (again["created"], again["updated"], again["rejected"]) == (0, 0, 0)
    assert again["skipped"] == total
    assert RoadSegment.objects.filter(source="jkt").count() == total - unmapped - dups


def _road_indexes():
    """The road table's indexes and constraints (name, definition)."""
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'layers_roadsegment' "
                    "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'layers_roadsegment'::regclass ORDER BY 1, 2")
        return cur.fetchall()


def _plain_index_oids():
    with connection.cursor() as cur:
        cur.execute("SELECT indexrelid FROM pg_index WHERE indrelid = 'layers_roadsegment'::regclass AND NOT indisunique")
        return {r[0] for r in cur.fetchall()}


def _source_index_oid():
    with connection.cursor() as cur:
        cur.execute("SELECT 'road_source_uniq'::regclass::oid")
        return cur.fetchone()[0]


def test_bulk_load_rebuilds_the_indexes_and_keys_it_drops(monkeypatch):
    """A bulk load drops the table's plain indexes and foreign keys and builds them again: a
    cancel after the write leaves the table and its indexes as they were; a
    finished import leaves every index in place and the rows findable through them."""
    import layers.importers.service as service

    monkeypatch.setattr(service, "BULK_ROWS", 1)  # any load larger than the table is a bulk load here
    path = shared_file("jakarta_osm_2012/jakarta_roads_osm_2012.gpkg")
    total = ogr_count(path, "roads", "1 = 1")
    before = _road_indexes()
    assert len(before) >= 12  # primary key, unique (source, source_id), GiST and B-tree indexes, FOREIGN KEYs (Django's migrations)
    assert sum("FOREIGN KEY" in definition for _, definition in before) == 2  # kecamatan, kelurahan
    phases = []
    with pytest.raises(service.ImportCancelled):
        import_layer(path, "roads", source="bulk", progress=False, on_progress=lambda p, f: phases.append((p, f)),
                     cancelled=lambda: ("write", 1.0) in phases)
    assert RoadSegment.objects.filter(source="bulk").count() == 0 and _road_indexes() == before
    oids = _plain_index_oids()
    unique_oid = _source_index_oid()
    report = run(path, "roads", source="bulk")
    assert _road_indexes() == before
    assert not oids & _plain_index_oids()  # built anew, not maintained
    assert _source_index_oid() != unique_oid  # a first import of the source: its unique index built anew too
    again = run(path, "roads", source="bulk")  # and it still matches a re-import's rows
    assert again["created"] == 0 and again["skipped"] == report["created"] + report["skipped"]
    assert report["created"] == RoadSegment.objects.filter(source="bulk").count() > total // 2
    with connection.cursor() as cur:  # the rebuilt GiST index answers a bbox query like a scan does
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SELECT count(*) FROM layers_roadsegment WHERE source = 'bulk' AND geom && ST_MakeEnvelope(106.7, -6.3, 106.9, -6.1, 4326)")
        by_index = cur.fetchone()[0]
        cur.execute("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
        cur.execute("SELECT count(*) FROM layers_roadsegment WHERE source = 'bulk' AND ST_Intersects(geom, ST_MakeEnvelope(106.7, -6.3, 106.9, -6.1, 4326))")
        assert by_index >= cur.fetchone()[0] > 0
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:  # the keys hold again
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("UPDATE layers_roadsegment SET kelurahan_id = -1 WHERE source = 'bulk'")


def test_kediri_pju_inventory_codes_mapped(tmp_path):
    path = shared_file("indonesia_open_data/pju_kab_kediri_lampu.geojson")
    df = gpd.read_file(path)
    dups = identical_duplicates(df)
    report = run(path, "pju", source="kediri")
    assert len(df) == 3529 and dups > 0
    assert (report["created"], report["skipped"], report["rejected"]) == (len(df) - dups, dups, 0)
    assert report["reasons"] == {"skipped: identical duplicate row": dups}
    lamp = pd.Series(dict(StreetLight.objects.filter(source="kediri").values_list("id", "lamp_type"))).value_counts()
    frame = pd.DataFrame(df.drop(columns="geometry")).astype(str).assign(w=df.geometry.to_wkb())
    df = df[~frame.duplicated()]
    raw = df.lampu_type.fillna("").str.strip().str.upper().value_counts()
    assert lamp["led"] == raw["LED"] and lamp["fluorescent"] == raw["TL"] and lamp["mercury"] == raw["MERCURY"]
    assert lamp["unknown"] == raw[""]
    assert StreetLight.objects.filter(source="kediri", legal=False).count() == (df.name == "ASET DESA ILEGAL").sum()
    assert StreetLight.objects.filter(source="kediri", legal=True).count() == (df.name == "ASET DESA LEGAL").sum()


def test_csv_with_indonesian_columns_and_mapping_override(tmp_path):
    df = gpd.read_file(shared_file("indonesia_open_data/pju_kab_kediri_lampu.geojson")).drop(columns="geometry")
    csv_path = tmp_path / "pju.csv"
    df.head(500).to_csv(csv_path, index=False)
    dups = int(df.head(500).astype(str).duplicated().sum())
    report = run(csv_path, "pju", source="csv")
    assert (report["created"], report["skipped"]) == (500 - dups, dups)
    first = StreetLight.objects.get(source="csv", source_id="1")
    assert (first.geom.x, first.geom.y) == pytest.approx((df.longitude[0], df.latitude[0]))
    # The same table with other column names, read through a --mapping file.
    other = df.head(50).rename(columns={"longitude": "bujur", "latitude": "lintang", "lampu_type": "jenis"})
    other.to_csv(tmp_path / "pju2.csv", index=False)
    (tmp_path / "map.json").write_text(json.dumps({"fields": {"lon": "bujur", "lat": "lintang", "lamp_type": ["jenis"]}}))
    report = run(tmp_path / "pju2.csv", "pju", source="csv2", mapping_path=tmp_path / "map.json")
    other = other[~other.astype(str).duplicated()]
    assert report["created"] == len(other)
    assert StreetLight.objects.filter(source="csv2", lamp_type="led").count() == (other.jenis == "LED").sum()


def test_reprojected_copies_give_the_same_areas(tmp_path):
    src = shared_file("jakarta_osm_2012/jakarta_kecamatan_osm_2012.geojson")
    base = run(src, "areas", source="kec", default_level="kecamatan")
    assert base["created"] == 42
    expected = {a.source_id: a.area_m2 for a in Area.objects.filter(source="kec")}
    gdf = gpd.read_file(src)
    utm = tmp_path / "kec_utm48s.gpkg"
    gdf.to_crs(32748).to_file(utm, engine="pyogrio")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_crs(3857).to_file(shp_dir / "kec.shp", engine="pyogrio")
    zipped = tmp_path / "kec_3857.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    for path, source in ((utm, "kec_utm"), (zipped, "kec_shp")):
        report = run(path, "areas", source=source, default_level="kecamatan")
        assert report["created"] == 42, report
        got = {a.source_id: a.area_m2 for a in Area.objects.filter(source=source)}
        # GPKG fids start at 1, the GeoJSON's at 0; shapefile fids at 0.
        offset = 1 if path.suffix == ".gpkg" else 0
        for sid, area in expected.items():
            assert got[str(int(sid) + offset)] == pytest.approx(area, rel=1e-4)


def test_osm_pbf_roads_and_lamps_counts_from_sources(tmp_path):
    pbf = shared_file("osm_porto/porto.osm.pbf")
    derived = gpd.read_file(shared_file("osm_porto/porto_roads.geojson"))  # derived by the data team, all highway ways
    from geo_platform.codes import OSM_HIGHWAY_CLASS

    mapped = derived.highway.isin(list(OSM_HIGHWAY_CLASS)).sum()
    report = run(pbf, "roads")
    assert report["features"] == len(derived) == 4656
    assert (report["created"], report["skipped"], report["rejected"]) == (mapped, len(derived) - mapped, 0)
    lamps = run(pbf, "pju")
    assert lamps["created"] == 94 and StreetLight.objects.filter(source="osm", status="unknown").count() == 94
    residential = derived[derived.highway == "residential"]
    assert RoadSegment.objects.filter(source="osm", road_class="local").count() == (
        derived.highway.isin(["residential", "unclassified", "road"]).sum())
    assert len(residential) > 0
    # Surfaces by SPEC §3 mapping.
    asphalt = (derived[derived.highway.isin(list(OSM_HIGHWAY_CLASS))].surface == "asphalt").sum()
    assert RoadSegment.objects.filter(source="osm", surface="asphalt").count() == asphalt


def test_clipped_osm_extract_keeps_ways_with_two_present_nodes(tmp_path):
    import osmium
    import shapely

    pbf = shared_file("osm_porto/porto.osm.pbf")
    box = (-8.62, 41.14, -8.60, 41.16)
    clipped = tmp_path / "clipped.osm.pbf"
    writer = osmium.SimpleWriter(str(clipped))
    for obj in osmium.FileProcessor(str(pbf)):
        if obj.is_node():
            if box[0] <= obj.location.lon <= box[2] and box[1] <= obj.location.lat <= box[3]:
                writer.add_node(obj)
        elif obj.is_way():
            writer.add_way(obj)  # all ways, referencing nodes that may be missing
    writer.close()
    # Expected from the derived GeoJSON: each way keeps its vertices inside the box.
    derived = gpd.read_file(shared_file("osm_porto/porto_roads.geojson"))
    from geo_platform.codes import OSM_HIGHWAY_CLASS

    derived = derived[derived.highway.isin(list(OSM_HIGHWAY_CLASS))]
    inside = {}
    for osm_id, geom in zip(derived.osm_id, derived.geometry):
        xy = shapely.get_coordinates(geom)
        keep = xy[(xy[:, 0] >= box[0]) & (xy[:, 0] <= box[2]) & (xy[:, 1] >= box[1]) & (xy[:, 1] <= box[3])]
        inside[str(osm_id)] = keep
    expected_kept = {k for k, v in inside.items() if len(np.unique(v, axis=0)) >= 2}
    report = run(clipped, "roads", source="clip")
    got = set(RoadSegment.objects.filter(source="clip").values_list("source_id", flat=True))
    assert got == expected_kept
    assert report["features"] == accounted(report)
    some = next(iter(expected_kept))
    road = RoadSegment.objects.get(source="clip", source_id=some)
    assert np.allclose(np.array(road.geom.coords), shapely.remove_repeated_points(shapely.LineString(inside[some])).coords)


BAD_FEATURES = [
    ({"type": "Point", "coordinates": [106.7, -6.2]}, {"kode_pju": "OK-1", "wattage": "90"}, None),
    ({"type": "Point", "coordinates": [106.7, -6.2]}, {"kode_pju": "OK-1", "wattage": "90"}, "skipped"),  # identical
    ({"type": "Point", "coordinates": [206.7, -6.2]}, {"kode_pju": "FAR"}, "coordinates outside"),
    ({"type": "LineString", "coordinates": [[106.7, -6.2], [106.8, -6.2]]}, {"kode_pju": "LINE"}, "wrong geometry type"),
    (None, {"kode_pju": "NOGEOM"}, "no geometry"),
    ({"type": "Point", "coordinates": [106.71, -6.2]}, {"kode_pju": "W", "wattage": "abc"}, "wattage_w is not a number"),
    ({"type": "Point", "coordinates": [106.72, -6.2]}, {"kode_pju": "H", "tinggi_tiang": "-3"}, "pole_height_m outside"),
]


def test_bad_rows_rejected_with_reasons_and_written_to_a_file(tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": p} for g, p, _ in BAD_FEATURES]}
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(fc))
    report = run(path, "pju", source="bad", rejects_dir=tmp_path)
    assert report["created"] == 1 and report["skipped"] == 1 and report["rejected"] == 5
    assert accounted(report) == len(BAD_FEATURES)
    rejects = pd.read_csv(report["rejects_file"])
    assert len(rejects) == 5
    for _, _, reason in BAD_FEATURES[2:]:
        assert rejects.reason.str.contains(reason, regex=False).any(), reason
    assert StreetLight.objects.filter(source="bad").count() == 1


def test_roads_table_start_end_points_approximate_and_no_geometry_rejected():
    jabar = shared_file("indonesia_open_data/jabar_jalan_desa_kondisi.csv")
    df = pd.read_csv(jabar, dtype=str)
    both = df[["LAT AWAL", "LNG AWAL", "LAT AKHIR", "LNG AKHIR"]].notna().all(axis=1)
    report = run(jabar, "roads", source="jabar")
    assert accounted(report) == len(df) == 8768
    assert report["created"] + report["skipped"] <= both.sum()
    assert report["rejected"] >= (~both).sum()
    assert RoadSegment.objects.filter(source="jabar", approximate=False).count() == 0
    kaltim = run(shared_file("indonesia_open_data/kaltim_kondisi_jalan_provinsi.csv"), "roads", source="kaltim")
    assert (kaltim["created"], kaltim["rejected"]) == (0, 63)
    assert list(kaltim["reasons"]) == ["rejected: no coordinates: the table has no start/end longitude and latitude columns"]


def test_csv_in_cp1252_and_semicolons(tmp_path):
    path = tmp_path / "pju.csv"
    path.write_bytes("kode;longitude;latitude;jenis_lampu\nPJU-é;106,70;-6,20;SON-T\n".encode("cp1252"))
    report = run(path, "pju", source="enc")
    assert report["created"] == 1, report
    lamp = StreetLight.objects.get(source="enc")
    assert lamp.code == "PJU-é" and lamp.lamp_type == "hps" and lamp.geom.x == pytest.approx(106.7)


def test_invalid_polygon_repaired_when_safe():
    path = shared_file("tangerang_boundaries/banten_kabkota.geojson")
    report = run(path, "areas", source="banten")
    assert report["created"] == 8
    with connection.cursor() as cur:
        cur.execute("select count(*) from layers_area where source = 'banten' and ST_IsValid(geom)")
        assert cur.fetchone()[0] == 8
    lebak = Area.objects.get(code="36.02")
    assert lebak.level == "kabupaten_kota" and lebak.area_m2 > 3e9  # Kab. Lebak ≈ 3,400 km²


def test_unrepairable_bowtie_is_rejected(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    path = tmp_path / "bow.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": bowtie, "properties": {"kode": "X.1", "nama": "Bow", "level": "kecamatan"}}]}))
    report = run(path, "areas", source="bow")
    assert report["rejected"] == 1 and "invalid polygon" in next(iter(report["reasons"]))


def test_areas_levels_parents_and_asset_membership():
    run(shared_file("tangerang_boundaries/kecamatan_kota_tangerang_tangsel.geojson"), "areas")
    run(shared_file("tangerang_boundaries/kelurahan_kota_tangerang.geojson"), "areas")
    kel = Area.objects.get(code="36.71.01.1001")
    assert kel.level == "kelurahan" and kel.parent.code == "36.71.01"
    assert Area.objects.filter(level="kecamatan", code__startswith="36.71.").count() == 13
    total_km2 = sum(Area.objects.filter(level="kecamatan", code__startswith="36.71.").values_list("area_m2", flat=True)) / 1e6
    assert total_km2 == pytest.approx(175, rel=0.05)  # SOURCES.md: ≈175 km² in UTM 48S
    sukarasa = kel.geom.point_on_surface
    lamp = StreetLight.objects.create(geom=sukarasa)
    run(shared_file("tangerang_boundaries/kelurahan_kota_tangerang.geojson"), "areas")  # unchanged: no reassignment
    from layers.importers.postgis import assign_areas

    assign_areas(StreetLight, [lamp.id])
    lamp.refresh_from_db()
    assert lamp.kelurahan_id == kel.id and lamp.kecamatan.code == "36.71.01"


def test_reimport_keeps_status_set_in_the_field(tmp_path):
    path = tmp_path / "p.geojson"
    feat = lambda status: {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [106.7, -6.2]}, "properties": {"status": status, "wattage": 90}}]}
    path.write_text(json.dumps(feat("menyala")))
    run(path, "pju", source="f")
    lamp = StreetLight.objects.get(source="f")
    assert lamp.status == "working"
    StreetLight.objects.filter(pk=lamp.pk).update(status="damaged", status_origin="field")
    path.write_text(json.dumps(feat("menyala") | {}))
    data = feat("mati")
    data["features"][0]["properties"]["wattage"] = 120
    path.write_text(json.dumps(data))
    report = run(path, "pju", source="f")
    lamp.refresh_from_db()
    assert report["updated"] == 1 and report["kept"] == 1
    assert lamp.status == "damaged" and lamp.wattage_w == 120 and lamp.version == 2


def _import_schemas() -> int:
    """Schemas an import made for its staging tables (import_<hex>) that still exist."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'import\\_%'")
        return cur.fetchone()[0]


def test_dry_run_and_failure_write_nothing(tmp_path, monkeypatch):
    path = shared_file("osm_porto/porto_street_lamps.geojson")
    report = run(path, "pju", source="dry", dry_run=True)
    assert report["created"] == 94 and StreetLight.objects.filter(source="dry").count() == 0
    assert _import_schemas() == 0  # the staging tables went with the rollback
    with connection.cursor() as cur:
        cur.execute("SHOW search_path")
        path_after = cur.fetchone()[0]
    assert "import_" not in path_after
    run(path, "pju", source="kept")
    assert _import_schemas() == 0  # dropped at the end of a successful import too
    import layers.importers.service as service

    def boom(*a, **k):
        raise RuntimeError("killed mid-way")

    monkeypatch.setattr(service, "assign_areas_in_table", boom)  # dies after staging, before the write
    with pytest.raises(RuntimeError):
        run(path, "pju", source="crash")
    assert StreetLight.objects.filter(source="crash").count() == 0 and _import_schemas() == 0
    # Killed after the rows were written (while linking parents): all rolled back.
    monkeypatch.setattr(service, "assign_area_parents", boom)
    with pytest.raises(RuntimeError):
        run(shared_file("tangerang_boundaries/kecamatan_kota_tangerang_tangsel.geojson"), "areas", source="crash")
    assert Area.objects.filter(source="crash").count() == 0


def test_unreadable_and_raster_files_are_refused(tmp_path):
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage")
    with pytest.raises(FileError, match="cannot read"):
        run(junk, "roads")
    with pytest.raises(FileError, match="import_imagery"):
        run(shared_file("dem/jakarta_ciliwung_dem_10m_utm48s.tif"), "roads")
    with pytest.raises(FileError, match="id-field"):
        run(shared_file("osm_porto/porto_street_lamps.geojson"), "pju", id_field="nope")


def test_command_json_report(tmp_path, capsys):
    call_command("import_layer", str(shared_file("osm_porto/porto_street_lamps.geojson")), layer="pju",
                 id_field="osm_id", json=True, verbosity=0)
    report = json.loads(capsys.readouterr().out)
    assert {"created", "updated", "skipped", "rejected", "reasons"} <= report.keys()
    assert report["created"] == 94
    assert StreetLight.objects.filter(source="porto_street_lamps", source_id="3646336753").exists()


def test_command_import_refreshes_the_needs_layers(tmp_path):
    from needs.models import ProposedPJU

    road = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"highway": "residential"},
            "geometry": {"type": "LineString", "coordinates": [[106.70, -6.20], [106.70, -6.2045]]}}]}  # ≈ 498 m, unlit
    path = tmp_path / "road.geojson"
    path.write_text(json.dumps(road))
    assert ProposedPJU.objects.count() == 0
    call_command("import_layer", str(path), layer="roads", verbosity=0)
    # SPEC §5: an unlit local road of L ≈ 498 m ≥ S/2 gets n = ⌈L/S⌉ poles (S = 35 m).
    length = GEOD.line_length([106.70, 106.70], [-6.20, -6.2045])
    assert ProposedPJU.objects.count() == math.ceil(length / 35)


def test_imported_roads_get_the_area_holding_their_largest_share_by_shapely():
    """Issue 18: the import's set-based membership (area pieces, parallel steps) against an
    independent count made with geopandas/shapely on the same files: per road and level, the
    area whose polygon holds the longest part of it (ties: the lower id), none when it meets no area."""
    kec_path = shared_file("jakarta_osm_2012/jakarta_kecamatan_osm_2012.geojson")
    kel_path = shared_file("jakarta_osm_2012/jakarta_kelurahan_osm_2012.geojson")
    run(kec_path, "areas", source="kec", default_level="kecamatan")
    run(kel_path, "areas", source="kel", default_level="kelurahan")
    road_path = shared_file("jakarta_osm_2012/jakarta_roads_osm_2012.gpkg")
    report = run(road_path, "roads", source="jkt")
    assert report["created"] > 18_000
    areas = gpd.GeoDataFrame(
        [{"area_id": a.id, "level": a.level, "geometry": shapely.from_wkb(bytes(a.geom.wkb))}
         for a in Area.objects.filter(level__in=("kecamatan", "kelurahan"))], crs=4326)
    roads = gpd.GeoDataFrame(
        [{"road_id": r.id, "geometry": shapely.from_wkb(bytes(r.geom.wkb))} for r in RoadSegment.objects.filter(source="jkt")],
        crs=4326)
    pairs = gpd.sjoin(roads, areas, predicate="intersects")[["road_id", "area_id", "level", "geometry"]]
    area_geom = areas.set_index("area_id").geometry
    pairs["share"] = shapely.length(shapely.intersection(pairs.geometry.values, area_geom.loc[pairs.area_id].values))
    best = pairs.sort_values(["road_id", "level", "share", "area_id"], ascending=[True, True, False, True]) \
                .drop_duplicates(["road_id", "level"])
    expected = {(r, lvl): a for r, lvl, a in zip(best.road_id, best.level, best.area_id)}
    got = RoadSegment.objects.filter(source="jkt").values_list("id", "kecamatan_id", "kelurahan_id")
    wrong = [(rid, kec, kel) for rid, kec, kel in got
             if (kec, kel) != (expected.get((rid, "kecamatan")), expected.get((rid, "kelurahan")))]
    several = pairs.groupby(["road_id", "level"]).area_id.nunique().gt(1).sum()
    assert several > 1_000  # the case that needs intersections is well exercised
    assert len(wrong) == 0, wrong[:10]


def test_list_and_dict_properties_are_imported_and_compared_by_their_text(tmp_path):
    """A GeoJSON property holding a list or an object (pandas cannot hash it) neither stops
    the import nor hides a duplicate: rows are compared by the text of their values."""
    def lamp(x, tags):
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, -6.2]},
                "properties": {"status": "working", "tags": tags, "extra": {"k": [1, 2]}}}

    path = tmp_path / "lists.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        lamp(106.80, ["a", "b"]), lamp(106.81, ["a"]), lamp(106.80, ["a", "b"])]}))
    report = run(path, "pju", source="lists")
    assert (report["created"], report["skipped"], report["rejected"]) == (2, 1, 0), report
    assert report["reasons"] == {"skipped: identical duplicate row": 1}
