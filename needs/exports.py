"""Musrenbang export: lighting proposals per road (one proposal row each:
where, how long under-lit, how many new PJU, priority, cost) and the proposed
poles with coordinates, as XLSX (openpyxl) or CSV. Rows are aggregated by
PostGIS from the (filtered) stored gaps; Python only writes the file."""
from __future__ import annotations

import io

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook

from geo_platform import codes
from geo_platform.spreadsheet import csv_writer, neutralise_row
from layers.models import Area, RoadSegment
from needs import rule as rules
from needs.models import LightingGap, ProposedPJU

PROPOSAL_COLUMNS = [
    ("no", "No"), ("kecamatan", "Kecamatan"), ("kelurahan", "Kelurahan/Desa"), ("road_id", "ID ruas"),
    ("road_name", "Nama jalan"), ("road_class", "Kelas jalan"), ("road_length_m", "Panjang ruas (m)"),
    ("underlit_m", "Panjang kurang terang (m)"), ("missing_m", "Belum ada PJU (m)"), ("weak_m", "Lampu kurang kuat (m)"),
    ("dark_m", "PJU mati/rusak (m)"), ("gaps", "Jumlah celah"), ("proposed_pju", "Usulan titik PJU"),
    ("priority", "Skor prioritas"), ("lon", "Bujur"), ("lat", "Lintang"), ("estimated_cost", "Perkiraan biaya (IDR)"),
    ("usulan", "Usulan kegiatan"),
]
POLE_COLUMNS = [
    ("id", "ID usulan"), ("road_id", "ID ruas"), ("road_name", "Nama jalan"), ("road_class", "Kelas jalan"),
    ("chainage_m", "Posisi (m dari awal ruas)"), ("side", "Sisi"), ("lon", "Bujur"), ("lat", "Lintang"),
    ("kecamatan", "Kecamatan"), ("kelurahan", "Kelurahan/Desa"), ("priority", "Skor prioritas"),
    ("estimated_cost", "Perkiraan biaya (IDR)"),
]
# SPEC §5: lamp upgrades (weak) and repairs (dark), priced apart from new poles; a
# broken PJU that is also an upgrade is listed (and priced) once, as the upgrade
UPGRADE_COLUMNS = [
    ("id", "ID PJU"), ("code", "Kode PJU"), ("road", "ID ruas"), ("road_class", "Kelas jalan"), ("status", "Status"),
    ("lamp_type", "Jenis lampu"), ("wattage_w", "Daya (W)"), ("weak_m", "Ruas kurang terang terjangkau (m)"),
    ("lamp", "Lampu standar"), ("lon", "Bujur"), ("lat", "Lintang"), ("kecamatan", "Kecamatan"), ("cost", "Perkiraan biaya (IDR)"),
]
REPAIR_COLUMNS = [
    ("id", "ID PJU"), ("code", "Kode PJU"), ("road", "ID ruas"), ("road_class", "Kelas jalan"), ("status", "Status"),
    ("treatment_label", "Penanganan"), ("dark_m", "Ruas gelap dipulihkan (m)"), ("lon", "Bujur"), ("lat", "Lintang"),
    ("kecamatan", "Kecamatan"), ("repair_cost", "Perkiraan biaya (IDR)"),
]
CLASS_LABELS = dict(codes.ROAD_CLASSES)
SIDE_LABELS = {"left": "Kiri", "right": "Kanan"}


def proposal_rows(gaps: QuerySet) -> list[dict]:
    """One row per road with under-lit stretches among `gaps`, highest priority first."""
    gap_sql, params = gaps.values("id").query.sql_with_params()
    area, road, proposed = Area._meta.db_table, RoadSegment._meta.db_table, ProposedPJU._meta.db_table
    sql = f"""
        WITH g AS (SELECT * FROM {LightingGap._meta.db_table} WHERE id IN ({gap_sql})),
        p AS (SELECT gap_id, count(*) AS n, sum(estimated_cost) AS cost, count(estimated_cost) AS priced
              FROM {proposed} WHERE gap_id IN (SELECT id FROM g) GROUP BY gap_id)
        SELECT k.name, kl.name, g.road_id, r.name, g.road_class, max(g.road_length_m), sum(g.length_m),
               coalesce(sum(g.length_m) FILTER (WHERE g.kind = 'missing'), 0),
               coalesce(sum(g.length_m) FILTER (WHERE g.kind = 'weak'), 0),
               coalesce(sum(g.length_m) FILTER (WHERE g.kind = 'dark'), 0), count(*),
               coalesce(sum(p.n), 0), max(g.priority),
               ST_X(ST_LineInterpolatePoint(r.geom, 0.5)), ST_Y(ST_LineInterpolatePoint(r.geom, 0.5)),
               CASE WHEN coalesce(sum(p.priced), 0) = coalesce(sum(p.n), 0) AND sum(p.n) > 0 THEN sum(p.cost) END
        FROM g
        JOIN {road} r ON r.id = g.road_id
        LEFT JOIN p ON p.gap_id = g.id
        LEFT JOIN {area} k ON k.id = g.kecamatan_id
        LEFT JOIN {area} kl ON kl.id = g.kelurahan_id
        GROUP BY k.name, kl.name, g.road_id, r.name, g.road_class, r.geom
        ORDER BY max(g.priority) DESC, g.road_id
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    out = []
    for i, (kec, kel, road_id, name, cls, length, underlit, missing, weak, dark, n_gaps, n_poles, prio, lon, lat,
            cost) in enumerate(rows, 1):
        label = name or f"ruas #{road_id}"
        out.append({
            "no": i, "kecamatan": kec or "", "kelurahan": kel or "", "road_id": road_id, "road_name": name or "",
            "road_class": CLASS_LABELS.get(cls, cls), "road_length_m": round(length, 1), "underlit_m": round(underlit, 1),
            "missing_m": round(missing, 1), "weak_m": round(weak, 1), "dark_m": round(dark, 1), "gaps": n_gaps, "proposed_pju": int(n_poles), "priority": round(prio, 1), "lon": round(lon, 7),
            "lat": round(lat, 7), "estimated_cost": float(cost) if cost is not None else None,
            "usulan": (f"Pemasangan {int(n_poles)} titik PJU baru di {label} ({underlit:.0f} m kurang terang)"
                       if n_poles else f"Penerangan {label} ({underlit:.0f} m kurang terang, ruas pendek)"),
        })
    return out


def pole_rows(gaps: QuerySet) -> list[dict]:
    gap_sql, params = gaps.values("id").query.sql_with_params()
    area, road, proposed = Area._meta.db_table, RoadSegment._meta.db_table, ProposedPJU._meta.db_table
    sql = f"""
        SELECT p.id, p.road_id, r.name, p.road_class, p.chainage_m, p.side, ST_X(p.geom), ST_Y(p.geom),
               k.name, kl.name, p.priority, p.estimated_cost
        FROM {proposed} p
        JOIN {road} r ON r.id = p.road_id
        LEFT JOIN {area} k ON k.id = p.kecamatan_id
        LEFT JOIN {area} kl ON kl.id = p.kelurahan_id
        WHERE p.gap_id IN ({gap_sql})
        ORDER BY p.priority DESC, p.road_id, p.chainage_m
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [
        {"id": pid, "road_id": rid, "road_name": name or "", "road_class": CLASS_LABELS.get(cls, cls),
         "chainage_m": round(c, 2), "side": SIDE_LABELS.get(side, side), "lon": round(lon, 7), "lat": round(lat, 7),
         "kecamatan": kec or "", "kelurahan": kel or "", "priority": round(prio, 1),
         "estimated_cost": float(cost) if cost is not None else None}
        for pid, rid, name, cls, c, side, lon, lat, kec, kel, prio, cost in rows
    ]


def layer_rows(slug: str, query=None) -> list[dict]:
    """Rows of a needs layer (lamp upgrades, broken PJU) for the export: the
    properties of the same PostGIS-built Features as the API, with lon/lat."""
    import json

    from needs import filters, selectors

    layer = selectors.NEED_LAYERS[slug]
    qs = selectors.lamp_upgrade_list() if slug == "lamp-upgrades" else selectors.broken_pju_list()
    if query is not None:
        fs = filters.UpgradeFilterSet if slug == "lamp-upgrades" else filters.BrokenFilterSet
        keep = {k: v for k, v in query.items() if k in fs.base_filters}
        qs = filters.apply_filters(fs, qs, keep)
    body, _ = selectors.geojson_page(layer, qs, limit=10**9, order="id")
    out = []
    for f in json.loads(b"[" + body + b"]"):
        props = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        lamp = props.get("lamp")
        out.append({**props, "id": f["id"], "lon": round(lon, 7), "lat": round(lat, 7),
                    "road_class": CLASS_LABELS.get(props.get("road_class"), props.get("road_class")),
                    "lamp": f"LED {lamp['wattage_w']} W, {lamp['lumen']} lm, tiang {lamp['pole_height_m']} m" if lamp else ""})
    return out


def _rule_lines() -> list[list]:
    lines = [["Aturan penerangan (SPEC §5 v2)", "H (m)", "k", "S = k·H (m)", "W bawaan (m)", "Lebar lajur (m)", "Ē (lx)",
              "Lampu standar"]]
    for cls, r in rules.lighting_rule().items():
        lamp = r["lamp"]
        lines.append([CLASS_LABELS.get(cls, cls), r["H"], r["k"], r["S"], r["W"], r["lane"], r["E"],
                      f"LED {lamp['watt']} W, {lamp['lumen']} lm, tiang {lamp['pole_m']} m"])
    lines += [
        [],
        ["PJU (semua status) menerangi ruas yang berjarak ≤ W/2 + 10 m; cakupannya lingkaran berjari-jari "
         "ρ = ½·min(k·h, Φ·UF·MF/(Ē·W)) di sekitar titik proyeksinya, melintasi ujung ruas dan simpang."],
        ["Belum ada PJU: tidak tercakup walau semua PJU berlampu standar → tiang baru; lampu kurang kuat → "
         "peningkatan lampu; PJU mati/rusak → perbaikan (tanpa tiang baru)."],
        ["Tiang usulan berdiri W/2 + 0,7 m dari as jalan."],
        [f"Dibuat {timezone.localtime():%Y-%m-%d %H:%M %Z} oleh geo_platform."],
    ]
    return lines


def musrenbang_export(*, gaps: QuerySet, fmt: str) -> tuple[bytes, str, str]:
    """(file bytes, content type, file name)."""
    proposals = proposal_rows(gaps)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv_writer(buf)  # issue 12: formulas neutralised
        writer.writerow([label for _, label in PROPOSAL_COLUMNS])
        for row in proposals:
            writer.writerow(["" if row[key] is None else row[key] for key, _ in PROPOSAL_COLUMNS])
        return buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", f"usulan_pju_musrenbang_{stamp}.csv"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Usulan")
    ws.append([label for _, label in PROPOSAL_COLUMNS])
    for row in proposals:
        ws.append(neutralise_row(row[key] for key, _ in PROPOSAL_COLUMNS))
    ws = wb.create_sheet("Titik PJU usulan")
    ws.append([label for _, label in POLE_COLUMNS])
    for row in pole_rows(gaps):
        ws.append(neutralise_row(row[key] for key, _ in POLE_COLUMNS))
    for title, slug, columns, keep in (("Peningkatan lampu", "lamp-upgrades", UPGRADE_COLUMNS, None),
                                       ("Perbaikan PJU", "broken-pju", REPAIR_COLUMNS, lambda r: not r["upgrade"])):
        ws = wb.create_sheet(title)
        ws.append([label for _, label in columns])
        for row in layer_rows(slug):
            if keep is None or keep(row):
                ws.append(neutralise_row(row.get(key) for key, _ in columns))
    ws = wb.create_sheet("Keterangan")
    for line in _rule_lines():
        ws.append(line)
    out = io.BytesIO()
    wb.save(out)
    return (
        out.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"usulan_pju_musrenbang_{stamp}.xlsx",
    )
