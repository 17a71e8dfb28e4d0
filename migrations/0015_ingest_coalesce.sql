-- SPDX-License-Identifier: Apache-2.0
--
-- 0015_ingest_coalesce: lg_ingest() gains a last parameter, p_refresh_ms
-- (reports that change nothing but the stored time are coalesced, see
-- sql/ingest.sql), and a last result column, n_coalesced. A new parameter
-- list is a new function to PostgreSQL: drop the old one, which sql/ingest.sql
-- no longer defines, so that a call by the old twelve arguments is not
-- ambiguous between the two.
SET client_min_messages = warning;     -- no NOTICE on a fresh database
DROP FUNCTION IF EXISTS lg_ingest(text[], bigint[], int, int, int[], text[], bigint[], text[],
                                  text[], float8[], float8[], float8[]);
RESET client_min_messages;
