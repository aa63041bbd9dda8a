// The other pure modules: escaping, labels, styles, the estimate body, live events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { esc, figureText } from "../../webapp/static/webapp/js/format.js";
import { labeller } from "../../webapp/static/webapp/js/i18n.js";
import { clusterRadius, layerZ, makeStyles, styleOf } from "../../webapp/static/webapp/js/map/styles.js";
import { estimateBody } from "../../webapp/static/webapp/js/map/estimate.js";
import { statusChange } from "../../webapp/static/webapp/js/map/live.js";

const COL = {
  status: { working: "#1a9641", off: "#fdae61", damaged: "#d7191c", unknown: "#9e9e9e" },
  condition: { good: "#1a9641", unknown: "#9e9e9e" }, wo_status: { open: "#e31a1c" }, gap: { default: "#2166ac", weak: "#67a9cf" },
};

test("esc escapes the five HTML characters and shows null/undefined as nothing", () => {
  assert.equal(esc(`<a href="x" title='y'>&</a>`), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  assert.equal(esc(null), "");
  assert.equal(esc(undefined), "");
  assert.equal(esc(0), "0");
});

test("labeller: the server's label, else the code; nothing for no code", () => {
  const label = labeller({ status: { off: "Mati" } });
  assert.equal(label("status", "off"), "Mati");
  assert.equal(label("status", "new_code"), "new_code");
  assert.equal(label("nothing", "x"), "x");
  assert.equal(label("status", null), "");
});

test("figureText: rupiah without decimals, units with one, '–' for no value", () => {
  assert.equal(figureText(null, "km"), "–");
  assert.match(figureText(1234.5, "IDR"), /^Rp 1.235$/);
});

test("point styles: clusters grow with the log of their count up to 16 px; lights by status colour and zoom", () => {
  assert.equal(clusterRadius(0), 4);
  assert.ok(Math.abs(clusterRadius(Math.exp(5) - 1) - 12) < 1e-9);  // 4 + 5 × 1.6
  assert.equal(clusterRadius(1e9), 16);
  const S = makeStyles(COL);
  assert.deepEqual(S.status({ status: "off" }, 16), { radius: 6, fill: true, fillColor: "#fdae61", fillOpacity: 0.95, color: "#ffffff", weight: 1.5 });
  assert.equal(S.status({ status: "nonsense" }, 12).fillColor, "#9e9e9e");
  assert.equal(S.status({ status: "off", count: 3 }, 12).fillColor, "#2b83ba");
  const broken = S.broken({ status: "damaged" }, 14);
  assert.deepEqual([broken.radius, broken.color, broken.fillColor], [5.5, "#000000", "#d7191c"]);
  assert.equal(S.gap({ kind: "weak" }).color, "#67a9cf");
  assert.equal(S.gap({ kind: "other" }).color, "#2166ac");
});

test("layer order and style names come from the registry definition and the page's layer_z", () => {
  const Z = { pju: 430, geometry: { point: 431, line: 415 } };
  assert.equal(layerZ({ name: "pju", geometry: "point" }, Z), 430);
  assert.equal(layerZ({ name: "new_layer", geometry: "line" }, Z), 415);
  assert.equal(styleOf({ name: "broken_pju", style: "status" }), "broken");
  assert.equal(styleOf({ name: "pju", style: "status" }), "status");
});

test("estimate body: a drawn line carries the typed width; roads carry ids as numbers, the width only when typed", () => {
  const line = { type: "LineString", coordinates: [[0, 0], [1, 1]] };
  assert.deepEqual(estimateBody("JALAN-1", { geometry: line, roadIds: [] }, 7), { template: "JALAN-1", geometry: line, width_m: 7 });
  const poly = { type: "Polygon", coordinates: [] };
  assert.deepEqual(estimateBody("T", { geometry: poly, roadIds: [] }, 7), { template: "T", geometry: poly });
  assert.deepEqual(estimateBody("T", { geometry: null, roadIds: ["3", "12"] }, null), { template: "T", road_ids: [3, 12] });
  assert.deepEqual(estimateBody("T", { geometry: null, roadIds: ["3"] }, 4.5), { template: "T", road_ids: [3], width_m: 4.5 });
});

test("live: a status event recolours its PJU; other events and incomplete ones change nothing", () => {
  assert.deepEqual(statusChange({ type: "status", pju: 17, status: "off", before: "working" }), { id: "17", props: { status: "off" } });
  assert.equal(statusChange({ type: "state", pju: 17, power_state: "off" }), null);
  assert.equal(statusChange({ type: "status", status: "off" }), null);
  assert.equal(statusChange(null), null);
});
