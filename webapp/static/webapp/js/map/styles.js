/* Feature styles per layer kind (pure: a style is a function of the
 * feature's properties, the zoom and the page's colours). */
const ROAD_WEIGHT = { arterial: 5, collector: 4, local: 2.5, neighbourhood: 2, path: 1.5 };

export function clusterRadius(count) { return Math.min(4 + Math.log(count + 1) * 1.6, 16); }

export function pointStyle(fill, props, zoom) {
  if (props.count !== undefined && props.count !== null) {
    return { radius: clusterRadius(props.count), fill: true, fillColor: fill, fillOpacity: 0.55, color: "#ffffff", weight: 1 };
  }
  return { radius: zoom >= 16 ? 6 : zoom >= 14 ? 4 : 3, fill: true, fillColor: fill, fillOpacity: 0.95, color: "#ffffff", weight: zoom >= 15 ? 1.5 : 0.5 };
}

/** The styles by name (def.style of the layer registry), from the page's colours. */
export function makeStyles(COL) {
  const WO = COL.wo_status, GAP = COL.gap;
  return {
    status: (p, z) => pointStyle(p.count !== undefined ? "#2b83ba" : COL.status[p.status] || COL.status.unknown, p, z),
    broken: (p, z) => {  // broken PJU: larger, with a dark ring, above the others
      const s = pointStyle(COL.status[p.status] || COL.status.damaged, p, z);
      s.radius += 1.5; s.color = "#000000"; s.weight = 1.5; return s;
    },
    proposed: (p, z) => { const s = pointStyle("#ffd700", p, z); s.color = "#8a6d00"; s.weight = 1.5; s.radius = Math.max(2.5, s.radius - 1); return s; },
    work_order: (p) => ({ radius: 8, fill: true, fillColor: WO[p.status] || "#757575", fillOpacity: 0.95, color: "#000", weight: 2 }),
    condition: (p) => {
      const c = p.effective_condition || p.condition; /* issue 14: SDI/IRI count (geo_platform/condition.py) */
      const colour = c ? COL.condition[c] || COL.condition.unknown : "#607d8b";
      return { color: colour, weight: ROAD_WEIGHT[p.road_class] || 2, opacity: 0.9 };
    },
    gap: (p) => ({ color: GAP[p.kind] || GAP["default"], weight: 6, opacity: 0.8, dashArray: "8,5" }),
    area: (p) => ({
      color: "#4a148c", weight: p.level === "kecamatan" ? 2 : p.level === "kelurahan" ? 0.8 : 3,
      fill: true, fillColor: "#4a148c", fillOpacity: 0.02, dashArray: p.level === "kelurahan" ? "3,3" : null,
    }),
  };
}

/** The style name a registry layer is drawn with. */
export function styleOf(def) { return def.name === "broken_pju" ? "broken" : def.style; }

/** A layer's pane z-index: its own, else its geometry's (layer_z from the page config). */
export function layerZ(def, Z) { return Z[def.name] || Z.geometry[def.geometry]; }
