-- SPDX-License-Identifier: Apache-2.0
--
-- T8 NUMBER_OF_UES_IN_AN_AREA (sql/area_reports.sql, sql/northbound.sql):
-- the service is per SCS (one identical refusal without it); an immediate
-- report carries the privacy filter's count (the same as lg_counts_query's
-- for the same area); periodic reports appear when due and not before,
-- without bursts after a pause; counts below k, no release and no coverage
-- send nothing; no identity in any payload; maximumNumberOfReports,
-- monitorExpireTime, revocation of the service; the reports' rows survive
-- the notifier's lease; every count is audited.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT plan(57);

-- error_of: 'SQLSTATE|message|detail|hint' of a failing statement, NULL if it works.
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

-- A 10 x 10 grid of 0.01 degree cells: cell (i, j) spans longitude
-- 2 + i/100 .. 2 + (i+1)/100 and latitude 48 + j/100 .. 48 + (j+1)/100.
CREATE FUNCTION pg_temp.ck(i int, j int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'ecgi:001-01:' || upper(lpad(to_hex(j * 10 + i), 7, '0')) $$;
INSERT INTO cell (cell_key, rat, coverage)
SELECT pg_temp.ck(i, j), 'EUTRA',
       ST_Multi(ST_MakeEnvelope(2 + i / 100.0, 48 + j / 100.0,
                                2 + (i + 1) / 100.0, 48 + (j + 1) / 100.0, 4326))
FROM generate_series(0, 9) i, generate_series(0, 9) j;

-- A rectangle as a TS 29.572 POLYGON, and the request around a GeographicArea.
CREATE FUNCTION pg_temp.rect(x0 float8, y0 float8, x1 float8, y1 float8) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('shape', 'POLYGON', 'pointList', jsonb_build_array(
        jsonb_build_object('lon', x0, 'lat', y0), jsonb_build_object('lon', x1, 'lat', y0),
        jsonb_build_object('lon', x1, 'lat', y1), jsonb_build_object('lon', x0, 'lat', y1)))
$$;
CREATE FUNCTION pg_temp.req(p_gad jsonb, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('monitoringType', 'NUMBER_OF_UES_IN_AN_AREA',
                              'notificationDestination', 'https://scs.example/counts',
                              'maximumNumberOfReports', 100,
                              'locationArea', jsonb_build_object('geographicAreas', jsonb_build_array(p_gad)),
                              'repPeriod', 60, 'immediateRep', true) || p_extra
$$;
-- The area of cells (0,0) and (1,0): noisy 12 + 13 = 25 in the release below.
CREATE FUNCTION pg_temp.a25() RETURNS jsonb LANGUAGE sql AS $$ SELECT pg_temp.rect(2.0, 48.0, 2.02, 48.01) $$;

CREATE TEMP TABLE t_sub (name text PRIMARY KEY, j jsonb);
CREATE FUNCTION pg_temp.sid(p_name text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(j ->> 'self', '.*/', '') FROM t_sub WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.sub(p_name text) RETURNS subscription LANGUAGE sql AS $$
    SELECT s.* FROM subscription s WHERE s.sub_id = pg_temp.sid(p_name)
$$;
-- counts: the ueCount of each outbox row of a subscription, in id order ('-' for other rows).
CREATE FUNCTION pg_temp.counts(p_name text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(coalesce(o.payload #>> '{monitoringEventReports,0,uePerLocationReport,ueCount}', '-')
                              ORDER BY o.id), '{}')
      FROM notification_outbox o WHERE o.subscription_id = (pg_temp.sub(p_name)).id
$$;
CREATE FUNCTION pg_temp.state(p_name text) RETURNS text LANGUAGE sql AS $$
    SELECT s.status || '/' || coalesce(s.ended_reason, '-') || '/' || s.reports_sent
      FROM subscription s WHERE s.sub_id = pg_temp.sid(p_name)
$$;
-- due: makes the subscription's next report due p_ago ago (time stands still in a transaction).
CREATE FUNCTION pg_temp.due(p_name text, p_ago interval) RETURNS void LANGUAGE sql AS $$
    UPDATE subscription SET next_report_at = now() - p_ago WHERE sub_id = pg_temp.sid(p_name)
$$;

-- SCSs: scs-a may have counts, scs-b may not; devices with identities that
-- must never appear in a count report.
SELECT lg_admin_scs_put('{"scsAsId": "scs-a", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT lg_admin_scs_put('{"scsAsId": "scs-b", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT is(lg_admin_scs_area_counts('{"scsAsId": "scs-a", "allowed": true}'),
          '{"scsAsId": "scs-a", "areaCounts": true}', 'scs_area_counts: allowed');
SELECT is(pg_temp.error_of($$SELECT lg_admin_scs_area_counts('{"scsAsId": "scs-zz", "allowed": true}')$$),
          'P0002|SCS not found||scsAsId', 'scs_area_counts: unknown SCS');
INSERT INTO ue (imsi, msisdn, external_id, mobility)
SELECT '00101' || lpad(n::text, 10, '0'), '3361234' || lpad(n::text, 4, '0'), 'cnt' || n || '@example.org',
       'unrestricted'
FROM generate_series(1, 30) n;
INSERT INTO ue_location (ue_id, reported_at, cell_key, decision)
SELECT id, now(), pg_temp.ck(0, 0), 'unchecked' FROM ue;
INSERT INTO consent (ue_id, purpose) SELECT id, 'anonymous-statistics' FROM ue;

-- The daemon's settings: k = 10, areas of 1e4 to 1e9 m2.
SELECT is(lg_area_reports_due(10, 1e4, 1e9), 0, 'due: nothing to report yet');
SELECT is((SELECT k || '/' || min_area_m2 || '/' || max_area_m2 FROM area_report_setting), '10/10000/1000000000',
          'due: records the daemon''s settings');

---------------------------------------------------------------------------
-- Refusals.

SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_create(%L, %L)', c.scs, pg_temp.req(pg_temp.a25()))),
          '42501|the SCS is not authorized for this external identifier||', 'refused: ' || c.why)
  FROM (VALUES ('SCS without the area-counts service', 'scs-b'), ('unknown SCS', 'scs-zz')) AS c(why, scs);
-- The request's shape (no device named, one area of a known shape,
-- repPeriod's range, repPeriod or immediateRep) is service/north/t8.c's:
-- tests/unit/north/test_t8.c. What needs the database:
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_create(%L, %L)', 'scs-a', c.req)), c.err, c.why)
  FROM (VALUES
    ('a self-intersecting polygon: 22023', pg_temp.req(jsonb_build_object('shape', 'POLYGON', 'pointList',
         '[{"lon": 2.0, "lat": 48.0}, {"lon": 2.05, "lat": 48.05}, {"lon": 2.05, "lat": 48.0}, {"lon": 2.0, "lat": 48.05}]'::jsonb)),
     '22023|The polygon is self-intersecting.||locationArea/geographicAreas/0'),
    ('a circle below the minimum size: 22023', pg_temp.req('{"shape": "POINT_UNCERTAINTY_CIRCLE",
         "point": {"lon": 2.05, "lat": 48.05}, "uncertainty": 10}'),
     '22023|The circle is smaller than the minimum area of 10000 square metres.||locationArea/geographicAreas/0'),
    ('an area outside coverage: 22023', pg_temp.req(pg_temp.rect(10, 10, 10.02, 10.01)),
     '22023|the area is outside the network''s coverage||locationArea/geographicAreas/0'),
    ('an area outside coverage, in locationArea5G: 22023', pg_temp.req(pg_temp.rect(10, 10, 10.02, 10.01)) - 'locationArea'
         || jsonb_build_object('locationArea5G', jsonb_build_object('geographicAreas', jsonb_build_array(pg_temp.rect(10, 10, 10.02, 10.01)))),
     '22023|the area is outside the network''s coverage||locationArea5G/geographicAreas/0'),
    ('an unsupported shape: 22023', pg_temp.req('{"shape": "POINT", "point": {"lon": 2.05, "lat": 48.05}}'),
     '22023|the geographic area must be a POINT_UNCERTAINTY_CIRCLE or a POLYGON||locationArea/geographicAreas/0')
  ) AS c(why, req, err);
SELECT is((SELECT count(*)::int FROM subscription), 0, 'nothing stored by the refusals');

---------------------------------------------------------------------------
-- No release yet: the immediate report is suppressed (nothing queued).

INSERT INTO t_sub SELECT 'early', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.a25()));
SELECT is(pg_temp.counts('early'), '{}', 'no release: no report');
SELECT is(pg_temp.state('early'), 'active/-/0', 'no release: the suppressed report is not counted');
SELECT is((SELECT a.answer FROM audit_log a ORDER BY a.id DESC LIMIT 1), '{"status": "TIME_INTERVAL_NO_DATA_FOUND"}',
          'no release: the query is audited');

-- One release (made at the end of the bucket 00:00 .. 01:00 today): cells
-- (0,0) = 12, (1,0) = 13, (5,5) = 3, (5,6) = 9, (6,6) = -2, the rest 0.
SELECT ok(lg_counts_store_release(date_trunc('day', now()), date_trunc('day', now()) + interval '1 hour', 1, 2,
                                  (SELECT array_agg(cell_key ORDER BY cell_key) FROM cell),
                                  (SELECT array_agg(CASE cell_key WHEN pg_temp.ck(0, 0) THEN 12
                                                                  WHEN pg_temp.ck(1, 0) THEN 13
                                                                  WHEN pg_temp.ck(5, 5) THEN 3
                                                                  WHEN pg_temp.ck(5, 6) THEN 9
                                                                  WHEN pg_temp.ck(6, 6) THEN -2
                                                                  ELSE 0 END::bigint ORDER BY cell_key) FROM cell)),
   'a release is stored');

---------------------------------------------------------------------------
-- The immediate report: the filtered count, at once.

INSERT INTO t_sub SELECT 'a25', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.a25(),
                                                '{"requestTestNotification": true}'));
SELECT is((SELECT j - 'self' FROM t_sub WHERE name = 'a25'),
          pg_temp.req(pg_temp.a25(), '{"requestTestNotification": true}'), 'create: the stored request');
SELECT is(pg_temp.counts('a25'), '{-,25}', 'immediateRep: a test row, then one report of 25 at once');
SELECT is((SELECT o.payload FROM notification_outbox o
            WHERE o.subscription_id = (pg_temp.sub('a25')).id AND o.kind = 'area-count'),
          jsonb_build_object('subscription', (SELECT j ->> 'self' FROM t_sub WHERE name = 'a25'),
                             'monitoringEventReports', jsonb_build_array(jsonb_build_object(
                                 'monitoringType', 'NUMBER_OF_UES_IN_AN_AREA',
                                 'eventTime', lg_rfc3339(date_trunc('day', now()) + interval '1 hour'),
                                 'uePerLocationReport', jsonb_build_object('ueCount', 25)))),
          'the report: a MonitoringNotification with uePerLocationReport.ueCount and the release''s time');
SELECT is((SELECT (o.payload #>> '{monitoringEventReports,0,uePerLocationReport,ueCount}')::bigint
             FROM notification_outbox o WHERE o.kind = 'area-count'),
          (lg_counts_query('check', lg_area_from_gad(pg_temp.a25()), NULL, NULL, 10, NULL, NULL) ->> 'count')::bigint,
          'the same count as the CAMARA query of the same area');
SELECT is(pg_temp.state('a25'), 'active/-/1', 'the report counts');
SELECT ok((SELECT next_report_at = now() + interval '60 seconds' FROM pg_temp.sub('a25')),
          'the first periodic report is due one repPeriod after creation');
SELECT is((SELECT a.actor || ' ' || a.action || ' ' || (a.request ->> 'subscriptionId') || ' ' || a.answer::text
             FROM audit_log a ORDER BY a.id DESC OFFSET 1 LIMIT 1),
          't8:scs-a t8-number-of-ues-in-an-area ' || pg_temp.sid('a25') || ' {"count": 25, "status": "SUPPORTED_AREA"}',
          'the count is audited under the SCS and the subscription');
SELECT is(lg_t8_sub_get('scs-a', pg_temp.sid('a25')), (SELECT j FROM t_sub WHERE name = 'a25'), 'get');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(lg_t8_sub_list('scs-a'))), 2, 'list');
INSERT INTO t_sub SELECT 'a5g', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.a25()) - 'locationArea' - 'repPeriod'
                              || jsonb_build_object('locationArea5G', jsonb_build_object('geographicAreas',
                                     jsonb_build_array(pg_temp.a25()))));
SELECT is(pg_temp.counts('a5g') || pg_temp.state('a5g'), '{25,ended/COMPLETED/1}',
          'locationArea5G: the same count; one-time, then ended');
SELECT is(lg_t8_sub_create('scs-a', pg_temp.req('{"shape": "POINT_UNCERTAINTY_CIRCLE",
              "point": {"lon": 2.0550000000000002, "lat": 48.055}, "uncertainty": 300.0}', '{"maximumNumberOfReports": 1}'))
          #> '{locationArea,geographicAreas,0}',
          '{"shape": "POINT_UNCERTAINTY_CIRCLE", "point": {"lon": 2.055, "lat": 48.055}, "uncertainty": 300}',
          'create: the area''s numbers in their shortest form');

---------------------------------------------------------------------------
-- Periodic reports: when due and not before.

SELECT is(lg_area_reports_due(10, 1e4, 1e9), 0, 'periodic: not due yet, nothing queued');
SELECT is(pg_temp.counts('a25'), '{-,25}', 'periodic: no row before the period has passed');
SELECT pg_temp.due('a25', interval '0');
SELECT pg_temp.due('early', interval '1 hour');
SELECT is(lg_area_reports_due(10, 1e4, 1e9), 2, 'periodic: two due subscriptions, two rows');
SELECT is(pg_temp.counts('a25'), '{-,25,25}', 'periodic: the second report');
SELECT is(pg_temp.counts('early'), '{25}', 'periodic: the first report once a release exists');
SELECT ok((SELECT next_report_at = now() + interval '60 seconds' FROM pg_temp.sub('a25')), 'periodic: next one a period later');
SELECT ok((SELECT next_report_at = now() + interval '1 minute' FROM pg_temp.sub('early')),
          'periodic: after a pause, no burst: the next whole period after now');
SELECT is(lg_area_reports_due(10, 1e4, 1e9), 0, 'periodic: not again in the same period');
SELECT pg_temp.due('a25', interval '150 seconds');
SELECT is(lg_area_reports_due(10, 1e4, 1e9), 1, 'periodic: missed periods give one report');
SELECT ok((SELECT next_report_at = now() + interval '30 seconds' FROM pg_temp.sub('a25')),
          'periodic: the schedule stays on its grid');

---------------------------------------------------------------------------
-- Suppression: below k, nothing is sent, and a count below k is never in
-- any payload.

-- A raised k suppresses the 25.
SELECT pg_temp.due('a25', interval '0');
SELECT is(lg_area_reports_due(26, 1e4, 1e9), 0, 'k = 26: the count of 25 is suppressed');
SELECT is(pg_temp.state('a25') || ' ' || array_to_string(pg_temp.counts('a25'), ','), 'active/-/3 -,25,25,25',
          'k = 26: no row, not counted');
SELECT is((SELECT a.answer FROM audit_log a ORDER BY a.id DESC LIMIT 1), '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}',
          'k = 26: audited as below the threshold');
SELECT is(lg_area_reports_due(10, 1e4, 1e9), 0, 'k back to 10');
-- Cell (5,5) alone: 3 < 10, a one-time subscription (no repPeriod).
INSERT INTO t_sub SELECT 'a3', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.rect(2.05, 48.05, 2.06, 48.06)) - 'repPeriod');
SELECT is(pg_temp.counts('a3'), '{}', 'below k: no report');
SELECT is(pg_temp.state('a3'), 'ended/COMPLETED/0', 'one-time: ended after its immediate report');
-- Cells (5,5) + (5,6) + (6,6): 3 + 9 - 2 = 10 = k: reported (k is the smallest count sent).
INSERT INTO t_sub SELECT 'a10', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.rect(2.05, 48.05, 2.07, 48.07)));
SELECT is(pg_temp.counts('a10'), '{10}', 'a count of exactly k is reported');
SELECT is((SELECT count(*)::int FROM notification_outbox o
            WHERE o.kind = 'area-count'
              AND (o.payload #>> '{monitoringEventReports,0,uePerLocationReport,ueCount}')::int < 10), 0,
          'no payload carries a count below k');

-- No identity anywhere.
SELECT is((SELECT count(*)::int FROM notification_outbox o
            WHERE o.kind = 'area-count'
              AND (o.payload::text ~ 'externalId|msisdn|externalIds|msisdns|servLevelDevIds|cnt[0-9]+@|00101|3361234'
                   OR (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(
                           o.payload #> '{monitoringEventReports,0,uePerLocationReport}') k) <> '{ueCount}'
                   OR o.ue_id IS NOT NULL)), 0,
          'no identity in any area report: uePerLocationReport holds ueCount only');

---------------------------------------------------------------------------
-- Limits, delivery, revocation.

INSERT INTO t_sub SELECT 'max2', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.a25(), '{"maximumNumberOfReports": 2}'));
SELECT pg_temp.due('max2', interval '0');
SELECT lg_area_reports_due(10, 1e4, 1e9);
SELECT is(pg_temp.state('max2') || ' ' || array_to_string(pg_temp.counts('max2'), ','), 'ended/MAX_REPORTS/2 25,25',
          'maximumNumberOfReports: ends on the last report');
SELECT ok((SELECT next_report_at IS NULL FROM pg_temp.sub('max2')), 'maximumNumberOfReports: nothing more scheduled');

INSERT INTO t_sub SELECT 'exp', lg_t8_sub_create('scs-a', pg_temp.req(pg_temp.a25(),
                                                 '{"monitorExpireTime": "2999-01-01T00:00:00Z"}') - 'immediateRep');
SELECT is(pg_temp.counts('exp'), '{}', 'without immediateRep: nothing at once');
UPDATE subscription SET expires_at = now() - interval '1 second', next_report_at = now() - interval '1 second'
 WHERE sub_id = pg_temp.sid('exp');
SELECT lg_area_reports_due(10, 1e4, 1e9);
SELECT is(pg_temp.state('exp') || ' ' || array_to_string(pg_temp.counts('exp'), ','), 'ended/EXPIRED/0 ',
          'monitorExpireTime: ends, no report');

SELECT is((SELECT array_agg(DISTINCT l.kind ORDER BY l.kind) FROM lg_outbox_lease('test-owner', 1000, 60) l),
          '{area-count,test}', 'the notifier leases area reports (no device consent check drops them)');

SELECT is(lg_t8_sub_put('scs-a', pg_temp.sid('a10'), pg_temp.req(pg_temp.a25())) - 'self',
          pg_temp.req(pg_temp.a25()), 'put: replaced');
SELECT is(pg_temp.state('a10') || ' ' || array_to_string(pg_temp.counts('a10'), ','), 'active/-/1 10,25',
          'put: the count starts again, with an immediate report of the new area');

SELECT is(lg_admin_scs_area_counts('{"scsAsId": "scs-a", "allowed": false}'),
          '{"scsAsId": "scs-a", "areaCounts": false}', 'scs_area_counts: forbidden');
SELECT is((SELECT count(*)::int FROM subscription WHERE status = 'active'), 0,
          'forbidding ends the area subscriptions');
SELECT is((SELECT count(*)::int FROM notification_outbox WHERE kind = 'area-count' AND status = 'pending'), 0,
          'forbidding drops their pending reports');
SELECT is(pg_temp.error_of(format('SELECT lg_t8_sub_create(%L, %L)', 'scs-a', pg_temp.req(pg_temp.a25()))),
          '42501|the SCS is not authorized for this external identifier||', 'forbidden: the same refusal');

SELECT * FROM finish();
ROLLBACK;
