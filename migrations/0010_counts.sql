-- SPDX-License-Identifier: Apache-2.0
--
-- 0010_counts: the privacy filter's storage. Once per time bucket the daemon
-- (release.c) stores a per-cell histogram of NOISY device counts; third-party
-- count queries (sql/counts.sql, lg_counts_query) are answered from these
-- rows only, never from ue_location. The exact counts are not stored
-- anywhere. Every count query, third party or operator, is written to
-- audit_log with its client, area and answer.
--
-- count_release and count_release_cell are written once per bucket and read
-- by every query; audit_log is append-only. None is on the ingest hot path.

-- One release per time bucket [bucket_start, bucket_end). eps_num/eps_den is
-- the exact epsilon spent by the release (the daily budget is summed as
-- fractions, see lg_counts_store_release).
CREATE TABLE count_release (
    id           bigserial   PRIMARY KEY,
    bucket_start timestamptz NOT NULL UNIQUE,
    bucket_end   timestamptz NOT NULL,
    eps_num      int         NOT NULL CHECK (eps_num > 0),
    eps_den      int         NOT NULL CHECK (eps_den > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (bucket_end > bucket_start)
);
CREATE INDEX count_release_bucket_end ON count_release (bucket_end);

-- The noisy count of one cell in one release. Every cell with coverage is
-- present, zero counts included (an absent cell would tell that it was
-- empty). noisy may be negative: it is released as drawn, clamping would bias
-- sums over many cells.
CREATE TABLE count_release_cell (
    release_id bigint NOT NULL REFERENCES count_release ON DELETE CASCADE,
    cell_key   text   COLLATE "C" NOT NULL,
    noisy      bigint NOT NULL,
    PRIMARY KEY (release_id, cell_key)
);

-- Who asked what and what they were told. request is the normalised query
-- (area, interval, releases used), answer the body returned.
CREATE TABLE audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_kind text        NOT NULL CHECK (actor_kind IN ('third_party', 'operator')),
    actor      text        NOT NULL,
    action     text        NOT NULL,
    request    jsonb       NOT NULL,
    answer     jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at);
