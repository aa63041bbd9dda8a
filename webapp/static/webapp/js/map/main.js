/* Planner map (/map/): what folium has no element for. folium's page calls
 * GP.initMap(map) (the classic bootstrap webapp/map.js keeps the call until
 * this module has loaded); the configuration is the page's json_script
 * (#page-config), checked against MAP_REQUIRED. Pieces: layers.js (vector
 * tiles from the registry), ../vectorgrid.js (the one adapter to
 * VectorGrid: hit test, restyle), popups.js, toolbar.js (search),
 * estimate.js, legend.js, live.js (issue 16 recolouring).
 * Hooks for other modules (map-needs.js, reports/map-reports.js):
 *   GP.whenReady(fn)                 fn(map, cfg) once the map is built
 *   GP.styles[styleName] = fn(p, z)  replace or add a feature style
 *   GP.popupExtras.push(fn)          fn(def, props, full) → extra HTML for a popup
 *   GP.legendExtras.push(fn)         fn() → extra legend HTML
 *   GP.refreshLayer(name)            re-request a tile layer after a change */
import { MAP_REQUIRED, checkConfig, readConfig } from "../config.js";
import { esc, fmt } from "../format.js";
import { labeller } from "../i18n.js";
import { hitTest, isVectorGrid } from "../vectorgrid.js";
import { createEstimatePanel } from "./estimate.js";
import { createLayers } from "./layers.js";
import { legendHtml } from "./legend.js";
import { followLive } from "./live.js";
import { createPopups } from "./popups.js";
import { createToolbar } from "./toolbar.js";

const GP = (window.GP = window.GP || {});
const L = window.L;

function initMap(map, given) {
  const cfg = checkConfig(given || readConfig("page-config"), MAP_REQUIRED);
  const S = cfg.strings;
  const label = labeller(cfg.codes);
  let drawing = false;
  GP.cfg = cfg;
  GP.map = map;
  const kecByCode = {};
  for (const k of cfg.kecamatan) kecByCode[k.code] = k;
  GP.fitBbox = (b, opts) => { map.fitBounds([[b[1], b[0]], [b[3], b[2]]], Object.assign({ animate: false }, opts || {})); };

  /* ---------- the first view: #zoom/lat/lon, else the city (CITY_HOME), else all data ---------- */
  const hashView = /^#(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(location.hash);
  if (hashView) map.setView([parseFloat(hashView[2]), parseFloat(hashView[3])], parseInt(hashView[1], 10), { animate: false });
  else GP.fitBbox(cfg.home || cfg.bounds);

  /* ---------- which overlays are on: ?layers=a,b in the address (kept across a language switch) ---------- */
  const params = new URLSearchParams(location.search);
  const wanted = params.has("layers") ? params.get("layers").split(",").filter(Boolean) : null;
  const { overlays, ordered } = createLayers(L, map, cfg, GP, wanted);

  /* ---------- base layers: OSM (when BASEMAP_URL is set), city imagery, none ---------- */
  const bases = {};
  const none = L.layerGroup();
  map.eachLayer((l) => { if (l instanceof L.TileLayer && !isVectorGrid(L, l)) bases[S.basemap_osm] = l; });
  bases[S.no_basemap] = none;
  if (!cfg.basemap) none.addTo(map);
  const osm = bases[S.basemap_osm];
  let cityImagery = null, osmLoaded = false, osmErrors = 0;
  if (osm) {
    /* OSM where reachable, the city's own imagery otherwise (a city intranet). */
    osm.on("tileload", () => { osmLoaded = true; });
    osm.on("tileerror", () => {
      osmErrors += 1;
      if (!osmLoaded && osmErrors >= 4 && map.hasLayer(osm)) {
        map.removeLayer(osm);
        (cityImagery || none).addTo(map);
        if (cityImagery) showNote(S.basemap_failed);
      }
    });
  }
  function showNote(text) {
    const note = L.control({ position: "bottomleft" });
    note.onAdd = () => { const d = L.DomUtil.create("div", "gp-note leaflet-bar"); d.setAttribute("role", "status"); return d; };
    note.addTo(map);
    note.getContainer().textContent = text;
    setTimeout(() => note.remove(), 6000);
  }
  GP.showNote = showNote;
  const narrow = map.getSize().x < 700;  // a phone: panels start folded so the map stays visible
  GP.narrow = narrow;
  const control = L.control.layers(bases, overlays, { collapsed: narrow, position: "topright" }).addTo(map);
  control.getContainer().classList.add("gp-layer-control");
  control.getContainer().setAttribute("aria-label", S.layers);
  GP.layerControl = control;

  /* ---------- imagery: footprints and tiles from the catalogue ---------- */
  fetch(cfg.urls.imagery, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((fc) => {
    if (!fc || !fc.features || !fc.features.length) return;
    const footprints = L.geoJSON(fc, {
      style: { color: "#e7298a", weight: 2, fill: false, dashArray: "4,4" },
      onEachFeature: (f, lyr) => {
        const p = f.properties || {};
        lyr.bindPopup("<b>" + esc(p.name || S.imagery) + "</b><br>" + esc(p.kind) + " · " + esc(p.captured_on || "") + (p.gsd_m ? " · " + fmt(p.gsd_m) + " m" : ""));
      },
    });
    control.addOverlay(footprints, '<span class="gp-swatch" style="color:#e7298a" aria-hidden="true">▭</span> ' + esc(S.footprints));
    let firstImage = null;
    for (const f of fc.features) {
      const p = f.properties || {};
      const b = L.geoJSON(f).getBounds();
      const tiles = L.tileLayer(cfg.urls.imagery_tiles.replace("{id}", f.id), { bounds: b, maxZoom: 22, maxNativeZoom: 21, attribution: esc(p.name || "") });
      const name = esc(S.imagery) + ": " + esc(p.name || f.id) + " (" + esc(p.kind) + ")";
      if (p.kind === "orthophoto" || p.kind === "satellite" || p.kind === "drone") {
        control.addBaseLayer(tiles, name);
        if (!firstImage && map.getBounds().intersects(b)) firstImage = tiles;  // the city's own imagery in view
      } else {
        control.addOverlay(tiles, name);
      }
    }
    cityImagery = firstImage;
    if (firstImage && (!cfg.basemap || (osm && !map.hasLayer(osm)))) { map.removeLayer(none); firstImage.addTo(map); }
  }).catch(() => { /* no imagery offline: nothing to add */ });

  /* ---------- legend ---------- */
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = L.DomUtil.create("div", "gp-legend leaflet-bar");
    div.setAttribute("role", "region");
    div.setAttribute("aria-label", S.legend);
    div.innerHTML = legendHtml({ cfg, GP, label, open: !narrow });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);
  GP.refreshLegend = () => { legend.getContainer().innerHTML = legendHtml({ cfg, GP, label, open: !narrow }); };

  /* ---------- popups, estimate panel, toolbar ---------- */
  const popups = createPopups({ L, map, cfg, GP, label, kecByCode });
  GP.showFeature = popups.showFeature;
  const estimate = createEstimatePanel({ L, map, cfg, GP, featureUrl: popups.featureUrl });
  GP.computeEstimate = estimate.compute;
  GP.selectRoads = estimate.selectRoads;
  const shownLayers = () => cfg.layers.filter((d) => map.hasLayer(GP.layers[d.name])).map((d) => d.name);
  createToolbar({ L, map, cfg, GP, showFeature: popups.showFeature, selectRoads: estimate.selectRoads, shownLayers });
  GP.zoomToKecamatan = (code) => { const k = kecByCode[code]; if (k) GP.fitBbox(k.bbox); return !!k; };

  /* ---------- clicks: hit-tested across all visible tile layers, top first ---------- */
  GP.hitTest = (latlng) => hitTest(ordered, map, latlng);
  map.on("click", (e) => {
    if (drawing) return;
    const hit = GP.hitTest(e.latlng);
    if (!hit) return;
    if (hit.properties.count !== undefined) { map.setView(e.latlng, Math.min(map.getZoom() + 2, 22)); return; }
    popups.showFeature(hit.layer.gpDef.api, hit.id, e.latlng, hit.properties, hit.layer.gpDef);
  });
  map.on("draw:drawstart", () => { drawing = true; });
  map.on("draw:drawstop", () => { setTimeout(() => { drawing = false; }, 0); });

  /* ---------- issue 16: live recolouring ---------- */
  followLive({ map, GP });

  /* Shareable view: #zoom/lat/lon in the address (set on every move; read at the top). */
  function keepView() {
    const c = map.getCenter();
    history.replaceState(null, "", location.pathname + location.search + "#" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
  }
  map.on("moveend", keepView);
  keepView();  // the first view is shareable too
  GP.ready = true;
  for (const fn of GP._readyCallbacks.splice(0)) { try { fn(map, cfg); } catch (e) { console.error(e); } }
  document.dispatchEvent(new CustomEvent("gp:ready"));
}

GP._start = initMap;
if (GP._pending) initMap(...GP._pending);
