-- SPDX-License-Identifier: Apache-2.0
--
-- 0026_counts_async: CAMARA Region Device Count's asynchronous mode. A count
-- request with a `sink` is answered 202 once its result is queued in the
-- notification outbox as a CloudEvent (kind 'count-result', written by
-- sql/counts.sql lg_counts_query_async in the request's transaction) and
-- delivered by the notifier like every other notification. The request's
-- sinkCredential (an access token) is kept with the row until it is
-- delivered or given up, then wiped; a row whose token expired before it
-- could be delivered is dropped. The request's x-correlator, when it had
-- one, goes with the delivery (correlator).

ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check
    CHECK (kind IN ('alert', 'test', 'revocation', 'area-count', 'count-result'));

ALTER TABLE notification_outbox
    ADD COLUMN sink_token            text,
    ADD COLUMN sink_token_expires_at timestamptz,
    ADD COLUMN correlator            text,
    ADD CHECK ((sink_token IS NULL) = (sink_token_expires_at IS NULL));

-- lg_outbox_lease returns the row's content type and bearer token now
-- (sql/outbox.sql makes it again).
DROP FUNCTION IF EXISTS lg_outbox_lease(text, int, int, text[]);
