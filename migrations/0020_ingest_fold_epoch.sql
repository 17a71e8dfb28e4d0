-- SPDX-License-Identifier: Apache-2.0
--
-- 0020_ingest_fold_epoch: the fold caches the decision of each device's
-- newest report, as the general statement does, so a device reported
-- several times in every call (a moving MME's device, a hostile node) takes
-- the fast path after its first call. lg_ingest_decide now returns the
-- epoch its decisions were made at, and lg_ingest_fold takes it: the old
-- signatures go (sql/ingest.sql creates the new ones).
DROP FUNCTION IF EXISTS lg_ingest_decide(int[], bigint[], text[], timestamptz[], text[], text[],
                                         float8[], float8[], float8[], int, boolean);
DROP FUNCTION IF EXISTS lg_ingest_fold(bigint[], int[], timestamptz[], bigint[], text[], text[],
                                       float8[], float8[], float8[], text[], text[], int);
