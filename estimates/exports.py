"""RAB (Rencana Anggaran Biaya) documents of an estimate: XLSX (openpyxl),
CSV and PDF (fpdf2). Numbers are the JSON's own Decimals, written as values,
so a workbook's totals equal the API's to the sen."""
from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from geo_platform.spreadsheet import FORMULA_PREFIXES, csv_writer, neutralise_workbook

# Indonesian number format: the [$-421] locale tag (Bahasa Indonesia) makes LibreOffice and an Indonesian
# Excel show 1.234.567,89; the values stay numbers, so formulas work.
MONEY_FMT = '[$-421]#,##0.00'
QTY_FMT = '[$-421]#,##0.00'
NUM_FMT = '[$-421]#,##0.000'
# The RAB's own formulas (issue 14): arithmetic over this workbook's cells with ROUND/ROUNDDOWN/SUM only. Any
# other text starting like a formula (a road name, a description) is neutralised as issue 12 requires.
OWN_FORMULA = re.compile(r"^=(?:ROUNDDOWN\(|ROUND\(|SUM\(|[A-Z]{1,2}\d+|[0-9.]+|[-+*/(),:]|\s)+$")


def _neutralise_keeping_own_formulas(wb) -> None:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not OWN_FORMULA.match(value):
                    cell.value = "'" + value
                    cell.data_type = "s"


def _f(v):
    return float(v) if isinstance(v, Decimal) else v


ROUNDING_LABEL = {"down": "dibulatkan ke bawah", "half_up": "dibulatkan", "none": "tanpa pembulatan"}


def _summary_rows(est: dict) -> list[tuple[str, Decimal]]:
    pl = est["assumptions"]["price_list"]
    oh = float(est["assumptions"]["overhead_pct"])
    tax = float(est["assumptions"]["tax_pct"])
    rows = [
        ("Jumlah (subtotal)", est["subtotal"]),
        (f"Biaya umum & keuntungan {oh:g} %" + (" (sudah termasuk dalam harga)" if pl["prices_include_overhead"] else ""), est["overhead"]),
        (f"PPN {tax:g} %", est["tax"]),
    ]
    if "total_unrounded" in est:
        rows.append(("Jumlah total", est["total_unrounded"]))
    rows.append(("TOTAL", est["total"]))
    return rows


# Divisions of the Bina Marga general specification (Spesifikasi Umum) by pay-item prefix
DIVISIONS = {
    "1": "Divisi 1 — Umum (mobilisasi, manajemen lalu lintas, SMKK)",
    "3": "Divisi 3 — Pekerjaan Tanah",
    "5": "Divisi 5 — Perkerasan Berbutir dan Perkerasan Beton Semen",
    "6": "Divisi 6 — Perkerasan Aspal",
    "7": "Divisi 7 — Struktur",
}
OTHER_DIVISION = "Lain-lain (HSPK daerah)"


def _by_division(items: list[dict]) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for item in items:
        key = "1" if item.get("general") else item["code"].split(".")[0]
        groups.setdefault(DIVISIONS.get(key, OTHER_DIVISION), []).append(item)
    order = list(DIVISIONS.values()) + [OTHER_DIVISION]
    return sorted(groups.items(), key=lambda kv: order.index(kv[0]))


def _location_lines(est: dict) -> list[str]:
    loc = est.get("location") or {}
    lines = []
    names = loc.get("road_names") or []
    if names:
        more = f" dan {len(names) - 10} ruas lain" if len(names) > 10 else ""
        lines.append("Lokasi: " + ", ".join(names[:10]) + more)
    elif loc.get("roads"):
        lines.append(f"Lokasi: {len(loc['roads'])} ruas jalan tanpa nama (id {', '.join(str(r['id']) for r in loc['roads'][:10])})")
    else:
        lines.append("Lokasi: digambar pada peta")
    for key, label in (("kelurahan", "Kelurahan"), ("kecamatan", "Kecamatan"), ("kabupaten_kota", "Kabupaten/Kota")):
        if loc.get(key):
            lines.append(f"{label}: {', '.join(loc[key][:15])}" + (" …" if len(loc[key]) > 15 else ""))
    return lines


def _excel_rounding(expr: str, pl: dict, est: dict) -> str:
    rounding = est["assumptions"].get("rounding") or {}
    step, mode = rounding.get("to"), rounding.get("mode", "none")
    if not step or mode == "none":
        return f"={expr}"
    fn = "ROUNDDOWN" if mode == "down" else "ROUND"
    return f"={fn}(({expr})/{_f(step):g},0)*{_f(step):g}"


def estimate_xlsx(est: dict, *, title: str = "Rencana Anggaran Biaya (RAB)") -> bytes:
    """The RAB workbook. Every amount is an Excel formula an engineer can
    audit: jumlah = ROUND(volume × harga satuan, 2), Divisi 1/SMKK = ROUND(
    biaya fisik × %, 2), sub jumlah = SUM, overhead and PPN from the
    percentages, the total rounded as the price list says — and Excel gives
    exactly the API's numbers."""
    wb = Workbook()
    ws = wb.active
    ws.title = "RAB"
    bold = Font(bold=True)
    red = Font(bold=True, color="C00000")
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    pl = est["assumptions"]["price_list"]
    tpl = est["assumptions"]["template"]
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Pekerjaan: {tpl['name']} ({tpl['code']})"])
    for line in _location_lines(est):
        ws.append([line])
    ws.append([f"Daftar harga: {pl['name']} — {pl['region']} {pl['year']}"])
    for warning in est.get("warnings") or []:
        ws.append([f"PERHATIAN: {warning}"])
        ws.cell(ws.max_row, 1).font = red
    area = f"Luas: {_id_number(est['area_m2'])} m²"
    if est["length_m"] is not None:
        area += f"; panjang: {_id_number(est['length_m'])} m"
    ws.append([area])
    ws.append([])
    header = ["No.", "Mata pembayaran", "Uraian", "Satuan", "Volume", "Harga satuan (Rp)", "Jumlah harga (Rp)"]
    ws.append(header)
    head_row = ws.max_row
    for c in range(1, len(header) + 1):
        cell = ws.cell(head_row, c)
        cell.font, cell.border = bold, box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    i = 0
    subtotal_cells, general_rows, physical_subtotals = [], [], []
    for division, items in _by_division(est["items"]):
        ws.append(["", "", division])
        ws.cell(ws.max_row, 3).font = bold
        first = ws.max_row + 1
        for item in items:
            i += 1
            r = ws.max_row + 1
            ws.append([i, item["code"], item["description"], item["unit"], _f(item["quantity"]), _f(item["unit_price"]),
                       f"=ROUND(E{r}*F{r},2)"])
            if item.get("general") and item.get("basis") == "percent":
                general_rows.append((r, _f(item["percent"])))
            ws.cell(r, 5).number_format = QTY_FMT
            ws.cell(r, 6).number_format = MONEY_FMT
            ws.cell(r, 7).number_format = MONEY_FMT
            for c in range(1, 8):
                ws.cell(r, c).border = box
        last = ws.max_row
        ws.append(["", "", f"Sub jumlah {division}", "", "", "", f"=SUM(G{first}:G{last})"])
        ws.cell(ws.max_row, 3).font = bold
        ws.cell(ws.max_row, 7).number_format = MONEY_FMT
        subtotal_cells.append(f"G{ws.max_row}")
        if not division.startswith("Divisi 1"):
            physical_subtotals.append(f"G{ws.max_row}")
    ws.append([])
    ws.append(["", "", "Biaya pekerjaan fisik (tanpa Divisi 1)", "", "", "", "=" + ("+".join(physical_subtotals) or "0")])
    physical = f"G{ws.max_row}"
    ws.cell(ws.max_row, 7).number_format = MONEY_FMT
    for r, pct in general_rows:  # Divisi 1 / SMKK: a percentage of the physical works
        ws.cell(r, 6).value = f"=ROUND({physical}*{pct:g}/100,2)"
    oh = float(est["assumptions"]["overhead_pct"])
    tax = float(est["assumptions"]["tax_pct"])
    labels = [label for label, _ in _summary_rows(est)]
    r0 = ws.max_row + 1
    formulas = ["=" + "+".join(subtotal_cells), f"=ROUND(G{r0}*{oh:g}/100,2)", f"=ROUND((G{r0}+G{r0 + 1})*{tax:g}/100,2)"]
    if len(labels) == 5:
        formulas += [f"=G{r0}+G{r0 + 1}+G{r0 + 2}", _excel_rounding(f"G{r0 + 3}", pl, est)]
        labels[4] = f"TOTAL ({ROUNDING_LABEL.get(est['assumptions'].get('rounding', {}).get('mode'), '')})"
    else:
        formulas += [f"=G{r0}+G{r0 + 1}+G{r0 + 2}"]
    for label, formula in zip(labels, formulas):
        ws.append(["", "", label, "", "", "", formula])
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
    for col, width in zip("ABCDEFG", (5, 16, 58, 8, 14, 18, 20)):
        ws.column_dimensions[col].width = width

    _quantities_sheet(wb, est, bold)
    _assumptions_sheet(wb, est, bold)
    out = io.BytesIO()
    _neutralise_keeping_own_formulas(wb)  # issue 12: no live formulas from names; issue 14: the RAB's own stay
    wb.save(out)
    return out.getvalue()


def _id_number(v, decimals: int = 2) -> str:
    """1234567.891 → '1.234.567,89' (Indonesian grouping and decimal comma)."""
    return f"{float(v):,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _quantities_sheet(wb, est: dict, bold) -> None:
    """Derivation of each quantity, as formulas: volume = luas × tebal, berat = volume × berat isi, and for an
    asphalt mix the aggregate and bitumen shares with their own loss factors."""
    q = wb.create_sheet("Kuantitas")
    head = ["Lapis", "Material", "Tebal (m)", "Luas (m²)", "Volume padat (m³)", "Berat isi (t/m³)", "Berat padat (t)",
            "Kadar aspal", "Agregat (t)", "Faktor susut agregat", "Agregat + susut (t)", "Aspal (t)", "Faktor susut aspal",
            "Aspal + susut (t)", "Faktor susut", "Berat + susut (t)"]
    q.append(head)
    for c in range(1, len(head) + 1):
        q.cell(1, c).font = bold
    for layer in est["layers"]:
        r = q.max_row + 1
        row = [layer["name"], layer["material"], layer["thickness_m"], layer["area_m2"], f"=D{r}*C{r}", layer["density_t_m3"],
               f"=E{r}*F{r}"]
        if "bitumen_share" in layer:
            row += [layer["bitumen_share"], f"=G{r}*(1-H{r})", layer["aggregate_loss_factor"], f"=I{r}*J{r}", f"=G{r}*H{r}",
                    layer["bitumen_loss_factor"], f"=L{r}*M{r}", "", f"=K{r}+N{r}"]
        else:
            row += ["", "", "", "", "", "", "", layer["loss_factor"], f"=G{r}*O{r}"]
        q.append(row)
        for c, fmt in ((3, NUM_FMT), (4, QTY_FMT), (5, QTY_FMT), (6, NUM_FMT), (7, QTY_FMT), (8, NUM_FMT), (9, QTY_FMT),
                       (10, NUM_FMT), (11, QTY_FMT), (12, QTY_FMT), (13, NUM_FMT), (14, QTY_FMT), (15, NUM_FMT), (16, QTY_FMT)):
            q.cell(r, c).number_format = fmt
    q.append([])
    q.append(["Lapis resap/perekat", "Di atas permukaan", "Takaran (L/m²)", "Luas (m²)", "Liter"])
    for c in range(1, 6):
        q.cell(q.max_row, c).font = bold
    for coat in est["coats"]:
        r = q.max_row + 1
        q.append([coat["name"], COAT_SURFACE_LABELS.get(coat.get("on_surface"), ""), coat["rate_l_m2"], est["area_m2"], f"=C{r}*D{r}"])
        q.cell(r, 4).number_format = q.cell(r, 5).number_format = QTY_FMT
    if est.get("works"):
        q.append([])
        q.append(["Item pekerjaan", "Satuan", "Volume per m²", "Luas (m²)", "Volume"])
        for c in range(1, 6):
            q.cell(q.max_row, c).font = bold
        for w in est["works"]:
            r = q.max_row + 1
            q.append([w["name"], w["unit"], w["rate_per_m2"], est["area_m2"], f"=C{r}*D{r}"])
            q.cell(r, 4).number_format = q.cell(r, 5).number_format = QTY_FMT
    if est["concrete"]:
        q.append([])
        q.append(["Beton", "Mutu", "Volume (m³)", "Volume + susut (m³)", "Semen (kg)", "Pasir (kg)", "Kerikil (kg)", "Air (L)"])
        for c in est["concrete"]:
            q.append([c["layer"], c["grade"], round(c["volume_m3"], 2), round(c["volume_with_loss_m3"], 2), round(c["cement_kg"], 1),
                      round(c["sand_kg"], 1), round(c["gravel_kg"], 1), round(c["water_l"], 1)])
    if est["steel"]:
        q.append([])
        q.append(["Baja", "Jumlah batang", "Diameter (mm)", "Panjang (m)", "kg/m", "Berat (kg)"])
        for s in est["steel"]:
            r = q.max_row + 1
            q.append([s["name"], s["count"], s["diameter_mm"], s["length_m"], round(s["kg_per_m"], 4), f"=B{r}*D{r}*E{r}"])
    q.column_dimensions["A"].width = 48


COAT_SURFACE_LABELS = {"aggregate": "LFA / lapis berbutir", "new_asphalt": "aspal baru", "old_asphalt": "aspal lama",
                       "milled": "permukaan kupasan"}


def _assumptions_sheet(wb, est: dict, bold) -> None:
    """Asumsi in Bahasa Indonesia: what the numbers rest on and where each value comes from."""
    a = wb.create_sheet("Asumsi")
    asm = est["assumptions"]
    pl, tpl = asm["price_list"], asm["template"]
    matched = {True: "Ya", False: "Tidak — daftar harga wilayah lain", None: "Tidak diketahui (wilayah lokasi tidak tercatat)"}
    rounding = asm.get("rounding") or {}
    rows = [
        ("Templat perkerasan", f"{tpl['name']} ({tpl['code']})"),
        ("Sumber templat", tpl["source"]),
        ("Daftar harga", f"{pl['name']} — {pl['region']} {pl['year']}"),
        ("Sumber daftar harga", pl.get("source", "")),
        ("Daftar harga sesuai wilayah lokasi", matched.get(asm.get("region_matched"))),
        ("Biaya umum & keuntungan (%)", _f(asm["overhead_pct"])),
        ("PPN (%)", _f(asm["tax_pct"])),
        ("Harga satuan sudah termasuk biaya umum", "Ya" if pl.get("prices_include_overhead") else "Tidak"),
        ("Pengukuran", "Panjang dan luas dihitung pada elipsoid WGS 84 (PostGIS geography); luas garis = panjang × lebar"),
        ("Kuantitas", "Volume = luas × tebal padat; berat = volume × berat isi; campuran aspal dengan susut = bagian agregat × "
                      "faktor susut agregat + bagian aspal × faktor susut aspal; aspal dibayar per ton (dengan susut), agregat dan "
                      "beton per m³ padat, paving per m²; volume dibulatkan ke 0,01 satuannya"),
        ("Divisi 1 dan SMKK", "Persentase dari biaya pekerjaan fisik atau lump sum, sesuai daftar harga"),
        ("Pembulatan total", f"{ROUNDING_LABEL.get(rounding.get('mode'), '')} ke Rp {_id_number(rounding['to'], 0)}"
                             if rounding.get("to") else "tanpa pembulatan"),
    ]
    a.append(["Asumsi", "Nilai"])
    a["A1"].font = a["B1"].font = bold
    for row in rows:
        a.append(list(row))
    a.append([])
    a.append(["Material", "Berat isi (t/m³), faktor susut"])
    a.cell(a.max_row, 1).font = bold
    for code, m in asm.get("materials", {}).items():
        text = f"berat isi {_id_number(m['density_t_m3'], 3)}; "
        if "bitumen_share" in m:
            text += (f"kadar aspal {_id_number(100 * m['bitumen_share'], 1)} %, susut agregat × {_id_number(m['aggregate_loss_factor'], 2)}, "
                     f"susut aspal × {_id_number(m['bitumen_loss_factor'], 2)}")
        else:
            text += f"faktor susut × {_id_number(m['loss_factor'], 2)}"
        a.append([code, text])
    pieces = asm.get("pieces") or []
    if pieces:
        a.append([])
        a.append(["Ruas / bagian", "Panjang (m), lebar (m), luas (m²), sumber lebar"])
        a.cell(a.max_row, 1).font = bold
        for p in pieces[:200]:
            label = f"ruas #{p['road_id']}" if p.get("road_id") else "digambar"
            a.append([label, f"{_id_number(p['length_m']) if p.get('length_m') is not None else '-'} × "
                             f"{_id_number(p['width_m']) if p.get('width_m') is not None else '-'} = {_id_number(p['area_m2'])} m²; "
                             f"{p.get('width_source') or ''}"])
    a.append([])
    a.append(["Sumber per item", ""])
    a.cell(a.max_row, 1).font = bold
    for item in est["items"]:
        a.append([f"harga {item['code']}", item.get("source", "")])
    for layer in est["layers"]:
        a.append([f"tebal {layer['name']}", layer["source"]])
    for coat in est["coats"]:
        a.append([f"takaran {coat['name']}", coat["source"]])
    for w in est.get("works") or []:
        a.append([f"volume {w['name']}", w["source"]])
    a.column_dimensions["A"].width = 40
    a.column_dimensions["B"].width = 110


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
    return _id_number(v)


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
    for line in _location_lines(est):
        pdf.multi_cell(0, 5, t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, t(f"Daftar harga: {pl['name']} - {pl['region']} {pl['year']}"), new_x="LMARGIN", new_y="NEXT")
    for warning in est.get("warnings") or []:
        pdf.set_text_color(192, 0, 0)
        pdf.multi_cell(0, 5, t(f"PERHATIAN: {warning}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.cell(0, 5, t(f"Luas: {_id_number(est['area_m2'])} m2"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = (10, 28, 110, 16, 30, 38, 45)
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, ("No.", "Mata pemb.", "Uraian", "Satuan", "Volume", "Harga satuan", "Jumlah (Rp)")):
        pdf.cell(w, 6, h, border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    i = 0
    for division, items in _by_division(est["items"]):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(sum(widths), 6, t(division), border=1)
        pdf.ln()
        pdf.set_font("Helvetica", "", 9)
        for item in items:
            i += 1
            cells = (str(i), item["code"], item["description"][:70], item["unit"], _id_number(item["quantity"]), _rp(item["unit_price"]),
                     _rp(item["amount"]))
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
    cols = ["rank", "id", "name", "area_code", "area_name", "road_class", "authority", "condition_recorded", "sdi", "iri",
            "effective_condition", "surface", "surface_assumed", "design_esa", "treatment", "template", "length_m", "width_m",
            "area_fraction", "treated_m2", "cost", "cumulative_cost", "funded", "year"]
    s.append(cols)
    for row in prog["segments"]:
        s.append([row[c] for c in cols])
    y = wb.create_sheet("Tahunan")
    y.append(["Tahun ke-", "Pagu (Rp)", "Biaya terdanai (Rp)", "Ruas", "Panjang (m)", "Sisa kebutuhan (Rp)"])
    for row in prog.get("multi_year") or []:
        y.append([row["year"], row["budget"], row["cost"], row["segments"], row["length_m"], row["remaining_cost"]])
    t = wb.create_sheet("Penanganan")
    t.append(["Penanganan", "Templat", "Peningkatan", "Ruas", "Panjang (m)", "Luas (m²)", "Biaya (Rp)", "Biaya terdanai (Rp)"])
    for row in prog.get("by_treatment") or []:
        t.append([row["treatment"], row["template"], "ya" if row["is_upgrade"] else "", row["segments"], row["length_m"],
                  row["treated_m2"], row["cost"], row["funded_cost"]])
    for sheet in (g, s, y, t):
        for c in range(1, sheet.max_column + 1):
            sheet.cell(1, c).font = bold
    out = io.BytesIO()
    neutralise_workbook(wb)  # issue 12: no live formulas from names
    wb.save(out)
    return out.getvalue()
