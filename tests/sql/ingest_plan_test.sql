-- SPDX-License-Identifier: Apache-2.0
--
-- lg_ingest's plans stay linear whatever the statistics say. Its steps run
-- with generic plans (plan_cache_mode = force_generic_plan: one plan per
-- session, not one per call), made from the statistics of the moment. A
-- database whose tables were analyzed while nearly empty (a fresh
-- deployment, before the devices were provisioned) must not get a plan that
-- scans a whole table once per report once the tables have filled: before
-- the steps drove every table access from the call's reports, a 1,000-report
-- call took 92 times longer with 48,000 stored rows than with none.
--
-- The fixture is analyzed empty, then filled; the session's plans are made
-- by a warm-up call; a 1,000-report call is timed before and after six
-- 8,000-report calls have filled ue_location. The test measures a ratio (the
-- faster of two calls each side), not an absolute time.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(3);

INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME');
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage)
SELECT 'ecgi:001-01:' || lpad(i::text, 7, '0'), 'EUTRA',
       ST_Multi(ST_MakeEnvelope(2.0 + (i % 8) * 0.02, 48.0 + (i / 8) * 0.02,
                                2.015 + (i % 8) * 0.02, 48.015 + (i / 8) * 0.02, 4326))
  FROM generate_series(0, 63) i;
-- The statistics of a database with no devices yet.
ANALYZE network_node, area, cell, ue, ue_area, ue_location, node_batch, area_cell_verdict;

INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy)
SELECT '00101' || lpad(i::text, 10, '0'), 'plan' || i || '@test', 'fixed', 'inside'
  FROM generate_series(1, 56000) i;
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a WHERE u.external_id LIKE 'plan%@test';

-- call(first, n, seq): one lg_ingest call of n reports, one per device
-- first .. first + n - 1, cells varying, in one batch of mme-a. Returns the
-- call's seconds and checks that the batch was accepted.
CREATE FUNCTION pg_temp.call(p_first int, p_n int, p_seq bigint)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    r record;
    supi text[]; ts bigint[]; cell text[]; b int[]; rat text[]; nul float8[];
BEGIN
    SELECT array_agg('00101' || lpad((p_first + g)::text, 10, '0') ORDER BY g),
           array_agg(1700000000000000 + p_seq * 1000000 + g ORDER BY g),
           array_agg('ecgi:001-01:' || lpad(((g * 7) % 64)::text, 7, '0') ORDER BY g),
           array_agg(1 ORDER BY g), array_agg('EUTRA'::text ORDER BY g),
           array_agg(NULL::float8 ORDER BY g)
      INTO supi, ts, cell, b, rat, nul
      FROM generate_series(0, p_n - 1) g;
    t0 := clock_timestamp();
    SELECT * INTO r FROM lg_ingest(ARRAY['mme-a'], ARRAY[p_seq], 1000000, 2, b, supi, ts, rat,
                                   cell, nul, nul, nul, 0);
    IF r.batch_status[1] <> 'accepted' THEN
        RAISE EXCEPTION 'the batch was not accepted: %', r.batch_status;
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0);
END
$$;

CREATE TEMP TABLE t (name text PRIMARY KEY, secs float8);

-- Warm-up: the session's generic plans are made now, from the empty statistics.
SELECT pg_temp.call(55001, 1000, 1) IS NOT NULL;

INSERT INTO t VALUES ('before', least(pg_temp.call(1, 1000, 2), pg_temp.call(1001, 1000, 3)));
SELECT pg_temp.call(2001 + k * 8000, 8000, 10 + k) FROM generate_series(0, 5) k;
SELECT is((SELECT count(*) FROM ue_location), 51000::bigint,
          'the fill calls stored a row per device');
INSERT INTO t VALUES ('after', least(pg_temp.call(50001, 1000, 20),
                                     pg_temp.call(51001, 1000, 21)));

SELECT cmp_ok((SELECT secs FROM t WHERE name = 'after') / (SELECT secs FROM t WHERE name = 'before'),
              '<=', 3.0::float8,
              format('a 1000-report call with 51,000 stored rows (%s s) within 3x of one with 1,000 (%s s)',
                     round((SELECT secs FROM t WHERE name = 'after')::numeric, 3),
                     round((SELECT secs FROM t WHERE name = 'before')::numeric, 3)));
-- A repeated report of a stored device (the general path's rows) as well.
SELECT cmp_ok(least(pg_temp.call(50001, 1000, 30), pg_temp.call(51001, 1000, 31))
                  / (SELECT secs FROM t WHERE name = 'before'),
              '<=', 3.0::float8, 'a call over stored rows within 3x as well');

SELECT * FROM finish();
ROLLBACK;
