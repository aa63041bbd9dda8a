-- Low-zoom tile of a point layer: points falling on the same cell of a
-- coarse tile grid (extent %(extent)s) become one feature with a `count`.
-- Slots as in tiles.sql.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS query_env
), candidates AS (
    SELECT t.{id_column} AS id,
           ST_AsMVTGeom({geometry}, bounds.env, %(extent)s, %(buffer)s, true) AS geom
    FROM {table} t, bounds
    WHERE t.{geom_column} && bounds.query_env{where}
), features AS (
    SELECT min(id) AS id, count(*)::int AS count, geom
    FROM candidates WHERE geom IS NOT NULL
    GROUP BY geom {limit}
)
SELECT ST_AsMVT(features.*, %(layer)s, %(extent)s, 'geom', 'id') FROM features
