/* geo_platform field app service worker (scope /field/), version {{ version }}.
 * - app shell (page, scripts, styles, icons): cached at install, served
 *   cache-first for static files and network-first for the page;
 * - GET /tiles/…, /imagery/…, /media/…: network-first, the last answer kept
 *   for offline use (the officer's area: imagery and vector tiles, photos);
 * - /api/… is not intercepted: the page keeps its last nearby lists and work
 *   orders itself (localStorage), so a request racing a network change fails
 *   plainly instead of being answered by a stale copy;
 * - writes (POST/PATCH) are never touched: the page's IndexedDB queue
 *   (field-queue.js) owns them, so nothing depends on service-worker replay. */
"use strict";
var VERSION = "{{ version }}";
var SHELL_CACHE = "gp-field-shell-" + VERSION;
var DATA_CACHE = "gp-field-data";
var SHELL = {{ shell|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("gp-field-shell-") === 0 && k !== SHELL_CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request, cacheName) {
  return fetch(request).then(function (response) {
    if (response && response.ok && !response.redirected) {  // never keep the login page in place of the app
      var copy = response.clone();
      caches.open(cacheName).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || new Response(JSON.stringify({ detail: "offline", errors: { network: ["offline"] } }), { status: 503, headers: { "Content-Type": "application/json" } });
    });
  });
}
function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (response && response.ok) { var copy = response.clone(); caches.open(SHELL_CACHE).then(function (c) { c.put(request, copy); }); }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) { event.respondWith(cacheFirst(request)); return; }
  if (request.mode === "navigate" || url.pathname === "{% url 'field' %}") { event.respondWith(networkFirst(request, SHELL_CACHE)); return; }
  if (/^\/(tiles|imagery|media)\//.test(url.pathname)) { event.respondWith(networkFirst(request, DATA_CACHE)); return; }
});
