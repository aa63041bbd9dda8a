/* Issue 16 (SPEC §7): the live stream for pages. Include this file and listen:
 *   window.addEventListener("geo:live", e => { const ev = e.detail; ... });
 * ev.type is "state" (a lamp's power state), "status" (PJU status → recolour the
 * PJU ev.pju), "alarm" (opened/cleared), "event" or "work_order". One EventSource
 * per page; the browser reconnects by itself (the server sends retry: 2000). */
(function () {
  "use strict";
  var EVENTS = ["state", "status", "alarm", "event", "work_order"];  // the stream's event names (SPEC §7)
  if (!window.EventSource || window.geoLive) return;
  var script = document.currentScript;
  var es = new EventSource((script && script.dataset.url) || "/api/live/");
  es.gpEvents = EVENTS;  // pages read the names from here (the dashboard does) instead of guessing
  EVENTS.forEach(function (type) {
    es.addEventListener(type, function (msg) {
      var detail;
      try { detail = JSON.parse(msg.data); } catch (err) { return; }
      window.dispatchEvent(new CustomEvent("geo:live", { detail: detail }));
    });
  });
  window.geoLive = es;
})();
