-- SPDX-License-Identifier: Apache-2.0
--
-- CAMARA Region Device Count's asynchronous mode in the database:
-- lg_counts_query_async (sql/counts.sql) answers with lg_counts_query and
-- queues the CloudEvent in the outbox, or refuses and queues nothing; the
-- outbox (sql/outbox.sql) hands the row out with its Content-Type and
-- bearer token, drops it once the token expired, and wipes the token when
-- the row ends. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(17);

CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_message text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    RETURN v_hint || '|' || v_message;
END
$$;

-- One 0.02 x 0.02 degree cell with a release of 25 devices.
INSERT INTO cell (cell_key, rat, coverage)
VALUES ('ecgi:001-01:0000001', 'EUTRA', ST_Multi(ST_MakeEnvelope(2.30, 48.80, 2.32, 48.82, 4326)));
SELECT lg_counts_store_release('2100-01-01T00:00Z', '2100-01-01T01:00Z', 1, 2,
                               '{ecgi:001-01:0000001}', '{25}');
CREATE FUNCTION pg_temp.q(p_client text, p_sink text, p_private boolean, p_token text,
                          p_expires timestamptz, p_area jsonb DEFAULT NULL,
                          p_correlator text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT lg_counts_query_async(p_client, coalesce(p_area, '{"areaType":"POLYGON","boundary":[
        {"latitude":48.80,"longitude":2.30},{"latitude":48.80,"longitude":2.32},
        {"latitude":48.82,"longitude":2.32},{"latitude":48.82,"longitude":2.30}]}'::jsonb),
        NULL, NULL, 10, 1e6, 5e10, p_sink, p_private, p_token, p_expires,
        '/region-device-count/vwip/count', 'org.camaraproject.region-device-count.v0.count-result',
        p_correlator)
$$;
INSERT INTO scs (scs_as_id, webhook_secret, allow_private_destinations)
VALUES ('async-pub', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', false),
       ('async-priv', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true),
       ('async-twin', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', true);
-- An unbound client whose id is an SCS/AS's: its subject is ambiguous.
INSERT INTO api_client (client_id, secret_hash, scopes)
VALUES ('async-twin', 'x', '{region-device-count}');
DELETE FROM notification_outbox;

SELECT is(pg_temp.error_of($$SELECT pg_temp.q('no-such-scs', 'https://s.example/r', false, NULL, NULL)$$),
          'INVALID_SINK|sink is not available to this client: no SCS/AS is registered to sign its deliveries.',
          'a subject that is no SCS/AS: INVALID_SINK');
SELECT is(split_part(pg_temp.error_of($$SELECT pg_temp.q('async-twin', 'https://s.example/r', false, NULL, NULL)$$), '|', 1),
          'INVALID_SINK', 'a subject an unbound client also carries: INVALID_SINK');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('async-pub', 'https://127.0.0.1/r', true, NULL, NULL)$$),
          'INVALID_SINK|sink names an address that deliveries may not reach.',
          'a private sink for an SCS/AS that allows none: INVALID_SINK');
SELECT is(split_part(pg_temp.error_of($$SELECT pg_temp.q('async-pub', 'https://s.example/r', false, NULL, NULL,
          '{"areaType":"CIRCLE","center":{"latitude":48.81,"longitude":2.31},"radius":10}')$$), '|', 1),
          'REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA', 'the count''s own refusal');
SELECT is((SELECT count(*) FROM notification_outbox), 0::bigint, 'refusals queue nothing');

CREATE TEMP TABLE t_op AS
SELECT pg_temp.q('async-pub', 'https://s.example/r', false, 'tok-1', now() + interval '1 hour',
                 NULL, 'corr-1') AS a
UNION ALL
SELECT pg_temp.q('async-priv', 'https://127.0.0.1/r', true, NULL, NULL);
SELECT ok((SELECT bool_and(a->>'operationId' ~ '^[0-9a-f-]{36}$' AND a - 'operationId' = '{}') FROM t_op),
          'the 202 body is {"operationId": uuid}');
SELECT is((SELECT array_agg(kind || ' ' || destination ORDER BY id) FROM notification_outbox),
          '{"count-result https://s.example/r","count-result https://127.0.0.1/r"}',
          'one count-result row per accepted request');
SELECT is((SELECT payload - 'time' - 'id' FROM notification_outbox WHERE sink_token = 'tok-1'),
          jsonb_build_object('source', '/region-device-count/vwip/count',
                             'type', 'org.camaraproject.region-device-count.v0.count-result',
                             'specversion', '1.0', 'datacontenttype', 'application/json',
                             'data', jsonb_build_object('count', 25, 'status', 'SUPPORTED_AREA',
                                                        'operationId', (SELECT a->>'operationId' FROM t_op LIMIT 1))),
          'the CloudEvent: data is the synchronous answer plus the operationId');
SELECT ok((SELECT bool_and(payload->>'id' = notif_id AND (payload->>'time')::timestamptz = created_at)
           FROM notification_outbox), 'the event id is the webhook-id, its time the queueing');
SELECT is((SELECT count(*) FROM audit_log WHERE actor IN ('async-pub', 'async-priv')), 2::bigint,
          'each answer audited');

CREATE TEMP TABLE t_lease AS SELECT * FROM lg_outbox_lease('t', 10, 60);
SELECT is((SELECT array_agg(content_type || ' ' || coalesce(bearer_token, '-') ORDER BY id) FROM t_lease),
          '{"application/cloudevents+json tok-1","application/cloudevents+json -"}',
          'leased with their Content-Type and bearer token');
SELECT is((SELECT array_agg(coalesce(correlator, '-') ORDER BY id) FROM t_lease), '{corr-1,-}',
          'and the request''s x-correlator');
SELECT lg_outbox_done(id, 't', 'retry', 500, 'HTTP 500', now() - interval '1 second') FROM t_lease;
SELECT is((SELECT sink_token FROM notification_outbox WHERE destination = 'https://s.example/r'), 'tok-1',
          'a retry keeps the token');
SELECT lg_outbox_done(id, 't', 'delivered', 204, NULL, NULL)
  FROM lg_outbox_lease('t', 10, 60) WHERE bearer_token IS NULL;
SELECT is((SELECT status FROM notification_outbox WHERE destination = 'https://127.0.0.1/r'), 'delivered',
          'the other row delivered');
UPDATE notification_outbox SET sink_token_expires_at = now() - interval '1 second', lease_until = NULL
 WHERE sink_token = 'tok-1';
SELECT is((SELECT count(*) FROM lg_outbox_lease('t', 10, 60)), 0::bigint, 'an expired token is not sent');
SELECT is((SELECT status || ' ' || last_error FROM notification_outbox WHERE destination = 'https://s.example/r'),
          'dropped sink credential expired', 'the row is dropped');
SELECT is((SELECT count(*) FROM notification_outbox WHERE sink_token IS NOT NULL OR sink_token_expires_at IS NOT NULL),
          0::bigint, 'no token is kept once the rows ended');

SELECT * FROM finish();
ROLLBACK;
