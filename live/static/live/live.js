/* Issue 16 (SPEC §7): the live stream for pages. Include this file and listen:
 *   window.addEventListener("geo:live", e => { const ev = e.detail; ... });
 * ev.type is "state" (a lamp's power state), "status" (PJU status → recolour the
 * PJU ev.pju), "alarm" (opened/cleared), "event" or "work_order". One EventSource
 * per page; the browser reconnects by itself (the server sends retry: 2000). */
(function () {
  "use strict";
  if (!window.EventSource || window.geoLive) return;
  var es = new EventSource("/api/live/");
  ["state", "status", "alarm", "event", "work_order"].forEach(function (type) {
    es.addEventListener(type, function (msg) {
      var detail;
      try { detail = JSON.parse(msg.data); } catch (err) { return; }
      window.dispatchEvent(new CustomEvent("geo:live", { detail: detail }));
    });
  });
  window.geoLive = es;
})();
