/* Planner map bootstrap (classic script, loaded by folium before its own
 * inline script). The map itself is the ES module js/map/main.js; modules
 * run after the page is parsed, so GP.initMap here only keeps folium's call
 * until main.js takes it. What must happen synchronously stays here:
 * Leaflet.draw's texts (read when folium builds the Draw toolbar) and the
 * GP.whenReady hook other scripts register with. */
(function () {
  "use strict";
  var GP = (window.GP = window.GP || {});
  GP.styles = GP.styles || {};
  GP.popupExtras = GP.popupExtras || [];
  GP.legendExtras = GP.legendExtras || [];
  GP._readyCallbacks = GP._readyCallbacks || [];
  GP.whenReady = function (fn) { if (GP.ready) fn(GP.map, GP.cfg); else GP._readyCallbacks.push(fn); };
  GP.initMap = function (map, cfg) {
    if (GP._start) return GP._start(map, cfg);
    GP._pending = [map, cfg];
  };

  /* Leaflet.draw's texts in the page language (before its toolbar is built). */
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
})();
