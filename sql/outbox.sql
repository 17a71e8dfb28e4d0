-- SPDX-License-Identifier: Apache-2.0
--
-- The notification outbox: what turns movement alerts into TS 29.122
-- MonitoringNotifications for the subscribed SCSs (called by lg_ingest in
-- the report's own transaction), and the notifier's side of delivery:
-- lease (FOR UPDATE SKIP LOCKED, so several daemons can share one database),
-- outcome, and the figures for the metrics.
--
-- Payloads name devices only by External ID: never the SUPI, the MSISDN or
-- a Local Group ID. The self link in a payload is relative
-- ("/3gpp-monitoring-event/v1/{scsAsId}/subscriptions/{subId}"); the
-- notifier prefixes [northbound] public_url.

-- lg_consent_valid: whether device p_ue has a valid consent for p_purpose
-- covering SCS p_scs (one given for that SCS or for any) at time p_at.
CREATE OR REPLACE FUNCTION lg_consent_valid(p_ue bigint, p_scs bigint, p_purpose text,
                                            p_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT EXISTS (SELECT 1 FROM consent c
                    WHERE c.ue_id = p_ue AND c.purpose = p_purpose
                      AND (c.scs_id IS NULL OR c.scs_id = p_scs)
                      AND c.granted_at <= p_at
                      AND (c.expires_at IS NULL OR p_at < c.expires_at)
                      AND c.revoked_at IS NULL)
$fn$;

-- lg_grant_exists: whether SCS p_scs holds the location-monitoring grant for
-- the device p_ue or (p_ue NULL) the group p_group.
CREATE OR REPLACE FUNCTION lg_grant_exists(p_scs bigint, p_ue bigint, p_group bigint)
RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT EXISTS (SELECT 1 FROM scs_grant g
                    WHERE g.scs_id = p_scs AND g.service = 'location-monitoring'
                      AND ((p_ue IS NOT NULL AND g.ue_id = p_ue)
                           OR (p_ue IS NULL AND g.group_id = p_group)))
$fn$;

-- lg_grant_covers: whether SCS p_scs may get reports about device p_ue
-- through a subscription to the device p_sub_ue or (p_sub_ue NULL) the
-- group p_sub_group: the SCS holds the grant the subscription needs (for
-- the device, or for the group) and its grant for p_ue was not removed
-- (scs_grant_exclusion: a removed device grant also ends what a group
-- grant would let through).
CREATE OR REPLACE FUNCTION lg_grant_covers(p_scs bigint, p_sub_ue bigint, p_sub_group bigint,
                                           p_ue bigint)
RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_grant_exists(p_scs, p_sub_ue, p_sub_group)
           AND NOT EXISTS (SELECT 1 FROM scs_grant_exclusion x
                            WHERE x.scs_id = p_scs AND x.ue_id = p_ue)
$fn$;

-- lg_sub_self: the relative self link of a subscription (the C side makes
-- it absolute).
CREATE OR REPLACE FUNCTION lg_sub_self(p_scs_as_id text, p_sub_id text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT '/3gpp-monitoring-event/v1/' || p_scs_as_id || '/subscriptions/' || p_sub_id
$fn$;

-- lg_rfc3339: a timestamp as RFC 3339 in UTC with microseconds, whatever the
-- session's TimeZone.
CREATE OR REPLACE FUNCTION lg_rfc3339(p_ts timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$fn$;

-- lg_location_info: the TS 29.122 LocationInfo of a report, no finer than
-- the subscription's accuracy. From the canonical cell key
-- (<kind>:<mcc>-<mnc>:<hex>[:<hex>], see include/locguard/south/report.h):
--   CGI_ECGI  cellId (ECI / NCI, or LAC||CI for a 2G/3G CGI) and plmnId
--             (MCC||MNC digits, a string as LocationInfo says); an SAI or RAI
--             names no cell: plmnId only (RAI: plus routingAreaId);
--   TA_RA     plmnId, plus routingAreaId (LAC||RAC) for an RAI key; the cell
--             keys carry no TAC / RAC, so no area id is derivable from them;
--   GEO_AREA  the CGI_ECGI members plus geographicArea
--             (POINT_UNCERTAINTY_CIRCLE) when the report had a position.
-- An unrecognised key gives an empty object.
CREATE OR REPLACE FUNCTION lg_location_info(p_accuracy text, p_cell_key text,
                                            p_pos geometry, p_unc_m float8)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
    m text[] := regexp_match(p_cell_key,
                             '^(ecgi|ncgi|cgi|sai|rai):([0-9]{3})-([0-9]{2,3}):([0-9A-Fa-f]+)(?::([0-9A-Fa-f]+))?$');
    info jsonb := '{}';
BEGIN
    IF m IS NOT NULL THEN
        info := jsonb_build_object('plmnId', m[2] || m[3]);
        IF p_accuracy = 'TA_RA' THEN
            IF m[1] = 'rai' THEN
                info := info || jsonb_build_object('routingAreaId', upper(m[4] || m[5]));
            END IF;
        ELSIF m[1] IN ('ecgi', 'ncgi') THEN
            info := info || jsonb_build_object('cellId', upper(m[4]));
        ELSIF m[1] = 'cgi' AND m[5] IS NOT NULL THEN
            info := info || jsonb_build_object('cellId', upper(m[4] || m[5]));
        ELSIF m[1] = 'rai' AND m[5] IS NOT NULL THEN
            info := info || jsonb_build_object('routingAreaId', upper(m[4] || m[5]));
        END IF;
    END IF;
    IF p_accuracy = 'GEO_AREA' AND p_pos IS NOT NULL THEN
        info := info || jsonb_build_object('geographicArea', jsonb_build_object(
                    'shape', 'POINT_UNCERTAINTY_CIRCLE',
                    'point', jsonb_build_object('lon', ST_X(p_pos), 'lat', ST_Y(p_pos)),
                    'uncertainty', greatest(coalesce(p_unc_m, 0), 0)));
    END IF;
    RETURN info;
END
$fn$;

-- lg_outbox_enqueue: queue location reports for subscriptions that have
-- already been found authorized: element i reports device p_ue[i] (time,
-- cell, position, movement or NULL) to subscription p_sub[i]. Takes the
-- subscriptions' row locks (id order), ends the expired ones, then applies
-- maximumNumberOfReports: a subscription gets at most max_reports -
-- reports_sent more rows (in array order); reaching max_reports ends it
-- (MAX_REPORTS). Returns the number of rows queued.
CREATE OR REPLACE FUNCTION lg_outbox_enqueue(p_sub bigint[], p_ue bigint[],
                                             p_ts timestamptz[], p_cell text[],
                                             p_pos geometry[], p_unc float8[], p_move text[])
RETURNS int
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    n int;
BEGIN
    PERFORM 1 FROM subscription s WHERE s.id = ANY (p_sub) ORDER BY s.id FOR NO KEY UPDATE;
    UPDATE subscription s
       SET status = 'ended', ended_reason = 'EXPIRED', updated_at = now()
     WHERE s.id = ANY (p_sub) AND s.status = 'active' AND s.expires_at <= now();

    WITH c AS (
        SELECT x.*, row_number() OVER (PARTITION BY x.sub ORDER BY x.ord) AS rn
          FROM unnest(p_sub, p_ue, p_ts, p_cell, p_pos, p_unc, p_move)
               WITH ORDINALITY AS x(sub, ue, ts, cell, pos, unc, move, ord)
    ),
    ok AS (
        SELECT c.*, s.scs_id, s.sub_id, s.accuracy, s.notification_destination,
               k.scs_as_id, u.external_id
          FROM c
          JOIN subscription s ON s.id = c.sub AND s.status = 'active'
          JOIN scs k ON k.id = s.scs_id
          JOIN ue u ON u.id = c.ue
         WHERE s.max_reports IS NULL OR c.rn <= s.max_reports - s.reports_sent
    ),
    ins AS (
        INSERT INTO notification_outbox (subscription_id, scs_id, ue_id, kind, destination,
                                         payload)
        SELECT ok.sub, ok.scs_id, ok.ue, 'alert', ok.notification_destination,
               jsonb_build_object(
                   'subscription', lg_sub_self(ok.scs_as_id, ok.sub_id),
                   'monitoringEventReports', jsonb_build_array(
                       jsonb_build_object(
                           'monitoringType', 'LOCATION_REPORTING',
                           'externalId', ok.external_id,
                           'eventTime', lg_rfc3339(ok.ts),
                           'locationInfo', lg_location_info(ok.accuracy, ok.cell, ok.pos,
                                                            ok.unc))
                       || CASE WHEN ok.move IS NOT NULL
                               THEN jsonb_build_object('movement', ok.move)
                               ELSE '{}' END))
          FROM ok
         ORDER BY ok.ord
        RETURNING subscription_id
    ),
    cnt AS (
        SELECT ins.subscription_id AS sub, count(*)::int AS n FROM ins GROUP BY 1
    ),
    upd AS (
        UPDATE subscription s
           SET reports_sent = s.reports_sent + cnt.n,
               status = CASE WHEN s.reports_sent + cnt.n >= s.max_reports THEN 'ended'
                             ELSE s.status END,
               ended_reason = CASE WHEN s.reports_sent + cnt.n >= s.max_reports
                                   THEN 'MAX_REPORTS' ELSE s.ended_reason END,
               updated_at = now()
          FROM cnt
         WHERE s.id = cnt.sub
    )
    SELECT coalesce(sum(cnt.n), 0) INTO n FROM cnt;
    RETURN n;
END
$fn$;

-- lg_alerts_to_outbox: called by lg_ingest with the ids of the alerts it
-- just wrote. Finds, for each alert of device U, the active subscriptions
-- to U or to a group U is a member of whose SCS holds the grant (for U, or
-- for that group), where U may be monitored and has a valid
-- location-monitoring consent for the SCS; queues one MonitoringNotification
-- per (alert, subscription) with "movement" LEFT_AUTHORIZED_AREA /
-- RETURNED_TO_AUTHORIZED_AREA. Only alert rows are read: with no
-- subscription this is a few index probes per alert.
CREATE OR REPLACE FUNCTION lg_alerts_to_outbox(p_alert_ids bigint[])
RETURNS int
LANGUAGE plpgsql
SET search_path = public
SET enable_seqscan = off
AS $fn$
DECLARE
    v_sub bigint[];
    v_ue bigint[];
    v_ts timestamptz[];
    v_cell text[];
    v_pos geometry[];
    v_unc float8[];
    v_move text[];
BEGIN
    SELECT array_agg(x.sub ORDER BY x.alert_id, x.sub), array_agg(x.ue_id ORDER BY x.alert_id, x.sub),
           array_agg(x.reported_at ORDER BY x.alert_id, x.sub),
           array_agg(x.cell_key ORDER BY x.alert_id, x.sub),
           array_agg(x.position ORDER BY x.alert_id, x.sub),
           array_agg(x.uncertainty_m ORDER BY x.alert_id, x.sub),
           array_agg(x.move ORDER BY x.alert_id, x.sub)
      INTO v_sub, v_ue, v_ts, v_cell, v_pos, v_unc, v_move
      FROM (SELECT a.id AS alert_id, s.id AS sub, a.ue_id, a.reported_at, a.cell_key,
                   a.position, a.uncertainty_m::float8 AS uncertainty_m,
                   CASE a.kind WHEN 'left' THEN 'LEFT_AUTHORIZED_AREA'
                               ELSE 'RETURNED_TO_AUTHORIZED_AREA' END AS move
              -- driven from the call's alert ids, each table reached by an
              -- index probe per row whatever the statistics say (see "Plans"
              -- in sql/ingest.sql)
              FROM unnest(p_alert_ids) AS ids(id)
              CROSS JOIN LATERAL (
                  SELECT a.id, a.ue_id, a.kind, a.reported_at, a.cell_key, a.position,
                         a.uncertainty_m
                    FROM alert a WHERE a.id = ids.id OFFSET 0
              ) a
              CROSS JOIN LATERAL (
                  SELECT u.external_id FROM ue u
                   WHERE u.id = a.ue_id AND u.monitoring_allowed OFFSET 0
              ) u
              CROSS JOIN LATERAL (
                  SELECT s1.id, s1.scs_id, s1.ue_id, s1.group_id, NULL::jsonb AS excluded
                    FROM subscription s1
                   WHERE s1.status = 'active' AND s1.ue_id = a.ue_id
                  UNION ALL
                  SELECT s2.id, s2.scs_id, s2.ue_id, s2.group_id,
                         s2.request -> 'excludedExternalIds'
                    FROM ue_group_member gm
                    JOIN subscription s2
                      ON s2.group_id = gm.group_id AND s2.status = 'active'
                   WHERE gm.ue_id = a.ue_id
              ) s
             WHERE NOT coalesce(s.excluded ? u.external_id, false)
               AND lg_grant_covers(s.scs_id, s.ue_id, s.group_id, a.ue_id)
               AND lg_consent_valid(a.ue_id, s.scs_id, 'location-monitoring', now())) x;
    IF v_sub IS NULL THEN
        RETURN 0;
    END IF;
    RETURN lg_outbox_enqueue(v_sub, v_ue, v_ts, v_cell, v_pos, v_unc, v_move);
END
$fn$;

-- lg_outbox_lease: lease up to p_limit due rows for p_lease_s seconds to
-- notifier p_owner. Rows locked by another transaction are skipped (FOR
-- UPDATE SKIP LOCKED), so two daemons never lease the same row. First ends
-- the subscriptions past their monitorExpireTime. Alert rows are checked
-- again at delivery time: when the device's consent for the SCS is no
-- longer valid, it may no longer be monitored, or the SCS no longer holds
-- the grant its subscription needs for it (lg_grant_covers), the row is
-- 'dropped' and not returned; so is a count result (kind 'count-result')
-- whose sink credential expired. Each row comes with the Content-Type it is
-- sent with (application/cloudevents+json for a count result's CloudEvent,
-- else application/json), the bearer token its sink asked for and the
-- x-correlator of the request it answers (NULL: none). Rows for a destination in p_skip (the notifier's
-- destinations on hold, or with every slot and waiting place taken) are not
-- leased: leased, they could only be handed back, one outcome query each.
CREATE OR REPLACE FUNCTION lg_outbox_lease(p_owner text, p_limit int, p_lease_s int,
                                           p_skip text[] DEFAULT '{}')
RETURNS TABLE (id bigint, notif_id text, destination text, payload text, secret text,
               secret_previous text, allow_private boolean, attempts int,
               created_at timestamptz, kind text, scs_as_id text, content_type text,
               bearer_token text, correlator text)
LANGUAGE sql
SET search_path = public
AS $fn$
    UPDATE subscription s
       SET status = 'ended', ended_reason = 'EXPIRED', updated_at = now()
     WHERE s.status = 'active' AND s.expires_at <= now();

    WITH cand AS MATERIALIZED (
        SELECT o.id, o.kind, o.ue_id, o.scs_id, o.subscription_id, o.sink_token_expires_at
          FROM notification_outbox o
         WHERE o.status = 'pending' AND o.next_attempt_at <= now()
           AND (o.lease_until IS NULL OR o.lease_until < now())
           AND o.destination <> ALL (coalesce(p_skip, '{}'))
         ORDER BY o.next_attempt_at, o.id
         LIMIT greatest(p_limit, 0)
           FOR UPDATE OF o SKIP LOCKED
    ),
    bad AS MATERIALIZED (
        SELECT c.id,
               CASE WHEN u.id IS NULL OR NOT u.monitoring_allowed
                         OR NOT lg_consent_valid(c.ue_id, c.scs_id, 'location-monitoring', now())
                    THEN 'consent no longer valid'
                    ELSE 'grant removed' END AS reason
          FROM cand c
          LEFT JOIN ue u ON u.id = c.ue_id
          LEFT JOIN subscription s ON s.id = c.subscription_id
         WHERE c.kind = 'alert'
           AND (u.id IS NULL OR NOT u.monitoring_allowed
                OR NOT lg_consent_valid(c.ue_id, c.scs_id, 'location-monitoring', now())
                OR NOT lg_grant_covers(c.scs_id, s.ue_id, s.group_id, c.ue_id))
        UNION ALL
        SELECT c.id, 'sink credential expired'
          FROM cand c
         WHERE c.sink_token_expires_at <= now()
    ),
    dropped AS (
        UPDATE notification_outbox o
           SET status = 'dropped', last_error = bad.reason,
               lease_owner = NULL, lease_until = NULL,
               sink_token = NULL, sink_token_expires_at = NULL
          FROM bad
         WHERE o.id = bad.id
    ),
    leased AS (
        UPDATE notification_outbox o
           SET lease_owner = p_owner,
               lease_until = now() + make_interval(secs => greatest(p_lease_s, 1))
          FROM cand c
         WHERE o.id = c.id AND c.id NOT IN (SELECT bad.id FROM bad)
        RETURNING o.*
    )
    SELECT l.id, l.notif_id, l.destination, l.payload::text, k.webhook_secret,
           k.webhook_secret_previous, k.allow_private_destinations, l.attempts, l.created_at,
           l.kind, k.scs_as_id,
           CASE l.kind WHEN 'count-result' THEN 'application/cloudevents+json'
                       ELSE 'application/json' END,
           l.sink_token, l.correlator
      FROM leased l
      JOIN scs k ON k.id = l.scs_id
     ORDER BY l.next_attempt_at, l.id;
$fn$;

-- lg_outbox_done: record the outcome of one delivery attempt by the lease
-- holder p_owner (a row whose lease another notifier took over is left
-- alone):
--   delivered  status 'delivered';
--   retry      attempts + 1, due again at p_next_attempt_at (default now);
--   failed     status 'failed' (gave up);
--   gone       (HTTP 410) status 'failed', the subscription ends (GONE) and
--              its other pending rows are dropped;
--   requeue    not an attempt (the destination was busy or on hold): due again at
--              p_next_attempt_at, attempts, HTTP status and error untouched.
-- Every other outcome counts the attempt and keeps the HTTP status and error
-- text. Every outcome releases the lease; every outcome that ends the row
-- wipes its sink credential.
CREATE OR REPLACE FUNCTION lg_outbox_done(p_id bigint, p_owner text, p_outcome text,
                                          p_http_status int, p_error text,
                                          p_next_attempt_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    v_sub bigint;
BEGIN
    IF p_outcome IS NULL OR p_outcome NOT IN ('delivered', 'retry', 'failed', 'gone', 'requeue') THEN
        RAISE EXCEPTION 'outcome must be delivered, retry, failed, gone or requeue'
            USING ERRCODE = '22023', HINT = 'p_outcome';
    END IF;
    IF p_outcome = 'requeue' THEN
        UPDATE notification_outbox o
           SET next_attempt_at = coalesce(p_next_attempt_at, now()),
               lease_owner = NULL,
               lease_until = NULL
         WHERE o.id = p_id AND o.lease_owner = p_owner AND o.status = 'pending';
        RETURN;
    END IF;
    UPDATE notification_outbox o
       SET status = CASE p_outcome WHEN 'delivered' THEN 'delivered'
                                   WHEN 'retry' THEN 'pending'
                                   ELSE 'failed' END,
           delivered_at = CASE WHEN p_outcome = 'delivered' THEN now() END,
           next_attempt_at = CASE WHEN p_outcome = 'retry'
                                  THEN coalesce(p_next_attempt_at, now())
                                  ELSE o.next_attempt_at END,
           attempts = o.attempts + 1,
           last_status = p_http_status,
           last_error = p_error,
           lease_owner = NULL,
           lease_until = NULL,
           sink_token = CASE WHEN p_outcome = 'retry' THEN o.sink_token END,
           sink_token_expires_at = CASE WHEN p_outcome = 'retry' THEN o.sink_token_expires_at END
     WHERE o.id = p_id AND o.lease_owner = p_owner AND o.status = 'pending'
    RETURNING o.subscription_id INTO v_sub;
    IF FOUND AND p_outcome = 'gone' AND v_sub IS NOT NULL THEN
        UPDATE subscription s
           SET status = 'ended', ended_reason = 'GONE', updated_at = now()
         WHERE s.id = v_sub AND s.status = 'active';
        UPDATE notification_outbox o
           SET status = 'dropped', last_error = 'subscription gone (410)',
               lease_owner = NULL, lease_until = NULL
         WHERE o.subscription_id = v_sub AND o.status = 'pending';
    END IF;
END
$fn$;

-- lg_outbox_stats: outbox depth (pending rows) and the age in seconds of
-- the oldest pending one (0 when empty), for the metrics.
CREATE OR REPLACE FUNCTION lg_outbox_stats()
RETURNS TABLE (depth bigint, oldest_age_s float8)
LANGUAGE sql STABLE
AS $fn$
    SELECT count(*),
           coalesce(extract(epoch FROM now() - min(o.created_at))::float8, 0)
      FROM notification_outbox o
     WHERE o.status = 'pending'
$fn$;
