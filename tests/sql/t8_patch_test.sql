-- SPDX-License-Identifier: Apache-2.0
--
-- Issue 17: PATCH of a group subscription (lg_t8_sub_patch): excluded UEs
-- are kept in the request (GET shows them), get no alert, and lose their
-- pending ones; added UEs come back; ids outside the group get the one
-- refusal; a device subscription is 22023; supportedFeatures is stored as
-- the daemon negotiated it. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(11);

CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_hint = PG_EXCEPTION_HINT;
    RETURN v_state || '|' || v_message || '|' || v_hint;
END
$$;

CREATE FUNCTION pg_temp.ingest1(p_seq bigint, p_supi text, p_ts_s bigint, p_cell text)
RETURNS int LANGUAGE sql AS $$
    SELECT n_alerts FROM lg_ingest(ARRAY['mme-t'], ARRAY[p_seq], 1024, 1, ARRAY[1], ARRAY[p_supi],
                                   ARRAY[p_ts_s * 1000000], ARRAY['EUTRA'], ARRAY[p_cell],
                                   ARRAY[NULL::float8], ARRAY[NULL::float8], ARRAY[NULL::float8])
$$;

-- pending: the external ids of the pending alert rows of subscription p_sub, in id order.
CREATE FUNCTION pg_temp.pending(p_sub text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(u.external_id ORDER BY o.id), '{}')
      FROM notification_outbox o JOIN ue u ON u.id = o.ue_id
      JOIN subscription s ON s.id = o.subscription_id
     WHERE s.sub_id = p_sub AND o.status = 'pending' AND o.kind = 'alert'
$$;

INSERT INTO network_node (name, kind) VALUES ('mme-t', 'MME');
INSERT INTO area (name, geom) VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:00000A1', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:00000A2', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326)));
SELECT lg_admin_device_put(jsonb_build_object('supi', 'imsi-00101000000000' || n,
                                              'externalId', x, 'mobility', 'fixed'))
  FROM unnest(ARRAY['d1@test', 'd2@test', 'out@test']) WITH ORDINALITY AS t(x, n);
INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a;
SELECT lg_admin_scs_put('{"scsAsId": "scs-a", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT lg_admin_group_put('{"externalGroupId": "grp@test", "localGroupId": "LOCALGRP-1"}');
SELECT lg_admin_group_member_add(jsonb_build_object('externalGroupId', 'grp@test', 'externalId', x))
  FROM unnest(ARRAY['d1@test', 'd2@test']) x;
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalGroupId": "grp@test"}');
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalId": "d1@test"}');
SELECT lg_admin_consent_grant(jsonb_build_object('externalId', x, 'purpose', 'location-monitoring'))
  FROM unnest(ARRAY['d1@test', 'd2@test', 'out@test']) x;
CREATE TEMP TABLE t_sub AS
SELECT regexp_replace(lg_t8_sub_create('scs-a', '{"externalGroupId": "grp@test", "monitoringType": "LOCATION_REPORTING",
          "notificationDestination": "https://scs.example/n", "maximumNumberOfReports": 100,
          "supportedFeatures": "00", "accuracy": "CGI_ECGI"}') ->> 'self', '.*/', '') AS grp,
       regexp_replace(lg_t8_sub_create('scs-a', '{"externalId": "d1@test", "monitoringType": "LOCATION_REPORTING",
          "notificationDestination": "https://scs.example/n", "maximumNumberOfReports": 100,
          "accuracy": "CGI_ECGI"}') ->> 'self', '.*/', '') AS dev;

SELECT is(pg_temp.ingest1(1, '001010000000001', 1000, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(2, '001010000000002', 1000, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(3, '001010000000001', 1010, 'ecgi:001-01:00000A2'), 1, 'd1 left');
SELECT is(pg_temp.pending((SELECT grp FROM t_sub)), '{d1@test}', 'd1 pending on the group subscription');
SELECT is(lg_t8_sub_patch('scs-a', (SELECT grp FROM t_sub), '{"excludedExternalIds": ["d1@test"]}'), NULL,
          'exclude d1');
SELECT is(lg_t8_sub_get('scs-a', (SELECT grp FROM t_sub)) -> 'excludedExternalIds', '["d1@test"]',
          'GET shows excludedExternalIds');
SELECT is(lg_t8_sub_get('scs-a', (SELECT grp FROM t_sub)) ->> 'supportedFeatures', '00',
          'supportedFeatures kept as negotiated');
SELECT is(pg_temp.pending((SELECT grp FROM t_sub)), '{}', 'd1''s pending alert dropped');
SELECT is(pg_temp.ingest1(4, '001010000000001', 1020, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(5, '001010000000002', 1020, 'ecgi:001-01:00000A2'), 2, 'd1 returns, d2 leaves');
SELECT is(pg_temp.pending((SELECT grp FROM t_sub)), '{d2@test}', 'only d2 is reported by the group subscription');
SELECT is(pg_temp.pending((SELECT dev FROM t_sub)), '{d1@test,d1@test}', 'the device subscription still reports d1');
SELECT lg_t8_sub_patch('scs-a', (SELECT grp FROM t_sub), '{"addedExternalIds": ["d1@test"]}');
SELECT is(lg_t8_sub_get('scs-a', (SELECT grp FROM t_sub)) ? 'excludedExternalIds', false, 'added back');
SELECT is(ARRAY[pg_temp.error_of(format('SELECT lg_t8_sub_patch(%L, %L, %L)', 'scs-a', (SELECT grp FROM t_sub),
                                        '{"excludedExternalIds": ["out@test"]}')),
                pg_temp.error_of(format('SELECT lg_t8_sub_patch(%L, %L, %L)', 'scs-a', (SELECT grp FROM t_sub),
                                        '{"addedExternalIds": ["ghost@test"]}')),
                pg_temp.error_of(format('SELECT lg_t8_sub_patch(%L, %L, %L)', 'scs-a', (SELECT dev FROM t_sub),
                                        '{"excludedExternalIds": ["d1@test"]}'))],
          ARRAY['42501|the SCS is not authorized for this external identifier|',
                '42501|the SCS is not authorized for this external identifier|',
                '22023|only the UEs of a group subscription (externalGroupId) can be added or excluded|externalGroupId'],
          'refusals: not a member, unknown, device subscription');

SELECT * FROM finish();
ROLLBACK;
