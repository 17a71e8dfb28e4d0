-- SPDX-License-Identifier: Apache-2.0
--
-- The chunks of the AMF subscriptions (service/south/amfsub.c,
-- migrations/0028_amf_chunk.sql): the daemon calls amf_chunk_sync when
-- amf_device_version moved, then reads the members of the chunks whose
-- version changed. A device keeps its chunk while provisioned: a removed
-- device leaves its chunk, a new one goes to the lowest chunk with room
-- (or a new chunk), so one provisioning change touches one chunk.

-- amf_chunk_drop: removes the members that are no longer devices, and
-- those beyond p_per in their chunk (supis_per_subscription was lowered;
-- they are placed again by amf_chunk_fill). Returns the chunks touched.
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

-- amf_chunk_fill: places the devices in no chunk, in IMSI order, into the
-- lowest chunks with room (sizes from amf_chunk), then new ones; no more
-- slots are made in a chunk than there are devices to place. Returns the
-- chunks touched.
CREATE OR REPLACE FUNCTION amf_chunk_fill(p_per int) RETURNS SETOF int
LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT u.imsi, row_number() OVER (ORDER BY u.imsi) AS k
          FROM ue u
         WHERE NOT EXISTS (SELECT 1 FROM amf_chunk_member m WHERE m.imsi = u.imsi)),
    n_fresh AS (SELECT count(*) AS n FROM fresh),
    candidate AS (
        SELECT g.chunk, least(p_per - coalesce(c.n_devices, 0), n_fresh.n) AS room
          FROM n_fresh,
               generate_series(0, (SELECT coalesce(max(chunk), -1) FROM amf_chunk)
                                  + (n_fresh.n / p_per)::int + 1) AS g(chunk)
          LEFT JOIN amf_chunk c ON c.chunk = g.chunk
         WHERE n_fresh.n > 0),
    slot AS (
        SELECT candidate.chunk, row_number() OVER (ORDER BY candidate.chunk, s) AS k
          FROM candidate, generate_series(1, candidate.room) AS s
         WHERE candidate.room > 0),
    placed AS (
        INSERT INTO amf_chunk_member (imsi, chunk)
        SELECT f.imsi, slot.chunk FROM fresh f JOIN slot USING (k)
        RETURNING chunk)
    SELECT DISTINCT chunk FROM placed;
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

-- amf_chunk_sync: brings the chunks up to the device table with at most
-- p_per SUPIs each and returns every chunk (its version and size). One
-- caller at a time (an advisory lock), so two daemons cannot interleave.
CREATE OR REPLACE FUNCTION amf_chunk_sync(p_per int)
RETURNS TABLE (chunk int, version bigint, n_devices int)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('amf_chunk_sync'));
    PERFORM amf_chunk_count(ARRAY(SELECT amf_chunk_drop(p_per)));
    PERFORM amf_chunk_count(ARRAY(SELECT amf_chunk_fill(p_per)));
    RETURN QUERY SELECT c.chunk, c.version, c.n_devices FROM amf_chunk c ORDER BY c.chunk;
END;
$$;
