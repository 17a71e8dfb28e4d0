-- SPDX-License-Identifier: Apache-2.0
--
-- 0027_counts_changes_since: what lets the continual release
-- (sql/counts.sql lg_counts_continual_changes) find the devices that may
-- have changed since its previous release by index, instead of comparing
-- every device's location, consent and stored state (about 2 s at 1M
-- devices whatever moved; tests/bench/README.md, "The continual release's
-- database time").

-- When the row's cell_key last took a different value: the writing
-- transaction's time (as received_at), set by sql/ingest.sql's
-- lg_ingest_decide and lg_ingest_fold only when cell_key changes. The time
-- of the write, not the report's reported_at: a report can arrive after
-- the release that should have seen it had it come on time. The fast path
-- (lg_ingest_fast) never changes cell_key and does not write it, so its
-- updates stay HOT with this index. Backfilled from the row's last write
-- (received_at, or reported_at when later): no earlier than its last cell
-- change. The first release after this migration compares everything
-- anyway (count_horizon.changes_from is NULL).
ALTER TABLE ue_location ADD COLUMN cell_since timestamptz;
UPDATE ue_location SET cell_since = greatest(received_at, reported_at);
ALTER TABLE ue_location ALTER COLUMN cell_since SET DEFAULT now();
CREATE INDEX ue_location_cell_since ON ue_location (cell_since);

-- A stored device's state: seen_until, the latest report of the location
-- it was seen at plus the presence, when the release wrote or checked it
-- (it cannot leave the counts before: reported_at only grows); is_held,
-- the bound held back the change it was seen making (observed differs from
-- where it is counted), so it is looked at again every release.
ALTER TABLE count_horizon_device
    ADD COLUMN seen_until timestamptz,
    ADD COLUMN is_held boolean NOT NULL DEFAULT false;
CREATE INDEX count_horizon_device_seen_until ON count_horizon_device (starts_at, seen_until);
CREATE INDEX count_horizon_device_held ON count_horizon_device (starts_at) WHERE is_held;
CREATE INDEX count_horizon_device_absent ON count_horizon_device (starts_at)
    WHERE cell_key IS NULL;

-- What the previous release of the horizon assumed: the end of the bucket
-- it stored (changes are looked for from there), the presence it used and
-- the cell table's version (count_geo_version) it read. NULL: the next
-- release compares everything (so the first one after this migration does).
ALTER TABLE count_horizon
    ADD COLUMN changes_from timestamptz,
    ADD COLUMN presence_s   int,
    ADD COLUMN geo_version  bigint;

-- Devices whose location row was deleted (the device was deleted): they
-- leave the counts, and nothing else would say so. Written by a trigger
-- (sql/counts.sql lg_counts_location_gone), pruned by the store.
CREATE TABLE count_location_gone (
    ue_id   bigint      NOT NULL,
    gone_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX count_location_gone_at ON count_location_gone (gone_at);

-- The consents that begin, are revoked or end after a time.
CREATE INDEX consent_stats_granted ON consent (granted_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL;
CREATE INDEX consent_stats_revoked ON consent (revoked_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL AND revoked_at IS NOT NULL;
CREATE INDEX consent_stats_expires ON consent (expires_at)
    WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL AND expires_at IS NOT NULL;

-- sql/counts.sql makes them again with new results and arguments.
DROP FUNCTION IF EXISTS lg_counts_continual_state(timestamptz, int, int, int, int, int, int, int,
                                                  int);
DROP FUNCTION IF EXISTS lg_counts_continual_store(timestamptz, int, int, timestamptz, timestamptz,
                                                  text[], bigint[], bigint[], bigint[], bigint[],
                                                  text[], bigint[], int[], int[], int[]);
