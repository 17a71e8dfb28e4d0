-- SPDX-License-Identifier: Apache-2.0
--
-- release.sql: the database time of the continual counter's hourly release
-- (sql/counts.sql lg_counts_continual_changes, the query that finds the
-- devices whose counted cell changed), on a schema-only cluster:
--
--   psql CONNINFO -v devices=1000000 -v cells=100000 -v moved=10000 -f tests/bench/release.sql
--
-- It builds its own data (no areas: the release does not read them):
-- :cells cells, :devices devices, each with a location reported an hour
-- ago in cell (i % :cells), written a day ago (cell_since), and an
-- anonymous-statistics consent, and a horizon. It times the three database
-- steps of a release (state, changes, store; release.c does the rest in
-- memory) for (1) the first bucket of the horizon, where every device is a
-- change (the full comparison), and (2) the next bucket, where :moved
-- devices reported from another cell (written now, as the ingest writes
-- cell_since): the change query by candidates, then the full comparison
-- for the same bucket, for comparison, and whether both give the same
-- rows. The inputs of the store are what the C side would pass (zero
-- noise: the cost does not depend on the values). Prints each step's
-- \timing.

\set ON_ERROR_STOP on
\if :{?devices}
\else
\set devices 1000000
\endif
\if :{?cells}
\else
\set cells 100000
\endif
\if :{?moved}
\else
\set moved 10000
\endif

SET client_min_messages = warning;
BEGIN;
TRUNCATE ue, cell, count_horizon CASCADE;
INSERT INTO network_node (name, kind) VALUES ('bench-release', 'MME') ON CONFLICT (name) DO NOTHING;
INSERT INTO cell (cell_key, rat, coverage)
SELECT 'ecgi:001-01:' || lpad(upper(to_hex(j)), 7, '0'), 'EUTRA',
       ST_Multi(ST_MakeEnvelope(2 + (j % 300) * 0.02, 44 + (j / 300) * 0.02,
                                2 + (j % 300 + 1) * 0.02, 44 + (j / 300 + 1) * 0.02, 4326))
FROM generate_series(0, :cells - 1) AS j;
INSERT INTO ue (id, imsi, external_id, mobility)
SELECT i + 1, lpad((1010000000000 + i)::text, 15, '0'), 'rel-' || i || '@bench.example', 'fixed'
FROM generate_series(0, :devices - 1) AS i;
SELECT setval(pg_get_serial_sequence('ue', 'id'), :devices);
INSERT INTO ue_location (ue_id, reported_at, cell_since, node_id, rat, cell_key, decision)
SELECT u.id, date_trunc('hour', now()) - interval '150 minutes',
       date_trunc('hour', now()) - interval '1 day',
       (SELECT id FROM network_node WHERE name = 'bench-release'), 'EUTRA',
       'ecgi:001-01:' || lpad(upper(to_hex(((u.id - 1) % :cells)::int)), 7, '0'), 'unchecked'
FROM ue AS u;
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT u.id, 'anonymous-statistics', now() - interval '1 day' FROM ue AS u;
COMMIT;
VACUUM (ANALYZE) cell, ue, ue_location, consent;

SELECT date_trunc('hour', now()) - interval '2 hours' AS h0,
       date_trunc('hour', now()) - interval '1 hour' AS h1,
       date_trunc('hour', now()) AS h2,
       (SELECT version FROM count_geo_version) AS geo \gset
-- What the C side would hand lg_counts_continual_store (not timed): the
-- cells, zero tree state (3 levels at k 32 over a year), the released
-- counts, and the devices' bounded states.
CREATE TEMP TABLE t_cells AS
SELECT array_agg(cell_key::text ORDER BY cell_key COLLATE "C") AS cells,
       array_agg(0::bigint ORDER BY cell_key COLLATE "C") AS released
FROM cell;
CREATE TEMP TABLE t_levels AS
SELECT array_agg(0::bigint) AS zeros FROM cell, generate_series(1, 3);
CREATE TEMP TABLE t_dev AS
SELECT array_agg(ue_id ORDER BY ue_id) AS ues, array_agg(cell_key::text ORDER BY ue_id) AS cells,
       array_agg(0::bigint ORDER BY ue_id) AS day, array_agg(0 ORDER BY ue_id) AS zeros,
       array_agg(1 ORDER BY ue_id) AS units
FROM ue_location;

\timing on
-- (1) The first bucket of a horizon, [h0, h1): no stored state, every device is a change.
SELECT count(*) AS state_rows
FROM lg_counts_continual_state(:'h0', 3600, 8760, 32, 3, 10, 1, 1, 0);
SELECT count(*) AS first_bucket_changes
FROM lg_counts_continual_changes(:'h0', :'h1', 604800);
SELECT lg_counts_continual_store(:'h0', 0, 1, :'h0', :'h1', c.cells, l.zeros, l.zeros, c.released,
                                 d.ues, d.cells, d.day, d.zeros, d.zeros, d.units, NULL, 604800,
                                 :geo) AS first_store
FROM t_cells c, t_levels l, t_dev d;
\timing off

-- :moved devices report from the next cell during [h1, h2).
UPDATE ue_location l
SET cell_key = 'ecgi:001-01:' || lpad(upper(to_hex((l.ue_id % :cells)::int)), 7, '0'),
    reported_at = :'h2'::timestamptz - interval '10 minutes', cell_since = now()
WHERE l.ue_id <= :moved;
DROP TABLE t_dev;
CREATE TEMP TABLE t_dev AS
SELECT array_agg(ue_id ORDER BY ue_id) AS ues, array_agg(cell_key::text ORDER BY ue_id) AS cells,
       array_agg(0::bigint ORDER BY ue_id) AS day, array_agg(1 ORDER BY ue_id) AS ones,
       array_agg(3 ORDER BY ue_id) AS units
FROM ue_location WHERE ue_id <= :moved;
VACUUM (ANALYZE) ue_location, count_horizon_device, count_horizon;

\timing on
-- (2) A steady bucket, [h1, h2): :moved changes among :devices devices.
SELECT count(*) AS state_rows
FROM lg_counts_continual_state(:'h0', 3600, 8760, 32, 3, 10, 1, 1, 0);
SELECT lg_counts_continual_is_full(:'h0', 604800) AS steady_bucket_is_full;
SELECT count(*) AS steady_bucket_changes
FROM lg_counts_continual_changes(:'h0', :'h2', 604800);
SELECT count(*) AS steady_bucket_changes
FROM lg_counts_continual_changes(:'h0', :'h2', 604800);
-- The full comparison, for the same bucket (what it cost before 0027).
SELECT count(*) AS full_comparison_changes
FROM lg_counts_continual_changes_full(:'h0', :'h2', 604800);
\timing off
SELECT (SELECT array_agg(c ORDER BY c.ue_id)::text FROM lg_counts_continual_changes_full(:'h0', :'h2', 604800) c)
     IS NOT DISTINCT FROM (SELECT array_agg(c ORDER BY c.ue_id)::text FROM lg_counts_continual_changes(:'h0', :'h2', 604800) c)
    AS candidates_find_the_same_changes;

\timing on
-- (2, continued) The steady bucket's store: its :moved devices' states.
SELECT lg_counts_continual_store(:'h0', 1, 2, :'h1', :'h2', c.cells, l.zeros, l.zeros, c.released,
                                 d.ues, d.cells, d.day, d.ones, d.ones, d.units, NULL, 604800,
                                 :geo) AS steady_store
FROM t_cells c, t_levels l, t_dev d;
\timing off
