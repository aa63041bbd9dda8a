/* The toolbar: search (road name or PJU code), zoom to a kecamatan / the
 * city / all data, language, log in/out. */
import { el, esc } from "../format.js";

export function createToolbar({ L, map, cfg, GP, showFeature, selectRoads, shownLayers }) {
  const S = cfg.strings;
  const bar = L.control({ position: "topleft" });
  bar.onAdd = () => {
    const div = L.DomUtil.create("div", "gp-toolbar leaflet-bar");
    let html = "<form class='gp-search' autocomplete='off' role='search'><input type='search' name='q' placeholder='" + esc(S.search) + "' aria-label='" + esc(S.search) + "'></form><ul class='gp-results' hidden></ul>";
    if (cfg.kecamatan.length) {
      html += "<select class='gp-kecamatan' aria-label='" + esc(S.zoom_kecamatan) + "'><option value=''>" + esc(S.zoom_kecamatan) + "</option>";
      cfg.kecamatan.forEach((k, i) => { html += "<option value='" + i + "'>" + esc(k.name) + "</option>"; });
      html += "</select>";
    }
    html += "<div class='gp-zoom-buttons'>" + (cfg.home ? "<button type='button' class='gp-zoom-city'>" + esc(S.zoom_city) + "</button>" : "") +
      "<button type='button' class='gp-zoom-data'>" + esc(S.zoom_data) + "</button></div>";
    const lang = cfg.language;
    html += "<form class='gp-lang' method='post' action='" + esc(lang.setlang) + "'><input type='hidden' name='csrfmiddlewaretoken' value='" + esc(cfg.csrf_token) + "'><input type='hidden' name='next' value='" + esc(lang.next) + "'><select name='language' aria-label='" + esc(S.language) + "'>";
    for (const l of lang.available) html += "<option value='" + esc(l[0]) + "'" + (l[0] === lang.current ? " selected" : "") + ">" + esc(l[1]) + "</option>";
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
  const barEl = bar.getContainer();
  /* The language switch keeps the view (#zoom/lat/lon) and the chosen layers (?layers=). */
  function addressWithLayers() {
    const q = new URLSearchParams(location.search);
    q.set("layers", shownLayers().join(","));
    return location.pathname + "?" + q.toString().replace(/%2C/g, ",") + location.hash;
  }
  barEl.querySelector(".gp-lang select").addEventListener("change", function () {
    this.form.next.value = addressWithLayers();
    this.form.submit();
  });
  map.on("overlayadd overlayremove", () => { history.replaceState(null, "", addressWithLayers()); });
  const zoomCity = barEl.querySelector(".gp-zoom-city");
  if (zoomCity) zoomCity.addEventListener("click", () => GP.fitBbox(cfg.home));
  barEl.querySelector(".gp-zoom-data").addEventListener("click", () => GP.fitBbox(cfg.bounds));
  const kec = barEl.querySelector(".gp-kecamatan");
  if (kec) kec.addEventListener("change", function () {
    const k = cfg.kecamatan[this.value];
    if (k) GP.fitBbox(k.bbox);  // a jump: never lost to a running animation
  });
  const results = barEl.querySelector(".gp-results");
  /* Search hits as markers that never take a click meant for the road underneath. */
  const hitMarkers = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40, zoomToBoundsOnClick: false });
  GP.searchMarkers = hitMarkers;
  barEl.querySelector(".gp-search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const q = this.q.value.trim();
    if (!q) return;
    fetch(cfg.urls.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then((r) => r.json())
      .then((data) => {
        results.innerHTML = "";
        results.hidden = false;
        const hits = data.results || [];
        hitMarkers.clearLayers();
        for (const h of hits) {
          const ll = h.bbox ? L.latLng((h.bbox[1] + h.bbox[3]) / 2, (h.bbox[0] + h.bbox[2]) / 2) : L.latLng(h.lat, h.lon);
          hitMarkers.addLayer(L.marker(ll, { title: h.label, interactive: false, keyboard: false, opacity: 0.8 }));
        }
        if (hits.length && !map.hasLayer(hitMarkers)) hitMarkers.addTo(map);
        if (!hits.length) { results.appendChild(el("li", {}, esc(S.no_results))); return; }
        for (const h of hits) {
          const li = el("li", { "class": "gp-hit gp-hit-" + h.kind });
          const go = el("button", { type: "button", "class": "gp-hit-go" },
            (h.kind === "pju" ? "💡 " : "🛣 ") + esc(h.label) + (h.segments ? " <small>(" + h.segments + ")</small>" : ""));
          go.addEventListener("click", () => {
            if (h.bbox) GP.fitBbox(h.bbox, { maxZoom: 17 });
            else { map.setView([h.lat, h.lon], 18, { animate: false }); showFeature("pju", h.id, L.latLng(h.lat, h.lon), {}); }
            results.hidden = true;
          });
          li.appendChild(go);
          if (h.kind === "road" && h.ids && h.ids.length) {
            const all = el("button", { type: "button", "class": "gp-add-all", title: S.add_all_segments }, "+ " + esc(S.add_all_segments));
            all.addEventListener("click", () => {
              GP.fitBbox(h.bbox, { maxZoom: 17 });
              selectRoads(h.ids.map(String));
              results.hidden = true;
            });
            li.appendChild(all);
          }
          results.appendChild(li);
        }
      });
  });
}
