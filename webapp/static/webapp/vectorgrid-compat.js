/* Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop on clicks, which
 * Leaflet 1.8+ removed ("fakeStop is not a function", STACK.md pitfall 16).
 * Restore it as Leaflet 1.7 had it: mark the event as stopped so the map
 * does not also handle the click. The vendored VectorGrid file stays unchanged. */
(function () {
  if (window.L && L.DomEvent && typeof L.DomEvent.fakeStop !== "function") {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }
})();
