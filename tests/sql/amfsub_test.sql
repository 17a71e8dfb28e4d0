-- SPDX-License-Identifier: Apache-2.0
--
-- The chunks of the AMF subscriptions (sql/amfsub.sql): devices split into
-- chunks of at most p_per SUPIs; a device keeps its chunk; one device
-- provisioned or removed changes one chunk's version only; a new device
-- fills the lowest chunk with room; an emptied chunk is gone; a lowered
-- size moves only the devices beyond it. Run by tests/tools/run-pgtap.sh.
BEGIN;
SELECT plan(12);
DELETE FROM amf_chunk_member;
DELETE FROM amf_chunk;

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

SELECT is((SELECT count(*) FROM amf_chunk_sync(2))::int, 3, 'a pass with no change');
SELECT is(pg_temp.changed(), '', 'changes no version');

DELETE FROM ue WHERE imsi = '001010000000003';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:1 2:1', 'one device removed: its chunk shrinks');
SELECT is(pg_temp.changed(), '1', 'only its chunk has a new version');

INSERT INTO ue (imsi, external_id, mobility) VALUES ('001010000000006', 'd6@test', 'fixed');
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2 2:1', 'one device provisioned: into the lowest chunk with room');
SELECT is(pg_temp.changed() || ' / ' || pg_temp.members(), '1 / 1:0 2:0 4:1 5:2 6:1',
          'only that chunk changed; the others kept their devices');

DELETE FROM ue WHERE imsi = '001010000000005';
SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(2)),
          '0:2 1:2', 'a chunk emptied is gone');

SELECT is((SELECT string_agg(chunk || ':' || n_devices, ' ' ORDER BY chunk) FROM amf_chunk_sync(1)),
          '0:1 1:1 2:1 3:1', 'a lowered size splits the chunks');
SELECT is(pg_temp.members(), '1:0 2:2 4:1 6:3', 'the first devices of each chunk stay');

SELECT * FROM finish();
ROLLBACK;
