-- SPEC §5.1–2, every (road, PJU) pair of the run: a PJU of any status lights
-- road r when it lies within W_r/2 + 10 m of it (ground metres: × f). Its
-- chainage, its side (sign of the cross product of the road direction, ±0.5 m
-- around the foot of the perpendicular, and the offset to the PJU) and its two
-- radii on r: the standard disc ρs = ½·k_r·h (the class's standard lamp on
-- its own pole, h = pole_height_m else H_r) and the recorded disc
-- ρ = ½·min(k_r·h, Φ·UF·MF/(Ē_r·W_r)) (Φ, MF of its lamp; the class's
-- standard lamp when wattage_w is unknown).
CREATE TEMPORARY TABLE needs_run_match ON COMMIT DROP AS
SELECT r.id AS road_id, l.id AS pju_id, r.srid, r.run, l.status = ANY(%(lit_statuses)s) AS lit,
       ST_Distance(l.pu, r.g) AS dist, f.frac, f.frac * r.l AS chainage_m, d.q,
       CASE WHEN (ST_X(d.b) - ST_X(d.a)) * (ST_Y(l.pu) - ST_Y(d.q)) - (ST_Y(d.b) - ST_Y(d.a)) * (ST_X(l.pu) - ST_X(d.q)) < 0
            THEN 'right' ELSE 'left' END AS side,
       0.5 * r.k * hh.h AS rs,
       0.5 * least(r.k * hh.h, lm.phi * %(uf)s * lm.mf / (r.e * r.w)) AS rr
FROM needs_run_road r
JOIN needs_run_lamp l ON l.srid = r.srid AND ST_DWithin(l.pu, r.g, (r.w / 2 + %(reach_extra)s) * r.f)
CROSS JOIN LATERAL (SELECT coalesce(nullif(l.pole_height_m, 0), r.h) AS h OFFSET 0) hh
CROSS JOIN LATERAL (
    SELECT CASE WHEN l.wattage_w > 0
                THEN l.wattage_w * coalesce((SELECT v.eff FROM unnest(%(eff_types)s::text[], %(eff_values)s::float8[]) v(t, eff)
                                             WHERE v.t = l.lamp_type), %(eff_other)s)
                ELSE r.lm END AS phi,
           CASE WHEN l.wattage_w > 0 THEN CASE WHEN l.lamp_type = 'led' THEN %(mf_led)s ELSE %(mf_other)s END
                ELSE r.mf END AS mf
    OFFSET 0
) lm
CROSS JOIN LATERAL (SELECT ST_LineLocatePoint(r.g, l.pu) AS frac OFFSET 0) f
CROSS JOIN LATERAL (
    SELECT ST_LineInterpolatePoint(r.g, f.frac) AS q,
           ST_LineInterpolatePoint(r.g, greatest(0, f.frac - 0.5 / r.lu)) AS a,
           ST_LineInterpolatePoint(r.g, least(1, f.frac + 0.5 / r.lu)) AS b
    OFFSET 0  -- evaluated once per pair, not once per reference
) d;
