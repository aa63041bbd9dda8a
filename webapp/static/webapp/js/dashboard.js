/* Command centre (/dashboard/): the home page's figures, updated live. With
 * /api/live/ (the live network's Server-Sent Events) every event triggers a
 * refresh; without it the summary is polled every cfg.poll_ms. Nothing grows
 * without bound: charts are updated in place, the ticker keeps MAX_EVENTS. */
import { esc, figureText, getJson, pageConfig } from "./format.js";
import { chartSpecs, renderCharts } from "./charts.js";
import { tileUrl } from "./config.js";

const MAX_EVENTS = 30;
const cfg = pageConfig();
const S = cfg.strings;
const ticker = document.getElementById("ticker");
const liveState = document.getElementById("live-state");
const charts = {};
let previous = null;

/* ---------- figures ---------- */
function figureValues(summary, extra) {
  const values = { ...summary.totals };
  if (extra && extra.work_orders) {
    values.open_work_orders = ["open", "assigned", "in_progress"].reduce((n, s) => n + (extra.work_orders[s] || 0), 0);
  }
  return values;
}
function showFigures(values) {
  for (const li of document.querySelectorAll("#figures .figure")) {
    const key = li.dataset.figure;
    if (!(key in values)) continue;
    const v = values[key];
    const text = v === null || v === undefined ? "" : String(v);
    if (li.dataset.value === text) continue;
    li.dataset.value = text;
    li.querySelector(".figure-value").textContent = figureText(v, li.dataset.unit);
    li.classList.remove("changed");
    void li.offsetWidth;  // restart the highlight animation
    li.classList.add("changed");
  }
}

/* ---------- ticker: what changed since the last look ---------- */
function addEvent(text) {
  const li = document.createElement("li");
  const t = new Date().toLocaleTimeString(document.documentElement.lang || "id");
  li.innerHTML = "<time>" + esc(t) + "</time> " + esc(text);
  ticker.prepend(li);
  while (ticker.children.length > MAX_EVENTS) ticker.lastChild.remove();
}
function diffEvents(before, after, summary) {
  if (!before) return;
  const labels = {};
  for (const li of document.querySelectorAll("#figures .figure")) labels[li.dataset.figure] = li.querySelector(".figure-label").textContent;
  for (const key of Object.keys(labels)) {
    if (before[key] !== after[key] && key in after) {
      addEvent(labels[key] + ": " + figureText(before[key], "") + " → " + figureText(after[key], ""));
    }
  }
  const old = previous && previous.byCode;
  if (old) {
    for (const a of summary.areas) {
      const o = old[a.code];
      if (o && o.broken_pju !== a.broken_pju) addEvent(a.name + " · " + cfg.codes.status.damaged + "/" + cfg.codes.status.off + ": " + o.broken_pju + " → " + a.broken_pju);
    }
  }
}

/* ---------- the map of alarms ---------- */
let map = null;
const layers = [];
function initMap() {
  const L = window.L;
  if (!L || !L.vectorGrid) return;
  map = L.map("dash-map", { zoomControl: true, attributionControl: false, preferCanvas: true });
  const b = cfg.home;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { animate: false });
  const broken = (p) => ({ radius: 4, fill: true, fillColor: cfg.colours.status[p.status] || "#d7191c", fillOpacity: 0.95, color: "#ffffff", weight: 0.8 });
  const damaged = (p) => ({ color: cfg.colours.condition[p.condition] || "#d7191c", weight: 3, opacity: 0.9 });
  for (const [name, style, minZoom] of [["damaged_roads", damaged, 8], ["broken_pju", broken, 10]]) {
    const layer = L.vectorGrid.protobuf(tileUrl(cfg.urls.tiles, name), {
      vectorTileLayerStyles: { [name]: style }, rendererFactory: L.canvas.tile, interactive: false, minZoom, maxZoom: 22,
    }).addTo(map);
    layers.push(layer);
  }
}

/* ---------- refresh ---------- */
let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const [summary, extra] = await Promise.all([getJson(cfg.urls.summary), getJson(cfg.urls.extra)]);
    const values = figureValues(summary, extra);
    const changed = previous && JSON.stringify(previous.values) !== JSON.stringify(values);
    diffEvents(previous && previous.values, values, summary);
    showFigures(values);
    renderCharts(document.getElementById("charts"), chartSpecs(summary, extra, cfg).filter((s) => s.id === "pju_status" || s.id === "wo_status"), charts);
    if (changed) layers.forEach((l) => l.redraw());
    previous = { values, byCode: Object.fromEntries(summary.areas.map((a) => [a.code, a])) };
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    liveState.textContent = "● " + (source ? S.live : S.polling.replace("{s}", (cfg.poll_ms / 1000).toLocaleString(document.documentElement.lang)));
    liveState.classList.remove("lost");
  } catch (err) {
    liveState.textContent = S.connection_lost;
    liveState.classList.add("lost");
  } finally {
    busy = false;
  }
}

/* The cheap poll: one tiny query; the summary is fetched only when the data changed. */
let revision = null;
async function tick() {
  try {
    const r = await getJson(cfg.urls.revision);
    if (r.revision !== revision || !previous) {
      revision = r.revision;
      await refresh();
    }
  } catch (err) {
    liveState.textContent = S.connection_lost;
    liveState.classList.add("lost");
  }
}

/* Live: live/live.js holds the page's one EventSource and re-dispatches each of
 * its named events (source.gpEvents) as a `geo:live` window event. A burst of
 * events gives one refresh running and at most one more after it. */
let source = null, again = false;
async function onLive() {
  if (busy) { again = true; return; }
  await refresh();
  if (again) { again = false; await onLive(); }
}
function start() {
  if (cfg.urls.live_available && window.geoLive && Array.isArray(window.geoLive.gpEvents)) {
    source = window.geoLive;
    window.addEventListener("geo:live", onLive);
  }
  const loop = async () => {
    await tick();
    setTimeout(loop, cfg.poll_ms);
  };
  loop();
}
initMap();
if (!ticker.children.length) ticker.innerHTML = "";
start();
window.GPDashboard = { refresh, charts };
