/* The estimate panel: draw a line/polygon or select roads → POST
 * /api/estimates/ (RAB), with the XLSX download. */
import { csrf, el, esc, fmt } from "../format.js";

/** The body of POST /api/estimates/ for a drawn geometry or selected roads (pure). */
export function estimateBody(template, state, typedWidth) {
  const body = { template };
  if (state.geometry) {
    body.geometry = state.geometry;
    if (state.geometry.type === "LineString") body.width_m = typedWidth;
  } else {
    body.road_ids = state.roadIds.map(Number);
    if (typedWidth) body.width_m = typedWidth;  // the width shown is the width used
  }
  return body;
}

export function createEstimatePanel({ L, map, cfg, GP, featureUrl }) {
  const S = cfg.strings;
  const topPane = map.createPane("gp-selection");
  topPane.style.zIndex = 450;  // drawn lines and selected roads above every data layer
  const panel = L.control({ position: "bottomleft" });
  panel.onAdd = () => {
    const div = L.DomUtil.create("div", "gp-estimate leaflet-bar");
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
  const pEl = panel.getContainer();
  const form = pEl.querySelector(".gp-est-form"), resultEl = pEl.querySelector(".gp-est-result");
  const highlight = L.featureGroup().addTo(map);
  GP.selection = highlight;
  let state = { geometry: null, roadIds: [], drawn: null, names: {} };
  const templatesLoaded = fetch(cfg.urls.templates, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : [])).then((list) => {
    const sel = form.querySelector("select[name=template]");
    for (const t of list) sel.appendChild(el("option", { value: t.code }, esc(t.code + " — " + t.name)));
    return list;
  }).catch(() => []);

  function typedWidth() { const v = parseFloat(form.querySelector("input[name=width_m]").value); return v > 0 ? v : null; }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(cfg.csrf_token), Accept: url.indexOf("format=") >= 0 ? "*/*" : "application/json" },
      body: JSON.stringify(body),
    });
  }
  function compute() {
    if (!state.geometry && !state.roadIds.length) return;
    resultEl.innerHTML = "<p>" + esc(S.loading) + "</p>";
    const body = estimateBody(form.querySelector("select[name=template]").value, state, typedWidth());
    post(cfg.urls.estimates, body).then((r) => r.json().then((data) => ({ ok: r.ok, data }))).then((res) => {
      if (!res.ok) { resultEl.innerHTML = "<p class='gp-error'>" + esc(S.error) + ": " + esc(res.data.detail) + "</p>"; return; }
      const d = res.data;
      let html = "<table class='gp-est'><tr><th>" + esc(S.length) + "</th><td>" + fmt(d.length_m, 1) + " m</td></tr>" +
        (body.width_m ? "<tr><th>" + esc(S.width_m) + "</th><td class='gp-est-width'>" + fmt(body.width_m, 2) + " m</td></tr>" : "") +
        "<tr><th>" + esc(S.area) + "</th><td>" + fmt(d.area_m2, 1) + " m²</td></tr>" +
        "<tr><th>" + esc(S.subtotal) + "</th><td>" + fmt(d.subtotal, 0) + "</td></tr>" +
        "<tr><th>" + esc(S.overhead) + "</th><td>" + fmt(d.overhead, 0) + "</td></tr>" +
        "<tr><th>" + esc(S.tax) + "</th><td>" + fmt(d.tax, 0) + "</td></tr>" +
        "<tr class='gp-total'><th>" + esc(S.total) + "</th><td>" + esc(d.currency) + " " + fmt(d.total, 0) + "</td></tr></table>";
      html += "<details><summary>" + esc(S.items) + " (" + (d.items || []).length + ")</summary><table class='gp-items'>" + (d.items || []).map((it) =>
        "<tr><td>" + esc(it.code) + "</td><td>" + esc(it.description) + "</td><td>" + fmt(it.quantity) + " " + esc(it.unit) + "</td><td>" + fmt(it.amount, 0) + "</td></tr>").join("") + "</table></details>";
      html += "<a href='#' class='gp-xlsx' download='RAB_" + esc(body.template) + ".xlsx'>⬇ " + esc(S.download_xlsx) + "</a>";
      resultEl.innerHTML = html;
      resultEl.dataset.total = d.total;
      const link = resultEl.querySelector(".gp-xlsx");
      link.addEventListener("click", (ev) => {
        if (link.dataset.ready) return;  // the blob URL is set: let the browser download it
        ev.preventDefault();
        post(cfg.urls.estimates + "?format=xlsx", body).then((r) => {
          if (r.ok) return r.blob();
          return r.json().catch(() => ({})).then((e) => { throw new Error(e.detail || "HTTP " + r.status); });
        }).then((blob) => {
          link.href = URL.createObjectURL(blob);
          link.dataset.ready = "1";
          link.click();
        }).catch((err) => {  // e.g. exports need login: say so instead of saving an error as .xlsx
          resultEl.appendChild(el("p", { "class": "gp-error", role: "alert" }, esc(S.error) + ": " + esc(err.message)));
        });
      });
    }).catch((err) => { resultEl.innerHTML = "<p class='gp-error'>" + esc(S.error) + ": " + esc(err) + "</p>"; });
  }
  function showForm() {
    form.hidden = false;
    const list = form.querySelector(".gp-selected");
    list.innerHTML = "";
    if (state.roadIds.length) {
      const names = {};
      for (const id of state.roadIds) { const n = state.names[id] || "…"; names[n] = (names[n] || 0) + 1; }
      for (const n of Object.keys(names)) list.appendChild(el("li", {}, esc(n) + (names[n] > 1 ? " <small>(" + names[n] + ")</small>" : "")));
      list.setAttribute("aria-label", S.selected_roads);
    }
  }
  /* Selected roads: highlighted above the layers, listed by name. */
  function selectRoads(ids) {
    if (state.geometry) clearEstimate();
    const added = ids.filter((id) => state.roadIds.indexOf(id) < 0);
    state.roadIds = state.roadIds.concat(added);
    showForm();
    const loads = added.map((id) => fetch(featureUrl("roads", id), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((f) => {
        if (!f) return;
        state.names[id] = (f.properties && f.properties.name) || S.unnamed_road;
        L.geoJSON(f, { pane: "gp-selection", interactive: false, style: { color: "#00e5ff", weight: 9, opacity: 0.55 } }).addTo(highlight);
        L.geoJSON(f, { pane: "gp-selection", interactive: false, style: { color: "#0d47a1", weight: 3, opacity: 1 } }).addTo(highlight);
      }).catch(() => {}));
    Promise.all(loads).then(showForm);
    map.closePopup();
    return templatesLoaded.then(compute);
  }
  function clearEstimate() {
    if (state.drawn) map.removeLayer(state.drawn);
    highlight.clearLayers();
    state = { geometry: null, roadIds: [], drawn: null, names: {} };
    form.hidden = true;
    resultEl.innerHTML = "";
  }
  form.querySelector(".gp-compute").addEventListener("click", compute);
  form.querySelector(".gp-clear").addEventListener("click", clearEstimate);
  form.querySelector("input[name=width_m]").addEventListener("change", () => { if (resultEl.innerHTML) compute(); });
  map.on("draw:created", (e) => {
    if (state.drawn) map.removeLayer(state.drawn);
    highlight.clearLayers();
    const gj = e.layer.toGeoJSON();
    state.drawn = L.geoJSON(gj, { pane: "gp-selection", interactive: false, style: { color: "#6a1b9a", weight: 5, opacity: 0.95 } }).addTo(map);
    state.geometry = gj.geometry;
    state.roadIds = [];
    state.names = {};
    showForm();
    templatesLoaded.then(compute);
  });
  /* Delegated: the popup's content is replaced once the full feature arrives. */
  map.getContainer().addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest(".gp-select-road");
    if (btn) selectRoads([btn.dataset.id]);
  });
  return { compute, selectRoads, clearEstimate };
}
