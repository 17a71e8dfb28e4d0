-- SPDX-License-Identifier: Apache-2.0
--
-- Synthetic data for the lg_ingest benchmark (not a test; pg_prove does not
-- run this directory). psql -v devices=N -v cells=M -f gen.sql on a database
-- with migrations/ and sql/ applied. Cells sit on a square grid over
-- lon 0..10, lat 40..50 with 16-vertex coverage circles; each device has its
-- own 32-vertex authorized area around a home cell, which it covers.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
TRUNCATE alert, ue_location, ue_area, ue, area, cell, node_batch, network_node RESTART IDENTITY CASCADE;

INSERT INTO network_node (name, kind)
SELECT 'mme' || i, 'MME' FROM generate_series(1, 10) i;

-- grid side g = ceil(sqrt(cells)); spacing 10/g degrees
INSERT INTO cell (cell_key, rat, coverage, site, radius_m)
SELECT 'ecgi:001-01:' || lpad(i::text, 7, '0'), 'EUTRA',
       ST_Multi(ST_Buffer(p, 0.4 * s, 4)), p, 0.4 * s * 111000
  FROM (SELECT i, 10.0 / g AS s,
               ST_SetSRID(ST_MakePoint((i % g) * 10.0 / g, 40 + (i / g) * 10.0 / g), 4326) AS p
          FROM generate_series(0, :cells - 1) i,
               LATERAL (SELECT ceil(sqrt(:cells))::int AS g) k) g;

INSERT INTO area (name, geom)
SELECT 'home-' || i, ST_Multi(ST_Buffer(c.site, 1.5 * 10.0 / ceil(sqrt(:cells)), 8))
  FROM generate_series(1, :devices) i
  JOIN cell c ON c.cell_key = 'ecgi:001-01:' || lpad(((i::bigint * 7919) % :cells)::text, 7, '0');

INSERT INTO ue (imsi, external_id, mobility)
SELECT (1010000000000 + i)::text, 'dev' || i || '@bench', 'fixed'
  FROM generate_series(1, :devices) i;

INSERT INTO ue_area (ue_id, area_id) SELECT i, i FROM generate_series(1, :devices) i;

-- One pre-built call per row: 1000 reports from 10 batches of 100 with
-- distinct devices; 95% at their home cell, 5% at a random cell.
DROP TABLE IF EXISTS bench_call;
CREATE TABLE bench_call AS
SELECT c AS id,
       array_agg((r - 1) / 100 + 1 ORDER BY r) AS batch,
       array_agg((1010000000000 + d)::text ORDER BY r) AS supi,
       array_agg('EUTRA'::text ORDER BY r) AS rat,
       array_agg('ecgi:001-01:' || lpad((CASE WHEN random() < 0.95 THEN (d::bigint * 7919) % :cells
                                             ELSE (random() * (:cells - 1))::int END)::text, 7, '0')
                 ORDER BY r) AS cell,
       array_agg(NULL::float8 ORDER BY r) AS nul
  FROM generate_series(1, 200) c,
       LATERAL (SELECT r, ((c - 1) * 1000 + r - 1) % :devices + 1 AS d
                  FROM generate_series(1, 1000) r) x
 GROUP BY c;
CREATE SEQUENCE IF NOT EXISTS bench_seq;
VACUUM ANALYZE;
