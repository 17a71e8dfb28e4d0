-- SPDX-License-Identifier: Apache-2.0
--
-- Batches with neither a sequence number nor a message key (notifications
-- as an AMF sends them, TS 29.518: no Locguard-* header) and the retry of
-- such a notification. The claim accepts them with no node_batch or
-- node_message row; a report that repeats the device's stored report (same
-- time, node, RAT, cell and position) changes nothing, on each of the
-- three paths: the fast path (lg_ingest_fast), the general one
-- (lg_ingest_decide) and the fold of a device's several reports
-- (lg_ingest_fold). The same time with anything else different is applied.
-- Also the set-based claim's window over a mixed call.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(28);

INSERT INTO network_node (name, kind) VALUES ('amf-a', 'AMF'), ('amf-b', 'AMF'), ('mme-a', 'MME');
INSERT INTO network_node (name, kind, enabled) VALUES ('amf-off', 'AMF', false);
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('c-home', 'NR', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('c-away', 'NR', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326))),
    ('c-away2', 'NR', ST_Multi(ST_MakeEnvelope(5.14, 45.04, 5.16, 45.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy)
SELECT '0010100000000' || lpad(i::text, 2, '0'), 'd' || i || '@test', 'fixed', 'inside'
  FROM generate_series(1, 9) i;
INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a;

CREATE FUNCTION pg_temp.supi(p int) RETURNS text LANGUAGE sql AS
$$ SELECT '0010100000000' || lpad(p::text, 2, '0') $$;
-- call: one lg_ingest call of one keyless batch from p_node; reports of
-- devices p_dev at seconds p_ts from cells p_cell (a position when p_lon is
-- given), hysteresis p_hyst. Returns the batch status and the alert count.
CREATE FUNCTION pg_temp.call(p_node text, p_hyst int, p_dev int[], p_ts bigint[],
                             p_cell text[], p_lon float8[] DEFAULT NULL,
                             p_lat float8[] DEFAULT NULL, p_unc float8[] DEFAULT NULL,
                             p_rat text DEFAULT 'NR')
RETURNS text LANGUAGE sql AS $$
    SELECT batch_status[1] || '/' || n_alerts
      FROM lg_ingest(ARRAY[p_node], ARRAY[NULL]::bigint[], 1024, p_hyst,
                     array_fill(1, ARRAY[cardinality(p_dev)]),
                     (SELECT array_agg(pg_temp.supi(d) ORDER BY o)
                        FROM unnest(p_dev) WITH ORDINALITY AS x(d, o)),
                     (SELECT array_agg(t * 1000000 ORDER BY o)
                        FROM unnest(p_ts) WITH ORDINALITY AS x(t, o)),
                     array_fill(p_rat, ARRAY[cardinality(p_dev)]), p_cell,
                     coalesce(p_lon, array_fill(NULL::float8, ARRAY[cardinality(p_dev)])),
                     coalesce(p_lat, array_fill(NULL::float8, ARRAY[cardinality(p_dev)])),
                     coalesce(p_unc, array_fill(NULL::float8, ARRAY[cardinality(p_dev)])),
                     0)
$$;
-- loc: a device's stored row as ts (s) / cell / zone / streak.
CREATE FUNCTION pg_temp.loc(p int) RETURNS text LANGUAGE sql AS $$
    SELECT extract(epoch FROM l.reported_at)::bigint || '/' || coalesce(l.cell_key, '-')
           || '/' || l.zone_state || '/' || l.outside_streak
      FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.imsi = pg_temp.supi(p)
$$;
CREATE FUNCTION pg_temp.alerts(p int) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(a.kind ORDER BY a.id), '{}')
      FROM alert a JOIN ue u ON u.id = a.ue_id WHERE u.imsi = pg_temp.supi(p)
$$;

-- The claim ---------------------------------------------------------------
SELECT results_eq(
    $$SELECT batch_status,
             batch_node = ARRAY[(SELECT id FROM network_node WHERE name = 'amf-a'),
                                (SELECT id FROM network_node WHERE name = 'amf-a'), NULL, NULL]
        FROM lg_ingest_claim(ARRAY['amf-a', 'amf-a', 'amf-off', 'nobody'],
                             ARRAY[NULL, NULL, NULL, NULL]::bigint[], 100, ARRAY[1, 2, 3, 4],
                             NULL)$$,
    $$VALUES ('{accepted,accepted,unknown_node,unknown_node}'::text[], true)$$,
    'claim: keyless batches of an enabled node accepted, each of them; disabled or unknown refused');
SELECT is((SELECT count(*)::int FROM node_batch) + (SELECT count(*)::int FROM node_message), 0,
          'claim: a keyless batch leaves no row');
-- The window, set-based: high_seq 0, window 10. 5 and 30 accepted; 12 and
-- 19 stale behind 30; 30 again a duplicate; 21 accepted; 12 again stale
-- (its first was); amf-b's 3 is its own node's.
SELECT is((SELECT batch_status
             FROM lg_ingest_claim(ARRAY['mme-a', 'mme-a', 'mme-a', 'mme-a', 'mme-a', 'mme-a',
                                        'mme-a', 'amf-b'],
                                  ARRAY[5, 30, 12, 30, 19, 21, 12, 3]::bigint[], 10, '{}', NULL)),
          '{accepted,accepted,stale,duplicate,stale,accepted,stale,accepted}',
          'claim: the window over the node''s earlier batches in the call');
SELECT is((SELECT string_agg(seq::text, ',' ORDER BY seq) FROM node_batch), '3,5,21,30',
          'claim: a node_batch row per accepted sequenced batch');
SELECT is((SELECT batch_status FROM lg_ingest_claim(ARRAY['mme-a', 'mme-a', 'mme-a'],
                                                    ARRAY[21, 22, NULL]::bigint[], 10, '{}',
                                                    NULL)),
          '{duplicate,accepted,accepted}',
          'claim: a seen sequence number is a duplicate; keyless beside sequenced');

-- The fast path: d1, hysteresis 3. Away once (the general path: streak 1,
-- decision cached), then the same report again: fast, a repeat, coalesced.
SELECT is(pg_temp.call('amf-a', 3, ARRAY[1], ARRAY[100], ARRAY['c-away']), 'accepted/0',
          'fast: first away report');
SELECT is(pg_temp.loc(1), '100/c-away/unknown/1', 'fast: streak 1');
SELECT is(pg_temp.call('amf-a', 3, ARRAY[1], ARRAY[100], ARRAY['c-away']), 'accepted/0',
          'fast: the retry is accepted');
SELECT is(pg_temp.loc(1), '100/c-away/unknown/1', 'fast: the retry changed nothing (streak 1)');
SELECT is(pg_temp.call('amf-a', 3, ARRAY[1], ARRAY[110], ARRAY['c-away']), 'accepted/0',
          'fast: a new away report');
SELECT is(pg_temp.loc(1), '110/c-away/unknown/2', 'fast: the new report counts (streak 2)');

-- The general path: d2, hysteresis 2. The retry of the first away report
-- would raise 'left' if applied, so it is not fast: lg_ingest_decide.
SELECT is(pg_temp.call('amf-a', 2, ARRAY[2], ARRAY[100], ARRAY['c-home']), 'accepted/0',
          'decide: at home');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[2], ARRAY[200], ARRAY['c-away']), 'accepted/0',
          'decide: away once');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[2], ARRAY[200], ARRAY['c-away']), 'accepted/0',
          'decide: its retry raises no alert');
SELECT is(pg_temp.loc(2), '200/c-away/inside/1', 'decide: the retry changed nothing');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[2], ARRAY[210], ARRAY['c-away']), 'accepted/1',
          'decide: the second away report raises ''left''');
SELECT is(pg_temp.alerts(2), '{left}', 'decide: one alert');

-- The fold: d3, hysteresis 2; the retry twice in one call (several reports
-- of one device) after the original in an earlier call.
SELECT is(pg_temp.call('amf-a', 2, ARRAY[3], ARRAY[200], ARRAY['c-away']), 'accepted/0',
          'fold: away once');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[3, 3], ARRAY[200, 200], ARRAY['c-away', 'c-away']),
          'accepted/0', 'fold: two retries in one call raise no alert');
SELECT is(pg_temp.loc(3), '200/c-away/unknown/1', 'fold: they changed nothing');
-- The original and its retry in one call: applied once.
SELECT is(pg_temp.call('amf-a', 2, ARRAY[4, 4], ARRAY[300, 300], ARRAY['c-away', 'c-away']),
          'accepted/0', 'fold: a report and its retry in one call raise no alert');
SELECT is(pg_temp.loc(4), '300/c-away/unknown/1', 'fold: applied once (streak 1)');

-- The same time but not the same report: applied.
SELECT is(pg_temp.call('amf-a', 2, ARRAY[5], ARRAY[400], ARRAY['c-away']), 'accepted/0',
          'same time: away once');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[5], ARRAY[400], ARRAY['c-away2']), 'accepted/1',
          'same time, another cell: applied (''left'')');
SELECT is(pg_temp.call('amf-b', 2, ARRAY[6], ARRAY[400], ARRAY['c-away']) ||
          pg_temp.call('amf-a', 2, ARRAY[6], ARRAY[400], ARRAY['c-away']), 'accepted/0accepted/1',
          'same time, another node: applied');

-- Positions: the same position and uncertainty again changes nothing;
-- another uncertainty at the same time is another report.
SELECT is(pg_temp.call('amf-a', 2, ARRAY[7], ARRAY[500], ARRAY[NULL], ARRAY[5.05],
                       ARRAY[45.05], ARRAY[50]), 'accepted/0', 'position: away once');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[7], ARRAY[500], ARRAY[NULL], ARRAY[5.05],
                       ARRAY[45.05], ARRAY[50]) || pg_temp.loc(7), 'accepted/0500/-/unknown/1',
          'position: its retry changed nothing');
SELECT is(pg_temp.call('amf-a', 2, ARRAY[7], ARRAY[500], ARRAY[NULL], ARRAY[5.05],
                       ARRAY[45.05], ARRAY[60]), 'accepted/1',
          'position: another uncertainty at the same time is applied');

SELECT * FROM finish();
ROLLBACK;
