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
-- ago in cell (i % :cells) and an anonymous-statistics consent, and a
-- horizon. It times (1) the first bucket of the horizon, where every
-- device is a change, (2) a steady bucket after the state of every device
-- was stored, where :moved devices reported from another cell since.
-- Prints each step's \timing.

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
INSERT INTO ue_location (ue_id, reported_at, node_id, rat, cell_key, decision)
SELECT u.id, date_trunc('hour', now()) - interval '90 minutes',
       (SELECT id FROM network_node WHERE name = 'bench-release'), 'EUTRA',
       'ecgi:001-01:' || lpad(upper(to_hex(((u.id - 1) % :cells)::int)), 7, '0'), 'unchecked'
FROM ue AS u;
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT u.id, 'anonymous-statistics', now() - interval '1 day' FROM ue AS u;
COMMIT;
VACUUM (ANALYZE) cell, ue, ue_location, consent;

\timing on
-- (1) The first bucket of a horizon: no stored state, every device is a change.
SELECT count(*) AS state_rows
FROM lg_counts_continual_state(date_trunc('hour', now()) - interval '1 hour', 3600, 8760, 32, 3, 10, 1, 1, 0);
SELECT count(*) AS first_bucket_changes
FROM lg_counts_continual_changes(date_trunc('hour', now()) - interval '1 hour', date_trunc('hour', now()), 604800);
\timing off

-- Every device's state as the first release would have stored it.
INSERT INTO count_horizon_device (starts_at, ue_id, cell_key, day, moves_today, moves_released, units_spent)
SELECT date_trunc('hour', now()) - interval '1 hour', l.ue_id, l.cell_key, 0, 0, 0, 1
FROM ue_location l;
-- :moved devices report from the next cell, in the steady bucket.
UPDATE ue_location l
SET cell_key = 'ecgi:001-01:' || lpad(upper(to_hex((l.ue_id % :cells)::int)), 7, '0'),
    reported_at = date_trunc('hour', now()) - interval '10 minutes'
WHERE l.ue_id <= :moved;
VACUUM (ANALYZE) ue_location, count_horizon_device;

\timing on
-- (2) A steady bucket: :moved changes among :devices devices.
SELECT count(*) AS steady_bucket_changes
FROM lg_counts_continual_changes(date_trunc('hour', now()) - interval '1 hour', date_trunc('hour', now()), 604800);
SELECT count(*) AS steady_bucket_changes
FROM lg_counts_continual_changes(date_trunc('hour', now()) - interval '1 hour', date_trunc('hour', now()), 604800);
\timing off
