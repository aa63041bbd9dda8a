// The one adapter to Leaflet.VectorGrid (webapp/static/webapp/js/vectorgrid.js) on layers shaped as
// VectorGrid 1.3 keeps them: _vectorTiles["x:y:z"] = renderer {_layers, _features{id: {feature}}}, _tileZoom.
import { test } from "node:test";
import assert from "node:assert/strict";
import { featureCount, featureIdOf, featureProperties, hitTest, setFeatureStyle, tileAt } from "../../webapp/static/webapp/js/vectorgrid.js";

class Pt {
  constructor(x, y) { this.x = x; this.y = y; }
  subtract([dx, dy]) { return new Pt(this.x - dx, this.y - dy); }
}
/** A drawn feature that "contains" the points within r pixels of (x, y) in its tile. */
function feature(x, y, properties, r = 5) {
  return { properties, _containsPoint: (p) => Math.hypot(p.x - x, p.y - y) <= r };
}
function layer(name, tiles, z = 15) {
  const vt = {};
  for (const [key, feats] of Object.entries(tiles)) {
    const r = { _layers: {}, _features: {} };
    feats.forEach(([id, f], i) => { r._layers[i] = f; r._features[id] = { feature: f, layerName: name }; });
    vt[key] = r;
  }
  return { name, _vectorTiles: vt, _tileZoom: z, getTileSize: () => ({ x: 256, y: 256 }), styled: [],
           setFeatureStyle(id, style) { this.styled.push([id, style]); } };
}
const map = (shown, projected) => ({ hasLayer: (l) => shown.includes(l), project: () => projected });

test("tileAt: the tile and the pixel inside it", () => {
  const t = tileAt(new Pt(256 * 10 + 30, 256 * 4 + 200), { x: 256, y: 256 });
  assert.deepEqual([t.x, t.y, t.local.x, t.local.y], [10, 4, 30, 200]);
});

test("the topmost visible layer with a feature under the point wins; its id comes from VectorGrid's feature index", () => {
  const roadFeat = feature(30, 200, { name: "Jl. Merdeka" }, 8);
  const pjuFeat = feature(32, 198, { code: "PJU-1" });
  const roads = layer("roads", { "10:4:15": [["77", roadFeat]] });
  const pju = layer("pju", { "10:4:15": [["5", pjuFeat]] });
  const at = new Pt(256 * 10 + 30, 256 * 4 + 200);
  const hit = hitTest([pju, roads], map([pju, roads], at), {});
  assert.equal(hit.layer, pju);
  assert.equal(hit.id, "5");
  assert.deepEqual(hit.properties, { code: "PJU-1", id: "5" });
  // the PJU layer switched off: the road underneath
  const below = hitTest([pju, roads], map([roads], at), {});
  assert.equal(below.layer, roads);
  assert.equal(below.properties.name, "Jl. Merdeka");
});

test("an id in the properties is used as is; a miss, a tile not loaded, a layer not drawn yet → null", () => {
  const f = feature(10, 10, { id: 9, status: "off" });
  const pju = layer("pju", { "0:0:15": [["9", f]] });
  assert.equal(hitTest([pju], map([pju], new Pt(10, 12)), {}).id, 9);
  assert.equal(hitTest([pju], map([pju], new Pt(100, 100)), {}), null);
  assert.equal(hitTest([pju], map([pju], new Pt(256 + 10, 10)), {}), null);  // tile 1:0 not loaded
  const fresh = layer("pju", {}, undefined);
  assert.equal(hitTest([fresh], map([fresh], new Pt(10, 10)), {}), null);
});

test("features are found by id across tiles; restyling goes through the layer's setFeatureStyle", () => {
  const a = feature(1, 1, { status: "working" }), b = feature(2, 2, { status: "working" });
  const pju = layer("pju", { "0:0:15": [["3", a]], "1:0:15": [["3", b], ["4", feature(3, 3, {})]] });
  assert.equal(featureIdOf(pju, b), "3");
  assert.equal(featureIdOf(pju, feature(0, 0, {})), undefined);
  assert.equal(featureCount(pju, "3"), 2);
  assert.deepEqual(featureProperties(pju, "3"), { status: "working" });
  assert.equal(featureProperties(pju, "99"), null);
  const style = { fillColor: "#d7191c" };
  assert.equal(setFeatureStyle(pju, "3", style), 2);
  assert.equal(setFeatureStyle(pju, "99", style), 0);  // not on screen: kept by VectorGrid for later tiles
  assert.deepEqual(pju.styled, [["3", style], ["99", style]]);
});
