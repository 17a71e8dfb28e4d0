-- SPDX-License-Identifier: Apache-2.0
--
-- T8 NUMBER_OF_UES_IN_AN_AREA (TS 29.122): an SCS subscribes to the number
-- of devices in one geographic area and gets MonitoringNotifications with
-- uePerLocationReport.ueCount, never an identity:
--
--   northbound.sql lg_t8_sub_create / _put   -> lg_area_sub_row (the SCS's
--       'area-counts' service, the area's surface and coverage) -> lg_area_report_queue (immediateRep)
--   periodic.c, every second                 -> lg_area_reports_due (the
--       periodic reports that are due) -> lg_area_report_queue
--
-- The count is the privacy filter's: lg_counts_query (sql/counts.sql) over
-- the latest noisy release, the same sum, rounding and k suppression as the
-- CAMARA exposure zone, with the same k ([counts] k, which the daemon writes
-- to area_report_setting). The exact counts are never read here.
--
-- Suppression: when the filter gives no count (the rounded count is below
-- k, there is no release yet, or the cells cover less than half the area),
-- no notification is sent for that report: a count below k is never sent,
-- and ueCount 0 would be one (and a false one). The skipped report does not
-- count towards maximumNumberOfReports; a periodic subscription simply tries
-- again at its next period. A subscription without repPeriod is one-time:
-- it ends after its immediate report, sent or suppressed (COMPLETED).
--
-- Authorization: the SCS must be enabled and allowed the service
-- (scs.area_counts_allowed, set by lg_admin_scs_area_counts); otherwise the
-- very same 42501 refusal as every other T8 refusal (lg_t8_refuse). No
-- per-device grant or consent is asked for: only devices whose owner
-- consented to anonymous statistics are in a release at all.
--
-- Which rules live here. One owner per rule:
--   service/north/t8.c owns the request's shape: no externalId or
--     externalGroupId, locationArea or locationArea5G (not both) holding
--     exactly one GeographicArea of a known shape with its points and
--     radius in range, repPeriod's range, repPeriod and/or immediateRep,
--     and the members every subscription has (see sql/northbound.sql).
--     lg_area_sub_row trusts the normalised request.
--   This file owns what needs the database: the SCS's permission, the
--     area as a surface (a simple polygon, its size within the configured
--     bounds, lg_counts_area), and the network's coverage of it.

-- lg_area_from_gad: a normalised TS 29.572 GeographicArea (as t8.c passes
-- it: POINT_UNCERTAINTY_CIRCLE {point {lon, lat}, uncertainty} or POLYGON
-- {pointList}) as a CAMARA Area, the form lg_counts_query takes. Other
-- shapes: 22023.
CREATE OR REPLACE FUNCTION lg_area_from_gad(p_gad jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $fn$
BEGIN
    IF p_gad ->> 'shape' = 'POINT_UNCERTAINTY_CIRCLE' THEN
        RETURN jsonb_build_object(
            'areaType', 'CIRCLE',
            'center', jsonb_build_object('latitude', p_gad -> 'point' -> 'lat',
                                         'longitude', p_gad -> 'point' -> 'lon'),
            'radius', p_gad -> 'uncertainty');
    ELSIF p_gad ->> 'shape' = 'POLYGON' AND jsonb_typeof(p_gad -> 'pointList') = 'array' THEN
        RETURN jsonb_build_object(
            'areaType', 'POLYGON',
            'boundary', (SELECT jsonb_agg(jsonb_build_object('latitude', p -> 'lat',
                                                             'longitude', p -> 'lon')
                                          ORDER BY n)
                           FROM jsonb_array_elements(p_gad -> 'pointList')
                                WITH ORDINALITY AS x(p, n)));
    END IF;
    RAISE EXCEPTION 'the geographic area must be a POINT_UNCERTAINTY_CIRCLE or a POLYGON'
        USING ERRCODE = '22023';
    RETURN NULL;
END
$fn$;

-- lg_area_gad_normalised: the GeographicArea p_gad (checked by t8.c) with
-- its numbers in their shortest form (the daemon's JSON writer may send
-- 48.85 as 48.850000000000001: the same double, read back through float8).
CREATE OR REPLACE FUNCTION lg_area_gad_normalised(p_gad jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT CASE p_gad ->> 'shape'
        WHEN 'POINT_UNCERTAINTY_CIRCLE' THEN jsonb_build_object(
            'shape', 'POINT_UNCERTAINTY_CIRCLE',
            'point', jsonb_build_object('lon', (p_gad #>> '{point,lon}')::float8,
                                        'lat', (p_gad #>> '{point,lat}')::float8),
            'uncertainty', (p_gad ->> 'uncertainty')::float8)
        WHEN 'POLYGON' THEN jsonb_build_object(
            'shape', 'POLYGON',
            'pointList', (SELECT jsonb_agg(jsonb_build_object('lon', (p ->> 'lon')::float8,
                                                              'lat', (p ->> 'lat')::float8)
                                           ORDER BY n)
                            FROM jsonb_array_elements(p_gad -> 'pointList')
                                 WITH ORDINALITY AS x(p, n)))
        ELSE p_gad END
$fn$;

-- lg_area_setting: the settings area reports obey (one row).
CREATE OR REPLACE FUNCTION lg_area_setting()
RETURNS area_report_setting
LANGUAGE sql STABLE
AS $fn$
    SELECT * FROM area_report_setting WHERE id
$fn$;

-- lg_area_sub_row: check what a normalised NUMBER_OF_UES_IN_AN_AREA request
-- of SCS p_scs_as_id needs from the database and return the subscription
-- row to store (id, sub_id, counters and next_report_at unset). Raises
-- lg_t8_refuse() when the SCS is unknown, disabled or not allowed the
-- service, then 22023 (HINT = the area's JSON pointer without its "/")
-- unless the area is a simple polygon or a circle within the configured
-- size bounds and at least one cell covers part of it.
CREATE OR REPLACE FUNCTION lg_area_sub_row(p_scs_as_id text, p_req jsonb)
RETURNS subscription
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_member text := CASE WHEN p_req ? 'locationArea5G' THEN 'locationArea5G' ELSE 'locationArea' END;
    v_gads jsonb;
    v_area jsonb;
    v_geom geometry;
    v_set area_report_setting := lg_area_setting();
    v_msg text;
    k scs;
    s subscription;
BEGIN
    SELECT * INTO k FROM scs WHERE scs_as_id = p_scs_as_id AND enabled AND area_counts_allowed;
    IF k.id IS NULL THEN
        PERFORM lg_t8_refuse();
    END IF;

    v_gads := jsonb_build_array(lg_area_gad_normalised(p_req -> v_member -> 'geographicAreas' -> 0));
    BEGIN
        v_area := lg_area_from_gad(v_gads -> 0);
        SELECT a.geom INTO v_geom
          FROM lg_counts_area(v_area, v_set.min_area_m2, v_set.max_area_m2) a;
    EXCEPTION WHEN invalid_parameter_value THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
        PERFORM lg_admin_fail('22023', v_msg, v_member || '/geographicAreas/0');
    END;
    IF NOT EXISTS (SELECT 1 FROM cell c WHERE ST_Intersects(c.coverage, v_geom)) THEN
        PERFORM lg_admin_fail('22023', 'the area is outside the network''s coverage',
                              v_member || '/geographicAreas/0');
    END IF;

    s := lg_t8_sub_base(k.id, p_req);
    s.accuracy := 'CGI_ECGI';  -- the column's default; a count has no accuracy
    s.area := v_area;
    s.rep_period_s := (p_req ->> 'repPeriod')::int;
    s.request := s.request
                 || jsonb_build_object(v_member, jsonb_build_object('geographicAreas', v_gads));
    RETURN s;
END
$fn$;

-- lg_area_report_queue: make one report of subscription s (whose row lock
-- the caller holds) from the latest noisy release, with k from the
-- settings. When the filter gives a count (>= k), queues one 'area-count'
-- outbox row:
--   {"subscription": "<relative self>",
--    "monitoringEventReports": [{"monitoringType": "NUMBER_OF_UES_IN_AN_AREA",
--        "eventTime": "<end of the release's bucket, the time the count is of>",
--        "uePerLocationReport": {"ueCount": n}}]}
-- counts it (reports_sent + 1, MAX_REPORTS when reached) and returns true.
-- Otherwise queues nothing and returns false. Either way the query is in
-- audit_log (actor 't8:<scsAsId>', action 't8-number-of-ues-in-an-area').
CREATE OR REPLACE FUNCTION lg_area_report_queue(s subscription)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    v_scs_as_id text := (SELECT k.scs_as_id FROM scs k WHERE k.id = s.scs_id);
    v_answer jsonb;
    v_audit bigint;
    v_release bigint;
    v_time timestamptz;
BEGIN
    v_answer := lg_counts_query('t8:' || v_scs_as_id, s.area, NULL, NULL, (lg_area_setting()).k,
                                NULL, NULL);
    -- lg_counts_query wrote the audit row just now, in this transaction:
    -- name what it was for.
    v_audit := currval(pg_get_serial_sequence('audit_log', 'id'));
    UPDATE audit_log a
       SET action = 't8-number-of-ues-in-an-area',
           request = a.request || jsonb_build_object('subscriptionId', s.sub_id)
     WHERE a.id = v_audit
    RETURNING (a.request -> 'releases' ->> 0)::bigint INTO v_release;

    IF jsonb_typeof(v_answer -> 'count') IS DISTINCT FROM 'number' THEN
        RETURN false;
    END IF;
    SELECT r.bucket_end INTO v_time FROM count_release r WHERE r.id = v_release;
    INSERT INTO notification_outbox (subscription_id, scs_id, ue_id, kind, destination, payload)
    VALUES (s.id, s.scs_id, NULL, 'area-count', s.notification_destination,
            jsonb_build_object(
                'subscription', lg_sub_self(v_scs_as_id, s.sub_id),
                'monitoringEventReports', jsonb_build_array(jsonb_build_object(
                    'monitoringType', 'NUMBER_OF_UES_IN_AN_AREA',
                    'eventTime', lg_rfc3339(coalesce(v_time, now())),
                    'uePerLocationReport',
                        jsonb_build_object('ueCount', (v_answer ->> 'count')::bigint)))));
    UPDATE subscription x
       SET reports_sent = x.reports_sent + 1,
           status = CASE WHEN x.reports_sent + 1 >= x.max_reports THEN 'ended' ELSE x.status END,
           ended_reason = CASE WHEN x.reports_sent + 1 >= x.max_reports THEN 'MAX_REPORTS'
                               ELSE x.ended_reason END,
           next_report_at = CASE WHEN x.reports_sent + 1 >= x.max_reports THEN NULL
                                 ELSE x.next_report_at END,
           updated_at = now()
     WHERE x.id = s.id;
    RETURN true;
END
$fn$;

-- lg_area_sub_start: after a create or a replace of area subscription s:
-- the immediate report when asked for, then the first periodic report is
-- due one period from now; a one-time subscription (no repPeriod) ends
-- (COMPLETED) unless the report already ended it.
CREATE OR REPLACE FUNCTION lg_area_sub_start(s subscription, p_req jsonb)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF p_req @> '{"immediateRep": true}' THEN
        PERFORM lg_area_report_queue(s);
    END IF;
    UPDATE subscription x
       SET next_report_at = CASE WHEN x.rep_period_s IS NOT NULL AND x.status = 'active'
                                 THEN now() + make_interval(secs => x.rep_period_s) END,
           status = CASE WHEN x.rep_period_s IS NULL THEN 'ended' ELSE x.status END,
           ended_reason = CASE WHEN x.rep_period_s IS NULL AND x.status = 'active'
                               THEN 'COMPLETED' ELSE x.ended_reason END,
           updated_at = now()
     WHERE x.id = s.id;
END
$fn$;

-- lg_area_reports_due: called by the daemon (service/north/periodic.c) every
-- second. First records the daemon's [counts] settings (k, the area size
-- bounds) when they changed, ends the area subscriptions past their
-- monitorExpireTime, then makes the report of up to p_limit subscriptions
-- whose next_report_at has come (rows another session holds are skipped,
-- so several daemons may share the database) and moves each one's
-- next_report_at on by whole periods past now (a daemon that was down
-- does not send the missed reports in a burst). A subscription whose SCS
-- is disabled or no longer allowed the service gets no report. One
-- subscription's failure does not stop the others (it is logged as a
-- WARNING and retried at its next period). Returns the number of outbox
-- rows queued (the caller kicks the notifier when > 0).
CREATE OR REPLACE FUNCTION lg_area_reports_due(p_k int, p_min_area_m2 float8,
                                               p_max_area_m2 float8, p_limit int DEFAULT 100)
RETURNS int
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    s subscription;
    n int := 0;
    v_state text;
BEGIN
    IF p_k IS NULL OR p_k < 1 OR p_min_area_m2 IS NULL OR p_min_area_m2 < 0
       OR p_max_area_m2 IS NULL OR p_max_area_m2 <= 0 THEN
        RAISE EXCEPTION 'k must be at least 1 and the area bounds non-negative'
            USING ERRCODE = '22023';
    END IF;
    UPDATE area_report_setting
       SET k = p_k, min_area_m2 = p_min_area_m2, max_area_m2 = p_max_area_m2, updated_at = now()
     WHERE id AND (k, min_area_m2, max_area_m2) IS DISTINCT FROM (p_k, p_min_area_m2, p_max_area_m2);

    UPDATE subscription x
       SET status = 'ended', ended_reason = 'EXPIRED', next_report_at = NULL, updated_at = now()
     WHERE x.status = 'active' AND x.monitoring_type = 'NUMBER_OF_UES_IN_AN_AREA'
       AND x.expires_at <= now();

    FOR s IN SELECT x.* FROM subscription x
              WHERE x.status = 'active' AND x.next_report_at IS NOT NULL
                AND x.next_report_at <= now()
              ORDER BY x.next_report_at, x.id
              LIMIT greatest(p_limit, 0)
                FOR NO KEY UPDATE SKIP LOCKED LOOP
        IF EXISTS (SELECT 1 FROM scs k WHERE k.id = s.scs_id AND k.enabled
                                         AND k.area_counts_allowed) THEN
            BEGIN
                IF lg_area_report_queue(s) THEN
                    n := n + 1;
                END IF;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
                RAISE WARNING 'area report of subscription % failed: SQLSTATE %', s.id, v_state;
            END;
        END IF;
        UPDATE subscription x
           SET next_report_at = x.next_report_at + make_interval(secs => x.rep_period_s)
                   * (floor(extract(epoch FROM now() - x.next_report_at) / x.rep_period_s) + 1),
               updated_at = now()
         WHERE x.id = s.id AND x.status = 'active' AND x.next_report_at IS NOT NULL;
    END LOOP;
    RETURN n;
END
$fn$;

-- lg_admin_scs_area_counts {scsAsId, allowed}: allow or forbid an SCS the
-- NUMBER_OF_UES_IN_AN_AREA service (admin zone); see lg_admin_scs_service.
-- Returns {"scsAsId", "areaCounts": bool}; P0002 for an unknown SCS.
CREATE OR REPLACE FUNCTION lg_admin_scs_area_counts(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_scs_service(args, 'area-counts')
$fn$;
