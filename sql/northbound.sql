-- SPDX-License-Identifier: Apache-2.0
--
-- T8 MonitoringEvent subscriptions (TS 29.122) for the northbound API. The
-- daemon calls these with the authenticated scsAsId after validating the
-- request (service/north/t8.c); the request arrives normalised: externalId |
-- externalGroupId, monitoringType, notificationDestination,
-- maximumNumberOfReports?, monitorExpireTime?, locationType, accuracy,
-- requestTestNotification?, revocationNotifUri?, immediateRep?; for
-- NUMBER_OF_UES_IN_AN_AREA: locationArea | locationArea5G and repPeriod?
-- instead of the target, locationType and accuracy (see
-- sql/area_reports.sql, which stores and reports those subscriptions).
--
-- Which rules live here. One owner per rule:
--   service/north/t8.c (and t8_patch.c) owns the request's shape: every
--     member, its type, format, range and default, which members go
--     together (exactly one target, maximumNumberOfReports and/or
--     monitorExpireTime, ...), monitorExpireTime in the future. These
--     functions trust the normalised request and do not check it again.
--   This file owns what needs the database: the SCS is known and enabled;
--     the device or group exists; the grant; the device's
--     location-monitoring consent and "do not monitor" flag; GEO_AREA
--     accuracy only for an SCS allowed it; the subscription exists, is live
--     and is the caller's; a PATCH only for a group subscription, and only
--     for members of its group. The table's CHECK constraints (migrations/)
--     stay the last word on what a row may hold.
--
-- Authorization: an unknown device or group, a missing grant, a device that
-- may not be monitored and a missing consent all raise the very same error
-- (lg_t8_refuse), so an SCS cannot learn which devices exist. Results name
-- devices and groups only by their external ids (never a Local Group ID),
-- and self links are relative (the daemon prefixes [northbound] public_url).
--
-- Ended subscriptions (maximum reports reached, expired, deleted, 410 Gone,
-- consent revoked) no longer exist for the SCS, as TS 29.122 has the SCEF
-- delete them: GET answers not found.

-- lg_t8_refuse: the one refusal for every authorization failure: SQLSTATE
-- 42501, a fixed message, no DETAIL or HINT.
CREATE OR REPLACE FUNCTION lg_t8_refuse()
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION 'the SCS is not authorized for this external identifier'
        USING ERRCODE = '42501';
END
$fn$;

-- lg_t8_sub_json: the MonitoringEventSubscription of a stored subscription:
-- the normalised request plus its relative self link.
CREATE OR REPLACE FUNCTION lg_t8_sub_json(s subscription, p_scs_as_id text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    RETURN s.request || jsonb_build_object('self', lg_sub_self(p_scs_as_id, s.sub_id));
END
$fn$;

-- lg_t8_sub_find: the live subscription p_sub_id of SCS p_scs_as_id, or
-- P0002 (also when it belongs to another SCS, has ended or has expired).
CREATE OR REPLACE FUNCTION lg_t8_sub_find(p_scs_as_id text, p_sub_id text, p_lock boolean)
RETURNS subscription
LANGUAGE plpgsql
AS $fn$
DECLARE
    s subscription;
BEGIN
    IF p_lock THEN
        SELECT x.* INTO s FROM subscription x JOIN scs k ON k.id = x.scs_id
         WHERE x.sub_id = p_sub_id AND k.scs_as_id = p_scs_as_id
           FOR NO KEY UPDATE OF x;
    ELSE
        SELECT x.* INTO s FROM subscription x JOIN scs k ON k.id = x.scs_id
         WHERE x.sub_id = p_sub_id AND k.scs_as_id = p_scs_as_id;
    END IF;
    IF s.id IS NULL OR s.status <> 'active' OR s.expires_at <= now() THEN
        RAISE EXCEPTION 'subscription not found' USING ERRCODE = 'P0002', HINT = 'subscriptionId';
    END IF;
    RETURN s;
END
$fn$;

-- lg_t8_may_monitor: whether SCS p_scs may subscribe to the device
-- (p_is_device) or group p_target; p_scs and p_target are NULL when the
-- lookup found nothing (an unknown or disabled SCS, an unknown device or
-- group), p_may_be_monitored is the device's monitoring_allowed.
--   device: exists, monitoring_allowed, grant for the device, valid
--           location-monitoring consent for this SCS (or any SCS);
--   group:  exists, grant for the group (members are checked one by one
--           when reports are made).
-- The refusal must not tell its reasons apart, not even by its timing, so
-- every lookup runs whatever fails before it: a missing SCS, device or
-- group is looked up as id -1, which matches nothing through the same
-- index probes, each check is its own statement (an AND would stop at the
-- first false), and the decision is made at the end from all the answers.
CREATE OR REPLACE FUNCTION lg_t8_may_monitor(p_scs bigint, p_is_device boolean, p_target bigint,
                                             p_may_be_monitored boolean)
RETURNS boolean
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_scs bigint := coalesce(p_scs, -1);
    v_target bigint := coalesce(p_target, -1);
    v_device bigint := CASE WHEN p_is_device THEN v_target END;
    v_group bigint := CASE WHEN p_is_device THEN NULL ELSE v_target END;
    has_grant boolean;
    has_consent boolean;
BEGIN
    has_grant := lg_grant_exists(v_scs, v_device, v_group);
    -- A group's members are checked when reports are made; the probe runs anyway.
    has_consent := lg_consent_valid(v_target, v_scs, 'location-monitoring', now())
                   OR NOT p_is_device;
    RETURN p_scs IS NOT NULL AND p_target IS NOT NULL
           AND (coalesce(p_may_be_monitored, false) OR NOT p_is_device)
           AND has_grant AND has_consent;
END
$fn$;

-- lg_t8_sub_base: the columns every subscription takes from its normalised
-- request, for SCS p_scs_id (id, sub_id, target, counters unset): the
-- request itself is stored without its read-only "self".
CREATE OR REPLACE FUNCTION lg_t8_sub_base(p_scs_id bigint, p_req jsonb)
RETURNS subscription
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    s subscription;
BEGIN
    s.scs_id := p_scs_id;
    s.monitoring_type := p_req ->> 'monitoringType';
    s.notification_destination := p_req ->> 'notificationDestination';
    s.max_reports := (p_req ->> 'maximumNumberOfReports')::int;
    s.expires_at := (p_req ->> 'monitorExpireTime')::timestamptz;
    s.revocation_notif_uri := p_req ->> 'revocationNotifUri';
    s.request := jsonb_strip_nulls(p_req - 'self');
    RETURN s;
END
$fn$;

-- lg_t8_target: check that the SCS may monitor the target of a normalised
-- LOCATION_REPORTING request; returns the subscription row to store (id,
-- sub_id and counters unset) or raises the refusal (lg_t8_may_monitor
-- decides, and GEO_AREA needs the SCS's permission).
CREATE OR REPLACE FUNCTION lg_t8_target(p_scs_as_id text, p_req jsonb)
RETURNS subscription
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_ext text := p_req ->> 'externalId';
    v_grp text := p_req ->> 'externalGroupId';
    v_acc text := p_req ->> 'accuracy';
    k scs;
    u ue;
    g ue_group;
    s subscription;
    v_ok boolean;
BEGIN
    -- Every lookup runs, whatever fails (see lg_t8_may_monitor).
    SELECT * INTO k FROM scs WHERE scs_as_id = p_scs_as_id AND enabled;
    IF v_ext IS NOT NULL THEN
        SELECT * INTO u FROM ue WHERE external_id = v_ext;
    ELSE
        SELECT * INTO g FROM ue_group WHERE external_group_id = v_grp;
    END IF;
    -- Positions only for an SCS allowed them; decided with the rest, at the end.
    v_ok := lg_t8_may_monitor(k.id, v_ext IS NOT NULL, coalesce(u.id, g.id), u.monitoring_allowed);
    IF NOT v_ok OR (v_acc = 'GEO_AREA' AND NOT coalesce(k.geo_area_allowed, false)) THEN
        PERFORM lg_t8_refuse();
    END IF;

    s := lg_t8_sub_base(k.id, p_req);
    s.ue_id := u.id;
    s.group_id := g.id;
    s.location_type := p_req ->> 'locationType';
    s.accuracy := v_acc;
    RETURN s;
END
$fn$;

-- lg_t8_sub_row: the subscription row a create or replace stores: checked
-- by lg_area_sub_row for NUMBER_OF_UES_IN_AN_AREA, by lg_t8_target
-- otherwise.
CREATE OR REPLACE FUNCTION lg_t8_sub_row(p_scs_as_id text, p_req jsonb)
RETURNS subscription
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF p_req ->> 'monitoringType' = 'NUMBER_OF_UES_IN_AN_AREA' THEN
        RETURN lg_area_sub_row(p_scs_as_id, p_req);
    END IF;
    RETURN lg_t8_target(p_scs_as_id, p_req);
END
$fn$;

-- lg_t8_sub_extras: what a create or replace asks for besides the
-- subscription itself: requestTestNotification queues a test notification
-- (a MonitoringNotification with only "subscription"); immediateRep queues
-- one report of the current location of each target device (the device,
-- or each group member that may be monitored with consent) whose location
-- is known, without "movement"; these count as reports. For an area
-- subscription, lg_area_sub_start makes the immediate report (a count) and
-- schedules the periodic ones.
CREATE OR REPLACE FUNCTION lg_t8_sub_extras(s subscription, p_req jsonb)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_scs_as_id text := (SELECT k.scs_as_id FROM scs k WHERE k.id = s.scs_id);
    r record;
BEGIN
    IF p_req @> '{"requestTestNotification": true}' THEN
        INSERT INTO notification_outbox (subscription_id, scs_id, ue_id, kind, destination,
                                         payload)
        VALUES (s.id, s.scs_id, s.ue_id, 'test', s.notification_destination,
                jsonb_build_object('subscription', lg_sub_self(v_scs_as_id, s.sub_id)));
    END IF;
    IF s.monitoring_type = 'NUMBER_OF_UES_IN_AN_AREA' THEN
        PERFORM lg_area_sub_start(s, p_req);
    ELSIF p_req @> '{"immediateRep": true}' THEN
        SELECT array_agg(s.id ORDER BY l.ue_id) AS sub, array_agg(l.ue_id ORDER BY l.ue_id) AS ue,
               array_agg(l.reported_at ORDER BY l.ue_id) AS ts,
               array_agg(l.cell_key ORDER BY l.ue_id) AS cell,
               array_agg(l.position ORDER BY l.ue_id) AS pos,
               array_agg(l.uncertainty_m::float8 ORDER BY l.ue_id) AS unc
          INTO r
          FROM ue_location l
          JOIN ue u ON u.id = l.ue_id
         WHERE (l.ue_id = s.ue_id
                OR l.ue_id IN (SELECT gm.ue_id FROM ue_group_member gm
                                WHERE gm.group_id = s.group_id))
           AND u.monitoring_allowed
           AND lg_grant_covers(s.scs_id, s.ue_id, s.group_id, l.ue_id)
           AND lg_consent_valid(l.ue_id, s.scs_id, 'location-monitoring', now());
        IF r.sub IS NOT NULL THEN
            PERFORM lg_outbox_enqueue(r.sub, r.ue, r.ts, r.cell, r.pos, r.unc,
                                      array_fill(NULL::text, ARRAY[cardinality(r.sub)]));
        END IF;
    END IF;
END
$fn$;

-- lg_t8_sub_create: POST .../{scsAsId}/subscriptions. Stores the
-- subscription under a random 16-hex-digit id and returns it
-- (MonitoringEventSubscription with a relative self link).
CREATE OR REPLACE FUNCTION lg_t8_sub_create(p_scs_as_id text, p_req jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    s subscription := lg_t8_sub_row(p_scs_as_id, p_req);
BEGIN
    INSERT INTO subscription (scs_id, ue_id, group_id, monitoring_type,
                              notification_destination, location_type, accuracy, max_reports,
                              expires_at, revocation_notif_uri, request, area, rep_period_s)
    VALUES (s.scs_id, s.ue_id, s.group_id, s.monitoring_type, s.notification_destination,
            s.location_type, s.accuracy, s.max_reports, s.expires_at, s.revocation_notif_uri,
            s.request, s.area, s.rep_period_s)
    RETURNING * INTO s;
    PERFORM lg_t8_sub_extras(s, p_req);
    RETURN lg_t8_sub_json(s, p_scs_as_id);
END
$fn$;

-- lg_t8_sub_list: GET .../{scsAsId}/subscriptions: the SCS's live
-- subscriptions, oldest first (an empty array for an unknown SCS).
CREATE OR REPLACE FUNCTION lg_t8_sub_list(p_scs_as_id text)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_t8_sub_json(s, p_scs_as_id) ORDER BY s.id), '[]')
      FROM subscription s
      JOIN scs k ON k.id = s.scs_id
     WHERE k.scs_as_id = p_scs_as_id AND s.status = 'active'
       AND (s.expires_at IS NULL OR s.expires_at > now())
$fn$;

-- lg_t8_sub_get: GET .../subscriptions/{subscriptionId}, or P0002.
CREATE OR REPLACE FUNCTION lg_t8_sub_get(p_scs_as_id text, p_sub_id text)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
BEGIN
    RETURN lg_t8_sub_json(lg_t8_sub_find(p_scs_as_id, p_sub_id, false), p_scs_as_id);
END
$fn$;

-- lg_t8_sub_put: PUT .../subscriptions/{subscriptionId}: replace the
-- subscription with the new request (same checks and refusal as create);
-- the count of reports starts again. Returns it as GET would.
CREATE OR REPLACE FUNCTION lg_t8_sub_put(p_scs_as_id text, p_sub_id text, p_req jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    old subscription := lg_t8_sub_find(p_scs_as_id, p_sub_id, true);
    s subscription := lg_t8_sub_row(p_scs_as_id, p_req);
BEGIN
    UPDATE subscription x
       SET ue_id = s.ue_id, group_id = s.group_id, monitoring_type = s.monitoring_type,
           notification_destination = s.notification_destination,
           location_type = s.location_type, accuracy = s.accuracy,
           max_reports = s.max_reports, reports_sent = 0, expires_at = s.expires_at,
           revocation_notif_uri = s.revocation_notif_uri, request = s.request,
           area = s.area, rep_period_s = s.rep_period_s, next_report_at = NULL,
           updated_at = now()
     WHERE x.id = old.id
    RETURNING * INTO s;
    PERFORM lg_t8_sub_extras(s, p_req);
    RETURN lg_t8_sub_json(s, p_scs_as_id);
END
$fn$;

-- lg_t8_sub_delete: DELETE .../subscriptions/{subscriptionId}: ends it
-- (DELETED) and drops its pending notifications; NULL (204), or P0002.
CREATE OR REPLACE FUNCTION lg_t8_sub_delete(p_scs_as_id text, p_sub_id text)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    s subscription := lg_t8_sub_find(p_scs_as_id, p_sub_id, true);
BEGIN
    UPDATE subscription SET status = 'ended', ended_reason = 'DELETED', updated_at = now()
     WHERE id = s.id;
    UPDATE notification_outbox
       SET status = 'dropped', last_error = 'subscription deleted',
           lease_owner = NULL, lease_until = NULL
     WHERE subscription_id = s.id AND status = 'pending';
    RETURN NULL;
END
$fn$;

-- lg_t8_sub_patch: PATCH .../subscriptions/{subscriptionId}: partial
-- cancellation and addition of UEs of an active group subscription (TS
-- 29.122, a JSON Patch that the daemon reduces to p_patch =
-- {excludedExternalIds?, addedExternalIds?}). The subscription's
-- excludedExternalIds (kept in its request, so GET shows it) becomes the
-- old ones plus the excluded minus the added; excluded members are no
-- longer reported by it (lg_alerts_to_outbox) and their pending reports
-- are dropped. Every id must name a member of the group: otherwise the one
-- refusal (lg_t8_refuse). 22023 for a subscription that is not to a group.
-- NULL (204), or P0002.
CREATE OR REPLACE FUNCTION lg_t8_sub_patch(p_scs_as_id text, p_sub_id text, p_patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    s subscription := lg_t8_sub_find(p_scs_as_id, p_sub_id, true);
    v_excl text[] := ARRAY(SELECT jsonb_array_elements_text(
                               coalesce(p_patch -> 'excludedExternalIds', '[]')));
    v_add text[] := ARRAY(SELECT jsonb_array_elements_text(
                              coalesce(p_patch -> 'addedExternalIds', '[]')));
    v_now text[];
    n_members int;
BEGIN
    IF s.group_id IS NULL THEN
        PERFORM lg_admin_fail('22023',
            'only the UEs of a group subscription (externalGroupId) can be added or excluded',
            'externalGroupId');
    END IF;
    SELECT count(*) INTO n_members
      FROM ue u JOIN ue_group_member m ON m.ue_id = u.id AND m.group_id = s.group_id
     WHERE u.external_id = ANY (v_excl || v_add);
    IF n_members <> cardinality(ARRAY(SELECT DISTINCT x FROM unnest(v_excl || v_add) x)) THEN
        PERFORM lg_t8_refuse();
    END IF;
    v_now := ARRAY(SELECT DISTINCT x
                     FROM unnest(ARRAY(SELECT jsonb_array_elements_text(
                                           coalesce(s.request -> 'excludedExternalIds', '[]')))
                                 || v_excl) x
                    WHERE x <> ALL (v_add)
                    ORDER BY x);
    UPDATE subscription x
       SET request = CASE WHEN cardinality(v_now) > 0
                          THEN x.request || jsonb_build_object('excludedExternalIds', to_jsonb(v_now))
                          ELSE x.request - 'excludedExternalIds' END,
           updated_at = now()
     WHERE x.id = s.id;
    UPDATE notification_outbox o
       SET status = 'dropped', last_error = 'UE excluded from the group subscription',
           lease_owner = NULL, lease_until = NULL
     WHERE o.subscription_id = s.id AND o.status = 'pending' AND o.kind = 'alert'
       AND o.ue_id IN (SELECT u.id FROM ue u WHERE u.external_id = ANY (v_now));
    RETURN NULL;
END
$fn$;
