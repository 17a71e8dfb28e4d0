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
-- horizon. It times the three database steps of a release (state,
-- changes, store; release.c does the rest in memory) for (1) the first
-- bucket of the horizon, where every device is a change, and (2) the next
-- bucket, where :moved devices reported from another cell, and (3) a
-- prototype of a change query proportional to the changes (below). The inputs of
-- the store are what the C side would pass (zero noise: the cost does not
-- depend on the values). Prints each step's \timing.

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
SELECT u.id, date_trunc('hour', now()) - interval '150 minutes',
       (SELECT id FROM network_node WHERE name = 'bench-release'), 'EUTRA',
       'ecgi:001-01:' || lpad(upper(to_hex(((u.id - 1) % :cells)::int)), 7, '0'), 'unchecked'
FROM ue AS u;
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT u.id, 'anonymous-statistics', now() - interval '1 day' FROM ue AS u;
COMMIT;
VACUUM (ANALYZE) cell, ue, ue_location, consent;

SELECT date_trunc('hour', now()) - interval '2 hours' AS h0,
       date_trunc('hour', now()) - interval '1 hour' AS h1,
       date_trunc('hour', now()) AS h2 \gset
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
                                 d.ues, d.cells, d.day, d.zeros, d.zeros, d.units) AS first_store
FROM t_cells c, t_levels l, t_dev d;
\timing off

-- :moved devices report from the next cell during [h1, h2).
UPDATE ue_location l
SET cell_key = 'ecgi:001-01:' || lpad(upper(to_hex((l.ue_id % :cells)::int)), 7, '0'),
    reported_at = :'h2'::timestamptz - interval '10 minutes'
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
SELECT count(*) AS steady_bucket_changes
FROM lg_counts_continual_changes(:'h0', :'h2', 604800);
\timing off

-- (3) What would make the change query proportional to the changes, as a
-- prototype on this bench cluster only (none of it is in migrations/ or
-- sql/: the first column must be written by sql/ingest.sql's location
-- update, which the counts do not own):
--   ue_location.cell_since   when the device's cell_key last changed (set
--                            only when it changes, so an index on it keeps
--                            reports that stay in their cell HOT);
--   count_horizon_device.seen_until  the stored device's latest report
--                            plus the presence, when its state was written
--                            (it leaves the counts after it unless it
--                            reported again: checked once per presence);
--   partial indexes on consent's granted_at, revoked_at and expires_at.
-- The candidates are the devices that moved in [h1, h2), whose presence
-- may have ended, whose consent changed, or that the bound held back; the
-- comparison of lg_counts_continual_changes then runs for them alone.
\timing off
ALTER TABLE ue_location ADD COLUMN IF NOT EXISTS cell_since timestamptz;
UPDATE ue_location SET cell_since = CASE WHEN ue_id <= :moved THEN reported_at
                                         ELSE :'h0'::timestamptz - interval '1 day' END;
CREATE INDEX IF NOT EXISTS bench_ue_location_cell_since ON ue_location (cell_since);
ALTER TABLE count_horizon_device ADD COLUMN IF NOT EXISTS seen_until timestamptz;
ALTER TABLE count_horizon_device ADD COLUMN IF NOT EXISTS is_held boolean NOT NULL DEFAULT false;
UPDATE count_horizon_device d SET seen_until = l.reported_at + interval '604800 seconds'
FROM ue_location l WHERE l.ue_id = d.ue_id AND l.ue_id > :moved;
CREATE INDEX IF NOT EXISTS bench_chd_seen_until ON count_horizon_device (starts_at, seen_until);
CREATE INDEX IF NOT EXISTS bench_chd_held ON count_horizon_device (starts_at) WHERE is_held;
CREATE INDEX IF NOT EXISTS bench_consent_granted ON consent (granted_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL;
CREATE INDEX IF NOT EXISTS bench_consent_revoked ON consent (revoked_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL AND revoked_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS bench_consent_expires ON consent (expires_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL AND expires_at IS NOT NULL;
VACUUM (ANALYZE) ue_location, count_horizon_device, consent;

CREATE OR REPLACE FUNCTION pg_temp.changes_since(p_starts_at timestamptz, p_prev_end timestamptz,
                                                 p_bucket_end timestamptz, p_presence_s int)
RETURNS TABLE (ue_id bigint, released text, observed text, day bigint, moves_today int,
               moves_released int, units_spent int)
LANGUAGE sql STABLE
AS $fn$
    WITH cand AS (
        SELECT l.ue_id FROM ue_location l
        WHERE l.cell_since >= p_prev_end AND l.cell_since < p_bucket_end
        UNION
        SELECT d.ue_id FROM count_horizon_device d
        WHERE d.starts_at = p_starts_at AND d.seen_until < p_bucket_end
        UNION
        SELECT d.ue_id FROM count_horizon_device d WHERE d.starts_at = p_starts_at AND d.is_held
        UNION
        SELECT k.ue_id FROM consent k
        WHERE k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
          AND (k.granted_at > p_prev_end AND k.granted_at <= p_bucket_end
               OR k.revoked_at > p_prev_end AND k.revoked_at <= p_bucket_end
               OR k.expires_at > p_prev_end AND k.expires_at <= p_bucket_end)
    ), seen AS (
        SELECT l.ue_id, l.cell_key::text AS observed
        FROM cand x
        JOIN ue_location l ON l.ue_id = x.ue_id
        JOIN cell c ON c.cell_key = l.cell_key
        WHERE l.reported_at >= p_bucket_end - make_interval(secs => p_presence_s)
          AND l.reported_at < p_bucket_end
          AND lg_counts_has_consent(l.ue_id, p_bucket_end)
    ), state AS (
        SELECT d.* FROM cand x
        JOIN count_horizon_device d ON d.starts_at = p_starts_at AND d.ue_id = x.ue_id
    )
    SELECT coalesce(s.ue_id, d.ue_id), d.cell_key::text, s.observed, d.day, d.moves_today,
           d.moves_released, d.units_spent
    FROM seen s
    FULL JOIN state d ON d.ue_id = s.ue_id
    WHERE s.observed IS DISTINCT FROM d.cell_key::text
    ORDER BY 1
$fn$;

\timing on
SELECT count(*) AS prototype_changes FROM pg_temp.changes_since(:'h0', :'h1', :'h2', 604800);
SELECT count(*) AS prototype_changes FROM pg_temp.changes_since(:'h0', :'h1', :'h2', 604800);
\timing off
SELECT (SELECT array_agg(c ORDER BY c.ue_id) FROM lg_counts_continual_changes(:'h0', :'h2', 604800) c)
     IS NOT DISTINCT FROM (SELECT array_agg(c ORDER BY c.ue_id) FROM pg_temp.changes_since(:'h0', :'h1', :'h2', 604800) c)
    AS prototype_finds_the_same_changes,
       (SELECT count(*) FROM lg_counts_continual_changes(:'h0', :'h2', 604800)) AS changes;
-- Leave the cluster as migrations/ made it.
DROP INDEX bench_ue_location_cell_since, bench_chd_seen_until, bench_chd_held, bench_consent_granted,
    bench_consent_revoked, bench_consent_expires;
ALTER TABLE ue_location DROP COLUMN cell_since;
ALTER TABLE count_horizon_device DROP COLUMN seen_until, DROP COLUMN is_held;

\timing on
-- (2, continued) The steady bucket's store: its :moved devices' states.
SELECT lg_counts_continual_store(:'h0', 1, 2, :'h1', :'h2', c.cells, l.zeros, l.zeros, c.released,
                                 d.ues, d.cells, d.day, d.ones, d.ones, d.units) AS steady_store
FROM t_cells c, t_levels l, t_dev d;
\timing off
