-- SPEC §5 on every road of the run, in one statement:
-- positions = chainages of the counted PJU plus both road ends; each pair of
-- neighbours is a gap: internal g > S leaves g − S under-lit (centred), an
-- end gap e > S/2 leaves e − S/2 (at the end), a road with no PJU is
-- under-lit over its whole length. Proposed poles: internal n = ⌈g/S⌉ − 1 at
-- steps g/(n+1); end n = ⌈(e − S/2)/S⌉ at steps s = e/(n + ½), the first s/2
-- from the road end; unlit (L ≥ S/2) n = ⌈L/S⌉ at steps L/n, half a step at
-- each end. Poles stand W/2 + 0.7 m off the centreline, alternating sides
-- when W > H, else on the side most existing PJU of the road stand (left
-- when none). %(eps)s (1 mm) absorbs floating-point noise in comparisons.
WITH pos AS (
    SELECT r.id AS road_id, 0 AS ord, 0.0::float8 AS c FROM needs_run_road r
    UNION ALL
    SELECT m.road_id, 1, m.chainage_m FROM {matches} m JOIN needs_run_road r ON r.id = m.road_id
    UNION ALL
    SELECT r.id, 2, r.l FROM needs_run_road r
), pairs AS (
    SELECT road_id, ord, c,
           lag(ord) OVER w AS prev_ord, lag(c) OVER w AS prev_c
    FROM pos
    WINDOW w AS (PARTITION BY road_id ORDER BY c, ord)
), raw AS (
    SELECT r.*, p.prev_c AS a, p.c AS b, p.c - p.prev_c AS gap,
           CASE WHEN p.prev_ord = 0 AND p.ord = 2 THEN 'unlit'
                WHEN p.prev_ord = 0 THEN 'start'
                WHEN p.ord = 2 THEN 'end'
                ELSE 'internal' END AS kind
    FROM pairs p JOIN needs_run_road r ON r.id = p.road_id
    WHERE p.prev_ord IS NOT NULL
), gap AS (
    SELECT raw.*,
           CASE kind WHEN 'internal' THEN a + s / 2 WHEN 'end' THEN a + s / 2 ELSE a END AS start_m,
           CASE kind WHEN 'internal' THEN b - s / 2 WHEN 'start' THEN b - s / 2 ELSE b END AS end_m,
           CASE kind
               WHEN 'internal' THEN ceil((gap - %(eps)s) / s)::int - 1
               WHEN 'unlit' THEN CASE WHEN gap >= s / 2 - %(eps)s THEN greatest(1, ceil((gap - %(eps)s) / s)::int) ELSE 0 END
               ELSE greatest(1, ceil((gap - s / 2 - %(eps)s) / s)::int)
           END AS n
    FROM raw
    WHERE CASE kind WHEN 'internal' THEN gap > s + %(eps)s
                    WHEN 'unlit' THEN gap > 0
                    ELSE gap > s / 2 + %(eps)s END
), scored AS (
    SELECT gap.*,
           ST_LineSubstring(gap.g, least(1, start_m / l), least(1, end_m / l)) AS gu,
           coalesce((SELECT min(v.points) FROM unnest(%(classes)s::text[], %(class_points)s::float8[]) v(cls, points)
                     WHERE v.cls = gap.road_class), 0)
           + least((end_m - start_m) / %(length_divisor)s, %(length_points)s) AS base
    FROM gap
), ins AS (
    INSERT INTO {gaps} (road_id, road_class, kind, start_m, end_m, length_m, gap_m, proposed_count,
                        pole_height_m, spacing_factor, spacing_m, width_m, reach_m, offset_m, road_length_m,
                        priority, kecamatan_id, kelurahan_id, computed_at, geom)
    SELECT id, road_class, kind, start_m, end_m, end_m - start_m, gap, n,
           h, k, s, w, w / 2 + %(reach_extra)s, w / 2 + %(pole_offset)s, l,
           base + CASE WHEN EXISTS (
               SELECT 1 FROM {facilities} fa
               WHERE fa.geom && ST_Transform(ST_Expand(gu, %(facility_m)s + 1), %(storage_srid)s)
                 AND ST_DWithin(ST_Transform(fa.geom, srid), gu, %(facility_m)s)
           ) THEN %(facility_points)s ELSE 0 END,
           kecamatan_id, kelurahan_id, now(), ST_Transform(gu, %(storage_srid)s)
    FROM scored
    RETURNING id, road_id, kind, start_m, end_m, gap_m, proposed_count, priority
), poles AS (
    SELECT ins.id AS gap_id, ins.priority, r.*, i,
           CASE ins.kind
               WHEN 'internal' THEN (ins.start_m - r.s / 2) + i * ins.gap_m / (ins.proposed_count + 1)
               WHEN 'start' THEN ins.gap_m / (ins.proposed_count + 0.5) * (i - 0.5)
               WHEN 'end' THEN r.l - ins.gap_m / (ins.proposed_count + 0.5) * (i - 0.5)
               ELSE (i - 0.5) * r.l / ins.proposed_count
           END AS c
    FROM ins
    JOIN needs_run_road r ON r.id = ins.road_id
    CROSS JOIN LATERAL generate_series(1, ins.proposed_count) i
), majority AS (
    SELECT m.road_id, CASE WHEN count(*) FILTER (WHERE side = 'right') > count(*) FILTER (WHERE side = 'left')
                           THEN 'right' ELSE 'left' END AS side
    FROM {matches} m JOIN needs_run_road r ON r.id = m.road_id
    GROUP BY m.road_id
), sided AS (
    SELECT poles.*,
           CASE WHEN poles.w > poles.h
                THEN CASE WHEN row_number() OVER (PARTITION BY poles.id ORDER BY poles.c) %% 2 = 1 THEN 'left' ELSE 'right' END
                ELSE coalesce(mj.side, 'left') END AS side,
           ST_LineInterpolatePoint(poles.g, least(1, greatest(0, poles.c / poles.l))) AS q,
           ST_LineInterpolatePoint(poles.g, greatest(0, poles.c / poles.l - 0.5 / ST_Length(poles.g))) AS pa,
           ST_LineInterpolatePoint(poles.g, least(1, poles.c / poles.l + 0.5 / ST_Length(poles.g))) AS pb
    FROM poles LEFT JOIN majority mj ON mj.road_id = poles.id
), placed AS (
    SELECT sided.*,
           (CASE side WHEN 'left' THEN 1 ELSE -1 END) * (w / 2 + %(pole_offset)s)
               / nullif(sqrt((ST_X(pb) - ST_X(pa)) ^ 2 + (ST_Y(pb) - ST_Y(pa)) ^ 2), 0) AS f
    FROM sided
)
INSERT INTO {proposed} (road_id, gap_id, road_class, chainage_m, side, pole_height_m, spacing_factor, spacing_m,
                        width_m, reach_m, offset_m, road_length_m, priority, kecamatan_id, kelurahan_id,
                        computed_at, estimated_cost, geom)
SELECT id, gap_id, road_class, c, side, h, k, s, w, w / 2 + %(reach_extra)s, w / 2 + %(pole_offset)s, l, priority,
       kecamatan_id, kelurahan_id, now(),
       (SELECT v.cost FROM unnest(%(classes)s::text[], %(pole_costs)s::numeric[]) v(cls, cost) WHERE v.cls = placed.road_class),
       ST_Transform(ST_Translate(q, -coalesce(f, 0) * (ST_Y(pb) - ST_Y(pa)), coalesce(f, 0) * (ST_X(pb) - ST_X(pa))),
                    %(storage_srid)s)
FROM placed;
