-- SPDX-License-Identifier: Apache-2.0
--
-- webhook.sql: the monitored devices of `make bench` phase (d), webhook
-- latency. Run after the SCS record (`locguardctl scs add`, so its secret
-- and allow_private_destinations are set the operator's way) exists:
--
--   psql CONNINFO -v scs=bench-scs -v n=10000 -v dest=https://127.0.0.1:PORT/notify \
--        -f tests/bench/webhook.sql
--
-- For the first :n provisioned devices (ue.id 1..:n, IMSI base + 0..:n-1,
-- which is what `mme-sim load --devices :n` reports on) it writes, set-based:
-- a 'location-monitoring' grant of the SCS per device (scs_grant) and a
-- location-monitoring consent for that SCS (consent), both bulk INSERTs as
-- the admin API would store them; then one T8 LOCATION_REPORTING
-- subscription per device through lg_t8_sub_create (sql/northbound.sql), the
-- function behind POST /3gpp-monitoring-event/v1/{scsAsId}/subscriptions,
-- so every subscription passes the same grant / consent / monitoring checks
-- an SCS's request does. maximumNumberOfReports is 999999999 and monitorExpireTime
-- a day away: nothing ends during the run.
--
-- Idempotent for a given SCS: its earlier grants, consents, subscriptions and
-- pending outbox rows are removed first (the SCS record itself is replaced by
-- `locguardctl scs add` before, which keeps its id).

\set ON_ERROR_STOP on
\if :{?n}
\else
\set n 10000
\endif

SELECT id AS scs_id FROM scs WHERE scs_as_id = :'scs' \gset

BEGIN;
DELETE FROM notification_outbox WHERE scs_id = :scs_id;
DELETE FROM subscription WHERE scs_id = :scs_id;
DELETE FROM scs_grant WHERE scs_id = :scs_id;
DELETE FROM consent WHERE scs_id = :scs_id;

INSERT INTO scs_grant (scs_id, service, ue_id)
SELECT :scs_id, 'location-monitoring', u.id
FROM ue u WHERE u.id BETWEEN 1 AND :n;

INSERT INTO consent (ue_id, purpose, scs_id, granted_at)
SELECT u.id, 'location-monitoring', :scs_id, now() - interval '1 day'
FROM ue u WHERE u.id BETWEEN 1 AND :n;

SELECT count(*) AS subscriptions
FROM (SELECT lg_t8_sub_create(:'scs', jsonb_build_object(
                 'externalId', u.external_id,
                 'monitoringType', 'LOCATION_REPORTING',
                 'notificationDestination', :'dest',
                 'maximumNumberOfReports', 999999999,
                 'monitorExpireTime', lg_rfc3339(now() + interval '1 day'),
                 'accuracy', 'CGI_ECGI'))
      FROM ue u WHERE u.id BETWEEN 1 AND :n ORDER BY u.id) AS s;
COMMIT;

ANALYZE scs_grant, consent, subscription, notification_outbox;
