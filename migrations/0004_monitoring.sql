-- SPDX-License-Identifier: Apache-2.0
--
-- 0004_monitoring: alerts to the application servers (SCS/AS). The SCSs and
-- their API clients, device groups (GROUPE: External and Local Group IDs),
-- per-service grants, per-purpose consent, T8 MonitoringEvent subscriptions
-- and the durable notification outbox the notifier delivers from.
--
-- The Local Group ID, like the IMSI and the MSISDN, never leaves locguard:
-- only the admin group functions return it.

-- gen_random_bytes() for subscription and notification ids (pgcrypto ships
-- with the postgresql-15 package and is a trusted extension).
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Application servers. The webhook secrets ("whsec_<base64>", Standard
-- Webhooks) sign the notifications; during a rotation the previous one signs
-- too. allow_private_destinations lets the demo and tests deliver to
-- loopback; cert_cn is the client certificate name expected under mutual TLS.
CREATE TABLE scs (
    id                         bigserial   PRIMARY KEY,
    scs_as_id                  text        COLLATE "C" NOT NULL UNIQUE
                                           CHECK (scs_as_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    name                       text,
    webhook_secret             text        NOT NULL,
    webhook_secret_previous    text,
    allow_private_destinations boolean     NOT NULL DEFAULT false,
    cert_cn                    text,
    enabled                    boolean     NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL DEFAULT now()
);

-- OAuth2 clients (client credentials grant). Only a salted hash of the
-- secret is stored: "scrypt$N$r$p$<salt b64>$<hash b64>", made by the daemon.
CREATE TABLE api_client (
    id          bigserial   PRIMARY KEY,
    client_id   text        COLLATE "C" NOT NULL UNIQUE
                            CHECK (client_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    secret_hash text        NOT NULL,
    scopes      text[]      NOT NULL,
    scs_id      bigint      REFERENCES scs ON DELETE CASCADE,
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Device groups: the External Group ID is what SCSs name, the Local Group ID
-- is the network's internal one (never sent out).
CREATE TABLE ue_group (
    id                bigserial   PRIMARY KEY,
    external_group_id text        COLLATE "C" NOT NULL UNIQUE
                                  CHECK (external_group_id ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    local_group_id    text        COLLATE "C" NOT NULL UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ue_group_member (
    group_id bigint NOT NULL REFERENCES ue_group ON DELETE CASCADE,
    ue_id    bigint NOT NULL REFERENCES ue ON DELETE CASCADE,
    PRIMARY KEY (group_id, ue_id)
);
CREATE INDEX ue_group_member_ue_id ON ue_group_member (ue_id);

-- Grants: the operator lets an SCS use a service for one device or a group.
CREATE TABLE scs_grant (
    id       bigserial PRIMARY KEY,
    scs_id   bigint    NOT NULL REFERENCES scs ON DELETE CASCADE,
    service  text      NOT NULL CHECK (service IN ('location-monitoring')),
    ue_id    bigint    REFERENCES ue ON DELETE CASCADE,
    group_id bigint    REFERENCES ue_group ON DELETE CASCADE,
    CHECK (num_nonnulls(ue_id, group_id) = 1),
    UNIQUE NULLS NOT DISTINCT (scs_id, service, ue_id, group_id)
);
CREATE INDEX scs_grant_ue_id ON scs_grant (ue_id) WHERE ue_id IS NOT NULL;
CREATE INDEX scs_grant_group_id ON scs_grant (group_id) WHERE group_id IS NOT NULL;

-- Consent of a device's owner per purpose, for one SCS or (scs_id NULL) for
-- any. Valid at time t when granted_at <= t, t < expires_at (if set) and not
-- revoked.
CREATE TABLE consent (
    id         bigserial   PRIMARY KEY,
    ue_id      bigint      NOT NULL REFERENCES ue ON DELETE CASCADE,
    purpose    text        NOT NULL
                           CHECK (purpose IN ('location-monitoring', 'anonymous-statistics')),
    scs_id     bigint      REFERENCES scs ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX consent_ue_id_purpose ON consent (ue_id, purpose);

-- T8 MonitoringEvent subscriptions (TS 29.122), for one device or a group.
-- request is the normalised request as stored (what GET returns, plus
-- self). Ended subscriptions are kept for the record with the reason:
-- MAX_REPORTS, EXPIRED, DELETED, GONE (410 from the SCS), CONSENT_REVOKED.
CREATE TABLE subscription (
    id                       bigserial   PRIMARY KEY,
    sub_id                   text        COLLATE "C" NOT NULL UNIQUE
                                         DEFAULT encode(gen_random_bytes(8), 'hex'),
    scs_id                   bigint      NOT NULL REFERENCES scs ON DELETE CASCADE,
    ue_id                    bigint      REFERENCES ue ON DELETE CASCADE,
    group_id                 bigint      REFERENCES ue_group ON DELETE CASCADE,
    monitoring_type          text        NOT NULL CHECK (monitoring_type IN ('LOCATION_REPORTING')),
    notification_destination text        NOT NULL,
    location_type            text,
    accuracy                 text        NOT NULL DEFAULT 'CGI_ECGI'
                                         CHECK (accuracy IN ('CGI_ECGI', 'TA_RA', 'GEO_AREA')),
    max_reports              int         CHECK (max_reports >= 1),
    reports_sent             int         NOT NULL DEFAULT 0,
    expires_at               timestamptz,
    revocation_notif_uri     text,
    request                  jsonb       NOT NULL,
    status                   text        NOT NULL DEFAULT 'active'
                                         CHECK (status IN ('active', 'ended')),
    ended_reason             text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(ue_id, group_id) = 1)
);
CREATE INDEX subscription_active_ue_id ON subscription (ue_id) WHERE status = 'active';
CREATE INDEX subscription_active_group_id ON subscription (group_id) WHERE status = 'active';
CREATE INDEX subscription_active_expires_at ON subscription (expires_at)
    WHERE status = 'active' AND expires_at IS NOT NULL;
CREATE INDEX subscription_scs_id ON subscription (scs_id);

-- The outbox: one row per notification to deliver (at least once). notif_id
-- is the stable webhook-id. A row is leased by one notifier at a time
-- (lease_owner / lease_until) and ends delivered, dropped (no longer
-- allowed to go out) or failed.
CREATE TABLE notification_outbox (
    id              bigserial   PRIMARY KEY,
    notif_id        text        COLLATE "C" NOT NULL UNIQUE
                                DEFAULT 'msg_' || encode(gen_random_bytes(12), 'hex'),
    subscription_id bigint      REFERENCES subscription ON DELETE SET NULL,
    scs_id          bigint      NOT NULL REFERENCES scs ON DELETE CASCADE,
    ue_id           bigint,
    kind            text        NOT NULL CHECK (kind IN ('alert', 'test', 'revocation')),
    destination     text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        int         NOT NULL DEFAULT 0,
    lease_owner     text,
    lease_until     timestamptz,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'delivered', 'dropped', 'failed')),
    last_status     int,
    last_error      text,
    delivered_at    timestamptz
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX notification_outbox_pending_subscription ON notification_outbox (subscription_id)
    WHERE status = 'pending';
CREATE INDEX notification_outbox_pending_ue_id ON notification_outbox (ue_id)
    WHERE status = 'pending';
