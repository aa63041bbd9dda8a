"""Energy and PLN bills (SPEC §7): kWh and rupiah per PJU, panel (PLN
customer id) or kecamatan over [from, to).

* measured: the sum of positive `active_energy_kwh` deltas (hourly rollups)
  for a PJU whose controller reported in the period;
* estimated, for every other lit PJU (status working/unknown): wattage ×
  night hours (sunset to sunrise at the city, astronomically) × dimming
  (its last reported level, else 100 %) / 1000;
* rupiah at PLN_TARIFF_RP_KWH; unmetered (`legal = false`) lamps listed with
  their use; LED-retrofit savings: a non-LED lamp replaced by the SPEC §5
  standard LED of its road class (nearest road) saves
  (wattage − standard W) × night hours."""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection

from live import sun

# SPEC §5 standard lamps (LED) per road class, watts.
STANDARD_LED_W = {"arterial": 150.0, "collector": 90.0, "local": 40.0, "neighbourhood": 30.0, "path": 20.0}
LEVELS = {
    "pju": ("p.id", "coalesce(nullif(p.code, ''), 'PJU #' || p.id)", "p.pln_customer_id"),
    "panel": ("p.panel_id", "coalesce(nullif(pa.code, ''), 'Panel #' || p.panel_id)", "pa.pln_customer_id"),
    "kecamatan": ("p.kecamatan_id", "k.name", "NULL"),
}


def city_position() -> tuple[float, float]:
    with connection.cursor() as cur:
        cur.execute("SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) AS c FROM layers_streetlight "
                    "WHERE deleted_at IS NULL) s")
        lat, lon = cur.fetchone()
    return (lat or 0.0), (lon or 0.0)


def energy_report(*, level: str, start: datetime, end: datetime) -> dict:
    lat, lon = city_position()
    nights = sun.night_hours(lat, lon, start, end)
    tariff = float(settings.PLN_TARIFF_RP_KWH)
    key, name, customer = LEVELS[level]
    sql = f"""
    WITH measured AS (
        SELECT h.pju_id, sum(h.energy_kwh) AS kwh FROM live_telemetryhourly h
        WHERE h.hour >= %(start)s AND h.hour < %(end)s GROUP BY h.pju_id
    ), per_pju AS (
        SELECT p.id, p.code, p.legal, p.lamp_type, p.wattage_w, p.status, p.panel_id, p.kecamatan_id, p.pln_customer_id,
               p.geom, m.kwh AS measured_kwh,
               CASE WHEN m.kwh IS NULL AND p.status IN ('working', 'unknown') AND p.wattage_w IS NOT NULL
                    THEN p.wattage_w * %(nights)s * coalesce(ls.level, 100) / 100.0 / 1000.0 END AS estimated_kwh
        FROM layers_streetlight p
        LEFT JOIN measured m ON m.pju_id = p.id
        LEFT JOIN live_livestate ls ON ls.pju_id = p.id
        WHERE p.deleted_at IS NULL
    ), retrofit AS (
        SELECT q.id, greatest(q.wattage_w - std.w, 0) * %(nights)s / 1000.0 AS savings_kwh
        FROM per_pju q
        CROSS JOIN LATERAL (SELECT r.road_class FROM layers_roadsegment r WHERE r.deleted_at IS NULL
                            ORDER BY r.geom <-> q.geom LIMIT 1) nr
        JOIN (SELECT * FROM unnest(%(classes)s::text[], %(watts)s::float8[]) AS s(road_class, w)) std ON std.road_class = nr.road_class
        WHERE q.lamp_type NOT IN ('led', 'unknown') AND q.wattage_w IS NOT NULL AND q.status IN ('working', 'unknown')
    )
    SELECT {key} AS key, {name} AS name, {customer} AS pln_customer_id, count(*) AS pju,
           count(p.measured_kwh) AS measured_pju, count(p.estimated_kwh) AS estimated_pju,
           coalesce(sum(p.measured_kwh), 0), coalesce(sum(p.estimated_kwh), 0),
           count(*) FILTER (WHERE p.legal IS FALSE) AS unmetered_pju,
           coalesce(sum(rf.savings_kwh), 0)
    FROM per_pju p
    LEFT JOIN retrofit rf ON rf.id = p.id
    LEFT JOIN layers_panel pa ON pa.id = p.panel_id
    LEFT JOIN layers_area k ON k.id = p.kecamatan_id
    GROUP BY 1, 2, 3 ORDER BY 2 NULLS LAST, 1
    """
    params = {"start": start, "end": end, "nights": nights, "classes": list(STANDARD_LED_W), "watts": list(STANDARD_LED_W.values())}
    rows = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for k, nm, cust, n, nm_meas, nm_est, meas, est, unmetered, savings in cur.fetchall():
            kwh = meas + est
            rows.append({"key": k, "name": nm, "pln_customer_id": cust or "", "pju": n, "measured_pju": nm_meas,
                         "estimated_pju": nm_est, "measured_kwh": round(meas, 3), "estimated_kwh": round(est, 3),
                         "kwh": round(kwh, 3), "rp": round(kwh * tariff, 2), "unmetered_pju": unmetered,
                         "led_savings_kwh": round(savings, 3), "led_savings_rp": round(savings * tariff, 2)})
        cur.execute(
            "SELECT p.id, p.code, p.wattage_w, p.wattage_w * %s * coalesce(ls.level, 100) / 100.0 / 1000.0 FROM layers_streetlight p "
            "LEFT JOIN live_livestate ls ON ls.pju_id = p.id WHERE p.deleted_at IS NULL AND p.legal IS FALSE "
            "AND p.status IN ('working', 'unknown') ORDER BY p.id LIMIT 10000",
            [nights],
        )
        unmetered = [{"pju": i, "code": c, "wattage_w": w, "estimated_kwh": round(e or 0, 3), "rp": round((e or 0) * tariff, 2)}
                     for i, c, w, e in cur.fetchall()]
    totals = {f: round(sum(r[f] for r in rows), 3) for f in ("measured_kwh", "estimated_kwh", "kwh", "led_savings_kwh")}
    totals["rp"] = round(totals["kwh"] * tariff, 2)
    totals["led_savings_rp"] = round(totals["led_savings_kwh"] * tariff, 2)
    return {"level": level, "from": start.isoformat(), "to": end.isoformat(), "tariff_rp_kwh": tariff,
            "night_hours": round(nights, 4), "city": {"lat": lat, "lon": lon}, "rows": rows, "totals": totals,
            "unmetered": unmetered}


def energy_xlsx(report: dict) -> bytes:
    """The report as a workbook for the PLN reconciliation."""
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Energi"
    ws.append(["Rekonsiliasi energi PJU", f"{report['from']} – {report['to']}", f"tarif Rp {report['tariff_rp_kwh']:,.2f}/kWh",
               f"jam malam {report['night_hours']:.2f}"])
    head = ["key", "name", "pln_customer_id", "pju", "measured_pju", "estimated_pju", "measured_kwh", "estimated_kwh",
            "kwh", "rp", "unmetered_pju", "led_savings_kwh", "led_savings_rp"]
    ws.append(head)
    for r in report["rows"]:
        ws.append([r[h] for h in head])
    t = report["totals"]
    ws.append(["TOTAL", "", "", "", "", "", t["measured_kwh"], t["estimated_kwh"], t["kwh"], t["rp"], "", t["led_savings_kwh"], t["led_savings_rp"]])
    un = wb.create_sheet("Tanpa meter")
    un.append(["pju", "code", "wattage_w", "estimated_kwh", "rp"])
    for r in report["unmetered"]:
        un.append([r["pju"], r["code"], r["wattage_w"], r["estimated_kwh"], r["rp"]])
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()
