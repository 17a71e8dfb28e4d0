-- SPDX-License-Identifier: Apache-2.0
--
-- The privacy filter (sql/counts.sql): exact histograms count consented
-- devices only; releases respect the daily epsilon budget (exact fractions);
-- queries answer from releases only, weight partial cells, pick releases by
-- interval, never return an answer below k, answer identically when repeated,
-- refuse invalid areas with the CAMARA codes and are audited.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT plan(80);

-- error_of: 'SQLSTATE|message|hint' of a failing statement, NULL if it works.
CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text; v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_hint = PG_EXCEPTION_HINT;
    RETURN v_state || '|' || v_message || '|' || v_hint;
END
$$;

-- A 10 x 10 grid of 0.01 degree cells: cell (i, j) spans longitude
-- 2 + i/100 .. 2 + (i+1)/100 and latitude 48 + j/100 .. 48 + (j+1)/100.
CREATE FUNCTION pg_temp.ck(i int, j int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'ecgi:001-01:' || upper(lpad(to_hex(j * 10 + i), 7, '0')) $$;
INSERT INTO cell (cell_key, rat, coverage)
SELECT pg_temp.ck(i, j), 'EUTRA',
       ST_Multi(ST_MakeEnvelope(2 + i / 100.0, 48 + j / 100.0,
                                2 + (i + 1) / 100.0, 48 + (j + 1) / 100.0, 4326))
FROM generate_series(0, 9) i, generate_series(0, 9) j;

-- A rectangle as a CAMARA polygon (counter-clockwise).
CREATE FUNCTION pg_temp.rect(x0 float8, y0 float8, x1 float8, y1 float8) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('areaType', 'POLYGON', 'boundary', jsonb_build_array(
        jsonb_build_object('latitude', y0, 'longitude', x0),
        jsonb_build_object('latitude', y0, 'longitude', x1),
        jsonb_build_object('latitude', y1, 'longitude', x1),
        jsonb_build_object('latitude', y1, 'longitude', x0)))
$$;

-- 400 devices, all located at 00:30 on 2026-01-01 in cell (0, 0) for now.
INSERT INTO ue (imsi, external_id, mobility)
SELECT '00101' || lpad(n::text, 10, '0'), 'd' || n || '@example.org', 'unrestricted'
FROM generate_series(1, 400) n;
INSERT INTO ue_location (ue_id, reported_at, cell_key, decision)
SELECT id, '2026-01-01 00:30Z', pg_temp.ck(0, 0), 'unchecked' FROM ue;
CREATE TEMP TABLE dev AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM ue;

---------------------------------------------------------------------------
-- lg_counts_exact_cells: consent, window, every cell.

-- Devices 1..10 consent (any SCS); 11 revoked; 12 expired; 13 granted later;
-- 14 for one SCS only; 15 location-monitoring only; 16..20 nothing.
INSERT INTO scs (scs_as_id, name, webhook_secret) VALUES ('scs-1', 'scs', 'whsec_AAAA');
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT id, 'anonymous-statistics', '2025-12-01Z' FROM dev WHERE n <= 10;
INSERT INTO consent (ue_id, purpose, granted_at, revoked_at)
SELECT id, 'anonymous-statistics', '2025-12-01Z', '2025-12-31Z' FROM dev WHERE n = 11;
INSERT INTO consent (ue_id, purpose, granted_at, expires_at)
SELECT id, 'anonymous-statistics', '2025-12-01Z', '2026-01-01 00:59Z' FROM dev WHERE n = 12;
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT id, 'anonymous-statistics', '2026-01-01 01:30Z' FROM dev WHERE n = 13;
INSERT INTO consent (ue_id, purpose, scs_id, granted_at)
SELECT d.id, 'anonymous-statistics', s.id, '2025-12-01Z' FROM dev d, scs s WHERE d.n = 14;
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT id, 'location-monitoring', '2025-12-01Z' FROM dev WHERE n = 15;
-- Devices 1..5 in cell (0,0), 6..8 in (1,0), 9 reported before the window,
-- 10 after it; 11..20 in (0,0) without a valid consent.
UPDATE ue_location l SET cell_key = pg_temp.ck(1, 0) FROM dev d WHERE d.id = l.ue_id AND d.n IN (6, 7, 8);
UPDATE ue_location l SET reported_at = '2025-12-31 23:59:59Z' FROM dev d WHERE d.id = l.ue_id AND d.n = 9;
UPDATE ue_location l SET reported_at = '2026-01-01 01:00Z' FROM dev d WHERE d.id = l.ue_id AND d.n = 10;
DELETE FROM ue_location l USING dev d WHERE d.id = l.ue_id AND d.n > 20;

SELECT is((SELECT count(*)::int FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z')),
          100, 'exact_cells: one row per cell, zero counts included');
SELECT is((SELECT n FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z')
           WHERE cell_key = pg_temp.ck(0, 0)), 5::bigint,
          'exact_cells: only devices with a valid consent for any SCS are counted');
SELECT is((SELECT n FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z')
           WHERE cell_key = pg_temp.ck(1, 0)), 3::bigint, 'exact_cells: the latest cell counts');
SELECT is((SELECT sum(n) FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z')),
          8::numeric, 'exact_cells: reports outside [start, end) are not counted');
SELECT is((SELECT sum(n) FROM lg_counts_exact_cells('2026-01-01 01:00Z')), 8::numeric,
          'exact_cells: the bucket defaults to the hour before its end');
SELECT is((SELECT sum(n) FROM lg_counts_exact_cells('2026-01-01 01:00:00.000001Z', '2026-01-01 00:00Z')),
          9::numeric, 'exact_cells: the end is exclusive');
SELECT is((SELECT count(*)::int FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z')
           WHERE n > 0 AND cell_key NOT IN (pg_temp.ck(0, 0), pg_temp.ck(1, 0))), 0,
          'exact_cells: the other cells are zero');
SELECT is(pg_temp.error_of($$SELECT * FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 01:00Z')$$),
          '22023|the bucket must end after it starts|INVALID_ARGUMENT', 'exact_cells: empty bucket refused');

-- Many random populations (seeded): devices 1..20 scattered over the grid
-- with random consents; the histogram always equals a direct count of the
-- consented devices, and never includes the others.
SELECT setseed(0.25);
CREATE TEMP TABLE pop_result (trial int, is_equal boolean, leaked bigint);
DO $$
DECLARE
    t int;
BEGIN
    FOR t IN 1 .. 50 LOOP
        UPDATE ue_location l
        SET cell_key = pg_temp.ck((random() * 3)::int, (random() * 3)::int),
            reported_at = '2026-01-01 00:00Z'::timestamptz + random() * interval '2 hours'
        FROM dev d WHERE d.id = l.ue_id;
        UPDATE consent SET revoked_at = CASE WHEN random() < 0.5 THEN '2025-12-31Z'::timestamptz END
        WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL
          AND ue_id IN (SELECT id FROM dev WHERE n <= 10);
        INSERT INTO pop_result
        SELECT t,
               (SELECT array_agg(e.cell_key || '=' || e.n ORDER BY e.cell_key)
                FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z') e WHERE e.n > 0)
               IS NOT DISTINCT FROM
               (SELECT array_agg(x.cell_key || '=' || x.n ORDER BY x.cell_key)
                FROM (SELECT l.cell_key, count(*) AS n FROM ue_location l
                      WHERE l.reported_at >= '2026-01-01 00:00Z' AND l.reported_at < '2026-01-01 01:00Z'
                        AND EXISTS (SELECT 1 FROM consent k WHERE k.ue_id = l.ue_id
                                      AND k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
                                      AND k.revoked_at IS NULL AND k.granted_at <= '2026-01-01 01:00Z'
                                      AND (k.expires_at IS NULL OR k.expires_at > '2026-01-01 01:00Z'))
                      GROUP BY l.cell_key) x),
               (SELECT coalesce(sum(e.n), 0) FROM lg_counts_exact_cells('2026-01-01 01:00Z', '2026-01-01 00:00Z') e)
               - (SELECT count(*) FROM ue_location l JOIN dev d ON d.id = l.ue_id
                  WHERE l.reported_at >= '2026-01-01 00:00Z' AND l.reported_at < '2026-01-01 01:00Z'
                    AND d.n <= 10 AND EXISTS (SELECT 1 FROM consent k WHERE k.ue_id = l.ue_id
                                                AND k.purpose = 'anonymous-statistics'
                                                AND k.revoked_at IS NULL AND k.scs_id IS NULL));
    END LOOP;
END
$$;
SELECT is((SELECT count(*)::int FROM pop_result WHERE is_equal AND leaked = 0), 50,
          'exact_cells: 50 random populations, only consented devices counted');
UPDATE consent SET revoked_at = NULL WHERE purpose = 'anonymous-statistics' AND scs_id IS NULL
                                       AND ue_id IN (SELECT id FROM dev WHERE n <= 10);

---------------------------------------------------------------------------
-- lg_counts_store_release: budget and one release per bucket.

CREATE FUNCTION pg_temp.store(p_start text, p_num int, p_den int, p_dnum int, p_dden int)
RETURNS boolean LANGUAGE sql AS $$
    SELECT lg_counts_store_release(p_start::timestamptz, p_start::timestamptz + interval '1 hour',
                                   p_num, p_den, ARRAY[pg_temp.ck(0, 0)], ARRAY[7::bigint],
                                   p_dnum, p_dden)
$$;
SELECT is(pg_temp.store('2025-06-01 00:00Z', 1, 3, 1, 1), true, 'budget: 1/3 of 1');
SELECT is(pg_temp.store('2025-06-01 01:00Z', 1, 3, 1, 1), true, 'budget: 2/3 of 1');
SELECT is(pg_temp.store('2025-06-01 02:00Z', 1, 3, 1, 1), true,
          'budget: 3/3 of 1 is allowed (exact fractions, no rounding)');
SELECT is(pg_temp.store('2025-06-01 23:00Z', 1, 1000, 1, 1), false, 'budget: the day is spent');
SELECT is((SELECT count(*)::int FROM count_release WHERE bucket_start = '2025-06-01 23:00Z'), 0,
          'budget: a refused release stores nothing');
SELECT is(pg_temp.store('2025-06-02 00:00Z', 1, 3, 1, 1), true, 'budget: the next UTC day starts afresh');
SELECT is(pg_temp.store('2025-06-02 00:00Z', 1, 3, 1, 1), false, 'one release per bucket');
SELECT is(pg_temp.store('2025-06-03 00:00Z', 3, 2, 1, 1), false, 'budget: one release above the daily total');
SELECT is(pg_temp.store('2025-06-04 00:00Z', 1, 2, 12, 1) AND pg_temp.store('2025-06-04 01:00Z', 1, 2, 12, 1),
          true, 'budget: the defaults 1/2 and 12 allow releases');
SELECT is((SELECT count(*)::int FROM (SELECT pg_temp.store('2025-06-05 00:00Z'::timestamptz + h * interval '1 hour' || '', 1, 2, 12, 1) AS ok
                                       FROM generate_series(0, 23) h) x WHERE ok), 24,
          'budget: 24 hourly releases of 1/2 fit in 12');
SELECT is(pg_temp.store('2025-06-05 23:30Z', 1, 1000000, 12, 1), false,
          'budget: nothing more once 12 is spent');
SELECT is(pg_temp.error_of($$SELECT lg_counts_store_release('2025-07-01Z', '2025-07-01 01:00Z', 1, 2,
                               ARRAY['a', 'b'], ARRAY[1::bigint], 12, 1)$$),
          '22023|cells and noisy counts must be arrays of equal length without NULLs|INVALID_ARGUMENT',
          'store_release: arrays of different lengths refused');
SELECT is(pg_temp.error_of($$SELECT lg_counts_store_release('2025-07-01Z', '2025-07-01 01:00Z', 0, 2,
                               ARRAY['a'], ARRAY[1::bigint], 12, 1)$$),
          '22023|epsilon ratios must be positive|INVALID_ARGUMENT', 'store_release: epsilon 0 refused');
SELECT is(lg_counts_store_release_outcome('2025-07-02Z', '2025-07-02 01:00Z', 1, 2,
                                          ARRAY[pg_temp.ck(0, 0)], ARRAY[3::bigint], 1, 1),
          'stored', 'store_release outcome: stored');
SELECT is(lg_counts_store_release_outcome('2025-07-02Z', '2025-07-02 01:00Z', 1, 2,
                                          ARRAY[pg_temp.ck(0, 0)], ARRAY[3::bigint], 1, 1),
          'already_done', 'store_release outcome: the bucket was released: already done, not the budget');
SELECT is(lg_counts_store_release_outcome('2025-07-02 05:00Z', '2025-07-02 06:00Z', 2, 3,
                                          ARRAY[pg_temp.ck(0, 0)], ARRAY[3::bigint], 1, 1),
          'budget_spent', 'store_release outcome: 1/2 + 2/3 > 1: the budget is spent');
DELETE FROM count_release;

---------------------------------------------------------------------------
-- lg_counts_query: weighting, intervals, statuses.

-- Four hourly releases on 2026-02-01: cell (0,0) noisy 10, 20, 30, 40;
-- cell (1,0) 100 each time; cell (2,0) -4; every other cell 0.
DO $$
BEGIN
    FOR h IN 0 .. 3 LOOP
        PERFORM lg_counts_store_release('2026-02-01 00:00Z'::timestamptz + h * interval '1 hour',
                                        '2026-02-01 01:00Z'::timestamptz + h * interval '1 hour', 1, 2,
                                        (SELECT array_agg(cell_key ORDER BY cell_key) FROM cell),
                                        (SELECT array_agg(CASE cell_key WHEN pg_temp.ck(0, 0) THEN 10 * (h + 1)
                                                                        WHEN pg_temp.ck(1, 0) THEN 100
                                                                        WHEN pg_temp.ck(2, 0) THEN -4
                                                                        ELSE 0 END::bigint ORDER BY cell_key)
                                         FROM cell), 12, 1);
    END LOOP;
END
$$;

CREATE FUNCTION pg_temp.q(p_area jsonb, p_start text DEFAULT NULL, p_end text DEFAULT NULL,
                          p_k int DEFAULT 10) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT lg_counts_query('client-a', p_area, p_start::timestamptz, p_end::timestamptz, p_k, 1e4, 1e9)
$$;

SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01)), '{"count": 40, "status": "SUPPORTED_AREA"}',
          'query: one whole cell, the latest release');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.015, 48.01)), '{"count": 90, "status": "SUPPORTED_AREA"}',
          'query: a half cell counts half (40 + 100 / 2)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.0125, 48.01)), '{"count": 65, "status": "SUPPORTED_AREA"}',
          'query: a quarter cell counts a quarter (40 + 100 / 4)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.03, 48.01)), '{"count": 136, "status": "SUPPORTED_AREA"}',
          'query: negative noisy counts are summed as released (40 + 100 - 4)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 01:00Z', '2026-02-01 03:00Z'),
          '{"count": 25, "status": "SUPPORTED_AREA"}',
          'query: an interval averages the releases inside it (20 and 30)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 00:00Z', '2026-02-01 04:00Z'),
          '{"count": 25, "status": "SUPPORTED_AREA"}', 'query: the whole interval (10..40)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 00:30Z', '2026-02-01 02:30Z'),
          '{"count": 20, "status": "SUPPORTED_AREA"}', 'query: buckets partly outside are not used');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 00:30Z', '2026-02-01 01:30Z'),
          '{"status": "TIME_INTERVAL_NO_DATA_FOUND"}', 'query: no release inside the interval');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 00:00Z', '2026-02-01 02:00Z', 20),
          '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}', 'query: 15 is below k = 20');
SELECT is(pg_temp.q(pg_temp.rect(2.05, 48.05, 2.06, 48.06)), '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}',
          'query: zero is below k');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), p_k => 41),
          '{"status": "DENSITY_BELOW_PRIVACY_THRESHOLD"}', 'query: 40 is below k = 41');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), p_k => 40),
          '{"count": 40, "status": "SUPPORTED_AREA"}', 'query: 40 is not below k = 40');
SELECT is(pg_temp.q(pg_temp.rect(1.99, 48.0, 2.015, 48.01)),
          '{"count": 90, "status": "PART_OF_AREA_NOT_SUPPORTED"}',
          'query: 60 % covered: PART_OF_AREA_NOT_SUPPORTED with the covered part''s count');
SELECT is(pg_temp.q(pg_temp.rect(1.97, 48.0, 2.01, 48.01)), '{"status": "AREA_NOT_SUPPORTED"}',
          'query: 25 % covered: AREA_NOT_SUPPORTED');
SELECT is(pg_temp.q(pg_temp.rect(10.0, 40.0, 10.1, 40.1)), '{"status": "AREA_NOT_SUPPORTED"}',
          'query: outside coverage: AREA_NOT_SUPPORTED');
SELECT is(pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48.005, "longitude": 2.005}, "radius": 300}'),
          '{"count": 14, "status": "SUPPORTED_AREA"}',
          'query: a 300 m circle inside one cell counts its share (40 * 0.34)');
SELECT is(pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48.02, "longitude": 2.02}, "radius": 3000}'),
          '{"count": 136, "status": "PART_OF_AREA_NOT_SUPPORTED"}',
          'query: a 3 km circle over the grid''s corner: about 75 % covered, three whole cells counted');

SELECT is(pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48.015, "longitude": 2.025}, "radius": 1200}', p_k => 1)
           ->> 'status', 'SUPPORTED_AREA',
          'query: a circle over many cells inside full coverage is SUPPORTED_AREA (its polygon, not the ideal circle)');
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.1, 48.1)), '{"count": 136, "status": "SUPPORTED_AREA"}',
          'query: the whole grid, exactly covered, is SUPPORTED_AREA');
SELECT is((SELECT count(DISTINCT pg_temp.q(pg_temp.rect(2.003, 48.002, 2.017, 48.009), '2026-02-01 00:00Z', '2026-02-01 04:00Z'))::int
           FROM generate_series(1, 25)), 1, 'query: 25 repetitions, one answer');

-- Answers come from the releases only: moving every device changes nothing.
CREATE TEMP TABLE before AS SELECT pg_temp.q(pg_temp.rect(2.0, 48.0, 2.05, 48.05)) AS a;
UPDATE ue_location SET cell_key = pg_temp.ck(0, 0), reported_at = '2026-02-01 03:30Z';
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.05, 48.05)), (SELECT a FROM before),
          'query: ue_location is never read');

-- Refusals: SQLSTATE 22023, the message, the CAMARA code in the hint.
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "POLYGON", "boundary": [
              {"latitude": 48.0, "longitude": 2.0}, {"latitude": 48.01, "longitude": 2.01},
              {"latitude": 48.0, "longitude": 2.01}, {"latitude": 48.01, "longitude": 2.0}]}')$$),
          '22023|The polygon is self-intersecting.|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: self-intersecting polygon');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "POLYGON", "boundary": [
              {"latitude": 48.0, "longitude": 2.0}, {"latitude": 48.01, "longitude": 2.01}]}')$$),
          '22023|The polygon boundary must have 3 to 15 points.|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: 2 points');
SELECT is(pg_temp.error_of(format($$SELECT pg_temp.q(%L)$$, jsonb_build_object('areaType', 'POLYGON', 'boundary',
              (SELECT jsonb_agg(jsonb_build_object('latitude', 48 + 0.01 * sin(a * pi() / 8), 'longitude', 2 + 0.01 * cos(a * pi() / 8)))
               FROM generate_series(0, 15) a)))),
          '22023|The polygon boundary must have 3 to 15 points.|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: 16 points');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "POLYGON", "boundary": [
              {"latitude": 48.0, "longitude": 2.0}, {"latitude": 48.01, "longitude": 2.01},
              {"latitude": 48.02, "longitude": 2.02}]}')$$),
          '22023|The polygon is degenerate (its points do not enclose an area).|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: collinear points');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "POLYGON", "boundary": [
              {"latitude": 91, "longitude": 2.0}, {"latitude": 48.01, "longitude": 2.01},
              {"latitude": 48.0, "longitude": 2.01}]}')$$),
          '22023|area.boundary[0].latitude must be between -90 and 90|INVALID_ARGUMENT', 'refused: latitude 91');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q(pg_temp.rect(2.0, 48.0, 2.0001, 48.0001))$$),
          '22023|The polygon is smaller than the minimum area of 10000 square metres.|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: below the minimum size');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q(pg_temp.rect(0, 40, 10, 50))$$),
          '22023|The polygon is larger than the maximum area of 1000000000 square metres.|REGION_DEVICE_COUNT.INVALID_POLYGON_AREA',
          'refused: above the maximum size');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48, "longitude": 2}, "radius": 1e30}')$$),
          '22023|The circle is larger than the maximum area of 1000000000 square metres.|REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA',
          'refused: a huge circle, before any geometry is built');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48, "longitude": 2}}')$$),
          '22023|Missing circle center or radius.|REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA', 'refused: no radius');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "CIRCLE", "center": {"latitude": 48, "longitude": 2}, "radius": 0.5}')$$),
          '22023|area.radius must be at least 1 metre|INVALID_ARGUMENT', 'refused: radius below 1');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q('{"areaType": "SQUARE"}')$$),
          '22023|area.areaType must be CIRCLE or POLYGON|INVALID_ARGUMENT', 'refused: unknown areaType');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 00:00Z', NULL)$$),
          '22023|starttime and endtime cannot be passed separately. Either both are passed or neither is passed.|REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT',
          'refused: starttime without endtime');
SELECT is(pg_temp.error_of($$SELECT pg_temp.q(pg_temp.rect(2.0, 48.0, 2.01, 48.01), '2026-02-01 02:00Z', '2026-02-01 01:00Z')$$),
          '22023|Indicated endTime is earlier than the startTime.|REGION_DEVICE_COUNT.INVALID_END_DATE',
          'refused: end before start');

-- Audit: one row per answered query, none for refusals.
SELECT is((SELECT count(*)::int FROM audit_log WHERE actor = 'client-a' AND actor_kind = 'third_party'),
          46, 'audit: every answered query of client-a, no refusal');
SELECT is((SELECT answer FROM audit_log WHERE actor = 'client-a' ORDER BY id LIMIT 1),
          '{"count": 40, "status": "SUPPORTED_AREA"}', 'audit: the answer');
SELECT is((SELECT request -> 'area' FROM audit_log WHERE actor = 'client-a' ORDER BY id LIMIT 1),
          pg_temp.rect(2.0, 48.0, 2.01, 48.01), 'audit: the area');

-- The derived tables follow the cell table: a cell moved away leaves a hole.
UPDATE cell SET coverage = ST_Multi(ST_MakeEnvelope(3.0, 49.0, 3.01, 49.01, 4326)) WHERE cell_key = pg_temp.ck(9, 9);
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.1, 48.1)), '{"count": 136, "status": "PART_OF_AREA_NOT_SUPPORTED"}',
          'query: the derived tables are rebuilt when a cell moves');
UPDATE cell SET coverage = ST_Multi(ST_MakeEnvelope(2.09, 48.09, 2.1, 48.1, 4326)) WHERE cell_key = pg_temp.ck(9, 9);
SELECT is(pg_temp.q(pg_temp.rect(2.0, 48.0, 2.1, 48.1)), '{"count": 136, "status": "SUPPORTED_AREA"}',
          'query: and again when it moves back');

---------------------------------------------------------------------------
-- No answer below k, over many random populations: each trial scatters the
-- 400 devices with random consents, releases the exact histogram plus
-- random noise, then asks for a random rectangle with a random k.
DELETE FROM count_release;
UPDATE consent SET revoked_at = NULL WHERE purpose = 'anonymous-statistics';
INSERT INTO consent (ue_id, purpose, granted_at)
SELECT id, 'anonymous-statistics', '2025-12-01Z' FROM dev WHERE n > 20;
INSERT INTO ue_location (ue_id, reported_at, cell_key, decision)
SELECT id, '2026-01-01Z', pg_temp.ck(0, 0), 'unchecked' FROM dev WHERE n > 20
ON CONFLICT (ue_id) DO NOTHING;
SELECT setseed(0.5);
CREATE TEMP TABLE k_result (trial int, k int, answer jsonb);
DO $$
DECLARE
    t int;
    v_start timestamptz;
    v_cells text[];
    v_noisy bigint[];
    x0 float8; y0 float8;
BEGIN
    FOR t IN 1 .. 150 LOOP
        v_start := '2027-01-01Z'::timestamptz + t * interval '1 day';
        UPDATE ue_location
        SET cell_key = pg_temp.ck((random() * 9)::int, (random() * 9)::int),
            reported_at = v_start + random() * interval '1 hour';
        UPDATE consent SET revoked_at = CASE WHEN random() < 0.7 THEN '2027-01-01Z'::timestamptz END
        WHERE purpose = 'anonymous-statistics';
        SELECT array_agg(e.cell_key ORDER BY e.cell_key),
               array_agg(e.n + (random() * 6)::int - 3 ORDER BY e.cell_key)
        INTO v_cells, v_noisy
        FROM lg_counts_exact_cells(v_start + interval '1 hour', v_start) e;
        PERFORM lg_counts_store_release(v_start, v_start + interval '1 hour', 1, 2,
                                        v_cells, v_noisy, 12, 1);
        x0 := 2 + random() * 0.07;
        y0 := 48 + random() * 0.07;
        INSERT INTO k_result
        SELECT t, k, lg_counts_query('client-k', pg_temp.rect(x0, y0, x0 + 0.005 + random() * 0.025,
                                                              y0 + 0.005 + random() * 0.025),
                                     v_start, v_start + interval '1 hour', k, 1e4, 1e9)
        FROM (SELECT 1 + (random() * 30)::int AS k) kk;
    END LOOP;
END
$$;
SELECT is((SELECT count(*)::int FROM k_result WHERE (answer ->> 'count')::int < k), 0,
          'k: no answer below k in 150 random populations');
SELECT is((SELECT count(*)::int FROM k_result
           WHERE (answer ? 'count') <> (answer ->> 'status' IN ('SUPPORTED_AREA', 'PART_OF_AREA_NOT_SUPPORTED'))),
          0, 'k: a count comes only with SUPPORTED_AREA or PART_OF_AREA_NOT_SUPPORTED');
SELECT ok((SELECT count(*) FROM k_result WHERE answer ? 'count') >= 15
          AND (SELECT count(*) FROM k_result WHERE answer ->> 'status' = 'DENSITY_BELOW_PRIVACY_THRESHOLD') >= 15,
          'k: the trials hit both sides of the threshold');

---------------------------------------------------------------------------
-- lg_counts_exact: operators, audited.
UPDATE consent SET revoked_at = NULL WHERE purpose = 'anonymous-statistics';
UPDATE consent SET revoked_at = '2020-01-01Z' FROM dev d WHERE d.id = consent.ue_id AND d.n > 300;
UPDATE ue_location l SET cell_key = pg_temp.ck(0, 0), position = NULL FROM dev d WHERE d.id = l.ue_id AND d.n <= 100;
UPDATE ue_location l SET cell_key = pg_temp.ck(9, 9), position = NULL FROM dev d WHERE d.id = l.ue_id AND d.n > 100;
UPDATE ue_location l SET position = ST_SetSRID(ST_MakePoint(2.005, 48.005), 4326), cell_key = pg_temp.ck(9, 9)
FROM dev d WHERE d.id = l.ue_id AND d.n BETWEEN 101 AND 110;
SELECT is(lg_counts_exact('op-1', pg_temp.rect(2.0, 48.0, 2.01, 48.01)),
          '{"count": 102, "fromCell": 92, "withPosition": 10}',
          'exact: positions first, else the cell; consented devices only (not 12, 14..20)');
SELECT is(lg_counts_exact('op-1', '{"type": "Polygon", "coordinates": [[[2.09, 48.09], [2.1, 48.09], [2.1, 48.1], [2.09, 48.1], [2.09, 48.09]]]}'),
          '{"count": 190, "fromCell": 190, "withPosition": 0}',
          'exact: a GeoJSON polygon; devices 111..300 (301..400 revoked)');
SELECT is((SELECT count(*)::int FROM audit_log WHERE actor = 'op-1' AND actor_kind = 'operator'), 2,
          'exact: audited');

---------------------------------------------------------------------------
-- The shared definitions and what the daemon's in-memory evaluator loads.
SELECT is(ST_NPoints(lg_counts_circle(5, 47, 50000)), 65, 'circle: 64 points, closed');
SELECT ok(ST_IsValid(lg_counts_circle(5, 47, 50000))
          AND abs(ST_Area(lg_counts_circle(5, 47, 50000)::geography) / (pi() * 50000.0 ^ 2) - 1) < 0.01,
          'circle: a valid polygon of about pi r^2');
SELECT ok(abs(ST_Y(ST_PointN(ST_ExteriorRing(lg_counts_circle(5, 47, 10000)), 1))
              - (47 + 10000 / 6371008.8 * 180 / pi())) < 1e-12,
          'circle: the first point is due north, r / R radians away');
SELECT ok(abs(lg_counts_polygon_area_m2(ST_MakeEnvelope(2, 44, 3, 45, 4326))
              / (6371008.8 ^ 2 * pi() / 180 * (sin(radians(45)) - sin(radians(44)))) - 1) < 1e-12,
          'polygon size: exact for a lon/lat rectangle on the sphere');
SELECT is((SELECT count(*)::int FROM lg_counts_geo() WHERE kind = 'c'), 100,
          'geo: every cell of count_cell');
SELECT is((SELECT array_agg(DISTINCT version) FROM lg_counts_geo()),
          (SELECT ARRAY[built] FROM count_geo_version), 'geo: one version, the built one');
SELECT is((SELECT cells::int FROM lg_counts_release_noisy((SELECT max(id) FROM count_release))), 100,
          'release noisy: aligned with the cells');
SELECT is((SELECT count(*)::int FROM lg_counts_releases_since(
               (extract(epoch FROM timestamptz '2200-01-01Z') * 1e6)::bigint)),
          1, 'releases since: the latest even when older than the horizon');
SELECT is(lg_counts_audit('[{"actor": "mem-1", "request": {"area": {}}, "answer": {"status": "AREA_NOT_SUPPORTED"}},
                            {"actor": "mem-2", "request": {"area": {}}, "answer": {"count": 12, "status": "SUPPORTED_AREA"}}]',
                          true),
          2::bigint, 'audit: one statement, two rows');
SELECT is((SELECT string_agg(actor || ' ' || (answer ->> 'status'), ', ' ORDER BY id) FROM audit_log
           WHERE actor IN ('mem-1', 'mem-2') AND actor_kind = 'third_party' AND action = 'region-device-count'),
          'mem-1 AREA_NOT_SUPPORTED, mem-2 SUPPORTED_AREA',
          'audit: the rows of answers from memory, in order, as lg_counts_query writes them');

SELECT * FROM finish();
ROLLBACK;
