/* Labels in the page's language: the server sends every code list with its
 * labels (labels.code_labels()); the scripts never carry their own. */

/** label(group, code) → the label, or the code itself when there is none. */
export function labeller(codes) {
  return (group, code) => (codes && codes[group] && codes[group][code]) || (code === null || code === undefined ? "" : code);
}

/** A date-time in the page language ("3 Des 2026 10.20"); text that is not a date is returned as is. */
export function localTime(v, lang = (globalThis.document && document.documentElement.lang) || "id") {
  const d = new Date(v);
  return isNaN(d) ? v : d.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}
