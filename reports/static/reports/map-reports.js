/* Citizen reports on the planner map (issue 17; the map itself is
 * webapp/static/webapp/map.js). Hooks in with GP.whenReady to add two overlays to the
 * layer control — open reports, overdue reports only — and a "new reports"
 * button listing the dispatcher's inbox (/api/reports/?new=1) with photos.
 * Data is fetched only when an overlay is switched on or the list opened. */
(function () {
  "use strict";
  var GP = (window.GP = window.GP || {});
  if (!GP.whenReady || !window.L) return;
  var EN = (document.documentElement.lang || "id").indexOf("en") === 0;
  var T = EN
    ? { open: "Citizen reports (open)", overdue: "Citizen reports — overdue", inbox: "New reports", none: "No new reports", due: "due" }
    : { open: "Laporan warga (terbuka)", overdue: "Laporan warga — terlambat", inbox: "Laporan baru", none: "Tidak ada laporan baru", due: "target" };

  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }

  function popup(p, id) {
    var photos = (p.photos || []).map(function (u) { return "<img src='" + esc(u) + "' style='max-width:160px;display:block'>"; }).join("");
    return "<b>#" + id + " " + esc(p.service_name) + "</b><br>" + esc(p.description) +
      "<br>" + T.due + ": " + esc(p.expected_datetime) + (p.overdue ? " <b style='color:#b71c1c'>!</b>" : "") + photos;
  }

  function reportLayer(url) {
    var group = L.layerGroup();
    group.on("add", function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { features: [] }; }).then(function (data) {
        group.clearLayers();
        data.features.forEach(function (f) {
          var p = f.properties, ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          L.circleMarker(ll, { radius: 7, weight: 2, color: "#000", fillOpacity: 0.9, fillColor: p.overdue ? "#b71c1c" : "#ff9800" })
            .bindPopup(popup(p, f.id)).addTo(group);
        });
      });
    });
    return group;
  }

  function inbox(map) {
    var Control = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-bar gp-reports-inbox");
        box.style.background = "#fff";
        box.innerHTML = "<a href='#' role='button' style='width:auto;padding:0 6px'>" + T.inbox + "</a><div class='list' hidden style='max-height:50vh;overflow:auto;padding:4px;max-width:260px'></div>";
        L.DomEvent.disableClickPropagation(box);
        var list = box.querySelector(".list");
        box.querySelector("a").addEventListener("click", function (e) {
          e.preventDefault();
          if (!list.hidden) { list.hidden = true; return; }
          fetch("/api/reports/?new=1&limit=50", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { features: [] }; }).then(function (data) {
            list.innerHTML = data.features.length ? "" : esc(T.none);
            data.features.forEach(function (f) {
              var item = document.createElement("div");
              item.innerHTML = popup(f.properties, f.id);
              item.style.cursor = "pointer";
              item.addEventListener("click", function () { map.setView([f.geometry.coordinates[1], f.geometry.coordinates[0]], 18, { animate: false }); });
              list.appendChild(item);
            });
            list.hidden = false;
          });
        });
        return box;
      },
    });
    return new Control();
  }

  GP.whenReady(function (map, cfg) {  // issue 15: the map is an ES module now; hook in once it is built
    if (GP.layerControl) {
      GP.reportLayers = {
        open: reportLayer("/api/reports/?status=open&limit=5000"),
        overdue: reportLayer("/api/reports/?overdue=1&limit=5000"),
      };
      GP.layerControl.addOverlay(GP.reportLayers.open, T.open);
      GP.layerControl.addOverlay(GP.reportLayers.overdue, T.overdue);
    }
    if (cfg && cfg.user) inbox(map).addTo(map);
  });
})();
