/* Issue 16: the planner map recolours a PJU when the live stream says its
 * status changed (live/static/live/live.js dispatches `geo:live` window
 * events). Only that feature is restyled, through the VectorGrid adapter's
 * setFeatureStyle (no tile is reloaded); the override also applies to tiles
 * drawn later and is re-computed for the new zoom after a zoom. */
import { setFeatureStyle } from "../vectorgrid.js";

/** What a live event changes on the map: {id, props} for a PJU status change, else null (pure). */
export function statusChange(ev) {
  if (!ev || ev.type !== "status" || ev.pju === undefined || ev.pju === null || !ev.status) return null;
  return { id: String(ev.pju), props: { status: ev.status } };
}

export function followLive({ map, GP, target = globalThis }) {
  const live = {};  // PJU id → the properties the stream changed
  GP.liveStatus = live;
  function pjuLayers() { return Object.values(GP.layers).filter((l) => l.gpDef && l.gpDef.api === "pju"); }
  function restyle(id) {
    const z = map.getZoom();
    let drawn = 0;
    for (const layer of pjuLayers()) {
      const style = GP.styles[layer.gpStyle](live[id], z, layer.gpDef);
      drawn += setFeatureStyle(layer, id, style);
    }
    return drawn;
  }
  target.addEventListener("geo:live", (e) => {
    const change = statusChange(e.detail);
    if (!change) return;
    live[change.id] = Object.assign({}, live[change.id], change.props);
    const drawn = restyle(change.id);
    document.dispatchEvent(new CustomEvent("gp:recoloured", { detail: { id: change.id, status: change.props.status, drawn } }));
  });
  map.on("zoomend", () => { for (const id of Object.keys(live)) restyle(id); });
  return live;
}
