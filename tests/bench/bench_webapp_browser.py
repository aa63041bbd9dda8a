"""The planner map in Debian's chromium on the demo city (≈137,000 PJU,
18,574 roads): time from navigation until the default tile layers are drawn,
at the initial view and at a street zoom (z16) in central Jakarta.

Floor: a bare page with only Leaflet + VectorGrid drawing the same three tile
layers from the same server at the same view (served at the same origin by
Playwright's router), measured interleaved in the same run. The server is a
`manage.py runserver` subprocess of its own (no basemap)."""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 5
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FLOOR_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script src="/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"></script>
<style>html,body,#m{height:100%;margin:0}</style></head><body><div id="m"></div><script>
var map = L.map('m', {preferCanvas: true});
var view = JSON.parse(decodeURIComponent(location.hash.slice(1)));
window.layers = ['areas', 'roads', 'pju'].map(function (name) {
  var styles = {}; styles[name] = {radius: 3, weight: 2, fill: true};
  return L.vectorGrid.protobuf('/tiles/' + name + '/{z}/{x}/{y}.pbf', {vectorTileLayerStyles: styles, rendererFactory: L.canvas.tile, minZoom: view.minzoom[name]});
});
map.setView(view.center, view.zoom);
window.layers.forEach(function (l) { l.addTo(map); });
</script></body></html>"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _all_drawn(page, names_js: str, timeout_ms: int = 60000) -> None:
    page.wait_for_function(f"() => {names_js}.every(l => l._map && !l.isLoading())", timeout=timeout_ms)


def run() -> list[dict]:
    from playwright.sync_api import sync_playwright

    from layers.tiles import TILE_LAYERS

    port = _free_port()
    env = {**os.environ, "BASEMAP_URL": "", "DJANGO_DEBUG": "1", "LOG_LEVEL": "ERROR"}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/map/", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        minzoom = {n: TILE_LAYERS[n].minzoom for n in ("areas", "roads", "pju")}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for label, target in (("initial view (city extent)", None), ("street view z16, central Jakarta", ([-6.1754, 106.8272], 16))):
                ours, floor, tiles = [], [], []
                for _ in range(ROUNDS):
                    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = ctx.new_page()
                    requested = []
                    page.on("request", lambda r: requested.append(r.url) if "/tiles/" in r.url else None)
                    t0 = time.perf_counter()
                    page.goto(base + "/map/" + (f"#{target[1]}/{target[0][0]}/{target[0][1]}" if target else ""))
                    page.wait_for_function("window.GP && GP.ready === true")
                    _all_drawn(page, "['areas', 'roads', 'pju'].map(n => GP.layers[n])")
                    ours.append(time.perf_counter() - t0)
                    tiles.append(len(requested))
                    view = page.evaluate("(() => { const c = gpMap.getCenter(); return {center: [c.lat, c.lng], zoom: gpMap.getZoom()}; })()")
                    ctx.close()

                    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = ctx.new_page()
                    page.route(base + "/__floor__", lambda route: route.fulfill(status=200, content_type="text/html", body=FLOOR_HTML))
                    t0 = time.perf_counter()
                    page.goto(base + "/__floor__#" + urllib.parse.quote(json.dumps({**view, "minzoom": minzoom})))
                    _all_drawn(page, "window.layers")
                    floor.append(time.perf_counter() - t0)
                    ctx.close()
                med, fmed = statistics.median(ours) * 1000, statistics.median(floor) * 1000
                rows.append({
                    "name": f"/map/ in chromium: {label}, tiles drawn",
                    "ours": f"{med:.0f} ms median",
                    "floor": f"{fmed:.0f} ms (bare Leaflet + VectorGrid, same tiles)",
                    "ratio": med / fmed,
                    "notes": f"{statistics.median(tiles):.0f} tile requests; {ROUNDS} interleaved rounds, cold browser context each; "
                             "ours includes the folium page, legend, imagery catalogue and templates",
                })
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return rows
