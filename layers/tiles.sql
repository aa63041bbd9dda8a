-- One Mapbox Vector Tile of one layer (layers/tiles.py fills the {…} slots
-- from the layer's spec, never from the request; z/x/y and numbers are bound).
-- Features: rows whose stored Web Mercator geometry meets the tile envelope
-- widened by the MVT buffer; ST_AsMVTGeom clips lines/polygons to it and
-- returns NULL for those that only share a bounding box.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS query_env
), candidates AS (
    SELECT t.{id_column} AS id{columns},
           ST_AsMVTGeom({geometry}, bounds.env, %(extent)s, %(buffer)s, true) AS geom
    FROM {table} t, bounds
    WHERE t.{geom_column} && bounds.query_env{where}
), features AS (
    SELECT * FROM candidates WHERE geom IS NOT NULL {limit}
)
SELECT ST_AsMVT(features.*, %(layer)s, %(extent)s, 'geom', 'id') FROM features
