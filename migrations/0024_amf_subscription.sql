-- SPDX-License-Identifier: Apache-2.0
--
-- 0024_amf_subscription: locguard's Namf_EventExposure subscriptions, one
-- row per configured AMF (service/south/amfsub.c), so that a restarted
-- daemon resumes them instead of subscribing twice. token is the
-- notifyCorrelationId's second half ("<node>.<token>"), made once and kept
-- across recreations, so notifications of a recreated subscription still
-- match; sub_uri is the AMF's Location of the subscription (NULL: none at
-- the AMF); expires_at the expiry it granted; devices_version the
-- amf_device_version.version whose SUPIs the subscription holds.
CREATE TABLE amf_subscription (
    node            text        COLLATE "C" PRIMARY KEY
                                CHECK (node ~ '^[A-Za-z0-9._-]{1,54}$'),
    token           text        COLLATE "C" NOT NULL CHECK (token ~ '^[0-9a-f]{8}$'),
    sub_uri         text        CHECK (length(sub_uri) BETWEEN 1 AND 1024),
    expires_at      timestamptz,
    devices_version bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The version of the set of SUPIs the AMF subscriptions must name: raised
-- by a statement trigger on ue (sql/invalidation.sql) whenever a device is
-- provisioned, removed or changes its IMSI. One row.
CREATE TABLE amf_device_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint  NOT NULL DEFAULT 1
);
INSERT INTO amf_device_version DEFAULT VALUES;
