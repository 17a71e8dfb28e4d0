-- SPDX-License-Identifier: Apache-2.0
--
-- The hot path: lg_ingest() takes a group of location-report batches from
-- many network nodes (one group commit of the daemon's flusher) as parallel
-- arrays and, in the caller's one transaction, applies the per-node replay
-- window, resolves SUPI -> device, decides inside / outside / ambiguous
-- against the device's authorized areas with PostGIS, runs the hysteresis
-- state machine, upserts the latest location and writes movement alerts,
-- and queues the notifications of those alerts for the subscribed SCSs
-- (lg_alerts_to_outbox, sql/outbox.sql).
--
-- Fast path: a report without a position from the cell of the device's
-- cached decision (ue_location.dec_cell, made at the current lg_ref_epoch,
-- migrations/0005_ingest_fast_path.sql), the only report of its device in
-- the call (or one of several that all repeat the same cell, node and RAT
-- of a device in a steady state: the newest stands for them) and raising
-- no alert, is settled by the first statement: one
-- UPDATE over the reports, each reaching its device's row by the SUPI
-- (one index probe per report) and running the hysteresis on the row's own
-- values, or only reading the row when the report is coalesced (below).
-- That UPDATE also locks the row of every other report whose device it
-- finds, changing nothing but dropping its cached decision. The rest are
-- handed to the general statement below as arrays; it refreshes the cache
-- and is skipped when nothing is left.
--
-- Coalescing (p_refresh_ms > 0): a fast report that would change nothing
-- but the row's times (same node and RAT, hysteresis state unchanged: an
-- inside decision with the device inside and no outside streak, or a
-- device that is not checked), less than p_refresh_ms (times the device's
-- lg_refresh_share, 0.75..1) after the stored report, is counted and not
-- written: its row is read, neither updated nor locked. A durable
-- random-row update costs about 20 us of CPU here, which alone caps a
-- two-core machine near 100k reports/s; a read costs less than half of
-- that. What it changes, and what it does not:
--   * the stored time lags the newest report by less than p_refresh_ms,
--     for a device that keeps reporting the same cell; counts and the
--     latest location see the cell at once, its time at that precision;
--   * a report older than the stored time still changes nothing; one that
--     is newer than the stored time but older than a coalesced report
--     (a late report, less than p_refresh_ms late) is applied in arrival
--     order, as is a report racing a concurrent call's coalesced one;
--   * nothing that changes state is ever coalesced: another cell, a
--     position, an outside decision (the streak counts), a return, another
--     node or RAT, several reports of the device in the call unless they
--     all repeat the row (each would change nothing but the time).
-- p_refresh_ms = 0 writes every report, as before.
--
-- The daemon's cache (p_cache_token, p_cache_gen, p_cached; migrations/
-- 0018_ingest_cache.sql, service/south/ingest_cache.c): the same coalescing,
-- judged by the daemon before the call, so that such a report costs the
-- database nothing at all. The owner of the cache learns from cache_ords /
-- cache_ts / cache_dec which reports of the call left a row a repeated
-- report would be coalesced into, with the row's stored time and decision:
-- the rows it wrote (locked, so exactly that until someone else writes
-- them, which raises the generation) and the rows it coalesced, unless
-- their version was being updated or locked (xmax set: a newer version may
-- be on its way; a writer that comes later raises the generation after the
-- one this call read). The daemon then coalesces the same report (same
-- cell, node and RAT, no position, every report of its device in the
-- call the same, within its share of p_refresh_ms after the stored time) itself
-- and sends only its count per batch, p_cached, which the replay window's
-- claim includes.
--
-- The general statement is set-based too: it decides every report it gets
-- (the area/cell verdict comes from the area_cell_verdict cache, so the
-- common case makes no GEOS call), updates the latest location of every
-- device that has a single report in the call and writes their alerts.
-- That write applies only if the device's state is still the one read;
-- the rare loser of a race is redone under a row lock by the same plpgsql
-- fold that handles devices with several reports in one call (exactly, in
-- (timestamp, arrival) order).
--
-- Locks: every ue_location row of a known device a call writes is locked
-- by its first statement, in one pass in SUPI order, so the statements
-- after it wait for no other call over those rows and two calls sharing
-- devices do not deadlock over them (before, about one call in 280 did at
-- full load). What can still wait later is rare: a new device's first row,
-- or a row another call changed and committed meanwhile. No node row lock
-- is taken until the very end (raising high_seq), in id order, so
-- concurrent calls overlap until then.
--
-- Plans: the steps run with generic plans (plan_cache_mode =
-- force_generic_plan: planned once per session, not once per call), made
-- from the statistics of that moment. Their cost must not depend on those
-- statistics being right: a database analyzed while nearly empty (a fresh
-- deployment, before the devices were provisioned) once got plans that
-- scanned ue_location and area_cell_verdict in full once per report, 92
-- times slower with 48,000 stored rows (tests/sql/ingest_plan_test.sql).
-- So every table the steps read is reached from the call's own reports: a
-- LATERAL subquery per report keyed by an indexed column, with OFFSET 0 so
-- the planner cannot flatten it into a join it would order by its
-- estimates, and no sequential scan (enable_seqscan = off on the three
-- report steps, lg_ingest_fast, lg_ingest_decide and lg_ingest_fold, and on
-- lg_alerts_to_outbox; every such access has an index). The cost is then
-- one index probe per report and table, whatever the statistics say. Not
-- on lg_ingest itself nor the claim: set there, it holds for every
-- statement nested below (cache check, claim, finish, triggers) and made
-- the ingest through the API markedly slower (b1 81k reports/s against
-- 119-130k/s without, one run each on fresh clusters; which nested
-- statement it slowed was not found).

-- lg_area_cell_verdict: how an authorized area relates to a cell's coverage
-- polygon: 'in' (covers it), 'out' (disjoint) or 'amb' (overlaps). The GEOS
-- work behind it is what area_cell_verdict caches.
CREATE OR REPLACE FUNCTION lg_area_cell_verdict(p_area geometry, p_coverage geometry)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT CASE
               WHEN ST_Covers(p_area, p_coverage) THEN 'in'
               WHEN NOT ST_Intersects(p_area, p_coverage) THEN 'out'
               ELSE 'amb'
           END
$fn$;

-- lg_decision_letter: a decision as the one letter of lg_ingest's cache_dec
-- (service/south/ingest.c reads them): 'i'nside, 'a'mbiguous, 'c' unchecked,
-- 'u'nknown cell, 'o'utside (never offered: an outside decision counts).
CREATE OR REPLACE FUNCTION lg_decision_letter(p_decision text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT CASE p_decision
               WHEN 'inside' THEN 'i'
               WHEN 'ambiguous' THEN 'a'
               WHEN 'unchecked' THEN 'c'
               WHEN 'unknown_cell' THEN 'u'
               WHEN 'outside' THEN 'o'
           END
$fn$;

-- lg_epoch_us: microseconds since the epoch, the unit of p_ts_us. Through
-- double precision, not numeric (extract), which costs several times more:
-- equal to extract's on 2M random times of 2017-2036; later, off by 1 us
-- at times, which moves a refresh boundary by as much.
CREATE OR REPLACE FUNCTION lg_epoch_us(p_ts timestamptz)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT round(date_part('epoch', p_ts) * 1000000)::bigint
$fn$;

-- lg_refresh_share: the share of p_refresh_ms after which a device's row
-- is written again, 0.7525..1 by the last two digits of its IMSI
-- (service/south/ingest_cache.c lg_icache_refresh_us computes the same). Rows
-- written together (after a pause, a burst or a restart) then come due
-- spread over a quarter of the interval, and the spread grows each round,
-- instead of all coming due again together: a write wave that took the
-- ingest from 20 to 80 ms of mean ack latency for seconds. The cost: a
-- device is written every 0.88 refresh_ms on average, not every one.
CREATE OR REPLACE FUNCTION lg_refresh_share(p_supi text)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
    SELECT 1.0 - right(p_supi, 2)::int / 400.0
$fn$;

-- lg_ingest is a short orchestrator over the steps below, each a function
-- that does one thing and is tested on its own (tests/sql/ingest_steps_test.sql):
--
--   lg_ingest_cache_check   the daemon's cache: claim or check ownership, and
--                           refuse reports coalesced at a stale generation
--   lg_ingest_claim         the replay window: each batch's status, and the
--                           accepted batches claimed in node_batch (or, for
--                           keyed ones, node_message)
--   lg_ingest_fast          the fast path: one statement settles the reports
--                           a cached decision applies to, locks every other
--                           known row of the call, hands the rest on
--   lg_ingest_decide        the general decision: every other report decided,
--                           single-report devices written with their alerts
--   lg_ingest_fold          devices with several reports (or a lost race):
--                           each under a row lock, in (time, arrival) order
--   lg_ingest_finish        notifications of the call's alerts, each node's
--                           replay window moved, old message keys deleted
--
-- Every step is linear in the reports it is given (tests/sql/
-- ingest_linear_test.sql measures the ratios).

-- lg_ingest_cache_check: the daemon's cache (migrations/0018_ingest_cache.sql,
-- sql/invalidation.sql). A caller with a token and a NULL generation claims
-- the cache (a daemon's first round trip); a caller whose token is the
-- owner's writes without raising the generation (locguard.ingest_cache_owner
-- is set for the transaction) and is told the generation. Reports the caller
-- coalesced itself (p_cached) are taken only if the generation they were
-- judged at is still the current one: otherwise SQLSTATE LG001. Another
-- token gets is_owner false and a NULL generation.
CREATE OR REPLACE FUNCTION lg_ingest_cache_check(
    p_cache_token text, p_cache_gen bigint, p_cached int[])
RETURNS TABLE (is_owner boolean, cache_gen bigint)
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    n_cached bigint := coalesce((SELECT sum(x) FROM unnest(p_cached) x), 0);
BEGIN
    is_owner := false;
    IF p_cache_token IS NOT NULL THEN
        IF p_cache_gen IS NULL THEN
            UPDATE ingest_cache_owner o SET token = p_cache_token, claimed_at = now()
             WHERE o.one AND o.token IS DISTINCT FROM p_cache_token;
            IF FOUND THEN
                PERFORM nextval('lg_ingest_cache_gen');   -- the previous owner's cache is void
            END IF;
            is_owner := true;
        ELSE
            is_owner := EXISTS (SELECT 1 FROM ingest_cache_owner o
                                 WHERE o.one AND o.token = p_cache_token);
        END IF;
        IF is_owner THEN
            PERFORM set_config('locguard.ingest_cache_owner', 'on', true);
            cache_gen := lg_ingest_cache_gen();
        END IF;
    END IF;
    IF n_cached > 0 AND (NOT is_owner OR cache_gen IS DISTINCT FROM p_cache_gen) THEN
        RAISE EXCEPTION 'the daemon''s ingest cache is stale (generation %, now %)',
                        p_cache_gen, cache_gen
            USING ERRCODE = 'LG001', HINT = 'p_cache_gen';
    END IF;
    RETURN NEXT;
END
$fn$;

-- lg_ingest_claim: the replay window, decided in one statement over the
-- call's batches. Returns each batch's status ('accepted', 'duplicate',
-- 'stale' or 'unknown_node') and, for the accepted ones, its node's id.
-- No node row lock here, so concurrent calls for the same nodes do their
-- report work in parallel; the (node, seq) primary key of node_batch
-- settles a race for the same batch (a batch a concurrent call claimed
-- first is a duplicate after all: the insert waits for that call's
-- COMMIT), and high_seq is raised at the very end (lg_ingest_finish) so its
-- row lock is held only until COMMIT. node_batch.n_reports counts the
-- batch's reports sent and the ones the daemon coalesced (p_cached).
--
-- Three kinds of batch, by what identifies it:
--   * a sequence number (p_seqs; Locguard-Seq of a batching node): stale
--     when at or below the node's high-water mark minus the window, where
--     the mark is the highest of high_seq and the sequence numbers of the
--     node's earlier batches in this call (a stale, duplicate or seen one
--     never raises it: each is at or below it already); a duplicate when
--     node_batch holds it; accepted otherwise, with a node_batch row;
--   * a message key (p_msg_keys: a Diameter request's Origin-Host and
--     End-to-End-Identifier): a duplicate when node_message holds it,
--     accepted otherwise, with a node_message row (never stale: that
--     window is one of time, lg_ingest_finish);
--   * neither (a notification as an AMF sends it, TS 29.518): accepted,
--     with no row at all. Its retry is recognised report by report instead:
--     a report that repeats the device's stored one (same time, node, RAT,
--     cell and position) changes nothing (lg_ingest_fast, _decide, _fold).
-- A batch whose (node, seq) or (node, key) came earlier in this call takes
-- the earlier one's status: 'duplicate' after an accepted or seen one,
-- 'stale' after a stale one. Set-based, so the cost is the same few index
-- probes per batch whatever the mix; a call of the third kind only costs
-- one lookup per node.
DROP FUNCTION IF EXISTS lg_ingest_claim(text[], bigint[], int, int[], int[]);
CREATE OR REPLACE FUNCTION lg_ingest_claim(
    p_nodes text[], p_seqs bigint[], p_seq_window int, p_batch int[], p_cached int[],
    p_msg_keys text[] DEFAULT NULL)
RETURNS TABLE (batch_status text[], batch_node bigint[])
LANGUAGE plpgsql
SET search_path = public
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    n_batches int := coalesce(cardinality(p_nodes), 0);
    win       bigint := greatest(coalesce(p_seq_window, 0), 0);
BEGIN
    IF n_batches = 0 THEN
        batch_status := '{}';
        batch_node := '{}';
        RETURN NEXT;
        RETURN;
    END IF;
    -- Only batches of the third kind (a call of AMF notifications): each
    -- node looked up once, nothing else (the general statement below costs
    -- about 8 us a batch in window functions and materializations).
    IF p_msg_keys IS NULL AND array_position(p_seqs, NULL) IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM unnest(p_seqs) AS s WHERE s IS NOT NULL) THEN
        SELECT array_agg(CASE WHEN n.enabled THEN 'accepted' ELSE 'unknown_node' END
                         ORDER BY x.ord),
               array_agg(CASE WHEN n.enabled THEN n.id END ORDER BY x.ord)
          INTO batch_status, batch_node
          FROM unnest(p_nodes) WITH ORDINALITY AS x(name, ord)
          LEFT JOIN (SELECT n.name, n.id, n.enabled FROM network_node n
                      WHERE n.name = ANY (p_nodes)) n ON n.name = x.name;
        RETURN NEXT;
        RETURN;
    END IF;
    WITH b AS MATERIALIZED (
        SELECT x.ord::int AS ord, x.seq, x.msg_key, n.id AS node_id, n.high_seq,
               coalesce(n.enabled, false) AND (x.seq IS NULL OR x.msg_key IS NULL) AS is_ok,
               first_value(x.ord::int)
                   OVER (PARTITION BY n.id, x.seq, x.msg_key ORDER BY x.ord) AS first_ord,
               max(x.seq) OVER (PARTITION BY n.id ORDER BY x.ord
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_high
          FROM unnest(p_nodes, p_seqs,
                      coalesce(p_msg_keys, array_fill(NULL::text, ARRAY[n_batches])))
               WITH ORDINALITY AS x(name, seq, msg_key, ord)
          LEFT JOIN LATERAL (
              SELECT n.id, n.enabled, n.high_seq FROM network_node n WHERE n.name = x.name
              OFFSET 0
          ) n ON true
    ),
    -- Each batch's own status; NULL for a repeat of an earlier batch of the
    -- call, which takes the first one's (st).
    s AS MATERIALIZED (
        SELECT b.ord, b.seq, b.msg_key, b.node_id,
               CASE
                   WHEN NOT b.is_ok THEN 'unknown_node'
                   WHEN b.seq IS NULL AND b.msg_key IS NULL THEN 'accepted'
                   WHEN b.first_ord <> b.ord THEN NULL
                   WHEN b.msg_key IS NOT NULL THEN
                       CASE WHEN EXISTS (SELECT 1 FROM node_message nm
                                          WHERE nm.node_id = b.node_id
                                            AND nm.msg_key = b.msg_key)
                            THEN 'duplicate' ELSE 'accepted' END
                   WHEN EXISTS (SELECT 1 FROM node_batch nb
                                 WHERE nb.node_id = b.node_id AND nb.seq = b.seq)
                       THEN 'duplicate'
                   WHEN b.seq <= greatest(b.high_seq, b.prev_high) - win THEN 'stale'
                   ELSE 'accepted'
               END AS status0,
               b.first_ord
          FROM b
    ),
    st AS MATERIALIZED (
        SELECT s.ord, s.seq, s.msg_key, s.node_id,
               coalesce(s.status0,
                        CASE first_value(s.status0) OVER (PARTITION BY s.node_id, s.seq,
                                                                      s.msg_key
                                                          ORDER BY s.ord)
                            WHEN 'stale' THEN 'stale' ELSE 'duplicate' END) AS status
          FROM s
    ),
    n_rep AS MATERIALIZED (
        SELECT x AS ord, count(*)::int AS n FROM unnest(p_batch) AS x GROUP BY x
    ),
    claimed_seq AS (
        INSERT INTO node_batch (node_id, seq, n_reports)
        SELECT st.node_id, st.seq, coalesce(c.n, 0) + coalesce(p_cached[st.ord], 0)
          FROM st
          LEFT JOIN n_rep c ON c.ord = st.ord
         WHERE st.status = 'accepted' AND st.seq IS NOT NULL
         ORDER BY st.node_id, st.seq
        ON CONFLICT DO NOTHING
        RETURNING node_id, seq
    ),
    claimed_key AS (
        INSERT INTO node_message (node_id, msg_key, n_reports)
        SELECT st.node_id, st.msg_key, coalesce(c.n, 0) + coalesce(p_cached[st.ord], 0)
          FROM st
          LEFT JOIN n_rep c ON c.ord = st.ord
         WHERE st.status = 'accepted' AND st.msg_key IS NOT NULL
         ORDER BY st.node_id, st.msg_key
        ON CONFLICT DO NOTHING
        RETURNING node_id, msg_key
    ),
    -- A claim a concurrent call made first: a duplicate after all.
    fin AS (
        SELECT st.ord,
               CASE WHEN st.status = 'accepted'
                         AND ((st.seq IS NOT NULL AND cs.seq IS NULL)
                              OR (st.msg_key IS NOT NULL AND ck.msg_key IS NULL))
                    THEN 'duplicate' ELSE st.status END AS status,
               st.node_id
          FROM st
          LEFT JOIN claimed_seq cs ON cs.node_id = st.node_id AND cs.seq = st.seq
          LEFT JOIN claimed_key ck ON ck.node_id = st.node_id AND ck.msg_key = st.msg_key
    )
    SELECT array_agg(fin.status ORDER BY fin.ord),
           array_agg(CASE WHEN fin.status = 'accepted' THEN fin.node_id END ORDER BY fin.ord)
      INTO batch_status, batch_node
      FROM fin;
    RETURN NEXT;
END
$fn$;

-- lg_ingest_fast: the fast path over the reports of the accepted batches
-- (those with a node in p_batch_node). Returns
-- the decisions it settled (f_*), the reports it coalesced (n_coalesced),
-- the rows it offers the daemon's cache (c_ords / c_ts / c_dec, the
-- owner's only) and the reports it leaves to lg_ingest_decide (g_*, in
-- SUPI order), as arrays.
CREATE OR REPLACE FUNCTION lg_ingest_fast(
    p_batch_node   bigint[],  -- per batch: its node when accepted, else NULL (lg_ingest_claim)
    p_batch        int[],     -- per report: 1-based batch index
    p_supi         text[],
    p_ts_us        bigint[],
    p_rat          text[],
    p_cell         text[],
    p_lon          float8[],
    p_lat          float8[],
    p_unc_m        float8[],
    p_hysteresis   int,
    p_refresh_ms   int,
    p_is_owner     boolean)
RETURNS TABLE (f_inside int, f_outside int, f_ambig int, f_unchk int, f_unknown int,
               n_coalesced int, c_ords int[], c_ts bigint[], c_dec text,
               g_ord int[], g_node bigint[], g_supi text[], g_ts timestamptz[], g_rat text[],
               g_cell text[], g_lon float8[], g_lat float8[], g_unc float8[])
LANGUAGE plpgsql
SET search_path = public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    hyst    int := greatest(coalesce(p_hysteresis, 1), 1);
    refresh interval := greatest(coalesce(p_refresh_ms, 0), 0) * interval '1 millisecond';
BEGIN
    -- The fast path, one statement: a report without a position, the only
    -- report of its device in this call (or the newest of uniform reports of
    -- a steady device, see cand), from the cell of the device's cached
    -- decision (made at the current reference epoch), not older than the
    -- stored one and raising no alert, is settled by one update of the
    -- device's row found by its SUPI: the cached decision stands, the
    -- hysteresis runs in the SET list on the row's own values. Everything
    -- else (first reports, other cells, positions, mixed reports of one
    -- device, older reports, alerts) is left to the general statement below.
    --
    -- The same update also locks the row of every other report of the call
    -- whose device it finds: such a row keeps its values and only loses its
    -- cached decision (dec_epoch NULL; the general statement writes a fresh
    -- one). So every row this call writes is locked here, in one pass in
    -- SUPI order, and the statements after it wait for no other call: two
    -- calls cannot deadlock over the rows of devices they share (before, a
    -- row locked here by one call and by the general statement of the other
    -- could). A row a concurrent call changes after this statement's
    -- snapshot is skipped (see up), so no value read earlier can be stale.
    -- A coalesced report's row is read, not locked (see judged).
    -- A row with a cached decision has cell_key = dec_cell and no position
    -- (every writer of dec_cell keeps it so), so a fast report leaves them.
    WITH ep AS MATERIALIZED (
        SELECT e.epoch FROM lg_ref_epoch e WHERE e.one
    ),
    -- Each report with its device's group in the call: how many reports
    -- (n_same) and the newest one (rep_ord: the group's representative).
    rr AS MATERIALIZED (
        SELECT q.*,
               count(*) OVER w AS n_same,
               first_value(q.ord) OVER w AS rep_ord
          FROM (SELECT r.ord::int AS ord, p_batch_node[r.batch] AS node_id,
                       r.supi, r.rat, r.cell,
                       timestamptz 'epoch' + r.ts_us * interval '1 microsecond' AS ts,
                       r.lon, r.lat, r.unc_m,
                       r.lon IS NULL OR r.lat IS NULL AS is_cell_only
                  FROM unnest(p_batch, p_supi, p_ts_us, p_rat, p_cell, p_lon, p_lat, p_unc_m)
                       WITH ORDINALITY AS r(batch, supi, ts_us, rat, cell, lon, lat, unc_m, ord)
                 WHERE p_batch_node[r.batch] IS NOT NULL) q   -- an accepted batch
        WINDOW w AS (PARTITION BY q.supi ORDER BY q.ts DESC, q.ord DESC
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
         ORDER BY q.supi
    ),
    -- The groups of several reports that all say the same thing: cell-only
    -- reports of one cell from one node and RAT (looked at only for devices
    -- with several reports: none in the common call).
    uni AS MATERIALIZED (
        SELECT g.rep_ord
          FROM rr g
         WHERE g.n_same > 1
         GROUP BY g.rep_ord
        HAVING bool_and(g.is_cell_only)
               AND count(g.cell) = count(*) AND min(g.cell) = max(g.cell)
               AND count(g.rat) = count(*) AND min(g.rat) = max(g.rat)
               AND min(g.node_id) = max(g.node_id)
    ),
    -- The device's row as this statement's snapshot sees it, and whether
    -- the report is a fast one, judged once from that version. One row per
    -- device: its group's representative. A device with several reports is
    -- fast only when they are uniform and its row is steady (an inside
    -- decision with the device inside and no outside streak, or a device
    -- that is not checked): applying such reports one by one changes
    -- nothing but the time, so the newest stands for all of them.
    cand AS (
        SELECT f.ord, f.supi, f.ts, f.rat, f.node_id, x.ctid AS loc_ctid, x.decision,
               x.xmax = '0'::xid AS is_untouched,   -- no one updating or locking it
               x.reported_at AS old_ts, x.node_id AS old_node, x.rat AS old_rat,
               x.dec_effective, x.zone_state, x.outside_streak,
               (x.dec_effective IS NULL
                OR (x.dec_effective = 'inside' AND x.zone_state = 'inside'
                    AND x.outside_streak = 0)) AS is_steady,
               -- the stored report again (a node's retry): changes nothing
               x.reported_at = f.ts AND x.node_id IS NOT DISTINCT FROM f.node_id
               AND x.rat IS NOT DISTINCT FROM f.rat AS is_repeat,
               coalesce((f.n_same = 1
                         OR (f.ord IN (SELECT uni.rep_ord FROM uni)   -- hashed once
                             AND (x.dec_effective IS NULL
                                  OR (x.dec_effective = 'inside' AND x.zone_state = 'inside'
                                      AND x.outside_streak = 0))))
                        AND f.is_cell_only
                        AND x.dec_cell = f.cell
                        AND x.dec_epoch = (SELECT ep.epoch FROM ep)
                        AND x.reported_at <= f.ts
                        -- no 'left' and no 'returned' here: alerts take the general path
                        AND NOT (x.dec_effective = 'outside' AND x.outside_streak + 1 >= hyst
                                 AND x.zone_state <> 'outside')
                        AND NOT (x.dec_effective = 'inside' AND x.zone_state = 'outside'),
                        false) AS is_fast
          FROM rr f
          -- per report, one probe of the IMSI index (OFFSET 0 keeps the
          -- lateral: see "Plans" at the top)
          CROSS JOIN LATERAL (
              SELECT x.ctid, x.decision, x.xmax, x.reported_at, x.node_id, x.rat,
                     x.dec_effective, x.zone_state, x.outside_streak, x.dec_cell, x.dec_epoch
                FROM ue_location x
               WHERE x.imsi = f.supi
              OFFSET 0
          ) x
         WHERE f.ord = f.rep_ord
    ),
    -- Coalesced: a fast report that would change nothing but the row's
    -- times (same node and RAT, hysteresis state unchanged), less than
    -- p_refresh_ms after the stored report. Its row is neither written nor
    -- locked. Judged once, here, from the snapshot's version.
    judged AS MATERIALIZED (
        SELECT c.*,
               c.is_fast
               AND (c.is_repeat
                    OR (refresh > interval '0'
                        AND c.ts < c.old_ts + refresh * lg_refresh_share(c.supi)
                        AND c.node_id IS NOT DISTINCT FROM c.old_node
                        AND c.rat IS NOT DISTINCT FROM c.old_rat
                        AND c.is_steady)) AS is_coalesced
          FROM cand c
    ),
    -- The row is updated only if it is still that version (ctid): one that a
    -- concurrent call changed in between is skipped by READ COMMITTED's
    -- recheck and its report left to the general statement, which sees the
    -- newer version (the other call has committed by then).
    up AS (
        UPDATE ue_location l
           SET reported_at = CASE WHEN c.is_fast THEN c.ts ELSE l.reported_at END,
               received_at = CASE WHEN c.is_fast THEN now() ELSE l.received_at END,
               node_id = CASE WHEN c.is_fast THEN c.node_id ELSE l.node_id END,
               rat = CASE WHEN c.is_fast THEN c.rat ELSE l.rat END,
               outside_streak = CASE
                                    WHEN NOT c.is_fast THEN l.outside_streak
                                    WHEN l.dec_effective = 'outside'
                                        THEN least(l.outside_streak + 1, 1000000000)
                                    WHEN l.dec_effective = 'inside' THEN 0
                                    ELSE l.outside_streak
                                END,
               zone_state = CASE
                                WHEN NOT c.is_fast THEN l.zone_state
                                WHEN l.dec_effective = 'outside' AND l.outside_streak + 1 >= hyst
                                    THEN 'outside'
                                WHEN l.dec_effective = 'inside' THEN 'inside'
                                ELSE l.zone_state
                            END,
               dec_epoch = CASE WHEN c.is_fast THEN l.dec_epoch END
          FROM judged c
         WHERE l.ctid = c.loc_ctid AND NOT c.is_coalesced
        RETURNING c.ord, c.is_fast, l.decision, c.ts AS stored_ts,
                  -- the row left is one a repeated report would be coalesced into
                  p_is_owner AND c.is_fast
                  AND (l.dec_effective IS NULL
                       OR (l.dec_effective = 'inside' AND l.zone_state = 'inside'
                           AND l.outside_streak = 0)) AS is_cacheable
    ),
    settled_rep AS MATERIALIZED (
        SELECT up.ord, up.is_fast, up.decision, false AS is_coalesced, up.is_cacheable,
               up.stored_ts
          FROM up
        UNION ALL
        -- A row only read is offered with its stored time, unless someone was
        -- updating or locking it (a newer version may be on its way).
        SELECT j.ord, true, j.decision, true, p_is_owner AND j.is_untouched AND j.is_steady,
               j.old_ts
          FROM judged j
         WHERE j.is_coalesced
    ),
    -- The other reports of a fast device's group are settled with it: the
    -- same decision, counted as coalesced (the representative's write or
    -- read stands for them); not offered to the cache.
    settled AS MATERIALIZED (
        SELECT * FROM settled_rep
        UNION ALL
        SELECT m.ord, true, st.decision, true, false, st.stored_ts
          FROM settled_rep st
          JOIN rr m ON m.rep_ord = st.ord AND m.ord <> st.ord
         WHERE st.is_fast
    ),
    -- What is left for the general statement, handed over as arrays (all
    -- aggregated in one pass, so aligned): it reads these few reports
    -- instead of the call's whole arrays.
    rest AS (
        SELECT array_agg(rr.ord) AS ords, array_agg(rr.node_id) AS nodes,
               array_agg(rr.supi) AS supis, array_agg(rr.ts) AS tss, array_agg(rr.rat) AS rats,
               array_agg(rr.cell) AS cells, array_agg(rr.lon) AS lons,
               array_agg(rr.lat) AS lats, array_agg(rr.unc_m) AS uncs
          FROM rr
         WHERE NOT EXISTS (SELECT 1 FROM settled st WHERE st.ord = rr.ord AND st.is_fast)
    )
    SELECT s.n_in, s.n_out, s.n_amb, s.n_unchk, s.n_unknown, s.n_coal, s.c_ords, s.c_ts, s.c_dec,
           rest.ords, rest.nodes, rest.supis, rest.tss, rest.rats, rest.cells, rest.lons,
           rest.lats, rest.uncs
      INTO f_inside, f_outside, f_ambig, f_unchk, f_unknown, n_coalesced, c_ords, c_ts, c_dec,
           g_ord, g_node, g_supi, g_ts, g_rat, g_cell, g_lon, g_lat, g_unc
      FROM (SELECT count(*) FILTER (WHERE st.is_fast AND st.decision = 'inside') AS n_in,
                   count(*) FILTER (WHERE st.is_fast AND st.decision = 'outside') AS n_out,
                   count(*) FILTER (WHERE st.is_fast AND st.decision = 'ambiguous') AS n_amb,
                   count(*) FILTER (WHERE st.is_fast AND st.decision = 'unchecked') AS n_unchk,
                   count(*) FILTER (WHERE st.is_fast AND st.decision = 'unknown_cell')
                       AS n_unknown,
                   count(*) FILTER (WHERE st.is_coalesced) AS n_coal,
                   -- one aggregate node feeds each row to all three: aligned
                   array_agg(st.ord) FILTER (WHERE st.is_cacheable) AS c_ords,
                   array_agg(lg_epoch_us(st.stored_ts)) FILTER (WHERE st.is_cacheable) AS c_ts,
                   string_agg(lg_decision_letter(st.decision), '')
                       FILTER (WHERE st.is_cacheable) AS c_dec
              FROM settled st) s,
           rest;
    RETURN NEXT;
END
$fn$;

-- lg_ingest_decide: decides every report lg_ingest_fast left (p_*, as it
-- returns them), then in the same statement applies the state machine to
-- the devices that have exactly one report here: one update, one insert
-- (new devices), one alert insert. Returns the counters, the alerts it
-- wrote, the rows it offers the daemon's cache (the owner's only), and the
-- reports left for lg_ingest_fold (m_*): those of devices with several
-- reports, and single reports whose optimistic write lost a race.
CREATE OR REPLACE FUNCTION lg_ingest_decide(
    p_ord        int[],
    p_node       bigint[],
    p_supi       text[],
    p_ts         timestamptz[],
    p_rat        text[],
    p_cell       text[],
    p_lon        float8[],
    p_lat        float8[],
    p_unc        float8[],
    p_hysteresis int,
    p_is_owner   boolean)
RETURNS TABLE (n_inside int, n_outside int, n_ambiguous int, n_unknown_cell int,
               n_unknown_device int, n_unchecked int, n_alerts int, alert_ids bigint[],
               c_ords int[], c_ts bigint[], c_dec text,
               m_ue bigint[], m_ord int[], m_ts timestamptz[], m_node bigint[], m_rat text[],
               m_cell text[], m_lon float8[], m_lat float8[], m_unc float8[], m_dec text[],
               m_eff text[], dec_epoch bigint)
LANGUAGE plpgsql
SET search_path = public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    hyst int := greatest(coalesce(p_hysteresis, 1), 1);
BEGIN
    WITH ep AS MATERIALIZED (
        SELECT e.epoch FROM lg_ref_epoch e WHERE e.one
    ),
    r AS MATERIALIZED (
        SELECT r.ord, r.supi, s.ue_id, s.mobility, s.ambiguous_policy,
               r.ts,
               r.node_id,
               r.rat, r.cell,
               CASE WHEN r.lon IS NOT NULL AND r.lat IS NOT NULL
                    THEN ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END AS pos,
               CASE WHEN r.lon IS NOT NULL AND r.lat IS NOT NULL
                    THEN greatest(coalesce(r.unc_m, 0), 0) END AS unc_m,
               -- the device's stored state, read without a lock (see upd)
               s.l_ue_id IS NOT NULL AS has_old,
               s.loc_ctid,
               s.reported_at AS old_ts,
               -- newer than the stored report, or as old but not the same
               -- report again (a node's retry changes nothing)
               s.reported_at IS NULL OR r.ts > s.reported_at
               OR (r.ts = s.reported_at
                   AND NOT (s.node_id IS NOT DISTINCT FROM r.node_id
                            AND s.rat IS NOT DISTINCT FROM r.rat
                            AND s.cell_key IS NOT DISTINCT FROM r.cell
                            AND ST_X(s.position) IS NOT DISTINCT FROM
                                CASE WHEN r.lat IS NOT NULL THEN r.lon END
                            AND ST_Y(s.position) IS NOT DISTINCT FROM
                                CASE WHEN r.lon IS NOT NULL THEN r.lat END
                            AND s.uncertainty_m IS NOT DISTINCT FROM
                                CASE WHEN r.lon IS NOT NULL AND r.lat IS NOT NULL
                                     THEN greatest(coalesce(r.unc_m, 0), 0) END)) AS is_current,
               coalesce(s.zone_state, 'unknown') AS zone0,
               coalesce(s.outside_streak, 0) AS streak0
          FROM unnest(p_ord, p_node, p_supi, p_ts, p_rat, p_cell, p_lon, p_lat, p_unc)
               AS r(ord, node_id, supi, ts, rat, cell, lon, lat, unc_m)
          -- The device by its IMSI, then its stored state. (The cached
          -- decision is no use here: the first statement settled every
          -- report it applies to and dropped it from the other rows.)
          LEFT JOIN LATERAL (
              SELECT u.id AS ue_id, u.mobility, u.ambiguous_policy, l.ue_id AS l_ue_id,
                     l.ctid AS loc_ctid, l.reported_at, l.zone_state, l.outside_streak,
                     l.node_id, l.rat, l.cell_key, l.position, l.uncertainty_m
                FROM ue u
                LEFT JOIN LATERAL (
                    SELECT l.ue_id, l.ctid, l.reported_at, l.zone_state, l.outside_streak,
                           l.node_id, l.rat, l.cell_key, l.position, l.uncertainty_m
                      FROM ue_location l
                     WHERE l.ue_id = u.id
                    OFFSET 0
                ) l ON true
               WHERE u.imsi = r.supi
              OFFSET 0
          ) s ON true
    ),
    -- One row per (report, authorized area) of the checked devices, with the
    -- area's verdict: 'in' when it covers the evidence, 'out' when disjoint
    -- from it, else 'amb'. A cell's verdict comes from area_cell_verdict when
    -- known, so the common case costs one index probe and no GEOS call; the
    -- area and cell rows are read only on a miss or for a position. Only
    -- verdicts that took GEOS are remembered: a cell whose box is disjoint
    -- from the area's (a device seen far from home) is 'out' from the two
    -- rows alone, and storing it would cost an insert and the foreign-key
    -- row locks on area and cell for a pair that rarely comes back. A
    -- position's evidence is the circle of unc_m metres (geography): inside
    -- when the area covers the point and the point is farther than unc_m from
    -- the boundary, outside when it is farther than unc_m from the area.
    ra AS MATERIALIZED (
        SELECT r.ord, ua.area_id, r.cell,
               coalesce(v.verdict, x.verdict) AS verdict,
               r.pos IS NULL AND v.verdict IS NULL AND x.is_geos AS is_miss,
               r.pos IS NOT NULL OR v.verdict IS NOT NULL OR x.has_cell AS has_evidence
          FROM r
          CROSS JOIN LATERAL (
              SELECT ua.area_id FROM ue_area ua WHERE ua.ue_id = r.ue_id OFFSET 0
          ) ua
          LEFT JOIN LATERAL (
              SELECT v.verdict FROM area_cell_verdict v
               WHERE r.pos IS NULL AND v.area_id = ua.area_id AND v.cell_key = r.cell
              OFFSET 0
          ) v ON true
          LEFT JOIN LATERAL (
              SELECT CASE
                         WHEN r.pos IS NOT NULL THEN
                             CASE
                                 WHEN ST_Covers(a.geom, r.pos)
                                      AND (r.unc_m <= 0
                                           OR NOT ST_DWithin(ST_Boundary(a.geom)::geography,
                                                             r.pos::geography, r.unc_m, false))
                                     THEN 'in'
                                 WHEN NOT ST_DWithin(a.geom::geography, r.pos::geography,
                                                     r.unc_m, false)
                                     THEN 'out'
                                 ELSE 'amb'
                             END
                         WHEN c.cell_key IS NULL THEN NULL
                         WHEN NOT (a.geom && c.coverage) THEN 'out'
                         ELSE lg_area_cell_verdict(a.geom, c.coverage)
                     END AS verdict,
                     c.cell_key IS NOT NULL AS has_cell,
                     r.pos IS NULL AND c.cell_key IS NOT NULL
                         AND a.geom && c.coverage AS is_geos
                FROM area a
                LEFT JOIN LATERAL (
                    SELECT c.cell_key, c.coverage FROM cell c
                     WHERE r.pos IS NULL AND c.cell_key = r.cell
                    OFFSET 0
                ) c ON true
               WHERE a.id = ua.area_id AND v.verdict IS NULL
              OFFSET 0
          ) x ON true
         WHERE r.ue_id IS NOT NULL AND r.mobility <> 'unrestricted'
    ),
    remember AS (
        INSERT INTO area_cell_verdict (area_id, cell_key, verdict)
        SELECT DISTINCT ra.area_id, ra.cell, ra.verdict
          FROM ra
         WHERE ra.is_miss
         ORDER BY ra.area_id, ra.cell
        ON CONFLICT DO NOTHING
    ),
    rep AS MATERIALIZED (
        SELECT r.ord, r.supi, r.ue_id, r.ambiguous_policy, r.ts, r.node_id, r.rat, r.cell,
               r.pos, r.unc_m, r.has_old, r.loc_ctid, r.old_ts, r.is_current, r.zone0,
               r.streak0,
               CASE
                   WHEN r.ue_id IS NULL THEN NULL
                   WHEN r.pos IS NULL AND NOT coalesce(d.has_evidence, ck.has_cell, false)
                       THEN 'unknown_cell'
                   WHEN d.ord IS NULL THEN 'unchecked'      -- unrestricted, or no area
                   WHEN d.is_any_in THEN 'inside'
                   WHEN d.is_all_out THEN 'outside'
                   ELSE 'ambiguous'
               END AS decision
          FROM r
          LEFT JOIN (SELECT ra.ord,
                            bool_or(ra.has_evidence) AS has_evidence,
                            bool_or(ra.verdict = 'in') AS is_any_in,
                            bool_and(ra.verdict = 'out') AS is_all_out
                       FROM ra
                      GROUP BY ra.ord) d ON d.ord = r.ord
          -- Unchecked devices still need to know whether the cell exists.
          LEFT JOIN LATERAL (
              SELECT true AS has_cell FROM cell c
               WHERE c.cell_key = r.cell AND r.pos IS NULL AND d.ord IS NULL
              OFFSET 0                                  -- keep the gate: no probe otherwise
          ) ck ON true
    ),
    -- Devices with several reports in this call (hashing the ids is cheaper
    -- than sorting the wide report rows by device).
    several AS MATERIALIZED (
        SELECT rep.ue_id FROM rep WHERE rep.ue_id IS NOT NULL
         GROUP BY rep.ue_id HAVING count(*) > 1
    ),
    known AS (
        SELECT rep.*,
               CASE
                   WHEN rep.decision = 'inside' THEN 'inside'
                   WHEN rep.decision = 'outside' THEN 'outside'
                   WHEN rep.decision = 'ambiguous' THEN rep.ambiguous_policy
               END AS effective,
               CASE WHEN s.ue_id IS NULL THEN 1 ELSE 2 END AS n_dev   -- 2 = several
          FROM rep
          LEFT JOIN several s ON s.ue_id = rep.ue_id
         WHERE rep.ue_id IS NOT NULL
    ),
    -- The state machine for devices with one report here, from the state
    -- read without a lock (see r). A report older than the stored one
    -- changes nothing.
    next AS MATERIALIZED (
        SELECT k.*,
               CASE k.effective
                   WHEN 'outside' THEN least(k.streak0 + 1, 1000000000)
                   WHEN 'inside' THEN 0
                   ELSE k.streak0
               END AS streak1,
               CASE
                   WHEN k.effective = 'outside' AND k.streak0 + 1 >= hyst THEN 'outside'
                   WHEN k.effective = 'inside' THEN 'inside'
                   ELSE k.zone0
               END AS zone1,
               CASE
                   WHEN k.effective = 'outside' AND k.streak0 + 1 >= hyst
                        AND k.zone0 <> 'outside' THEN 'left'
                   WHEN k.effective = 'inside' AND k.zone0 = 'outside' THEN 'returned'
               END AS alert_kind
          FROM known k
         WHERE k.n_dev = 1 AND k.is_current
         ORDER BY k.ue_id                          -- row locks in id order
    ),
    -- Optimistic write: update only rows still in the state we read. A row a
    -- concurrent call changed in between fails the check (READ COMMITTED
    -- re-evaluates it on the new version) and is redone under a row lock
    -- by the fold below; so does a new device a concurrent call inserted.
    -- The row is reached by the ctid read above (no second index probe).
    -- A decision made from a cell is cached with the epoch it was made at.
    upd AS (
        UPDATE ue_location l
           SET reported_at = n.ts, received_at = now(), node_id = n.node_id, rat = n.rat,
               cell_key = n.cell, position = n.pos, uncertainty_m = n.unc_m,
               -- when the cell changes (migrations/0027: the continual release)
               cell_since = CASE WHEN l.cell_key IS DISTINCT FROM n.cell THEN now()
                                 ELSE l.cell_since END,
               decision = n.decision, zone_state = n.zone1, outside_streak = n.streak1,
               imsi = n.supi,
               dec_cell = CASE WHEN n.pos IS NULL THEN n.cell END,
               dec_epoch = CASE WHEN n.pos IS NULL THEN (SELECT ep.epoch FROM ep) END,
               dec_effective = n.effective
          FROM next n
         WHERE n.has_old AND l.ctid = n.loc_ctid AND l.ue_id = n.ue_id
           AND l.reported_at = n.old_ts AND l.zone_state = n.zone0
           AND l.outside_streak = n.streak0
        RETURNING l.ue_id
    ),
    ins AS (
        INSERT INTO ue_location (ue_id, reported_at, received_at, node_id, rat, cell_key,
                                 cell_since, position, uncertainty_m, decision, zone_state,
                                 outside_streak, imsi, dec_cell, dec_epoch, dec_effective)
        SELECT n.ue_id, n.ts, now(), n.node_id, n.rat, n.cell, now(), n.pos, n.unc_m, n.decision,
               n.zone1, n.streak1, n.supi,
               CASE WHEN n.pos IS NULL THEN n.cell END,
               CASE WHEN n.pos IS NULL THEN (SELECT ep.epoch FROM ep) END,
               n.effective
          FROM next n
         WHERE NOT n.has_old
         ORDER BY n.ue_id
        ON CONFLICT (ue_id) DO NOTHING
        RETURNING ue_id
    ),
    done AS MATERIALIZED (
        SELECT ue_id FROM upd UNION ALL SELECT ue_id FROM ins
    ),
    -- Written rows a repeated report would be coalesced into, for the
    -- daemon's cache (its owner only).
    cacheable AS MATERIALIZED (
        SELECT array_agg(n.ord) AS ords, array_agg(lg_epoch_us(n.ts)) AS tss,
               string_agg(lg_decision_letter(n.decision), '') AS decs   -- aligned, as above
          FROM next n
          JOIN done d ON d.ue_id = n.ue_id
         WHERE p_is_owner AND n.pos IS NULL
           AND (n.effective IS NULL
                OR (n.effective = 'inside' AND n.zone1 = 'inside' AND n.streak1 = 0))
    ),
    alerts AS (
        INSERT INTO alert (ue_id, kind, reported_at, node_id, rat, cell_key, position,
                           uncertainty_m)
        SELECT n.ue_id, n.alert_kind, n.ts, n.node_id, n.rat, n.cell, n.pos, n.unc_m
          FROM next n
          JOIN done d ON d.ue_id = n.ue_id
         WHERE n.alert_kind IS NOT NULL
        RETURNING id
    ),
    alert_agg AS MATERIALIZED (
        SELECT count(*)::int AS n, array_agg(alerts.id) AS ids FROM alerts
    )
    SELECT c.n_inside, c.n_outside, c.n_ambiguous, c.n_unknown_cell, c.n_unknown_device,
           c.n_unchecked,
           (SELECT alert_agg.n FROM alert_agg),
           (SELECT alert_agg.ids FROM alert_agg),
           (SELECT cacheable.ords FROM cacheable),
           (SELECT cacheable.tss FROM cacheable),
           (SELECT cacheable.decs FROM cacheable),
           fold.ues, fold.ords, fold.tss, fold.nodes, fold.rats, fold.cells, fold.lons, fold.lats,
           fold.uncs, fold.decs, fold.effs, (SELECT ep.epoch FROM ep)
      FROM (SELECT count(*) FILTER (WHERE rep.decision = 'inside') AS n_inside,
                   count(*) FILTER (WHERE rep.decision = 'outside') AS n_outside,
                   count(*) FILTER (WHERE rep.decision = 'ambiguous') AS n_ambiguous,
                   count(*) FILTER (WHERE rep.decision = 'unknown_cell') AS n_unknown_cell,
                   count(*) FILTER (WHERE rep.ue_id IS NULL) AS n_unknown_device,
                   count(*) FILTER (WHERE rep.decision = 'unchecked') AS n_unchecked
              FROM rep) c,
           -- Left for the fold: devices with several reports, and single
           -- reports whose optimistic write lost a race (all aggregated in
           -- one node: aligned).
           (SELECT array_agg(k.ue_id) AS ues, array_agg(k.ord) AS ords, array_agg(k.ts) AS tss,
                   array_agg(k.node_id) AS nodes, array_agg(k.rat) AS rats,
                   array_agg(k.cell) AS cells, array_agg(ST_X(k.pos)) AS lons,
                   array_agg(ST_Y(k.pos)) AS lats, array_agg(k.unc_m) AS uncs,
                   array_agg(k.decision) AS decs, array_agg(k.effective) AS effs
              FROM known k
             WHERE k.n_dev > 1
                OR (k.n_dev = 1 AND k.is_current
                    AND k.ue_id NOT IN (SELECT d.ue_id FROM done d))) fold
      INTO n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, n_unchecked,
           n_alerts, alert_ids, c_ords, c_ts, c_dec,
           m_ue, m_ord, m_ts, m_node, m_rat, m_cell, m_lon, m_lat, m_unc, m_dec, m_eff,
           dec_epoch;
    RETURN NEXT;
END
$fn$;

-- lg_ingest_fold: the reports of devices with several reports in the call
-- (or whose optimistic write lost a race), as lg_ingest_decide returns
-- them: each device under a row lock, its reports in (timestamp, arrival)
-- order through the hysteresis state machine; a report older than the
-- stored one is counted only. Writes each alert as it is raised, and each
-- device's state after its newest report with one upsert at the end: the
-- state is appended to the f_ arrays when the walk leaves the device (in
-- place), so the fold is linear in its reports. Returns the alerts.
CREATE OR REPLACE FUNCTION lg_ingest_fold(
    p_ue bigint[], p_ord int[], p_ts timestamptz[], p_node bigint[], p_rat text[],
    p_cell text[], p_lon float8[], p_lat float8[], p_unc float8[], p_dec text[],
    p_eff text[], p_hysteresis int, p_epoch bigint)
RETURNS TABLE (n_alerts int, alert_ids bigint[])
LANGUAGE plpgsql
SET search_path = public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    hyst       int := greatest(coalesce(p_hysteresis, 1), 1);
    m          record;
    -- the device being walked, and its state after the reports so far
    m_ue       bigint;
    m_pending  boolean := false;   -- it has a report to store
    m_ts       timestamptz;
    m_zone     text;
    m_streak   int;
    m_alert    text;
    m_alert_id bigint;
    m_node     bigint;
    m_rat      text;
    m_cell     text;
    m_lon      float8;
    m_lat      float8;
    m_unc      float8;
    m_dec      text;
    m_eff      text;
    -- the result, one element per device (appended in place: linear)
    f_ue       bigint[] := '{}';
    f_ts       timestamptz[] := '{}';
    f_node     bigint[] := '{}';
    f_rat      text[] := '{}';
    f_cell     text[] := '{}';
    f_lon      float8[] := '{}';
    f_lat      float8[] := '{}';
    f_unc      float8[] := '{}';
    f_dec      text[] := '{}';
    f_eff      text[] := '{}';
    f_zone     text[] := '{}';
    f_streak   int[] := '{}';
BEGIN
    n_alerts := 0;
    -- One row more than the reports, with no device, comes last: leaving the
    -- last device stores it like any other.
    FOR m IN
        SELECT *
          FROM (SELECT x.*
                  FROM unnest(p_ue, p_ord, p_ts, p_node, p_rat, p_cell, p_lon, p_lat, p_unc,
                              p_dec, p_eff)
                       AS x(ue_id, ord, ts, node_id, rat, cell, lon, lat, unc_m, decision,
                            effective)
                UNION ALL
                SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) x
         ORDER BY x.ue_id NULLS LAST, x.ts, x.ord
    LOOP
        IF m.ue_id IS DISTINCT FROM m_ue THEN
            IF m_pending THEN
                f_ue := f_ue || m_ue;           f_ts := f_ts || m_ts;
                f_node := f_node || m_node;     f_rat := f_rat || m_rat;
                f_cell := f_cell || m_cell;     f_lon := f_lon || m_lon;
                f_lat := f_lat || m_lat;        f_unc := f_unc || m_unc;
                f_dec := f_dec || m_dec;        f_eff := f_eff || m_eff;
                f_zone := f_zone || m_zone;
                f_streak := f_streak || m_streak;
            END IF;
            EXIT WHEN m.ue_id IS NULL;
            m_pending := false;
            m_ue := m.ue_id;
            SELECT l.reported_at, l.zone_state, l.outside_streak, l.node_id, l.rat,
                   l.cell_key, ST_X(l.position), ST_Y(l.position), l.uncertainty_m
              INTO m_ts, m_zone, m_streak, m_node, m_rat, m_cell, m_lon, m_lat, m_unc
              FROM ue_location l WHERE l.ue_id = m_ue
               FOR UPDATE;
            IF NOT FOUND THEN
                m_ts := NULL;
                m_zone := 'unknown';
                m_streak := 0;
            END IF;
        END IF;
        -- older, or the newest so far again (a node's retry): counted only
        CONTINUE WHEN m_ts IS NOT NULL
                      AND (m.ts < m_ts
                           OR (m.ts = m_ts AND m.node_id IS NOT DISTINCT FROM m_node
                               AND m.rat IS NOT DISTINCT FROM m_rat
                               AND m.cell IS NOT DISTINCT FROM m_cell
                               AND m.lon IS NOT DISTINCT FROM m_lon
                               AND m.lat IS NOT DISTINCT FROM m_lat
                               AND m.unc_m IS NOT DISTINCT FROM m_unc));
        m_alert := NULL;
        IF m.effective = 'outside' THEN
            m_streak := least(m_streak + 1, 1000000000);
            IF m_streak >= hyst AND m_zone <> 'outside' THEN
                m_zone := 'outside';
                m_alert := 'left';
            END IF;
        ELSIF m.effective = 'inside' THEN
            IF m_zone = 'outside' THEN
                m_alert := 'returned';
            END IF;
            m_zone := 'inside';
            m_streak := 0;
        END IF;
        IF m_alert IS NOT NULL THEN
            INSERT INTO alert (ue_id, kind, reported_at, node_id, rat, cell_key, position,
                               uncertainty_m)
            VALUES (m.ue_id, m_alert, m.ts, m.node_id, m.rat, m.cell,
                    CASE WHEN m.lon IS NOT NULL
                         THEN ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326) END,
                    m.unc_m)
            RETURNING id INTO m_alert_id;
            alert_ids := alert_ids || m_alert_id;
            n_alerts := n_alerts + 1;
        END IF;
        -- The newest report so far and the state after it.
        m_pending := true;
        m_ts := m.ts;      m_node := m.node_id; m_rat := m.rat;   m_cell := m.cell;
        m_lon := m.lon;    m_lat := m.lat;      m_unc := m.unc_m; m_dec := m.decision;
        m_eff := m.effective;
    END LOOP;

    -- Each device's state after its newest report, with the decision of
    -- that report cached as lg_ingest_decide caches it (made from a cell at
    -- p_epoch, the epoch lg_ingest_decide read): the device's next uniform
    -- reports take the fast path. Without p_epoch nothing is cached.

    INSERT INTO ue_location AS l (ue_id, reported_at, received_at, node_id, rat, cell_key,
                                  cell_since, position, uncertainty_m, decision, zone_state,
                                  outside_streak, imsi, dec_cell, dec_epoch, dec_effective)
    SELECT f.ue_id, f.ts, now(), f.node_id, f.rat, f.cell, now(),
           CASE WHEN f.lon IS NOT NULL
                THEN ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326) END,
           f.unc_m, f.decision, f.zone, f.streak,
           -- the IMSI the fast path finds the row by (an IMSI changed since
           -- p_epoch raised the epoch: the row is then not current anyway)
           CASE WHEN f.lon IS NULL AND p_epoch IS NOT NULL
                THEN (SELECT u.imsi FROM ue u WHERE u.id = f.ue_id) END,
           CASE WHEN f.lon IS NULL AND p_epoch IS NOT NULL THEN f.cell END,
           CASE WHEN f.lon IS NULL THEN p_epoch END,
           CASE WHEN f.lon IS NULL AND p_epoch IS NOT NULL THEN f.eff END
      FROM unnest(f_ue, f_ts, f_node, f_rat, f_cell, f_lon, f_lat, f_unc, f_dec,
                  f_eff, f_zone, f_streak)
           AS f(ue_id, ts, node_id, rat, cell, lon, lat, unc_m, decision, eff, zone, streak)
     ORDER BY f.ue_id
    ON CONFLICT (ue_id) DO UPDATE
       SET reported_at = excluded.reported_at,
           received_at = excluded.received_at,
           node_id = excluded.node_id,
           rat = excluded.rat,
           cell_key = excluded.cell_key,
           -- when the cell changes (migrations/0027: the continual release)
           cell_since = CASE WHEN l.cell_key IS DISTINCT FROM excluded.cell_key
                             THEN excluded.cell_since ELSE l.cell_since END,
           position = excluded.position,
           uncertainty_m = excluded.uncertainty_m,
           decision = excluded.decision,
           zone_state = excluded.zone_state,
           outside_streak = excluded.outside_streak,
           imsi = coalesce(excluded.imsi, l.imsi),
           dec_cell = excluded.dec_cell, dec_epoch = excluded.dec_epoch,
           dec_effective = excluded.dec_effective;
    RETURN NEXT;
END
$fn$;

-- lg_ingest_finish: the call's alerts become notifications for the
-- subscribed SCSs, in this transaction (lg_alerts_to_outbox, sql/outbox.sql:
-- only the alert rows are looked at). Then, per node that moved ahead:
-- high_seq raised and the batches that left the window deleted, the range
-- (old high - window, new high - window] (earlier calls deleted everything
-- below; bounding the range keeps the index scan off dead rows vacuum has
-- not removed yet). Last, in id order: these row locks serialize calls for
-- the same node until COMMIT. A call that claimed message keys also deletes
-- the keys older than p_msg_window_s (node_message, the duplicate window).
DROP FUNCTION IF EXISTS lg_ingest_finish(text[], bigint[], bigint[], int, bigint[]);
CREATE OR REPLACE FUNCTION lg_ingest_finish(
    p_status     text[],    -- per batch: its status (lg_ingest_claim)
    p_batch_node bigint[],  -- per batch: its node, when accepted
    p_seqs       bigint[],  -- per batch: its sequence number (NULL for a keyed batch)
    p_seq_window int,
    p_alert_ids  bigint[],
    p_msg_keys   text[] DEFAULT NULL,  -- per batch: its message key, or NULL
    p_msg_window_s int DEFAULT 600)    -- seconds a message key is remembered
RETURNS void
LANGUAGE plpgsql
SET search_path = public
AS $fn$
DECLARE
    win      bigint := greatest(coalesce(p_seq_window, 0), 0);
    cur_high bigint;
    b        record;
BEGIN
    IF p_alert_ids IS NOT NULL THEN
        PERFORM lg_alerts_to_outbox(p_alert_ids);
    END IF;

    FOR b IN
        SELECT x.node_id AS id, max(x.seq) AS new_high
          FROM unnest(p_status, p_batch_node, p_seqs) AS x(status, node_id, seq)
         WHERE x.status = 'accepted' AND x.seq IS NOT NULL
         GROUP BY x.node_id
         ORDER BY x.node_id
    LOOP
        SELECT n.high_seq INTO cur_high FROM network_node n WHERE n.id = b.id
           FOR NO KEY UPDATE;                   -- compatible with the FK key-share locks
        CONTINUE WHEN NOT FOUND OR b.new_high <= cur_high;
        UPDATE network_node SET high_seq = b.new_high WHERE id = b.id;
        DELETE FROM node_batch
         WHERE node_id = b.id AND seq > cur_high - win AND seq <= b.new_high - win;
    END LOOP;

    IF EXISTS (SELECT 1 FROM unnest(p_status, p_msg_keys) AS x(status, msg_key)
                WHERE x.status = 'accepted' AND x.msg_key IS NOT NULL) THEN
        DELETE FROM node_message
         WHERE created_at < now() - make_interval(secs => greatest(coalesce(p_msg_window_s, 0),
                                                                    0));
    END IF;
END
$fn$;

-- lg_ingest: ingest one group of batches; returns one row with the status of
-- each batch and the counters of the reports of the accepted batches. A
-- batch has a sequence number (p_seqs) or a message key (p_msg_keys), not
-- both (lg_ingest_claim).
DROP FUNCTION IF EXISTS lg_ingest(text[], bigint[], int, int, int[], text[], bigint[], text[],
                                  text[], float8[], float8[], float8[], int, text, bigint, int[]);
CREATE OR REPLACE FUNCTION lg_ingest(
    p_nodes      text[],    -- per batch: node name (from the client certificate)
    p_seqs       bigint[],  -- per batch: the node's batch sequence number
    p_seq_window int,       -- replay window size
    p_hysteresis int,       -- consecutive outside decisions before a 'left' alert
    p_batch      int[],     -- per report: 1-based index into p_nodes / p_seqs
    p_supi       text[],    -- per report: IMSI digits
    p_ts_us      bigint[],  -- per report: report time, microseconds since the epoch
    p_rat        text[],    -- per report: 'EUTRA' | 'NR' | 'UTRA' | 'GERA'
    p_cell       text[],    -- per report: canonical cell key
    p_lon        float8[],  -- per report: longitude or NULL
    p_lat        float8[],  -- per report: latitude or NULL
    p_unc_m      float8[],  -- per report: uncertainty radius in metres or NULL
    p_refresh_ms int DEFAULT 0,  -- coalescing interval (see above); 0: write every report
    p_cache_token text DEFAULT NULL,  -- the daemon's cache token (see "The daemon's cache")
    p_cache_gen  bigint DEFAULT NULL, -- generation its cache was judged at (0: none yet);
                                      -- NULL: claim the cache
    p_cached     int[] DEFAULT NULL,  -- per batch: reports the daemon coalesced, not sent
    p_msg_keys   text[] DEFAULT NULL, -- per batch: its message key (Diameter: Origin-Host and
                                      -- End-to-End-Identifier), NULL for a sequenced batch
    p_msg_window_s int DEFAULT 600)   -- seconds a message key is remembered
RETURNS TABLE (batch_status text[], n_inside int, n_outside int, n_ambiguous int,
               n_unknown_cell int, n_unknown_device int, n_unchecked int, n_alerts int,
               n_coalesced int, cache_gen bigint, cache_ords int[], cache_ts bigint[],
               cache_dec text)
LANGUAGE plpgsql
SET search_path = public
-- Custom plans for 1000-element arrays pick hash joins that scan whole tables;
-- the generic plans (nested loops over the primary keys) are the fast ones,
-- whatever the server's setting.
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    n_batches  int := coalesce(cardinality(p_nodes), 0);
    n_reports  int := coalesce(cardinality(p_batch), 0);
    hyst       int := greatest(coalesce(p_hysteresis, 1), 1);
    status     text[];
    nodes      bigint[];
    is_owner   boolean;
    fr         record;     -- lg_ingest_fast's answer
    dr         record;     -- lg_ingest_decide's
    fo         record;     -- lg_ingest_fold's
    alert_ids  bigint[];
    c_ords     int[];
    c_ts       bigint[];
    c_dec      text;
BEGIN
    IF coalesce(cardinality(p_seqs), 0) <> n_batches THEN
        RAISE EXCEPTION 'p_nodes and p_seqs differ in length'
            USING ERRCODE = '22023', HINT = 'p_seqs';
    END IF;
    IF coalesce(cardinality(p_supi), 0) <> n_reports
       OR coalesce(cardinality(p_ts_us), 0) <> n_reports
       OR coalesce(cardinality(p_rat), 0) <> n_reports
       OR coalesce(cardinality(p_cell), 0) <> n_reports
       OR coalesce(cardinality(p_lon), 0) <> n_reports
       OR coalesce(cardinality(p_lat), 0) <> n_reports
       OR coalesce(cardinality(p_unc_m), 0) <> n_reports THEN
        RAISE EXCEPTION 'report arrays differ in length'
            USING ERRCODE = '22023', HINT = 'p_batch';
    END IF;
    IF p_msg_keys IS NOT NULL AND cardinality(p_msg_keys) <> n_batches THEN
        RAISE EXCEPTION 'p_msg_keys must hold one key or NULL per batch'
            USING ERRCODE = '22023', HINT = 'p_msg_keys';
    END IF;
    IF p_cached IS NOT NULL AND (cardinality(p_cached) <> n_batches
                                 OR EXISTS (SELECT 1 FROM unnest(p_cached) x
                                             WHERE x IS NULL OR x < 0)) THEN
        RAISE EXCEPTION 'p_cached must hold one count >= 0 per batch'
            USING ERRCODE = '22023', HINT = 'p_cached';
    END IF;

    SELECT c.is_owner, c.cache_gen INTO is_owner, cache_gen
      FROM lg_ingest_cache_check(p_cache_token, p_cache_gen, p_cached) c;

    batch_status := array_fill('unknown_node'::text, ARRAY[n_batches]);
    n_inside := 0; n_outside := 0; n_ambiguous := 0; n_unknown_cell := 0;
    n_unknown_device := 0; n_unchecked := 0; n_alerts := 0; n_coalesced := 0;
    IF n_batches = 0 THEN
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT c.batch_status, c.batch_node INTO status, nodes
      FROM lg_ingest_claim(p_nodes, p_seqs, p_seq_window, p_batch, p_cached, p_msg_keys) c;
    batch_status := status;
    IF NOT ('accepted' = ANY (status)) THEN
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT * INTO fr
      FROM lg_ingest_fast(nodes, p_batch, p_supi, p_ts_us, p_rat, p_cell, p_lon, p_lat,
                          p_unc_m, hyst, p_refresh_ms, is_owner);
    n_coalesced := fr.n_coalesced;
    c_ords := fr.c_ords;
    c_ts := fr.c_ts;
    c_dec := fr.c_dec;

    IF fr.g_ord IS NOT NULL THEN
        SELECT * INTO dr
          FROM lg_ingest_decide(fr.g_ord, fr.g_node, fr.g_supi, fr.g_ts, fr.g_rat, fr.g_cell,
                                fr.g_lon, fr.g_lat, fr.g_unc, hyst, is_owner);
        n_inside := dr.n_inside;
        n_outside := dr.n_outside;
        n_ambiguous := dr.n_ambiguous;
        n_unknown_cell := dr.n_unknown_cell;
        n_unknown_device := dr.n_unknown_device;
        n_unchecked := dr.n_unchecked;
        n_alerts := dr.n_alerts;
        alert_ids := dr.alert_ids;
        c_ords := c_ords || dr.c_ords;
        c_ts := c_ts || dr.c_ts;
        c_dec := coalesce(c_dec, '') || coalesce(dr.c_dec, '');

        IF dr.m_ue IS NOT NULL THEN
            SELECT * INTO fo
              FROM lg_ingest_fold(dr.m_ue, dr.m_ord, dr.m_ts, dr.m_node, dr.m_rat, dr.m_cell,
                                  dr.m_lon, dr.m_lat, dr.m_unc, dr.m_dec, dr.m_eff, hyst,
                                  dr.dec_epoch);
            n_alerts := n_alerts + fo.n_alerts;
            alert_ids := alert_ids || fo.alert_ids;
        END IF;
    END IF;
    n_inside := n_inside + fr.f_inside;
    n_outside := n_outside + fr.f_outside;
    n_ambiguous := n_ambiguous + fr.f_ambig;
    n_unchecked := n_unchecked + fr.f_unchk;
    n_unknown_cell := n_unknown_cell + fr.f_unknown;
    IF is_owner THEN
        cache_ords := coalesce(c_ords, '{}');
        cache_ts := coalesce(c_ts, '{}');
        cache_dec := coalesce(c_dec, '');
    END IF;

    PERFORM lg_ingest_finish(status, nodes, p_seqs, p_seq_window, alert_ids, p_msg_keys,
                             p_msg_window_s);
    RETURN NEXT;
END
$fn$;
