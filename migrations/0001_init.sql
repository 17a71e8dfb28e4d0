-- SPDX-License-Identifier: Apache-2.0
--
-- 0001_init: the core schema of locguard. Network nodes and their replay
-- window, devices (ue), authorized areas, cell coverage, the latest location
-- with the hysteresis state of each device, and movement alerts.
--
-- Forward-only; `locguard migrate` runs it in one transaction and records it
-- in schema_migrations. Geometry is SRID 4326 everywhere with GiST indexes.
-- The tables the hot path writes (ue_location, alert) are keyed by device id
-- so they can be distributed by ue_id (Citus); network_node, area and cell
-- are reference data.

CREATE EXTENSION IF NOT EXISTS postgis;

-- MME / SGSN / AMF nodes allowed to send location reports. The name is the
-- one in the node's client certificate; high_seq is the highest batch
-- sequence number accepted from it (the top of its replay window).
CREATE TABLE network_node (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL UNIQUE
                            CHECK (name ~ '^[A-Za-z0-9._-]{1,63}$'),
    kind        text        NOT NULL CHECK (kind IN ('MME', 'SGSN', 'AMF')),
    enabled     boolean     NOT NULL DEFAULT true,
    high_seq    bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The replay window: the batches accepted from each node whose sequence
-- number is still within high_seq - window. Older rows are deleted by
-- lg_ingest as the window moves.
CREATE TABLE node_batch (
    node_id     bigint      NOT NULL REFERENCES network_node ON DELETE CASCADE,
    seq         bigint      NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    n_reports   int         NOT NULL,
    PRIMARY KEY (node_id, seq)
);

-- Devices (user equipment). The IMSI and MSISDN never leave locguard;
-- outside parties only see external_id.
CREATE TABLE ue (
    id                 bigserial   PRIMARY KEY,
    imsi               text        NOT NULL UNIQUE CHECK (imsi ~ '^[0-9]{5,15}$'),
    msisdn             text        UNIQUE CHECK (msisdn ~ '^[0-9]{5,15}$'),
    external_id        text        NOT NULL UNIQUE
                                   CHECK (external_id ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    mobility           text        NOT NULL
                                   CHECK (mobility IN ('fixed', 'restricted', 'unrestricted')),
    monitoring_allowed boolean     NOT NULL DEFAULT true,
    ambiguous_policy   text        NOT NULL DEFAULT 'inside'
                                   CHECK (ambiguous_policy IN ('inside', 'outside')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Authorized areas (reference data).
CREATE TABLE area (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX area_geom_gist ON area USING gist (geom);

-- Which areas each device may be in.
CREATE TABLE ue_area (
    ue_id   bigint NOT NULL REFERENCES ue ON DELETE CASCADE,
    area_id bigint NOT NULL REFERENCES area ON DELETE CASCADE,
    PRIMARY KEY (ue_id, area_id)
);
CREATE INDEX ue_area_area_id ON ue_area (area_id);

-- Radio cells and their coverage (reference data), keyed by the canonical
-- cell key the southbound parser builds (e.g. 'ecgi:001-01:0000001').
CREATE TABLE cell (
    cell_key   text        PRIMARY KEY,
    rat        text        NOT NULL CHECK (rat IN ('EUTRA', 'NR', 'UTRA', 'GERA')),
    coverage   geometry(MultiPolygon, 4326) NOT NULL,
    site       geometry(Point, 4326),
    radius_m   real,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cell_coverage_gist ON cell USING gist (coverage);

-- The latest location of each device and its hysteresis state. No GiST index
-- on position on purpose: it halves ingest throughput. The fill factor leaves
-- room on each page so the one-update-per-report path stays HOT (no index
-- churn).
CREATE TABLE ue_location (
    ue_id          bigint      PRIMARY KEY REFERENCES ue ON DELETE CASCADE,
    reported_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    node_id        bigint,
    rat            text,
    cell_key       text,
    position       geometry(Point, 4326),
    uncertainty_m  real,
    decision       text        NOT NULL
                               CHECK (decision IN ('inside', 'outside', 'ambiguous',
                                                   'unknown_cell', 'unchecked')),
    zone_state     text        NOT NULL DEFAULT 'unknown'
                               CHECK (zone_state IN ('unknown', 'inside', 'outside')),
    outside_streak int         NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

-- Movement alerts: one row per transition (left / returned). The notifier
-- delivers them to the subscribed application servers.
CREATE TABLE alert (
    id            bigserial   PRIMARY KEY,
    ue_id         bigint      NOT NULL REFERENCES ue ON DELETE CASCADE,
    kind          text        NOT NULL CHECK (kind IN ('left', 'returned')),
    reported_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    node_id       bigint,
    rat           text,
    cell_key      text,
    position      geometry(Point, 4326),
    uncertainty_m real
);
CREATE INDEX alert_ue_id_created_at ON alert (ue_id, created_at);
CREATE INDEX alert_created_at ON alert (created_at);
