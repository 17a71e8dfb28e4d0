-- SPDX-License-Identifier: Apache-2.0
--
-- The steps of lg_ingest (sql/ingest.sql), each called on its own:
-- lg_ingest_cache_check, lg_ingest_claim, lg_ingest_fast, lg_ingest_decide,
-- lg_ingest_fold and lg_ingest_finish. lg_ingest as a whole is tested by
-- ingest_test.sql and the others. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(39);

-- Fixture: a home square with c-home inside, c-away far outside; fixed
-- devices 1..6 with that area, a tracker 9.
INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME'), ('mme-b', 'MME');
INSERT INTO network_node (name, kind, enabled) VALUES ('mme-off', 'MME', false);
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('c-home', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('c-away', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy)
SELECT '0010100000000' || lpad(i::text, 2, '0'), 'd' || i || '@test',
       CASE WHEN i = 9 THEN 'unrestricted' ELSE 'fixed' END, 'inside'
  FROM generate_series(1, 9) i;
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a WHERE u.mobility = 'fixed';

CREATE FUNCTION pg_temp.ue(p int) RETURNS bigint LANGUAGE sql AS
$$ SELECT id FROM ue WHERE imsi = '0010100000000' || lpad(p::text, 2, '0') $$;
CREATE FUNCTION pg_temp.node(p text) RETURNS bigint LANGUAGE sql AS
$$ SELECT id FROM network_node WHERE name = p $$;
-- loc: a device's stored row as ts (s) / cell / decision / zone / streak.
CREATE FUNCTION pg_temp.loc(p int) RETURNS text LANGUAGE sql AS $$
    SELECT extract(epoch FROM l.reported_at)::bigint || '/' || l.cell_key || '/' || l.decision
           || '/' || l.zone_state || '/' || l.outside_streak
      FROM ue_location l WHERE l.ue_id = pg_temp.ue(p)
$$;

-- lg_ingest_cache_check -------------------------------------------------
SELECT is((SELECT is_owner FROM lg_ingest_cache_check(NULL, NULL, NULL)), false,
          'cache_check: no token, no owner');
SELECT is((SELECT is_owner FROM lg_ingest_cache_check('tok-a', NULL, NULL)), true,
          'cache_check: a NULL generation claims the cache');
SELECT is((SELECT cache_gen FROM lg_ingest_cache_check('tok-a', 0, NULL)),
          lg_ingest_cache_gen(), 'cache_check: the owner is told the generation');
SELECT is((SELECT row(is_owner, cache_gen)::text FROM lg_ingest_cache_check('tok-b', 5, NULL)),
          '(f,)', 'cache_check: another token is not the owner');
SELECT throws_ok($$SELECT * FROM lg_ingest_cache_check('tok-a', -1, ARRAY[2])$$, 'LG001', NULL,
                 'cache_check: reports coalesced at a stale generation are refused');
SELECT lives_ok(format($$SELECT * FROM lg_ingest_cache_check('tok-a', %s, ARRAY[2])$$,
                       lg_ingest_cache_gen()),
                'cache_check: ... at the current one taken');

-- lg_ingest_claim ------------------------------------------------------
SELECT results_eq(
    $$SELECT batch_status, batch_node = ARRAY[pg_temp.node('mme-a'), NULL, NULL, NULL,
                                              pg_temp.node('mme-b')]
        FROM lg_ingest_claim(ARRAY['mme-a', 'nobody', 'mme-off', 'mme-a', 'mme-b'],
                             ARRAY[10, 1, 1, 10, 10]::bigint[], 100,
                             ARRAY[1, 1, 4, 5, 5, 5], ARRAY[0, 0, 0, 0, 2])$$,
    $$VALUES ('{accepted,unknown_node,unknown_node,duplicate,accepted}'::text[], true)$$,
    'claim: statuses in arrival order, the accepted batches'' nodes');
SELECT results_eq(
    $$SELECT nb.seq, nb.n_reports FROM node_batch nb
       WHERE nb.node_id IN (pg_temp.node('mme-a'), pg_temp.node('mme-b')) ORDER BY nb.node_id$$,
    $$VALUES (10::bigint, 2), (10::bigint, 5)$$,
    'claim: node_batch holds each accepted batch, its reports plus the cached ones');
SELECT is((SELECT batch_status FROM lg_ingest_claim(ARRAY['mme-a'], ARRAY[10]::bigint[], 100,
                                                    '{}', NULL)),
          '{duplicate}', 'claim: a seen batch is a duplicate');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 0::bigint,
          'claim: high_seq is not raised (lg_ingest_finish does)');

-- lg_ingest_finish -----------------------------------------------------
SELECT lives_ok($$SELECT lg_ingest_finish(ARRAY['accepted', 'stale'],
                                          ARRAY[pg_temp.node('mme-a'), NULL],
                                          ARRAY[500, 900]::bigint[], 100, NULL)$$,
                'finish: no alerts');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 500::bigint,
          'finish: high_seq raised to the highest accepted seq (not a stale one''s)');
SELECT is((SELECT count(*)::int FROM node_batch WHERE node_id = pg_temp.node('mme-a')
                                                  AND seq <= 400), 0,
          'finish: batches that left the window deleted');
SELECT lives_ok($$SELECT lg_ingest_finish(ARRAY['accepted'], ARRAY[pg_temp.node('mme-a')],
                                          ARRAY[300]::bigint[], 100, NULL)$$,
                'finish: an accepted batch below high_seq');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 500::bigint,
          'finish: ... never lowers high_seq');

-- lg_ingest_decide -----------------------------------------------------
-- Device 1 at home (new row), 2 away once (streak 1, no alert yet), 3 twice
-- (left for the fold), an unknown device, the tracker, an unknown cell.
CREATE TEMP TABLE dec AS
SELECT * FROM lg_ingest_decide(
    ARRAY[1, 2, 3, 4, 5, 6, 7],
    array_fill(pg_temp.node('mme-a'), ARRAY[7]),
    ARRAY['001010000000001', '001010000000002', '001010000000003', '001010000000003',
          '999990000000001', '001010000000009', '001010000000004'],
    ARRAY['1970-01-01 00:16:40+00', '1970-01-01 00:16:40+00', '1970-01-01 00:16:41+00',
          '1970-01-01 00:16:40+00', '1970-01-01 00:16:40+00', '1970-01-01 00:16:40+00',
          '1970-01-01 00:16:40+00']::timestamptz[],
    array_fill('EUTRA'::text, ARRAY[7]),
    ARRAY['c-home', 'c-away', 'c-away', 'c-home', 'c-home', 'c-home', 'c-nowhere'],
    array_fill(NULL::float8, ARRAY[7]), array_fill(NULL::float8, ARRAY[7]),
    array_fill(NULL::float8, ARRAY[7]), 2, true);
SELECT results_eq(
    $$SELECT n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, n_unchecked,
             n_alerts FROM dec$$,
    $$VALUES (2, 2, 0, 1, 1, 1, 0)$$,
    'decide: every report decided and counted');
SELECT is(pg_temp.loc(1), '1000/c-home/inside/inside/0', 'decide: a new device''s row');
SELECT is(pg_temp.loc(2), '1000/c-away/outside/unknown/1', 'decide: one outside, streak 1');
SELECT is(pg_temp.loc(3), NULL, 'decide: a device with two reports is not written');
SELECT results_eq(
    $$SELECT x.ue, x.ord, x.cell, x.dec, x.eff
        FROM dec, unnest(m_ue, m_ord, m_cell, m_dec, m_eff) AS x(ue, ord, cell, dec, eff)
       ORDER BY x.ord$$,
    $$VALUES (pg_temp.ue(3), 3, 'c-away', 'outside', 'outside'),
             (pg_temp.ue(3), 4, 'c-home', 'inside', 'inside')$$,
    'decide: its reports are handed to the fold');
SELECT ok((SELECT pg_temp.ue(1) IS NOT NULL
                  AND 1 = ANY (c_ords) AND NOT (2 = ANY (c_ords)) FROM dec),
          'decide: the owner is offered the inside row, not the outside one');
SELECT is((SELECT c_ords FROM lg_ingest_decide(ARRAY[1], ARRAY[pg_temp.node('mme-a')],
                                               ARRAY['001010000000005'],
                                               ARRAY['1970-01-01 00:16:40+00']::timestamptz[],
                                               ARRAY['EUTRA'], ARRAY['c-home'],
                                               ARRAY[NULL::float8], ARRAY[NULL::float8],
                                               ARRAY[NULL::float8], 2, false)),
          NULL, 'decide: no cache offers to a caller that is not the owner');

-- lg_ingest_fold -------------------------------------------------------
-- Device 3's two reports, given newest first: walked in time order (away
-- at 1001 after home at 1000), so one outside decision, streak 1.
SELECT results_eq(
    $$SELECT n_alerts FROM lg_ingest_fold(
        ARRAY[pg_temp.ue(3), pg_temp.ue(3)], ARRAY[3, 4],
        ARRAY['1970-01-01 00:16:41+00', '1970-01-01 00:16:40+00']::timestamptz[],
        array_fill(pg_temp.node('mme-a'), ARRAY[2]), ARRAY['EUTRA', 'EUTRA'],
        ARRAY['c-away', 'c-home'], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[],
        ARRAY[NULL, NULL]::float8[], ARRAY['outside', 'inside'], ARRAY['outside', 'inside'], 2, NULL)$$,
    $$VALUES (0)$$, 'fold: home then away, no alert');
SELECT is(pg_temp.loc(3), '1001/c-away/outside/inside/1', 'fold: the newest report stored');
-- Device 6: three away reports and one home, hysteresis 2: left at the
-- second away report, returned at home; an older report than stored is
-- counted only.
SELECT results_eq(
    $$SELECT n_alerts, cardinality(alert_ids) FROM lg_ingest_fold(
        array_fill(pg_temp.ue(6), ARRAY[4]), ARRAY[1, 2, 3, 4],
        ARRAY['1970-01-01 00:16:50+00', '1970-01-01 00:16:51+00', '1970-01-01 00:16:52+00',
              '1970-01-01 00:16:53+00']::timestamptz[],
        array_fill(pg_temp.node('mme-a'), ARRAY[4]), array_fill('EUTRA'::text, ARRAY[4]),
        ARRAY['c-away', 'c-away', 'c-away', 'c-home'], array_fill(NULL::float8, ARRAY[4]),
        array_fill(NULL::float8, ARRAY[4]), array_fill(NULL::float8, ARRAY[4]),
        ARRAY['outside', 'outside', 'outside', 'inside'],
        ARRAY['outside', 'outside', 'outside', 'inside'], 2, NULL)$$,
    $$VALUES (2, 2)$$, 'fold: left then returned, both written');
SELECT is((SELECT array_agg(a.kind || '@' || extract(epoch FROM a.reported_at)::int
                            ORDER BY a.id)
             FROM alert a WHERE a.ue_id = pg_temp.ue(6)),
          '{left@1011,returned@1013}', 'fold: each alert at the report that raised it');
SELECT is(pg_temp.loc(6), '1013/c-home/inside/inside/0', 'fold: the state after the newest');
SELECT results_eq(
    $$SELECT n_alerts FROM lg_ingest_fold(
        ARRAY[pg_temp.ue(6)], ARRAY[1], ARRAY['1970-01-01 00:16:00+00']::timestamptz[],
        ARRAY[pg_temp.node('mme-a')], ARRAY['EUTRA'], ARRAY['c-away'], ARRAY[NULL::float8],
        ARRAY[NULL::float8], ARRAY[NULL::float8], ARRAY['outside'], ARRAY['outside'], 2, NULL)$$,
    $$VALUES (0)$$, 'fold: a report older than the stored one');
SELECT is(pg_temp.loc(6), '1013/c-home/inside/inside/0', 'fold: ... changes nothing');
-- Given the epoch lg_ingest_decide read, the fold caches the newest
-- report's decision as the general statement does (the fast path then
-- finds the row by its IMSI); without it (above), nothing is cached.
SELECT is((SELECT dec_cell FROM ue_location WHERE ue_id = pg_temp.ue(6)), NULL,
          'fold: without an epoch, no cached decision');
SELECT results_eq(
    $$SELECT n_alerts FROM lg_ingest_fold(
        array_fill(pg_temp.ue(6), ARRAY[2]), ARRAY[1, 2],
        ARRAY['1970-01-01 00:17:00+00', '1970-01-01 00:17:01+00']::timestamptz[],
        array_fill(pg_temp.node('mme-a'), ARRAY[2]), array_fill('EUTRA'::text, ARRAY[2]),
        ARRAY['c-home', 'c-home'], array_fill(NULL::float8, ARRAY[2]),
        array_fill(NULL::float8, ARRAY[2]), array_fill(NULL::float8, ARRAY[2]),
        ARRAY['inside', 'inside'], ARRAY['inside', 'inside'], 2,
        (SELECT epoch FROM lg_ref_epoch))$$,
    $$VALUES (0)$$, 'fold with the epoch: two home reports');
SELECT is((SELECT l.dec_cell || '/' || (l.dec_epoch = e.epoch) || '/' || l.dec_effective || '/'
                  || (l.imsi = u.imsi)
             FROM ue_location l JOIN ue u ON u.id = l.ue_id, lg_ref_epoch e
            WHERE l.ue_id = pg_temp.ue(6)),
          'c-home/true/inside/true', 'fold: the decision cached at that epoch, with the IMSI');

-- lg_ingest_fast -------------------------------------------------------
-- Device 1's row now holds a cached decision for c-home (decide wrote it).
SELECT is((SELECT dec_cell FROM ue_location WHERE ue_id = pg_temp.ue(1)), 'c-home',
          'fast: setup: device 1 has a cached decision');
CREATE TEMP TABLE fast AS
SELECT * FROM lg_ingest_fast(
    ARRAY[pg_temp.node('mme-a'), NULL],
    ARRAY[1, 1, 1, 2],
    ARRAY['001010000000001', '001010000000002', '001010000000008', '001010000000004'],
    ARRAY[1010000000, 1010000000, 1010000000, 1010000000]::bigint[],
    array_fill('EUTRA'::text, ARRAY[4]), ARRAY['c-home', 'c-home', 'c-home', 'c-home'],
    array_fill(NULL::float8, ARRAY[4]), array_fill(NULL::float8, ARRAY[4]),
    array_fill(NULL::float8, ARRAY[4]), 2, 0, true);
SELECT results_eq($$SELECT f_inside, n_coalesced, g_ord, g_supi FROM fast$$,
                  $$VALUES (1, 0, ARRAY[2, 3], ARRAY['001010000000002', '001010000000008'])$$,
                  'fast: the cached decision settles device 1, the rest handed on, '
                  'a stale batch''s report dropped');
SELECT is(pg_temp.loc(1), '1010/c-home/inside/inside/0', 'fast: device 1''s row written');
SELECT is((SELECT dec_epoch IS NULL FROM ue_location WHERE ue_id = pg_temp.ue(2)), true,
          'fast: a row handed on loses its cached decision (locked by the same pass)');
SELECT is((SELECT c_ords FROM fast), '{1}', 'fast: the owner is offered the row it wrote');
-- The same report again within refresh_ms: coalesced, the row not written.
SELECT results_eq(
    $$SELECT f_inside, n_coalesced, g_ord FROM lg_ingest_fast(
        ARRAY[pg_temp.node('mme-a')], ARRAY[1], ARRAY['001010000000001'],
        ARRAY[1011000000]::bigint[], ARRAY['EUTRA'], ARRAY['c-home'], ARRAY[NULL::float8],
        ARRAY[NULL::float8], ARRAY[NULL::float8], 2, 60000, false)$$,
    $$VALUES (1, 1, NULL::int[])$$, 'fast: a repeat within refresh_ms is coalesced');
SELECT is(pg_temp.loc(1), '1010/c-home/inside/inside/0', 'fast: ... its row not written');

SELECT * FROM finish();
ROLLBACK;
