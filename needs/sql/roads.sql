-- The roads of one run (`run` = recomputed; `not run` = context: roads lit by
-- a PJU that lights a recomputed road, needed for its anchor) with the SPEC §5
-- class values and their geometry in their own UTM zone (32600/32700 + zone
-- of the centroid). l = length on the ground (spheroid), lu = length in the
-- zone, f = lu / l (zone metres per ground metre: radii and reaches are
-- scaled by it, so distances are ground metres in any zone).
SELECT x.*, ST_Length(x.g) AS lu, ST_Length(x.g) / x.l AS f
FROM (
    SELECT r.id, r.road_class, r.kecamatan_id, r.kelurahan_id, u.srid, {run}::boolean AS run,
           ST_Transform(r.geom, u.srid) AS g,
           coalesce(nullif(r.length_m, 0), ST_Length(r.geom::geography)) AS l,
           rule.h, rule.k, rule.h * rule.k AS s,
           coalesce(nullif(r.width_m, 0), nullif(r.lanes, 0) * rule.lane, rule.w) AS w,
           rule.e, rule.lm, rule.mf, rule.rank
    FROM {roads} r
    JOIN unnest(%(classes)s::text[], %(h)s::float8[], %(k)s::float8[], %(w)s::float8[], %(lane)s::float8[],
                %(e)s::float8[], %(lm)s::float8[], %(mf_std)s::float8[], %(rank)s::int[])
         AS rule(road_class, h, k, w, lane, e, lm, mf, rank) ON rule.road_class = r.road_class
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Y(c) >= 0 THEN 32600 ELSE 32700 END
               + least(60, greatest(1, floor((ST_X(c) + 180) / 6)::int + 1)) AS srid
        FROM ST_Centroid(r.geom) c
    ) u
    WHERE r.deleted_at IS NULL AND NOT ST_IsEmpty(r.geom) AND ST_Length(r.geom) > 0 AND ({road_filter})
) x
