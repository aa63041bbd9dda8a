-- Each counted PJU within W/2 + 10 m of a road of the run lights it (SPEC §5;
-- a PJU near a junction lights every road it is near). Chainage in ground
-- metres: fraction along the road in its UTM zone × the road's length on
-- the spheroid. Side: sign of the cross product of the road direction (±0.5 m
-- around the foot of the perpendicular) and the offset to the PJU.
INSERT INTO {matches} (road_id, pju_id, chainage_m, side)
SELECT r.id, l.id, f.frac * r.l,
       CASE WHEN (ST_X(d.b) - ST_X(d.a)) * (ST_Y(l.pu) - ST_Y(d.q)) - (ST_Y(d.b) - ST_Y(d.a)) * (ST_X(l.pu) - ST_X(d.q)) < 0
            THEN 'right' ELSE 'left' END
FROM needs_run_road r
JOIN needs_run_lamp l ON l.srid = r.srid AND ST_DWithin(l.pu, r.g, r.w / 2 + %(reach_extra)s)
CROSS JOIN LATERAL (SELECT ST_LineLocatePoint(r.g, l.pu) AS frac, ST_Length(r.g) AS lu) f
CROSS JOIN LATERAL (
    SELECT ST_LineInterpolatePoint(r.g, f.frac) AS q,
           ST_LineInterpolatePoint(r.g, greatest(0, f.frac - 0.5 / f.lu)) AS a,
           ST_LineInterpolatePoint(r.g, least(1, f.frac + 0.5 / f.lu)) AS b
) d;
