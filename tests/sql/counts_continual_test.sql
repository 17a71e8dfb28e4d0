-- SPDX-License-Identifier: Apache-2.0
--
-- The continual release's storage (sql/counts.sql, lg_counts_continual_*;
-- migrations/0021_counts_continual.sql): the horizon is made once and its
-- settings kept; the counter's state comes back cell by cell, new cells
-- with none; the changes are exactly the devices seen elsewhere than they
-- are counted (consent, presence window, known cells, deleted devices);
-- a store writes state, devices and release at once, or nothing when
-- another daemon stepped first; continual releases do not spend the daily
-- budget of per-release noise.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(23);

CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    RETURN v_state || '|' || v_message;
END
$$;

INSERT INTO cell (cell_key, rat, coverage)
SELECT k, 'EUTRA', ST_Multi(ST_MakeEnvelope(i, 0, i + 1, 1, 4326))
FROM unnest(ARRAY['c1', 'c2', 'c3']) WITH ORDINALITY AS u(k, i);

-- Devices 1..6. 1, 2: consent, seen in c1 in the window; 3: consent, seen
-- in c2 but reported before the window; 4: no consent, in c1; 5: consent,
-- in a cell not in the cell table; 6: consent, in c3.
INSERT INTO ue (id, imsi, external_id, mobility)
SELECT n, '00101' || lpad(n::text, 10, '0'), 'd' || n || '@example.org', 'fixed'
FROM generate_series(1, 6) n;
INSERT INTO ue_location (ue_id, reported_at, cell_key, decision) VALUES
    (1, '2026-03-01 09:10Z', 'c1', 'unchecked'),
    (2, '2026-03-01 09:50Z', 'c1', 'unchecked'),
    (3, '2026-02-27 09:00Z', 'c2', 'unchecked'),
    (4, '2026-03-01 09:20Z', 'c1', 'unchecked'),
    (5, '2026-03-01 09:20Z', 'nowhere', 'unchecked'),
    (6, '2026-03-01 09:30Z', 'c3', 'unchecked');
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT n, 'anonymous-statistics', '2026-01-01Z' FROM unnest(ARRAY[1, 2, 3, 5, 6]) n;

CREATE FUNCTION pg_temp.state(p_eps int DEFAULT 10)
RETURNS TABLE (t int, cell_key text, open bigint[], closed bigint[], geo_version bigint)
LANGUAGE sql AS $$
    SELECT * FROM lg_counts_continual_state('2026-01-01Z', 3600, 8760, 32, 3, p_eps, 1, 1, 0)
$$;

-- The state: the horizon made, every cell without state.
SELECT is((SELECT string_agg(cell_key || ':' || coalesce(open::text, 'null'), ' ' ORDER BY cell_key)
           FROM pg_temp.state()),
          'c1:null c2:null c3:null', 'state: one row per cell, none stored yet');
SELECT is((SELECT DISTINCT t FROM pg_temp.state()), 0, 'state: a new horizon is at bucket 0');
SELECT is((SELECT count(*)::int FROM count_horizon), 1, 'state: the horizon is made once');
SELECT is(pg_temp.error_of($$SELECT * FROM pg_temp.state(4)$$),
          '22023|the horizon exists with other settings: change them only for a new horizon',
          'state: other settings for an existing horizon are refused');

-- The changes at the end of the 09:00 bucket, presence one day.
CREATE FUNCTION pg_temp.changes()
RETURNS TABLE (ue_id bigint, released text, observed text, units_spent int)
LANGUAGE sql AS $$
    SELECT ue_id, released, observed, units_spent
    FROM lg_counts_continual_changes('2026-01-01Z', '2026-03-01 10:00Z', 86400)
$$;
SELECT is((SELECT string_agg(ue_id || ':' || coalesce(released, '-') || '>' || coalesce(observed, '-'),
                             ' ' ORDER BY ue_id) FROM pg_temp.changes()),
          '1:->c1 2:->c1 6:->c3',
          'changes: seen with consent, in the window, in a known cell; not 3 (old), 4 (no consent), 5 (unknown cell)');

-- A store: bucket 1 .. 1 for simplicity (t 0 -> 1).
CREATE FUNCTION pg_temp.store(p_before int, p_after int, p_start text)
RETURNS text LANGUAGE sql AS $$
    SELECT lg_counts_continual_store('2026-01-01Z', p_before, p_after, p_start::timestamptz,
                                     p_start::timestamptz + interval '1 hour',
                                     ARRAY['c1', 'c2', 'c3'],
                                     ARRAY[2, 0, 0, 0, 0, 0, 1, 0, 0]::bigint[],
                                     ARRAY[3, 0, 0, -1, 0, 0, 2, 0, 0]::bigint[],
                                     ARRAY[3, -1, 2]::bigint[],
                                     ARRAY[1, 2, 6]::bigint[], ARRAY['c1', 'c1', 'c3'],
                                     ARRAY[20513, 20513, 20513]::bigint[], ARRAY[1, 1, 1],
                                     ARRAY[0, 0, 0], ARRAY[1, 1, 1])
$$;
SELECT is(pg_temp.store(0, 1, '2026-03-01 09:00Z'), 'stored', 'store: stored');
SELECT is((SELECT t FROM count_horizon), 1, 'store: the horizon is at the new bucket');
SELECT is((SELECT string_agg(cell_key || ':' || open::text || closed::text, ' ' ORDER BY cell_key)
           FROM pg_temp.state()),
          'c1:{2,0,0}{3,0,0} c2:{0,0,0}{-1,0,0} c3:{1,0,0}{2,0,0}',
          'state: each cell its own levels back');
SELECT is((SELECT string_agg(r.eps_num || '/' || r.eps_den || ' ' || r.horizon_start::text, ',')
           FROM count_release r), '10/1 2026-01-01 00:00:00+00',
          'store: the release carries the horizon and its epsilon');
SELECT is((SELECT string_agg(c.cell_key || '=' || c.noisy, ' ' ORDER BY c.cell_key)
           FROM count_release_cell c), 'c1=3 c2=-1 c3=2', 'store: the released counts');
SELECT is((SELECT string_agg(ue_id || ':' || cell_key, ' ' ORDER BY ue_id) FROM count_horizon_device),
          '1:c1 2:c1 6:c3', 'store: the devices where they are counted');
SELECT is((SELECT count(*)::int FROM pg_temp.changes()), 0,
          'changes: none once the devices are counted where they are seen');

-- Another daemon stepped first, or the bucket is released: nothing stored.
SELECT is(pg_temp.store(0, 1, '2026-03-01 10:00Z'), 'already_done',
          'store: a horizon no longer at t_before is already done');
SELECT is(pg_temp.store(1, 2, '2026-03-01 09:00Z'), 'already_done',
          'store: a bucket already released is already done');
SELECT is((SELECT count(*)::int FROM count_release), 1, 'store: already done stores nothing');
SELECT is(pg_temp.error_of($$SELECT lg_counts_continual_store('2026-01-01Z', 1, 2, '2026-03-01 10:00Z',
                              '2026-03-01 11:00Z', ARRAY['c1'], ARRAY[1]::bigint[], ARRAY[1]::bigint[],
                              ARRAY[1]::bigint[], '{}', '{}', '{}', '{}', '{}', '{}')$$),
          '22023|the counter state does not fit the horizon', 'store: a state of the wrong size is refused');
SELECT is(pg_temp.error_of($$SELECT lg_counts_continual_store('2026-01-01Z', 1, 2, '2026-03-01 10:00Z',
                              '2026-03-01 11:00Z', ARRAY['c1'], ARRAY[1, 0, 0]::bigint[],
                              ARRAY[1, 0, 0]::bigint[], ARRAY[1, 2]::bigint[], '{}', '{}', '{}', '{}',
                              '{}', '{}')$$),
          '22023|the cell and device arrays must match', 'store: mismatched arrays are refused');

-- Device 1 leaves (its consent revoked), device 2 is deleted, device 3 comes back.
UPDATE consent SET revoked_at = '2026-03-01 10:30Z' WHERE ue_id = 1;
DELETE FROM ue WHERE id = 2;
UPDATE ue_location SET reported_at = '2026-03-01 10:40Z' WHERE ue_id = 3;
SELECT is((SELECT string_agg(ue_id || ':' || coalesce(released, '-') || '>' || coalesce(observed, '-')
                             || ' u' || coalesce(units_spent::text, '-'), ' ' ORDER BY ue_id)
           FROM lg_counts_continual_changes('2026-01-01Z', '2026-03-01 11:00Z', 86400)),
          '1:c1>- u1 2:c1>- u1 3:->c2 u-',
          'changes: revoked consent and deleted device leave; a device seen again arrives');

-- A new cell appears: it has no state yet.
INSERT INTO cell (cell_key, rat, coverage)
VALUES ('c0', 'EUTRA', ST_Multi(ST_MakeEnvelope(9, 0, 10, 1, 4326)));
SELECT is((SELECT string_agg(cell_key || ':' || coalesce(open::text, 'null'), ' ' ORDER BY cell_key)
           FROM pg_temp.state()),
          'c0:null c1:{2,0,0} c2:{0,0,0} c3:{1,0,0}', 'state: a new cell comes without state');

-- The daily budget of per-release noise ignores continual releases.
SELECT is(lg_counts_store_release_outcome('2026-03-01 12:00Z', '2026-03-01 13:00Z', 1, 2,
                                          ARRAY['c1'], ARRAY[1::bigint], 1, 1),
          'stored', 'budget: a continual release of the same day spends nothing of it');
SELECT is(lg_counts_store_release_outcome('2026-03-01 13:00Z', '2026-03-01 14:00Z', 1, 2,
                                          ARRAY['c1'], ARRAY[1::bigint], 1, 1),
          'stored', 'budget: 1/2 + 1/2 of 1');
SELECT is(lg_counts_store_release_outcome('2026-03-01 14:00Z', '2026-03-01 15:00Z', 1, 2,
                                          ARRAY['c1'], ARRAY[1::bigint], 1, 1),
          'budget_spent', 'budget: per-release noise still capped');

-- lg_counts_consenting is lg_counts_has_consent as a set: every consent case, several instants.
INSERT INTO scs (scs_as_id, name, webhook_secret) VALUES ('scs-c', 'scs', 'whsec_AAAA');
INSERT INTO ue (id, imsi, external_id, mobility)
SELECT n, '00101' || lpad(n::text, 10, '0'), 'd' || n || '@example.org', 'fixed'
FROM generate_series(11, 16) n;
INSERT INTO consent (ue_id, purpose, scs_id, granted_at, revoked_at, expires_at) VALUES
    (11, 'anonymous-statistics', NULL, '2026-01-01Z', '2026-02-01Z', NULL),
    (12, 'anonymous-statistics', NULL, '2026-01-01Z', NULL, '2026-02-01Z'),
    (13, 'anonymous-statistics', NULL, '2026-02-01Z', NULL, NULL),
    (14, 'anonymous-statistics', (SELECT id FROM scs WHERE scs_as_id = 'scs-c'), '2026-01-01Z', NULL, NULL),
    (15, 'location-monitoring', NULL, '2026-01-01Z', NULL, NULL),
    (16, 'anonymous-statistics', NULL, '2026-01-01Z', NULL, NULL),
    (16, 'anonymous-statistics', NULL, '2026-01-02Z', NULL, NULL);
SELECT is((SELECT count(*)::int
           FROM ue u, unnest(ARRAY['2025-12-31Z', '2026-01-15Z', '2026-02-01Z', '2026-03-01 10:45Z']::timestamptz[]) at
           WHERE lg_counts_has_consent(u.id, at)
                 IS DISTINCT FROM (u.id IN (SELECT c.ue_id FROM lg_counts_consenting(at) c))),
          0, 'consenting: the same devices as has_consent, whatever the consent and the instant');

SELECT * FROM finish();
ROLLBACK;
