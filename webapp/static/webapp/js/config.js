/* The page configuration rendered by the server (Django's json_script): every
 * URL, code list, label and colour a page uses comes from here, never from
 * literals in the scripts. */

/** What the planner map needs from its configuration (webapp/views.py map_page). */
export const MAP_REQUIRED = {
  urls: ["officers", "work_orders", "summary", "export", "search", "templates", "estimates", "imagery", "imagery_tiles",
         "feature", "login", "logout", "live", "tiles"],
  lists: ["pju_status", "road_condition", "wo_status", "wo_open", "gap_kind"],
  top: ["layers", "kecamatan", "strings", "codes", "fields", "colours", "popup_fields", "value_groups", "need_kinds", "layer_z", "language"],
};

export class ConfigError extends Error {}

/** Read the JSON a page was rendered with (`{{ config|json_script:id }}`). */
export function readConfig(id = "page-config", doc = globalThis.document) {
  const node = doc && doc.getElementById(id);
  if (!node) throw new ConfigError("no #" + id + " on the page");
  return JSON.parse(node.textContent);
}

/** Every missing key of `required` in `cfg`, as dotted paths ([] when complete). */
export function missingKeys(cfg, required) {
  const missing = [];
  for (const key of required.top || []) if (cfg[key] === undefined || cfg[key] === null) missing.push(key);
  for (const group of ["urls", "lists"]) {
    for (const key of required[group] || []) {
      if (!cfg[group] || cfg[group][key] === undefined || cfg[group][key] === null) missing.push(group + "." + key);
    }
  }
  return missing;
}

/** The configuration, or a ConfigError naming what is missing. */
export function checkConfig(cfg, required) {
  const missing = missingKeys(cfg || {}, required);
  if (missing.length) throw new ConfigError("page configuration lacks " + missing.join(", "));
  return cfg;
}

/** "/api/{api}/{id}/" + {api: "pju", id: 7} → "/api/pju/7/" (values URL-encoded; a missing one is an error). */
export function fillUrl(template, params) {
  return String(template).replace(/\{(\w+)\}/g, (whole, name) => {
    if (params[name] === undefined || params[name] === null) throw new ConfigError("no value for {" + name + "} in " + template);
    return encodeURIComponent(params[name]);
  });
}

/** A vector tile layer's URL template ("/tiles/{layer}/{z}/{x}/{y}.pbf" → "/tiles/pju/{z}/{x}/{y}.pbf"). */
export function tileUrl(template, layer) {
  if (String(template).indexOf("{layer}") < 0) throw new ConfigError("no {layer} in " + template);
  return String(template).replace("{layer}", encodeURIComponent(layer));
}
