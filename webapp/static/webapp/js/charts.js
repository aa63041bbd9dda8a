/* Charts per kecamatan (Chart.js, vendored from npm, served locally). Each
 * chart is a <figure> with a canvas labelled for screen readers; the charts
 * are created once and updated in place (the dashboard runs for hours). */
import { esc } from "./format.js";

const TOP = 12;  // kecamatan per chart: the ones with the most PJU/roads

function topAreas(summary) {
  return summary.areas.slice()
    .sort((a, b) => (b.pju_count - a.pju_count) || (b.road_km - a.road_km) || String(a.name).localeCompare(b.name))
    .slice(0, TOP);
}

/** The chart definitions: {id, title, type, labels, datasets} from the summary (+ extras). */
export function chartSpecs(summary, extra, cfg) {
  const S = cfg.strings, C = cfg.codes, COL = cfg.colours;
  const areas = topAreas(summary);
  const names = areas.map((a) => a.name);
  const status = (extra && extra.pju_status) || {};
  const specs = [
    {
      id: "pju_status", title: S.pju_by_status, type: "bar", stacked: true, labels: names,
      datasets: ["working", "off", "damaged", "unknown"].map((k) => ({
        label: C.status[k], backgroundColor: COL.status[k],
        data: areas.map((a) => (status[a.code] || {})[k] || 0),
      })),
    },
  ];
  const kinds = areas.some((a) => a.underlit_km_by_kind) ? Object.keys(areas.find((a) => a.underlit_km_by_kind).underlit_km_by_kind) : null;
  specs.push({
    id: "underlit", title: S.underlit, type: "bar", stacked: !!kinds, labels: names,
    datasets: kinds
      ? kinds.map((k, i) => ({ label: (C.gap_kind && C.gap_kind[k]) || k, backgroundColor: ["#2166ac", "#67a9cf", "#053061"][i % 3],
                               data: areas.map((a) => (a.underlit_km_by_kind || {})[k] || 0) }))
      : [{ label: S.underlit_km, backgroundColor: "#2166ac", data: areas.map((a) => a.underlit_km) }],
  });
  specs.push({
    id: "damaged", title: S.damaged, type: "bar", stacked: true, labels: names,
    datasets: ["light_damage", "heavy_damage"].map((k) => ({
      label: C.condition[k], backgroundColor: COL.condition[k],
      data: areas.map((a) => (a.road_km_by_condition || {})[k] || 0),
    })),
  });
  specs.push({
    id: "kemantapan", title: S.kemantapan, type: "bar", labels: names, max: 100,
    datasets: [{ label: S.kemantapan_pct, backgroundColor: "#1a9641", data: areas.map((a) => a.kemantapan_pct || 0) }],
  });
  if (extra && extra.work_orders) {
    const states = ["open", "assigned", "in_progress", "done", "rejected"];
    specs.push({
      id: "wo_status", title: S.wo_status, type: "doughnut", labels: states.map((s) => C.wo_status[s]),
      datasets: [{ label: S.wo_status, backgroundColor: states.map((s) => COL.wo_status[s]), data: states.map((s) => extra.work_orders[s] || 0) }],
    });
  }
  return specs;
}

function options(spec) {
  const horizontal = spec.type === "bar";
  const o = {
    animation: false, responsive: true, maintainAspectRatio: false,
    plugins: { legend: { display: spec.datasets.length > 1 || spec.type === "doughnut", position: "bottom" }, title: { display: false } },
  };
  if (horizontal) {
    o.indexAxis = "y";
    o.scales = { x: { stacked: !!spec.stacked, beginAtZero: true, max: spec.max }, y: { stacked: !!spec.stacked, ticks: { autoSkip: false } } };
  }
  return o;
}

/** Draw (first call) or update in place (later calls) every chart into `container`. */
export function renderCharts(container, specs, charts = {}) {
  for (const spec of specs) {
    let chart = charts[spec.id];
    if (!chart) {
      const fig = document.createElement("figure");
      fig.className = "chart chart-" + spec.type;
      fig.dataset.chart = spec.id;
      fig.innerHTML = "<figcaption>" + esc(spec.title) + "</figcaption><div class='chart-box'><canvas role='img' aria-label='" + esc(spec.title) + "'></canvas></div>";
      container.appendChild(fig);
      chart = new window.Chart(fig.querySelector("canvas"), { type: spec.type, data: { labels: spec.labels, datasets: spec.datasets }, options: options(spec) });
      charts[spec.id] = chart;
    } else {
      chart.data.labels = spec.labels;
      spec.datasets.forEach((ds, i) => {
        if (chart.data.datasets[i]) Object.assign(chart.data.datasets[i], ds);
        else chart.data.datasets.push(ds);
      });
      chart.data.datasets.length = spec.datasets.length;
      chart.update("none");
    }
  }
  return charts;
}
