/* Small shared helpers of the pages (ES module, no build step). */
export function esc(v) {
  return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export function lang() { return (globalThis.document && document.documentElement.lang) || "id"; }

export function fmt(n, digits = 2) {
  if (n === null || n === undefined || n === "") return "";
  return Number(n).toLocaleString(lang(), { maximumFractionDigits: digits });
}

/** A key figure as the pages show it: "Rp 1.234", "12,5 km", "87,2 %", "1.234". */
export function figureText(value, unit) {
  if (value === null || value === undefined || value === "") return "–";
  if (unit === "IDR") return "Rp " + fmt(value, 0);
  if (unit) return fmt(value, 1) + " " + unit;
  return fmt(value, 0);
}

export function pageConfig() {
  const node = document.getElementById("page-config");
  return node ? JSON.parse(node.textContent) : {};
}

export async function getJson(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
  if (!r.ok) throw new Error("HTTP " + r.status + " " + url);
  return r.json();
}

/** The CSRF token: Django's cookie, else the one the page was rendered with. */
export function csrf(fallback = "") {
  const m = ((globalThis.document && document.cookie) || "").match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : fallback;
}

/** A DOM element with attributes and (already escaped) inner HTML. */
export function el(tag, attrs, html) {
  const e = document.createElement(tag);
  for (const k of Object.keys(attrs || {})) e.setAttribute(k, attrs[k]);
  if (html !== undefined) e.innerHTML = html;
  return e;
}
