-- The stored results of the run: under-lit pieces (stretch of at least 1 m),
-- proposed poles (class standard lamp and price, W/2 + 0.7 m off the
-- centreline: alternating sides when W > H, else the side most PJU of the
-- road stand on, left when none) and the PJU/road matches with the weak
-- metres an upgrade reaches and the dark metres a repair restores.
CREATE TEMPORARY TABLE needs_run_kept ON COMMIT DROP AS
SELECT p.*, sp.u, sp.sid, coalesce(po.n, 0) AS n_poles
FROM needs_run_piece p
JOIN needs_run_member mb ON mb.id = p.id
JOIN needs_run_span sp ON sp.sid = mb.sid
LEFT JOIN (SELECT gap_id, count(*) AS n FROM needs_run_pole GROUP BY gap_id) po ON po.gap_id = p.id
WHERE sp.u >= %(min_piece)s;

WITH points AS MATERIALIZED (
    SELECT * FROM unnest(%(classes)s::text[], %(class_points)s::float8[]) v(cls, points)
), scored AS (
    SELECT k.*, r.kecamatan_id, r.kelurahan_id, r.h, r.k AS kk, r.s, r.w, r.l,
           coalesce(pt.points, 0) + least(k.len_m / %(length_divisor)s, %(length_points)s) AS base
    FROM needs_run_kept k JOIN needs_run_road r ON r.id = k.road_id LEFT JOIN points pt ON pt.cls = k.road_class
)
INSERT INTO {gaps} (id, road_id, road_class, kind, start_m, end_m, length_m, gap_m, proposed_count,
                    pole_height_m, spacing_factor, spacing_m, width_m, reach_m, offset_m, road_length_m,
                    priority, kecamatan_id, kelurahan_id, computed_at, geom)
SELECT id, road_id, road_class, kind, a * l, b * l, len_m, u, n_poles,
       h, kk, s, w, w / 2 + %(reach_extra)s, w / 2 + %(pole_offset)s, l,
       base + CASE WHEN EXISTS (
           SELECT 1 FROM {facilities} fa
           WHERE fa.geom && ST_Transform(ST_Expand(scored.geom, %(facility_m)s + 1), %(storage_srid)s)
             AND ST_DWithin(ST_Transform(fa.geom, scored.srid), scored.geom, %(facility_m)s)
       ) THEN %(facility_points)s ELSE 0 END,
       kecamatan_id, kelurahan_id, now(), ST_Transform(geom, %(storage_srid)s)
FROM scored;

WITH cls AS MATERIALIZED (
    SELECT * FROM unnest(%(classes)s::text[], %(pole_costs)s::numeric[], %(lamps)s::jsonb[]) v(cls, cost, lamp)
), majority AS (
    SELECT m.road_id, CASE WHEN count(*) FILTER (WHERE side = 'right') > count(*) FILTER (WHERE side = 'left')
                           THEN 'right' ELSE 'left' END AS side
    FROM needs_run_match m WHERE m.run
    GROUP BY m.road_id
), poles AS (
    SELECT po.*, r.g, r.l, r.lu, r.f, r.w, r.h, r.k, r.s, r.road_class, r.kecamatan_id, r.kelurahan_id,
           ST_LineLocatePoint(r.g, po.q) AS frac, g.priority
    FROM needs_run_pole po
    JOIN needs_run_road r ON r.id = po.road_id
    JOIN {gaps} g ON g.id = po.gap_id
), sided AS MATERIALIZED (
    SELECT poles.*,
           CASE WHEN poles.w > poles.h
                THEN CASE WHEN row_number() OVER (PARTITION BY poles.sid ORDER BY poles.i) %% 2 = 1 THEN 'left' ELSE 'right' END
                ELSE coalesce(mj.side, 'left') END AS side,
           ST_LineInterpolatePoint(poles.g, poles.frac) AS on_line,
           ST_LineInterpolatePoint(poles.g, greatest(0, poles.frac - 0.5 / poles.lu)) AS pa,
           ST_LineInterpolatePoint(poles.g, least(1, poles.frac + 0.5 / poles.lu)) AS pb
    FROM poles LEFT JOIN majority mj ON mj.road_id = poles.road_id
), placed AS MATERIALIZED (
    SELECT sided.*,
           (CASE side WHEN 'left' THEN 1 ELSE -1 END) * (w / 2 + %(pole_offset)s) * f
               / nullif(sqrt((ST_X(pb) - ST_X(pa)) ^ 2 + (ST_Y(pb) - ST_Y(pa)) ^ 2), 0) AS fo
    FROM sided
)
INSERT INTO {proposed} (road_id, gap_id, road_class, chainage_m, side, pole_height_m, spacing_factor, spacing_m,
                        width_m, reach_m, offset_m, road_length_m, priority, kecamatan_id, kelurahan_id,
                        computed_at, estimated_cost, lamp, geom)
SELECT road_id, gap_id, road_class, frac * l, side, h, k, s, w, w / 2 + %(reach_extra)s, w / 2 + %(pole_offset)s, l,
       priority, kecamatan_id, kelurahan_id, now(),
       cls.cost, cls.lamp,
       ST_Transform(ST_Translate(on_line, -coalesce(fo, 0) * (ST_Y(pb) - ST_Y(pa)), coalesce(fo, 0) * (ST_X(pb) - ST_X(pa))),
                    %(storage_srid)s)
FROM placed LEFT JOIN cls ON cls.cls = placed.road_class;

WITH over AS (
    SELECT iv.road_id, iv.pju_id,
           sum(greatest(0, least(iv.bs, k.b) - greatest(iv.as_, k.a)) * r.l) FILTER (WHERE k.kind = 'weak') AS weak_m,
           sum(greatest(0, least(iv.br, k.b) - greatest(iv.ar, k.a)) * r.l) FILTER (WHERE k.kind = 'dark' AND NOT iv.lit) AS dark_m
    FROM needs_run_iv iv
    JOIN needs_run_kept k ON k.road_id = iv.road_id AND k.kind IN ('weak', 'dark') AND k.a < iv.bs AND k.b > iv.as_
    JOIN needs_run_road r ON r.id = iv.road_id
    GROUP BY iv.road_id, iv.pju_id
)
INSERT INTO {matches} (road_id, pju_id, chainage_m, side, radius_m, standard_radius_m, weak_m, dark_m, upgrade)
SELECT m.road_id, m.pju_id, m.chainage_m, m.side, m.rr, m.rs,
       CASE WHEN m.rr < m.rs - 1e-9 THEN coalesce(o.weak_m, 0) ELSE 0 END,
       coalesce(o.dark_m, 0),
       m.rr < m.rs - 1e-9 AND coalesce(o.weak_m, 0) > %(eps)s
FROM needs_run_match m
LEFT JOIN over o ON o.road_id = m.road_id AND o.pju_id = m.pju_id
WHERE m.run;
