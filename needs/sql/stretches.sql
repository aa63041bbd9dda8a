-- SPEC §5.4: `missing` pieces of one class joined where they meet end to end
-- at a node of two (ST_LineMerge; per UTM zone). Each piece belongs to the
-- stretch holding its midpoint; u = the stretch's ground length (the sum of
-- its pieces). `weak`/`dark` pieces stand alone. A stretch "ends at a segment end" when one of its end points
-- is a road end point (a junction or a dead end) rather than a disc's edge.
CREATE TEMPORARY TABLE needs_run_stretch ON COMMIT DROP AS
SELECT row_number() OVER () AS sid, x.srid, x.road_class, x.kind, d.geom AS sg
FROM (SELECT srid, road_class, kind, ST_LineMerge(ST_Collect(geom)) AS mg
      FROM needs_run_piece WHERE kind = 'missing' AND (a = 0 OR b = 1) GROUP BY 1, 2, 3) x
CROSS JOIN LATERAL ST_Dump(x.mg) d;
CREATE INDEX ON needs_run_stretch USING gist (sg);
ANALYZE needs_run_stretch;

-- only `missing` pieces reaching a road end can meet another road's piece;
-- every other piece is a stretch of its own (sid = −piece id)
CREATE TEMPORARY TABLE needs_run_member ON COMMIT DROP AS
SELECT p.id,
       CASE WHEN p.kind = 'missing' AND (p.a = 0 OR p.b = 1)
            THEN (SELECT s.sid FROM needs_run_stretch s
                  WHERE s.srid = p.srid AND s.road_class = p.road_class AND s.kind = p.kind
                  ORDER BY s.sg <-> ST_LineInterpolatePoint(p.geom, 0.5) LIMIT 1)
            ELSE -p.id END AS sid
FROM needs_run_piece p;

CREATE TEMPORARY TABLE needs_run_span ON COMMIT DROP AS
SELECT s.sid, s.kind, s.road_class, s.srid, s.sg, sum(p.len_m) AS u,
       bool_or((p.a = 0 AND (ST_DWithin(ST_StartPoint(r.g), ST_StartPoint(s.sg), 0.001)
                             OR ST_DWithin(ST_StartPoint(r.g), ST_EndPoint(s.sg), 0.001)))
            OR (p.b = 1 AND (ST_DWithin(ST_EndPoint(r.g), ST_StartPoint(s.sg), 0.001)
                             OR ST_DWithin(ST_EndPoint(r.g), ST_EndPoint(s.sg), 0.001)))) AS node_end
FROM needs_run_stretch s
JOIN needs_run_member mb ON mb.sid = s.sid
JOIN needs_run_piece p ON p.id = mb.id
JOIN needs_run_road r ON r.id = p.road_id
GROUP BY s.sid, s.kind, s.road_class, s.srid, s.sg
UNION ALL
SELECT mb.sid, p.kind, p.road_class, p.srid, p.geom, p.len_m, p.a = 0 OR p.b = 1
FROM needs_run_member mb JOIN needs_run_piece p ON p.id = mb.id
WHERE mb.sid < 0;

-- proposed poles on `missing` stretches of at least 1 m: n = ⌈u/S⌉ at equal
-- steps u/n, half a step at each end (1 cm tolerance: "exactly S"), none on a
-- stretch shorter than S/2 that ends at a segment end. Each pole goes to the
-- nearest piece of its stretch (its road, chainage and gap).
CREATE TEMPORARY TABLE needs_run_pole ON COMMIT DROP AS
WITH n AS (
    SELECT sp.*, rule.s, greatest(1, ceil((sp.u - %(eps)s) / rule.s))::int AS n
    FROM needs_run_span sp
    JOIN unnest(%(classes)s::text[], %(k)s::float8[], %(h)s::float8[]) AS rule0(road_class, k, h) ON rule0.road_class = sp.road_class
    CROSS JOIN LATERAL (SELECT rule0.k * rule0.h AS s) rule
    WHERE sp.kind = 'missing' AND sp.u >= %(min_piece)s
      AND NOT (sp.u < rule.s / 2 - %(eps)s AND sp.node_end)
), q AS (
    SELECT n.sid, i, n.n, ST_LineInterpolatePoint(n.sg, (i - 0.5) / n.n) AS q
    FROM n CROSS JOIN LATERAL generate_series(1, n.n) i
)
SELECT DISTINCT ON (q.sid, q.i) q.sid, q.i, q.q, p.id AS gap_id, p.road_id
FROM q
JOIN needs_run_member mb ON mb.sid = q.sid
JOIN needs_run_piece p ON p.id = mb.id
ORDER BY q.sid, q.i, ST_Distance(p.geom, q.q), p.id;
