-- SPDX-License-Identifier: Apache-2.0
--
-- sql/invalidation.sql: each row of its table, what changes and what it
-- raises or drops, checked by making the change. Run by
-- tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(36);

-- The triggers the file defines, and no other on these tables.
-- (s6t_ue_*: sql/s6t.sql notes the devices the S6t client must look at;
-- ue_location_count_gone: sql/counts.sql notes deleted locations for the
-- continual release.)
SELECT triggers_are('ue', ARRAY['ue_decision_inputs_changed', 'ue_supis_changed',
                             'ue_truncated_for_amf', 's6t_ue_insert', 's6t_ue_update',
                             'ue_provisioned_for_amf_chunks', 'ue_removed_for_amf_chunks',
                             'ue_imsi_changed_for_amf_chunks', 'ue_truncated_for_amf_chunks']);
SELECT triggers_are('ue_area', ARRAY['ue_area_changed', 'ue_area_truncated']);
SELECT triggers_are('area', ARRAY['area_changed', 'area_truncated', 'area_geom_changed']);
SELECT triggers_are('cell', ARRAY['cell_changed', 'cell_truncated', 'cell_coverage_changed',
                                  'cell_count_geo_changed', 'cell_count_geo_truncated']);
SELECT triggers_are('ue_location', ARRAY['ue_location_written', 'ue_location_truncated',
                                         'ue_location_count_gone']);
SELECT triggers_are('lg_ref_epoch', ARRAY['ref_epoch_raised']);
SELECT triggers_are('network_node', ARRAY['network_node_changed']);

-- Fixture.
INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME');
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage)
VALUES ('ecgi:001-01:0000001', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy)
VALUES ('001010000000001', 'meter@test', 'fixed', 'inside');
INSERT INTO area_cell_verdict (area_id, cell_key, verdict)
SELECT a.id, 'ecgi:001-01:0000001', 'in' FROM area a;

-- Snapshots of the three versions and the generation.
CREATE FUNCTION pg_temp.epoch() RETURNS bigint LANGUAGE sql AS
$$ SELECT epoch FROM lg_ref_epoch WHERE one $$;
CREATE FUNCTION pg_temp.geo() RETURNS bigint LANGUAGE sql AS
$$ SELECT version FROM count_geo_version WHERE one $$;
CREATE TEMP TABLE v (name text PRIMARY KEY, epoch bigint, geo bigint, gen bigint);
CREATE FUNCTION pg_temp.mark(p text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO v VALUES (p, pg_temp.epoch(), pg_temp.geo(), lg_ingest_cache_gen())
$$;
-- raised(name, what): whether what (epoch, geo or gen) is above its mark.
CREATE FUNCTION pg_temp.raised(p text, what text) RETURNS boolean LANGUAGE sql AS $$
    SELECT CASE what
               WHEN 'epoch' THEN pg_temp.epoch() > v.epoch
               WHEN 'geo' THEN pg_temp.geo() > v.geo
               WHEN 'gen' THEN lg_ingest_cache_gen() > v.gen
           END
      FROM v WHERE v.name = p
$$;

SELECT pg_temp.mark('ue');
UPDATE ue SET ambiguous_policy = 'outside';
SELECT ok(pg_temp.raised('ue', 'epoch'), 'ue.ambiguous_policy raises the epoch');
SELECT ok(pg_temp.raised('ue', 'gen'), '... and with it the ingest cache generation');

SELECT pg_temp.mark('ue-other');
UPDATE ue SET external_id = 'meter2@test';
SELECT ok(NOT pg_temp.raised('ue-other', 'epoch'), 'ue.external_id raises nothing');

SELECT pg_temp.mark('ue_area');
INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a;
SELECT ok(pg_temp.raised('ue_area', 'epoch'), 'a ue_area row raises the epoch');

SELECT pg_temp.mark('area-name');
UPDATE area SET name = 'home2';
SELECT ok(NOT pg_temp.raised('area-name', 'epoch'), 'an area''s name raises nothing');
SELECT is((SELECT count(*)::int FROM area_cell_verdict), 1, '... and keeps its verdicts');

SELECT pg_temp.mark('area-geom');
UPDATE area SET geom = ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.2, 48.2, 4326));
SELECT ok(pg_temp.raised('area-geom', 'epoch'), 'area.geom raises the epoch');
SELECT is((SELECT count(*)::int FROM area_cell_verdict), 0, '... and drops the area''s verdicts');
SELECT ok(NOT pg_temp.raised('area-geom', 'geo'), '... but not the count geometry');

INSERT INTO area_cell_verdict (area_id, cell_key, verdict)
SELECT a.id, 'ecgi:001-01:0000001', 'in' FROM area a;
SELECT pg_temp.mark('cell-rat');
UPDATE cell SET rat = 'NR';
SELECT ok(pg_temp.raised('cell-rat', 'epoch'), 'any cell change raises the epoch');
SELECT ok(NOT pg_temp.raised('cell-rat', 'geo'), '... a RAT change not the count geometry');
SELECT is((SELECT count(*)::int FROM area_cell_verdict), 1, '... and keeps the verdicts');

SELECT pg_temp.mark('cell-coverage');
UPDATE cell SET coverage = ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.07, 48.07, 4326));
SELECT ok(pg_temp.raised('cell-coverage', 'geo'), 'cell.coverage raises the count geometry');
SELECT is((SELECT count(*)::int FROM area_cell_verdict), 0, '... and drops the cell''s verdicts');

SELECT pg_temp.mark('ue_location');
INSERT INTO ue_location (ue_id, reported_at, received_at, decision, zone_state, outside_streak)
SELECT u.id, now(), now(), 'inside', 'inside', 0 FROM ue u;
SELECT ok(pg_temp.raised('ue_location', 'gen'), 'a ue_location write raises the generation');
SELECT ok(NOT pg_temp.raised('ue_location', 'epoch'), '... and not the epoch');

SELECT pg_temp.mark('owner');
SELECT set_config('locguard.ingest_cache_owner', 'on', true);
UPDATE ue_location SET outside_streak = 0;
SELECT ok(NOT pg_temp.raised('owner', 'gen'), 'the cache owner''s own write does not');
SELECT set_config('locguard.ingest_cache_owner', 'off', true);

SELECT pg_temp.mark('node');
UPDATE network_node SET high_seq = high_seq + 1;
SELECT ok(NOT pg_temp.raised('node', 'gen'), 'a node''s high_seq raises nothing');
UPDATE network_node SET enabled = false;
SELECT ok(pg_temp.raised('node', 'gen'), 'a node disabled raises the generation');

-- The SUPIs the AMF subscriptions name (service/south/amfsub.c), and the
-- IMSIs queued for amf_chunk_sync (sql/amfsub.sql).
CREATE FUNCTION pg_temp.amf() RETURNS bigint LANGUAGE sql AS
$$ SELECT version FROM amf_device_version WHERE one $$;
-- dirty(): the queued IMSIs' last digits ('*' for no IMSI), then empties the queue.
CREATE FUNCTION pg_temp.dirty() RETURNS text LANGUAGE sql AS $$
    WITH d AS (DELETE FROM amf_chunk_dirty RETURNING imsi)
    SELECT coalesce(string_agg(coalesce(right(imsi, 1), '*'), ' ' ORDER BY imsi), '') FROM d
$$;
SELECT pg_temp.dirty();
CREATE TEMP TABLE amf_mark AS SELECT pg_temp.amf() AS v;
INSERT INTO ue (imsi, external_id, mobility)
VALUES ('001010000000002', 'meter3@test', 'fixed'), ('001010000000003', 'meter4@test', 'fixed');
SELECT is(pg_temp.amf(), (SELECT v + 1 FROM amf_mark),
          'devices provisioned raise the AMF device version once per statement');
SELECT is(pg_temp.dirty(), '2 3', 'and queue their IMSIs');
UPDATE amf_mark SET v = pg_temp.amf();
UPDATE ue SET mobility = 'restricted', external_id = external_id || '.x';
SELECT is(pg_temp.amf() || ' ' || pg_temp.dirty(), (SELECT v || ' ' FROM amf_mark),
          'a device''s other columns do not, nor queue anything');
UPDATE ue SET imsi = '001010000000004' WHERE external_id = 'meter3@test.x';
SELECT is(pg_temp.amf(), (SELECT v + 1 FROM amf_mark), 'a device''s IMSI does');
SELECT is(pg_temp.dirty(), '2 4', 'and queues the old and the new IMSI');
UPDATE amf_mark SET v = pg_temp.amf();
DELETE FROM ue WHERE external_id = 'meter4@test.x';
SELECT is(pg_temp.amf(), (SELECT v + 1 FROM amf_mark), 'a device removed does');
SELECT is(pg_temp.dirty(), '3', 'and queues its IMSI');
UPDATE amf_mark SET v = pg_temp.amf();
DELETE FROM ue WHERE false;
SELECT is(pg_temp.amf(), (SELECT v + 1 FROM amf_mark),
          'a statement touching no row does too (statement trigger: a spare PATCH at most)');
UPDATE amf_mark SET v = pg_temp.amf();
SET LOCAL client_min_messages = warning;
TRUNCATE ue CASCADE;
SELECT is(pg_temp.amf(), (SELECT v + 1 FROM amf_mark), 'TRUNCATE does');
INSERT INTO ue (imsi, external_id, mobility) VALUES ('001010000000005', 'meter5@test', 'fixed');
SELECT is(pg_temp.dirty(), '*',
          'TRUNCATE queues every device, and nothing more in its transaction');

SELECT * FROM finish();
ROLLBACK;
