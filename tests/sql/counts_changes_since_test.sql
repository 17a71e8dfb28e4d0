-- SPDX-License-Identifier: Apache-2.0
--
-- The continual release's change query by candidates (sql/counts.sql
-- lg_counts_continual_changes after a release that stored what it needs;
-- migrations/0027_counts_changes_since.sql): it returns exactly the rows of
-- the full comparison (lg_counts_continual_changes_full) after devices
-- moved through the real ingest (lg_ingest, which keeps
-- ue_location.cell_since), stayed, reported again, came back after their
-- presence ended, left by presence, consent revocation, expiry or deletion,
-- were granted a consent, appeared, or were held back by the bound. Fails
-- when the ingest does not keep cell_since (the movers are then no
-- candidates).
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(17);

-- The buckets are placed around the transaction's time (now(): what the
-- ingest writes into cell_since): B1 = the hour under way, B2 = one hour
-- later; presence one day.
CREATE TEMP TABLE tb AS
SELECT date_trunc('day', now()) - interval '10 days' AS hs,
       date_trunc('hour', now()) AS b1,
       date_trunc('hour', now()) + interval '1 hour' AS b2;

INSERT INTO network_node (name, kind) VALUES ('mme-cs', 'MME');
INSERT INTO cell (cell_key, rat, coverage)
SELECT 'ecgi:001-01:000000' || i, 'EUTRA', ST_Multi(ST_MakeEnvelope(i, 0, i + 1, 1, 4326))
FROM generate_series(1, 4) i;
INSERT INTO ue (id, imsi, external_id, mobility)
SELECT n, '00101' || lpad(n::text, 10, '0'), 'cs' || n || '@example.org', 'fixed'
FROM generate_series(1, 40) n;

-- Devices 1..40 in cells 1..4, reported half an hour before B1, except 4
-- (a day minus 10 minutes before: its presence ends between B1 and B2), 9
-- (no location yet), 11 (three days before: not seen at B1).
INSERT INTO ue_location (ue_id, reported_at, cell_key, decision)
SELECT n, CASE n WHEN 4 THEN b1 - interval '1 day' + interval '10 minutes'
                 WHEN 11 THEN b1 - interval '3 days'
                 ELSE b1 - interval '30 minutes' END,
       'ecgi:001-01:000000' || (n % 4 + 1), 'unchecked'
FROM generate_series(1, 40) n, tb WHERE n <> 9;
-- Consents: every device but 6 (granted later) and 13 (never); 7's ends
-- 20 minutes after B1.
INSERT INTO consent (ue_id, purpose, granted_at, expires_at)
SELECT n, 'anonymous-statistics', b1 - interval '5 days',
       CASE WHEN n = 7 THEN b1 + interval '20 minutes' END
FROM generate_series(1, 40) n, tb WHERE n NOT IN (6, 13);
-- What was written long before the previous release.
UPDATE ue_location SET cell_since = (SELECT b1 - interval '2 days' FROM tb);

-- One release of bucket [p_end - 1 h, p_end): the state, the changes, and a
-- store where every device is counted where it is seen, except the devices
-- in p_held (held back by the bound: counted as before).
CREATE FUNCTION pg_temp.release(p_end timestamptz, p_held bigint[] DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_hs timestamptz := (SELECT hs FROM tb);
    v_t int; v_geo bigint; v_cells text[];
    c record;
    v_ues bigint[] := '{}'; v_dev_cells text[] := '{}'; v_held boolean[] := '{}';
BEGIN
    SELECT min(s.t), min(s.geo_version), array_agg(s.cell_key ORDER BY s.cell_key COLLATE "C")
      INTO v_t, v_geo, v_cells
      FROM lg_counts_continual_state(v_hs, 3600, 8760, 32, 3, 10, 1, 1, 0) s;
    FOR c IN SELECT * FROM lg_counts_continual_changes(v_hs, p_end, 86400) LOOP
        v_ues := v_ues || c.ue_id;
        v_dev_cells := v_dev_cells || CASE WHEN c.ue_id = ANY (p_held) THEN c.released
                                           ELSE c.observed END;
        v_held := v_held || (c.ue_id = ANY (p_held));
    END LOOP;
    RETURN lg_counts_continual_store(
        v_hs, v_t, v_t + 1, p_end - interval '1 hour', p_end, v_cells,
        array_fill(0::bigint, ARRAY[cardinality(v_cells) * 3]),
        array_fill(0::bigint, ARRAY[cardinality(v_cells) * 3]),
        array_fill(0::bigint, ARRAY[cardinality(v_cells)]),
        v_ues, v_dev_cells, array_fill(0::bigint, ARRAY[cardinality(v_ues)]),
        array_fill(0, ARRAY[cardinality(v_ues)]), array_fill(0, ARRAY[cardinality(v_ues)]),
        array_fill(0, ARRAY[cardinality(v_ues)]), v_held, 86400, v_geo);
END
$$;

CREATE FUNCTION pg_temp.fmt(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
    EXECUTE 'SELECT string_agg(ue_id || '':'' || coalesce(released, ''-'') || ''>'' '
            || '|| coalesce(observed, ''-''), '' '' ORDER BY ue_id) FROM (' || p_sql || ') x'
       INTO v;
    RETURN coalesce(v, '');
END
$$;

-- The first release of the horizon (B1) compares everything; device 10 is
-- held back by the bound.
SELECT ok((SELECT lg_counts_continual_is_full(hs, 86400) FROM tb), 'B1: the first bucket is full');
SELECT is((SELECT pg_temp.release(b1, ARRAY[10::bigint]) FROM tb), 'stored', 'B1: stored');
SELECT is((SELECT count(*)::int FROM count_horizon_device WHERE cell_key IS NOT NULL), 35,
          'B1: 35 devices counted (not 6, 9, 11, 13 and held 10)');
SELECT is((SELECT string_agg(ue_id::text, ' ' ORDER BY ue_id) FROM count_horizon_device
           WHERE cell_key IS NULL), '10 11',
          'B1: the held device and the consenting device not seen have a state, not counted');
SELECT ok((SELECT NOT lg_counts_continual_is_full(hs, 86400) FROM tb),
          'B2: the next bucket looks at the candidates');

-- Between B1 and B2, through the ingest (half an hour after B1): 1 moves to
-- cell 4; 2 reports again from its cell (twice: the second time by the
-- fast path); 9 appears in cell 1; 11 comes back in its cell; 12 moves to
-- a cell that is not in the cell table; 13 (no consent) moves.
CREATE FUNCTION pg_temp.ingest(p_seq bigint, p_ue bigint, p_cell text, p_min int DEFAULT 30)
RETURNS text[] LANGUAGE sql AS $$
    SELECT batch_status
      FROM lg_ingest(ARRAY['mme-cs'], ARRAY[p_seq], 1024, 2, ARRAY[1],
                     ARRAY['00101' || lpad(p_ue::text, 10, '0')],
                     ARRAY[(extract(epoch FROM (SELECT b1 FROM tb)) * 1000000)::bigint
                           + p_min * 60000000::bigint],
                     ARRAY['EUTRA'], ARRAY[p_cell], ARRAY[NULL::float8], ARRAY[NULL::float8],
                     ARRAY[NULL::float8])
$$;
SELECT is(ARRAY[pg_temp.ingest(1, 1, 'ecgi:001-01:0000004'),
                pg_temp.ingest(2, 2, 'ecgi:001-01:0000003'),
                pg_temp.ingest(3, 2, 'ecgi:001-01:0000003', 31),
                pg_temp.ingest(4, 9, 'ecgi:001-01:0000002'),
                pg_temp.ingest(5, 11, 'ecgi:001-01:0000004'),
                pg_temp.ingest(6, 12, 'ecgi:001-01:00000FF'),
                pg_temp.ingest(7, 13, 'ecgi:001-01:0000001')]::text,
          '{{accepted},{accepted},{accepted},{accepted},{accepted},{accepted},{accepted}}',
          'ingest: the reports are accepted');
SELECT is((SELECT string_agg(ue_id || ':' || (cell_since = now()), ' ' ORDER BY ue_id)
           FROM ue_location WHERE ue_id IN (1, 2, 9, 11, 12, 13)),
          '1:true 2:false 9:true 11:false 12:true 13:true',
          'ingest: cell_since is the write''s time when the cell changed or the location is new, kept otherwise');
-- The fold (lg_ingest_fold, the path of a call's contended devices) keeps
-- it too: 14 moves to cell 1, 15 reports from its cell.
SELECT is((SELECT n_alerts FROM tb, lg_ingest_fold(
               ARRAY[14, 15]::bigint[], ARRAY[1, 2], ARRAY[b1 + interval '30 minutes',
                                                           b1 + interval '30 minutes'],
               array_fill((SELECT id FROM network_node WHERE name = 'mme-cs'), ARRAY[2]),
               ARRAY['EUTRA', 'EUTRA'], ARRAY['ecgi:001-01:0000001', 'ecgi:001-01:0000004'],
               ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[], ARRAY[NULL, NULL]::float8[],
               ARRAY['unchecked', 'unchecked'], ARRAY[NULL, NULL]::text[], 2, NULL)),
          0, 'fold: no alert');
SELECT is((SELECT string_agg(ue_id || ':' || cell_key || ':' || (cell_since = now()), ' '
                             ORDER BY ue_id)
           FROM ue_location WHERE ue_id IN (14, 15)),
          '14:ecgi:001-01:0000001:true 15:ecgi:001-01:0000004:false',
          'fold: cell_since set when the cell changes, kept otherwise');
-- 16 reports again from the cell it is counted in, two minutes after B2's
-- end (before the release reads): still seen there, no change.
SELECT is(pg_temp.ingest(8, 16, 'ecgi:001-01:0000001', 62), '{accepted}',
          'ingest: a report after the bucket''s end');
-- 5's consent revoked, 6 granted one, 8 deleted.
UPDATE consent SET revoked_at = now() WHERE ue_id = 5;
INSERT INTO consent (ue_id, purpose) VALUES (6, 'anonymous-statistics');
DELETE FROM ue WHERE id = 8;

SELECT is((SELECT pg_temp.fmt(format($q$SELECT * FROM lg_counts_continual_changes_full(%L, %L, 86400)$q$,
                                      hs, b2)) FROM tb),
          '1:ecgi:001-01:0000002>ecgi:001-01:0000004 4:ecgi:001-01:0000001>- 5:ecgi:001-01:0000002>- '
          '6:->ecgi:001-01:0000003 7:ecgi:001-01:0000004>- 8:ecgi:001-01:0000001>- 9:->ecgi:001-01:0000002 '
          '10:->ecgi:001-01:0000003 11:->ecgi:001-01:0000004 12:ecgi:001-01:0000001>- '
          '14:ecgi:001-01:0000003>ecgi:001-01:0000001',
          'B2, full: moved, presence ended, revoked, granted, expired, deleted, new, held, back, unknown cell');
SELECT is((SELECT pg_temp.fmt(format($q$SELECT * FROM lg_counts_continual_changes(%L, %L, 86400)$q$,
                                      hs, b2)) FROM tb),
          (SELECT pg_temp.fmt(format($q$SELECT * FROM lg_counts_continual_changes_full(%L, %L, 86400)$q$,
                                      hs, b2)) FROM tb),
          'B2: the candidates give the rows of the full comparison');
SELECT is((SELECT array_agg(c ORDER BY c.ue_id)::text
           FROM tb, lg_counts_continual_changes(tb.hs, tb.b2, 86400) c),
          (SELECT array_agg(c ORDER BY c.ue_id)::text
           FROM tb, lg_counts_continual_changes_full(tb.hs, tb.b2, 86400) c),
          'B2: with the same bounded states');
SELECT cmp_ok((SELECT count(*)::int FROM tb, lg_counts_continual_candidates(tb.hs, tb.b1, tb.b2)),
              '<', 20, 'B2: the candidates are fewer than the devices');

-- Stored (10 held again): the next bucket finds nothing left to change,
-- and its candidates are only the held and the not counted.
SELECT is((SELECT pg_temp.release(b2, ARRAY[10::bigint]) FROM tb), 'stored', 'B2: stored');
SELECT is((SELECT pg_temp.fmt(format($q$SELECT * FROM lg_counts_continual_changes(%L, %L, 86400)$q$,
                                      hs, b2 + interval '1 hour')) FROM tb),
          (SELECT pg_temp.fmt(format($q$SELECT * FROM lg_counts_continual_changes_full(%L, %L, 86400)$q$,
                                      hs, b2 + interval '1 hour')) FROM tb),
          'B3: the same rows again (the held device alone)');

-- A new cell: the next release compares everything.
INSERT INTO cell (cell_key, rat, coverage)
VALUES ('ecgi:001-01:0000009', 'EUTRA', ST_Multi(ST_MakeEnvelope(9, 0, 10, 1, 4326)));
SELECT ok((SELECT lg_counts_continual_is_full(hs, 86400) FROM tb),
          'a cell table changed since the previous release: full comparison');

SELECT * FROM finish();
ROLLBACK;
