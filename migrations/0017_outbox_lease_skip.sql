-- SPDX-License-Identifier: Apache-2.0
--
-- 0017_outbox_lease_skip: lg_outbox_lease() gains a last parameter, p_skip,
-- the destinations whose rows the notifier cannot take now (sql/outbox.sql).
-- A new parameter list is a new function: drop the three-argument one, which
-- sql/outbox.sql no longer defines, so that a call by three arguments is not
-- ambiguous between the two.
SET client_min_messages = warning;     -- no NOTICE on a fresh database
DROP FUNCTION IF EXISTS lg_outbox_lease(text, int, int);
RESET client_min_messages;
