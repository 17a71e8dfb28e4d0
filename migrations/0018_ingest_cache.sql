-- SPDX-License-Identifier: Apache-2.0
--
-- 0018_ingest_cache: the daemon's cache of coalescable rows (service/
-- ingest_cache.c). The daemon remembers, for each device whose last report
-- it wrote, the row it left (cell, node, RAT, report time, decision) when
-- that row is one a repeated report would only be coalesced into
-- (sql/ingest.sql). A report that matches such an entry, less than
-- refresh_ms after it, is coalesced by the daemon: its batch is claimed
-- in the replay window by the same lg_ingest call as the others, but the
-- report itself is not sent. That is sound only while the daemon's picture
-- of those rows is the database's, so:
--
--   * One daemon at a time owns the cache: ingest_cache_owner.token, claimed
--     by lg_ingest(p_cache_token => ..., p_cache_gen => NULL), which a
--     daemon sends once, on its first round trip. A daemon whose token is
--     no longer the owner's gets no cache answers and stops using its cache
--     for good (the last one started wins).
--   * Every change the owner did not make itself raises the generation, the
--     sequence lg_ingest_cache_gen: any write to ue_location by anyone but
--     the owner's lg_ingest (another daemon, ingest-direct, a device deleted
--     with its row, a hand edit), any change of the reference data behind a
--     decision (lg_ref_epoch, already raised by 0005's triggers), any
--     change of a network node's name or state, and a new claim. lg_ingest
--     refuses a call whose daemon-coalesced reports were judged at an older
--     generation (SQLSTATE LG001); the daemon then empties its cache and
--     sends the batches again, whole.
--
-- A sequence, not a row: raising it takes no lock and is not undone by a
-- rollback (a rolled-back write only empties the cache for nothing), and
-- concurrent writers never wait for one another on it. The owner's own
-- writes do not raise it: lg_ingest sets locguard.ingest_cache_owner for its
-- transaction when the caller's token is the owner's.
CREATE SEQUENCE lg_ingest_cache_gen;

CREATE TABLE ingest_cache_owner (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    token      text,                    -- the owning daemon's random token, or NULL
    claimed_at timestamptz
);
INSERT INTO ingest_cache_owner (one) VALUES (true);

-- lg_ingest_cache_gen() and the triggers that raise the generation are in
-- sql/invalidation.sql.

-- lg_ingest gains p_cache_token, p_cache_gen and p_cached, and the result
-- columns cache_gen, cache_ords and cache_dec (sql/ingest.sql): drop the
-- thirteen-argument version so that an older call is not ambiguous.
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS lg_ingest(text[], bigint[], int, int, int[], text[], bigint[], text[],
                                  text[], float8[], float8[], float8[], int);
RESET client_min_messages;
