"""Words the pages show, in English msgids translated by Django i18n
(webapp/locale/id: Bahasa Indonesia, the default language; en: English).
Code labels follow geo_platform/codes.py (SPEC §3); the codes themselves
are never translated."""
from django.utils.translation import gettext_lazy as _

from geo_platform import codes

CODE_LABELS = {
    "status": {
        "working": _("Working"), "off": _("Off"), "damaged": _("Damaged"), "unknown": _("Unknown"),
    },
    "condition": {
        "good": _("Good"), "fair": _("Fair"), "light_damage": _("Light damage"),
        "heavy_damage": _("Heavy damage"), "unknown": _("Unknown"),
    },
    "road_class": {
        "arterial": _("Arterial"), "collector": _("Collector"), "local": _("Local"),
        "neighbourhood": _("Neighbourhood"), "path": _("Path (gang)"),
    },
    "lamp_type": {
        "led": "LED", "hps": _("SON/SON-T (sodium)"), "mercury": _("Mercury (HPL-N/MBF)"),
        "fluorescent": _("TL/CFL"), "other": _("Other"), "unknown": _("Unknown"),
    },
    "ownership": {
        "city": _("City government"), "village": _("Village"), "private": _("Private"), "unknown": _("Unknown"),
    },
    "surface": {
        "asphalt": _("Asphalt"), "concrete": _("Concrete"), "paving": _("Paving block"),
        "gravel": _("Gravel"), "earth": _("Earth"), "unknown": _("Unknown"),
    },
    "level": {
        "provinsi": _("Province"), "kabupaten_kota": _("Regency/City"),
        "kecamatan": _("Kecamatan"), "kelurahan": _("Kelurahan/Desa"),
    },
    # SPEC §5 v2 kinds of under-lit road (issue 13)
    "gap_kind": {
        "missing": _("No PJU (new poles)"), "weak": _("Lamps too weak (upgrades)"), "dark": _("PJU off/damaged (repairs)"),
    },
    "wo_status": {
        "open": _("Open"), "assigned": _("Assigned"), "in_progress": _("In progress"),
        "done": _("Done"), "rejected": _("Rejected"),
    },
}
# Every code of SPEC §3 has a label here (checked by the tests).
CODE_SOURCES = {
    "status": codes.PJU_STATUSES, "condition": codes.ROAD_CONDITIONS, "road_class": codes.ROAD_CLASSES,
    "lamp_type": codes.LAMP_TYPES, "ownership": codes.OWNERSHIPS, "surface": codes.ROAD_SURFACES,
    "level": codes.AREA_LEVELS,
}

# Colours of the legend and of the drawn features (colour-blind safe ramps).
STATUS_COLOURS = {"working": "#1a9641", "off": "#404040", "damaged": "#d7191c", "unknown": "#9e9e9e"}
CONDITION_COLOURS = {"good": "#1a9641", "fair": "#a6d96a", "light_damage": "#fdae61", "heavy_damage": "#d7191c", "unknown": "#9e9e9e"}

FIELD_NAMES = {
    "code": _("Code"), "status": _("Status"), "lamp_type": _("Lamp type"), "wattage_w": _("Wattage (W)"),
    "pole_height_m": _("Pole height (m)"), "ownership": _("Ownership"), "legal": _("Legal connection"),
    "name": _("Name"), "road_class": _("Road class"), "condition": _("Condition"), "surface": _("Surface"),
    "width_m": _("Width (m)"), "lanes": _("Lanes"), "length_m": _("Length (m)"), "authority": _("Road status"),
    "level": _("Level"), "area_m2": _("Area (m²)"), "version": _("Version"), "count": _("Count"),
    "kind": _("Kind"), "title": _("Title"), "priority": _("Priority"), "chainage_m": _("Chainage (m)"),
    "side": _("Side"), "start_m": _("Start (m)"), "end_m": _("End (m)"), "proposed_count": _("Proposed poles"),
    "spacing_m": _("Spacing (m)"), "road_id": _("Road"), "kecamatan": _("Kecamatan"), "kelurahan": _("Kelurahan"),
    "source": _("Source"), "section_code": _("Section no."), "photos": _("Photos"),
}

UI = {
    "layers": _("Layers"), "legend": _("Legend"), "pju_by_status": _("PJU by status"),
    "roads_by_condition": _("Roads by condition"), "search": _("Search road name or PJU code"),
    "no_results": _("Nothing found"), "zoom_kecamatan": _("Zoom to kecamatan…"),
    "estimate": _("Estimate"), "template": _("Template"), "width_m": _("Width (m)"),
    "compute": _("Compute"), "download_xlsx": _("Download RAB (XLSX)"), "length": _("Length"),
    "area": _("Area"), "total": _("Total"), "subtotal": _("Subtotal"), "overhead": _("Overhead"), "tax": _("Tax (PPN)"),
    "selected_roads": _("Selected roads"), "select_road": _("Add road to estimate"),
    "clear": _("Clear"), "close": _("Close"), "error": _("Error"), "photos": _("Photos"),
    "footprints": _("Imagery footprints"), "imagery": _("Imagery"), "no_basemap": _("No basemap"),
    "draw_hint": _("Draw a line or polygon, or select roads, to get an estimate"),
    "cluster": _("PJU in this cell"), "details": _("Details"), "items": _("Items"),
    "loading": _("Loading…"), "language": _("Language"), "basemap_osm": _("OpenStreetMap"),
    "proposed": _("Proposed PJU"), "gap": _("Lighting gap"), "work_order": _("Work order"),
    "locate": _("Show my location"), "login": _("Log in"), "logout": _("Log out"),
    # Leaflet.draw's own texts
    "draw_line": _("Draw a road line"), "draw_polygon": _("Draw an area"), "draw_finish": _("Finish"),
    "draw_finish_title": _("Finish drawing"), "draw_cancel": _("Cancel"), "draw_undo": _("Delete last point"),
    "draw_line_start": _("Click to start the line."), "draw_line_cont": _("Click to continue the line."),
    "draw_line_end": _("Click the last point to finish."), "draw_poly_start": _("Click to start the area."),
    "draw_poly_cont": _("Click to continue the area."), "draw_poly_end": _("Click the first point to close the area."),
    "draw_delete": _("Delete drawings"), "basemap_failed": _("The OSM basemap cannot be reached; showing the city's imagery."),
}

FIELD_UI = {
    "title": _("Field officer"), "online": _("Online"), "offline": _("Offline"),
    "pending": _("pending"), "sent": _("sent"), "conflict": _("conflict"), "failed": _("failed"),
    "sending": _("sending"), "position": _("Position"), "accuracy": _("accuracy"), "no_fix": _("Waiting for GPS…"),
    "new_pju": _("Tag new PJU"), "update_pju": _("Update PJU"), "road_damage": _("Report road damage"),
    "close_wo": _("Close work order"), "nearby": _("Nearby"), "work_orders": _("My work orders"),
    "queue": _("Queue"), "sync_now": _("Sync now"), "save": _("Save"), "cancel": _("Cancel"),
    "photo": _("Photo"), "photo_required": _("A photo is required"), "note": _("Note"),
    "poor_fix": _("The GPS fix is only ±{acc} m (limit {max} m). Record here anyway?"),
    "no_position": _("No GPS position yet"), "saved_offline": _("Saved on this device; it will be sent when online"),
    "conflict_msg": _("Someone changed this feature on the server (version {server}) after you loaded version {mine}."),
    "keep_mine": _("Send mine anyway"), "discard": _("Discard mine"), "server_values": _("Server values"),
    "my_values": _("My values"), "nothing_nearby": _("Nothing nearby"), "no_orders": _("No work orders"),
    "distance": _("distance"), "pju": _("PJU"), "road": _("Road"), "save_area": _("Save this area for offline use"),
    "area_saved": _("Area saved for offline use"), "login_again": _("Please log in again; your records are kept."),
    "all_sent": _("Everything is sent"), "logout": _("Log out"),
}


def code_labels() -> dict:
    return {group: {code: str(label) for code, label in labels.items()} for group, labels in CODE_LABELS.items()}


def strings(table: dict) -> dict:
    return {key: str(value) for key, value in table.items()}

# --- issue 19: pages, work orders on the map, field fixes ---
WO_COLOURS = {"open": "#e31a1c", "assigned": "#ff7f00", "in_progress": "#1f78b4", "done": "#33a02c", "rejected": "#757575"}
# Lighting gaps in blues (never the road-condition ramp's orange); a kind per colour (SPEC §5: missing/weak/dark).
GAP_COLOURS = {"default": "#2166ac", "missing": "#2166ac", "weak": "#67a9cf", "dark": "#053061"}

CODE_LABELS["gap_kind"].update({  # the v2 kinds are labelled above (issue 13); v1 positions of rows computed before v2
    "internal": _("Between two PJU"), "start": _("At the road's start"), "end": _("At the road's end"), "unlit": _("Whole road without PJU"),
})
CODE_LABELS["side"] = {"left": _("Left"), "right": _("Right"), "both": _("Both sides"), "centre": _("Centre")}
CODE_LABELS["wo_kind"] = {
    "broken_pju": _("Repair broken PJU"), "proposed_pju": _("Install new PJU"),
    "lighting_gap": _("Light an under-lit stretch"), "damaged_road": _("Repair damaged road"),
}
CODE_LABELS["boolean"] = {"true": _("Yes"), "false": _("No")}
CODE_LABELS["authority"] = {
    "national": _("National"), "province": _("Provincial"), "city": _("City/regency"), "village": _("Village"),
    "unknown": _("Unknown"),
}
FIELD_NAMES.update({
    "assigned_to": _("Officer"), "created_at": _("Created"), "done_at": _("Done"), "closing_note": _("Closing note"),
    "closing_distance_m": _("Distance to asset (m)"), "closing_photo": _("Closing photo"), "lamp": _("Lamp"),
    "cost": _("Cost"), "road": _("Road"), "pju_count": _("PJU"), "working_pct": _("Working (%)"),
    "broken_pju": _("Broken PJU"), "underlit_km": _("Under-lit (km)"), "proposed_pju": _("New poles"),
    "damaged_km": _("Damaged roads (km)"), "kemantapan_pct": _("Kemantapan (%)"), "estimated_cost": _("Estimated cost"),
    "reject_reason": _("Reason"), "notes": _("Notes"),
})

UI.update({
    "create_wo": _("Create work order"), "officer": _("Officer"), "unassigned": _("(not assigned yet)"),
    "wo_created": _("Work order created"), "needs_panel": _("Where first?"), "choropleth": _("Shade kecamatan by"),
    "none": _("No shading"), "export_musrenbang": _("Musrenbang export (XLSX)"), "zoom_data": _("Zoom to all data"),
    "zoom_city": _("Zoom to the city"), "add_all_segments": _("Add all segments to the estimate"),
    "remove": _("Remove"), "unnamed_road": _("Unnamed road"), "broken_pju": _("Broken PJU"),
    "damaged_road": _("Damaged road"), "wo_status": _("Work orders by status"), "gap_kinds": _("Lighting gaps"),
    "summary": _("Summary"), "kecamatan": _("Kecamatan"), "cost": _("Cost"), "sort_by": _("Sort by"),
    "hide_panel": _("Hide"), "show_panel": _("Show"), "login_for_wo": _("Log in as a planner to create work orders"),
})

FIELD_NAMES.update({  # the road condition survey (SPEC §6, DOMAIN §4)
    "crack_area_pct": _("Crack area (% of the segment)"), "crack_width_mm": _("Crack width (mm)"),
    "potholes_per_100m": _("Potholes per 100 m"), "rut_depth_cm": _("Rut depth (cm)"), "iri": _("IRI (m/km, if measured)"),
    "surveyed_on": _("Survey date"), "sdi": _("SDI"),
})
FIELD_UI.update({
    "survey": _("Road condition survey (SDI)"),
    "survey_invalid": _("Fill in every measurement with a number within its limits (the date not in the future)"),
})
FIELD_UI.update({
    "too_far": _("You are {dist} m from the asset; closing needs a position within {max} m. Move closer and try again."),
    "server_refused": _("The server refused this record"), "retry_fix": _("Taking a fresh GPS position…"),
    "area_saved_data": _("Nearby data saved for offline use (no imagery for this area)"),
    "confirm_road": _("Is this the road?"), "unnamed_road": _("Unnamed road"),
    "err_distance": _("The position is too far from the asset"), "err_state": _("This work order can no longer be closed"),
    "err_photo": _("The photo was not accepted"), "err_login": _("Please log in again; your records are kept."),
})

PAGES = {
    "pju_by_status": _("PJU by status per kecamatan"), "underlit": _("Under-lit roads per kecamatan (km)"),
    "damaged": _("Damaged roads per kecamatan (km)"), "kemantapan": _("Kemantapan per kecamatan (%)"),
    "wo_status": _("Work orders by status"), "km": _("km"), "light_damage": _("Light damage"),
    "heavy_damage": _("Heavy damage"), "underlit_km": _("Under-lit (km)"), "kemantapan_pct": _("Kemantapan (%)"),
    "updated": _("Updated"), "events": _("Events"), "alarms": _("Alarms: broken PJU and damaged roads"),
    "no_events": _("No changes yet"), "changed": _("changed"), "connection_lost": _("Connection lost; retrying…"),
    "live": _("Live"), "polling": _("Updating every {s} s"),
}

# --- issue 15: the planner map's code lists, sent in its page config (the scripts carry none of their own) ---
FIELD_NAMES["controller_id"] = _("Controller ID")  # issue 16
# Which fields a popup shows, per API layer (internal fields — source ids, origins, client ids — never).
MAP_POPUP_FIELDS = {
    "pju": ["code", "status", "lamp_type", "wattage_w", "pole_height_m", "ownership", "legal", "controller_id", "kecamatan", "kelurahan", "version"],
    "roads": ["name", "section_code", "road_class", "condition", "surface", "width_m", "lanes", "length_m", "authority", "kecamatan", "kelurahan", "version"],
    "areas": ["name", "code", "level", "area_m2"],
    "gap": ["road_id", "road_class", "kind", "start_m", "end_m", "length_m", "proposed_count", "spacing_m", "priority"],
    "proposed": ["road_id", "road_class", "chainage_m", "side", "spacing_m", "priority", "lamp", "cost"],
    "work-orders": ["title", "kind", "status", "assigned_to", "kecamatan", "created_at", "done_at", "closing_note", "closing_distance_m", "reject_reason"],
}
MAP_VALUE_GROUPS = {"kind": "gap_kind", "side": "side", "legal": "boolean", "status": "status", "authority": "authority"}
# need layer → work order kind (POST /api/work-orders/ {kind, target})
MAP_NEED_KINDS = {"broken_pju": "broken_pju", "damaged_roads": "damaged_road", "proposed_pju": "proposed_pju", "lighting_gaps": "lighting_gap"}
# draw order, bottom to top: areas, roads, damaged roads, gaps, proposed, PJU, broken PJU, work orders (geometry: the default)
MAP_LAYER_Z = {"areas": 405, "choropleth": 406, "roads": 410, "damaged_roads": 412, "lighting_gaps": 415, "proposed_pju": 425,
               "pju": 430, "broken_pju": 435, "work_orders": 440, "geometry": {"polygon": 405, "line": 415, "point": 430}}


def map_code_lists() -> dict:
    """The orders the map's legend and charts list codes in (SPEC §3 order, from geo_platform/codes.py)."""
    from geo_platform import codes

    return {
        "pju_status": [c for c, _label in codes.PJU_STATUSES],
        "road_condition": [c for c, _label in codes.ROAD_CONDITIONS],
        "wo_status": ["open", "assigned", "in_progress", "done", "rejected"],
        "wo_open": ["open", "assigned", "in_progress"],
        "gap_kind": ["missing", "weak", "dark"],
    }
