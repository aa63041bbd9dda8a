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
    ("underlit_m", "Panjang kurang terang (m)"), ("gaps", "Jumlah celah"), ("proposed_pju", "Usulan titik PJU"),
    ("priority", "Skor prioritas"), ("lon", "Bujur"), ("lat", "Lintang"), ("estimated_cost", "Perkiraan biaya (IDR)"),
    ("usulan", "Usulan kegiatan"),
]
POLE_COLUMNS = [
    ("id", "ID usulan"), ("road_id", "ID ruas"), ("road_name", "Nama jalan"), ("road_class", "Kelas jalan"),
    ("chainage_m", "Posisi (m dari awal ruas)"), ("side", "Sisi"), ("lon", "Bujur"), ("lat", "Lintang"),
    ("kecamatan", "Kecamatan"), ("kelurahan", "Kelurahan/Desa"), ("priority", "Skor prioritas"),
    ("estimated_cost", "Perkiraan biaya (IDR)"),
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
        SELECT k.name, kl.name, g.road_id, r.name, g.road_class, max(g.road_length_m), sum(g.length_m), count(*),
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
    for i, (kec, kel, road_id, name, cls, length, underlit, n_gaps, n_poles, prio, lon, lat, cost) in enumerate(rows, 1):
        label = name or f"ruas #{road_id}"
        out.append({
            "no": i, "kecamatan": kec or "", "kelurahan": kel or "", "road_id": road_id, "road_name": name or "",
            "road_class": CLASS_LABELS.get(cls, cls), "road_length_m": round(length, 1), "underlit_m": round(underlit, 1),
            "gaps": n_gaps, "proposed_pju": int(n_poles), "priority": round(prio, 1), "lon": round(lon, 7),
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


def _rule_lines() -> list[list]:
    lines = [["Aturan penerangan (SPEC §5)", "H (m)", "k", "S = k·H (m)", "W bawaan (m)"]]
    for cls, r in rules.lighting_rule().items():
        lines.append([CLASS_LABELS.get(cls, cls), r["H"], r["k"], r["S"], r["W"]])
    lines += [
        [],
        ["PJU dihitung menyala bila berstatus menyala atau tidak diketahui dan berjarak ≤ W/2 + 10 m dari ruas."],
        ["Celah antar PJU > S: kurang terang g − S (di tengah); celah ujung > S/2: e − S/2 (di ujung)."],
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
