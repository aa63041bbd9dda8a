/* Home page: the charts per kecamatan, from the summary API (the figures are
 * rendered by the server from the same selector). */
import { getJson, pageConfig } from "./format.js";
import { chartSpecs, renderCharts } from "./charts.js";

const cfg = pageConfig();
const summary = await getJson(cfg.urls.summary);
renderCharts(document.getElementById("charts"), chartSpecs(summary, cfg.extra, cfg));
document.body.dataset.ready = "1";
