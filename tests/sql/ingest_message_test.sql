-- SPDX-License-Identifier: Apache-2.0
--
-- Batches keyed by a message (a Diameter request's Origin-Host and
-- End-to-End-Identifier, p_msg_keys) instead of a sequence number: the
-- claim (lg_ingest_claim), the window's pruning (lg_ingest_finish) and
-- lg_ingest as a whole: a repeated key is a duplicate, stored once, in the
-- call or in a later one; a key and a sequence number together are
-- refused, neither is accepted with no row (tests/sql/ingest_repeat_test.sql);
-- keyed and sequenced batches share a call.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(19);

INSERT INTO network_node (name, kind) VALUES ('mme-a', 'MME'), ('sgsn-a', 'SGSN');
INSERT INTO network_node (name, kind, enabled) VALUES ('mme-off', 'MME', false);
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('c-home', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326)));
INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy)
SELECT '0010100000000' || lpad(i::text, 2, '0'), 'd' || i || '@test', 'unrestricted', 'inside'
  FROM generate_series(1, 4) i;

CREATE FUNCTION pg_temp.node(p text) RETURNS bigint LANGUAGE sql AS
$$ SELECT id FROM network_node WHERE name = p $$;
-- keys: the node_message rows, "node/key/n_reports", in order.
CREATE FUNCTION pg_temp.keys() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(n.name || '/' || m.msg_key || '/' || m.n_reports, ' '
                               ORDER BY n.name, m.msg_key), '')
      FROM node_message m JOIN network_node n ON n.id = m.node_id
$$;
-- ingest: one call of lg_ingest with one report per batch (device i of batch i).
CREATE FUNCTION pg_temp.ingest(p_nodes text[], p_seqs bigint[], p_keys text[])
RETURNS text[] LANGUAGE sql AS $$
    SELECT batch_status FROM lg_ingest(
        p_nodes, p_seqs, 1024, 2,
        (SELECT array_agg(i) FROM generate_series(1, cardinality(p_nodes)) i),
        (SELECT array_agg('0010100000000' || lpad(i::text, 2, '0'))
           FROM generate_series(1, cardinality(p_nodes)) i),
        array_fill(1800000000000000::bigint, ARRAY[cardinality(p_nodes)]),
        array_fill('EUTRA'::text, ARRAY[cardinality(p_nodes)]),
        array_fill('c-home'::text, ARRAY[cardinality(p_nodes)]),
        array_fill(NULL::float8, ARRAY[cardinality(p_nodes)]),
        array_fill(NULL::float8, ARRAY[cardinality(p_nodes)]),
        array_fill(NULL::float8, ARRAY[cardinality(p_nodes)]),
        0, NULL, NULL, NULL, p_keys, 600)
$$;

-- lg_ingest_claim ------------------------------------------------------
SELECT results_eq(
    $$SELECT batch_status, batch_node = ARRAY[pg_temp.node('mme-a'), NULL, NULL, NULL,
                                              pg_temp.node('sgsn-a'), NULL]
        FROM lg_ingest_claim(ARRAY['mme-a', 'mme-a', 'mme-off', 'nobody', 'sgsn-a', 'mme-a'],
                             ARRAY[NULL, NULL, NULL, NULL, NULL, 7]::bigint[], 100,
                             ARRAY[1, 1, 2, 5], ARRAY[0, 0, 0, 0, 3, 0],
                             ARRAY['mme-a 1', 'mme-a 1', 'x 1', 'y 1', 'sgsn-a 1', 'mme-a 2'])$$,
    $$VALUES ('{accepted,duplicate,unknown_node,unknown_node,accepted,unknown_node}'::text[],
              true)$$,
    'claim: a key accepted, its repeat in the call a duplicate, a disabled or unknown node '
    'refused, a key with a seq refused');
SELECT is(pg_temp.keys(), 'mme-a/mme-a 1/2 sgsn-a/sgsn-a 1/4',
          'claim: node_message holds each accepted key with its reports plus the cached ones');
SELECT is((SELECT count(*)::int FROM node_batch), 0, 'claim: no node_batch row for a keyed batch');
SELECT is((SELECT batch_status FROM lg_ingest_claim(ARRAY['mme-a', 'sgsn-a'],
                                                    ARRAY[NULL, NULL]::bigint[], 100, '{}',
                                                    NULL, ARRAY['mme-a 1', 'mme-a 1'])),
          '{duplicate,accepted}',
          'claim: a seen key is a duplicate; the same key from another node is another message');
SELECT is((SELECT batch_status FROM lg_ingest_claim(ARRAY['mme-a'], ARRAY[NULL]::bigint[], 100,
                                                    '{}', NULL, NULL)),
          '{accepted}', 'claim: neither a seq nor a key (an AMF''s notification) is accepted');
SELECT is((SELECT batch_status FROM lg_ingest_claim(ARRAY['mme-a'], ARRAY[9]::bigint[], 100,
                                                    '{}', NULL)),
          '{accepted}', 'claim: a sequenced batch without p_msg_keys is as before');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 0::bigint,
          'claim: high_seq untouched');

-- lg_ingest_finish -----------------------------------------------------
UPDATE node_message SET created_at = now() - interval '11 minutes'
 WHERE msg_key = 'mme-a 1' AND node_id = pg_temp.node('mme-a');
SELECT lives_ok($$SELECT lg_ingest_finish(ARRAY['accepted', 'accepted'],
                                          ARRAY[pg_temp.node('mme-a'), pg_temp.node('mme-a')],
                                          ARRAY[NULL, 9]::bigint[], 100, NULL,
                                          ARRAY['mme-a 3', NULL], 600)$$,
                'finish: keyed and sequenced batches');
SELECT is((SELECT high_seq FROM network_node WHERE name = 'mme-a'), 9::bigint,
          'finish: high_seq raised by the sequenced batch only');
SELECT is(pg_temp.keys(), 'sgsn-a/mme-a 1/0 sgsn-a/sgsn-a 1/4',
          'finish: keys older than the window deleted, the others kept');
UPDATE node_message SET created_at = now() - interval '11 minutes';
SELECT lives_ok($$SELECT lg_ingest_finish(ARRAY['accepted'], ARRAY[pg_temp.node('mme-a')],
                                          ARRAY[10]::bigint[], 100, NULL, NULL, 600)$$,
                'finish: a call without keys');
SELECT is((SELECT count(*)::int FROM node_message), 2,
          'finish: ... does not prune (only calls that claimed keys do)');
DELETE FROM node_message;

-- lg_ingest ------------------------------------------------------------
SELECT is(pg_temp.ingest(ARRAY['mme-a', 'mme-a', 'sgsn-a'], ARRAY[NULL, NULL, 11]::bigint[],
                         ARRAY['mme-a 0000abcd', 'mme-a 0000abcd', NULL]),
          '{accepted,duplicate,accepted}',
          'ingest: a retransmission in the same call is a duplicate; keyed and sequenced together');
SELECT is((SELECT count(*)::int FROM ue_location), 2,
          'ingest: the duplicate''s report is not stored');
SELECT is(pg_temp.ingest(ARRAY['mme-a'], ARRAY[NULL]::bigint[], ARRAY['mme-a 0000abcd']),
          '{duplicate}', 'ingest: a retransmission in a later call is a duplicate');
SELECT is((SELECT count(*)::int FROM ue_location), 2, 'ingest: ... and stores nothing');
SELECT is(pg_temp.ingest(ARRAY['mme-a'], ARRAY[NULL]::bigint[], ARRAY['mme-a 0000abce']),
          '{accepted}', 'ingest: another End-to-End-Identifier is another message');
SELECT throws_ok($$SELECT pg_temp.ingest(ARRAY['mme-a', 'mme-a'], ARRAY[NULL, NULL]::bigint[],
                                         ARRAY['k'])$$,
                 '22023', NULL, 'ingest: p_msg_keys of another length is refused');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE proname IN ('lg_ingest', 'lg_ingest_claim',
                                                               'lg_ingest_finish')), 3,
          'one signature each: the old ones are dropped');

SELECT * FROM finish();
ROLLBACK;
