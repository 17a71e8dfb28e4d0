-- SPDX-License-Identifier: Apache-2.0
--
-- provision.sql: the synthetic population of `make bench`, made set-based
-- with generate_series on the locguard schema (migrations/0001_init.sql).
--
--   psql CONNINFO -v devices=1000000 -v cells=100000 -f tests/bench/provision.sql
--
-- * :cells EUTRA cells, squares on a grid over lon 2..8, lat 44..50 (roughly
--   France); cell j has key ecgi:001-01:<j as 7 upper-case hex digits>, which
--   is what `mme-sim load` and `ingest-direct` send (printf("%07X", j)).
-- * :devices devices; device i has IMSI 001010000000000 + i (15 digits), home
--   cell i % :cells, and its own authorized area: a regular polygon of
--   8..64 vertices around the home cell, slightly larger than
--   the cell, so a home-cell report is "inside", a neighbour cell
--   "ambiguous" and any other cell "outside". 98% are 'fixed', 2%
--   'unrestricted' (i % 50 = 0). Device i's polygon has 8 + (i % 456) % 57
--   vertices.
-- * network nodes mme-1, mme-2 (the simulator's certificates) and
--   bench-direct (ingest-direct), all enabled.
--
-- It is meant for the benchmark's own cluster: it empties ue, area and cell
-- (TRUNCATE ... CASCADE, which also empties what references them) before
-- loading, so running it twice gives the same population. Gives every
-- device a latest location at home and pre-fills the area/cell verdict cache for the home cells (steady state). Ends with VACUUM
-- ANALYZE so the benchmark reads settled pages and fresh statistics.

\set ON_ERROR_STOP on
\if :{?devices}
\else
\set devices 1000000
\endif
\if :{?cells}
\else
\set cells 100000
\endif
\timing on

-- Grid geometry: side x side squares of `step` degrees.
SELECT ceil(sqrt(:cells))::int AS side, 6.0 / ceil(sqrt(:cells)) AS step \gset

BEGIN;

INSERT INTO network_node (name, kind)
VALUES ('mme-1', 'MME'), ('mme-2', 'MME'), ('bench-direct', 'MME')
ON CONFLICT (name) DO UPDATE SET enabled = true;

TRUNCATE ue, area, cell CASCADE;

INSERT INTO cell (cell_key, rat, coverage, site, radius_m)
SELECT 'ecgi:001-01:' || lpad(upper(to_hex(j)), 7, '0'),
       'EUTRA',
       ST_Multi(ST_MakeEnvelope(x0, y0, x0 + :step, y0 + :step, 4326)),
       ST_SetSRID(ST_MakePoint(x0 + :step / 2, y0 + :step / 2), 4326),
       (:step * 111000 * 0.7)::real
FROM (SELECT j,
             2.0 + (j % :side) * :step AS x0,
             44.0 + (j / :side) * :step AS y0
      FROM generate_series(0, :cells - 1) AS j) AS g;

INSERT INTO ue (id, imsi, msisdn, external_id, mobility)
SELECT i + 1,
       lpad((1010000000000 + i)::text, 15, '0'),
       (33600000000 + i)::text,
       'bench-' || i || '@bench.example',
       CASE WHEN i % 50 = 0 THEN 'unrestricted' ELSE 'fixed' END
FROM generate_series(0, :devices - 1) AS i;
SELECT setval(pg_get_serial_sequence('ue', 'id'), :devices);

-- One area per device: a regular polygon of n = 8..64 vertices on a circle
-- of radius 0.8 * step (the inscribed radius of an octagon of that size
-- still covers the whole square cell), centred on the home cell. The 456
-- shapes (57 vertex counts x 8 rotations) are built once and translated per
-- device: building 1M polygons point by point takes minutes, translating
-- them seconds. Angles use k % n so each ring closes exactly.
CREATE TEMP TABLE bench_shape ON COMMIT DROP AS
SELECT t,
       ST_Multi(ST_MakePolygon(ST_MakeLine(
           ARRAY(SELECT ST_MakePoint(0.8 * :step * cos(rot + 2 * pi() * (k % n) / n),
                                     0.8 * :step * sin(rot + 2 * pi() * (k % n) / n))
                 FROM generate_series(0, n) AS k))))::geometry(MultiPolygon, 4326) AS g
FROM (SELECT t, 8 + t % 57 AS n, (t / 57) * pi() / 32 AS rot
      FROM generate_series(0, 455) AS t) AS s;

INSERT INTO area (id, name, geom)
SELECT d.i + 1, 'bench-' || d.i, ST_Translate(s.g, d.cx, d.cy)
FROM (SELECT i,
             2.0 + ((i % :cells) % :side + 0.5) * :step AS cx,
             44.0 + ((i % :cells) / :side + 0.5) * :step AS cy
      FROM generate_series(0, :devices - 1) AS i) AS d
JOIN bench_shape AS s ON s.t = d.i % 456;
SELECT setval(pg_get_serial_sequence('area', 'id'), :devices);

-- Both ends were just inserted in this transaction, so the per-row foreign
-- key checks (a third of the load time) are skipped: replica mode turns
-- them off for this one statement (the bench cluster runs as superuser).
SET LOCAL session_replication_role = replica;
INSERT INTO ue_area (ue_id, area_id)
SELECT i, i FROM generate_series(1, :devices) AS i;
SET LOCAL session_replication_role = origin;

-- Steady state: every device has been seen before, at home, inside its
-- area, an hour ago, so the benchmark updates latest locations as a running
-- system does instead of inserting them for the first time.
INSERT INTO ue_location (ue_id, reported_at, node_id, rat, cell_key, decision, zone_state)
SELECT u.id, now() - interval '1 hour',
       (SELECT id FROM network_node WHERE name = 'mme-1'), 'EUTRA',
       'ecgi:001-01:' || lpad(upper(to_hex(((u.id - 1) % :cells)::int)), 7, '0'),
       CASE WHEN u.mobility = 'unrestricted' THEN 'unchecked' ELSE 'inside' END,
       CASE WHEN u.mobility = 'unrestricted' THEN 'unknown' ELSE 'inside' END
FROM ue AS u;

COMMIT;

-- Steady state: a running system has long cached the verdict of each
-- device's area against the cells it reports from (area_cell_verdict,
-- migrations/0002). Fill it for the home cells, which is what a benchmark
-- run hits 99% of the time, so the numbers measure the hot path and not
-- the first minutes after provisioning. Skipped when the cache does not
-- exist in this schema version.
SELECT to_regclass('area_cell_verdict') IS NOT NULL AS has_verdict_cache \gset
\if :has_verdict_cache
BEGIN;
SET LOCAL session_replication_role = replica; -- both ends exist: skip the FK checks
INSERT INTO area_cell_verdict (area_id, cell_key, verdict)
SELECT a.id, c.cell_key, lg_area_cell_verdict(a.geom, c.coverage)
FROM area AS a
JOIN cell AS c ON c.cell_key = 'ecgi:001-01:' || lpad(upper(to_hex(((a.id - 1) % :cells)::int)), 7, '0')
WHERE a.name LIKE 'bench-%'
ON CONFLICT DO NOTHING;
COMMIT;
\endif

VACUUM (ANALYZE) network_node, cell, ue, area, ue_area, ue_location;
VACUUM (ANALYZE) area_cell_verdict;

SELECT (SELECT count(*) FROM ue) AS devices,
       (SELECT count(*) FROM cell) AS cells,
       (SELECT count(*) FROM area) AS areas;
