-- SPDX-License-Identifier: Apache-2.0
--
-- 0021_counts_continual: the state of the continual counter
-- (service/counts/continual.c) between buckets, written by release.c through
-- lg_counts_continual_store (sql/counts.sql) in the same transaction as the
-- release it makes. Neither table is read by third-party queries: they hold
-- exact data (the sums of the tree's nodes under way, where each device is
-- counted), like ue_location.

-- One horizon: buckets 1..steps of bucket_s seconds from starts_at, whose
-- releases together cost each device at most eps_num/eps_den. t is the
-- last bucket released; cells, open and closed are the counter's state
-- after it (lg_continual_open / lg_continual_closed, cell by cell, levels
-- values per cell, cells in the order of `cells`).
CREATE TABLE count_horizon (
    starts_at      timestamptz PRIMARY KEY,
    bucket_s       int      NOT NULL CHECK (bucket_s > 0),
    steps          int      NOT NULL CHECK (steps > 0),
    branching      int      NOT NULL CHECK (branching >= 2),
    levels         int      NOT NULL CHECK (levels > 0),
    eps_num        int      NOT NULL CHECK (eps_num > 0),
    eps_den        int      NOT NULL CHECK (eps_den > 0),
    moves_per_day  int      NOT NULL CHECK (moves_per_day > 0),
    moves_lifetime int      NOT NULL CHECK (moves_lifetime >= 0),
    t              int      NOT NULL DEFAULT 0 CHECK (t >= 0 AND t <= steps),
    cells          text[]   NOT NULL DEFAULT '{}',
    open           bigint[] NOT NULL DEFAULT '{}',
    closed         bigint[] NOT NULL DEFAULT '{}',
    CHECK (cardinality(open) = cardinality(cells) * levels
           AND cardinality(closed) = cardinality(cells) * levels)
);

-- Each device's bounded state in a horizon (lg_continual_device_t): where
-- it is counted (NULL: not counted) and what it has spent. No foreign key
-- to ue: a deleted device must still leave the counts.
CREATE TABLE count_horizon_device (
    starts_at      timestamptz NOT NULL REFERENCES count_horizon ON DELETE CASCADE,
    ue_id          bigint      NOT NULL,
    cell_key       text        COLLATE "C",
    day            bigint      NOT NULL,
    moves_today    int         NOT NULL CHECK (moves_today >= 0),
    moves_released int         NOT NULL CHECK (moves_released >= 0),
    units_spent    int         NOT NULL CHECK (units_spent >= 0),
    PRIMARY KEY (starts_at, ue_id)
);

-- A release made by the continual counter names its horizon; its eps_num /
-- eps_den is the horizon's (the whole horizon's cost, not this release's),
-- and it does not count against the daily budget of per-release noise.
ALTER TABLE count_release ADD COLUMN horizon_start timestamptz REFERENCES count_horizon;
