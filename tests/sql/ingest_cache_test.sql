-- SPDX-License-Identifier: Apache-2.0
--
-- lg_ingest's daemon cache (p_cache_token, p_cache_gen, p_cached; result
-- cache_gen, cache_ords, cache_dec) and migrations/0018_ingest_cache.sql:
-- the owner's token, the generation every write but the owner's raises, the
-- reports offered for coalescing, and the refusal of reports coalesced at
-- an older generation. Run by tests/tools/run-pgtap.sh (pg_prove).
--
-- Two things about running in one transaction:
--   * lg_ingest marks the owner's calls with the transaction-local setting
--     locguard.ingest_cache_owner = 'on'; here it would stay on for every
--     statement after the first owner call and hide the generation raised
--     by the "foreign" writes below. pg_temp.call resets it after each call,
--     as the end of the daemon's transaction does.
--   * lg_ingest_cache_gen is a sequence: nextval is not rolled back, so its
--     value depends on the test files run before this one. Generations are
--     only compared with each other, never with a constant.
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(64);

-- Fixture: home square near Paris; c1 inside it, c2 in another town, c3
-- straddling its eastern edge (ambiguous); ecgi:001-01:0000009 is no cell.
INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME'), ('amf-b', 'AMF');
INSERT INTO area (name, geom)
VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:0000001', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:0000002', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326))),
    ('ecgi:001-01:0000003', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.09, 48.04, 2.11, 48.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy) VALUES
    ('001010000000001', 'meter@test', 'fixed', 'inside'),
    ('001010000000002', 'first@test', 'fixed', 'inside'),
    ('001010000000003', 'away@test', 'fixed', 'inside'),
    ('001010000000004', 'lost@test', 'fixed', 'inside'),
    ('001010000000005', 'pos@test', 'fixed', 'inside'),
    ('001010000000006', 'twice@test', 'fixed', 'inside'),
    ('001010000000007', 'amb@test', 'fixed', 'inside'),
    ('001010000000008', 'ambout@test', 'fixed', 'outside'),
    ('001010000000009', 'tracker@test', 'unrestricted', 'inside'),
    ('001010000000010', 'gone@test', 'unrestricted', 'inside');
INSERT INTO ue_area (ue_id, area_id)
SELECT u.id, a.id FROM ue u, area a WHERE u.mobility <> 'unrestricted';

-- call: one batch of reports (RAT EUTRA), ts in seconds, no position unless
-- p_lon / p_lat are given. Resets locguard.ingest_cache_owner afterwards
-- (see the top of the file): the next statement is another writer again.
CREATE FUNCTION pg_temp.call(p_node text, p_seq bigint, p_supi text[], p_ts_s bigint[],
                             p_cell text[], p_refresh_ms int DEFAULT 0,
                             p_token text DEFAULT NULL, p_gen bigint DEFAULT NULL,
                             p_cached int[] DEFAULT NULL, p_lon float8[] DEFAULT NULL,
                             p_lat float8[] DEFAULT NULL)
RETURNS TABLE (batch_status text[], n_coalesced int, cache_gen bigint, cache_ords int[],
               cache_ts bigint[], cache_dec text)
LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(p_supi);
BEGIN
    RETURN QUERY
    SELECT r.batch_status, r.n_coalesced, r.cache_gen, r.cache_ords, r.cache_ts, r.cache_dec
      FROM lg_ingest(ARRAY[p_node], ARRAY[p_seq], 1024, 2, array_fill(1, ARRAY[n]), p_supi,
                     ARRAY(SELECT t.s * 1000000 FROM unnest(p_ts_s) WITH ORDINALITY t(s, o)
                            ORDER BY t.o),
                     array_fill('EUTRA'::text, ARRAY[n]), p_cell,
                     coalesce(p_lon, array_fill(NULL::float8, ARRAY[n])),
                     coalesce(p_lat, array_fill(NULL::float8, ARRAY[n])),
                     array_fill(NULL::float8, ARRAY[n]),
                     p_refresh_ms, p_token, p_gen, p_cached) r;
    PERFORM set_config('locguard.ingest_cache_owner', '', true);
END
$$;

-- The answers of the calls made, by label, and generations read by label.
CREATE TEMP TABLE t_call (k text PRIMARY KEY, batch_status text[], n_coalesced int,
                          cache_gen bigint, cache_ords int[], cache_ts bigint[], cache_dec text);
CREATE TEMP TABLE t_gen (k text PRIMARY KEY, gen bigint);

CREATE FUNCTION pg_temp.cg(p_k text) RETURNS bigint LANGUAGE sql AS $$
    SELECT cache_gen FROM t_call WHERE k = p_k
$$;
CREATE FUNCTION pg_temp.gen(p_k text) RETURNS bigint LANGUAGE sql AS $$
    SELECT gen FROM t_gen WHERE k = p_k
$$;
-- ts: the device's stored report time, in seconds.
CREATE FUNCTION pg_temp.ts(p_external_id text) RETURNS bigint LANGUAGE sql AS $$
    SELECT extract(epoch FROM l.reported_at)::bigint
      FROM ue_location l JOIN ue u ON u.id = l.ue_id WHERE u.external_id = p_external_id
$$;
CREATE FUNCTION pg_temp.owner() RETURNS text LANGUAGE sql AS $$
    SELECT token FROM ingest_cache_owner WHERE one
$$;

-- 1. Claim. A call without a token gets no cache answers at all.
INSERT INTO t_call SELECT 'anon', c.* FROM pg_temp.call('mme-a', 1, ARRAY['001010000000001'],
    ARRAY[1000]::bigint[], ARRAY['ecgi:001-01:0000001']) c;
SELECT is((SELECT batch_status FROM t_call WHERE k = 'anon'), '{accepted}', 'no token: accepted');
SELECT ok((SELECT cache_gen IS NULL AND cache_ords IS NULL AND cache_dec IS NULL
             FROM t_call WHERE k = 'anon'), 'no token: cache_gen, cache_ords, cache_dec NULL');
SELECT is(pg_temp.owner(), NULL, 'no token: nobody owns the cache');

-- A token and no generation claims it: a generation comes back, the current
-- one, raised by the claim. meter@'s second report from c1 is written (the
-- fast path) and offered.
INSERT INTO t_gen VALUES ('pre-claim', lg_ingest_cache_gen());
INSERT INTO t_call SELECT 'claim', c.* FROM pg_temp.call('mme-a', 2, ARRAY['001010000000001'],
    ARRAY[1010]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', NULL) c;
SELECT isnt(pg_temp.cg('claim'), NULL, 'claim: cache_gen returned');
SELECT is(pg_temp.owner(), 'tok-a', 'claim: tok-a owns the cache');
SELECT cmp_ok(pg_temp.cg('claim'), '>', pg_temp.gen('pre-claim'), 'claim: raises the generation');
SELECT is(lg_ingest_cache_gen(), pg_temp.cg('claim'),
          'claim: cache_gen is the current generation, its own write did not move it');
SELECT is(pg_temp.ts('meter@test'), 1010::bigint, 'claim: the report was written');
SELECT results_eq($$SELECT cache_ords, cache_dec FROM t_call WHERE k = 'claim'$$,
    $$VALUES ('{1}'::int[], 'i')$$, 'claim: the fast-path write is offered');

-- 2. The owner's own writes (fast path, general path insert) leave the
-- generation where it was.
INSERT INTO t_call SELECT 'own1', c.* FROM pg_temp.call('mme-a', 3, ARRAY['001010000000001'],
    ARRAY[1020]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.cg('claim')) c;
INSERT INTO t_call SELECT 'own2', c.* FROM pg_temp.call('mme-a', 4, ARRAY['001010000000010'],
    ARRAY[1030]::bigint[], ARRAY['ecgi:001-01:0000002'], 0, 'tok-a', pg_temp.cg('own1')) c;
SELECT is(pg_temp.ts('meter@test'), 1020::bigint, 'owner: the update was written');
SELECT is(pg_temp.ts('gone@test'), 1030::bigint, 'owner: the insert was written');
SELECT is(pg_temp.cg('own1'), pg_temp.cg('claim'), 'owner: same generation after its update');
SELECT is(pg_temp.cg('own2'), pg_temp.cg('claim'), 'owner: same generation after its insert');
SELECT is(lg_ingest_cache_gen(), pg_temp.cg('claim'), 'owner: lg_ingest_cache_gen() unchanged');

-- 3. What is offered. One call, every kind of report (ords are 1-based
-- indexes into the report arrays):
--   1 first@   first report, c1 (inside)        offered 'i'
--   2 away@    c2 (outside)                     no: the streak counts
--   3 lost@    no such cell                     offered 'u'
--   4 pos@     c1 with a position               no: a position
--   5 unknown device                            no
--   6 twice@   c1                               no: two reports in the call
--   7 amb@     c3 (ambiguous, policy inside)    offered 'a'
--   8 twice@   c1
--   9 ambout@  c3 (ambiguous, policy outside)   no: the streak counts
INSERT INTO t_call SELECT 'multi', c.* FROM pg_temp.call('mme-a', 5,
    ARRAY['001010000000002', '001010000000003', '001010000000004', '001010000000005',
          '001019999999999', '001010000000006', '001010000000007', '001010000000006',
          '001010000000008'],
    ARRAY[2000, 2000, 2000, 2000, 2000, 2000, 2000, 2001, 2000]::bigint[],
    ARRAY['ecgi:001-01:0000001', 'ecgi:001-01:0000002', 'ecgi:001-01:0000009',
          'ecgi:001-01:0000001', 'ecgi:001-01:0000001', 'ecgi:001-01:0000001',
          'ecgi:001-01:0000003', 'ecgi:001-01:0000001', 'ecgi:001-01:0000003'],
    0, 'tok-a', pg_temp.cg('claim'), NULL,
    ARRAY[NULL, NULL, NULL, 2.05, NULL, NULL, NULL, NULL, NULL]::float8[],
    ARRAY[NULL, NULL, NULL, 48.05, NULL, NULL, NULL, NULL, NULL]::float8[]) c;
SELECT is((SELECT batch_status FROM t_call WHERE k = 'multi'), '{accepted}', 'multi: accepted');
SELECT is((SELECT count(*)::int FROM ue_location l JOIN ue u ON u.id = l.ue_id
            WHERE u.external_id IN ('first@test', 'away@test', 'lost@test', 'pos@test',
                                    'twice@test', 'amb@test', 'ambout@test')), 7,
          'multi: every known device''s row written');
SELECT is((SELECT cache_ords FROM t_call WHERE k = 'multi'), '{1,3,7}',
          'multi: offered: first report inside, unknown cell, ambiguous taken as inside');
SELECT is((SELECT cache_dec FROM t_call WHERE k = 'multi'), 'iua',
          'multi: their decisions, one letter each');
SELECT is(pg_temp.cg('multi'), pg_temp.cg('claim'), 'multi: the generation did not move');

-- An unrestricted device's report is 'c' (unchecked): the letter
-- service/south/ingest.c (cached_decisions "iacu") and ingest_cache.h expect, not
-- 'u' (unknown cell), the first letter of 'unchecked'.
INSERT INTO t_call SELECT 'tracker', c.* FROM pg_temp.call('mme-a', 6, ARRAY['001010000000009'],
    ARRAY[2000]::bigint[], ARRAY['ecgi:001-01:0000002'], 0, 'tok-a', pg_temp.cg('claim')) c;
INSERT INTO t_call SELECT 'tracker2', c.* FROM pg_temp.call('mme-a', 7, ARRAY['001010000000009'],
    ARRAY[2010]::bigint[], ARRAY['ecgi:001-01:0000002'], 0, 'tok-a', pg_temp.cg('claim')) c;
SELECT is((SELECT cache_ords FROM t_call WHERE k = 'tracker'), '{1}',
          'tracker: first report offered');
SELECT is((SELECT cache_ords FROM t_call WHERE k = 'tracker2'), '{1}',
          'tracker: second report (fast path) offered');
SELECT is((SELECT cache_dec FROM t_call WHERE k = 'tracker'), 'c',
          'tracker: first report is c (unchecked)');
SELECT is((SELECT cache_dec FROM t_call WHERE k = 'tracker2'), 'c',
          'tracker: second report (fast path) is c (unchecked)');

-- The fast path: first@'s second report from c1, written (refresh 0), is
-- offered with its ord; away@'s beside it (outside) is not.
INSERT INTO t_call SELECT 'fast', c.* FROM pg_temp.call('mme-a', 8,
    ARRAY['001010000000003', '001010000000002'], ARRAY[2010, 2010]::bigint[],
    ARRAY['ecgi:001-01:0000002', 'ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.cg('claim')) c;
SELECT is(pg_temp.ts('first@test'), 2010::bigint, 'fast: written');
SELECT results_eq($$SELECT n_coalesced, cache_ords, cache_ts, cache_dec FROM t_call WHERE k = 'fast'$$,
    $$VALUES (0, '{2}'::int[], '{2010000000}'::bigint[], 'i')$$,
    'fast: the written report offered, by its ord, with its time');

-- A report the database coalesced (refresh 60 s, same cell 10 s later) only
-- read its row: offered with the row's stored time (2010 s), not its own...
INSERT INTO t_call SELECT 'coal', c.* FROM pg_temp.call('mme-a', 9, ARRAY['001010000000002'],
    ARRAY[2020]::bigint[], ARRAY['ecgi:001-01:0000001'], 60000, 'tok-a', pg_temp.cg('claim')) c;
SELECT results_eq($$SELECT n_coalesced, cache_ords, cache_ts, cache_dec FROM t_call WHERE k = 'coal'$$,
    $$VALUES (1, '{1}'::int[], '{2010000000}'::bigint[], 'i')$$,
    'coalesced by the database: offered with the stored time');
SELECT is(pg_temp.ts('first@test'), 2010::bigint, 'coalesced: row untouched');
-- ... unless its version is being updated or locked (xmax set; here by this
-- very transaction): a newer version may be on its way.
SELECT 1 FROM ue_location l JOIN ue u ON u.id = l.ue_id
 WHERE u.external_id = 'first@test' FOR UPDATE OF l;
INSERT INTO t_call SELECT 'locked', c.* FROM pg_temp.call('mme-a', 91, ARRAY['001010000000002'],
    ARRAY[2021]::bigint[], ARRAY['ecgi:001-01:0000001'], 60000, 'tok-a', pg_temp.cg('claim')) c;
SELECT results_eq($$SELECT n_coalesced, cache_ords, cache_dec FROM t_call WHERE k = 'locked'$$,
    $$VALUES (1, '{}'::int[], '')$$, 'a locked row, coalesced: not offered');
SELECT is(lg_ingest_cache_gen(), pg_temp.cg('claim'),
          'owner calls of every path (fold included): generation unchanged');

-- 4. Every other write raises the generation.
INSERT INTO t_gen VALUES ('b-anon', lg_ingest_cache_gen());
INSERT INTO t_call SELECT 'anon2', c.* FROM pg_temp.call('mme-a', 10, ARRAY['001010000000001'],
    ARRAY[3000]::bigint[], ARRAY['ecgi:001-01:0000001']) c;
SELECT is(pg_temp.ts('meter@test'), 3000::bigint, 'write without a token: written');
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-anon'),
              'write without a token: generation raised');

INSERT INTO t_gen VALUES ('b-upd', lg_ingest_cache_gen());
UPDATE ue_location SET uncertainty_m = 5
 WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'lost@test');
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-upd'), 'UPDATE ue_location: raised');

INSERT INTO t_gen VALUES ('b-del', lg_ingest_cache_gen());
DELETE FROM ue_location WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'pos@test');
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-del'), 'DELETE FROM ue_location: raised');

SELECT isnt(pg_temp.ts('gone@test'), NULL, 'gone@ (no area) has a location row to cascade to');
INSERT INTO t_gen VALUES ('b-ue', lg_ingest_cache_gen());
DELETE FROM ue WHERE external_id = 'gone@test';
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-ue'), 'DELETE FROM ue: raised');

INSERT INTO t_gen VALUES ('b-area', lg_ingest_cache_gen());
INSERT INTO t_gen VALUES ('b-area-epoch', (SELECT epoch FROM lg_ref_epoch WHERE one));
DELETE FROM ue_area WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'ambout@test');
SELECT cmp_ok((SELECT epoch FROM lg_ref_epoch WHERE one), '>', pg_temp.gen('b-area-epoch'),
              'ue_area changed: lg_ref_epoch raised');
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-area'), 'ue_area changed: raised');

INSERT INTO t_gen VALUES ('b-en', lg_ingest_cache_gen());
UPDATE network_node SET enabled = false WHERE name = 'amf-b';
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-en'), 'network_node.enabled: raised');

INSERT INTO t_gen VALUES ('b-name', lg_ingest_cache_gen());
UPDATE network_node SET name = 'amf-c' WHERE name = 'amf-b';
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-name'), 'network_node.name: raised');

INSERT INTO t_gen VALUES ('b-high', lg_ingest_cache_gen());
UPDATE network_node SET high_seq = high_seq + 1 WHERE name = 'amf-c';
SELECT is(lg_ingest_cache_gen(), pg_temp.gen('b-high'), 'network_node.high_seq: not raised');

-- 5. Reports the daemon coalesced itself, judged at the current generation:
-- taken, and counted in the batch's claim.
INSERT INTO t_gen VALUES ('now5', lg_ingest_cache_gen());
INSERT INTO t_call SELECT 'cached', c.* FROM pg_temp.call('mme-a', 11, ARRAY['001010000000001'],
    ARRAY[4000]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.gen('now5'),
    ARRAY[2]) c;
SELECT results_eq($$SELECT batch_status, cache_gen FROM t_call WHERE k = 'cached'$$,
    $$SELECT '{accepted}'::text[], pg_temp.gen('now5')$$, 'p_cached: accepted, same generation');
SELECT is((SELECT nb.n_reports FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-a' AND nb.seq = 11), 3, 'p_cached: n_reports = 1 sent + 2 cached');

-- 6. Stale: coalesced at an older generation (the claim's, raised since by
-- section 4): refused, nothing written.
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.cg('claim'), 'the claim''s generation is old');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 12, ARRAY['001010000000001'],
    ARRAY[5000]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.cg('claim'),
    ARRAY[1])$$, 'LG001', NULL, 'stale generation with p_cached: LG001');
SELECT is((SELECT count(*)::int FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-a' AND nb.seq = 12), 0, 'stale: batch not claimed');
SELECT is(pg_temp.ts('meter@test'), 4000::bigint, 'stale: location unchanged');
SELECT is(pg_temp.owner(), 'tok-a', 'stale: the owner is unchanged');

-- A stale generation with nothing coalesced is no error: the owner learns
-- the current generation from the answer.
INSERT INTO t_call SELECT 'stale0', c.* FROM pg_temp.call('mme-a', 13, ARRAY['001010000000001'],
    ARRAY[5010]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.cg('claim'),
    ARRAY[0]) c;
SELECT results_eq($$SELECT batch_status, cache_gen FROM t_call WHERE k = 'stale0'$$,
    $$SELECT '{accepted}'::text[], lg_ingest_cache_gen()$$,
    'stale generation, p_cached 0: accepted, the current generation returned');

-- Not the owner's token, with a generation: no cache answers, no claim;
-- and nothing coalesced is taken from it.
INSERT INTO t_call SELECT 'notown', c.* FROM pg_temp.call('mme-a', 14, ARRAY['001010000000001'],
    ARRAY[5020]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen()) c;
SELECT is((SELECT batch_status FROM t_call WHERE k = 'notown'), '{accepted}',
          'not the owner: accepted');
SELECT ok((SELECT cache_gen IS NULL AND cache_ords IS NULL AND cache_dec IS NULL
             FROM t_call WHERE k = 'notown'), 'not the owner: no cache answers');
SELECT is(pg_temp.owner(), 'tok-a', 'not the owner, with a generation: no claim');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 15, ARRAY['001010000000001'],
    ARRAY[5030]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen(),
    ARRAY[1])$$, 'LG001', NULL, 'not the owner, p_cached: LG001');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 15, ARRAY['001010000000001'],
    ARRAY[5030]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, NULL, lg_ingest_cache_gen(),
    ARRAY[1])$$, 'LG001', NULL, 'no token, p_cached: LG001');

-- 7. Takeover: tok-b claims, the generation moves, tok-a is no longer told.
INSERT INTO t_gen VALUES ('pre-b', lg_ingest_cache_gen());
INSERT INTO t_call SELECT 'claim-b', c.* FROM pg_temp.call('mme-a', 16, ARRAY['001010000000001'],
    ARRAY[5040]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', NULL) c;
SELECT is(pg_temp.owner(), 'tok-b', 'takeover: tok-b owns the cache');
SELECT cmp_ok(pg_temp.cg('claim-b'), '>', pg_temp.gen('pre-b'), 'takeover: generation raised');
SELECT is(pg_temp.cg('claim-b'), lg_ingest_cache_gen(), 'takeover: the current generation');
INSERT INTO t_call SELECT 'old-a', c.* FROM pg_temp.call('mme-a', 17, ARRAY['001010000000001'],
    ARRAY[5050]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', pg_temp.gen('pre-b')) c;
SELECT results_eq($$SELECT batch_status, cache_gen, cache_ords FROM t_call WHERE k = 'old-a'$$,
    $$VALUES ('{accepted}'::text[], NULL::bigint, NULL::int[])$$,
    'takeover: tok-a gets cache_gen NULL');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 18, ARRAY['001010000000001'],
    ARRAY[5060]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-a', lg_ingest_cache_gen(),
    ARRAY[1])$$, 'LG001', NULL, 'takeover: tok-a''s coalesced reports refused');

-- 8. p_cached holds one count >= 0 per batch.
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 19, ARRAY['001010000000001'],
    ARRAY[5070]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen(),
    ARRAY[1, 1])$$, '22023', NULL, 'p_cached longer than p_nodes: 22023');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 19, ARRAY['001010000000001'],
    ARRAY[5070]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen(),
    '{}'::int[])$$, '22023', NULL, 'p_cached empty: 22023');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 19, ARRAY['001010000000001'],
    ARRAY[5070]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen(),
    ARRAY[-1])$$, '22023', NULL, 'p_cached negative: 22023');
SELECT throws_ok($$SELECT * FROM pg_temp.call('mme-a', 19, ARRAY['001010000000001'],
    ARRAY[5070]::bigint[], ARRAY['ecgi:001-01:0000001'], 0, 'tok-b', lg_ingest_cache_gen(),
    ARRAY[NULL]::int[])$$, '22023', NULL, 'p_cached NULL count: 22023');
SELECT is((SELECT count(*)::int FROM node_batch nb JOIN network_node n ON n.id = nb.node_id
            WHERE n.name = 'mme-a' AND nb.seq = 19), 0, 'bad p_cached: nothing claimed');

-- Last, as it empties the table: TRUNCATE raises it too.
INSERT INTO t_gen VALUES ('b-trunc', lg_ingest_cache_gen());
TRUNCATE ue_location;
SELECT cmp_ok(lg_ingest_cache_gen(), '>', pg_temp.gen('b-trunc'), 'TRUNCATE ue_location: raised');

SELECT * FROM finish();
ROLLBACK;
