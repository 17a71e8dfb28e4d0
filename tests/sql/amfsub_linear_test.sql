-- SPDX-License-Identifier: Apache-2.0
--
-- amf_chunk_sync's cost follows the changes, not the device table: the
-- sync after one device is provisioned takes about as long with 100,000
-- devices as with 1,000 (at most 5 times as long; it measured about 1x).
-- Each figure is the fastest of seven syncs, each after one device more,
-- so one scheduling hiccup does not decide the ratio. A ratio, not a time:
-- it holds on a slow machine, and fails on a sync that reads the device
-- table whole (the full pass every sync made before the queue of changed
-- IMSIs, migrations/0029_amf_chunk_dirty.sql: about 50 times as long).
-- Each population is loaded after a TRUNCATE (as tests/bench/provision.sql
-- does: the sync makes a full pass, the queue gets no row per device), so
-- the queue holds no dead rows of the load: after a load through the queue
-- each sync reads those dead rows too until autovacuum clears them, which
-- this transaction could not.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SELECT plan(3);
DELETE FROM amf_chunk_member;
DELETE FROM amf_chunk;
DELETE FROM amf_chunk_dirty;
UPDATE amf_chunk_layout SET per = NULL;

-- provision(first, n): devices first .. first + n - 1.
CREATE FUNCTION pg_temp.provision(p_first int, p_n int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ue (imsi, external_id, mobility)
    SELECT '00101' || lpad(i::text, 10, '0'), 'lin' || i || '@test', 'fixed'
      FROM generate_series(p_first, p_first + p_n - 1) i
$$;

-- one_more(first): the fastest of seven syncs, each after provisioning one
-- device (first, first + 1, ...), in seconds.
CREATE FUNCTION pg_temp.one_more(p_first int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best float8 := 'infinity';
BEGIN
    FOR i IN 0 .. 6 LOOP
        PERFORM pg_temp.provision(p_first + i, 1);
        t0 := clock_timestamp();
        PERFORM amf_chunk_sync(10000);
        best := least(best, extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RETURN best;
END
$$;

-- load(n): devices 1 .. n after a TRUNCATE, placed by a sync, then the
-- time of a sync after one device more (one_more).
CREATE FUNCTION pg_temp.load(p_n int) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE ue CASCADE;
    PERFORM pg_temp.provision(1, p_n);
    ANALYZE ue;
    PERFORM amf_chunk_sync(10000);
    ANALYZE amf_chunk_member, amf_chunk;
    RETURN pg_temp.one_more(1000001);
END
$$;

CREATE TEMP TABLE timing (devices int, seconds float8);
SET LOCAL client_min_messages = warning;
INSERT INTO timing SELECT 1000, pg_temp.load(1000);
INSERT INTO timing SELECT 100000, pg_temp.load(100000);

SELECT is((SELECT count(*) FROM amf_chunk_member)::int, 100007, 'every device is in a chunk');
SELECT is((SELECT string_agg(n_devices::text, ' ' ORDER BY chunk) FROM amf_chunk),
          '10000 10000 10000 10000 10000 10000 10000 10000 10000 10000 7',
          'in chunks of 10000, the new ones in the last');
SELECT cmp_ok((SELECT seconds FROM timing WHERE devices = 100000)
              / (SELECT greatest(seconds, 1e-6) FROM timing WHERE devices = 1000),
              '<', 5::float8,
              format('a sync after one device more: %s ms at 100,000 devices, %s ms at 1,000',
                     (SELECT round((seconds * 1000)::numeric, 2) FROM timing WHERE devices = 100000),
                     (SELECT round((seconds * 1000)::numeric, 2) FROM timing WHERE devices = 1000)));

SELECT * FROM finish();
ROLLBACK;
