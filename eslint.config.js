// ESLint (flat config) for the browser code: ES modules under webapp/static/webapp/js/ and
// the page scripts, classic scripts where a page still loads one, and the Node unit tests.
import js from "@eslint/js";

const browser = Object.fromEntries([
  "window", "document", "navigator", "location", "history", "console", "fetch", "URL", "URLSearchParams", "FormData", "Blob",
  "File", "FileReader", "Image", "CustomEvent", "Event", "EventSource", "indexedDB", "crypto", "structuredClone", "setTimeout",
  "clearTimeout", "setInterval", "clearInterval", "requestAnimationFrame", "createImageBitmap", "OffscreenCanvas", "caches",
  "self", "globalThis", "L", "Chart", "HTMLElement", "MutationObserver", "AbortController", "performance", "Response", "Request",
  "Headers", "atob", "btoa", "alert", "confirm", "getComputedStyle", "matchMedia", "localStorage", "sessionStorage",
].map((name) => [name, "readonly"]));
const node = Object.fromEntries(["process", "console", "globalThis", "structuredClone", "FormData", "Blob", "setTimeout",
  "clearTimeout", "crypto", "URL"].map((name) => [name, "readonly"]));

// VectorGrid's private fields are read in ONE place, js/vectorgrid.js (the adapter).
const VECTORGRID_PRIVATE = "MemberExpression[property.name=/^_(vectorTiles|tileZoom|features|containsPoint|layers|overriddenStyles)$/]";

const rules = {
  "no-restricted-syntax": ["error", { selector: VECTORGRID_PRIVATE, message: "VectorGrid internals only through js/vectorgrid.js" }],
  "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
  "no-var": "off",
  eqeqeq: ["error", "smart"],
  "no-implicit-globals": "error",
};

export default [
  { ignores: ["node_modules/**", ".venv/**", "var/**", "geo_platform/static/vendor/**", "tests/webapp/vendor/**", "static_collected/**"] },
  js.configs.recommended,
  {
    files: ["webapp/static/webapp/js/**/*.js", "webapp/static/webapp/field.js", "webapp/static/webapp/field-queue.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: browser },
    rules,
  },
  {
    files: ["webapp/static/webapp/map.js", "webapp/static/webapp/vectorgrid-compat.js", "live/static/live/live.js",
            "reports/static/reports/map-reports.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: browser },
    rules,
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: node },
    rules,
  },
  {
    files: ["webapp/static/webapp/js/vectorgrid.js", "tests/js/**/*.mjs"],
    rules: { "no-restricted-syntax": "off" },
  },
];
