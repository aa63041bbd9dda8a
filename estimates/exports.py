"""RAB (Rencana Anggaran Biaya) documents of an estimate: XLSX (openpyxl),
CSV and PDF (fpdf2). Numbers are the JSON's own Decimals, written as values,
so a workbook's totals equal the API's to the sen."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from geo_platform.spreadsheet import csv_writer, neutralise_workbook

MONEY_FMT = '#,##0.00'
QTY_FMT = '#,##0.000'


def _f(v):
    return float(v) if isinstance(v, Decimal) else v


def _summary_rows(est: dict) -> list[tuple[str, Decimal]]:
    pl = est["assumptions"]["price_list"]
    oh = float(est["assumptions"]["overhead_pct"])
    tax = float(est["assumptions"]["tax_pct"])
    return [
        ("Jumlah (subtotal)", est["subtotal"]),
        (f"Biaya umum & keuntungan {oh:g} %" + (" (sudah termasuk dalam harga)" if pl["prices_include_overhead"] else ""), est["overhead"]),
        (f"PPN {tax:g} %", est["tax"]),
        ("TOTAL", est["total"]),
    ]


# Divisions of the Bina Marga general specification (Spesifikasi Umum) by pay-item prefix
DIVISIONS = {
    "3": "Divisi 3 — Pekerjaan Tanah",
    "5": "Divisi 5 — Perkerasan Berbutir dan Perkerasan Beton Semen",
    "6": "Divisi 6 — Perkerasan Aspal",
    "7": "Divisi 7 — Struktur",
}
OTHER_DIVISION = "Lain-lain (HSPK daerah)"


def _by_division(items: list[dict]) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(DIVISIONS.get(item["code"].split(".")[0], OTHER_DIVISION), []).append(item)
    order = list(DIVISIONS.values()) + [OTHER_DIVISION]
    return sorted(groups.items(), key=lambda kv: order.index(kv[0]))


def estimate_xlsx(est: dict, *, title: str = "Rencana Anggaran Biaya (RAB)") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "RAB"
    bold = Font(bold=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    pl = est["assumptions"]["price_list"]
    tpl = est["assumptions"]["template"]
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Pekerjaan: {tpl['name']} ({tpl['code']})"])
    ws.append([f"Daftar harga: {pl['name']} — {pl['region']} {pl['year']}"])
    ws.append([f"Luas: {est['area_m2']:,.2f} m²" + (f"; panjang: {est['length_m']:,.2f} m" if est["length_m"] is not None else "")])
    ws.append([])
    header = ["No.", "Mata pembayaran", "Uraian", "Satuan", "Volume", "Harga satuan (Rp)", "Jumlah harga (Rp)"]
    ws.append(header)
    head_row = ws.max_row
    for c in range(1, len(header) + 1):
        cell = ws.cell(head_row, c)
        cell.font, cell.border = bold, box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    i = 0
    for division, items in _by_division(est["items"]):
        ws.append(["", "", division])
        ws.cell(ws.max_row, 3).font = bold
        for item in items:
            i += 1
            ws.append([i, item["code"], item["description"], item["unit"], _f(item["quantity"]), _f(item["unit_price"]), _f(item["amount"])])
            r = ws.max_row
            ws.cell(r, 5).number_format = QTY_FMT
            ws.cell(r, 6).number_format = MONEY_FMT
            ws.cell(r, 7).number_format = MONEY_FMT
            for c in range(1, 8):
                ws.cell(r, c).border = box
        ws.append(["", "", f"Sub jumlah {division}", "", "", "", _f(sum((it["amount"] for it in items), Decimal("0")))])
        ws.cell(ws.max_row, 3).font = bold
        ws.cell(ws.max_row, 7).number_format = MONEY_FMT
    ws.append([])
    for label, value in _summary_rows(est):
        ws.append(["", "", label, "", "", "", _f(value)])
        r = ws.max_row
        ws.cell(r, 3).font = bold
        ws.cell(r, 7).number_format = MONEY_FMT
        ws.cell(r, 7).font = bold
    ws.append([])
    ws.append(["", "Terbilang:", est["total_words"].capitalize()])
    ws.cell(ws.max_row, 2).font = bold
    ws.append([])
    ws.append(["", "", "", "", "Disusun oleh,", "", "Disetujui oleh,"])
    ws.append([])
    ws.append([])
    ws.append(["", "", "", "", "(............................)", "", "(............................)"])
    ws.append(["", "", "", "", "NIP.", "", "NIP."])
    for col, width in zip("ABCDEFG", (5, 16, 52, 8, 14, 18, 20)):
        ws.column_dimensions[col].width = width

    q = wb.create_sheet("Kuantitas")
    q.append(["Lapis", "Material", "Tebal (m)", "Luas (m²)", "Volume (m³)", "Berat isi (t/m³)", "Berat (t)", "Faktor susut", "Berat + susut (t)"])
    for layer in est["layers"]:
        q.append([layer["name"], layer["material"], layer["thickness_m"], layer["area_m2"], layer["volume_m3"], layer["density_t_m3"],
                  layer["mass_t"], layer["loss_factor"], layer["mass_with_loss_t"]])
    q.append([])
    q.append(["Lapis resap/perekat", "Takaran (L/m²)", "Liter"])
    for coat in est["coats"]:
        q.append([coat["name"], coat["rate_l_m2"], coat["litres"]])
    if est["concrete"]:
        q.append([])
        q.append(["Beton", "Mutu", "Volume (m³)", "Volume + susut (m³)", "Semen (kg)", "Pasir (kg)", "Kerikil (kg)", "Air (L)"])
        for c in est["concrete"]:
            q.append([c["layer"], c["grade"], c["volume_m3"], c["volume_with_loss_m3"], c["cement_kg"], c["sand_kg"], c["gravel_kg"], c["water_l"]])
    if est["steel"]:
        q.append([])
        q.append(["Baja", "Jumlah batang", "Diameter (mm)", "Panjang (m)", "kg/m", "Berat (kg)"])
        for s in est["steel"]:
            q.append([s["name"], s["count"], s["diameter_mm"], s["length_m"], s["kg_per_m"], s["kg"]])
    q.column_dimensions["A"].width = 40

    a = wb.create_sheet("Asumsi")
    a.append(["Asumsi", "Nilai"])
    a["A1"].font = a["B1"].font = bold
    for key, value in _flatten(est["assumptions"]):
        a.append([key, value])
    a.append([])
    a.append(["Sumber per item", ""])
    for item in est["items"]:
        a.append([f"harga {item['code']}", item.get("source", "")])
    for layer in est["layers"]:
        a.append([f"tebal {layer['name']}", layer["source"]])
    for coat in est["coats"]:
        a.append([f"takaran {coat['name']}", coat["source"]])
    a.column_dimensions["A"].width = 40
    a.column_dimensions["B"].width = 100
    out = io.BytesIO()
    neutralise_workbook(wb)  # issue 12: no live formulas from names
    wb.save(out)
    return out.getvalue()


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        if len(obj) > 50:
            yield prefix, f"{len(obj)} entries"
            return
        for i, v in enumerate(obj):
            yield from _flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, "" if obj is None else (float(obj) if isinstance(obj, Decimal) else obj)


def estimate_csv(est: dict) -> str:
    out = io.StringIO()
    w = csv_writer(out)  # issue 12: formulas neutralised
    w.writerow(["no", "code", "description", "unit", "quantity", "unit_price", "amount"])
    for i, item in enumerate(est["items"], 1):
        w.writerow([i, item["code"], item["description"], item["unit"], item["quantity"], item["unit_price"], item["amount"]])
    for label, value in _summary_rows(est):
        w.writerow(["", "", label, "", "", "", value])
    w.writerow(["", "", "Terbilang: " + est["total_words"], "", "", "", ""])
    return out.getvalue()


def _rp(v) -> str:
    return f"{Decimal(v):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def estimate_pdf(est: dict, *, title: str = "Rencana Anggaran Biaya (RAB)") -> bytes:
    from fpdf import FPDF  # fpdf2; core fonts, so text is kept to Latin-1

    def t(s) -> str:
        return str(s).replace("²", "2").replace("³", "3").replace("—", "-").replace("–", "-").replace("Ø", "D").encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, t(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    tpl, pl = est["assumptions"]["template"], est["assumptions"]["price_list"]
    pdf.cell(0, 5, t(f"Pekerjaan: {tpl['name']} ({tpl['code']})"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, t(f"Daftar harga: {pl['name']} - {pl['region']} {pl['year']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, t(f"Luas: {est['area_m2']:,.2f} m2"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = (10, 28, 110, 16, 30, 38, 45)
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, ("No.", "Mata pemb.", "Uraian", "Satuan", "Volume", "Harga satuan", "Jumlah (Rp)")):
        pdf.cell(w, 6, h, border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for i, item in enumerate(est["items"], 1):
        cells = (str(i), item["code"], item["description"][:70], item["unit"], f"{item['quantity']:,.3f}", _rp(item["unit_price"]), _rp(item["amount"]))
        for j, (w, v) in enumerate(zip(widths, cells)):
            pdf.cell(w, 6, t(v), border=1, align="R" if j >= 4 else "L")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 9)
    for label, value in _summary_rows(est):
        pdf.cell(sum(widths[:-1]), 6, t(label), border=1, align="R")
        pdf.cell(widths[-1], 6, _rp(value), border=1, align="R")
        pdf.ln()
    pdf.ln(2)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, t("Terbilang: " + est["total_words"].capitalize()))
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(140, 5, "Disusun oleh,", align="C")
    pdf.cell(0, 5, "Disetujui oleh,", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    pdf.cell(140, 5, "(............................)", align="C")
    pdf.cell(0, 5, "(............................)", align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def programme_csv(prog: dict) -> str:
    out = io.StringIO()
    w = csv_writer(out)  # issue 12: formulas neutralised
    w.writerow(["area_code", "area_name", "road_class", "treatment", "template", "segments", "length_m", "treated_m2", "cost",
                "funded_segments", "funded_length_m", "funded_cost"])
    for g in prog["groups"]:
        w.writerow([g["area_code"] or "", g["area_name"] or "", g["road_class"], g["treatment"], g["template"], g["segments"],
                    f"{g['length_m']:.2f}", f"{g['treated_m2']:.2f}", f"{g['cost']:.2f}", g["funded_segments"],
                    f"{g['funded_length_m']:.2f}", f"{g['funded_cost']:.2f}"])
    return out.getvalue()


def programme_xlsx(prog: dict) -> bytes:
    """The programme as a workbook: summary and treatments, groups per area × class × treatment, ranked segments."""
    wb = Workbook()
    bold = Font(bold=True)
    ws = wb.active
    ws.title = "Ringkasan"
    pl = prog["price_list"]
    ws.append(["Program penanganan jalan berbasis kondisi"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["Daftar harga", f"{pl['name']} — {pl['region']} {pl['year']}"])
    ws.append(["Tingkat wilayah", prog["level"]])
    ws.append(["Pagu anggaran (Rp)", prog["budget"]])
    ws.append([])
    for key, label in (("segments", "Ruas ditangani"), ("length_m", "Panjang (m)"), ("treated_m2", "Luas penanganan (m²)"),
                       ("cost", "Biaya (Rp)"), ("funded_segments", "Ruas terdanai"), ("funded_length_m", "Panjang terdanai (m)"),
                       ("funded_cost", "Biaya terdanai (Rp)"), ("unassessed_segments", "Ruas tanpa data kondisi"),
                       ("unassessed_length_m", "Panjang tanpa data kondisi (m)")):
        ws.append([label, prog["totals"][key]])
        ws.cell(ws.max_row, 2).number_format = MONEY_FMT
    ws.append([])
    ws.append(["Kondisi", "Perkerasan", "Penanganan", "Templat", "Bagian luas", "Prioritas", "Biaya per m² (Rp, termasuk BU & PPN)"])
    for c in range(1, 8):
        ws.cell(ws.max_row, c).font = bold
    for t in prog["treatments"]:
        ws.append([t["condition"], t["surface"] or "*", t["name"], t["template"], t["area_fraction"], t["priority"], t["cost_per_m2"]])
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 40

    g = wb.create_sheet("Kelompok")
    cols = ["area_code", "area_name", "road_class", "treatment", "template", "segments", "length_m", "treated_m2", "cost",
            "funded_segments", "funded_length_m", "funded_cost"]
    g.append(cols)
    for row in prog["groups"]:
        g.append([row[c] for c in cols])
    s = wb.create_sheet("Ruas")
    cols = ["rank", "id", "name", "area_code", "area_name", "road_class", "condition", "surface", "treatment", "template",
            "length_m", "width_m", "area_fraction", "treated_m2", "cost", "cumulative_cost", "funded"]
    s.append(cols)
    for row in prog["segments"]:
        s.append([row[c] for c in cols])
    for sheet in (g, s):
        for c in range(1, sheet.max_column + 1):
            sheet.cell(1, c).font = bold
    out = io.BytesIO()
    neutralise_workbook(wb)  # issue 12: no live formulas from names
    wb.save(out)
    return out.getvalue()
