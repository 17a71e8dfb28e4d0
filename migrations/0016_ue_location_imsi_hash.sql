-- SPDX-License-Identifier: Apache-2.0
--
-- 0016_ue_location_imsi_hash: the first statement of lg_ingest finds every
-- report's row by its IMSI, by equality only (sql/ingest.sql). A hash index
-- answers that from one bucket page; the B-tree of 0005 took a descent of
-- three pages with a text comparison at each step. Measured on the 1M-device
-- bench population: a 1000-report call whose reports are all coalesced took
-- 16.0-17.7 ms against 18.8-22.9 ms, and ingest-direct gave 72.7k and 91.7k
-- reports/s against 70.4k and 87.1k, alternating the two indexes. Nothing
-- else reads ue_location by IMSI. The build holds off writes to
-- ue_location for about 4 s at 1M devices.
CREATE INDEX ue_location_imsi_hash ON ue_location USING hash (imsi);
DROP INDEX ue_location_imsi;
