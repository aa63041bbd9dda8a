"""Codes of SPEC §3, with labels in Bahasa Indonesia. Defined once; models,
serializers, importers and pages read them from here."""

AREA_LEVELS = [
    ("provinsi", "Provinsi"),
    ("kabupaten_kota", "Kabupaten/Kota"),
    ("kecamatan", "Kecamatan"),
    ("kelurahan", "Kelurahan/Desa"),
]
AREA_LEVEL_RANK = {code: i for i, (code, _) in enumerate(AREA_LEVELS)}

ROAD_CLASSES = [
    ("arterial", "Arteri"),
    ("collector", "Kolektor"),
    ("local", "Lokal"),
    ("neighbourhood", "Lingkungan"),
    ("path", "Gang/Jalan setapak"),
]
ROAD_AUTHORITIES = [
    ("national", "Jalan Nasional"),
    ("province", "Jalan Provinsi"),
    ("city", "Jalan Kota/Kabupaten"),
    ("village", "Jalan Desa"),
    ("unknown", "Tidak diketahui"),
]
ROAD_CONDITIONS = [
    ("good", "Baik"),
    ("fair", "Sedang"),
    ("light_damage", "Rusak ringan"),
    ("heavy_damage", "Rusak berat"),
    ("unknown", "Tidak diketahui"),
]
ROAD_SURFACES = [
    ("asphalt", "Aspal"),
    ("concrete", "Beton"),
    ("paving", "Paving block"),
    ("gravel", "Kerikil/Makadam"),
    ("earth", "Tanah"),
    ("unknown", "Tidak diketahui"),
]
PJU_STATUSES = [
    ("working", "Menyala"),
    ("off", "Mati"),
    ("damaged", "Rusak"),
    ("unknown", "Tidak diketahui"),
]
LAMP_TYPES = [
    ("led", "LED"),
    ("hps", "SON/SON-T (natrium)"),
    ("mercury", "Merkuri (HPL-N/MBF)"),
    ("fluorescent", "TL/CFL"),
    ("other", "Lainnya"),
    ("unknown", "Tidak diketahui"),
]
OWNERSHIPS = [
    ("city", "Pemerintah kota/kabupaten"),
    ("village", "Desa/kelurahan"),
    ("private", "Swasta"),
    ("unknown", "Tidak diketahui"),
]
# Where a condition or status value came from: field edits survive re-imports.
VALUE_ORIGINS = [
    ("import", "Impor"),
    ("field", "Lapangan"),
    ("simulated", "Simulasi"),
    ("sensor", "Sensor"),  # issue 16: set by a PJU controller's telemetry
]

# SPEC §5 default lighting rule (v2), the one class table: pole height H (m),
# spacing factor k (maximum spacing S = k·H), default carriageway width W (m),
# lane width (m: W = lanes × lane when lanes are known), SNI 7391 minimum
# average illuminance E (lx) and the class's standard lamp (proposals, and a
# PJU whose wattage is unknown) with its price-list items (estimates app).
# Settings may override it per class: NEEDS_LIGHTING_RULE (needs/rule.py).
LIGHTING_RULE = {
    "arterial": {"H": 10.0, "k": 3.5, "W": 14.0, "lane": 3.5, "E": 11.0,
                 "lamp": {"type": "led", "watt": 150, "lumen": 19500, "pole_m": 10, "pole_item": "PJU-POLE-10M", "lamp_item": "PJU-LAMP-LED-150W"}},
    "collector": {"H": 9.0, "k": 4.0, "W": 9.0, "lane": 3.5, "E": 3.0,
                  "lamp": {"type": "led", "watt": 90, "lumen": 11700, "pole_m": 9, "pole_item": "PJU-POLE-9M", "lamp_item": "PJU-LAMP-LED-90W"}},
    "local": {"H": 7.0, "k": 5.0, "W": 6.0, "lane": 3.0, "E": 2.0,
              "lamp": {"type": "led", "watt": 40, "lumen": 5200, "pole_m": 7, "pole_item": "PJU-POLE-7M", "lamp_item": "PJU-LAMP-LED-40W"}},
    "neighbourhood": {"H": 6.0, "k": 6.0, "W": 4.0, "lane": 3.0, "E": 2.0,
                      "lamp": {"type": "led", "watt": 30, "lumen": 3900, "pole_m": 6, "pole_item": "PJU-POLE-6M", "lamp_item": "PJU-LAMP-LED-30W"}},
    "path": {"H": 5.0, "k": 6.0, "W": 2.0, "lane": 1.5, "E": 1.0,
             "lamp": {"type": "led", "watt": 20, "lumen": 2600, "pole_m": 5, "pole_item": "PJU-POLE-5M", "lamp_item": "PJU-LAMP-LED-20W"}},
}
# Lumen method (SPEC §5): efficacy lm/W by lamp_type (other/unknown: "other"),
# utilisation factor, maintenance factor (LED, else the rest).
LAMP_EFFICACY_LM_W = {"led": 130.0, "hps": 100.0, "mercury": 50.0, "fluorescent": 60.0, "other": 80.0}
UTILISATION_FACTOR = 0.4
MAINTENANCE_FACTOR = {"led": 0.8, "other": 0.7}
LANE_WIDTH_M = 3.0  # fallback lane width where no class applies; the lighting rule uses each class's `lane`

# DOMAIN §4 / SPEC §6 condition bands (SDI, IRI) and the effective condition: geo_platform/condition.py

# SPEC §3: OSM highway=* → road_class. Values not listed are skipped.
OSM_HIGHWAY_CLASS = {
    **dict.fromkeys(["motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"], "arterial"),
    **dict.fromkeys(["secondary", "secondary_link", "tertiary", "tertiary_link"], "collector"),
    **dict.fromkeys(["unclassified", "residential", "road"], "local"),
    **dict.fromkeys(["living_street", "service", "track"], "neighbourhood"),
    **dict.fromkeys(
        ["footway", "path", "pedestrian", "cycleway", "steps", "bridleway", "trail", "corridor"], "path"
    ),
}
OSM_SURFACE = {
    "asphalt": "asphalt",
    **dict.fromkeys(["paving_stones", "sett", "cobblestone", "unhewn_cobblestone"], "paving"),
    **dict.fromkeys(["gravel", "fine_gravel", "compacted", "pebblestone", "unpaved"], "gravel"),
    **dict.fromkeys(["dirt", "earth", "ground", "grass", "mud", "sand"], "earth"),
}


def osm_surface(value: str | None) -> str:
    if not value:
        return "unknown"
    if value.startswith("concrete"):
        return "concrete"
    return OSM_SURFACE.get(value, "unknown")


def default_width_m(road_class: str, lanes: int | None = None) -> float:
    """SPEC §5: `lanes` × 3.0 m where known, else the class default W."""
    if lanes:
        return lanes * LANE_WIDTH_M
    return LIGHTING_RULE.get(road_class, LIGHTING_RULE["local"])["W"]
