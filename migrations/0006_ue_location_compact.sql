-- SPDX-License-Identifier: Apache-2.0
--
-- 0006_ue_location_compact: 0005 updates every ue_location row twice (IMSI,
-- then the decision cache), which leaves a table of about three times its
-- size, mostly dead row versions, and no statistics for the new columns.
-- Measured on the 1M-device bench population: 435 MB, 1.7M dead versions,
-- lg_ingest 200-560 ms per 1000 reports until vacuumed. Rewrite it in
-- primary-key order (honouring its fill factor, so the per-report update
-- stays HOT) and analyze it. CLUSTER holds an exclusive lock on
-- ue_location while it runs: about 6 s for 1M rows.

CLUSTER ue_location USING ue_location_pkey;
ANALYZE ue_location;
