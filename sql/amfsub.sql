-- SPDX-License-Identifier: Apache-2.0
--
-- The chunks of the AMF subscriptions (service/south/amfsub.c,
-- migrations/0028_amf_chunk.sql, migrations/0029_amf_chunk_dirty.sql): the
-- daemon calls amf_chunk_sync when amf_device_version moved, then reads the
-- members of the chunks whose version changed. A device keeps its chunk
-- while provisioned: a removed device leaves its chunk, a new one goes to
-- the lowest chunk with room (a new chunk, at the lowest free number, when
-- every chunk is full), so one provisioning change touches one chunk.
--
-- A sync costs what changed, not the device table: triggers on ue
-- (sql/invalidation.sql, amf_chunk_mark) queue the IMSIs provisioned,
-- removed or renamed in amf_chunk_dirty, and the sync looks at those only
-- (amf_chunk_apply). It reads the whole device table (amf_chunk_rebuild)
-- only when it must: the first sync (amf_chunk_layout.per is NULL), after a
-- TRUNCATE of ue (a queued row with no IMSI), and when
-- supis_per_subscription differs from the last full pass's.
--
-- Compaction: while the chunks have room for two chunks' worth of devices
-- or more (chunks >= ceil(devices / per) + 2), each sync empties the chunk
-- with the fewest devices into the lowest other chunks with room
-- (amf_chunk_compact): at most per devices move, the emptied chunk's
-- subscriptions are deleted at every AMF and the chunks that took its
-- devices are patched. A sync of queued IMSIs takes one such step; a full
-- pass takes steps until the rule no longer holds (within a bound, see
-- amf_chunk_sync).

-- amf_chunk_drop: removes the members that are no longer devices, and
-- those beyond p_per in their chunk (supis_per_subscription was changed;
-- they are placed again by amf_chunk_fill). Reads the whole device table.
-- Returns the chunks touched.
CREATE OR REPLACE FUNCTION amf_chunk_drop(p_per int) RETURNS SETOF int
LANGUAGE sql AS $$
    WITH over AS (
        SELECT x.imsi
          FROM amf_chunk c
          JOIN LATERAL (SELECT m.imsi FROM amf_chunk_member m WHERE m.chunk = c.chunk
                         ORDER BY m.imsi OFFSET p_per) x ON true
         WHERE c.n_devices > p_per),
    removed AS (
        SELECT m.imsi FROM amf_chunk_member m
         WHERE NOT EXISTS (SELECT 1 FROM ue u WHERE u.imsi = m.imsi)
        UNION
        SELECT imsi FROM over),
    gone AS (
        DELETE FROM amf_chunk_member m USING removed r WHERE m.imsi = r.imsi
        RETURNING m.chunk)
    SELECT DISTINCT chunk FROM gone;
$$;

-- amf_chunk_place: puts the IMSIs p_imsis (distinct, each a device in no
-- chunk: the caller's to check), in IMSI order, into the chunks with room
-- (sizes from amf_chunk): the existing ones first, lowest first, then new
-- chunks at the lowest numbers no chunk has. Reads amf_chunk, not the
-- members: the work is the chunks plus the IMSIs placed. Returns each
-- chunk touched with the number of devices it got; amf_chunk is the
-- caller's to update.
CREATE OR REPLACE FUNCTION amf_chunk_place(p_per int, p_imsis text[])
RETURNS TABLE (chunk int, delta int)
LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT f.imsi, row_number() OVER (ORDER BY f.imsi COLLATE "C") AS k
          FROM unnest(p_imsis) AS f(imsi)),
    n_fresh AS (SELECT count(*) AS n FROM fresh),
    room AS (
        SELECT g.chunk, c.chunk IS NULL AS is_new, p_per - coalesce(c.n_devices, 0) AS room
          FROM n_fresh,
               generate_series(0, (SELECT coalesce(max(x.chunk), -1) FROM amf_chunk x)
                                  + (n_fresh.n / p_per)::int + 1) AS g(chunk)
          LEFT JOIN amf_chunk c ON c.chunk = g.chunk
         WHERE n_fresh.n > 0 AND coalesce(c.n_devices, 0) < p_per),
    span AS (
        SELECT r.chunk, r.room,
               sum(r.room) OVER (ORDER BY r.is_new, r.chunk) - r.room AS before
          FROM room r),
    slot AS (
        SELECT s.chunk, s.before + i AS k
          FROM span s, n_fresh, generate_series(1, least(s.room, n_fresh.n - s.before)) AS i
         WHERE s.before < n_fresh.n),
    placed AS (
        INSERT INTO amf_chunk_member (imsi, chunk)
        SELECT f.imsi, slot.chunk FROM fresh f JOIN slot USING (k)
        RETURNING amf_chunk_member.chunk)
    SELECT p.chunk, count(*)::int FROM placed p GROUP BY p.chunk;
$$;

-- amf_chunk_fill: places every device in no chunk (amf_chunk_place). Reads
-- the whole device table. Returns the chunks touched.
CREATE OR REPLACE FUNCTION amf_chunk_fill(p_per int) RETURNS SETOF int
LANGUAGE sql AS $$
    SELECT p.chunk
      FROM amf_chunk_place(p_per, ARRAY(
               SELECT u.imsi FROM ue u
                WHERE NOT EXISTS (SELECT 1 FROM amf_chunk_member m WHERE m.imsi = u.imsi))) p;
$$;

-- amf_chunk_count: recounts the chunks p_chunks, each with a new version;
-- an empty one is removed (its subscriptions are deleted).
CREATE OR REPLACE FUNCTION amf_chunk_count(p_chunks int[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO amf_chunk AS c (chunk, version, n_devices)
    SELECT x.chunk, nextval('amf_chunk_version'), x.n
      FROM (SELECT t.chunk,
                   (SELECT count(*) FROM amf_chunk_member m WHERE m.chunk = t.chunk)::int AS n
              FROM (SELECT DISTINCT unnest(p_chunks) AS chunk) t) x
     WHERE x.n > 0
    ON CONFLICT (chunk) DO UPDATE SET version = EXCLUDED.version, n_devices = EXCLUDED.n_devices;
    DELETE FROM amf_chunk c WHERE c.chunk = ANY (p_chunks)
       AND NOT EXISTS (SELECT 1 FROM amf_chunk_member m WHERE m.chunk = c.chunk);
$$;

-- amf_chunk_adjust: adds p_deltas[i] devices to chunk p_chunks[i] (a chunk
-- may come more than once; its deltas add up) and gives each a new
-- version, without counting its members; a chunk left with none is
-- removed, one not yet in amf_chunk is made.
CREATE OR REPLACE FUNCTION amf_chunk_adjust(p_chunks int[], p_deltas int[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM amf_chunk c
     USING (SELECT t.chunk, sum(t.delta) AS delta
              FROM unnest(p_chunks, p_deltas) AS t(chunk, delta) GROUP BY t.chunk) d
     WHERE c.chunk = d.chunk AND c.n_devices + d.delta <= 0;
    UPDATE amf_chunk c SET version = nextval('amf_chunk_version'),
                           n_devices = c.n_devices + d.delta
      FROM (SELECT t.chunk, sum(t.delta)::int AS delta
              FROM unnest(p_chunks, p_deltas) AS t(chunk, delta) GROUP BY t.chunk) d
     WHERE c.chunk = d.chunk;
    INSERT INTO amf_chunk (chunk, version, n_devices)
    SELECT d.chunk, nextval('amf_chunk_version'), d.delta
      FROM (SELECT t.chunk, sum(t.delta)::int AS delta
              FROM unnest(p_chunks, p_deltas) AS t(chunk, delta) GROUP BY t.chunk) d
     WHERE d.delta > 0 AND NOT EXISTS (SELECT 1 FROM amf_chunk c WHERE c.chunk = d.chunk);
$$;

-- amf_chunk_leave: removes from their chunks those of p_imsis that are no
-- longer devices. Returns each chunk touched with minus the number of
-- devices it lost; amf_chunk is the caller's to update.
CREATE OR REPLACE FUNCTION amf_chunk_leave(p_imsis text[])
RETURNS TABLE (chunk int, delta int)
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM amf_chunk_member m
         WHERE m.imsi = ANY (p_imsis)
           AND NOT EXISTS (SELECT 1 FROM ue u WHERE u.imsi = m.imsi)
        RETURNING m.chunk)
    SELECT g.chunk, -count(*)::int FROM gone g GROUP BY g.chunk;
$$;

-- amf_chunk_apply: brings the chunks up to date for the IMSIs p_imsis
-- (distinct), the devices that changed since the last sync: those no
-- longer provisioned leave their chunk, those provisioned and in no chunk
-- are placed. The work is the IMSIs and the chunks, whatever the size of
-- the device table.
CREATE OR REPLACE FUNCTION amf_chunk_apply(p_per int, p_imsis text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_chunks int[];
    v_deltas int[];
BEGIN
    SELECT array_agg(l.chunk), array_agg(l.delta) INTO v_chunks, v_deltas
      FROM amf_chunk_leave(p_imsis) l;
    PERFORM amf_chunk_adjust(v_chunks, v_deltas);
    SELECT array_agg(p.chunk), array_agg(p.delta) INTO v_chunks, v_deltas
      FROM amf_chunk_place(p_per, ARRAY(
               SELECT x.imsi FROM unnest(p_imsis) AS x(imsi)
                WHERE EXISTS (SELECT 1 FROM ue u WHERE u.imsi = x.imsi)
                  AND NOT EXISTS (SELECT 1 FROM amf_chunk_member m WHERE m.imsi = x.imsi))) p;
    PERFORM amf_chunk_adjust(v_chunks, v_deltas);
END;
$$;

-- amf_chunk_rebuild: the full pass: the chunks brought up to the whole
-- device table with at most p_per SUPIs each (amf_chunk_drop, then
-- amf_chunk_fill), and p_per recorded as the size of the chunks.
CREATE OR REPLACE FUNCTION amf_chunk_rebuild(p_per int) RETURNS void
LANGUAGE sql AS $$
    SELECT amf_chunk_count(ARRAY(SELECT amf_chunk_drop(p_per)));
    SELECT amf_chunk_count(ARRAY(SELECT amf_chunk_fill(p_per)));
    UPDATE amf_chunk_layout SET per = p_per WHERE one;
$$;

-- amf_chunk_compact: when the chunks have room for two chunks or more
-- (count >= ceil(devices / p_per) + 2), moves the devices of the chunk
-- with the fewest (the highest numbered of those) into the lowest other
-- chunks with room, and removes it. They fit: the others have room for
-- p_per devices more than it holds. One chunk a call, so at most p_per
-- devices move. Returns whether a chunk was emptied.
CREATE OR REPLACE FUNCTION amf_chunk_compact(p_per int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_devices bigint;
    v_chunks bigint;
    v_victim int;
    v_imsis text[];
    v_into int[];
    v_deltas int[];
BEGIN
    SELECT coalesce(sum(c.n_devices), 0), count(*) INTO v_devices, v_chunks FROM amf_chunk c;
    IF v_chunks < (v_devices + p_per - 1) / p_per + 2 THEN
        RETURN false;
    END IF;
    SELECT c.chunk INTO v_victim FROM amf_chunk c ORDER BY c.n_devices, c.chunk DESC LIMIT 1;
    WITH moved AS (DELETE FROM amf_chunk_member m WHERE m.chunk = v_victim RETURNING m.imsi)
    SELECT array_agg(moved.imsi) INTO v_imsis FROM moved;
    DELETE FROM amf_chunk c WHERE c.chunk = v_victim;
    SELECT array_agg(p.chunk), array_agg(p.delta) INTO v_into, v_deltas
      FROM amf_chunk_place(p_per, v_imsis) p;
    PERFORM amf_chunk_adjust(v_into, v_deltas);
    RETURN true;
END;
$$;

-- amf_chunk_sync: brings the chunks up to the device table with at most
-- p_per SUPIs each and returns every chunk (its version and size). Takes
-- the queue of changed IMSIs first (deleting only the rows it read: a
-- provisioning transaction that commits later leaves its rows for the next
-- sync), then a full pass or only the queued IMSIs (see the header), then
-- compaction: one step after the queued IMSIs; after a full pass, steps
-- until the rule no longer holds (a raised size shrinks the chunks at
-- once), at most as many as a chunk holds devices on average, so that
-- their cost (each reads amf_chunk) stays within the order of the full
-- pass's. One caller at a time (an advisory lock), so two
-- daemons cannot interleave.
CREATE OR REPLACE FUNCTION amf_chunk_sync(p_per int)
RETURNS TABLE (chunk int, version bigint, n_devices int)
LANGUAGE plpgsql AS $$
DECLARE
    v_imsis text[];
    v_is_all boolean;
    v_steps bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('amf_chunk_sync'));
    WITH taken AS (DELETE FROM amf_chunk_dirty RETURNING amf_chunk_dirty.imsi)
    SELECT coalesce(array_agg(DISTINCT t.imsi) FILTER (WHERE t.imsi IS NOT NULL), '{}'),
           coalesce(bool_or(t.imsi IS NULL), false)
      INTO v_imsis, v_is_all
      FROM taken t;
    -- A TRUNCATE of this transaction (amf_chunk_mark) is handled from here
    -- on: queue the changes after it again.
    PERFORM set_config('locguard.amf_chunk_all', 'off', true);
    IF v_is_all OR (SELECT l.per FROM amf_chunk_layout l) IS DISTINCT FROM p_per THEN
        PERFORM amf_chunk_rebuild(p_per);
        SELECT coalesce(sum(c.n_devices) / count(*), 0) INTO v_steps FROM amf_chunk c;
        FOR i IN 1 .. greatest(v_steps, 1) LOOP
            EXIT WHEN NOT amf_chunk_compact(p_per);
        END LOOP;
    ELSE
        PERFORM amf_chunk_apply(p_per, v_imsis);
        PERFORM amf_chunk_compact(p_per);
    END IF;
    RETURN QUERY SELECT c.chunk, c.version, c.n_devices FROM amf_chunk c ORDER BY c.chunk;
END;
$$;
