-- SPDX-License-Identifier: Apache-2.0
--
-- 0029_amf_chunk_dirty: what amf_chunk_sync (sql/amfsub.sql) has left to
-- do, so that it handles the devices that changed instead of reading the
-- device table whole. amf_chunk_dirty is a queue written by triggers on ue
-- (sql/invalidation.sql): one row per IMSI provisioned, removed or renamed
-- (old and new), a row with no IMSI after a TRUNCATE (every device); no
-- key, as one IMSI may be queued by several transactions, and a sync
-- deletes only the rows it read. A sync reads the queue whole, dead rows
-- included, so autovacuum clears it after 1,000 dead rows whatever its
-- size (after a load of many devices through it, not at its 20% default).
-- amf_chunk_layout holds the supis_per_subscription of the last full pass
-- (NULL: none yet, so the first sync after this migration places the
-- devices already provisioned); a sync with another size does a full pass.
CREATE TABLE amf_chunk_dirty (
    imsi text COLLATE "C"
) WITH (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);

CREATE TABLE amf_chunk_layout (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    per int     CHECK (per > 0)
);
INSERT INTO amf_chunk_layout DEFAULT VALUES;
