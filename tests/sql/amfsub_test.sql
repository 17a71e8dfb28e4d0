-- SPDX-License-Identifier: Apache-2.0
--
-- The chunks of the AMF subscriptions (sql/amfsub.sql): devices split into
-- chunks of at most p_per SUPIs; a device keeps its chunk; one device
-- provisioned or removed changes one chunk's version only; a new device
-- fills the lowest chunk with room; an emptied chunk is gone; a lowered
-- size moves only the devices beyond it. The first sync, a TRUNCATE and a
-- changed size make a full pass; otherwise a sync handles only the IMSIs
-- the triggers queued (a device provisioned without its queue row is not
-- seen until its row comes); a renamed device leaves its chunk and is
-- placed again; compaction empties one nearly empty chunk a sync.
-- Run by tests/tools/run-pgtap.sh.
BEGIN;
SELECT plan(40);
DELETE FROM amf_chunk_member;
DELETE FROM amf_chunk;
DELETE FROM amf_chunk_dirty;
UPDATE amf_chunk_layout SET per = NULL;
-- Counts the calls of amf_chunk_rebuild (the full pass) in this transaction.
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.full_passes() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = 'amf_chunk_rebuild'
$$;

INSERT INTO ue (imsi, external_id, mobility)
SELECT '00101000000000' || i, 'd' || i || '@test', 'fixed' FROM generate_series(1, 5) i;

-- chunks: "chunk:size" of every chunk, in order.
CREATE FUNCTION pg_temp.chunks() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk), '') FROM amf_chunk
$$;
-- members: "imsi-suffix:chunk" of every member, in IMSI order.
CREATE FUNCTION pg_temp.members() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(right(imsi, 1) || ':' || chunk, ' ' ORDER BY imsi), '')
      FROM amf_chunk_member
$$;
CREATE TEMP TABLE v0 AS SELECT chunk, version FROM amf_chunk;
-- changed: the chunks whose version moved since the last snapshot (then snapshots again).
CREATE FUNCTION pg_temp.changed() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    out text;
BEGIN
    SELECT coalesce(string_agg(c.chunk::text, ' ' ORDER BY c.chunk), '') INTO out
      FROM amf_chunk c LEFT JOIN v0 ON v0.chunk = c.chunk
     WHERE v0.version IS DISTINCT FROM c.version;
    DELETE FROM v0;
    INSERT INTO v0 SELECT chunk, version FROM amf_chunk;
    RETURN out;
END
$$;

SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:1', 'five devices, two a chunk: three chunks, as returned');
SELECT is(pg_temp.members(), '1:0 2:0 3:1 4:1 5:2', 'in IMSI order, lowest chunks first');
SELECT is(pg_temp.changed(), '0 1 2', 'each chunk has a version');
SELECT is(pg_temp.full_passes(), 1::bigint, 'the first sync is a full pass');

SELECT is((SELECT count(*) FROM amf_chunk_sync(2))::int, 3, 'a pass with no change');
SELECT is(pg_temp.changed(), '', 'changes no version');
SELECT is(pg_temp.full_passes(), 1::bigint, 'and reads only the (empty) queue');

DELETE FROM ue WHERE imsi = '001010000000003';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:1 2:1', 'one device removed: its chunk shrinks');
SELECT is(pg_temp.changed(), '1', 'only its chunk has a new version');

INSERT INTO ue (imsi, external_id, mobility) VALUES ('001010000000006', 'd6@test', 'fixed');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:1', 'one device provisioned: into the lowest chunk with room');
SELECT is(pg_temp.changed() || ' / ' || pg_temp.members(), '1 / 1:0 2:0 4:1 5:2 6:1',
          'only that chunk changed; the others kept their devices');
SELECT is(pg_temp.full_passes(), 1::bigint, 'both from the queue, no full pass');
SELECT is((SELECT count(*) FROM amf_chunk_dirty)::int, 0, 'the queue is empty after a sync');

DELETE FROM ue WHERE imsi = '001010000000005';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2', 'a chunk emptied is gone');

SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(1)),
          '0:1 1:1 2:1 3:1', 'a lowered size splits the chunks');
SELECT is(pg_temp.members(), '1:0 2:2 4:1 6:3', 'the first devices of each chunk stay');
SELECT is(pg_temp.full_passes(), 2::bigint, 'a changed size is a full pass');
SELECT pg_temp.changed();

-- A device's IMSI changes: the old IMSI leaves (chunk 0 empties and goes),
-- the new one is placed: no chunk has room, so a new chunk at the lowest
-- free number, 0 again, with a new version.
UPDATE ue SET imsi = '001010000000007' WHERE imsi = '001010000000001';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(1)),
          '0:1 1:1 2:1 3:1', 'an IMSI changed: as many chunks');
SELECT is(pg_temp.changed() || ' / ' || pg_temp.members(), '0 / 2:2 4:1 6:3 7:0',
          'the old IMSI left, the new one took the free chunk');

-- A device provisioned whose queue row the sync does not see (its
-- transaction commits after the sync read the queue: here, the row is
-- held aside) stays out until the row comes; the next sync places it.
INSERT INTO ue (imsi, external_id, mobility) VALUES ('001010000000008', 'd8@test', 'fixed');
CREATE TEMP TABLE held AS WITH d AS (DELETE FROM amf_chunk_dirty RETURNING imsi) SELECT imsi FROM d;
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(1)),
          '0:1 1:1 2:1 3:1', 'a device whose queue row is not yet seen: not placed');
INSERT INTO amf_chunk_dirty (imsi) SELECT imsi FROM held;
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(1)),
          '0:1 1:1 2:1 3:1 4:1', 'placed by the sync that sees its row');
SELECT is(pg_temp.changed() || ' / ' || pg_temp.full_passes(), '4 / 2', 'one new chunk, no full pass');

-- TRUNCATE, then devices again: a full pass, from an empty table.
SET LOCAL client_min_messages = warning;
TRUNCATE ue CASCADE;
INSERT INTO ue (imsi, external_id, mobility)
SELECT '00101000000001' || i, 'e' || i || '@test', 'fixed' FROM generate_series(0, 4) i;
SELECT is((SELECT count(*) FROM amf_chunk_dirty)::int, 1, 'TRUNCATE queues one row, not the devices after it');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:1', 'TRUNCATE, then five devices: three chunks');
SELECT is(pg_temp.members() || ' / ' || pg_temp.full_passes(), '0:0 1:0 2:1 3:1 4:2 / 3',
          'the old devices gone, the new ones in order, by a full pass');
SELECT pg_temp.changed();

-- A raised size: a full pass; the chunks stay (none beyond the size) and a
-- compaction step follows: 5 devices in 3 chunks of 3, ceil(5 / 3) + 2 = 4
-- chunks needed for one, so none.
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(3)),
          '0:2 1:2 2:1', 'a raised size keeps the chunks');
SELECT is(pg_temp.changed() || ' / ' || pg_temp.full_passes(), ' / 4', 'a full pass that changed nothing');

-- Compaction: ten devices, two a chunk, then every second one removed:
-- five chunks of one device each hold room for five more (ceil(5 / 2) + 2
-- = 5 chunks or more): the sync empties the highest numbered of the
-- emptiest (4) into the lowest chunk with room (0), then stops: four
-- chunks is ceil(5 / 2) + 1.
TRUNCATE ue CASCADE;
INSERT INTO ue (imsi, external_id, mobility)
SELECT '00101000000002' || i, 'f' || i || '@test', 'fixed' FROM generate_series(0, 9) i;
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:2 3:2 4:2', 'ten devices, two a chunk');
SELECT pg_temp.changed();
DELETE FROM ue WHERE imsi IN ('001010000000021', '001010000000023', '001010000000025',
                              '001010000000027', '001010000000029');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:1 2:1 3:1', 'half removed: the last chunk is emptied into the first');
SELECT is(pg_temp.members(), '0:0 2:1 4:2 6:3 8:0', 'its device joined chunk 0');
SELECT is(pg_temp.changed(), '0 1 2 3', 'the chunks that lost or took a device have new versions');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:1 2:1 3:1', 'ceil(devices / size) + 1 chunks: no compaction');
SELECT is(pg_temp.changed(), '', 'nothing changed');
DELETE FROM ue WHERE imsi = '001010000000022';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 2:1 3:1', 'a chunk emptied by a removal is gone');
DELETE FROM ue WHERE imsi = '001010000000024';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 3:1', 'and so on');
SELECT is((SELECT sum(n_devices)::int FROM amf_chunk) || ' ' || (SELECT count(*) FROM amf_chunk_member),
          '3 3', 'the sizes kept without counting match the members');

-- A raised size: the full pass compacts, at most as many steps as a chunk
-- holds devices on average (2 here), the next syncs one step each until the
-- rule no longer holds: ten devices in five chunks of two, now ten a chunk:
-- the highest chunks are emptied into chunk 0 until two are left
-- (ceil(10 / 10) + 1).
TRUNCATE ue CASCADE;
INSERT INTO ue (imsi, external_id, mobility)
SELECT '00101000000003' || i, 'g' || i || '@test', 'fixed' FROM generate_series(0, 9) i;
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:2 3:2 4:2', 'ten devices, two a chunk');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(10)),
          '0:6 1:2 2:2', 'ten a chunk: the full pass empties two chunks');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(10)),
          '0:8 1:2', 'the next sync one more');
SELECT is(pg_temp.members(), '0:0 1:0 2:1 3:1 4:0 5:0 6:0 7:0 8:0 9:0',
          'chunk 1 kept its devices; 2, 3 and 4 moved into 0');

SELECT * FROM finish();
ROLLBACK;
