/* Field officer app (/field/): position and accuracy, nearby assets, my
 * work orders, and five records — tag a new PJU, update a PJU, report road
 * damage, survey a road's condition (SDI form, js/survey.js), close a work
 * order — each with a photo, queued on the device (field-queue.js) and
 * synced when the network is back. */
import { fillUrl } from "./js/config.js";
import { esc } from "./js/format.js";
import { labeller } from "./js/i18n.js";
import { localDate, readSurvey, resultText, surveyFormHtml, surveyRecord } from "./js/survey.js";

(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("field-config").textContent);
  var S = cfg.strings, C = cfg.codes, F = cfg.fields, Q = window.GPQueue;
  var NEARBY_M = 300, REFETCH_M = 75, PHOTO_MAX_PX = 1600;
  var state = { fix: null, lastFetchAt: null, pju: [], roads: [], orders: [] };
  var $ = function (id) { return document.getElementById(id); };

  var label = labeller(C);
  function toast(msg) {
    var t = $("toast");
    t.textContent = msg; t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 3500);
  }

  /* ---------- map and position ---------- */
  var map = L.map("map", { zoomControl: true, attributionControl: true }).setView([-2.5, 118], 5);
  if (cfg.basemap_url) L.tileLayer(cfg.basemap_url, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
  var assetsLayer = L.layerGroup().addTo(map);
  var queueLayer = L.layerGroup().addTo(map);  // records not sent yet, where they were taken
  var imagery = [];  // the city's own imagery: [{id, name, bounds, layer}]

  /* ---------- the city's imagery (the basemap when BASEMAP_URL is empty or unreachable) ---------- */
  function tileUrl(id) { return cfg.urls.imagery_tiles.replace("{id}", encodeURIComponent(id)); }
  fetch(cfg.urls.imagery, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; }).then(function (fc) {
    if (fc && fc.features) {
      try { localStorage.setItem("gp-field-imagery", JSON.stringify(fc)); } catch (e) { /* quota */ }
    } else {
      fc = JSON.parse(localStorage.getItem("gp-field-imagery") || "null");  // offline: the last catalogue seen
    }
    if (!fc || !fc.features) return;
    var bases = {};
    fc.features.forEach(function (f) {
      var p = f.properties || {};
      if (["orthophoto", "drone", "satellite"].indexOf(p.kind) < 0) return;
      var bounds = L.geoJSON(f).getBounds();
      var layer = L.tileLayer(tileUrl(f.id), { bounds: bounds, maxZoom: 21, maxNativeZoom: 21 });
      imagery.push({ id: f.id, name: p.name, bounds: bounds, layer: layer });
      bases[p.name || "#" + f.id] = layer;
    });
    if (imagery.length) L.control.layers(bases, {}, { collapsed: true }).addTo(map);
    showImageryHere();
  }).catch(function () {});
  function showImageryHere() {
    if (cfg.basemap_url || !state.fix) return;
    var here = L.latLng(state.fix.lat, state.fix.lon);
    var hit = imagery.filter(function (i) { return i.bounds.contains(here); })[0];
    if (hit && !map.hasLayer(hit.layer)) hit.layer.addTo(map);
  }
  function tilesAround(lat, lon, metres, z) {
    var b = L.latLng(lat, lon).toBounds(metres * 2), n = Math.pow(2, z);
    function tx(lng) { return Math.floor((lng + 180) / 360 * n); }
    function ty(la) { var r = la * Math.PI / 180; return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n); }
    var out = [];
    for (var x = tx(b.getWest()); x <= tx(b.getEast()); x++) {
      for (var y = ty(b.getNorth()); y <= ty(b.getSouth()); y++) out.push([z, x, y]);
    }
    return out;
  }
  /* Save the area around the officer for offline use: the service worker keeps
   * every answer (imagery tiles, nearby assets, work orders) it passes through. */
  function saveArea() {
    if (!state.fix) { toast(S.no_position); return Promise.resolve(0); }
    var urls = [];
    imagery.forEach(function (i) {
      if (!i.bounds.contains(L.latLng(state.fix.lat, state.fix.lon))) return;
      [15, 16, 17, 18].forEach(function (z) {
        tilesAround(state.fix.lat, state.fix.lon, z < 17 ? 1000 : 400, z).forEach(function (t) {
          urls.push(fillUrl(cfg.urls.imagery_tiles, { id: i.id, z: t[0], x: t[1], y: t[2] }));
        });
      });
    });
    var n = 0;
    return Promise.all(urls.map(function (u) {
      return fetch(u, { credentials: "same-origin" }).then(function (r) { if (r.ok) n += 1; }).catch(function () {});
    })).then(function () {
      loadNearby(L.latLng(state.fix.lat, state.fix.lon));
      toast(urls.length ? S.area_saved + " (" + n + ")" : S.area_saved_data);
      return n;
    });
  }
  var youMarker = null, youCircle = null;
  window.gpFieldMap = map;

  function onFix(pos) {
    var c = pos.coords;
    var first = !state.fix;
    state.fix = { lon: c.longitude, lat: c.latitude, accuracy_m: c.accuracy, taken_at: new Date(pos.timestamp || Date.now()).toISOString() };
    var ll = L.latLng(c.latitude, c.longitude);
    var poor = c.accuracy > cfg.max_accuracy_m;
    $("fix").textContent = S.position + ": " + c.latitude.toFixed(6) + ", " + c.longitude.toFixed(6) + " · " + S.accuracy + " ±" + Math.round(c.accuracy) + " m";
    $("fix").dataset.accuracy = c.accuracy;
    $("fix").classList.toggle("poor", poor);
    if (!youMarker) {
      youCircle = L.circle(ll, { radius: c.accuracy, color: "#1565c0", weight: 1, fillOpacity: 0.12 }).addTo(map);
      youMarker = L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1 }).addTo(map);
    } else {
      youMarker.setLatLng(ll); youCircle.setLatLng(ll).setRadius(c.accuracy);
    }
    youCircle.setStyle({ color: poor ? "#e65100" : "#1565c0" });
    if (first) { map.setView(ll, 17); showImageryHere(); }
    if (!state.lastFetchAt || state.lastFetchAt.distanceTo(ll) > REFETCH_M) loadNearby(ll);
  }
  function onFixError(err) { $("fix").textContent = S.no_fix + " (" + err.message + ")"; }
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(onFix, onFixError, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
  }

  /* ---------- nearby assets and work orders ---------- */
  function bboxAround(ll, metres) {
    var b = ll.toBounds(metres * 2);  // Leaflet: a square of the given size in metres around the point
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
  }
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function loadNearby(ll) {
    if (!navigator.onLine) {  // offline: the last lists saved on the device
      var saved = JSON.parse(localStorage.getItem("gp-field-nearby") || "{}");
      state.pju = saved.pju || []; state.roads = saved.roads || []; state.orders = saved.orders || [];
      renderNearby(); renderOrders();
      document.body.dataset.nearby = "saved";
      return;
    }
    state.lastFetchAt = ll;
    var bbox = bboxAround(ll, NEARBY_M);
    var near = ll.lng.toFixed(6) + "," + ll.lat.toFixed(6);
    Promise.all([
      getJson(fillUrl(cfg.urls.collection, { layer: "pju" }) + "?bbox=" + bbox + "&limit=300").catch(function () { return null; }),
      getJson(fillUrl(cfg.urls.collection, { layer: "roads" }) + "?bbox=" + bbox + "&limit=200").catch(function () { return null; }),
      getJson(fillUrl(cfg.urls.collection, { layer: "work-orders" }) + "?mine=1&near=" + near + "&limit=50").catch(function () { return null; }),
    ]).then(function (res) {
      var saved = JSON.parse(localStorage.getItem("gp-field-nearby") || "{}");
      state.pju = res[0] ? res[0].features : saved.pju || [];
      state.roads = res[1] ? res[1].features : saved.roads || [];
      state.orders = res[2] ? res[2].features.filter(function (f) { return ["assigned", "in_progress"].indexOf(f.properties.status) >= 0; }) : saved.orders || [];
      if (res[0] || res[1] || res[2]) {
        try { localStorage.setItem("gp-field-nearby", JSON.stringify({ pju: state.pju, roads: state.roads, orders: state.orders })); } catch (e) { /* quota */ }
      }
      renderNearby(); renderOrders();
      document.body.dataset.nearby = "loaded";
    });
  }
  function distanceTo(f, fix) {
    fix = fix || state.fix;
    if (!fix) return null;
    var here = L.latLng(fix.lat, fix.lon);
    var g = f.geometry;
    if (!g) return null;
    if (g.type === "Point") return here.distanceTo(L.latLng(g.coordinates[1], g.coordinates[0]));
    var best = Infinity;
    (g.type === "LineString" ? g.coordinates : [].concat.apply([], g.coordinates)).forEach(function (c) {
      best = Math.min(best, here.distanceTo(L.latLng(c[1], c[0])));
    });
    return best;
  }
  function byDistance(list) {
    return list.map(function (f) { return { f: f, d: distanceTo(f) }; }).sort(function (a, b) { return a.d - b.d; });
  }
  function renderNearby() {
    assetsLayer.clearLayers();
    var ul = $("nearby");
    ul.innerHTML = "";
    var items = byDistance(state.pju).slice(0, 40).concat(byDistance(state.roads).slice(0, 15));
    if (!items.length) { ul.innerHTML = "<li class='muted'>" + esc(S.nothing_nearby) + "</li>"; }
    byDistance(state.pju).forEach(function (x) {
      var p = x.f.properties, c = x.f.geometry.coordinates;
      L.circleMarker([c[1], c[0]], { radius: 6, color: "#fff", weight: 1.5, fillColor: cfg.colours.status[p.status] || "#999", fillOpacity: 1 })
        .bindTooltip(esc(p.code || "PJU " + x.f.id)).on("click", function () { openForm("pju_update", x.f); }).addTo(assetsLayer);
    });
    state.roads.forEach(function (f) {
      L.geoJSON(f, { style: { color: cfg.colours.condition[f.properties.condition] || "#888", weight: 4, opacity: 0.8 } })
        .bindTooltip(esc(f.properties.name || S.road + " " + f.id)).addTo(assetsLayer);
    });
    items.forEach(function (x) {
      var f = x.f, p = f.properties, isPju = f.geometry.type === "Point";
      var li = document.createElement("li");
      li.className = "item " + (isPju ? "item-pju" : "item-road");
      li.dataset.id = f.id;
      li.innerHTML = "<div><b>" + esc(isPju ? (p.code || S.pju + " #" + f.id) : (p.name || S.road + " #" + f.id)) + "</b> " +
        "<span class='muted'>" + (x.d !== null ? Math.round(x.d) + " m" : "") + "</span><br><small>" +
        esc(isPju ? label("status", p.status) + " · " + label("lamp_type", p.lamp_type) + (p.controller_id ? " · " + F.controller_id + " " + p.controller_id : "") : label("road_class", p.road_class) + " · " + label("condition", p.condition)) +
        "</small></div>";
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = isPju ? S.update_pju : S.road_damage;
      btn.className = isPju ? "btn-update-pju" : "btn-road-damage";
      btn.addEventListener("click", function () { openForm(isPju ? "pju_update" : "road_update", f); });
      li.appendChild(btn);
      if (!isPju) {
        var survey = document.createElement("button");
        survey.type = "button"; survey.className = "btn-road-survey"; survey.textContent = S.survey;
        survey.addEventListener("click", function () { openForm("road_survey", f); });
        li.appendChild(survey);
      }
      ul.appendChild(li);
    });
  }
  function renderOrders() {
    var ul = $("orders");
    ul.innerHTML = "";
    if (!state.orders.length) { ul.innerHTML = "<li class='muted'>" + esc(S.no_orders) + "</li>"; return; }
    state.orders.forEach(function (f) {
      var p = f.properties;
      var li = document.createElement("li");
      li.className = "item item-order";
      li.dataset.id = f.id;
      li.innerHTML = "<div><b>" + esc(p.title) + "</b><br><small>" + esc(label("wo_status", p.status)) +
        (p.distance_m !== undefined && p.distance_m !== null ? " · " + Math.round(p.distance_m) + " m" : "") + "</small></div>";
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "btn-close-wo"; btn.textContent = S.close_wo;
      btn.addEventListener("click", function () { openForm("wo_close", f); });
      li.appendChild(btn);
      ul.appendChild(li);
      if (f.geometry) {
        var c = f.geometry.coordinates;
        L.marker([c[1], c[0]], { title: p.title }).addTo(assetsLayer);
      }
    });
  }

  /* ---------- forms ---------- */
  function select(name, group, value, codes) {
    var html = "<label>" + esc(F[name] || name) + " <select name='" + name + "'>";
    (codes || Object.keys(C[group])).forEach(function (code) {
      html += "<option value='" + esc(code) + "'" + (code === value ? " selected" : "") + ">" + esc(label(group, code)) + "</option>";
    });
    return html + "</select></label>";
  }
  function number(name, text, value, step) {
    return "<label>" + esc(text) + " <input type='number' name='" + name + "' min='0' step='" + (step || "any") + "' value='" + esc(value === null || value === undefined ? "" : value) + "'></label>";
  }
  var current = null;
  function openForm(kind, feature) {
    current = { kind: kind, feature: feature };
    var p = feature ? feature.properties : {};
    var fields = "";
    var title = { pju_create: S.new_pju, pju_update: S.update_pju, road_update: S.road_damage, road_survey: S.survey, wo_close: S.close_wo }[kind];
    var subtitle = "";
    if (kind === "pju_create" || kind === "pju_update") {
      fields = select("status", "status", kind === "pju_create" ? "working" : p.status) +
        select("lamp_type", "lamp_type", kind === "pju_create" ? "led" : p.lamp_type) +
        number("wattage_w", F.wattage_w, p.wattage_w, "1") + number("pole_height_m", F.pole_height_m, p.pole_height_m, "0.5") +
        "<label>" + esc(F.controller_id) + " <input type='text' name='controller_id' maxlength='64' autocomplete='off' value='" + esc(p.controller_id || "") + "'></label>";
      if (kind === "pju_update") subtitle = (p.code || S.pju + " #" + feature.id) + " · v" + p.version;
    } else if (kind === "road_update" || kind === "road_survey") {
      fields = kind === "road_survey" ? surveyFormHtml(cfg.survey, F, p, localDate())
        : select("condition", "condition", p.condition === "good" || p.condition === "fair" || p.condition === "unknown" ? "light_damage" : p.condition, ["light_damage", "heavy_damage", "fair", "good"]);
      var d = distanceTo(feature);
      subtitle = S.confirm_road + " " + (p.name || S.unnamed_road) + " · " + label("road_class", p.road_class) + (d !== null ? " · " + Math.round(d) + " m" : "");
      chosen.clearLayers();
      L.geoJSON(feature, { style: { color: "#00e5ff", weight: 10, opacity: 0.6 } }).addTo(chosen);
      L.geoJSON(feature, { style: { color: "#0d47a1", weight: 4 } }).addTo(chosen);
    } else if (kind === "wo_close") {
      fields = "<label>" + esc(S.note) + " <textarea name='note' rows='2'></textarea></label>";
      subtitle = p.title;
    }
    $("form-title").textContent = title;
    $("form-subtitle").textContent = subtitle;
    $("form-fields").innerHTML = fields;
    $("record-form").photo.value = "";
    $("form-error").hidden = true;
    $("form-dialog").dataset.kind = kind;
    $("form-dialog").showModal();
  }
  $("btn-new-pju").addEventListener("click", function () { openForm("pju_create", null); });
  function nearestRoadForm(kind) {
    var nearest = byDistance(state.roads)[0];
    if (!nearest) { toast(S.nothing_nearby); return; }
    openForm(kind, nearest.f);
  }
  $("btn-road-damage").addEventListener("click", function () { nearestRoadForm("road_update"); });
  $("btn-road-survey").addEventListener("click", function () { nearestRoadForm("road_survey"); });
  $("form-cancel").addEventListener("click", function () { $("form-dialog").close(); });
  /* The road a record is about: highlighted while its form is open. */
  var chosen = L.layerGroup().addTo(map);
  $("form-dialog").addEventListener("close", function () { chosen.clearLayers(); });

  function shrinkPhoto(file) {
    /* Phone photos are large: store and send at most PHOTO_MAX_PX on the long side. */
    if (!window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, PHOTO_MAX_PX / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.type === "image/jpeg") return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale); canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(function (b) { resolve(b || file); }, "image/jpeg", 0.85); });
    }).catch(function () { return file; });
  }
  /* The server closes an order only within close_radius_m of the asset: say so before queuing. */
  function tooFar(order, fix) {
    // Point assets only (a PJU, a proposed pole): for a road the server measures to the whole line.
    if (!order || !order.geometry || order.geometry.type !== "Point" || !fix) return "";
    if (order.properties && ["broken_pju", "proposed_pju"].indexOf(order.properties.kind) < 0) return "";
    var d = distanceTo(order, fix);
    if (d === null || d <= cfg.close_radius_m) return "";
    return S.too_far.replace("{dist}", Math.round(d)).replace("{max}", Math.round(cfg.close_radius_m));
  }
  /* A fresh GPS fix (never a cached one): for retrying a close. */
  function freshFix(after) {
    // The watched position counts when it was taken after `after` (the failed record's fix).
    var watched = function () { return state.fix && (!after || state.fix.taken_at > after) ? state.fix : null; };
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(watched()); return; }
      navigator.geolocation.getCurrentPosition(function (pos) { onFix(pos); resolve(state.fix); },
        function () { resolve(watched()); }, { enableHighAccuracy: true, maximumAge: 0, timeout: 15000 });
    });
  }
  function numberOrNull(v) { return v === "" || v === undefined ? null : Number(v); }

  $("record-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target, kind = current.kind, f = current.feature;
    var file = form.photo.files[0];
    if (!file) { $("form-error").textContent = S.photo_required; $("form-error").hidden = false; return; }
    var read = null;
    if (kind === "road_survey") {
      var values = {};
      ["crack_area_pct", "crack_width_mm", "potholes_per_100m", "rut_depth_cm", "iri", "surveyed_on", "notes"].forEach(function (name) {
        values[name] = form.elements[name].value;
      });
      read = readSurvey(values, cfg.survey, localDate());
      if (read.errors.length) {
        $("form-error").textContent = S.survey_invalid + ": " + read.errors.map(function (n) { return F[n] || n; }).join(", ");
        $("form-error").hidden = false;
        return;
      }
    }
    var needsFix = kind === "pju_create" || kind === "wo_close";
    if (needsFix && !state.fix) { $("form-error").textContent = S.no_position; $("form-error").hidden = false; return; }
    if (kind === "wo_close") {
      var far = tooFar(f, state.fix);
      if (far) { $("form-error").textContent = far; $("form-error").hidden = false; return; }  // refused before anything is queued
    }
    if (state.fix && state.fix.accuracy_m > cfg.max_accuracy_m) {
      var msg = S.poor_fix.replace("{acc}", Math.round(state.fix.accuracy_m)).replace("{max}", cfg.max_accuracy_m);
      if (!window.confirm(msg)) return;
    }
    var fix = state.fix ? Object.assign({}, state.fix) : null;
    var record = { kind: kind, fix: fix };
    if (kind === "pju_create" || kind === "pju_update") {
      record.layer = "pju";
      record.properties = {
        status: form.status.value, lamp_type: form.lamp_type.value,
        wattage_w: numberOrNull(form.wattage_w.value), pole_height_m: numberOrNull(form.pole_height_m.value),
        controller_id: form.controller_id.value.trim(),  // issue 16: the smart-light controller ("" = none)
      };
      if (kind === "pju_create") record.geometry = { type: "Point", coordinates: [fix.lon, fix.lat] };
    } else if (kind === "road_update") {
      record.layer = "roads";
      record.properties = { condition: form.condition.value };
    } else if (kind === "road_survey") {
      record = surveyRecord(f, read, fix);
    } else {
      record.layer = "work-orders";
      record.orderGeometry = f.geometry;
      record.orderKind = f.properties.kind;
      record.note = form.note.value;
      record.status = f.properties.status;
      record.title = f.properties.title;
    }
    if (f) {
      record.featureId = f.id;
      record.baseVersion = f.properties.version;
      record.before = f.properties;
      record.label = f.properties.code || f.properties.name || f.properties.title || "#" + f.id;
    }
    shrinkPhoto(file).then(function (blob) {
      record.photos = [{ blob: blob, name: file.name }];
      return Q.add(record);
    }).then(function () {
      $("form-dialog").close();
      toast(S.saved_offline);
      if (navigator.onLine) syncAndRefresh();
    }).catch(function (err) {
      $("form-error").textContent = String(err); $("form-error").hidden = false;
    });
  });

  /* ---------- queue view ---------- */
  var KIND_TEXT = { pju_create: S.new_pju, pju_update: S.update_pju, road_update: S.road_damage, road_survey: S.survey, wo_close: S.close_wo };
  var STATE_TEXT = { pending: S.pending, sent: S.sent, conflict: S.conflict, failed: S.failed };
  function valuesTable(mine, server) {
    var rows = Object.keys(mine || {}).map(function (k) {
      var a = mine[k], b = server ? server[k] : "";
      return "<tr" + (String(a) !== String(b) ? " class='diff'" : "") + "><th>" + esc(F[k] || k) + "</th><td>" + esc(label(k, a)) + "</td><td>" + esc(label(k, b)) + "</td></tr>";
    }).join("");
    return "<table class='values'><tr><th></th><th>" + esc(S.my_values) + "</th><th>" + esc(S.server_values) + "</th></tr>" + rows + "</table>";
  }
  /* Server refusals in the officer's language (the server's English text stays in the tooltip). */
  function errorText(r) {
    var fields = r.errorFields || [];
    if (r.errorStatus === 409) return S.server_refused + ": " + S.err_state;
    if (fields.indexOf("photo") >= 0 || fields.indexOf("image") >= 0) return S.server_refused + ": " + S.err_photo;
    if (fields.indexOf("position") >= 0 || fields.indexOf("lon") >= 0 || fields.indexOf("lat") >= 0 || fields.indexOf("distance") >= 0 || /\bm\b.*(asset|away|from)|distance/i.test(r.error || "")) {
      return S.server_refused + ": " + S.err_distance;
    }
    return S.server_refused;
  }
  /* Retry: a close is sent again with a fresh GPS fix, checked against the distance first. */
  function retryRecord(r) {
    if (r.kind !== "wo_close") return Q.retry(r.id).then(refreshAfter);
    toast(S.retry_fix);
    return freshFix(r.fix && r.fix.taken_at).then(function (fix) {
      if (!fix) { toast(S.no_position); return null; }
      var order = { geometry: r.orderGeometry, properties: { kind: r.orderKind } };
      var far = tooFar(order, fix);
      if (far) { toast(far); return null; }
      return Q.retry(r.id, { fix: Object.assign({}, fix) }).then(refreshAfter);
    });
  }
  function refreshAfter(result) {
    if (result && result.sent && state.fix) loadNearby(L.latLng(state.fix.lat, state.fix.lon));
    return result;
  }
  function syncAndRefresh() { return Q.sync().then(refreshAfter); }
  function renderQueue() {
    return Q.all().then(function (rows) {
      var pending = rows.filter(function (r) { return r.state === "pending"; }).length;
      var open = rows.filter(function (r) { return r.state !== "sent"; }).length;
      $("pending").textContent = pending;
      $("pending").dataset.count = pending;
      $("queue-count").textContent = open ? "(" + open + ")" : "";
      var ul = $("queue");
      ul.innerHTML = "";
      queueLayer.clearLayers();
      rows.forEach(function (r) {
        if (r.state === "sent" || !r.fix) return;
        var c = r.geometry ? r.geometry.coordinates : [r.fix.lon, r.fix.lat];
        L.circleMarker([c[1], c[0]], { radius: 8, color: r.state === "conflict" || r.state === "failed" ? "#b71c1c" : "#e65100",
          weight: 3, dashArray: "3,3", fill: true, fillOpacity: 0.15 })
          .bindTooltip(esc(KIND_TEXT[r.kind]) + " · " + esc(STATE_TEXT[r.state] || r.state)).addTo(queueLayer);
      });
      if (!rows.length) { ul.innerHTML = "<li class='muted'>" + esc(S.all_sent) + "</li>"; }
      rows.slice().reverse().forEach(function (r) {
        var li = document.createElement("li");
        li.className = "item record state-" + r.state;
        li.dataset.id = r.id; li.dataset.state = r.state; li.dataset.kind = r.kind;
        var photos = r.photos.length ? " · " + S.photo + " " + r.photos.filter(function (p) { return p.sent; }).length + "/" + r.photos.length : "";
        var what = r.kind === "road_survey" ? resultText(r.result, label)
          : r.properties && r.properties.status ? label("status", r.properties.status)
          : r.properties && r.properties.condition ? label("condition", r.properties.condition) : "";
        var html = "<div><b>" + esc(KIND_TEXT[r.kind]) + "</b> " + esc(r.label || "") + (what ? " · " + esc(what) : "") + " <span class='badge state'>" + esc(STATE_TEXT[r.state] || r.state) + "</span><br><small>" +
          esc(new Date(r.createdAt).toLocaleString()) + photos + (r.serverId ? " · id " + esc(r.serverId) : "") + "</small>";
        if (r.error && r.state !== "conflict") html += "<br><small class='error' title='" + esc(r.error) + "'>" + esc(r.authProblem ? S.login_again : errorText(r)) + "</small>";
        if (r.state === "conflict") {
          var server = r.current && r.current.properties;
          html += "<p class='conflict-msg'>" + esc(S.conflict_msg.replace("{server}", server ? server.version : "?").replace("{mine}", r.baseVersion)) + "</p>" + valuesTable(r.properties, server);
          html += "<button type='button' class='keep-mine'>" + esc(S.keep_mine) + "</button> <button type='button' class='discard'>" + esc(S.discard) + "</button>";
        }
        if (r.state === "failed") html += "<button type='button' class='retry'>" + esc(S.sync_now) + "</button> <button type='button' class='discard'>" + esc(S.discard) + "</button>";
        li.innerHTML = html + "</div>";
        var keep = li.querySelector(".keep-mine"), drop = li.querySelector(".discard"), retry = li.querySelector(".retry");
        if (keep) keep.addEventListener("click", function () { Q.resolveKeepMine(r.id); });
        if (drop) drop.addEventListener("click", function () { Q.discard(r.id); });
        if (retry) retry.addEventListener("click", function () { retryRecord(r); });
        ul.appendChild(li);
      });
      document.body.dataset.pending = pending;
      document.body.dataset.conflicts = rows.filter(function (r) { return r.state === "conflict"; }).length;
    });
  }
  Q.onChange(function () { renderQueue(); });

  /* ---------- tabs, network state, sync triggers ---------- */
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".tabs button").forEach(function (x) { x.setAttribute("aria-selected", x === b ? "true" : "false"); });
      document.querySelectorAll(".tab").forEach(function (t) { t.hidden = t.id !== "tab-" + b.dataset.tab; });
    });
  });
  function netState() {
    var on = navigator.onLine;
    $("net").textContent = on ? S.online : S.offline;
    $("net").dataset.online = on ? "1" : "0";
    document.body.classList.toggle("offline", !on);
  }
  window.addEventListener("online", function () { netState(); syncAndRefresh(); if (state.fix) loadNearby(L.latLng(state.fix.lat, state.fix.lon)); });
  window.addEventListener("offline", netState);
  $("sync").addEventListener("click", function () { syncAndRefresh(); });
  $("save-area").addEventListener("click", saveArea);
  document.querySelector(".lang select").addEventListener("change", function () { this.form.submit(); });
  setInterval(function () { if (navigator.onLine && document.body.dataset.pending !== "0") syncAndRefresh(); }, 20000);
  netState();
  renderQueue().then(function () { if (navigator.onLine) syncAndRefresh(); });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.urls.sw, { scope: "./" }).catch(function (err) { console.warn("service worker:", err); });
  }
  window.GPField = { state: state, openForm: openForm, renderQueue: renderQueue, sync: syncAndRefresh, saveArea: saveArea, retry: retryRecord };
})();
