-- The PJU of every status (not deleted) near the roads of the run, transformed
-- once into each UTM zone those roads use (usually one): a temporary table
-- with a GiST index, so the matching is a planar index join without per-pair
-- transforms. The WGS 84 prefilter is the zone's road extent widened by the
-- largest reach (+1 m).
CREATE TEMPORARY TABLE needs_run_lamp ON COMMIT DROP AS
WITH zone AS (
    SELECT srid, ST_Transform(ST_Expand(ST_SetSRID(ST_Extent(g)::geometry, srid),
                                        max((w / 2 + %(reach_extra)s) * f) + 1), %(storage_srid)s) AS box
    FROM needs_run_road GROUP BY srid
)
SELECT zone.srid, p.id, ST_Transform(p.geom, zone.srid) AS pu, p.status, p.lamp_type, p.wattage_w, p.pole_height_m
FROM zone JOIN {pju} p ON p.geom && zone.box
WHERE p.deleted_at IS NULL;
