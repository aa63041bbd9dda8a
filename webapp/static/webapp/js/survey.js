/* The field app's road condition survey (SPEC §6, DOMAIN §4: the Bina Marga
 * SDI form, plus the road's IRI when the officer measured it): the form's
 * inputs, reading and checking them, and the record the offline queue sends
 * (kind "road_survey": photos to the road, POST /api/roads/{id}/survey/ with
 * client_id, then the IRI as a PATCH over the version the survey left).
 * Pure functions: no DOM, no fetch; the limits and labels come from the page
 * configuration (cfg.survey, built from the API's own serializer), so the
 * form never disagrees with the server. The SDI itself is computed by the
 * server (geo_platform/condition.py), never here. */

import { esc } from "./format.js";

/** The four measurements of the form, in the form's order. */
export const MEASURES = ["crack_area_pct", "crack_width_mm", "potholes_per_100m", "rut_depth_cm"];

function numberInput(name, label, limits, value) {
  const min = limits && limits.min !== undefined && limits.min !== null ? " min='" + esc(limits.min) + "'" : "";
  const max = limits && limits.max !== undefined && limits.max !== null ? " max='" + esc(limits.max) + "'" : "";
  return "<label>" + esc(label) + " <input type='number' inputmode='decimal' step='any' name='" + name + "'" + min + max +
    " value='" + esc(value === undefined || value === null ? "" : value) + "'" + (name === "iri" ? "" : " required") + "></label>";
}

/** A date as the officer's calendar day (YYYY-MM-DD in the device's zone). */
export function localDate(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
}

/**
 * The form's inputs (HTML). spec = cfg.survey ({limits: {name: {min, max}}}), labels = cfg.fields,
 * road = the road's properties (its last IRI is offered again), today = "YYYY-MM-DD".
 */
export function surveyFormHtml(spec, labels, road, today) {
  const limits = (spec && spec.limits) || {};
  let html = MEASURES.map((name) => numberInput(name, labels[name] || name, limits[name], "")).join("");
  html += numberInput("iri", labels.iri || "iri", limits.iri, road && road.iri);
  html += "<label>" + esc(labels.surveyed_on || "surveyed_on") + " <input type='date' name='surveyed_on' max='" + esc(today) +
    "' value='" + esc(today) + "' required></label>";
  html += "<label>" + esc(labels.notes || "notes") + " <textarea name='notes' rows='2' maxlength='2000'></textarea></label>";
  return html;
}

function toNumber(text) {
  const t = String(text === undefined || text === null ? "" : text).trim().replace(",", ".");  // "2,5" typed on an Indonesian keyboard
  if (t === "") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * Read the form's values ({name: text}). → {survey, properties, errors}: `survey` the body of
 * POST /api/roads/{id}/survey/ (without photos and client_id), `properties` {iri} when an IRI was
 * given (else null), `errors` the names of the inputs that are missing or out of their limits.
 */
export function readSurvey(values, spec, today) {
  const limits = (spec && spec.limits) || {};
  const errors = [];
  const survey = {};
  const inRange = (name, n) => {
    const l = limits[name] || {};
    return !((l.min !== undefined && l.min !== null && n < l.min) || (l.max !== undefined && l.max !== null && n > l.max));
  };
  for (const name of MEASURES) {
    const n = toNumber(values[name]);
    if (n === null || Number.isNaN(n) || !inRange(name, n)) errors.push(name);
    else survey[name] = n;
  }
  const iri = toNumber(values.iri);
  if (Number.isNaN(iri) || (iri !== null && !inRange("iri", iri))) errors.push("iri");
  const day = String(values.surveyed_on || "").trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || (today && day > today)) errors.push("surveyed_on");
  else survey.surveyed_on = day;
  const notes = String(values.notes || "").trim();
  if (notes) survey.notes = notes.slice(0, 2000);
  return { survey, properties: iri === null || Number.isNaN(iri) ? null : { iri }, errors };
}

/** The queue record of a survey of `road` (a Feature) read by readSurvey. */
export function surveyRecord(road, read, fix) {
  const p = road.properties || {};
  return {
    kind: "road_survey", layer: "roads", featureId: road.id, survey: read.survey, properties: read.properties,
    baseVersion: p.version, before: p, fix: fix || null, label: p.name || "#" + road.id,
  };
}

/** "SDI 125 · Rusak ringan": what the server made of a sent survey (record.result), or "". */
export function resultText(result, label) {
  if (!result || result.sdi === undefined || result.sdi === null) return "";
  return "SDI " + result.sdi + " · " + label("condition", result.condition);
}
