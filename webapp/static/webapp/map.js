/* Planner map (/map/): what folium has no element for.
 * GP.initMap(map, cfg) is called by the page folium writes (webapp/maps.py).
 * Vector tile layers come from cfg.layers (the tile registry: a layer that
 * is not registered is not offered); clicks are hit-tested across all
 * visible tile layers (top first), because only the topmost canvas would
 * receive a DOM click. */
(function () {
  "use strict";
  var GP = (window.GP = window.GP || {});
  var WO_COLOURS = { open: "#e31a1c", assigned: "#ff7f00", in_progress: "#1f78b4", done: "#33a02c", rejected: "#999999" };
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

  GP.initMap = function (map, cfg) {
    var S = cfg.strings, C = cfg.codes, COL = cfg.colours;
    var drawing = false;
    GP.cfg = cfg;
    var hashView = /^#(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(location.hash);
    if (hashView) map.setView([parseFloat(hashView[2]), parseFloat(hashView[3])], parseInt(hashView[1], 10), { animate: false });
    else map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], { animate: false });
    GP.layers = {};

    function label(group, code) { return (C[group] && C[group][code]) || code; }

    /* ---------- styles per layer kind ---------- */
    function pointStyle(fill, props, zoom) {
      if (props.count !== undefined && props.count !== null) {
        return { radius: clusterRadius(props.count), fill: true, fillColor: fill, fillOpacity: 0.55, color: "#ffffff", weight: 1 };
      }
      return { radius: zoom >= 16 ? 6 : zoom >= 14 ? 4 : 3, fill: true, fillColor: fill, fillOpacity: 0.95, color: "#ffffff", weight: zoom >= 15 ? 1.5 : 0.5 };
    }
    var STYLES = {
      status: function (p, z) { return pointStyle(p.count !== undefined ? "#2b83ba" : COL.status[p.status] || COL.status.unknown, p, z); },
      proposed: function (p, z) { var s = pointStyle("#ffd700", p, z); s.color = "#8a6d00"; s.weight = 1.5; return s; },
      work_order: function (p) { return { radius: 7, fill: true, fillColor: WO_COLOURS[p.status] || "#999", fillOpacity: 0.9, color: "#000", weight: 1.5 }; },
      condition: function (p) {
        var c = p.effective_condition || p.condition; /* issue 14: SDI/IRI count (geo_platform/condition.py) */
        var colour = c ? COL.condition[c] || COL.condition.unknown : "#607d8b";
        return { color: colour, weight: ROAD_WEIGHT[p.road_class] || 2, opacity: 0.9 };
      },
      gap: function () { return { color: "#ff7f00", weight: 6, opacity: 0.75, dashArray: "6,4" }; },
      area: function (p) {
        return { color: "#6a3d9a", weight: p.level === "kecamatan" ? 2 : p.level === "kelurahan" ? 0.8 : 3,
                 fill: true, fillColor: "#6a3d9a", fillOpacity: 0.03, dashArray: p.level === "kelurahan" ? "3,3" : null };
      },
    };

    /* ---------- panes: areas below lines below points ---------- */
    var PANE_Z = { polygon: 410, line: 420, point: 430 };
    Object.keys(PANE_Z).forEach(function (k) {
      var pane = map.createPane("gp-" + k);
      pane.style.zIndex = PANE_Z[k];
      pane.classList.add("gp-vt-pane");  // its canvases take no pointer events (map.css): hitTest() below does
    });

    /* ---------- vector tile layers ---------- */
    var overlays = {};
    var ordered = [];  // hit-test order: top first
    cfg.layers.forEach(function (def) {
      var styles = {};
      styles[def.name] = STYLES[def.style];
      var layer = L.vectorGrid.protobuf(def.url, {
        vectorTileLayerStyles: styles,
        interactive: true,
        rendererFactory: L.canvas.tile,
        getFeatureId: function (f) { return f.id; },
        minZoom: def.minzoom,
        maxZoom: 22,
        pane: "gp-" + def.geometry,
        attribution: "",
      });
      layer.gpDef = def;
      GP.layers[def.name] = layer;
      var swatch = def.geometry === "point" ? "●" : def.geometry === "line" ? "━" : "▢";
      overlays['<span class="gp-swatch gp-swatch-' + def.style + '">' + swatch + "</span> " + esc(def.label)] = layer;
      if (def.visible) layer.addTo(map);
      ordered.push(layer);
    });
    ordered.sort(function (a, b) { return PANE_Z[b.gpDef.geometry] - PANE_Z[a.gpDef.geometry]; });

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
      note.onAdd = function () { return L.DomUtil.create("div", "gp-note leaflet-bar"); };
      note.addTo(map);
      note.getContainer().textContent = text;
      setTimeout(function () { note.remove(); }, 6000);
    }
    var control = L.control.layers(bases, overlays, { collapsed: false, position: "topright" }).addTo(map);
    control.getContainer().classList.add("gp-layer-control");
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
      control.addOverlay(footprints, '<span class="gp-swatch" style="color:#e7298a">▭</span> ' + esc(S.footprints));
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

    /* ---------- legend ---------- */
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-legend leaflet-bar");
      var html = "<h4>" + esc(S.legend) + "</h4><div class='gp-legend-group'><b>" + esc(S.pju_by_status) + "</b>";
      ["working", "off", "damaged", "unknown"].forEach(function (k) {
        html += "<div><i class='gp-dot' style='background:" + COL.status[k] + "'></i>" + esc(label("status", k)) + "</div>";
      });
      html += "<div><i class='gp-dot gp-dot-cluster'></i>" + esc(S.cluster) + "</div></div>";
      html += "<div class='gp-legend-group'><b>" + esc(S.roads_by_condition) + "</b>";
      ["good", "fair", "light_damage", "heavy_damage", "unknown"].forEach(function (k) {
        html += "<div><i class='gp-line' style='background:" + COL.condition[k] + "'></i>" + esc(label("condition", k)) +
          (cfg.condition_bands && cfg.condition_bands[k] ? " <small>" + esc(cfg.condition_bands[k]) + "</small>" : "") + "</div>";
      });
      html += "</div><div class='gp-legend-group'>";
      if (GP.layers.lighting_gaps) html += "<div><i class='gp-line gp-line-gap'></i>" + esc(S.gap) + "</div>";
      if (GP.layers.proposed_pju) html += "<div><i class='gp-dot' style='background:#ffd700;border-color:#8a6d00'></i>" + esc(S.proposed) + "</div>";
      if (GP.layers.work_orders) html += "<div><i class='gp-dot' style='background:#e31a1c;border-color:#000'></i>" + esc(S.work_order) + "</div>";
      html += "<div><i class='gp-area'></i>" + esc(label("level", "kecamatan")) + "</div></div>";
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);

    /* ---------- toolbar: search, kecamatan, language ---------- */
    var bar = L.control({ position: "topleft" });
    bar.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-toolbar leaflet-bar");
      var html = "<form class='gp-search' autocomplete='off'><input type='search' name='q' placeholder='" + esc(S.search) + "' aria-label='" + esc(S.search) + "'></form><ul class='gp-results' hidden></ul>";
      if (cfg.kecamatan.length) {
        html += "<select class='gp-kecamatan' aria-label='" + esc(S.zoom_kecamatan) + "'><option value=''>" + esc(S.zoom_kecamatan) + "</option>";
        cfg.kecamatan.forEach(function (k, i) { html += "<option value='" + i + "'>" + esc(k.name) + "</option>"; });
        html += "</select>";
      }
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
    barEl.querySelector(".gp-lang select").addEventListener("change", function () { this.form.submit(); });
    var kec = barEl.querySelector(".gp-kecamatan");
    if (kec) kec.addEventListener("change", function () {
      var k = cfg.kecamatan[this.value];
      if (k) map.fitBounds([[k.bbox[1], k.bbox[0]], [k.bbox[3], k.bbox[2]]], { animate: false });  // a jump: never lost to a running animation
    });
    var results = barEl.querySelector(".gp-results");
    var hitMarkers = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
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
          /* every hit as a marker too, clustered (Leaflet.markercluster) */
          hitMarkers.clearLayers();
          hits.forEach(function (h) {
            var ll = h.bbox ? L.latLng((h.bbox[1] + h.bbox[3]) / 2, (h.bbox[0] + h.bbox[2]) / 2) : L.latLng(h.lat, h.lon);
            hitMarkers.addLayer(L.marker(ll, { title: h.label }).bindTooltip(esc(h.label)));
          });
          if (hits.length && !map.hasLayer(hitMarkers)) hitMarkers.addTo(map);
          if (!hits.length) { results.appendChild(el("li", {}, esc(S.no_results))); return; }
          hits.forEach(function (h) {
            var li = el("li", { "class": "gp-hit gp-hit-" + h.kind, tabindex: "0" },
              (h.kind === "pju" ? "💡 " : "🛣 ") + esc(h.label) + (h.segments ? " <small>(" + h.segments + ")</small>" : ""));
            li.addEventListener("click", function () {
              if (h.bbox) map.fitBounds([[h.bbox[1], h.bbox[0]], [h.bbox[3], h.bbox[2]]], { maxZoom: 17, animate: false });
              else { map.setView([h.lat, h.lon], 18, { animate: false }); showFeature("pju", h.id, L.latLng(h.lat, h.lon), {}); }
              results.hidden = true;
            });
            results.appendChild(li);
          });
        });
    });

    /* ---------- popups: tile attributes, then the full feature with photos ---------- */
    function propsTable(props) {
      var rows = "";
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === "" || k === "photos" || k === "client_id" || typeof v === "object") return;
        var shown = C[k] ? label(k, v) : typeof v === "number" ? fmt(v) : v;
        rows += "<tr><th>" + esc(cfg.fields[k] || k) + "</th><td>" + esc(shown) + "</td></tr>";
      });
      return "<table class='gp-props'>" + rows + "</table>";
    }
    function photosHtml(photos) {
      if (!photos || !photos.length) return "";
      return "<div class='gp-photos'><b>" + esc(S.photos) + "</b><br>" + photos.map(function (p) {
        return "<a href='" + esc(p.url) + "' target='_blank'><img src='" + esc(p.url) + "' alt='" + esc(p.caption) + "' loading='lazy'></a>";
      }).join("") + "</div>";
    }
    function popupHtml(def, props, full) {
      var title = def ? def.label : "";
      var html = "<div class='gp-popup' data-layer='" + esc(def ? def.name : "") + "'><h4>" + esc(title) + "</h4>" + propsTable(props);
      if (full) html += photosHtml(full.photos);
      if (def && def.api === "roads" && props.id !== undefined) {
        html += "<button type='button' class='gp-select-road' data-id='" + esc(props.id) + "'>" + esc(S.select_road) + "</button>";
      }
      return html + "</div>";
    }
    function showFeature(api, id, latlng, props, def) {
      var popup = L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(popupHtml(def, props)).openOn(map);
      if (!api || id === undefined || id === null) return;
      if (api === "work-orders" && !cfg.user) return;  // work orders are for logged-in users only
      fetch("/api/" + api + "/" + id + "/", { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (f) {
          if (!f || !popup.isOpen()) return;
          var merged = Object.assign({ id: id }, f.properties || {});
          popup.setContent(popupHtml(def, merged, f.properties));
        }).catch(function () {});
    }
    GP.showFeature = showFeature;

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
      var api = props.count !== undefined ? "" : def.api;
      if (props.count !== undefined) { map.setView(e.latlng, Math.min(map.getZoom() + 2, 22)); return; }
      showFeature(api, id, e.latlng, props, def);
    });
    function findId(layer, featureLayer) {
      for (var key in layer._vectorTiles) {
        var feats = layer._vectorTiles[key]._features || {};
        for (var id in feats) { if (feats[id].feature === featureLayer) return id; }
      }
      return undefined;
    }

    /* ---------- estimate: draw a line/polygon or select roads ---------- */
    var panel = L.control({ position: "bottomleft" });
    panel.onAdd = function () {
      var div = L.DomUtil.create("div", "gp-estimate leaflet-bar");
      div.innerHTML = "<h4>" + esc(S.estimate) + "</h4><p class='gp-hint'>" + esc(S.draw_hint) + "</p>" +
        "<div class='gp-est-form' hidden><label>" + esc(S.template) + " <select name='template'></select></label>" +
        "<label class='gp-width'>" + esc(S.width_m) + " <input name='width_m' type='number' min='0.5' max='200' step='0.5' value='6'></label>" +
        "<div class='gp-selected'></div><button type='button' class='gp-compute'>" + esc(S.compute) + "</button> " +
        "<button type='button' class='gp-clear'>" + esc(S.clear) + "</button></div><div class='gp-est-result'></div>";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    panel.addTo(map);
    var pEl = panel.getContainer();
    var form = pEl.querySelector(".gp-est-form"), resultEl = pEl.querySelector(".gp-est-result");
    var state = { geometry: null, roadIds: [], drawn: null };
    var templatesLoaded = fetch(cfg.urls.templates, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
      var sel = form.querySelector("select[name=template]");
      list.forEach(function (t) { sel.appendChild(el("option", { value: t.code }, esc(t.code + " — " + t.name))); });
      return list;
    }).catch(function () { return []; });

    function estimateBody() {
      var body = { template: form.querySelector("select[name=template]").value };
      if (state.geometry) {
        body.geometry = state.geometry;
        if (state.geometry.type === "LineString") body.width_m = parseFloat(form.querySelector("input[name=width_m]").value);
      } else {
        body.road_ids = state.roadIds.map(Number);
      }
      return body;
    }
    function post(url, body) {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf_token, Accept: url.indexOf("format=") >= 0 ? "*/*" : "application/json" },
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
          post(cfg.urls.estimates + "?format=xlsx", body).then(function (r) { return r.blob(); }).then(function (blob) {
            link.href = URL.createObjectURL(blob);
            link.dataset.ready = "1";
            link.click();
          });
        });
      }).catch(function (err) { resultEl.innerHTML = "<p class='gp-error'>" + esc(S.error) + ": " + esc(err) + "</p>"; });
    }
    GP.computeEstimate = compute;
    function showForm() {
      form.hidden = false;
      form.querySelector(".gp-width").hidden = !(state.geometry && state.geometry.type === "LineString");
      form.querySelector(".gp-selected").innerHTML = state.roadIds.length ? esc(S.selected_roads) + ": " + state.roadIds.map(esc).join(", ") : "";
    }
    function clearEstimate() {
      if (state.drawn) map.removeLayer(state.drawn);
      state = { geometry: null, roadIds: [], drawn: null };
      form.hidden = true;
      resultEl.innerHTML = "";
    }
    form.querySelector(".gp-compute").addEventListener("click", compute);
    form.querySelector(".gp-clear").addEventListener("click", clearEstimate);
    map.on("draw:drawstart", function () { drawing = true; });
    map.on("draw:drawstop", function () { setTimeout(function () { drawing = false; }, 0); });
    map.on("draw:created", function (e) {
      if (state.drawn) map.removeLayer(state.drawn);
      state.drawn = e.layer;
      state.geometry = e.layer.toGeoJSON().geometry;
      state.roadIds = [];
      showForm();
      templatesLoaded.then(compute);
    });
    /* Delegated: the popup's content is replaced once the full feature arrives. */
    map.getContainer().addEventListener("click", function (ev) {
      var btn = ev.target.closest && ev.target.closest(".gp-select-road");
      if (!btn) return;
      var id = btn.dataset.id;
      if (state.geometry) clearEstimate();
      if (state.roadIds.indexOf(id) < 0) state.roadIds.push(id);
      showForm();
      map.closePopup();
      templatesLoaded.then(compute);
    });
    /* Shareable view: #zoom/lat/lon in the address (set on every move; read at the top of initMap). */
    map.on("moveend", function () {
      var c = map.getCenter();
      history.replaceState(null, "", "#" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
    });
    GP.ready = true;
  };
})();
