/* The legend: every symbol as drawn, code lists and colours from the page config. */
import { esc } from "../format.js";

export function legendHtml({ cfg, GP, label, open }) {
  const S = cfg.strings, C = cfg.codes, COL = cfg.colours, LISTS = cfg.lists;
  let html = "<details" + (open ? " open" : "") + "><summary><h4>" + esc(S.legend) + "</h4></summary><div class='gp-legend-group'><b>" + esc(S.pju_by_status) + "</b>";
  for (const k of LISTS.pju_status) html += "<div><i class='gp-dot' style='background:" + COL.status[k] + "'></i>" + esc(label("status", k)) + "</div>";
  html += "<div><i class='gp-dot gp-dot-cluster'></i>" + esc(S.cluster) + "</div>";
  if (GP.layers.broken_pju) html += "<div><i class='gp-dot gp-dot-broken' style='background:" + COL.status.damaged + "'></i>" + esc(S.broken_pju) + "</div>";
  html += "</div><div class='gp-legend-group'><b>" + esc(S.roads_by_condition) + "</b>";
  for (const k of LISTS.road_condition) {
    html += "<div><i class='gp-line' style='background:" + COL.condition[k] + "'></i>" + esc(label("condition", k)) +
      (cfg.condition_bands && cfg.condition_bands[k] ? " <small>" + esc(cfg.condition_bands[k]) + "</small>" : "") + "</div>";
  }
  html += "</div>";
  if (GP.layers.lighting_gaps) {
    html += "<div class='gp-legend-group' data-legend='gaps'><b>" + esc(S.gap_kinds) + "</b>";
    // SPEC §5 v2: each kind of under-lit road with its own colour (missing = the layer's colour)
    for (const k of LISTS.gap_kind.filter((g) => COL.gap[g] && C.gap_kind && C.gap_kind[g])) {
      html += "<div><i class='gp-line gp-line-gap' style='--gap:" + COL.gap[k] + "'></i>" + esc(label("gap_kind", k)) + "</div>";
    }
    html += "</div>";
  }
  html += "<div class='gp-legend-group'>";
  if (GP.layers.proposed_pju) html += "<div><i class='gp-dot' style='background:#ffd700;border-color:#8a6d00'></i>" + esc(S.proposed) + "</div>";
  html += "<div><i class='gp-area'></i>" + esc(label("level", "kecamatan")) + "</div></div>";
  if (GP.layers.work_orders) {
    html += "<div class='gp-legend-group'><b>" + esc(S.wo_status) + "</b>";
    for (const k of LISTS.wo_status) html += "<div><i class='gp-dot gp-dot-wo' style='background:" + COL.wo_status[k] + "'></i>" + esc(label("wo_status", k)) + "</div>";
    html += "</div>";
  }
  for (const fn of GP.legendExtras) { try { html += fn() || ""; } catch (e) { console.warn(e); } }
  return html + "</details>";
}
