"""Default column mapping for `import_layer` (overridable with --mapping FILE).

A mapping names, for each target field, the source columns to try in order
(case-insensitive), and how raw values become codes of SPEC §3. A --mapping
JSON file has the same shape and is merged over the default, e.g.

    {"fields": {"lamp_type": ["jenis_lampu"], "lon": ["bujur"], "lat": ["lintang"]},
     "values": {"lamp_type": {"sonte": "hps"}}}
"""
import json
import math
import re
from datetime import date, datetime
from pathlib import Path

from geo_platform import codes

FIELDS = {
    "pju": {
        "code": ["code", "kode", "kode_pju", "id_pju", "no_pju", "ref"],
        "status": ["status", "kondisi", "kondisi_lampu", "status_lampu"],
        "lamp_type": ["lamp_type", "lampu_type", "jenis_lampu", "tipe_lampu", "type_lampu"],
        "wattage_w": ["wattage_w", "wattage", "watt", "daya", "daya_w", "lamp:wattage"],
        "pole_height_m": ["pole_height_m", "tinggi_tiang", "tinggi", "height"],
        "ownership": ["ownership", "kepemilikan", "pemilik", "name"],
        "legal": ["legal", "legalitas", "name"],
        "power_source": ["power_source", "sumber_listrik", "sumber_daya"],
        "pln_customer_id": ["pln_customer_id", "id_pelanggan", "idpel", "id_pel_pln"],
        "panel": ["panel", "box_key", "kode_panel", "panel_id"],
        "installed_on": ["installed_on", "tanggal_pasang", "tgl_pasang", "tahun_pasang"],
        "controller_id": ["controller_id", "id_kontroler", "kontroler", "controller"],  # issue 16
    },
    "panels": {
        "code": ["code", "kode", "box_key", "box_identifier", "name", "nama"],
        "pln_customer_id": ["pln_customer_id", "id_pelanggan", "idpel"],
        "meter": ["meter", "meteran", "no_meter"],
    },
    "roads": {
        "name": ["name", "nama", "nama_ruas", "nama_ruas_jalan", "nama ruas jalan desa", "nama_jalan"],
        "section_code": ["section_code", "ref", "no_ruas", "nomor_ruas", "kode_ruas"],
        "road_class": ["road_class", "kelas", "kelas_jalan", "fungsi", "highway"],
        "authority": ["authority", "status_jalan"],
        "surface": ["surface", "perkerasan", "jenis_perkerasan", "jenis perkerasan"],
        "width_m": ["width_m", "width", "lebar", "lebar_ruas(m)", "lebar_ruas", "lebar_m"],
        "lanes": ["lanes", "lajur", "jumlah_lajur"],
        "condition": ["condition", "kondisi"],
        "sdi": ["sdi"],
        "iri": ["iri"],
        "surveyed_on": ["surveyed_on", "tanggal_survei", "tgl_survei"],
    },
    "areas": {
        "code": ["code", "kode", "kode_kemendagri", "kode_wilayah"],
        "name": ["name", "nama", "kel_name2", "kel_name_1", "kelurahan", "kec_name", "kecamatan", "kab_name"],
        "level": ["level", "tingkat"],
    },
}
# Coordinates for CSV/XLSX tables (points, or start/end of a road).
COORDS = {
    "lon": ["lon", "longitude", "lng", "long", "x", "bujur"],
    "lat": ["lat", "latitude", "y", "lintang"],
    "lon_start": ["lon_start", "lng awal", "lng_awal", "long_awal", "longitude_awal"],
    "lat_start": ["lat_start", "lat awal", "lat_awal", "latitude_awal"],
    "lon_end": ["lon_end", "lng akhir", "lng_akhir", "long_akhir", "longitude_akhir"],
    "lat_end": ["lat_end", "lat akhir", "lat_akhir", "latitude_akhir"],
}
# When a file has no level column, the column names tell the level.
AREA_LEVEL_BY_COLUMN = [("kel_name", "kelurahan"), ("kel_name_1", "kelurahan"), ("desa", "kelurahan"),
                        ("kec_name", "kecamatan"), ("kab_name", "kabupaten_kota")]

VALUES = {
    "status": {
        "working": "working", "menyala": "working", "nyala": "working", "hidup": "working", "baik": "working", "on": "working",
        "off": "off", "mati": "off", "padam": "off",
        "damaged": "damaged", "rusak": "damaged",
    },
    "lamp_type": {
        "led": "led",
        "hps": "hps", "son": "hps", "son-t": "hps", "sont": "hps", "sodium": "hps", "natrium": "hps", "high_pressure_sodium": "hps",
        "mercury": "mercury", "merkuri": "mercury", "hpl-n": "mercury", "hpl": "mercury", "mbf": "mercury",
        "fluorescent": "fluorescent", "tl": "fluorescent", "cfl": "fluorescent", "neon": "fluorescent", "sl": "fluorescent",
        "": "unknown", "unknown": "unknown",
    },
    "condition": {
        "good": "good", "baik": "good", "fair": "fair", "sedang": "fair",
        "light_damage": "light_damage", "rusak ringan": "light_damage", "rusak_ringan": "light_damage",
        "heavy_damage": "heavy_damage", "rusak berat": "heavy_damage", "rusak_berat": "heavy_damage",
    },
    "surface": {
        "asphalt": "asphalt", "aspal": "asphalt", "hotmix": "asphalt", "lapen": "asphalt",
        "concrete": "concrete", "beton": "concrete", "rigid": "concrete", "rabat beton": "concrete",
        "paving": "paving", "paving block": "paving", "paving_stones": "paving", "sett": "paving", "cobblestone": "paving",
        "gravel": "gravel", "kerikil": "gravel", "makadam": "gravel", "sirtu": "gravel", "telford": "gravel",
        "tanah": "earth", "earth": "earth", "dirt": "earth", "ground": "earth",
    },
    "road_class": {
        "arteri": "arterial", "arterial": "arterial", "kolektor": "collector", "collector": "collector",
        "lokal": "local", "local": "local", "lingkungan": "neighbourhood", "neighbourhood": "neighbourhood",
        "gang": "path", "path": "path", "setapak": "path",
        **codes.OSM_HIGHWAY_CLASS,
    },
    "authority": {
        "nasional": "national", "national": "national", "provinsi": "province", "province": "province",
        "kota": "city", "kabupaten": "city", "city": "city", "desa": "village", "village": "village",
    },
    "level": {
        "provinsi": "provinsi", "kabupaten_kota": "kabupaten_kota", "kabupaten": "kabupaten_kota", "kota": "kabupaten_kota",
        "kecamatan": "kecamatan", "kelurahan": "kelurahan", "desa": "kelurahan", "desa_kelurahan": "kelurahan",
    },
}


class RowError(ValueError):
    """A row that cannot be imported. `reason` is the kind (counted in the
    report), `detail` the offending value (written to the rejects file)."""

    def __init__(self, reason: str, detail=None):
        self.reason = reason
        self.detail = detail
        super().__init__(reason if detail is None else f"{reason}: {detail!r}")


def load_mapping(layer: str, path: str | Path | None) -> dict:
    mapping = {"fields": {k: list(v) for k, v in FIELDS[layer].items()} | COORDS,
               "values": {k: dict(v) for k, v in VALUES.items()}}
    if path:
        try:
            custom = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RowError(f"cannot read mapping file {path}: {exc}") from exc
        for field, cols in custom.get("fields", {}).items():
            mapping["fields"][field] = [cols] if isinstance(cols, str) else list(cols)
        for field, table in custom.get("values", {}).items():
            mapping["values"].setdefault(field, {}).update({str(k).lower(): v for k, v in table.items()})
    return mapping


def resolve_columns(mapping: dict, columns) -> dict[str, str]:
    """target field → the actual column of this file (first candidate present)."""
    by_lower = {str(c).strip().lower(): c for c in columns}
    resolved = {}
    for field, candidates in mapping["fields"].items():
        for cand in candidates:
            if cand.lower() in by_lower:
                resolved[field] = by_lower[cand.lower()]
                break
    return resolved


def blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def as_float(value, field: str, lo: float = 0, hi: float = 1e6) -> float | None:
    if blank(value):
        return None
    text = str(value).strip().replace(",", ".")
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*(m|w|watt)?", text, re.I)
    if not m:
        raise RowError(f"{field} is not a number", value)
    v = float(m.group(1)) if not m.group(2) else (float(m.group(1)) + float(m.group(2))) / 2  # "6-7" → 6.5
    if not (lo <= v <= hi):
        raise RowError(f"{field} outside {lo}–{hi}", v)
    return v


def as_date(value, field: str) -> date | None:
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise RowError(f"{field} is not a date (YYYY-MM-DD)", value)


def as_code(value, field: str, mapping: dict, default: str = "unknown", strict: bool = False) -> str:
    if blank(value):
        return default
    key = str(value).strip().lower()
    table = mapping["values"].get(field, {})
    if key in table:
        return table[key]
    if strict:
        raise RowError(f"{field} has an unknown value", value)
    return "other" if field == "lamp_type" else default


def as_legal(value) -> bool | None:
    """'ilegal' (unmetered tap) → False, 'legal' → True (Kediri inventory style)."""
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if re.search(r"\bilegal\b|\billegal\b|\btidak\b", text):
        return False
    if re.search(r"\blegal\b|^(true|ya|yes|1)$", text):
        return True
    return None


def as_ownership(value) -> str:
    if blank(value):
        return "unknown"
    text = str(value).lower()
    if text in {"city", "village", "private", "unknown"}:
        return text
    if "desa" in text or "kelurahan" in text:
        return "village"
    if "pemkot" in text or "pemkab" in text or "pemda" in text or "dishub" in text or "kota" in text:
        return "city"
    if "swasta" in text or "private" in text:
        return "private"
    return "unknown"
