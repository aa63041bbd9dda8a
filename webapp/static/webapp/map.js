/* Planner map (/map/): what folium has no element for.
 * GP.initMap(map, cfg) is called by the page folium writes (webapp/maps.py).
 * Vector tile layers come from cfg.layers (the tile registry: a layer that
 * is not registered is not offered); clicks are hit-tested across all
 * visible tile layers (top first), because only the topmost canvas would
 * receive a DOM click. */
/* Hooks for other modules (issue 19; the needs panel in js/map-needs.js uses them):
 *   GP.whenReady(fn)                 fn(map, cfg) once the map is built
 *   GP.styles[styleName] = fn(p, z)  replace or add a feature style (live recolouring)
 *   GP.popupExtras.push(fn)          fn(def, props, full) → extra HTML for a popup
 *   GP.legendExtras.push(fn)         fn() → extra legend HTML
 *   GP.refreshLayer(name)            re-request a tile layer after a change */
(function () {
  "use strict";
  var GP = (window.GP = window.GP || {});
  GP.styles = GP.styles || {};
  GP.popupExtras = GP.popupExtras || [];
  GP.legendExtras = GP.legendExtras || [];
  var readyCallbacks = [];
  GP.whenReady = function (fn) { if (GP.ready) fn(GP.map, GP.cfg); else readyCallbacks.push(fn); };
  var ROAD_WEIGHT = { arterial: 5, collector: 4, local: 2.5, neighbourhood: 2, path: 1.5 };

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function el(tag, attrs, html) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (html !== undefined) e.innerHTML = html;
    return e;
  }
  function fmt(n, digits) {
    if (n === null || n === undefined || n === "") return "";
    return Number(n).toLocaleString(document.documentElement.lang || "id", { maximumFractionDigits: digits === undefined ? 2 : digits });
  }
  function clusterRadius(count) { return Math.min(4 + Math.log(count + 1) * 1.6, 16); }

  /* Leaflet.draw's texts in the page language (before its toolbar is built: map.js
   * loads before folium's Draw script runs). */
  GP.localiseDraw = function (S) {
    if (!window.L || !L.drawLocal) return;
    var d = L.drawLocal.draw, h = d.handlers;
    d.toolbar.buttons.polyline = S.draw_line; d.toolbar.buttons.polygon = S.draw_polygon;
    d.toolbar.finish = { title: S.draw_finish_title, text: S.draw_finish };
    d.toolbar.actions = { title: S.draw_cancel, text: S.draw_cancel };
    d.toolbar.undo = { title: S.draw_undo, text: S.draw_undo };
    h.polyline.tooltip = { start: S.draw_line_start, cont: S.draw_line_cont, end: S.draw_line_end };
    h.polygon.tooltip = { start: S.draw_poly_start, cont: S.draw_poly_cont, end: S.draw_poly_end };
    L.drawLocal.edit.toolbar.buttons.remove = S.draw_delete;
  };

  /* Which fields a popup shows, per API layer (internal fields — source ids, origins, client ids — never). */
  var POPUP_FIELDS = {
    pju: ["code", "status", "lamp_type", "wattage_w", "pole_height_m", "ownership", "legal", "kecamatan", "kelurahan", "version"],
    roads: ["name", "section_code", "road_class", "condition", "surface", "width_m", "lanes", "length_m", "authority", "kecamatan", "kelurahan", "version"],
    areas: ["name", "code", "level", "area_m2"],
    gap: ["road_id", "road_class", "kind", "start_m", "end_m", "length_m", "proposed_count", "spacing_m", "priority"],
    proposed: ["road_id", "road_class", "chainage_m", "side", "spacing_m", "priority", "lamp", "cost"],
    "work-orders": ["title", "kind", "status", "assigned_to", "kecamatan", "created_at", "done_at", "closing_note", "closing_distance_m", "reject_reason"],
  };
  var VALUE_GROUPS = { kind: "gap_kind", side: "side", legal: "boolean", status: "status", authority: "authority" };
  /* need layer → work order kind (POST /api/work-orders/ {kind, target}) */
  var NEED_KINDS = { broken_pju: "broken_pju", damaged_roads: "damaged_road", proposed_pju: "proposed_pju", lighting_gaps: "lighting_gap" };
  /* draw order, bottom to top: areas, roads, damaged roads, gaps, proposed, PJU, broken PJU, work orders */
  var LAYER_Z = { areas: 405, choropleth: 406, roads: 410, damaged_roads: 412, lighting_gaps: 415, proposed_pju: 425, pju: 430, broken_pju: 435, work_orders: 440 };
  var GEOMETRY_Z = { polygon: 405, line: 415, point: 430 };

  function layerZ(def) { return LAYER_Z[def.name] || GEOMETRY_Z[def.geometry]; }
  function csrf(cfg) {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : cfg.csrf_token;
  }

  GP.initMap = function (map, cfg) {
    var S = cfg.strings, C = cfg.codes, COL = cfg.colours;
    var drawing = false;
    GP.cfg = cfg;
    GP.map = map;
    var WO_COLOURS = COL.wo_status, GAP_COLOURS = COL.gap;
    var kecByCode = {};
    cfg.kecamatan.forEach(function (k) { kecByCode[k.code] = k; });
    GP.fitBbox = function (b, opts) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]], Object.assign({ animate: false }, opts || {})); };

    /* ---------- the first view: #zoom/lat/lon, else the city (CITY_HOME), else all data ---------- */
    var hashView = /^#(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(location.hash);
    if (hashView) map.setView([parseFloat(hashView[2]), parseFloat(hashView[3])], parseInt(hashView[1], 10), { animate: false });
    else GP.fitBbox(cfg.home || cfg.bounds);
    GP.layers = {};

    /* ---------- which overlays are on: ?layers=a,b in the address (kept across a language switch) ---------- */
    var params = new URLSearchParams(location.search);
    var wanted = params.has("layers") ? params.get("layers").split(",").filter(Boolean) : null;

    function label(group, code) { return (C[group] && C[group][code]) || code; }

    /* ---------- styles per layer kind (GP.styles may replace any) ---------- */
    function pointStyle(fill, props, zoom) {
      if (props.count !== undefined && props.count !== null) {
        return { radius: clusterRadius(props.count), fill: true, fillColor: fill, fillOpacity: 0.55, color: "#ffffff", weight: 1 };
      }
      return { radius: zoom >= 16 ? 6 : zoom >= 14 ? 4 : 3, fill: true, fillColor: fill, fillOpacity: 0.95, color: "#ffffff", weight: zoom >= 15 ? 1.5 : 0.5 };
    }
    var STYLES = {
      status: function (p, z) { return pointStyle(p.count !== undefined ? "#2b83ba" : COL.status[p.status] || COL.status.unknown, p, z); },
      broken: function (p, z) {  // broken PJU: larger, with a dark ring, above the others
        var s = pointStyle(COL.status[p.status] || COL.status.damaged, p, z);
        s.radius += 1.5; s.color = "#000000"; s.weight = 1.5; return s;
      },
      proposed: function (p, z) { var s = pointStyle("#ffd700", p, z); s.color = "#8a6d00"; s.weight = 1.5; s.radius = Math.max(2.5, s.radius - 1); return s; },
      work_order: function (p) { return { radius: 8, fill: true, fillColor: WO_COLOURS[p.status] || "#757575", fillOpacity: 0.95, color: "#000", weight: 2 }; },
      condition: function (p) {
        var c = p.effective_condition || p.condition; /* issue 14: SDI/IRI count (geo_platform/condition.py) */
        var colour = c ? COL.condition[c] || COL.condition.unknown : "#607d8b";
        return { color: colour, weight: ROAD_WEIGHT[p.road_class] || 2, opacity: 0.9 };
      },
      gap: function (p) { return { color: GAP_COLOURS[p.kind] || GAP_COLOURS["default"], weight: 6, opacity: 0.8, dashArray: "8,5" }; },
      area: function (p) {
        return { color: "#4a148c", weight: p.level === "kecamatan" ? 2 : p.level === "kelurahan" ? 0.8 : 3,
                 fill: true, fillColor: "#4a148c", fillOpacity: 0.02, dashArray: p.level === "kelurahan" ? "3,3" : null };
      },
    };
    Object.keys(STYLES).forEach(function (k) { if (!GP.styles[k]) GP.styles[k] = STYLES[k]; });
    function styleOf(def) { return def.name === "broken_pju" ? "broken" : def.style; }
    var SWATCH_COLOUR = { pju: COL.status.working, broken_pju: COL.status.damaged, roads: COL.condition.fair, damaged_roads: COL.condition.heavy_damage,
                          lighting_gaps: GAP_COLOURS["default"], proposed_pju: "#d4ac0d", work_orders: WO_COLOURS.open, areas: "#4a148c" };

    /* ---------- vector tile layers, each in a pane of its own (draw order above) ---------- */
    var overlays = {};
    var ordered = [];  // hit-test order: top first
    cfg.layers.forEach(function (def) {
      var paneName = "gp-" + def.name;
      var pane = map.createPane(paneName);
      pane.style.zIndex = layerZ(def);
      pane.classList.add("gp-vt-pane");  // its canvases take no pointer events (map.css): hitTest() below does
      var styles = {};
      var styleName = styleOf(def);
      styles[def.name] = function (p, z) { return GP.styles[styleName](p, z, def); };
      var layer = L.vectorGrid.protobuf(def.url, {
        vectorTileLayerStyles: styles,
        interactive: true,
        rendererFactory: L.canvas.tile,
        getFeatureId: function (f) { return f.id; },
        minZoom: def.minzoom,
        maxZoom: 22,
        pane: paneName,
        attribution: "",
      });
      layer.gpDef = def;
      GP.layers[def.name] = layer;
      var swatch = def.geometry === "point" ? "●" : def.geometry === "line" ? "━" : "▢";
      overlays['<span class="gp-swatch" style="color:' + (SWATCH_COLOUR[def.name] || "#333") + '" aria-hidden="true">' + swatch + "</span> " + esc(def.label)] = layer;
      if (wanted ? wanted.indexOf(def.name) >= 0 : def.visible) layer.addTo(map);
      ordered.push(layer);
    });
    ordered.sort(function (a, b) { return layerZ(b.gpDef) - layerZ(a.gpDef); });
    GP.refreshLayer = function (name) { if (GP.layers[name]) GP.layers[name].redraw(); };

    /* ---------- base layers: OSM (when BASEMAP_URL is set), city imagery, none ---------- */
    var bases = {};
    var none = L.layerGroup();
    map.eachLayer(function (l) { if (l instanceof L.TileLayer && !(l instanceof L.VectorGrid)) bases[S.basemap_osm] = l; });
    bases[S.no_basemap] = none;
    if (!cfg.basemap) none.addTo(map);
    var osm = bases[S.basemap_osm], cityImagery = null, osmLoaded = false, osmErrors = 0;
    if (osm) {
      /* OSM where reachable, the city's own imagery otherwise (a city intranet). */
      osm.on("tileload", function () { osmLoaded = true; });
      osm.on("tileerror", function () {
        osmErrors += 1;
        if (!osmLoaded && osmErrors >= 4 && map.hasLayer(osm)) {
          map.removeLayer(osm);
          (cityImagery || none).addTo(map);
          if (cityImagery) showNote(S.basemap_failed);
        }
      });
    }
    function showNote(text) {
      var note = L.control({ position: "bottomleft" });
      note.onAdd = function () { var d = L.DomUtil.create("div", "gp-note leaflet-bar"); d.setAttribute("role", "status"); return d; };
      note.addTo(map);
      note.getContainer().textContent = text;
      setTimeout(function () { note.remove(); }, 6000);
    }
    GP.showNote = showNote;
    var narrow = map.getSize().x < 700;  // a phone: panels start folded so the map stays visible
    GP.narrow = narrow;
    var control = L.control.layers(bases, overlays, { collapsed: narrow, position: "topright" }).addTo(map);
    control.getContainer().classList.add("gp-layer-control");
    control.getContainer().setAttribute("aria-label", S.layers);
    GP.layerControl = control;

    /* ---------- imagery: footprints and tiles from the catalogue ---------- */
    fetch(cfg.urls.imagery, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (fc) {
      if (!fc || !fc.features || !fc.features.length) return;
      var footprints = L.geoJSON(fc, {
        style: { color: "#e7298a", weight: 2, fill: false, dashArray: "4,4" },
        onEachFeature: function (f, lyr) {
          var p = f.properties || {};
          lyr.bindPopup("<b>" + esc(p.name || S.imagery) + "</b><br>" + esc(p.kind) + " · " + esc(p.captured_on || "") + (p.gsd_m ? " · " + fmt(p.gsd_m) + " m" : ""));
        },
      });
      control.addOverlay(footprints, '<span class="gp-swatch" style="color:#e7298a" aria-hidden="true">▭</span> ' + esc(S.footprints));
      var firstImage = null;
      fc.features.forEach(function (f) {
        var p = f.properties || {};
        var b = L.geoJSON(f).getBounds();
        var tiles = L.tileLayer(cfg.urls.imagery_tiles.replace("{id}", f.id), { bounds: b, maxZoom: 22, maxNativeZoom: 21, attribution: esc(p.name || "") });
        var name = esc(S.imagery) + ": " + esc(p.name || f.id) + " (" + esc(p.kind) + ")";
        if (p.kind === "orthophoto" || p.kind === "satellite" || p.kind === "drone") {
          control.addBaseLayer(tiles, name);
          if (!firstImage && map.getBounds().intersects(b)) firstImage = tiles;  // the city's own imagery in view
        } else {
          control.addOverlay(tiles, name);
        }
      });
      cityImagery = firstImage;
      if (firstImage && (!cfg.basemap || (osm && !map.hasLayer(osm)))) { map.removeLayer(none); firstImage.addTo(map); }
    }).catch(function () { /* no imagery offline: nothing to add */ });

    /* ---------- legend: every symbol as drawn ---------- */
    var legend = L.control({ position: "bottomright" });
    function legendHtml() {
      var html = "<details" + (narrow ? "" : " open") + "><summary><h4>" + esc(S.legend) + "</h4></summary><div class='gp-legend-group'><b>" + esc(S.pju_by_status) + "</b>";
      ["working", "off", "damaged", "unknown"].forEach(function (k) {
        html += "<div><i class='gp-dot' style='background:" + COL.status[k] + "'></i>" + esc(label("status", k)) + "</div>";
      });
      html += "<div><i class='gp-dot gp-dot-cluster'></i>" + esc(S.cluster) + "</div>";
      if (GP.layers.broken_pju) html += "<div><i class='gp-dot gp-dot-broken' style='background:" + COL.status.damaged + "'></i>" + esc(S.broken_pju) + "</div>";
      html += "</div><div class='gp-legend-group'><b>" + esc(S.roads_by_condition) + "</b>";
      ["good", "fair", "light_damage", "heavy_damage", "unknown"].forEach(function (k) {
        html += "<div><i class='gp-line' style='background:" + COL.condition[k] + "'></i>" + esc(label("condition", k)) +
          (cfg.condition_bands && cfg.condition_bands[k] ? " <small>" + esc(cfg.condition_bands[k]) + "</small>" : "") + "</div>";
      });
      html += "</div>";
      if (GP.layers.lighting_gaps) {
        html += "<div class='gp-legend-group' data-legend='gaps'><b>" + esc(S.gap_kinds) + "</b>";
        var kinds = ["missing", "weak", "dark"].filter(function (k) { return GAP_COLOURS[k] && C.gap_kind && C.gap_kind[k]; });
        kinds.forEach(function (k) {  // SPEC §5 v2: each kind of under-lit road with its own colour (missing = the layer's colour)
          html += "<div><i class='gp-line gp-line-gap' style='--gap:" + GAP_COLOURS[k] + "'></i>" + esc(label("gap_kind", k)) + "</div>";
        });
        html += "</div>";
      }
      html += "<div class='gp-legend-group'>";
      if (GP.layers.proposed_pju) html += "<div><i class='gp-dot' style='background:#ffd700;border-color:#8a6d00'></i>" + esc(S.proposed) + "</div>";
      html += "<div><i class='gp-area'></i>" + esc(label("level", "kecamatan")) + "</div></div>";
      if (GP.layers.work_orders) {
        html += "<div class='gp-legend-group'><b>" + esc(S.wo_status) + "</b>";
        ["open", "assigned", "in_progress", "done", "rejected"].forEach(function (k) {
          html += "<div><i class='gp-dot gp-dot-wo' style='background:" + WO_COLOURS[k] + "'></i>" + esc(label("wo_status", k)) + "</div>";
        });
        html += "</div>";
      }
      GP.legendExtras.forEach(function (fn) { try { html += fn() || ""; } catch (e) { console.warn(e); } });
      return html + "</details>";
    }
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-legend leaflet-bar");
      div.setAttribute("role", "region");
      div.setAttribute("aria-label", S.legend);
      div.innerHTML = legendHtml();
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    legend.addTo(map);
    GP.refreshLegend = function () { legend.getContainer().innerHTML = legendHtml(); };

    /* ---------- toolbar: search, kecamatan, zoom to city/data, language ---------- */
    var bar = L.control({ position: "topleft" });
    bar.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-toolbar leaflet-bar");
      var html = "<form class='gp-search' autocomplete='off' role='search'><input type='search' name='q' placeholder='" + esc(S.search) + "' aria-label='" + esc(S.search) + "'></form><ul class='gp-results' hidden></ul>";
      if (cfg.kecamatan.length) {
        html += "<select class='gp-kecamatan' aria-label='" + esc(S.zoom_kecamatan) + "'><option value=''>" + esc(S.zoom_kecamatan) + "</option>";
        cfg.kecamatan.forEach(function (k, i) { html += "<option value='" + i + "'>" + esc(k.name) + "</option>"; });
        html += "</select>";
      }
      html += "<div class='gp-zoom-buttons'>" + (cfg.home ? "<button type='button' class='gp-zoom-city'>" + esc(S.zoom_city) + "</button>" : "") +
        "<button type='button' class='gp-zoom-data'>" + esc(S.zoom_data) + "</button></div>";
      var lang = cfg.language;
      html += "<form class='gp-lang' method='post' action='" + esc(lang.setlang) + "'><input type='hidden' name='csrfmiddlewaretoken' value='" + esc(cfg.csrf_token) + "'><input type='hidden' name='next' value='" + esc(lang.next) + "'><select name='language' aria-label='" + esc(S.language) + "'>";
      lang.available.forEach(function (l) { html += "<option value='" + esc(l[0]) + "'" + (l[0] === lang.current ? " selected" : "") + ">" + esc(l[1]) + "</option>"; });
      html += "</select></form>";
      html += cfg.user
        ? "<form class='gp-user' method='post' action='" + esc(cfg.urls.logout) + "'><input type='hidden' name='csrfmiddlewaretoken' value='" + esc(cfg.csrf_token) + "'>" + esc(cfg.user) + " · <button type='submit' class='gp-linkbutton'>" + esc(S.logout) + "</button></form>"
        : "<div class='gp-user'><a href='" + esc(cfg.urls.login) + "'>" + esc(S.login) + "</a></div>";
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    bar.addTo(map);
    var barEl = bar.getContainer();
    /* The language switch keeps the view (#zoom/lat/lon) and the chosen layers (?layers=). */
    function shownLayers() { return cfg.layers.filter(function (d) { return map.hasLayer(GP.layers[d.name]); }).map(function (d) { return d.name; }); }
    function addressWithLayers() {
      var q = new URLSearchParams(location.search);
      q.set("layers", shownLayers().join(","));
      return location.pathname + "?" + q.toString().replace(/%2C/g, ",") + location.hash;
    }
    barEl.querySelector(".gp-lang select").addEventListener("change", function () {
      this.form.next.value = addressWithLayers();
      this.form.submit();
    });
    map.on("overlayadd overlayremove", function () { history.replaceState(null, "", addressWithLayers()); });
    var zoomCity = barEl.querySelector(".gp-zoom-city");
    if (zoomCity) zoomCity.addEventListener("click", function () { GP.fitBbox(cfg.home); });
    barEl.querySelector(".gp-zoom-data").addEventListener("click", function () { GP.fitBbox(cfg.bounds); });
    var kec = barEl.querySelector(".gp-kecamatan");
    if (kec) kec.addEventListener("change", function () {
      var k = cfg.kecamatan[this.value];
      if (k) GP.fitBbox(k.bbox);  // a jump: never lost to a running animation
    });
    GP.zoomToKecamatan = function (code) { var k = kecByCode[code]; if (k) GP.fitBbox(k.bbox); return !!k; };
    var results = barEl.querySelector(".gp-results");
    /* Search hits as markers that never take a click meant for the road underneath. */
    var hitMarkers = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40, zoomToBoundsOnClick: false });
    GP.searchMarkers = hitMarkers;
    barEl.querySelector(".gp-search").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = this.q.value.trim();
      if (!q) return;
      fetch(cfg.urls.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          results.innerHTML = "";
          results.hidden = false;
          var hits = data.results || [];
          hitMarkers.clearLayers();
          hits.forEach(function (h) {
            var ll = h.bbox ? L.latLng((h.bbox[1] + h.bbox[3]) / 2, (h.bbox[0] + h.bbox[2]) / 2) : L.latLng(h.lat, h.lon);
            hitMarkers.addLayer(L.marker(ll, { title: h.label, interactive: false, keyboard: false, opacity: 0.8 }));
          });
          if (hits.length && !map.hasLayer(hitMarkers)) hitMarkers.addTo(map);
          if (!hits.length) { results.appendChild(el("li", {}, esc(S.no_results))); return; }
          hits.forEach(function (h) {
            var li = el("li", { "class": "gp-hit gp-hit-" + h.kind });
            var go = el("button", { type: "button", "class": "gp-hit-go" },
              (h.kind === "pju" ? "💡 " : "🛣 ") + esc(h.label) + (h.segments ? " <small>(" + h.segments + ")</small>" : ""));
            go.addEventListener("click", function () {
              if (h.bbox) GP.fitBbox(h.bbox, { maxZoom: 17 });
              else { map.setView([h.lat, h.lon], 18, { animate: false }); showFeature("pju", h.id, L.latLng(h.lat, h.lon), {}); }
              results.hidden = true;
            });
            li.appendChild(go);
            if (h.kind === "road" && h.ids && h.ids.length) {
              var all = el("button", { type: "button", "class": "gp-add-all", title: S.add_all_segments }, "+ " + esc(S.add_all_segments));
              all.addEventListener("click", function () {
                GP.fitBbox(h.bbox, { maxZoom: 17 });
                selectRoads(h.ids.map(String));
                results.hidden = true;
              });
              li.appendChild(all);
            }
            results.appendChild(li);
          });
        });
    });

    /* ---------- popups: the fields people need, in their language; names, not ids ---------- */
    var roadNames = {};
    function roadName(id) {
      if (roadNames[id]) return Promise.resolve(roadNames[id]);
      return fetch("/api/roads/" + id + "/", { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (f) { roadNames[id] = (f && f.properties && f.properties.name) || S.unnamed_road; return roadNames[id]; })
        .catch(function () { return S.unnamed_road; });
    }
    function localTime(v) {
      var d = new Date(v);
      return isNaN(d) ? v : d.toLocaleString(document.documentElement.lang || "id", { dateStyle: "medium", timeStyle: "short" });
    }
    function shownValue(k, v, props) {
      if (k === "kecamatan" || k === "kelurahan") return (cfg.area_names || {})[v] || (kecByCode[v] && kecByCode[v].name) || (typeof v === "object" ? v.name : "");
      if (k === "road_id") return props._road_name || "…";
      if (/_at$/.test(k)) return localTime(v);
      if (k === "legal") return label("boolean", String(v));
      if (k === "status" && props._wo) return label("wo_status", v);
      if (k === "kind" && props._wo) return label("wo_kind", v);
      if (k === "lamp" && typeof v === "object") return v.label || v.code || "";
      if (VALUE_GROUPS[k] && C[VALUE_GROUPS[k]]) return label(VALUE_GROUPS[k], v);
      if (C[k]) return label(k, v);
      if (typeof v === "number") return k === "cost" ? "Rp " + fmt(v, 0) : fmt(v, k === "priority" ? 2 : 1);
      return v;
    }
    function propsTable(def, props) {
      var key = def ? (def.api || def.style) : "";
      var fields = POPUP_FIELDS[key] || POPUP_FIELDS[def && def.style] || [];
      var rows = "";
      fields.forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === "") return;
        if (typeof v === "object" && k !== "lamp" && k !== "kecamatan" && k !== "kelurahan") return;
        rows += "<tr><th scope='row'>" + esc(cfg.fields[k] || k) + "</th><td data-field='" + esc(k) + "'>" + esc(shownValue(k, v, props)) + "</td></tr>";
      });
      return "<table class='gp-props'>" + rows + "</table>";
    }
    function photosHtml(photos) {
      if (!photos || !photos.length) return "";
      return "<div class='gp-photos'><b>" + esc(S.photos) + "</b><br>" + photos.map(function (p) {
        return "<a href='" + esc(p.url) + "' target='_blank' rel='noopener'><img src='" + esc(p.url) + "' alt='" + esc(p.caption || S.photos) + "' loading='lazy'></a>";
      }).join("") + "</div>";
    }
    function woFormHtml(def, props) {
      var kind = NEED_KINDS[def.name];
      if (!kind || props.id === undefined || props.count !== undefined) return "";
      if (!cfg.planner) return "<p class='gp-hint'>" + esc(S.login_for_wo) + "</p>";
      return "<form class='gp-wo-form' data-kind='" + esc(kind) + "' data-target='" + esc(props.id) + "'>" +
        "<label>" + esc(S.officer) + " <select name='assigned_to'><option value=''>" + esc(S.unassigned) + "</option></select></label>" +
        "<button type='submit' class='gp-create-wo'>" + esc(S.create_wo) + "</button><p class='gp-wo-result' role='status'></p></form>";
    }
    function popupHtml(def, props, full) {
      var title = def ? def.label : "";
      if (def && def.api === "pju" && props.code) title = props.code;
      else if (def && def.api === "roads") title = props.name || S.unnamed_road;
      else if (def && def.api === "areas" && props.name) title = props.name;
      else if (def && def.api === "work-orders" && props.title) title = props.title;
      var html = "<div class='gp-popup' data-layer='" + esc(def ? def.name : "") + "'><h4>" + esc(title) + "</h4>" + propsTable(def, props);
      if (full) html += photosHtml(full.photos);
      if (full && full.closing_photo) html += photosHtml([{ url: full.closing_photo.url, caption: cfg.fields.closing_photo }]);
      if (def && def.api === "roads" && props.id !== undefined) {
        html += "<button type='button' class='gp-select-road' data-id='" + esc(props.id) + "'>" + esc(S.select_road) + "</button>";
      }
      if (def) html += woFormHtml(def, props);
      GP.popupExtras.forEach(function (fn) { try { html += fn(def, props, full) || ""; } catch (e) { console.warn(e); } });
      return html + "</div>";
    }
    var officersLoaded = null;
    function officers() {
      if (!officersLoaded) {
        officersLoaded = fetch(cfg.urls.officers, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { officers: [] }; }).then(function (d) { return d.officers || []; })
          .catch(function () { officersLoaded = null; return []; });
      }
      return officersLoaded;
    }
    function fillOfficers(popupEl, keep) {
      var sel = popupEl && popupEl.querySelector(".gp-wo-form select[name=assigned_to]");
      if (!sel) return;
      officers().then(function (list) {
        list.forEach(function (o) { sel.appendChild(el("option", { value: o.username }, esc(o.name + (o.name !== o.username ? " (" + o.username + ")" : "")))); });
        if (keep) sel.value = keep;
      });
    }
    function setPopup(popup, html) {
      // The popup is drawn again when the feature's details arrive: keep the officer already chosen.
      var before = popup.getElement() && popup.getElement().querySelector(".gp-wo-form select[name=assigned_to]");
      var keep = before ? before.value : "";
      popup.setContent(html);
      var node = popup.getElement();
      if (node) fillOfficers(node, keep);
    }
    function showFeature(api, id, latlng, props, def) {
      props = Object.assign({}, props);
      if (api === "work-orders") props._wo = true;
      var popup = L.popup({ maxWidth: 340 }).setLatLng(latlng).setContent(popupHtml(def, props)).openOn(map);
      fillOfficers(popup.getElement());
      if (props.road_id !== undefined && props.road_id !== null) {
        roadName(props.road_id).then(function (name) {
          props._road_name = name;
          if (popup.isOpen()) setPopup(popup, popupHtml(def, props));
        });
      }
      if (!api || id === undefined || id === null) return;
      if (api === "work-orders" && !cfg.user) return;  // work orders are for logged-in users only
      fetch("/api/" + api + "/" + id + "/", { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (f) {
          if (!f || !popup.isOpen()) return;
          var merged = Object.assign({ id: id, _wo: props._wo, _road_name: props._road_name }, f.properties || {});
          setPopup(popup, popupHtml(def, merged, f.properties));
        }).catch(function () {});
    }
    GP.showFeature = showFeature;

    /* "Buat perintah kerja": POST /api/work-orders/ from a need's popup. */
    map.getContainer().addEventListener("submit", function (ev) {
      var form = ev.target.closest && ev.target.closest(".gp-wo-form");
      if (!form) return;
      ev.preventDefault();
      var out = form.querySelector(".gp-wo-result");
      var body = { kind: form.dataset.kind, target: parseInt(form.dataset.target, 10) };
      if (form.assigned_to.value) body.assigned_to = form.assigned_to.value;
      form.querySelector("button").disabled = true;
      fetch(cfg.urls.work_orders, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf(cfg) },
        body: JSON.stringify(body),
      }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); }).then(function (res) {
        if (!res.ok) { out.textContent = S.error + ": " + (res.data.detail || ""); out.className = "gp-wo-result gp-error"; form.querySelector("button").disabled = false; return; }
        out.textContent = S.wo_created + " #" + res.data.id + " · " + label("wo_status", res.data.properties.status);
        out.className = "gp-wo-result gp-ok";
        form.dataset.created = res.data.id;
        GP.refreshLayer("work_orders");
      }).catch(function (err) { out.textContent = S.error + ": " + err; form.querySelector("button").disabled = false; });
    });

    function hitTest(latlng) {
      for (var i = 0; i < ordered.length; i++) {
        var layer = ordered[i];
        if (!map.hasLayer(layer) || !layer._vectorTiles) continue;
        var z = layer._tileZoom;
        if (z === undefined) continue;
        var size = layer.getTileSize();
        var abs = map.project(latlng, z);
        var coords = L.point(Math.floor(abs.x / size.x), Math.floor(abs.y / size.y));
        var renderer = layer._vectorTiles[coords.x + ":" + coords.y + ":" + z];
        if (!renderer || !renderer._layers) continue;
        var local = abs.subtract(L.point(coords.x * size.x, coords.y * size.y));
        var best = null;
        Object.keys(renderer._layers).forEach(function (k) {
          var f = renderer._layers[k];
          if (!best && f._containsPoint && f._containsPoint(local)) best = f;
        });
        if (best) return { layer: layer, feature: best };
      }
      return null;
    }
    GP.hitTest = hitTest;
    map.on("click", function (e) {
      if (drawing) return;
      var hit = hitTest(e.latlng);
      if (!hit) return;
      var def = hit.layer.gpDef;
      var props = Object.assign({}, hit.feature.properties);
      var id = hit.feature.properties && (hit.feature.properties.id !== undefined ? hit.feature.properties.id : undefined);
      if (id === undefined && hit.feature._gpId !== undefined) id = hit.feature._gpId;
      if (id === undefined) id = findId(hit.layer, hit.feature);
      if (id !== undefined) props.id = id;
      if (props.count !== undefined) { map.setView(e.latlng, Math.min(map.getZoom() + 2, 22)); return; }
      showFeature(def.api, id, e.latlng, props, def);
    });
    function findId(layer, featureLayer) {
      for (var key in layer._vectorTiles) {
        var feats = layer._vectorTiles[key]._features || {};
        for (var id in feats) { if (feats[id].feature === featureLayer) return id; }
      }
      return undefined;
    }

    /* ---------- estimate: draw a line/polygon or select roads ---------- */
    var topPane = map.createPane("gp-selection");
    topPane.style.zIndex = 450;  // drawn lines and selected roads above every data layer
    var panel = L.control({ position: "bottomleft" });
    panel.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-estimate leaflet-bar");
      div.setAttribute("role", "region");
      div.setAttribute("aria-label", S.estimate);
      div.innerHTML = "<h4>" + esc(S.estimate) + "</h4><p class='gp-hint'>" + esc(S.draw_hint) + "</p>" +
        "<div class='gp-est-form' hidden><label>" + esc(S.template) + " <select name='template'></select></label>" +
        "<label class='gp-width'>" + esc(S.width_m) + " <input name='width_m' type='number' min='0.5' max='200' step='0.5' value='6'></label>" +
        "<ul class='gp-selected'></ul><button type='button' class='gp-compute'>" + esc(S.compute) + "</button> " +
        "<button type='button' class='gp-clear'>" + esc(S.clear) + "</button></div><div class='gp-est-result' aria-live='polite'></div>";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    panel.addTo(map);
    var pEl = panel.getContainer();
    var form = pEl.querySelector(".gp-est-form"), resultEl = pEl.querySelector(".gp-est-result");
    var highlight = L.featureGroup().addTo(map);
    GP.selection = highlight;
    var state = { geometry: null, roadIds: [], drawn: null, names: {} };
    var templatesLoaded = fetch(cfg.urls.templates, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
      var sel = form.querySelector("select[name=template]");
      list.forEach(function (t) { sel.appendChild(el("option", { value: t.code }, esc(t.code + " — " + t.name))); });
      return list;
    }).catch(function () { return []; });

    function typedWidth() { var v = parseFloat(form.querySelector("input[name=width_m]").value); return v > 0 ? v : null; }
    function estimateBody() {
      var body = { template: form.querySelector("select[name=template]").value };
      if (state.geometry) {
        body.geometry = state.geometry;
        if (state.geometry.type === "LineString") body.width_m = typedWidth();
      } else {
        body.road_ids = state.roadIds.map(Number);
        if (typedWidth()) body.width_m = typedWidth();  // the width shown is the width used
      }
      return body;
    }
    function post(url, body) {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(cfg), Accept: url.indexOf("format=") >= 0 ? "*/*" : "application/json" },
        body: JSON.stringify(body),
      });
    }
    function compute() {
      if (!state.geometry && !state.roadIds.length) return;
      resultEl.innerHTML = "<p>" + esc(S.loading) + "</p>";
      var body = estimateBody();
      post(cfg.urls.estimates, body).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        if (!res.ok) { resultEl.innerHTML = "<p class='gp-error'>" + esc(S.error) + ": " + esc(res.data.detail) + "</p>"; return; }
        var d = res.data;
        var html = "<table class='gp-est'><tr><th>" + esc(S.length) + "</th><td>" + fmt(d.length_m, 1) + " m</td></tr>" +
          (body.width_m ? "<tr><th>" + esc(S.width_m) + "</th><td class='gp-est-width'>" + fmt(body.width_m, 2) + " m</td></tr>" : "") +
          "<tr><th>" + esc(S.area) + "</th><td>" + fmt(d.area_m2, 1) + " m²</td></tr>" +
          "<tr><th>" + esc(S.subtotal) + "</th><td>" + fmt(d.subtotal, 0) + "</td></tr>" +
          "<tr><th>" + esc(S.overhead) + "</th><td>" + fmt(d.overhead, 0) + "</td></tr>" +
          "<tr><th>" + esc(S.tax) + "</th><td>" + fmt(d.tax, 0) + "</td></tr>" +
          "<tr class='gp-total'><th>" + esc(S.total) + "</th><td>" + esc(d.currency) + " " + fmt(d.total, 0) + "</td></tr></table>";
        html += "<details><summary>" + esc(S.items) + " (" + (d.items || []).length + ")</summary><table class='gp-items'>" + (d.items || []).map(function (it) {
          return "<tr><td>" + esc(it.code) + "</td><td>" + esc(it.description) + "</td><td>" + fmt(it.quantity) + " " + esc(it.unit) + "</td><td>" + fmt(it.amount, 0) + "</td></tr>";
        }).join("") + "</table></details>";
        html += "<a href='#' class='gp-xlsx' download='RAB_" + esc(body.template) + ".xlsx'>⬇ " + esc(S.download_xlsx) + "</a>";
        resultEl.innerHTML = html;
        resultEl.dataset.total = d.total;
        var link = resultEl.querySelector(".gp-xlsx");
        link.addEventListener("click", function (ev) {
          if (link.dataset.ready) return;  // the blob URL is set: let the browser download it
          ev.preventDefault();
          post(cfg.urls.estimates + "?format=xlsx", body).then(function (r) {
            if (r.ok) return r.blob();
            return r.json().catch(function () { return {}; }).then(function (d) { throw new Error(d.detail || "HTTP " + r.status); });
          }).then(function (blob) {
            link.href = URL.createObjectURL(blob);
            link.dataset.ready = "1";
            link.click();
          }).catch(function (err) {  // e.g. exports need login: say so instead of saving an error as .xlsx
            resultEl.appendChild(el("p", { "class": "gp-error", role: "alert" }, esc(S.error) + ": " + esc(err.message)));
          });
        });
      }).catch(function (err) { resultEl.innerHTML = "<p class='gp-error'>" + esc(S.error) + ": " + esc(err) + "</p>"; });
    }
    GP.computeEstimate = compute;
    function showForm() {
      form.hidden = false;
      var list = form.querySelector(".gp-selected");
      list.innerHTML = "";
      if (state.roadIds.length) {
        var names = {};
        state.roadIds.forEach(function (id) { var n = state.names[id] || "…"; names[n] = (names[n] || 0) + 1; });
        Object.keys(names).forEach(function (n) {
          list.appendChild(el("li", {}, esc(n) + (names[n] > 1 ? " <small>(" + names[n] + ")</small>" : "")));
        });
        list.setAttribute("aria-label", S.selected_roads);
      }
    }
    /* Selected roads: highlighted above the layers, listed by name. */
    function selectRoads(ids) {
      if (state.geometry) clearEstimate();
      var added = ids.filter(function (id) { return state.roadIds.indexOf(id) < 0; });
      state.roadIds = state.roadIds.concat(added);
      showForm();
      var loads = added.map(function (id) {
        return fetch("/api/roads/" + id + "/", { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (f) {
            if (!f) return;
            state.names[id] = (f.properties && f.properties.name) || S.unnamed_road;
            L.geoJSON(f, { pane: "gp-selection", interactive: false, style: { color: "#00e5ff", weight: 9, opacity: 0.55 } }).addTo(highlight);
            L.geoJSON(f, { pane: "gp-selection", interactive: false, style: { color: "#0d47a1", weight: 3, opacity: 1 } }).addTo(highlight);
          }).catch(function () {});
      });
      Promise.all(loads).then(showForm);
      map.closePopup();
      return templatesLoaded.then(compute);
    }
    GP.selectRoads = selectRoads;
    function clearEstimate() {
      if (state.drawn) map.removeLayer(state.drawn);
      highlight.clearLayers();
      state = { geometry: null, roadIds: [], drawn: null, names: {} };
      form.hidden = true;
      resultEl.innerHTML = "";
    }
    form.querySelector(".gp-compute").addEventListener("click", compute);
    form.querySelector(".gp-clear").addEventListener("click", clearEstimate);
    form.querySelector("input[name=width_m]").addEventListener("change", function () { if (resultEl.innerHTML) compute(); });
    map.on("draw:drawstart", function () { drawing = true; });
    map.on("draw:drawstop", function () { setTimeout(function () { drawing = false; }, 0); });
    map.on("draw:created", function (e) {
      if (state.drawn) map.removeLayer(state.drawn);
      highlight.clearLayers();
      var gj = e.layer.toGeoJSON();
      state.drawn = L.geoJSON(gj, { pane: "gp-selection", interactive: false, style: { color: "#6a1b9a", weight: 5, opacity: 0.95 } }).addTo(map);
      state.geometry = gj.geometry;
      state.roadIds = [];
      state.names = {};
      showForm();
      templatesLoaded.then(compute);
    });
    /* Delegated: the popup's content is replaced once the full feature arrives. */
    map.getContainer().addEventListener("click", function (ev) {
      var btn = ev.target.closest && ev.target.closest(".gp-select-road");
      if (!btn) return;
      selectRoads([btn.dataset.id]);
    });
    /* Shareable view: #zoom/lat/lon in the address (set on every move; read at the top of initMap). */
    function keepView() {
      var c = map.getCenter();
      history.replaceState(null, "", location.pathname + location.search + "#" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
    }
    map.on("moveend", keepView);
    keepView();  // the first view is shareable too
    GP.ready = true;
    readyCallbacks.splice(0).forEach(function (fn) { try { fn(map, cfg); } catch (e) { console.error(e); } });
    document.dispatchEvent(new CustomEvent("gp:ready"));
  };
})();
