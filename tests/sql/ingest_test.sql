-- SPDX-License-Identifier: Apache-2.0
--
-- lg_ingest: replay window, decisions, hysteresis and alerts, with exact
-- outcomes. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(89);

-- Fixture. Home is a 0.1 x 0.1 degree square near Paris; c-home lies inside
-- it, c-border straddles its east edge, c-away is in another town.
INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME'), ('amf-b', 'AMF');
INSERT INTO network_node (name, kind, enabled) VALUES ('mme-off', 'MME', false);
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:0000001', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:0000002', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326))),
    ('ecgi:001-01:0000003', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.09, 48.04, 2.11, 48.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy) VALUES
    ('001010000000001', 'meter@test', 'fixed', 'inside'),
    ('001010000000002', 'flapper@test', 'fixed', 'inside'),
    ('001010000000003', 'tracker@test', 'unrestricted', 'inside'),
    ('001010000000004', 'amb-in@test', 'restricted', 'inside'),
    ('001010000000005', 'amb-out@test', 'restricted', 'outside'),
    ('001010000000006', 'multi@test', 'fixed', 'inside'),
    ('001010000000007', 'noarea@test', 'fixed', 'inside'),
    ('001010000000008', 'pos@test', 'fixed', 'inside'),
    ('001010000000009', 'fast@test', 'fixed', 'inside');
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a WHERE u.external_id <> 'noarea@test';

-- ingest1: one batch of one report (cell evidence, or a position when lon is
-- given); ts in seconds since the epoch.
CREATE FUNCTION pg_temp.ingest1(p_node text, p_seq bigint, p_supi text, p_ts_s bigint,
                                p_cell text, p_lon float8 DEFAULT NULL,
                                p_lat float8 DEFAULT NULL, p_unc float8 DEFAULT NULL)
RETURNS TABLE (batch_status text[], n_inside int, n_outside int, n_ambiguous int,
               n_unknown_cell int, n_unknown_device int, n_unchecked int, n_alerts int)
LANGUAGE sql AS $$
    SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
           n_unchecked, n_alerts
      FROM lg_ingest(ARRAY[p_node], ARRAY[p_seq], 1024, 2, ARRAY[1], ARRAY[p_supi],
                     ARRAY[p_ts_s * 1000000], ARRAY['EUTRA'], ARRAY[p_cell],
                     ARRAY[p_lon], ARRAY[p_lat], ARRAY[p_unc])
$$;

CREATE FUNCTION pg_temp.alerts(p_external_id text)
RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(al.kind ORDER BY al.id), '{}')
      FROM alert al JOIN ue u ON u.id = al.ue_id WHERE u.external_id = p_external_id
$$;

CREATE FUNCTION pg_temp.loc(p_external_id text)
RETURNS text LANGUAGE sql AS $$
    SELECT l.decision || '/' || l.zone_state || '/' || l.outside_streak
      FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = p_external_id
$$;

-- A meter inside its home polygon: inside, no alert.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 1, '001010000000001', 1000, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0, 0, 0)$$,
    'meter at home: accepted, one inside, no alert');
SELECT is(pg_temp.loc('meter@test'), 'inside/inside/0', 'meter at home: state inside');
SELECT is(pg_temp.alerts('meter@test'), '{}', 'meter at home: no alert');

-- Two reports from a cell in another town: exactly one 'left', on the second.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 2, '001010000000001', 1010, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 0)$$,
    'meter away once: outside, no alert yet (hysteresis 2)');
SELECT is(pg_temp.loc('meter@test'), 'outside/inside/1', 'meter away once: streak 1, still inside');
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 3, '001010000000001', 1020, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 1)$$,
    'meter away twice: one alert');
SELECT is(pg_temp.alerts('meter@test'), '{left}', 'meter away twice: exactly one left');
SELECT is(pg_temp.loc('meter@test'), 'outside/outside/2', 'meter away twice: state outside');
SELECT results_eq(
    $$SELECT n_alerts FROM pg_temp.ingest1('mme-a', 4, '001010000000001', 1030, 'ecgi:001-01:0000002')$$,
    $$VALUES (0)$$, 'meter still away: no second left');
SELECT is((SELECT al.cell_key || ' ' || al.reported_at FROM alert al WHERE al.kind = 'left'),
          'ecgi:001-01:0000002 ' || to_timestamp(1020)::text, 'left alert carries cell and report time');

-- Back home: exactly one 'returned'.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 5, '001010000000001', 1040, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 1, 0, 0, 0, 0, 0, 1)$$,
    'meter back home: one alert');
SELECT is(pg_temp.alerts('meter@test'), '{left,returned}', 'meter back home: exactly one returned');
SELECT is(pg_temp.loc('meter@test'), 'inside/inside/0', 'meter back home: state inside, streak 0');
SELECT results_eq(
    $$SELECT n_alerts FROM pg_temp.ingest1('mme-a', 6, '001010000000001', 1050, 'ecgi:001-01:0000001')$$,
    $$VALUES (0)$$, 'meter stays home: no second returned');

-- Border flapping inside / outside / inside / outside with N = 2: no alert.
SELECT pg_temp.ingest1('mme-a', 10 + i, '001010000000002', 2000 + i,
                       CASE WHEN i % 2 = 0 THEN 'ecgi:001-01:0000001' ELSE 'ecgi:001-01:0000002' END)
  FROM generate_series(0, 5) i;
SELECT is(pg_temp.alerts('flapper@test'), '{}', 'border flapping: no alert');
SELECT is(pg_temp.loc('flapper@test'), 'outside/inside/1', 'border flapping: streak never reaches 2');

-- A tracker (unrestricted) far away: unchecked, never an alert.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 20, '001010000000003', 3000, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 0, 0, 0, 1, 0)$$, 'tracker: unchecked');
SELECT results_eq(
    $$SELECT n_unchecked, n_alerts FROM pg_temp.ingest1('mme-a', 21, '001010000000003', 3010, 'ecgi:001-01:0000002')$$,
    $$VALUES (1, 0)$$, 'tracker again: unchecked, no alert');
SELECT is(pg_temp.loc('tracker@test'), 'unchecked/unknown/0', 'tracker: location stored, no state');
SELECT is(pg_temp.alerts('tracker@test'), '{}', 'tracker: no alert');

-- A device with no authorized area: unchecked.
SELECT results_eq(
    $$SELECT n_unchecked, n_alerts FROM pg_temp.ingest1('mme-a', 22, '001010000000007', 3000, 'ecgi:001-01:0000002')$$,
    $$VALUES (1, 0)$$, 'device without area: unchecked');

-- Unknown cell: counted, stored, no state change, no alert.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 30, '001010000000001', 1060, 'ecgi:001-01:9999999')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 0, 1, 0, 0, 0)$$, 'unknown cell: counted');
SELECT is(pg_temp.loc('meter@test'), 'unknown_cell/inside/0', 'unknown cell: stored, state kept');
SELECT is((SELECT cell_key FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id = 'meter@test'), 'ecgi:001-01:9999999', 'unknown cell: cell key stored');
SELECT is(pg_temp.alerts('meter@test'), '{left,returned}', 'unknown cell: no alert');
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 29, '001010000000001', 1061, 'ecgi:001-01:9999999')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 0, 1, 0, 0, 0)$$,
    'unknown cell again (fast path): counted as unknown cell');
SELECT is(pg_temp.loc('meter@test'), 'unknown_cell/inside/0', 'unknown cell again: state kept');

-- Unknown device: counted only.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 31, '999990000000001', 1060, 'ecgi:001-01:0000001')$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 0, 0, 1, 0, 0)$$, 'unknown device: counted');

-- Duplicate (node, seq): answered 'duplicate', nothing processed again.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 3, '001010000000001', 5000, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{duplicate}'::text[], 0, 0, 0, 0, 0, 0, 0)$$, 'resent batch: duplicate, not counted');
SELECT is(pg_temp.loc('meter@test'), 'unknown_cell/inside/0', 'resent batch: location untouched');
SELECT is((SELECT count(*)::int FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-a' AND nb.seq = 3), 1, 'resent batch: stored once');
SELECT results_eq(
    $$SELECT batch_status, n_inside FROM lg_ingest(ARRAY['amf-b', 'amf-b'], ARRAY[7, 7]::bigint[], 1024, 2,
        ARRAY[1, 2], ARRAY['001010000000008', '001010000000008'],
        ARRAY[6000000000, 6001000000]::bigint[], ARRAY['NR', 'NR'],
        ARRAY['ecgi:001-01:0000001', 'ecgi:001-01:0000001'],
        ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[])$$,
    $$VALUES ('{accepted,duplicate}'::text[], 1)$$,
    'same (node, seq) twice in one call: second is duplicate, its reports ignored');
SELECT is((SELECT n_reports FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'amf-b' AND nb.seq = 7), 1, 'node_batch records the accepted batch size');

-- Stale: below the window; the window moves and old rows are forgotten.
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 31::bigint, 'high_seq raised');
SELECT is((SELECT batch_status FROM pg_temp.ingest1('mme-a', 2000, '001010000000008', 7000, 'ecgi:001-01:0000001')),
          '{accepted}', 'jump ahead: accepted');
SELECT is((SELECT count(*)::int FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-a' AND nb.seq <= 2000 - 1024), 0, 'rows below the window deleted');
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 100, '001010000000001', 9000, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{stale}'::text[], 0, 0, 0, 0, 0, 0, 0)$$, 'seq below the window: stale, not counted');
SELECT is((SELECT batch_status FROM pg_temp.ingest1('mme-a', 976, '001010000000008', 7001, 'ecgi:001-01:0000001')),
          '{stale}', 'seq = high_seq - window: stale');
SELECT is((SELECT batch_status FROM pg_temp.ingest1('mme-a', 977, '001010000000008', 7002, 'ecgi:001-01:0000001')),
          '{accepted}', 'seq inside the window, not seen: accepted');
SELECT is((SELECT batch_status FROM pg_temp.ingest1('mme-a', 977, '001010000000008', 7003, 'ecgi:001-01:0000001')),
          '{duplicate}', 'seq inside the window, seen: duplicate');
SELECT is(pg_temp.loc('meter@test'), 'unknown_cell/inside/0', 'stale batch: location untouched');
-- In one call the window moves in arrival order, and a batch repeated in
-- the call takes its first copy's status: after a stale one it is stale
-- too, not a duplicate (a duplicate is answered as acknowledged).
INSERT INTO network_node (name, kind) VALUES ('mme-w', 'MME');
SELECT is((SELECT batch_status FROM lg_ingest(ARRAY['mme-w', 'mme-w', 'mme-w', 'mme-w'],
              ARRAY[3000, 1500, 1500, 3000]::bigint[], 1024, 2, ARRAY[1, 2, 3, 4],
              ARRAY['001010000000008', '001010000000008', '001010000000008', '001010000000008'],
              ARRAY[7100000000, 7101000000, 7102000000, 7103000000]::bigint[],
              ARRAY['NR', 'NR', 'NR', 'NR'], ARRAY['ecgi:001-01:0000001', 'ecgi:001-01:0000001',
                                                   'ecgi:001-01:0000001', 'ecgi:001-01:0000001'],
              ARRAY[NULL, NULL, NULL, NULL]::float8[], ARRAY[NULL, NULL, NULL, NULL]::float8[],
              ARRAY[NULL, NULL, NULL, NULL]::float8[])),
          '{accepted,stale,stale,duplicate}',
          'one call: a seq below the window its earlier batch set is stale, and so is its copy');

-- Unknown or disabled node: refused, nothing stored.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('sgsn-nobody', 1, '001010000000001', 9100, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{unknown_node}'::text[], 0, 0, 0, 0, 0, 0, 0)$$, 'unknown node: refused');
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-off', 1, '001010000000001', 9100, 'ecgi:001-01:0000002')$$,
    $$VALUES ('{unknown_node}'::text[], 0, 0, 0, 0, 0, 0, 0)$$, 'disabled node: refused');
SELECT is((SELECT count(*)::int FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-off'), 0, 'disabled node: no batch recorded');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-off'), 0::bigint, 'disabled node: high_seq untouched');
SELECT is(pg_temp.loc('meter@test'), 'unknown_cell/inside/0', 'refused node: location untouched');
SELECT results_eq(
    $$SELECT batch_status, n_outside FROM lg_ingest(ARRAY['mme-off', 'mme-a'], ARRAY[2, 3000]::bigint[], 1024, 2,
        ARRAY[1, 2], ARRAY['001010000000008', '001010000000008'],
        ARRAY[9200000000, 9100000000]::bigint[], ARRAY['EUTRA', 'EUTRA'],
        ARRAY['ecgi:001-01:0000002', 'ecgi:001-01:0000001'],
        ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[])$$,
    $$VALUES ('{unknown_node,accepted}'::text[], 0)$$,
    'mixed call: only the accepted batch''s reports count');

-- Position evidence: a circle of uncertainty straddling the east border
-- (2.1) is ambiguous; the policy decides how it feeds the state machine.
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 3001, '001010000000004', 10000, 'x', 2.0995, 48.05, 200)$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 1, 0, 0, 0, 0)$$, 'straddling circle, policy inside: ambiguous');
SELECT is(pg_temp.loc('amb-in@test'), 'ambiguous/inside/0', 'policy inside: treated as inside');
SELECT results_eq(
    $$SELECT * FROM pg_temp.ingest1('mme-a', 3002, '001010000000005', 10000, 'x', 2.1005, 48.05, 200)$$,
    $$VALUES ('{accepted}'::text[], 0, 0, 1, 0, 0, 0, 0)$$, 'straddling circle, policy outside: ambiguous');
SELECT is(pg_temp.loc('amb-out@test'), 'ambiguous/unknown/1', 'policy outside: counts toward left');
SELECT results_eq(
    $$SELECT n_ambiguous, n_alerts FROM pg_temp.ingest1('mme-a', 3003, '001010000000005', 10010, 'x', 2.1005, 48.05, 200)$$,
    $$VALUES (1, 1)$$, 'policy outside, twice: left');
SELECT is(pg_temp.alerts('amb-out@test'), '{left}', 'policy outside: exactly one left');
SELECT results_eq(
    $$SELECT n_inside, n_outside FROM pg_temp.ingest1('mme-a', 3004, '001010000000008', 10000, 'x', 2.05, 48.05, 200)$$,
    $$VALUES (1, 0)$$, 'position well inside with small uncertainty: inside');
SELECT results_eq(
    $$SELECT n_inside, n_outside FROM pg_temp.ingest1('mme-a', 3005, '001010000000008', 10010, 'x', 2.1100, 48.05, 200)$$,
    $$VALUES (0, 1)$$, 'position 700 m outside with 200 m uncertainty: outside');
SELECT results_eq(
    $$SELECT n_inside FROM pg_temp.ingest1('mme-a', 3006, '001010000000008', 10020, 'ecgi:001-01:0000002', 2.05, 48.05, NULL)$$,
    $$VALUES (1)$$, 'a position wins over the cell');

-- Several reports for one device in one call, out of arrival order: they are
-- processed in time order (home t1, away t2, away t3 -> one left at t3).
SELECT results_eq(
    $$SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
             n_unchecked, n_alerts, n_coalesced FROM lg_ingest(ARRAY['amf-b'], ARRAY[8]::bigint[], 1024, 2,
        ARRAY[1, 1, 1], ARRAY['001010000000006', '001010000000006', '001010000000006'],
        ARRAY[11003000000, 11001000000, 11002000000]::bigint[], ARRAY['NR', 'NR', 'NR'],
        ARRAY['ecgi:001-01:0000002', 'ecgi:001-01:0000001', 'ecgi:001-01:0000002'],
        ARRAY[NULL, NULL, NULL]::float8[], ARRAY[NULL, NULL, NULL]::float8[],
        ARRAY[NULL, NULL, NULL]::float8[])$$,
    $$VALUES ('{accepted}'::text[], 1, 2, 0, 0, 0, 0, 1, 0)$$, 'three reports in one call: one alert');
SELECT is(pg_temp.alerts('multi@test'), '{left}', 'time order: one left');
SELECT is((SELECT al.reported_at FROM alert al JOIN ue u ON u.id = al.ue_id
            WHERE u.external_id = 'multi@test'), to_timestamp(11003), 'left raised by the newest report');
SELECT is(pg_temp.loc('multi@test'), 'outside/outside/2', 'newest report stored with its state');
SELECT is((SELECT reported_at FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id = 'multi@test'), to_timestamp(11003), 'one row per device, the newest');

-- A report older than the stored one changes nothing but is counted.
SELECT results_eq(
    $$SELECT n_inside, n_alerts FROM pg_temp.ingest1('amf-b', 9, '001010000000006', 11000, 'ecgi:001-01:0000001')$$,
    $$VALUES (1, 0)$$, 'late report: counted, no alert');
SELECT is(pg_temp.loc('multi@test'), 'outside/outside/2', 'late report: state untouched');
SELECT results_eq(
    $$SELECT n_alerts FROM lg_ingest(ARRAY['amf-b'], ARRAY[10]::bigint[], 1024, 2,
        ARRAY[1, 1], ARRAY['001010000000006', '001010000000006'],
        ARRAY[11004000000, 10000000000]::bigint[], ARRAY['NR', 'NR'],
        ARRAY['ecgi:001-01:0000001', 'ecgi:001-01:0000001'],
        ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[])$$,
    $$VALUES (1)$$, 'several reports, one older than stored: returned once');
SELECT is(pg_temp.alerts('multi@test'), '{left,returned}', 'several reports: left then returned');
SELECT is((SELECT reported_at FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id = 'multi@test'), to_timestamp(11004), 'several reports: newest kept');

-- The fast path (the only report of a device in the call, from the cell of
-- its cached decision) runs the hysteresis like the general path. With
-- N = 3: the first report away is decided by the general path, the second
-- takes the fast path, the third raises 'left' (alerts take the general
-- path), the fourth takes the fast path again and raises nothing.
CREATE FUNCTION pg_temp.ingest_n3(p_seq bigint, p_ts_s bigint)
RETURNS TABLE (batch_status text[], n_inside int, n_outside int, n_ambiguous int,
               n_unknown_cell int, n_unknown_device int, n_unchecked int, n_alerts int)
LANGUAGE sql AS $$
    SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
           n_unchecked, n_alerts
      FROM lg_ingest(ARRAY['mme-a'], ARRAY[p_seq], 1024, 3, ARRAY[1],
                     ARRAY['001010000000009'], ARRAY[p_ts_s * 1000000], ARRAY['EUTRA'],
                     ARRAY['ecgi:001-01:0000002'], ARRAY[NULL::float8],
                     ARRAY[NULL::float8], ARRAY[NULL::float8])
$$;
SELECT results_eq($$SELECT * FROM pg_temp.ingest_n3(4001, 30000)$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 0)$$, 'N = 3, away once: outside');
SELECT is(pg_temp.loc('fast@test'), 'outside/unknown/1', 'N = 3, away once: streak 1, zone not known yet');
SELECT is((SELECT l.dec_cell FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id = 'fast@test'), 'ecgi:001-01:0000002',
          'N = 3, away once: the decision is cached for the cell');
SELECT results_eq($$SELECT * FROM pg_temp.ingest_n3(4002, 30010)$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 0)$$, 'N = 3, away twice (fast path): no alert');
SELECT is(pg_temp.loc('fast@test'), 'outside/unknown/2', 'N = 3, away twice: streak 2, zone not known yet');
SELECT results_eq($$SELECT * FROM pg_temp.ingest_n3(4003, 30020)$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 1)$$, 'N = 3, away three times: one alert');
SELECT is(pg_temp.loc('fast@test'), 'outside/outside/3', 'N = 3, away three times: outside');
SELECT results_eq($$SELECT * FROM pg_temp.ingest_n3(4004, 30030)$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 0)$$, 'N = 3, away four times (fast path): no alert');
SELECT is(pg_temp.loc('fast@test'), 'outside/outside/4', 'N = 3, away four times: streak 4');
SELECT is(pg_temp.alerts('fast@test'), '{left}', 'N = 3: exactly one left');
SELECT is((SELECT al.reported_at FROM alert al JOIN ue u ON u.id = al.ue_id
            WHERE u.external_id = 'fast@test'), to_timestamp(30020), 'left raised by the third report');

-- A report from the cached cell older than the stored one: counted, and
-- neither the state nor the stored time moves.
SELECT results_eq($$SELECT * FROM pg_temp.ingest_n3(4005, 30025)$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 0, 0, 0)$$, 'older report from the cached cell: counted');
SELECT is(pg_temp.loc('fast@test'), 'outside/outside/4', 'older report from the cached cell: state untouched');
SELECT is((SELECT l.reported_at FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id = 'fast@test'), to_timestamp(30030),
          'older report from the cached cell: stored time untouched');

-- One call, one report of each path: the counters add up.
SELECT results_eq(
    $$SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
             n_unchecked, n_alerts, n_coalesced FROM lg_ingest(ARRAY['mme-a'], ARRAY[4006]::bigint[], 1024, 3,
        ARRAY[1, 1], ARRAY['001010000000009', '001019999999999'],
        ARRAY[30040000000, 30040000000]::bigint[], ARRAY['EUTRA', 'EUTRA'],
        ARRAY['ecgi:001-01:0000002', 'ecgi:001-01:0000002'],
        ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[])$$,
    $$VALUES ('{accepted}'::text[], 0, 1, 0, 0, 1, 0, 0, 0)$$,
    'fast and general path in one call: counters of both');
SELECT is(pg_temp.loc('fast@test'), 'outside/outside/5', 'fast and general path in one call: streak 5');

-- Empty call and mismatched arrays.
SELECT results_eq(
    $$SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
             n_unchecked, n_alerts, n_coalesced FROM lg_ingest('{}', '{}', 1024, 2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')$$,
    $$VALUES ('{}'::text[], 0, 0, 0, 0, 0, 0, 0, 0)$$, 'empty call: empty status');
SELECT throws_ok(
    $$SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
             n_unchecked, n_alerts, n_coalesced FROM lg_ingest(ARRAY['mme-a'], ARRAY[1, 2]::bigint[], 1024, 2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')$$,
    '22023', NULL, 'p_nodes and p_seqs of different lengths: 22023');

-- The verdict cache follows geometry changes: move 'home' away from c-home
-- and the same cell is outside.
SELECT ok((SELECT count(*) > 0 FROM area_cell_verdict v JOIN area a ON a.id = v.area_id
            WHERE a.name = 'home' AND v.cell_key = 'ecgi:001-01:0000001' AND v.verdict = 'in'),
          'verdict of home / c-home cached');
SELECT lg_admin_area_put('{"name": "home", "geometry": {"type": "Polygon",
           "coordinates": [[[3, 48], [3.1, 48], [3.1, 48.1], [3, 48.1], [3, 48]]]}}');
SELECT is((SELECT count(*)::int FROM area_cell_verdict v JOIN area a ON a.id = v.area_id
            WHERE a.name = 'home'), 0, 'area geometry change drops its cached verdicts');
SELECT results_eq(
    $$SELECT n_inside, n_outside FROM pg_temp.ingest1('amf-b', 11, '001010000000008', 20000, 'ecgi:001-01:0000001')$$,
    $$VALUES (0, 1)$$, 'after the move, c-home is outside home');
UPDATE cell SET coverage = ST_Multi(ST_MakeEnvelope(3.04, 48.04, 3.06, 48.06, 4326))
 WHERE cell_key = 'ecgi:001-01:0000001';
SELECT results_eq(
    $$SELECT n_inside, n_outside FROM pg_temp.ingest1('amf-b', 12, '001010000000008', 20010, 'ecgi:001-01:0000001')$$,
    $$VALUES (1, 0)$$, 'cell coverage change drops its cached verdicts');

SELECT * FROM finish();
ROLLBACK;
