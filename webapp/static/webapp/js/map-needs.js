/* "Where first?" on the planner map (ES module, hooks into map.js through
 * GP.whenReady / GP.popupExtras): kecamatan ranked by the summary's figures
 * (sortable, click to zoom, Musrenbang export), a choropleth of one figure,
 * and the summary in an area's popup. */
import { tileUrl } from "./config.js";
import { esc, fmt, getJson, lang } from "./format.js";

const COLUMNS = [  // [summary key, digits]
  ["broken_pju", 0], ["underlit_km", 2], ["proposed_pju", 0], ["estimated_cost", 0],
];
const SHADES = ["broken_pju", "underlit_km", "proposed_pju", "damaged_km", "estimated_cost", "working_pct", "kemantapan_pct"];
const RAMP = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];  // ColorBrewer OrRd, 5 classes
const POPUP_FIGURES = ["pju_count", "working_pct", "broken_pju", "underlit_km", "proposed_pju", "damaged_km", "kemantapan_pct", "estimated_cost"];

function cellText(key, value, digits) {
  if (value === null || value === undefined) return "–";
  if (key === "estimated_cost") {
    return "Rp " + Number(value).toLocaleString(lang(), { notation: "compact", maximumFractionDigits: 1 });
  }
  return fmt(value, digits);
}

export function rankAreas(areas, key, descending = true) {
  const sign = descending ? -1 : 1;
  return areas.slice().sort((a, b) => {
    const x = a[key] ?? -Infinity, y = b[key] ?? -Infinity;
    return x === y ? String(a.name).localeCompare(b.name) : (x < y ? -sign : sign);
  });
}

export function classBreaks(values, n = RAMP.length) {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!v.length) return [];
  return Array.from({ length: n - 1 }, (_, i) => v[Math.floor(((i + 1) * v.length) / n)]);
}

function colourFor(value, breaks) {
  if (value === null || value === undefined) return null;
  let i = 0;
  while (i < breaks.length && value >= breaks[i]) i += 1;
  return RAMP[Math.min(i, RAMP.length - 1)];
}

window.GP = window.GP || {};
const whenReady = (fn) => (window.GP.whenReady ? window.GP.whenReady(fn) : document.addEventListener("gp:ready", () => fn(window.GP.map, window.GP.cfg)));

whenReady(async (map, cfg) => {
  const GP = window.GP, L = window.L, S = cfg.strings, F = cfg.fields;
  let summary;
  try { summary = await getJson(cfg.urls.summary + "?level=kecamatan"); } catch (e) { return; }
  const areas = summary.areas.filter((a) => a.code);
  const byCode = Object.fromEntries(areas.map((a) => [a.code, a]));
  GP.summaryByCode = byCode;

  /* ---------- the area popup carries the area's summary ---------- */
  GP.popupExtras.push((def, props) => {
    if (!def || def.name !== "areas" || !byCode[props.code]) return "";
    const a = byCode[props.code];
    return "<table class='gp-props gp-area-summary'><caption>" + esc(S.summary) + "</caption>" + POPUP_FIGURES.map((k) =>
      "<tr><th scope='row'>" + esc(F[k] || k) + "</th><td data-field='" + k + "'>" + esc(cellText(k, a[k], 2)) + "</td></tr>").join("") + "</table>";
  });

  /* ---------- choropleth ---------- */
  const pane = map.createPane("gp-choropleth");
  pane.style.zIndex = 406;
  pane.classList.add("gp-vt-pane");
  let shadeKey = "", breaks = [], choropleth = null;
  function shadeStyle(p) {
    const a = byCode[p.code];
    const colour = p.level === "kecamatan" && a ? colourFor(a[shadeKey], breaks) : null;
    return colour ? { fill: true, fillColor: colour, fillOpacity: 0.6, color: "#5d4037", weight: 1 } : { fill: false, stroke: false, weight: 0 };
  }
  function setShade(key) {
    shadeKey = key;
    if (choropleth) { map.removeLayer(choropleth); choropleth = null; }
    legendEl.innerHTML = "";
    if (!key) return;
    breaks = classBreaks(areas.map((a) => a[key]));
    choropleth = L.vectorGrid.protobuf(tileUrl(cfg.urls.tiles, "areas"), {
      vectorTileLayerStyles: { areas: shadeStyle }, rendererFactory: L.canvas.tile, interactive: false, pane: "gp-choropleth", maxZoom: 22,
    }).addTo(map);
    GP.choropleth = choropleth;
    const edges = [null, ...breaks];
    legendEl.innerHTML = RAMP.map((c, i) => "<span><i style='background:" + c + "'></i>" + (edges[i] === null ? "&lt; " + esc(cellText(key, breaks[0], 1)) : "≥ " + esc(cellText(key, edges[i], 1))) + "</span> ").join("");
  }

  /* ---------- the ranked panel ---------- */
  let sortKey = "broken_pju", descending = true;
  const control = L.control({ position: "topleft" });
  let legendEl;
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "gp-needs leaflet-bar");
    div.setAttribute("role", "region");
    div.setAttribute("aria-label", S.needs_panel);
    const open = !GP.narrow;
    const exportAll = cfg.user ? "<a class='gp-export' href='" + esc(cfg.urls.export) + "?format=xlsx'>⬇ " + esc(S.export_musrenbang) + "</a>" : "";
    div.innerHTML = "<h4 id='gp-needs-title'>" + esc(S.needs_panel) + "</h4> <button type='button' class='gp-needs-toggle' aria-expanded='" + open + "' aria-controls='gp-needs-body'>" + esc(open ? S.hide_panel : S.show_panel) + "</button>" +
      "<div id='gp-needs-body'" + (open ? "" : " hidden") + "><div class='gp-needs-tools'><label>" + esc(S.choropleth) + " <select class='gp-shade'><option value=''>" + esc(S.none) + "</option>" +
      SHADES.map((k) => "<option value='" + k + "'>" + esc(F[k] || k) + "</option>").join("") + "</select></label>" + exportAll + "</div>" +
      "<div class='gp-choro-legend' aria-live='polite'></div><table aria-labelledby='gp-needs-title'><thead><tr><th scope='col'>" + esc(S.kecamatan) + "</th>" +
      COLUMNS.map(([k]) => "<th scope='col' data-key='" + k + "'><button type='button' class='gp-sort' data-key='" + k + "'>" + esc(k === "estimated_cost" ? S.cost : F[k] || k) + "</button></th>").join("") +
      "</tr></thead><tbody></tbody></table></div>";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  control.addTo(map);
  const panel = control.getContainer();
  legendEl = panel.querySelector(".gp-choro-legend");
  const tbody = panel.querySelector("tbody");
  function render() {
    panel.querySelectorAll("thead th[data-key]").forEach((th) => {
      th.setAttribute("aria-sort", th.dataset.key === sortKey ? (descending ? "descending" : "ascending") : "none");
    });
    tbody.innerHTML = rankAreas(areas, sortKey, descending).map((a) => "<tr data-code='" + esc(a.code) + "'><td><button type='button' class='gp-kec' data-code='" + esc(a.code) + "'>" + esc(a.name) + "</button>" +
      (cfg.user ? " <a href='" + esc(cfg.urls.export) + "?format=xlsx&area=" + encodeURIComponent(a.code) + "' aria-label='" + esc(S.export_musrenbang + ": " + a.name) + "'>⬇</a>" : "") + "</td>" +
      COLUMNS.map(([k, d]) => "<td data-key='" + k + "'>" + esc(cellText(k, a[k], d)) + "</td>").join("") + "</tr>").join("");
  }
  render();
  panel.querySelector("thead").addEventListener("click", (ev) => {
    const b = ev.target.closest(".gp-sort");
    if (!b) return;
    if (sortKey === b.dataset.key) descending = !descending; else { sortKey = b.dataset.key; descending = true; }
    render();
  });
  tbody.addEventListener("click", (ev) => {
    if (ev.target.closest("a")) return;
    const row = ev.target.closest("tr");
    if (row) GP.zoomToKecamatan(row.dataset.code);
  });
  panel.querySelector(".gp-shade").addEventListener("change", (ev) => setShade(ev.target.value));
  const toggle = panel.querySelector(".gp-needs-toggle"), body = panel.querySelector("#gp-needs-body");
  toggle.addEventListener("click", () => {
    body.hidden = !body.hidden;
    toggle.setAttribute("aria-expanded", String(!body.hidden));
    toggle.textContent = body.hidden ? S.show_panel : S.hide_panel;
  });
  GP.needsPanel = { render, setShade, sort: (k, desc = true) => { sortKey = k; descending = desc; render(); } };
  document.body.dataset.needsPanel = "ready";
});
