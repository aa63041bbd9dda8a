-- SPEC §5.2–3 on the recomputed roads, as intervals of each road's fraction.
-- Anchor of a PJU: its projection onto the nearest road it lights (any zone
-- the roads use: the point is carried into each road's zone). On every road
-- it lights it covers what lies within its radius of the anchor (straight
-- ground metres): each segment of the road is cut exactly by the circle
-- (|P0 + t·(P1 − P0) − A| = R, t clamped to [0, 1]): no buffer polygons.
CREATE TEMPORARY TABLE needs_run_anchor ON COMMIT DROP AS
SELECT DISTINCT ON (m.pju_id) m.pju_id, m.srid, m.q AS ap
FROM needs_run_match m JOIN needs_run_road r ON r.id = m.road_id
ORDER BY m.pju_id, m.dist / r.f, m.road_id;

CREATE TEMPORARY TABLE needs_run_seg ON COMMIT DROP AS
SELECT s.road_id, s.x0, s.y0, s.x1 - s.x0 AS dx, s.y1 - s.y0 AS dy, s.sl,
       coalesce(sum(s.sl) OVER (PARTITION BY s.road_id ORDER BY s.i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS c0,
       s.lu
FROM (
    SELECT r.id AS road_id, r.lu, d.path[1] AS i, ST_X(ST_StartPoint(d.geom)) AS x0, ST_Y(ST_StartPoint(d.geom)) AS y0,
           ST_X(ST_EndPoint(d.geom)) AS x1, ST_Y(ST_EndPoint(d.geom)) AS y1, ST_Length(d.geom) AS sl
    FROM needs_run_road r CROSS JOIN LATERAL ST_DumpSegments(r.g) d
    WHERE r.run
) s;

-- (fractions within 1e-9 of a road end snap to it)
-- one row per (PJU, road, segment) the standard disc reaches: fractions
-- [as_, bs] of the standard disc and [ar, br] of the recorded one (null when
-- it misses the segment)
CREATE TEMPORARY TABLE needs_run_iv ON COMMIT DROP AS
WITH disc AS MATERIALIZED (
    SELECT m.road_id, m.pju_id, m.lit, m.rs * r.f AS rs, m.rr * r.f AS rr,
           ST_X(p.ap) AS ax, ST_Y(p.ap) AS ay
    FROM needs_run_match m
    JOIN needs_run_road r ON r.id = m.road_id
    JOIN needs_run_anchor a ON a.pju_id = m.pju_id
    CROSS JOIN LATERAL (SELECT CASE WHEN a.srid = r.srid THEN a.ap ELSE ST_Transform(a.ap, r.srid) END AS ap) p
    WHERE m.run
), cut AS MATERIALIZED (
    SELECT d.road_id, d.pju_id, d.lit, s.c0, s.sl, s.lu,
           s.dx * s.dx + s.dy * s.dy AS dd,
           (s.x0 - d.ax) * s.dx + (s.y0 - d.ay) * s.dy AS fd,
           (s.x0 - d.ax) ^ 2 + (s.y0 - d.ay) ^ 2 AS ff,
           d.rs, d.rr
    FROM disc d JOIN needs_run_seg s ON s.road_id = d.road_id
    WHERE s.sl > 0
      AND least(s.x0, s.x0 + s.dx) <= d.ax + d.rs AND greatest(s.x0, s.x0 + s.dx) >= d.ax - d.rs
      AND least(s.y0, s.y0 + s.dy) <= d.ay + d.rs AND greatest(s.y0, s.y0 + s.dy) >= d.ay - d.rs
), roots AS (
    SELECT cut.*,
           fd * fd - dd * (ff - rs * rs) AS disc_s,
           fd * fd - dd * (ff - rr * rr) AS disc_r
    FROM cut
), t AS (
    SELECT road_id, pju_id, lit, c0, sl, lu,
           CASE WHEN disc_s >= 0 THEN greatest(0, (-fd - sqrt(disc_s)) / dd) END AS ts1,
           CASE WHEN disc_s >= 0 THEN least(1, (-fd + sqrt(disc_s)) / dd) END AS ts2,
           CASE WHEN disc_r >= 0 THEN greatest(0, (-fd - sqrt(disc_r)) / dd) END AS tr1,
           CASE WHEN disc_r >= 0 THEN least(1, (-fd + sqrt(disc_r)) / dd) END AS tr2
    FROM roots
)
SELECT road_id, pju_id, lit,
       (CASE WHEN v.v1 < 1e-9 THEN 0 WHEN v.v1 > 1 - 1e-9 THEN 1 ELSE v.v1 END) AS as_, (CASE WHEN v.v2 < 1e-9 THEN 0 WHEN v.v2 > 1 - 1e-9 THEN 1 ELSE v.v2 END) AS bs,
       CASE WHEN tr1 < tr2 THEN (CASE WHEN v.v3 < 1e-9 THEN 0 WHEN v.v3 > 1 - 1e-9 THEN 1 ELSE v.v3 END) END AS ar,
       CASE WHEN tr1 < tr2 THEN (CASE WHEN v.v4 < 1e-9 THEN 0 WHEN v.v4 > 1 - 1e-9 THEN 1 ELSE v.v4 END) END AS br
FROM t
CROSS JOIN LATERAL (SELECT (c0 + ts1 * sl) / lu AS v1, (c0 + ts2 * sl) / lu AS v2,
                           (c0 + tr1 * sl) / lu AS v3, (c0 + tr2 * sl) / lu AS v4) v
WHERE ts1 < ts2;
