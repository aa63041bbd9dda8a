// The page configuration (webapp/static/webapp/js/config.js): what the map requires, URL templates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, MAP_REQUIRED, checkConfig, fillUrl, missingKeys, readConfig, tileUrl } from "../../webapp/static/webapp/js/config.js";

function complete() {
  const cfg = {};
  for (const k of MAP_REQUIRED.top) cfg[k] = {};
  cfg.urls = Object.fromEntries(MAP_REQUIRED.urls.map((k) => [k, "/x/"]));
  cfg.lists = Object.fromEntries(MAP_REQUIRED.lists.map((k) => [k, []]));
  return cfg;
}

test("a complete configuration passes; every missing key is named with its path", () => {
  assert.equal(checkConfig(complete(), MAP_REQUIRED).urls.live, "/x/");
  const cfg = complete();
  delete cfg.urls.feature;
  delete cfg.lists.wo_status;
  cfg.layer_z = null;
  assert.deepEqual(missingKeys(cfg, MAP_REQUIRED).sort(), ["layer_z", "lists.wo_status", "urls.feature"]);
  assert.throws(() => checkConfig(cfg, MAP_REQUIRED), (e) => e instanceof ConfigError && /urls\.feature/.test(e.message));
  assert.throws(() => checkConfig(undefined, MAP_REQUIRED), ConfigError);
});

test("the map's code lists and URLs are required (what the scripts no longer carry)", () => {
  for (const key of ["pju_status", "road_condition", "wo_status", "gap_kind"]) assert.ok(MAP_REQUIRED.lists.includes(key), key);
  for (const key of ["feature", "tiles", "live", "search", "estimates", "work_orders"]) assert.ok(MAP_REQUIRED.urls.includes(key), key);
});

test("fillUrl fills and encodes every placeholder; a missing value is an error, not 'undefined' in a URL", () => {
  assert.equal(fillUrl("/api/{api}/{id}/", { api: "work-orders", id: 12 }), "/api/work-orders/12/");
  assert.equal(fillUrl("/api/{layer}/{id}/photos/", { layer: "pju", id: "a b/c" }), "/api/pju/a%20b%2Fc/photos/");
  assert.equal(fillUrl("/imagery/{id}/tiles/{z}/{x}/{y}.png", { id: 3, z: 0, x: 1, y: 2 }), "/imagery/3/tiles/0/1/2.png");
  assert.throws(() => fillUrl("/api/{api}/{id}/", { api: "pju" }), /\{id\}/);
});

test("tileUrl fills the layer and keeps the tile placeholders for Leaflet", () => {
  assert.equal(tileUrl("/tiles/{layer}/{z}/{x}/{y}.pbf", "broken_pju"), "/tiles/broken_pju/{z}/{x}/{y}.pbf");
  assert.throws(() => tileUrl("/tiles/pju/{z}/{x}/{y}.pbf", "pju"), ConfigError);
});

test("readConfig parses the json_script node; no node is a clear error", () => {
  const doc = { getElementById: (id) => (id === "page-config" ? { textContent: '{"urls": {"live": "/api/live/"}}' } : null) };
  assert.deepEqual(readConfig("page-config", doc), { urls: { live: "/api/live/" } });
  assert.throws(() => readConfig("field-config", doc), /#field-config/);
});
