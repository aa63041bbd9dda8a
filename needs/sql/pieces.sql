-- SPEC §5.3: one sweep along each recomputed road over the interval ends,
-- counting the standard discs (cs), the recorded discs of every status (ca)
-- and those of working/unknown PJU (cl) over each elementary interval:
-- cs = 0 → missing, else ca = 0 → weak, else cl = 0 → dark, else lit (the
-- three sets nest, so the kinds are disjoint). Neighbouring intervals of one
-- kind join into pieces (across slivers of < 2 cm), cut from the road in its zone.
CREATE TEMPORARY TABLE needs_run_piece ON COMMIT DROP AS
WITH ev AS (
    SELECT iv.road_id, e.pos, e.ds, e.da, e.dl
    FROM needs_run_iv iv
    CROSS JOIN LATERAL (VALUES (iv.as_, 1, 0, 0), (iv.bs, -1, 0, 0),
                               (iv.ar, 0, 1, iv.lit::int), (iv.br, 0, -1, -iv.lit::int)) e(pos, ds, da, dl)
    WHERE e.pos IS NOT NULL
    UNION ALL
    SELECT r.id, b.pos, 0, 0, 0 FROM needs_run_road r CROSS JOIN (VALUES (0::float8), (1::float8)) b(pos) WHERE r.run
), pts AS (
    SELECT road_id, pos, sum(ds) AS ds, sum(da) AS da, sum(dl) AS dl FROM ev GROUP BY road_id, pos
), sweep AS (
    SELECT road_id, pos, lead(pos) OVER w AS nxt,
           sum(ds) OVER w AS cs, sum(da) OVER w AS ca, sum(dl) OVER w AS cl
    FROM pts WINDOW w AS (PARTITION BY road_id ORDER BY pos)
), kinds AS (
    SELECT s.road_id, s.pos, s.nxt,
           CASE WHEN cs <= 0 THEN 'missing' WHEN ca <= 0 THEN 'weak' WHEN cl <= 0 THEN 'dark' ELSE 'lit' END AS kind
    FROM sweep s JOIN needs_run_road r ON r.id = s.road_id
    WHERE s.nxt IS NOT NULL AND (s.nxt - s.pos) * r.l > %(sliver)s  -- slivers between discs that meet are dropped
), islands AS (
    SELECT road_id, kind, pos, nxt,
           row_number() OVER (PARTITION BY road_id ORDER BY pos)
           - row_number() OVER (PARTITION BY road_id, kind ORDER BY pos) AS grp
    FROM kinds
), pieces AS (
    SELECT road_id, kind, min(pos) AS a, max(nxt) AS b FROM islands WHERE kind <> 'lit' GROUP BY road_id, kind, grp
)
SELECT nextval(pg_get_serial_sequence('{gaps}', 'id')) AS id, p.road_id, p.kind, p.a, p.b, r.srid, r.road_class,
       (p.b - p.a) * r.l AS len_m, ST_LineSubstring(r.g, p.a, p.b) AS geom
FROM pieces p JOIN needs_run_road r ON r.id = p.road_id;
