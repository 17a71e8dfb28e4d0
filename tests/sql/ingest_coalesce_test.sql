-- SPDX-License-Identifier: Apache-2.0
--
-- lg_ingest with p_refresh_ms: a report that would change nothing but the
-- stored time (the fast path's cell, same node and RAT, hysteresis state
-- unchanged) less than p_refresh_ms after the stored report is coalesced:
-- counted, its row not written. Everything else is written as before.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(48);

-- Fixture: home square near Paris with c-home inside, c-away in another town.
INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME'), ('amf-b', 'AMF');
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:0000001', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:0000002', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy) VALUES
    ('001010000000001', 'meter@test', 'fixed', 'inside'),
    ('001010000000002', 'away@test', 'fixed', 'inside'),
    ('001010000000003', 'tracker@test', 'unrestricted', 'inside'),
    ('001010000000004', 'late@test', 'fixed', 'inside'),
    ('001010000000005', 'twice@test', 'fixed', 'inside'),
    ('001010000000006', 'repeat@test', 'fixed', 'inside'),
    ('001010000000099', 'soon@test', 'fixed', 'inside');
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a WHERE u.mobility <> 'unrestricted';

-- ingest1: one batch of one report without a position, ts in seconds,
-- refresh in milliseconds (60 s unless given).
CREATE FUNCTION pg_temp.ingest1(p_node text, p_seq bigint, p_supi text, p_ts_s bigint,
                                p_cell text, p_rat text DEFAULT 'EUTRA',
                                p_refresh_ms int DEFAULT 60000)
RETURNS TABLE (batch_status text[], n_inside int, n_outside int, n_unchecked int,
               n_alerts int, n_coalesced int)
LANGUAGE sql AS $$
    SELECT batch_status, n_inside, n_outside, n_unchecked, n_alerts, n_coalesced
      FROM lg_ingest(ARRAY[p_node], ARRAY[p_seq], 1024, 2, ARRAY[1], ARRAY[p_supi],
                     ARRAY[p_ts_s * 1000000], ARRAY[p_rat], ARRAY[p_cell],
                     ARRAY[NULL::float8], ARRAY[NULL::float8], ARRAY[NULL::float8],
                     p_refresh_ms)
$$;

-- loc: the stored row, as reported_at (s) / node / rat / decision / zone / streak.
CREATE FUNCTION pg_temp.loc(p_external_id text)
RETURNS text LANGUAGE sql AS $$
    SELECT extract(epoch FROM l.reported_at)::bigint || '/' || n.name || '/' || l.rat || '/'
           || l.decision || '/' || l.zone_state || '/' || l.outside_streak
      FROM ue_location l JOIN ue u ON u.id = l.ue_id JOIN network_node n ON n.id = l.node_id
     WHERE u.external_id = p_external_id
$$;

CREATE FUNCTION pg_temp.alerts(p_external_id text)
RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(al.kind ORDER BY al.id), '{}')
      FROM alert al JOIN ue u ON u.id = al.ue_id WHERE u.external_id = p_external_id
$$;

-- A meter at home: the first report is written, the next ones from the same
-- cell within 60 s are coalesced (counted as inside, the row keeps t = 1000).
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 1, '001010000000001', 1000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'first report: written');
SELECT is(pg_temp.loc('meter@test'), '1000/mme-a/EUTRA/inside/inside/0', 'first report stored');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 2, '001010000000001', 1010, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, '10 s later, same cell: coalesced, counted inside');
SELECT is(pg_temp.loc('meter@test'), '1000/mme-a/EUTRA/inside/inside/0', 'coalesced: row untouched');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 3, '001010000000001', 1059, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, '59 s after the stored one: coalesced');

-- 60 s after the stored report: written, and the next 60 s count from there.
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 4, '001010000000001', 1060, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, '60 s after the stored one: written');
SELECT is(pg_temp.loc('meter@test'), '1060/mme-a/EUTRA/inside/inside/0', 'stored time refreshed');

-- Another node or another RAT changes the row: written.
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('amf-b', 1, '001010000000001', 1070, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'another node: written');
SELECT is(pg_temp.loc('meter@test'), '1070/amf-b/EUTRA/inside/inside/0', 'node stored');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('amf-b', 2, '001010000000001', 1075, 'ecgi:001-01:0000001', 'NR')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'another RAT: written');
SELECT is(pg_temp.loc('meter@test'), '1075/amf-b/NR/inside/inside/0', 'RAT stored');

-- p_refresh_ms = 0: every report is written.
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('amf-b', 3, '001010000000001', 1076, 'ecgi:001-01:0000001', 'NR', 0)$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'refresh 0: written');
SELECT is(pg_temp.loc('meter@test'), '1076/amf-b/NR/inside/inside/0', 'refresh 0: stored time exact');

-- Coalescing never holds back a change: an away report 5 s after a
-- coalesced one is decided and stored; outside reports count the streak, so
-- they are written even from the same cell, and the alert comes on time.
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 10, '001010000000002', 2000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'away@: home, written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 11, '001010000000002', 2005, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, 'away@: home again, coalesced');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 12, '001010000000002', 2010, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0)$$, 'away@: away 5 s later, written');
SELECT is(pg_temp.loc('away@test'), '2010/mme-a/EUTRA/outside/inside/1', 'away@: streak 1');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 13, '001010000000002', 2015, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 1, 0)$$, 'away@: away again: left');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 14, '001010000000002', 2020, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0)$$, 'away@: outside from the cached cell: written');
SELECT is(pg_temp.loc('away@test'), '2020/mme-a/EUTRA/outside/outside/3', 'away@: streak counted to 3');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 15, '001010000000002', 2025, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 1, 0)$$, 'away@: home: returned, written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 16, '001010000000002', 2030, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, 'away@: home again: coalesced');
SELECT is(pg_temp.alerts('away@test'), '{left,returned}', 'away@: exactly one left and one returned');

-- A tracker is only recorded: the same cell again is coalesced.
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 20, '001010000000003', 3000, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 1, 0, 0)$$, 'tracker: written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 21, '001010000000003', 3030, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 1, 0, 1)$$, 'tracker: same cell, coalesced');

-- Order: a report older than the stored time changes nothing, as without
-- coalescing. Within the refresh interval the stored time may lag the
-- newest report, so a late report between the two is applied (documented).
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 30, '001010000000004', 4000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'late@: home, written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 31, '001010000000004', 4020, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, 'late@: home at 4020, coalesced');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 32, '001010000000004', 3990, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0)$$, 'late@: away at 3990, older than stored: counted');
SELECT is(pg_temp.loc('late@test'), '4000/mme-a/EUTRA/inside/inside/0', 'late@: older report ignored');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 33, '001010000000004', 4010, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0)$$, 'late@: away at 4010, within the lag: applied');
SELECT is(pg_temp.loc('late@test'), '4010/mme-a/EUTRA/outside/inside/1', 'late@: applied in arrival order');

-- Several reports of one device in one call. Uniform ones (one cell, node
-- and RAT, no position) of a steady device (inside, no streak) change
-- nothing but the time, so the newest stands for all: each is coalesced
-- when the newest is, and the others are counted as coalesced when the
-- newest is written. Anything else takes the fold, none coalesced.
CREATE FUNCTION pg_temp.ingest2(p_seq bigint, p_ts1_s bigint, p_ts2_s bigint,
                                p_cell1 text, p_cell2 text)
RETURNS TABLE (n_inside int, n_outside int, n_alerts int, n_coalesced int)
LANGUAGE sql AS $$
    SELECT n_inside, n_outside, n_alerts, n_coalesced
      FROM lg_ingest(ARRAY['mme-a'], ARRAY[p_seq], 1024, 2,
        ARRAY[1, 1], ARRAY['001010000000005', '001010000000005'],
        ARRAY[p_ts1_s * 1000000, p_ts2_s * 1000000], ARRAY['EUTRA', 'EUTRA'],
        ARRAY[p_cell1, p_cell2],
        ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[],
        60000)
$$;
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 40, '001010000000005', 5000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'twice@: home, written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest2(41, 5010, 5020, 'ecgi:001-01:0000001', 'ecgi:001-01:0000001')$$,
    $$VALUES (2, 0, 0, 2)$$, 'twice@: two home reports in one call, within the lag: both coalesced');
SELECT is(pg_temp.loc('twice@test'), '5000/mme-a/EUTRA/inside/inside/0',
          'twice@: nothing written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest2(42, 5090, 5070, 'ecgi:001-01:0000001', 'ecgi:001-01:0000001')$$,
    $$VALUES (2, 0, 0, 1)$$, 'twice@: the newest past the lag: written, the other coalesced into it');
SELECT is(pg_temp.loc('twice@test'), '5090/mme-a/EUTRA/inside/inside/0',
          'twice@: the newest time stored, whatever the arrival order');
SELECT results_eq($$SELECT * FROM pg_temp.ingest2(43, 5100, 5110, 'ecgi:001-01:0000001', 'ecgi:001-01:0000002')$$,
    $$VALUES (1, 1, 0, 0)$$, 'twice@: two cells: the fold, none coalesced');
SELECT is(pg_temp.loc('twice@test'), '5110/mme-a/EUTRA/outside/inside/1',
          'twice@: the fold ran both in order (one outside: streak 1)');
SELECT results_eq($$SELECT * FROM pg_temp.ingest2(44, 5120, 5130, 'ecgi:001-01:0000002', 'ecgi:001-01:0000002')$$,
    $$VALUES (0, 2, 1, 0)$$, 'twice@: uniform but not steady (a streak): the fold, both count, one alert');
SELECT is(pg_temp.loc('twice@test'), '5130/mme-a/EUTRA/outside/outside/3',
          'twice@: the streak counted both');

-- A device reported several times in every call (a hostile or chatty
-- node): its first call takes the fold, which caches the decision; from
-- the next call on its uniform reports are coalesced.
SELECT results_eq(
    $$SELECT n_inside, n_coalesced FROM lg_ingest(ARRAY['mme-a'], ARRAY[45]::bigint[], 1024, 2,
        ARRAY[1, 1, 1], array_fill('001010000000006'::text, ARRAY[3]),
        ARRAY[5200000000, 5201000000, 5202000000]::bigint[], array_fill('EUTRA'::text, ARRAY[3]),
        array_fill('ecgi:001-01:0000001'::text, ARRAY[3]),
        array_fill(NULL::float8, ARRAY[3]), array_fill(NULL::float8, ARRAY[3]),
        array_fill(NULL::float8, ARRAY[3]), 60000)$$,
    $$VALUES (3, 0)$$, 'repeat@: a new device three times: the fold writes it');
SELECT results_eq(
    $$SELECT n_inside, n_coalesced FROM lg_ingest(ARRAY['mme-a'], ARRAY[46]::bigint[], 1024, 2,
        ARRAY[1, 1, 1], array_fill('001010000000006'::text, ARRAY[3]),
        ARRAY[5203000000, 5204000000, 5205000000]::bigint[], array_fill('EUTRA'::text, ARRAY[3]),
        array_fill('ecgi:001-01:0000001'::text, ARRAY[3]),
        array_fill(NULL::float8, ARRAY[3]), array_fill(NULL::float8, ARRAY[3]),
        array_fill(NULL::float8, ARRAY[3]), 60000)$$,
    $$VALUES (3, 3)$$, 'repeat@: three times again: all coalesced');

-- Each device's interval is its share of p_refresh_ms, 1 - d / 400 by the
-- last two digits d of its IMSI (lg_refresh_share; the daemon's cache uses
-- the same): soon@ ends in 99, so 0.7525 of 60 s, 45.15 s. Rows written
-- together come due spread over a quarter of the interval.
SELECT is(lg_refresh_share('001010000000000'), 1.0::float8, 'share of ...00: all of it');
SELECT is(lg_refresh_share('001010000000099'), 0.7525::float8, 'share of ...99: 0.7525');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 50, '001010000000099', 6000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'soon@: home, written');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 51, '001010000000099', 6045, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 1)$$, 'soon@: 45 s later, coalesced');
SELECT results_eq($$SELECT * FROM pg_temp.ingest1('mme-a', 52, '001010000000099', 6046, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0)$$, 'soon@: 46 s later, past its 45.15 s: written');
SELECT is(pg_temp.loc('soon@test'), '6046/mme-a/EUTRA/inside/inside/0', 'soon@: the time refreshed');

SELECT * FROM finish();
ROLLBACK;
