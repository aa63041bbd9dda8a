// The field app's road survey form (webapp/static/webapp/js/survey.js): inputs, reading, the queue record.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MEASURES, localDate, readSurvey, resultText, surveyFormHtml, surveyRecord } from "../../webapp/static/webapp/js/survey.js";
import { labeller } from "../../webapp/static/webapp/js/i18n.js";

// the limits of POST /api/roads/{id}/survey/ (layers/apis.py RoadSurveyInputSerializer), as the page sends them
const SPEC = { limits: { crack_area_pct: { min: 0, max: 100 }, crack_width_mm: { min: 0, max: 200 },
  potholes_per_100m: { min: 0, max: 10000 }, rut_depth_cm: { min: 0, max: 100 }, iri: { min: 0, max: null } } };
const LABELS = { crack_area_pct: "Luas retak (% dari luas ruas)", crack_width_mm: "Lebar retak (mm)", potholes_per_100m: "Jumlah lubang per 100 m",
  rut_depth_cm: "Kedalaman bekas roda (cm)", iri: "IRI (m/km, jika diukur)", surveyed_on: "Tanggal survei", notes: "Catatan" };
const TODAY = "2026-12-03";
const FORM = { crack_area_pct: "20", crack_width_mm: "5", potholes_per_100m: "12", rut_depth_cm: "2", iri: "", surveyed_on: TODAY, notes: "" };

test("the form has the four measurements in the Bina Marga order, the IRI, the date and a note, with the server's limits", () => {
  const html = surveyFormHtml(SPEC, LABELS, { iri: 7.5 }, TODAY);
  const names = [...html.matchAll(/name='(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual(names, [...MEASURES, "iri", "surveyed_on", "notes"]);
  assert.match(html, /Luas retak \(% dari luas ruas\) <input type='number' inputmode='decimal' step='any' name='crack_area_pct' min='0' max='100' value='' required>/);
  assert.match(html, /name='iri' min='0' value='7.5'>/);  // optional, the road's last IRI offered again, no upper limit
  assert.match(html, /type='date' name='surveyed_on' max='2026-12-03' value='2026-12-03' required/);
});

test("labels are escaped", () => {
  const html = surveyFormHtml(SPEC, { ...LABELS, crack_width_mm: "<b>'x'</b>" }, {}, TODAY);
  assert.ok(html.includes("&lt;b&gt;&#39;x&#39;&lt;/b&gt;"));
  assert.ok(!html.includes("<b>"));
});

test("a complete form reads as the survey body; no IRI means no update", () => {
  assert.deepEqual(readSurvey(FORM, SPEC, TODAY), {
    survey: { crack_area_pct: 20, crack_width_mm: 5, potholes_per_100m: 12, rut_depth_cm: 2, surveyed_on: TODAY },
    properties: null, errors: [],
  });
});

test("a decimal comma is read, the IRI becomes the road's update, a note is kept", () => {
  const read = readSurvey({ ...FORM, rut_depth_cm: "2,5", iri: "13,5", notes: "  retak buaya di lajur kiri " }, SPEC, TODAY);
  assert.equal(read.survey.rut_depth_cm, 2.5);
  assert.equal(read.survey.notes, "retak buaya di lajur kiri");
  assert.deepEqual(read.properties, { iri: 13.5 });
  assert.deepEqual(read.errors, []);
});

test("missing, non-numeric and out-of-limit values and a future date are named", () => {
  const read = readSurvey({ crack_area_pct: "120", crack_width_mm: "", potholes_per_100m: "banyak", rut_depth_cm: "-1", iri: "-2",
    surveyed_on: "2026-12-04" }, SPEC, TODAY);
  assert.deepEqual(read.errors, ["crack_area_pct", "crack_width_mm", "potholes_per_100m", "rut_depth_cm", "iri", "surveyed_on"]);
  assert.deepEqual(readSurvey({ ...FORM, surveyed_on: "3 Des" }, SPEC, TODAY).errors, ["surveyed_on"]);
  assert.deepEqual(readSurvey({ ...FORM, crack_area_pct: "100", potholes_per_100m: "0" }, SPEC, TODAY).errors, []);  // edges are allowed
});

test("the queue record names the road, the version seen and the survey", () => {
  const road = { type: "Feature", id: 9, properties: { name: "Jalan Merdeka", version: 3, condition: "good" } };
  const read = readSurvey({ ...FORM, iri: "13.5" }, SPEC, TODAY);
  const fix = { lon: 106.6, lat: -6.2, accuracy_m: 4 };
  assert.deepEqual(surveyRecord(road, read, fix), {
    kind: "road_survey", layer: "roads", featureId: 9, survey: read.survey, properties: { iri: 13.5 },
    baseVersion: 3, before: road.properties, fix, label: "Jalan Merdeka",
  });
  assert.equal(surveyRecord({ id: 4, properties: {} }, read).label, "#4");
});

test("the server's result in the officer's words; the local calendar day", () => {
  const label = labeller({ condition: { light_damage: "Rusak ringan" } });
  assert.equal(resultText({ sdi: 125, condition: "light_damage" }, label), "SDI 125 · Rusak ringan");
  assert.equal(resultText(undefined, label), "");
  assert.equal(localDate(new Date(2026, 0, 5, 23, 30)), "2026-01-05");
});
