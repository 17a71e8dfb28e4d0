-- SPDX-License-Identifier: Apache-2.0
--
-- Issue 17: removing a grant is final (lg_admin_grant_remove). A device
-- grant's removal ends the SCS's subscriptions to the device, drops its
-- pending alerts about it (also those of a group subscription), keeps the
-- group subscription without the member (no alert made, none leased), and
-- queues the cancelInd notice; a group grant's removal ends the group
-- subscription; lg_outbox_lease re-checks the grant; granting the device
-- again lifts the exclusion. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(23);

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

-- ingest1: one report of one device, hysteresis 1 (every crossing alerts).
CREATE FUNCTION pg_temp.ingest1(p_seq bigint, p_supi text, p_ts_s bigint, p_cell text)
RETURNS int LANGUAGE sql AS $$
    SELECT n_alerts FROM lg_ingest(ARRAY['mme-t'], ARRAY[p_seq], 1024, 1, ARRAY[1], ARRAY[p_supi],
                                   ARRAY[p_ts_s * 1000000], ARRAY['EUTRA'], ARRAY[p_cell],
                                   ARRAY[NULL::float8], ARRAY[NULL::float8], ARRAY[NULL::float8])
$$;

-- rows: 'kind/status' of the outbox rows of a subscription, in id order.
CREATE FUNCTION pg_temp.rows(p_sub_id text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(o.kind || '/' || o.status ORDER BY o.id), '{}')
      FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
     WHERE s.sub_id = p_sub_id
$$;

CREATE FUNCTION pg_temp.state(p_sub_id text) RETURNS text LANGUAGE sql AS $$
    SELECT s.status || '/' || coalesce(s.ended_reason, '-') FROM subscription s
     WHERE s.sub_id = p_sub_id
$$;

CREATE FUNCTION pg_temp.req(p_target jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT p_target || '{"monitoringType": "LOCATION_REPORTING",
                         "notificationDestination": "https://scs.example/notify",
                         "maximumNumberOfReports": 100, "accuracy": "CGI_ECGI"}'::jsonb
$$;

CREATE TEMP TABLE t_sub (name text PRIMARY KEY, sub_id text);
CREATE FUNCTION pg_temp.sid(p_name text) RETURNS text LANGUAGE sql AS $$
    SELECT sub_id FROM t_sub WHERE name = p_name
$$;

-- Fixture: home near Paris, c-home inside it, c-away far off; devices d1
-- (granted alone and in group grp) and d2 (in grp only).
INSERT INTO network_node (name, kind) VALUES ('mme-t', 'MME');
INSERT INTO area (name, geom) VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:00000A1', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:00000A2', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326)));
SELECT lg_admin_device_put(jsonb_build_object('supi', 'imsi-00101000000000' || n,
                                              'externalId', x, 'mobility', 'fixed'))
  FROM unnest(ARRAY['d1@test', 'd2@test']) WITH ORDINALITY AS t(x, n);
INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a;
SELECT lg_admin_scs_put('{"scsAsId": "scs-a", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT lg_admin_group_put('{"externalGroupId": "grp@test", "localGroupId": "LOCALGRP-1"}');
SELECT lg_admin_group_member_add(jsonb_build_object('externalGroupId', 'grp@test', 'externalId', x))
  FROM unnest(ARRAY['d1@test', 'd2@test']) x;
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalId": "d1@test"}');
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalGroupId": "grp@test"}');
SELECT lg_admin_consent_grant(jsonb_build_object('externalId', x, 'purpose', 'location-monitoring'))
  FROM unnest(ARRAY['d1@test', 'd2@test']) x;
INSERT INTO t_sub SELECT 'dev', lg_t8_sub_create('scs-a', pg_temp.req('{"externalId": "d1@test"}')) ->> 'self';
INSERT INTO t_sub SELECT 'grp', lg_t8_sub_create('scs-a', pg_temp.req('{"externalGroupId": "grp@test"}')) ->> 'self';
UPDATE t_sub SET sub_id = regexp_replace(sub_id, '.*/', '');

-- Both devices leave: one alert each, for each subscription they are in.
SELECT is(pg_temp.ingest1(1, '001010000000001', 1000, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(2, '001010000000002', 1000, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(3, '001010000000001', 1010, 'ecgi:001-01:00000A2')
          + pg_temp.ingest1(4, '001010000000002', 1010, 'ecgi:001-01:00000A2'), 2, 'd1 and d2 left');
SELECT is(pg_temp.rows(pg_temp.sid('dev')), '{alert/pending}', 'd1 alert pending on the device subscription');
SELECT is(pg_temp.rows(pg_temp.sid('grp')), '{alert/pending,alert/pending}', 'd1 and d2 alerts pending on the group one');

-- Removing the device grant.
SELECT is(lg_admin_grant_remove('{"scsAsId": "scs-a", "externalId": "d1@test"}'),
          '{"subscriptionsEnded": 1, "notificationsDropped": 2}', 'grant_remove d1: one ended, two dropped');
SELECT is(pg_temp.state(pg_temp.sid('dev')), 'ended/GRANT_REMOVED', 'the device subscription ended');
SELECT is(pg_temp.rows(pg_temp.sid('dev')), '{alert/dropped,revocation/pending}',
          'its alert dropped, the cancel notice queued');
SELECT is((SELECT o.destination || ' ' || o.payload::text FROM notification_outbox o
            JOIN subscription s ON s.id = o.subscription_id
           WHERE s.sub_id = pg_temp.sid('dev') AND o.kind = 'revocation'),
          'https://scs.example/notify ' || jsonb_build_object(
              'subscription', lg_sub_self('scs-a', pg_temp.sid('dev')), 'cancelInd', true)::text,
          'the notice: MonitoringNotification with cancelInd to notificationDestination');
SELECT is(pg_temp.state(pg_temp.sid('grp')), 'active/-', 'the group subscription goes on');
SELECT is((SELECT array_agg(o.status || ':' || u.external_id ORDER BY u.external_id)
             FROM notification_outbox o JOIN ue u ON u.id = o.ue_id
             JOIN subscription s ON s.id = o.subscription_id WHERE s.sub_id = pg_temp.sid('grp')),
          '{dropped:d1@test,pending:d2@test}', 'the group''s alert about d1 dropped, d2''s kept');
SELECT is((SELECT last_error FROM notification_outbox WHERE status = 'dropped' LIMIT 1), 'grant removed',
          'dropped because the grant was removed');
SELECT is(pg_temp.error_of($$SELECT lg_admin_grant_remove('{"scsAsId": "scs-a", "externalId": "d1@test"}')$$),
          'P0002|grant not found|scsAsId', 'removing it twice: P0002');

-- The group subscription lost the member: d1's next alert is not made for
-- it, d2's is.
SELECT is(pg_temp.ingest1(5, '001010000000001', 1020, 'ecgi:001-01:00000A1')
          + pg_temp.ingest1(6, '001010000000002', 1020, 'ecgi:001-01:00000A1'), 2, 'd1 and d2 return');
SELECT is((SELECT array_agg(u.external_id ORDER BY o.id) FROM notification_outbox o
             JOIN ue u ON u.id = o.ue_id JOIN subscription s ON s.id = o.subscription_id
            WHERE s.sub_id = pg_temp.sid('grp') AND o.status = 'pending'),
          '{d2@test,d2@test}', 'the group subscription reports d2 only');

-- The lease re-checks the grant: an alert made while the grant was there,
-- still pending when it is gone, is dropped and not leased.
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalId": "d1@test"}');
SELECT is((SELECT count(*)::int FROM scs_grant_exclusion), 0, 'granting d1 again lifts the exclusion');
SELECT is(pg_temp.ingest1(7, '001010000000001', 1030, 'ecgi:001-01:00000A2'), 1, 'd1 leaves again');
SELECT is((SELECT count(*)::int FROM notification_outbox o JOIN ue u ON u.id = o.ue_id
            WHERE u.external_id = 'd1@test' AND o.status = 'pending' AND o.kind = 'alert'), 1,
          'the group reports d1 again');
-- The grant disappears without lg_admin_grant_remove (as another daemon's
-- transaction could make it vanish between the alert and the lease).
DELETE FROM scs_grant WHERE group_id IS NOT NULL;
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n1', 100, 60) l WHERE l.payload LIKE '%d1@test%'), 0,
          'grant gone at delivery time: not leased');
SELECT is((SELECT o.status || '/' || o.last_error FROM notification_outbox o JOIN ue u ON u.id = o.ue_id
            WHERE u.external_id = 'd1@test' ORDER BY o.id DESC LIMIT 1),
          'dropped/grant removed', 'grant gone at delivery time: dropped');
SELECT is((SELECT count(*)::int FROM notification_outbox WHERE lease_owner = 'n1' AND kind = 'alert'), 0,
          'd2''s alerts were not leased either (the group grant is gone)');

-- Removing a group grant ends the group subscription.
SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalGroupId": "grp@test"}');
SELECT is(pg_temp.ingest1(8, '001010000000002', 1030, 'ecgi:001-01:00000A2'), 1, 'd2 leaves again');
SELECT is(lg_admin_grant_remove('{"scsAsId": "scs-a", "externalGroupId": "grp@test"}') ->> 'subscriptionsEnded',
          '1', 'grant_remove of the group: its subscription ended');
SELECT is(pg_temp.state(pg_temp.sid('grp')), 'ended/GRANT_REMOVED', 'the group subscription ended');
SELECT is((SELECT count(*)::int FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
            WHERE s.sub_id = pg_temp.sid('grp') AND o.status = 'pending' AND o.kind = 'alert'), 0,
          'nothing pending for it but the notice');

SELECT * FROM finish();
ROLLBACK;
