-- The roads of one run with the SPEC §5 rule values of their class and their
-- geometry in their own UTM zone (32600/32700 + zone of the centroid).
-- Filled into a temporary table `needs_run_road` (needs/services.py).
CREATE TEMPORARY TABLE needs_run_road ON COMMIT DROP AS
WITH rule AS (
    SELECT * FROM unnest(%(classes)s::text[], %(h)s::float8[], %(k)s::float8[], %(w)s::float8[])
        AS t(road_class, h, k, w)
)
SELECT r.id, r.road_class, r.kecamatan_id, r.kelurahan_id, u.srid,
       ST_Transform(r.geom, u.srid) AS g,
       coalesce(nullif(r.length_m, 0), ST_Length(r.geom::geography)) AS l,
       rule.h, rule.k, rule.h * rule.k AS s,
       coalesce(nullif(r.width_m, 0), nullif(r.lanes, 0) * %(lane_w)s, rule.w) AS w
FROM {roads} r
JOIN rule ON rule.road_class = r.road_class
CROSS JOIN LATERAL (
    SELECT CASE WHEN ST_Y(c) >= 0 THEN 32600 ELSE 32700 END
           + least(60, greatest(1, floor((ST_X(c) + 180) / 6)::int + 1)) AS srid
    FROM ST_Centroid(r.geom) c
) u
WHERE r.deleted_at IS NULL AND NOT ST_IsEmpty(r.geom) AND ST_Length(r.geom) > 0 AND ({road_filter});
