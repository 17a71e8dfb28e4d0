-- SPDX-License-Identifier: Apache-2.0
--
-- counts.sql: the release `make bench` phase (e) answers count queries
-- from, stored directly with lg_counts_store_release (sql/counts.sql) as the
-- daemon's release.c would store it:
--
--   psql CONNINFO -v devices=1000000 -v cells=100000 -f tests/bench/counts.sql
--
-- One release for the last whole hour, over every cell of provision.sql
-- (same keys: ecgi:001-01:<j as 7 hex digits>), epsilon 1/2. Each cell's
-- count is its provisioned home population (device i lives in cell
-- i % :cells, so :devices / :cells devices per cell, give or take one),
-- as if every device had consented to anonymous statistics, plus discrete
-- Laplace noise of scale 1/epsilon = 2 (the difference of two geometric
-- draws). The noise is drawn here with PostgreSQL's seeded random(): it
-- only has to look like a release for the query's cost to be the real one;
-- the privacy of the daemon's own sampler is tested elsewhere
-- (tests/unit/counts/test_dp.c). Reading the counts from ue_location instead would
-- cost a scan of every device for no difference in what is measured.
--
-- The bench cluster is private: earlier releases are deleted first, so the
-- one stored here is the latest, the one an un-timed query reads.

\set ON_ERROR_STOP on
\if :{?devices}
\else
\set devices 1000000
\endif
\if :{?cells}
\else
\set cells 100000
\endif

BEGIN;
DELETE FROM count_release;
SELECT setseed(0.42);
SELECT lg_counts_store_release(
           date_trunc('hour', now()) - interval '1 hour', date_trunc('hour', now()), 1, 2,
           array_agg(cell_key ORDER BY j), array_agg(noisy ORDER BY j)) AS stored
FROM (SELECT j,
             'ecgi:001-01:' || lpad(upper(to_hex(j)), 7, '0') AS cell_key,
             (:devices / :cells + CASE WHEN j < :devices % :cells THEN 1 ELSE 0 END)
             + floor(-ln(1 - random()) / 0.5)::bigint
             - floor(-ln(1 - random()) / 0.5)::bigint AS noisy
      FROM generate_series(0, :cells - 1) AS j) AS c;
COMMIT;
ANALYZE count_release, count_release_cell;
-- Build what lg_counts_query derives from the cell table and this release
-- (migrations/0012_counts_fast.sql) now, not in the first timed query.
SELECT lg_counts_refresh();
SELECT lg_counts_tile_releases(array_agg(id)) FROM count_release;
ANALYZE count_release_tile;
