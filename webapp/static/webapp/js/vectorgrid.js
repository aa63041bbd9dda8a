/* The ONE adapter to Leaflet.VectorGrid's internals (vendored 1.3.0): the
 * rest of the code never reads a private field (`_vectorTiles`, `_tileZoom`,
 * `_features`, `_layers`, `_containsPoint`) itself.
 *
 * Why it is needed: every vector tile layer draws on canvases of its own,
 * and only the topmost canvas would receive a DOM click, so clicks are
 * hit-tested here across all visible layers (top first). Live recolouring
 * goes through setFeatureStyle (VectorGrid keeps the override for tiles
 * drawn later), never by reloading tiles wholesale. */

/** The renderers (one per loaded tile) of a layer, keyed "x:y:z". */
function renderers(layer) { return layer._vectorTiles || {}; }

/** The zoom of the tiles a layer shows now (undefined before its first tile). */
export function tileZoom(layer) { return layer._tileZoom; }

/** The tile coordinates and the point inside that tile (pixels) of a projected point. */
export function tileAt(abs, size) {
  const x = Math.floor(abs.x / size.x), y = Math.floor(abs.y / size.y);
  return { x, y, local: abs.subtract([x * size.x, y * size.y]) };
}

/** The feature id VectorGrid filed `featureLayer` under (getFeatureId), or undefined. */
export function featureIdOf(layer, featureLayer) {
  const tiles = renderers(layer);
  for (const key of Object.keys(tiles)) {
    const feats = tiles[key]._features || {};
    for (const id of Object.keys(feats)) if (feats[id].feature === featureLayer) return id;
  }
  return undefined;
}

/**
 * The topmost feature under `latlng`: {layer, feature, properties, id} or null.
 * `layers` is in hit-test order (top first); `map` needs hasLayer() and project(latlng, zoom).
 */
export function hitTest(layers, map, latlng) {
  for (const layer of layers) {
    if (!map.hasLayer(layer) || !layer._vectorTiles) continue;
    const z = tileZoom(layer);
    if (z === undefined) continue;
    const t = tileAt(map.project(latlng, z), layer.getTileSize());
    const renderer = renderers(layer)[t.x + ":" + t.y + ":" + z];
    if (!renderer || !renderer._layers) continue;
    let best = null;
    for (const k of Object.keys(renderer._layers)) {
      const f = renderer._layers[k];
      if (f._containsPoint && f._containsPoint(t.local)) { best = f; break; }
    }
    if (!best) continue;
    const properties = Object.assign({}, best.properties);
    let id = properties.id;
    if (id === undefined) id = featureIdOf(layer, best);
    if (id !== undefined) properties.id = id;
    return { layer, feature: best, properties, id };
  }
  return null;
}

/** How many features the layer's loaded tiles hold with this id (0: not on screen). */
export function featureCount(layer, id) {
  let n = 0;
  for (const r of Object.values(renderers(layer))) if ((r._features || {})[id]) n += 1;
  return n;
}

/** The properties a loaded tile carries for a feature id (null: not loaded). */
export function featureProperties(layer, id) {
  for (const r of Object.values(renderers(layer))) {
    const f = (r._features || {})[id];
    if (f) return f.feature.properties || {};
  }
  return null;
}

/** Restyle one feature in every loaded tile and in tiles drawn later (no tile is reloaded). */
export function setFeatureStyle(layer, id, style) {
  layer.setFeatureStyle(id, style);
  return featureCount(layer, id);
}

/** Back to the layer's own style for this feature. */
export function resetFeatureStyle(layer, id) {
  layer.resetFeatureStyle(id);
}

/** Is this a VectorGrid layer (as opposed to a raster tile layer)? */
export function isVectorGrid(L, layer) { return !!(L.VectorGrid && layer instanceof L.VectorGrid); }
