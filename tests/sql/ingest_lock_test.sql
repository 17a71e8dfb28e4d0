-- SPDX-License-Identifier: Apache-2.0
--
-- lg_ingest's lock order across sessions (dblink): the first statement
-- locks the row of every known device of the call in one pass in SUPI
-- order, the rows of reports it leaves to the general statement included,
-- so no later statement of the call waits for another call (two calls
-- sharing devices used to deadlock, one fast where the other was general).
-- Needs committed rows (the other sessions cannot see this one's
-- uncommitted work), so it commits its fixture and deletes it at the end.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
CREATE EXTENSION IF NOT EXISTS dblink;
SET lock_timeout = '5s';
SET TimeZone = 'UTC';
SELECT plan(7);

-- What a failed earlier run may have left.
CREATE FUNCTION pg_temp.cleanup() RETURNS void LANGUAGE sql AS $$
    DELETE FROM ue WHERE external_id LIKE 'lock-%@test';
    DELETE FROM area WHERE name = 'lock-home';
    DELETE FROM cell WHERE cell_key IN ('ecgi:999-99:0000031', 'ecgi:999-99:0000032');
    DELETE FROM node_batch WHERE node_id IN (SELECT id FROM network_node WHERE name = 'lock-mme');
    DELETE FROM network_node WHERE name = 'lock-mme';
$$;
SELECT pg_temp.cleanup();

-- Two meters with one home; SUPI ...031 sorts before ...032.
INSERT INTO network_node (name, kind) VALUES ('lock-mme', 'MME');
INSERT INTO area (name, geom)
VALUES ('lock-home', ST_Multi(ST_MakeEnvelope(12.0, 41.0, 12.1, 41.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:999-99:0000031', 'EUTRA', ST_Multi(ST_MakeEnvelope(12.04, 41.04, 12.06, 41.06, 4326))),
    ('ecgi:999-99:0000032', 'EUTRA', ST_Multi(ST_MakeEnvelope(15.04, 45.04, 15.06, 45.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy) VALUES
    ('999990000000031', 'lock-low@test', 'fixed', 'inside'),
    ('999990000000032', 'lock-high@test', 'fixed', 'inside');
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a
 WHERE u.external_id LIKE 'lock-%@test' AND a.name = 'lock-home';

-- ingest: one batch (seq) of reports from 'lock-mme', cells given per SUPI,
-- all at time ts (seconds).
CREATE FUNCTION pg_temp.ingest_sql(p_seq bigint, p_supi text[], p_cell text[], p_ts_s bigint)
RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT batch_status, n_inside, n_outside FROM lg_ingest(%L, %L, 1024, 2, %L, %L, %L, %L, %L, %L, %L, %L)',
                  ARRAY['lock-mme'], ARRAY[p_seq], array_fill(1, ARRAY[cardinality(p_supi)]), p_supi,
                  array_fill(p_ts_s * 1000000, ARRAY[cardinality(p_supi)]),
                  array_fill('EUTRA'::text, ARRAY[cardinality(p_supi)]), p_cell,
                  array_fill(NULL::float8, ARRAY[cardinality(p_supi)]),
                  array_fill(NULL::float8, ARRAY[cardinality(p_supi)]),
                  array_fill(NULL::float8, ARRAY[cardinality(p_supi)]))
$$;

-- Both at home once, committed: each has its cached decision for the home cell.
DO $$ BEGIN
    EXECUTE pg_temp.ingest_sql(1, ARRAY['999990000000031', '999990000000032'],
                               ARRAY['ecgi:999-99:0000031', 'ecgi:999-99:0000031'], 1000);
END $$;

SELECT dblink_connect(s, format('host=%s port=%s dbname=%s user=%s',
                                split_part(current_setting('unix_socket_directories'), ',', 1),
                                current_setting('port'), current_database(), current_user))
  FROM unnest(ARRAY['holder', 'caller']) s;

-- The holder locks the high meter's row and keeps its transaction open.
SELECT dblink_exec('holder', 'BEGIN');
SELECT is((SELECT t.n FROM dblink('holder',
               $$SELECT count(*) FROM (SELECT 1 FROM ue_location l JOIN ue u ON u.id = l.ue_id
                                        WHERE u.external_id = 'lock-high@test' FOR UPDATE OF l) x$$)
                AS t(n bigint)),
          1::bigint, 'the holder locks the high meter''s row');

-- The caller sends a call in which the low meter reports from another town
-- (the general statement's work) and the high meter from home (fast): its
-- first statement locks the low row, then waits for the high one.
SELECT dblink_exec('caller', 'BEGIN');
SELECT dblink_send_query('caller', pg_temp.ingest_sql(2, ARRAY['999990000000031', '999990000000032'],
                                                      ARRAY['ecgi:999-99:0000032', 'ecgi:999-99:0000031'],
                                                      1010));
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity
                       WHERE wait_event_type = 'Lock' AND query LIKE '%lg_ingest(%'
                         AND pid <> pg_backend_pid()) LOOP
        IF clock_timestamp() - t0 > interval '5 s' THEN
            RAISE EXCEPTION 'the caller never waited for the high meter''s row';
        END IF;
        PERFORM pg_sleep(0.01);
        -- pg_stat_activity is read once per transaction and kept: without
        -- this, a first look taken before the caller began to wait was all
        -- this loop ever saw (a failure seen once under load in CI).
        PERFORM pg_stat_clear_snapshot();
    END LOOP;
END $$;
SELECT pass('the caller waits for the high meter''s row');

SELECT throws_ok(
    $$SELECT 1 FROM ue_location l JOIN ue u ON u.id = l.ue_id
       WHERE u.external_id = 'lock-low@test' FOR UPDATE OF l NOWAIT$$,
    '55P03', NULL,
    'the low meter''s row, left to the general statement, is already locked by the first');

-- The holder commits; the call goes through and decides both.
SELECT dblink_exec('holder', 'COMMIT');
SELECT is((SELECT row(t.*)::text FROM dblink_get_result('caller')
                AS t(batch_status text[], n_inside int, n_outside int)),
          '({accepted},1,1)', 'the call then settles both: one inside, one outside');
SELECT dblink_get_result('caller');   -- the end of the results
SELECT dblink_exec('caller', 'COMMIT');

SELECT is((SELECT l.decision || '/' || l.zone_state || '/' || l.outside_streak || ' ' || l.dec_cell
             FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = 'lock-low@test'),
          'outside/inside/1 ecgi:999-99:0000032',
          'low meter: outside once, its decision cached anew for the other cell');
SELECT is((SELECT l.dec_epoch = (SELECT epoch FROM lg_ref_epoch)
             FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = 'lock-low@test'),
          true, 'low meter: the cache carries the current epoch');
SELECT is((SELECT l.decision || '/' || l.zone_state || '/' || l.outside_streak || ' '
                  || extract(epoch FROM l.reported_at)
             FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = 'lock-high@test'),
          'inside/inside/0 1010.000000', 'high meter: the fast report stored');

SELECT dblink_disconnect(s) FROM unnest(ARRAY['holder', 'caller']) s;
SELECT pg_temp.cleanup();
SELECT * FROM finish();
