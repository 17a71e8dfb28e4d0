-- SPDX-License-Identifier: Apache-2.0
--
-- amf_chunk_sync across sessions (dblink): a device provisioned by a
-- transaction still open while a sync runs is not lost (its queue row, not
-- yet committed, stays for the next sync, which places it), and a second
-- sync waits for the first (the advisory lock). Needs committed rows (the
-- other sessions cannot see this one's uncommitted work), so it commits
-- its devices and the chunks, and removes them at the end.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
CREATE EXTENSION IF NOT EXISTS dblink;
SET lock_timeout = '5s';
SELECT plan(7);

-- What a failed earlier run may have left; the chunks start from nothing.
CREATE FUNCTION pg_temp.cleanup() RETURNS void LANGUAGE sql AS $$
    DELETE FROM ue WHERE external_id LIKE 'amfcc-%@test';
    DELETE FROM amf_chunk_member;
    DELETE FROM amf_chunk;
    DELETE FROM amf_chunk_dirty;
    UPDATE amf_chunk_layout SET per = NULL;
$$;
SELECT pg_temp.cleanup();

-- provision_sql(n): the statement provisioning device n.
CREATE FUNCTION pg_temp.provision_sql(p_n int) RETURNS text LANGUAGE sql AS $$
    SELECT format('INSERT INTO ue (imsi, external_id, mobility) VALUES (%L, %L, ''fixed'')',
                  '99999000000000' || p_n, 'amfcc-' || p_n || '@test')
$$;
-- members(): the last digits of the IMSIs in a chunk, in order.
CREATE FUNCTION pg_temp.members() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(right(imsi, 1), ' ' ORDER BY imsi), '') FROM amf_chunk_member
$$;

DO $$ BEGIN EXECUTE pg_temp.provision_sql(1); END $$;
SELECT is((SELECT count(*) FROM amf_chunk_sync(10))::int, 1, 'device 1: one chunk');
DO $$ BEGIN EXECUTE pg_temp.provision_sql(3); END $$;

SELECT dblink_connect(s, format('host=%s port=%s dbname=%s user=%s',
                                split_part(current_setting('unix_socket_directories'), ',', 1),
                                current_setting('port'), current_database(), current_user))
  FROM unnest(ARRAY['provisioner', 'syncer']) s;

-- The provisioner adds device 2 and keeps its transaction open while this
-- session syncs: the sync places device 3 (committed before it) only, and
-- leaves device 2's queue row, which it cannot see, where it is.
SELECT dblink_exec('provisioner', 'BEGIN');
SELECT dblink_exec('provisioner', pg_temp.provision_sql(2));
SELECT is((SELECT string_agg(n_devices::text, ' ') FROM amf_chunk_sync(10)) || ' / ' || pg_temp.members(),
          '2 / 1 3', 'a sync while device 2''s transaction is open places device 3');
SELECT dblink_exec('provisioner', 'COMMIT');
SELECT is((SELECT count(*) FROM amf_chunk_dirty)::int, 1, 'device 2''s queue row is there once committed');
SELECT is((SELECT string_agg(n_devices::text, ' ') FROM amf_chunk_sync(10)) || ' / ' || pg_temp.members(),
          '3 / 1 2 3', 'the next sync places device 2');

-- One sync at a time: while the syncer's is open, this session's waits
-- (here until lock_timeout).
SELECT dblink_exec('syncer', 'BEGIN');
SELECT is((SELECT t.n FROM dblink('syncer', 'SELECT count(*) FROM amf_chunk_sync(10)') AS t(n bigint)),
          1::bigint, 'the syncer''s sync, its transaction open');
SET lock_timeout = '200ms';
SELECT throws_ok('SELECT * FROM amf_chunk_sync(10)', '55P03', NULL,
                 'a second sync waits for the first');
SET lock_timeout = '5s';
SELECT dblink_exec('syncer', 'COMMIT');
SELECT is((SELECT count(*) FROM amf_chunk_sync(10))::int, 1, 'and runs once it is done');

SELECT dblink_disconnect('provisioner');
SELECT dblink_disconnect('syncer');
SELECT pg_temp.cleanup();
SELECT * FROM finish();
