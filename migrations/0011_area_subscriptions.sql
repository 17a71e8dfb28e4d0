-- SPDX-License-Identifier: Apache-2.0
--
-- 0011_area_subscriptions: T8 NUMBER_OF_UES_IN_AN_AREA subscriptions. An SCS
-- subscribes to the number of devices in a geographic area, reported at once
-- (immediateRep) and/or every repPeriod seconds. The counts come from the
-- privacy filter's noisy releases (sql/counts.sql, lg_counts_query) with the
-- same k suppression as the exposure zone; a report never names a device.
-- See sql/area_reports.sql.
--
-- An area subscription has no target device or group: the subscription's
-- target check becomes per monitoring type. Its reports are outbox rows of
-- their own kind, 'area-count' (the notifier's consent re-check is for
-- 'alert' rows, which name a device).

-- The service is granted per SCS, not per device: the count covers every
-- device whose owner consented to anonymous statistics, none is named.
ALTER TABLE scs ADD COLUMN area_counts_allowed boolean NOT NULL DEFAULT false;

-- area:           the area as a CAMARA Area ({"areaType": "CIRCLE", "center",
--                 "radius"} or {"areaType": "POLYGON", "boundary"}), the form
--                 lg_counts_query takes; the SCS's GeographicArea is in request.
-- rep_period_s:   repPeriod; NULL = only the immediate report (one-time).
-- next_report_at: when the next periodic report is due (NULL = none).
ALTER TABLE subscription
    ADD COLUMN area           jsonb,
    ADD COLUMN rep_period_s   int CHECK (rep_period_s >= 60),
    ADD COLUMN next_report_at timestamptz;

ALTER TABLE subscription DROP CONSTRAINT subscription_monitoring_type_check;
ALTER TABLE subscription DROP CONSTRAINT subscription_check;
ALTER TABLE subscription
    ADD CONSTRAINT subscription_monitoring_type_check
        CHECK (monitoring_type IN ('LOCATION_REPORTING', 'NUMBER_OF_UES_IN_AN_AREA')),
    ADD CONSTRAINT subscription_target_check
        CHECK (CASE WHEN monitoring_type = 'NUMBER_OF_UES_IN_AN_AREA'
                    THEN num_nonnulls(ue_id, group_id) = 0 AND area IS NOT NULL
                    ELSE num_nonnulls(ue_id, group_id) = 1 AND area IS NULL
                         AND rep_period_s IS NULL AND next_report_at IS NULL END);

-- The periodic job's scan: active subscriptions with a report due.
CREATE INDEX subscription_active_next_report_at ON subscription (next_report_at)
    WHERE status = 'active' AND next_report_at IS NOT NULL;

ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check
    CHECK (kind IN ('alert', 'test', 'revocation', 'area-count'));

-- The daemon's [counts] settings that area reports obey, written by the
-- daemon (service/periodic.c, through lg_area_reports_due) every time it
-- runs, and read when a subscription is created (area bounds, immediate
-- report). One row. The defaults are the daemon's defaults.
CREATE TABLE area_report_setting (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    k           int         NOT NULL CHECK (k >= 1),
    min_area_m2 float8      NOT NULL CHECK (min_area_m2 >= 0),
    max_area_m2 float8      NOT NULL CHECK (max_area_m2 > 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO area_report_setting (k, min_area_m2, max_area_m2) VALUES (10, 1e6, 282743338823);
