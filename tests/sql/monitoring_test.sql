-- SPDX-License-Identifier: Apache-2.0
--
-- Issue 3 in SQL: T8 subscriptions (authorization with one identical
-- refusal), alerts -> outbox rows (grant, consent, monitoring allowed,
-- groups, maximumNumberOfReports, expiry), consent revocation, the
-- notifier's lease / done / stats, and the admin functions behind them.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(92);

-- error_of: 'SQLSTATE|message|detail|hint' of a failing statement, NULL if
-- it works.
CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text; v_detail text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN v_state || '|' || v_message || '|' || v_detail || '|' || v_hint;
END
$$;

-- ingest1: one report of one device, hysteresis 1 (every crossing alerts).
CREATE FUNCTION pg_temp.ingest1(p_seq bigint, p_supi text, p_ts_s bigint, p_cell text,
                                p_lon float8 DEFAULT NULL, p_lat float8 DEFAULT NULL,
                                p_unc float8 DEFAULT NULL)
RETURNS int LANGUAGE sql AS $$
    SELECT n_alerts FROM lg_ingest(ARRAY['mme-t'], ARRAY[p_seq], 1024, 1, ARRAY[1], ARRAY[p_supi],
                                   ARRAY[p_ts_s * 1000000], ARRAY['EUTRA'], ARRAY[p_cell],
                                   ARRAY[p_lon], ARRAY[p_lat], ARRAY[p_unc])
$$;

-- rows: 'kind/status' of the outbox rows of a subscription, in id order.
CREATE FUNCTION pg_temp.rows(p_sub_id text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(o.kind || '/' || o.status ORDER BY o.id), '{}')
      FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
     WHERE s.sub_id = p_sub_id
$$;

CREATE FUNCTION pg_temp.sub_state(p_sub_id text) RETURNS text LANGUAGE sql AS $$
    SELECT s.status || '/' || coalesce(s.ended_reason, '-') || '/' || s.reports_sent
      FROM subscription s WHERE s.sub_id = p_sub_id
$$;

CREATE FUNCTION pg_temp.req(p_target jsonb, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT p_target || '{"monitoringType": "LOCATION_REPORTING",
                         "notificationDestination": "https://scs.example/notify",
                         "maximumNumberOfReports": 100, "accuracy": "CGI_ECGI"}'::jsonb || p_extra
$$;

-- Fixture: home is a square near Paris, c-home inside it, c-away far off.
INSERT INTO network_node (name, kind) VALUES ('mme-t', 'MME');
INSERT INTO area (name, geom) VALUES ('home', ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)));
INSERT INTO cell (cell_key, rat, coverage) VALUES
    ('ecgi:001-01:00000A1', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))),
    ('ecgi:001-01:00000A2', 'EUTRA', ST_Multi(ST_MakeEnvelope(5.04, 45.04, 5.06, 45.06, 4326)));
SELECT lg_admin_device_put(jsonb_build_object('supi', 'imsi-00101000000000' || n, 'msisdn', 'msisdn-3361000000' || n,
                                              'externalId', x, 'mobility', 'fixed',
                                              'monitoringAllowed', x <> 'nomon@test'))
  FROM unnest(ARRAY['dev1@test', 'nogrant@test', 'nomon@test', 'noconsent@test', 'm1@test', 'm2@test'])
       WITH ORDINALITY AS t(x, n);
INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a;

SELECT is(lg_admin_scs_put('{"scsAsId": "scs-a", "name": "A", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                             "allowPrivateDestinations": true}') - 'createdAt',
          '{"scsAsId": "scs-a", "name": "A", "webhookSecret": "set", "webhookSecretPrevious": null,
            "allowPrivateDestinations": true, "certCn": null, "enabled": true}',
          'scs_put: secrets are never returned');
SELECT is(pg_temp.error_of($$SELECT lg_admin_scs_put('{"scsAsId": "scs-x", "webhookSecret": "secret"}')$$),
          '22023|webhookSecret must be whsec_ followed by the base64 of 24 to 64 bytes||webhookSecret',
          'scs_put: bad secret');
SELECT lg_admin_scs_put('{"scsAsId": "scs-b", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT is(lg_admin_group_put('{"externalGroupId": "grp@test", "localGroupId": "LOCALGRP-CANARY-77"}') - 'createdAt',
          '{"externalGroupId": "grp@test", "localGroupId": "LOCALGRP-CANARY-77", "members": 0}', 'group_put');
SELECT lg_admin_group_member_add(jsonb_build_object('externalGroupId', 'grp@test', 'externalId', x))
  FROM unnest(ARRAY['m1@test', 'm2@test']) x;
SELECT is(lg_admin_group_member_list('{"externalGroupId": "grp@test"}'), '["m1@test", "m2@test"]', 'group_member_list');
SELECT lg_admin_grant_add(jsonb_build_object('scsAsId', 'scs-a', 'externalId', x))
  FROM unnest(ARRAY['dev1@test', 'nomon@test', 'noconsent@test']) x;
SELECT is(lg_admin_grant_add('{"scsAsId": "scs-a", "service": "location-monitoring", "externalGroupId": "grp@test"}'),
          '{"scsAsId": "scs-a", "service": "location-monitoring", "externalGroupId": "grp@test"}', 'grant_add for a group');
SELECT is(pg_temp.error_of($$SELECT lg_admin_grant_add('{"scsAsId": "scs-a", "externalGroupId": "grp@test"}')$$),
          '23505|this grant already exists||scsAsId', 'grant_add twice: 23505');
SELECT is(jsonb_array_length(lg_admin_grant_list('{"scsAsId": "scs-a"}')), 4, 'grant_list');
SELECT lg_admin_consent_grant(jsonb_build_object('externalId', x, 'purpose', 'location-monitoring'))
  FROM unnest(ARRAY['dev1@test', 'nogrant@test', 'nomon@test']) x;
SELECT is(lg_admin_consent_grant('{"externalId": "m1@test", "purpose": "location-monitoring", "scsAsId": "scs-a"}')
            - 'id' - 'grantedAt',
          '{"externalId": "m1@test", "purpose": "location-monitoring", "scsAsId": "scs-a",
            "expiresAt": null, "revokedAt": null, "valid": true}', 'consent_grant for one SCS');
SELECT is(pg_temp.error_of($$SELECT lg_admin_consent_grant('{"externalId": "m2@test", "purpose": "marketing"}')$$),
          '22023|purpose must be location-monitoring or anonymous-statistics||purpose', 'consent_grant: bad purpose');

-- The refusal: unknown device, no grant, monitoring not allowed, no
-- consent, unknown group, unknown SCS: byte for byte the same error.
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_create(%L, %L)', c.scs, pg_temp.req(c.target))),
          '42501|the SCS is not authorized for this external identifier||', 'refused: ' || c.why)
  FROM (VALUES ('unknown device', 'scs-a', '{"externalId": "ghost@test"}'::jsonb),
               ('no grant', 'scs-a', '{"externalId": "nogrant@test"}'),
               ('monitoring not allowed', 'scs-a', '{"externalId": "nomon@test"}'),
               ('no consent', 'scs-a', '{"externalId": "noconsent@test"}'),
               ('unknown group', 'scs-a', '{"externalGroupId": "ghost-grp@test"}'),
               ('group without grant', 'scs-b', '{"externalGroupId": "grp@test"}'),
               ('unknown SCS', 'scs-zz', '{"externalId": "dev1@test"}')) AS c(why, scs, target);
-- The request's shape (a missing maximumNumberOfReports, another
-- monitoringType) is service/north/t8.c's: tests/unit/north/test_t8.c.
SELECT is((SELECT count(*)::int FROM subscription), 0, 'nothing stored by the refusals');

-- A device subscription with a test notification.
CREATE TEMP TABLE t_sub (name text PRIMARY KEY, j jsonb);
INSERT INTO t_sub SELECT 'dev', lg_t8_sub_create('scs-a', pg_temp.req('{"externalId": "dev1@test"}',
                    '{"requestTestNotification": true, "revocationNotifUri": "https://scs.example/revoked"}'));
SELECT matches((SELECT j ->> 'self' FROM t_sub WHERE name = 'dev'),
               '^/3gpp-monitoring-event/v1/scs-a/subscriptions/[0-9a-f]{16}$', 'create: relative self link, random 16-hex id');
SELECT is((SELECT j - 'self' FROM t_sub WHERE name = 'dev'),
          '{"externalId": "dev1@test", "monitoringType": "LOCATION_REPORTING", "notificationDestination": "https://scs.example/notify",
            "maximumNumberOfReports": 100, "requestTestNotification": true, "accuracy": "CGI_ECGI",
            "revocationNotifUri": "https://scs.example/revoked"}', 'create: the stored request');
CREATE FUNCTION pg_temp.sid(p_name text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(j ->> 'self', '.*/', '') FROM t_sub WHERE name = p_name
$$;
SELECT is(pg_temp.rows(pg_temp.sid('dev')), '{test/pending}', 'requestTestNotification: one test row');
SELECT is((SELECT o.payload FROM notification_outbox o WHERE o.kind = 'test'),
          jsonb_build_object('subscription', (SELECT j ->> 'self' FROM t_sub WHERE name = 'dev')),
          'test notification payload: {subscription}');
SELECT is(lg_t8_sub_get('scs-a', pg_temp.sid('dev')), (SELECT j FROM t_sub WHERE name = 'dev'), 'get');
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_get(%L, %L)', 'scs-b', pg_temp.sid('dev'))),
          'P0002|subscription not found||subscriptionId', 'get by another SCS: P0002');
SELECT is(jsonb_array_length(lg_t8_sub_list('scs-a')), 1, 'list');
SELECT is(lg_t8_sub_list('scs-b'), '[]', 'list of another SCS: empty');

-- Subscriptions stored behind the checks' back (as if the grant, consent
-- or permission had gone since): alerts must not reach them.
INSERT INTO subscription (scs_id, ue_id, monitoring_type, notification_destination, request)
SELECT k.id, u.id, 'LOCATION_REPORTING', 'https://x.example/' || u.external_id, '{}'
  FROM scs k, ue u
 WHERE (k.scs_as_id, u.external_id) IN (('scs-b', 'dev1@test'),        -- no grant
                                         ('scs-a', 'nomon@test'),       -- monitoring not allowed
                                         ('scs-a', 'noconsent@test'));  -- no consent

-- Alerts: dev1 leaves (one row), the others leave (no row anywhere).
SELECT is(pg_temp.ingest1(1, '001010000000001', 1000, 'ecgi:001-01:00000A1'), 0, 'dev1 at home');
SELECT is(pg_temp.ingest1(2, '001010000000001', 1010, 'ecgi:001-01:00000A2'), 1, 'dev1 leaves: one alert');
SELECT is(pg_temp.rows(pg_temp.sid('dev')), '{test/pending,alert/pending}', 'dev1 left: one alert row for the subscription');
SELECT is((SELECT count(*)::int FROM notification_outbox WHERE kind = 'alert'), 1, 'exactly one alert row in all');
SELECT is((SELECT o.payload FROM notification_outbox o WHERE o.kind = 'alert'),
          jsonb_build_object('subscription', (SELECT j ->> 'self' FROM t_sub WHERE name = 'dev'),
                             'monitoringEventReports', jsonb_build_array(jsonb_build_object(
                                 'monitoringType', 'LOCATION_REPORTING', 'externalId', 'dev1@test',
                                 'eventTime', '1970-01-01T00:16:50.000000Z',
                                 'locationInfo', '{"cellId": "00000A2", "plmnId": "00101"}'::jsonb,
                                 'movement', 'LEFT_AUTHORIZED_AREA'))),
          'alert payload: MonitoringNotification with cell id, PLMN and movement');
SELECT is(pg_temp.sub_state(pg_temp.sid('dev')), 'active/-/1', 'reports_sent counts the report');
SELECT is(pg_temp.ingest1(3, '001010000000003', 1000, 'ecgi:001-01:00000A2')
          + pg_temp.ingest1(4, '001010000000004', 1000, 'ecgi:001-01:00000A2'), 2,
          'nomon and noconsent leave: two alerts');
SELECT is((SELECT count(*)::int FROM notification_outbox WHERE kind = 'alert'), 1,
          'no rows without grant / consent / monitoring allowed');

-- GEO_AREA (reported positions) only for an SCS the operator allowed it.
SELECT throws_ok($$SELECT lg_t8_sub_create('scs-a', pg_temp.req('{"externalGroupId": "grp@test"}',
                                                  '{"accuracy": "GEO_AREA"}'))$$,
                 '42501', 'the SCS is not authorized for this external identifier',
                 'GEO_AREA without the grant: the one refusal');
SELECT is(lg_admin_scs_geo_area('{"scsAsId": "scs-a", "allowed": true}'),
          '{"scsAsId": "scs-a", "geoArea": true}', 'GEO_AREA granted to scs-a');

-- Groups: members are resolved inside; reports name them by External ID.
INSERT INTO t_sub SELECT 'grp', lg_t8_sub_create('scs-a', pg_temp.req('{"externalGroupId": "grp@test"}',
                                                 '{"accuracy": "GEO_AREA"}'));
SELECT is(pg_temp.ingest1(5, '001010000000005', 1000, 'ecgi:001-01:00000A2', 5.05, 45.05, 100), 1, 'm1 leaves');
SELECT is(pg_temp.ingest1(6, '001010000000006', 1000, 'ecgi:001-01:00000A2'), 1, 'm2 leaves');
SELECT is((SELECT array_agg(o.payload #>> '{monitoringEventReports,0,externalId}')
             FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
            WHERE s.sub_id = pg_temp.sid('grp')),
          '{m1@test}', 'group subscription: one row, for the consenting member, named by its External ID');
SELECT is((SELECT o.payload #> '{monitoringEventReports,0,locationInfo}' FROM notification_outbox o
            WHERE o.payload #>> '{monitoringEventReports,0,externalId}' = 'm1@test'),
          '{"cellId": "00000A2", "plmnId": "00101", "geographicArea": {"shape": "POINT_UNCERTAINTY_CIRCLE",
            "point": {"lon": 5.05, "lat": 45.05}, "uncertainty": 100}}', 'GEO_AREA with a position: the circle');
SELECT is((SELECT count(*)::int FROM notification_outbox o
            WHERE o.payload::text ~ 'LOCALGRP-CANARY-77|00101000000000|3361000000'), 0,
          'no Local Group ID, SUPI or MSISDN in any payload');
SELECT ok(lg_t8_sub_list('scs-a')::text !~ 'LOCALGRP-CANARY-77' AND lg_t8_sub_get('scs-a', pg_temp.sid('grp'))::text !~ 'LOCALGRP',
          'no Local Group ID in T8 results');

-- Accuracy: TA_RA never carries a cell id.
SELECT is(lg_location_info('TA_RA', 'ecgi:208-93:00000A2', NULL, NULL), '{"plmnId": "20893"}', 'TA_RA from an ECGI: PLMN only');
SELECT is(lg_location_info('TA_RA', 'rai:208-930:0A1B:2C', NULL, NULL), '{"plmnId": "208930", "routingAreaId": "0A1B2C"}',
          'TA_RA from an RAI: routing area');
SELECT is(lg_location_info('CGI_ECGI', 'cgi:208-93:0a1b:00c4', ST_MakePoint(1, 2), 5), '{"plmnId": "20893", "cellId": "0A1B00C4"}',
          'CGI_ECGI from a 2G/3G CGI: LAC and CI, no position');
SELECT is(lg_location_info('GEO_AREA', 'ncgi:001-01:00000000F', NULL, NULL), '{"plmnId": "00101", "cellId": "00000000F"}',
          'GEO_AREA without a position: as CGI_ECGI');

-- maximumNumberOfReports: the subscription ends on the last one.
INSERT INTO t_sub SELECT 'max2', lg_t8_sub_create('scs-a', pg_temp.req('{"externalId": "dev1@test"}',
                                                   '{"maximumNumberOfReports": 2, "immediateRep": true}'));
SELECT is(pg_temp.rows(pg_temp.sid('max2')), '{alert/pending}', 'immediateRep: a report of the current location');
SELECT is((SELECT o.payload #> '{monitoringEventReports,0}' FROM notification_outbox o JOIN subscription s ON s.id = o.subscription_id
            WHERE s.sub_id = pg_temp.sid('max2')),
          '{"monitoringType": "LOCATION_REPORTING", "externalId": "dev1@test", "eventTime": "1970-01-01T00:16:50.000000Z",
            "locationInfo": {"cellId": "00000A2", "plmnId": "00101"}}', 'immediate report: no movement');
SELECT is(pg_temp.ingest1(7, '001010000000001', 1020, 'ecgi:001-01:00000A1'), 1, 'dev1 returns');
SELECT is(pg_temp.rows(pg_temp.sid('max2')), '{alert/pending,alert/pending}', 'second report queued');
SELECT is(pg_temp.sub_state(pg_temp.sid('max2')), 'ended/MAX_REPORTS/2', 'maximumNumberOfReports reached: ended');
SELECT is(pg_temp.ingest1(8, '001010000000001', 1030, 'ecgi:001-01:00000A2'), 1, 'dev1 leaves again');
SELECT is(pg_temp.rows(pg_temp.sid('max2')), '{alert/pending,alert/pending}', 'no third report');
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_get(%L, %L)', 'scs-a', pg_temp.sid('max2'))),
          'P0002|subscription not found||subscriptionId', 'an ended subscription is gone for the SCS');
SELECT is(pg_temp.rows(pg_temp.sid('dev')), '{test/pending,alert/pending,alert/pending,alert/pending}',
          'the unlimited subscription got all three');

-- monitorExpireTime: an alert after it ends the subscription, no row.
INSERT INTO t_sub SELECT 'exp', lg_t8_sub_create('scs-a', '{"externalId": "dev1@test", "monitoringType": "LOCATION_REPORTING",
                      "notificationDestination": "https://scs.example/n", "monitorExpireTime": "2999-01-01T00:00:00Z",
                      "accuracy": "CGI_ECGI"}');
SELECT is((SELECT j ->> 'monitorExpireTime' FROM t_sub WHERE name = 'exp'), '2999-01-01T00:00:00Z', 'monitorExpireTime kept');
UPDATE subscription SET expires_at = now() - interval '1 second' WHERE sub_id = pg_temp.sid('exp');
SELECT is(pg_temp.ingest1(9, '001010000000001', 1040, 'ecgi:001-01:00000A1'), 1, 'dev1 returns after expiry');
SELECT is(pg_temp.rows(pg_temp.sid('exp')), '{}', 'expired: no row');
SELECT is(pg_temp.sub_state(pg_temp.sid('exp')), 'ended/EXPIRED/0', 'expired: ended');

-- PUT replaces; DELETE ends and drops what is pending.
INSERT INTO t_sub SELECT 'del', lg_t8_sub_create('scs-a', pg_temp.req('{"externalId": "dev1@test"}'));
SELECT is(lg_t8_sub_put('scs-a', pg_temp.sid('del'), pg_temp.req('{"externalId": "dev1@test"}', '{"accuracy": "TA_RA"}')) ->> 'accuracy',
          'TA_RA', 'put replaces');
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_put(%L, %L, %L)', 'scs-a', pg_temp.sid('del'), pg_temp.req('{"externalId": "nogrant@test"}'))),
          '42501|the SCS is not authorized for this external identifier||', 'put to a device without grant: the refusal');
SELECT is(pg_temp.ingest1(10, '001010000000001', 1050, 'ecgi:001-01:00000A2'), 1, 'dev1 leaves');
SELECT is((SELECT o.payload #> '{monitoringEventReports,0,locationInfo}' FROM notification_outbox o
             JOIN subscription s ON s.id = o.subscription_id WHERE s.sub_id = pg_temp.sid('del')),
          '{"plmnId": "00101"}', 'TA_RA report: no cell id');
SELECT is(lg_t8_sub_delete('scs-a', pg_temp.sid('del')), NULL, 'delete: no content');
SELECT is(pg_temp.rows(pg_temp.sid('del')) || pg_temp.sub_state(pg_temp.sid('del')), '{alert/dropped,ended/DELETED/1}',
          'delete: ended, pending row dropped');
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_delete(%L, %L)', 'scs-a', pg_temp.sid('del'))),
          'P0002|subscription not found||subscriptionId', 'delete twice: P0002');

-- Lease, in one session: due rows only, oldest first, with the SCS's secret;
-- a leased row is not leased again until the lease runs out.
UPDATE notification_outbox SET next_attempt_at = now() + interval '1 hour'
 WHERE subscription_id = (SELECT id FROM subscription WHERE sub_id = pg_temp.sid('grp'));
CREATE TEMP TABLE t_lease AS SELECT * FROM lg_outbox_lease('n1', 3, 60);
SELECT is((SELECT array_agg(kind ORDER BY id) FROM t_lease), '{test,alert,alert}', 'lease: three due rows, oldest first');
SELECT is((SELECT DISTINCT secret || ' ' || scs_as_id || ' ' || allow_private FROM t_lease),
          'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw scs-a true', 'lease: secret, SCS and destination policy');
SELECT is((SELECT count(*)::int FROM notification_outbox WHERE lease_owner = 'n1' AND lease_until > now()), 3, 'lease recorded');
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n2', 100, 60) l WHERE l.id IN (SELECT id FROM t_lease)), 0,
          'a second lease does not return leased rows');
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n3', 100, 60)), 0, 'leased and future rows are not due');

-- Done: only the lease holder; delivered, retry, gone.
SELECT lg_outbox_done((SELECT min(id) FROM t_lease), 'n2', 'delivered', 200, NULL, NULL);
SELECT is((SELECT status FROM notification_outbox WHERE id = (SELECT min(id) FROM t_lease)), 'pending',
          'done by another notifier: ignored');
SELECT lg_outbox_done((SELECT min(id) FROM t_lease), 'n1', 'delivered', 204, NULL, NULL);
SELECT is((SELECT status || '/' || attempts || '/' || last_status || '/' || (lease_owner IS NULL) || '/' || (delivered_at IS NOT NULL)
             FROM notification_outbox WHERE id = (SELECT min(id) FROM t_lease)),
          'delivered/1/204/true/true', 'delivered');
SELECT lg_outbox_done((SELECT max(id) FROM t_lease), 'n1', 'retry', 500, 'HTTP 500', now() + interval '5 seconds');
SELECT is((SELECT status || '/' || attempts || '/' || last_error || '/' || (next_attempt_at > now()) || '/' || (lease_owner IS NULL)
             FROM notification_outbox WHERE id = (SELECT max(id) FROM t_lease)),
          'pending/1/HTTP 500/true/true', 'retry: pending again later, lease released');
-- Requeue (the destination was busy): not an attempt, lease released.
UPDATE notification_outbox SET lease_owner = 'n1', lease_until = now() + interval '1 minute'
 WHERE id = (SELECT max(id) FROM t_lease);
SELECT lg_outbox_done((SELECT max(id) FROM t_lease), 'n1', 'requeue', 0, 'destination busy', now() + interval '2 seconds');
SELECT is((SELECT status || '/' || attempts || '/' || last_error || '/' || (next_attempt_at > now()) || '/' || (lease_owner IS NULL)
             FROM notification_outbox WHERE id = (SELECT max(id) FROM t_lease)),
          'pending/1/HTTP 500/true/true', 'requeue: not an attempt, error kept, lease released');
SELECT is(pg_temp.error_of($$SELECT lg_outbox_done(1, 'n1', 'maybe', NULL, NULL, NULL)$$),
          '22023|outcome must be delivered, retry, failed, gone or requeue||p_outcome', 'done: bad outcome');
UPDATE notification_outbox SET next_attempt_at = now() WHERE status = 'pending';
UPDATE notification_outbox SET lease_until = now() - interval '1 second' WHERE lease_owner = 'n2';
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n1', 100, 60,
                ARRAY(SELECT DISTINCT destination FROM notification_outbox WHERE status = 'pending'))), 0,
          'lease: nothing for destinations the notifier skips');
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n1', 100, 60)), 7, 'lease the rest (n2''s leases ran out)');
SELECT lg_outbox_done((SELECT o.id FROM notification_outbox o WHERE o.subscription_id =
                         (SELECT id FROM subscription WHERE sub_id = pg_temp.sid('dev')) AND o.status = 'pending'
                       ORDER BY o.id LIMIT 1), 'n1', 'gone', 410, 'HTTP 410', NULL);
SELECT is(pg_temp.rows(pg_temp.sid('dev')) || pg_temp.sub_state(pg_temp.sid('dev')),
          '{test/delivered,alert/failed,alert/dropped,alert/dropped,alert/dropped,alert/dropped,ended/GONE/5}', '410: row failed, subscription ended, the rest dropped');
SELECT results_eq('SELECT depth FROM lg_outbox_stats()', 'VALUES (3::bigint)', 'stats: depth');

-- Consent revoked between the alert and its delivery: dropped at lease time.
UPDATE notification_outbox SET lease_owner = NULL, lease_until = NULL WHERE status = 'pending';
UPDATE consent SET revoked_at = now() WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'm1@test');
SELECT is((SELECT count(*)::int FROM lg_outbox_lease('n1', 100, 60) l WHERE l.kind = 'alert' AND l.payload LIKE '%m1@test%'), 0,
          'consent gone at delivery time: not leased');
SELECT is((SELECT status || '/' || last_error FROM notification_outbox WHERE payload::text LIKE '%m1@test%' AND kind = 'alert'),
          'dropped/consent no longer valid', 'consent gone at delivery time: dropped');

-- consent_revoke: pending alert rows dropped, single-device subscriptions
-- ended, ConsentRevocNotif queued to revocationNotifUri.
INSERT INTO t_sub SELECT 'rev', lg_t8_sub_create('scs-a', pg_temp.req('{"externalId": "dev1@test"}',
                                                  '{"revocationNotifUri": "https://scs.example/revoked"}'));
SELECT is(pg_temp.ingest1(11, '001010000000001', 1060, 'ecgi:001-01:00000A1'), 1, 'dev1 returns');
SELECT is(pg_temp.rows(pg_temp.sid('rev')), '{alert/pending}', 'alert pending');
SELECT is(lg_admin_consent_revoke('{"externalId": "dev1@test", "purpose": "location-monitoring"}'),
          '{"revoked": 1, "subscriptionsEnded": 2}', 'consent_revoke (the subscription and scs-b''s stray one)');
SELECT is(pg_temp.rows(pg_temp.sid('rev')) || pg_temp.sub_state(pg_temp.sid('rev')),
          '{alert/dropped,revocation/pending,ended/CONSENT_REVOKED/1}', 'revoked: alert dropped, revocation queued, ended');
SELECT is((SELECT o.destination || ' ' || o.payload::text FROM notification_outbox o WHERE o.kind = 'revocation'),
          'https://scs.example/revoked ' || jsonb_build_object('subscriptionId', pg_temp.sid('rev'),
              'consentsRevoked', '[{"ucPurpose": "NW_CAP_EXPOSURE", "externalId": "dev1@test"}]'::jsonb)::text,
          'ConsentRevocNotif to revocationNotifUri');
SELECT is(pg_temp.error_of($$SELECT lg_admin_consent_revoke('{"externalId": "dev1@test", "purpose": "location-monitoring"}')$$),
          'P0002|no valid consent matches||externalId', 'revoke twice: P0002');
SELECT is(lg_admin_consent_list('{"externalId": "dev1@test"}') #>> '{0,valid}', 'false', 'consent_list: no longer valid');

-- Clients: only the hash is stored, and never returned.
SELECT is(lg_admin_client_add('{"clientId": "cli-a", "scopes": ["monitoring-event"], "scsAsId": "scs-a",
                                "secretHash": "scrypt$16384$8$1$c2FsdA==$aGFzaA=="}') - 'createdAt',
          '{"clientId": "cli-a", "scopes": ["monitoring-event"], "scsAsId": "scs-a", "enabled": true}', 'client_add');
SELECT is((SELECT secret_hash FROM api_client WHERE client_id = 'cli-a'), 'scrypt$16384$8$1$c2FsdA==$aGFzaA==', 'hash stored');

-- Withdrawing GEO_AREA ends the SCS's GEO_AREA subscriptions (the group one).
SELECT is(lg_admin_scs_geo_area('{"scsAsId": "scs-a", "allowed": false}'),
          '{"scsAsId": "scs-a", "geoArea": false}', 'GEO_AREA withdrawn from scs-a');
SELECT is(split_part(pg_temp.sub_state(pg_temp.sid('grp')), '/', 2), 'SERVICE_REVOKED',
          'its GEO_AREA subscription ended');

SELECT * FROM finish();
ROLLBACK;
