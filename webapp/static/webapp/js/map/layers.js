/* The vector tile layers of the tile registry (cfg.layers), each in a pane
 * of its own, in draw order; GP.styles may replace any style. */
import { esc } from "../format.js";
import { layerZ, makeStyles, styleOf } from "./styles.js";

export function createLayers(L, map, cfg, GP, wanted) {
  const COL = cfg.colours;
  const STYLES = makeStyles(COL);
  for (const k of Object.keys(STYLES)) if (!GP.styles[k]) GP.styles[k] = STYLES[k];
  const SWATCH = { pju: COL.status.working, broken_pju: COL.status.damaged, roads: COL.condition.fair, damaged_roads: COL.condition.heavy_damage,
                   lighting_gaps: COL.gap["default"], proposed_pju: "#d4ac0d", work_orders: COL.wo_status.open, areas: "#4a148c" };
  const overlays = {};
  const ordered = [];  // hit-test order: top first
  GP.layers = {};
  for (const def of cfg.layers) {
    const paneName = "gp-" + def.name;
    const pane = map.createPane(paneName);
    pane.style.zIndex = layerZ(def, cfg.layer_z);
    pane.classList.add("gp-vt-pane");  // its canvases take no pointer events (map.css): the hit test does
    const styleName = styleOf(def);
    const layer = L.vectorGrid.protobuf(def.url, {
      vectorTileLayerStyles: { [def.name]: (p, z) => GP.styles[styleName](p, z, def) },
      interactive: true,
      rendererFactory: L.canvas.tile,
      getFeatureId: (f) => f.id,
      minZoom: def.minzoom,
      maxZoom: 22,
      pane: paneName,
      attribution: "",
    });
    layer.gpDef = def;
    layer.gpStyle = styleName;
    GP.layers[def.name] = layer;
    const swatch = def.geometry === "point" ? "●" : def.geometry === "line" ? "━" : "▢";
    overlays['<span class="gp-swatch" style="color:' + (SWATCH[def.name] || "#333") + '" aria-hidden="true">' + swatch + "</span> " + esc(def.label)] = layer;
    if (wanted ? wanted.indexOf(def.name) >= 0 : def.visible) layer.addTo(map);
    ordered.push(layer);
  }
  ordered.sort((a, b) => layerZ(b.gpDef, cfg.layer_z) - layerZ(a.gpDef, cfg.layer_z));
  GP.refreshLayer = (name) => { if (GP.layers[name]) GP.layers[name].redraw(); };
  return { overlays, ordered };
}
