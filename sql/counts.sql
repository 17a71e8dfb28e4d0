-- SPDX-License-Identifier: Apache-2.0
--
-- The privacy filter for third-party device counts (CAMARA Region Device
-- Count) and the operators' exact counts.
--
--   release.c, once per bucket:  lg_counts_exact_cells -> add discrete
--       Laplace noise in C -> lg_counts_store_release_outcome (budget checked here);
--       or, with the continual counter, lg_counts_continual_state and
--       lg_counts_continual_changes -> bound and step in C ->
--       lg_counts_continual_store
--   exposure.c, per request:     lg_counts_query (releases only, audited)
--   admin zone, operators:       lg_counts_exact (ue_location, audited)
--
-- Refusals are raised with SQLSTATE 22023; MESSAGE is a sentence for the
-- client and HINT the CAMARA ErrorInfo code (INVALID_ARGUMENT or a
-- REGION_DEVICE_COUNT.* code), which exposure.c copies into the answer.
-- Areas are CAMARA Area objects: {"areaType": "CIRCLE", "center":
-- {"latitude", "longitude"}, "radius": metres} or {"areaType": "POLYGON",
-- "boundary": [{"latitude", "longitude"}, ...3 to 15]}. Longitudes are taken
-- as they are: an area may not cross the antimeridian.

-- lg_counts_fail: raise a refusal (see above).
CREATE OR REPLACE FUNCTION lg_counts_fail(p_code text, p_message text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = p_message, HINT = p_code;
END
$fn$;

-- lg_counts_coord: the number member p_key of the Point p_point within
-- [-p_limit, p_limit]; refuses with p_code otherwise. p_what names the point
-- in the message.
CREATE OR REPLACE FUNCTION lg_counts_coord(p_point jsonb, p_key text, p_limit numeric,
                                           p_code text, p_what text)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
    v jsonb := p_point -> p_key;
BEGIN
    IF jsonb_typeof(p_point) IS DISTINCT FROM 'object' THEN
        PERFORM lg_counts_fail(p_code, format('%s must be an object with latitude and longitude',
                                              p_what));
    END IF;
    IF v IS NULL OR jsonb_typeof(v) <> 'number' THEN
        PERFORM lg_counts_fail(p_code, format('%s.%s must be a number', p_what, p_key));
    END IF;
    IF v::numeric < -p_limit OR v::numeric > p_limit THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT',
            format('%s.%s must be between %s and %s', p_what, p_key, -p_limit, p_limit));
    END IF;
    RETURN v::numeric::float8;
END
$fn$;

-- lg_counts_circle_area_m2: the area of a geodesic circle of radius p_radius_m
-- on the mean-radius sphere, 2 pi R^2 (1 - cos(r / R)); the whole sphere when
-- r >= pi R. Used to bound circles before any geometry is built.
CREATE OR REPLACE FUNCTION lg_counts_circle_area_m2(p_radius_m float8)
RETURNS float8
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT 2 * pi() * 6371008.8 ^ 2 * (1 - cos(least(p_radius_m / 6371008.8, pi())))
$fn$;

-- lg_counts_circle: the circle of radius p_radius_m metres around (p_lon,
-- p_lat) as a polygon of 64 points (bearings 0, 360/64, ... degrees) by the
-- spherical destination formula on the mean-radius sphere. The in-memory
-- evaluator (service/counts/planar.c lg_planar_circle) computes the same points with
-- the same float8 operations in the same order, so both answer for the same
-- polygon.
CREATE OR REPLACE FUNCTION lg_counts_circle(p_lon float8, p_lat float8, p_radius_m float8)
RETURNS geometry
LANGUAGE plpgsql IMMUTABLE
AS $fn$
DECLARE
    v_phi1 float8 := p_lat * (pi() / 180::float8);
    v_lambda1 float8 := p_lon * (pi() / 180::float8);
    v_delta float8 := p_radius_m / 6371008.8::float8;
    v_theta float8;
    v_phi2 float8;
    v_lambda2 float8;
    v_points geometry[] := '{}';
BEGIN
    FOR i IN 0 .. 63 LOOP
        v_theta := 2::float8 * pi() * i::float8 / 64::float8;
        v_phi2 := asin(sin(v_phi1) * cos(v_delta) + cos(v_phi1) * sin(v_delta) * cos(v_theta));
        v_lambda2 := v_lambda1 + atan2(sin(v_theta) * sin(v_delta) * cos(v_phi1),
                                       cos(v_delta) - sin(v_phi1) * sin(v_phi2));
        v_points := v_points || ST_MakePoint(v_lambda2 * (180::float8 / pi()),
                                             v_phi2 * (180::float8 / pi()));
    END LOOP;
    RETURN ST_SetSRID(ST_MakePolygon(ST_MakeLine(v_points || v_points[1])), 4326);
END
$fn$;

-- lg_counts_polygon_area_m2: the area of polygon p_geom (one ring, lon/lat)
-- on the mean-radius sphere, |sum (lon2 - lon1) (2 + sin lat1 + sin lat2)|
-- R^2 / 2 in radians (Chamberlain and Duquette 2007), the size the bounds
-- of a CAMARA POLYGON are checked against (also service/counts/planar.c
-- lg_planar_polygon_area_m2).
CREATE OR REPLACE FUNCTION lg_counts_polygon_area_m2(p_geom geometry)
RETURNS float8
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT abs(coalesce(sum((ST_X(b.geom) - ST_X(a.geom)) * (pi() / 180::float8)
                            * (2 + sin(ST_Y(a.geom) * (pi() / 180::float8))
                                 + sin(ST_Y(b.geom) * (pi() / 180::float8)))), 0)
               * 6371008.8::float8 * 6371008.8::float8 / 2)
    FROM ST_DumpPoints(ST_ExteriorRing(p_geom)) a
    JOIN ST_DumpPoints(ST_ExteriorRing(p_geom)) b ON b.path[1] = a.path[1] + 1
$fn$;

-- lg_counts_area: the geometry (SRID 4326 polygon) of a CAMARA Area, checked:
-- areaType CIRCLE or POLYGON; latitudes -90..90, longitudes -180..180; a
-- radius of at least 1 m; 3 to 15 boundary points forming a simple polygon
-- (not self-intersecting, not degenerate); the area's size within
-- [p_min_m2, p_max_m2] (NULL = no bound). area_m2 gets the size on the
-- sphere (lg_counts_circle_area_m2, lg_counts_polygon_area_m2); a circle is
-- the lg_counts_circle polygon.
CREATE OR REPLACE FUNCTION lg_counts_area(p_area jsonb, p_min_m2 float8, p_max_m2 float8,
                                          OUT geom geometry, OUT area_m2 float8)
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_type text;
    v_code text;
    v_lat float8;
    v_lon float8;
    v_radius jsonb;
    v_points geometry[] := '{}';
    v_n int;
    v_reason text;
BEGIN
    IF p_area IS NULL OR jsonb_typeof(p_area) <> 'object' THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'area must be an object');
    END IF;
    v_type := CASE WHEN jsonb_typeof(p_area -> 'areaType') = 'string'
                   THEN p_area ->> 'areaType' END;
    IF v_type IS NULL OR v_type NOT IN ('CIRCLE', 'POLYGON') THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'area.areaType must be CIRCLE or POLYGON');
    END IF;

    IF v_type = 'CIRCLE' THEN
        v_code := 'REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA';
        v_radius := p_area -> 'radius';
        IF p_area -> 'center' IS NULL OR v_radius IS NULL THEN
            PERFORM lg_counts_fail(v_code, 'Missing circle center or radius.');
        END IF;
        v_lat := lg_counts_coord(p_area -> 'center', 'latitude', 90, v_code, 'area.center');
        v_lon := lg_counts_coord(p_area -> 'center', 'longitude', 180, v_code, 'area.center');
        IF jsonb_typeof(v_radius) <> 'number' THEN
            PERFORM lg_counts_fail(v_code, 'area.radius must be a number');
        END IF;
        IF v_radius::numeric < 1 THEN
            PERFORM lg_counts_fail('INVALID_ARGUMENT', 'area.radius must be at least 1 metre');
        END IF;
        -- Bound the size from the radius before building anything: a huge
        -- radius must not cost a huge buffer.
        area_m2 := CASE WHEN v_radius::numeric > 1e8 THEN lg_counts_circle_area_m2(1e8)
                        ELSE lg_counts_circle_area_m2(v_radius::numeric::float8) END;
        IF area_m2 < p_min_m2 THEN
            PERFORM lg_counts_fail(v_code, format(
                'The circle is smaller than the minimum area of %s square metres.', p_min_m2));
        END IF;
        IF area_m2 > p_max_m2 THEN
            PERFORM lg_counts_fail(v_code, format(
                'The circle is larger than the maximum area of %s square metres.', p_max_m2));
        END IF;
        geom := lg_counts_circle(v_lon, v_lat, v_radius::numeric::float8);
        RETURN;
    END IF;

    v_code := 'REGION_DEVICE_COUNT.INVALID_POLYGON_AREA';
    IF jsonb_typeof(p_area -> 'boundary') IS DISTINCT FROM 'array' THEN
        PERFORM lg_counts_fail(v_code, 'Missing polygon boundary.');
    END IF;
    v_n := jsonb_array_length(p_area -> 'boundary');
    IF v_n < 3 OR v_n > 15 THEN
        PERFORM lg_counts_fail(v_code, 'The polygon boundary must have 3 to 15 points.');
    END IF;
    FOR i IN 0 .. v_n - 1 LOOP
        v_lat := lg_counts_coord(p_area -> 'boundary' -> i, 'latitude', 90, v_code,
                                 format('area.boundary[%s]', i));
        v_lon := lg_counts_coord(p_area -> 'boundary' -> i, 'longitude', 180, v_code,
                                 format('area.boundary[%s]', i));
        v_points := v_points || ST_SetSRID(ST_MakePoint(v_lon, v_lat), 4326);
    END LOOP;
    v_points := v_points || v_points[1];
    geom := ST_MakePolygon(ST_MakeLine(v_points));
    -- ST_IsValidDetail, not ST_IsValid: the latter logs a NOTICE per refusal.
    -- It is GEOS's GEOSisValidDetail, which the in-memory evaluator calls too.
    v_reason := (ST_IsValidDetail(geom)).reason;
    IF v_reason LIKE '%Self-intersection%' THEN
        PERFORM lg_counts_fail(v_code, 'The polygon is self-intersecting.');
    END IF;
    IF v_reason IS NOT NULL OR ST_Area(geom) < 1e-10 THEN  -- about 1 m2: a sliver, not an area
        PERFORM lg_counts_fail(v_code, 'The polygon is degenerate (its points do not enclose an area).');
    END IF;
    area_m2 := lg_counts_polygon_area_m2(geom);
    IF area_m2 <= 0 THEN
        PERFORM lg_counts_fail(v_code, 'The polygon is degenerate (its points do not enclose an area).');
    END IF;
    IF area_m2 < p_min_m2 THEN
        PERFORM lg_counts_fail(v_code, format(
            'The polygon is smaller than the minimum area of %s square metres.', p_min_m2));
    END IF;
    IF area_m2 > p_max_m2 THEN
        PERFORM lg_counts_fail(v_code, format(
            'The polygon is larger than the maximum area of %s square metres.', p_max_m2));
    END IF;
END
$fn$;

-- lg_counts_has_consent: true when device p_ue_id holds a valid
-- 'anonymous-statistics' consent at p_at that is not limited to one SCS (a
-- release is shown to every third party, so an SCS-specific consent does not
-- cover it).
CREATE OR REPLACE FUNCTION lg_counts_has_consent(p_ue_id bigint, p_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT EXISTS (SELECT 1 FROM consent k
                   WHERE k.ue_id = p_ue_id AND k.purpose = 'anonymous-statistics'
                     AND k.scs_id IS NULL AND k.revoked_at IS NULL
                     AND k.granted_at <= p_at
                     AND (k.expires_at IS NULL OR p_at < k.expires_at))
$fn$;

-- lg_counts_consenting: the devices for which lg_counts_has_consent(ue,
-- p_at) is true (a device may appear more than once), as a set, so a
-- release can semi-join a million devices instead of asking one by one
-- (3 s instead of 10 at 1M devices). The same rule as
-- lg_counts_has_consent; tests/sql/counts_continual_test.sql checks that
-- they agree.
CREATE OR REPLACE FUNCTION lg_counts_consenting(p_at timestamptz)
RETURNS TABLE (ue_id bigint)
LANGUAGE sql STABLE
AS $fn$
    SELECT k.ue_id FROM consent k
    WHERE k.purpose = 'anonymous-statistics'
      AND k.scs_id IS NULL AND k.revoked_at IS NULL
      AND k.granted_at <= p_at
      AND (k.expires_at IS NULL OR p_at < k.expires_at)
$fn$;

---------------------------------------------------------------------------
-- The release (called by release.c)

-- lg_counts_exact_cells(p_bucket_end, p_bucket_start): the exact histogram
-- the daemon adds noise to. One row per cell of the cell table, zero counts
-- included, ordered by cell_key: n = devices with a valid anonymous-statistics
-- consent at p_bucket_end whose latest location is that cell and was reported
-- in [p_bucket_start, p_bucket_end). p_bucket_start defaults to one hour
-- before p_bucket_end. The result must never leave the release path.
CREATE OR REPLACE FUNCTION lg_counts_exact_cells(p_bucket_end timestamptz,
                                                 p_bucket_start timestamptz DEFAULT NULL)
RETURNS TABLE (cell_key text, n bigint)
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
    v_start timestamptz := coalesce(p_bucket_start, p_bucket_end - interval '1 hour');
BEGIN
    IF p_bucket_end IS NULL OR v_start >= p_bucket_end THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the bucket must end after it starts');
    END IF;
    RETURN QUERY
        SELECT c.cell_key::text, coalesce(d.n, 0)::bigint
        FROM cell c
        LEFT JOIN (SELECT l.cell_key, count(*) AS n
                   FROM ue_location l
                   WHERE l.reported_at >= v_start AND l.reported_at < p_bucket_end
                     AND l.cell_key IS NOT NULL
                     AND lg_counts_has_consent(l.ue_id, p_bucket_end)
                   GROUP BY l.cell_key) d ON d.cell_key = c.cell_key
        ORDER BY c.cell_key;
END
$fn$;

-- lg_counts_store_release_outcome: store one bucket's noisy histogram
-- (p_cells[i] has the noisy count p_noisy[i]) spending epsilon
-- p_eps_num/p_eps_den, and say what became of it:
--   'stored'        stored now;
--   'already_done'  the bucket was already released (by this daemon or
--                   another one, even one that committed while this call
--                   waited for the lock): nothing stored, nothing spent;
--   'budget_spent'  the releases whose bucket_start falls on the same UTC
--                   day would then spend more than
--                   p_daily_eps_num/p_daily_eps_den (compared exactly, as
--                   fractions): nothing stored.
-- Concurrent callers for the same day are serialised by an advisory lock,
-- and both checks are made after it is held (each statement of a plpgsql
-- function sees what committed before it began), so the outcome is decided
-- here and never by the caller's own, earlier snapshot (release.c).
CREATE OR REPLACE FUNCTION lg_counts_store_release_outcome(p_start timestamptz, p_end timestamptz,
                                                           p_eps_num int, p_eps_den int,
                                                           p_cells text[], p_noisy bigint[],
                                                           p_daily_eps_num int DEFAULT 12,
                                                           p_daily_eps_den int DEFAULT 1)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_day date;
    v_num numeric;
    v_den numeric := 1;
    v_g numeric;
    v_id bigint;
    r record;
BEGIN
    IF p_start IS NULL OR p_end IS NULL OR p_end <= p_start THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the bucket must end after it starts');
    END IF;
    IF coalesce(p_eps_num, 0) <= 0 OR coalesce(p_eps_den, 0) <= 0
       OR coalesce(p_daily_eps_num, 0) <= 0 OR coalesce(p_daily_eps_den, 0) <= 0 THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'epsilon ratios must be positive');
    END IF;
    IF p_cells IS NULL OR p_noisy IS NULL
       OR coalesce(array_length(p_cells, 1), 0) <> coalesce(array_length(p_noisy, 1), 0)
       OR array_position(p_cells, NULL) IS NOT NULL OR array_position(p_noisy, NULL) IS NOT NULL THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT',
                               'cells and noisy counts must be arrays of equal length without NULLs');
    END IF;

    v_day := (p_start AT TIME ZONE 'UTC')::date;
    PERFORM pg_advisory_xact_lock(hashtext('lg_counts_store_release'), v_day - date '1970-01-01');
    IF EXISTS (SELECT 1 FROM count_release WHERE bucket_start = p_start) THEN
        RETURN 'already_done';
    END IF;

    -- Spent today plus this release, as one exact fraction v_num / v_den.
    v_num := p_eps_num;
    v_den := p_eps_den;
    FOR r IN SELECT eps_num, eps_den FROM count_release
             WHERE bucket_start >= v_day::timestamp AT TIME ZONE 'UTC'
               AND bucket_start < (v_day + 1)::timestamp AT TIME ZONE 'UTC'
               AND horizon_start IS NULL LOOP
        v_num := v_num * r.eps_den + r.eps_num * v_den;
        v_den := v_den * r.eps_den;
        v_g := gcd(v_num, v_den);
        v_num := v_num / v_g;
        v_den := v_den / v_g;
    END LOOP;
    IF v_num * p_daily_eps_den > p_daily_eps_num::numeric * v_den THEN
        RETURN 'budget_spent';
    END IF;

    INSERT INTO count_release (bucket_start, bucket_end, eps_num, eps_den)
    VALUES (p_start, p_end, p_eps_num, p_eps_den)
    RETURNING id INTO v_id;
    INSERT INTO count_release_cell (release_id, cell_key, noisy)
    SELECT v_id, u.cell_key, u.noisy
    FROM unnest(p_cells, p_noisy) AS u(cell_key, noisy);
    RETURN 'stored';
END
$fn$;

-- lg_counts_store_release: lg_counts_store_release_outcome, true when it
-- stored the release (for tests, the bench and operators' scripts).
CREATE OR REPLACE FUNCTION lg_counts_store_release(p_start timestamptz, p_end timestamptz,
                                                   p_eps_num int, p_eps_den int,
                                                   p_cells text[], p_noisy bigint[],
                                                   p_daily_eps_num int DEFAULT 12,
                                                   p_daily_eps_den int DEFAULT 1)
RETURNS boolean
LANGUAGE sql
AS $fn$
    SELECT lg_counts_store_release_outcome(p_start, p_end, p_eps_num, p_eps_den, p_cells, p_noisy,
                                           p_daily_eps_num, p_daily_eps_den) = 'stored'
$fn$;

---------------------------------------------------------------------------
-- The continual release (release.c with the continual counter,
-- service/counts/continual.c; migrations/0021_counts_continual.sql)
--
-- Per bucket: lg_counts_continual_state (the counter's state, one row per
-- cell) and lg_counts_continual_changes (the devices whose counted cell
-- differs from where they are seen) -> the bound and the tree step in C
-- -> lg_counts_continual_store (state, devices and the release, at once).

-- lg_counts_continual_state: the horizon starting at p_starts_at (made with
-- these settings when it does not exist; refused with 22023 when it exists
-- with others) and the counter's state after its last released bucket t:
-- one row per cell of the cell table or of the stored state, ordered by
-- cell_key (COLLATE "C"), with the cell's p_levels open and closed values
-- (NULL for a cell not in the stored state: zeros), and on every row the
-- cell table's version (count_geo_version) read before the changes are,
-- which the store keeps (lg_counts_continual_changes compares it).
CREATE OR REPLACE FUNCTION lg_counts_continual_state(p_starts_at timestamptz, p_bucket_s int,
                                                     p_steps int, p_branching int, p_levels int,
                                                     p_eps_num int, p_eps_den int,
                                                     p_moves_per_day int, p_moves_lifetime int)
RETURNS TABLE (t int, cell_key text, open bigint[], closed bigint[], geo_version bigint)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    h count_horizon;
    v_geo bigint := (SELECT g.version FROM count_geo_version g);
BEGIN
    INSERT INTO count_horizon (starts_at, bucket_s, steps, branching, levels, eps_num, eps_den,
                               moves_per_day, moves_lifetime)
    VALUES (p_starts_at, p_bucket_s, p_steps, p_branching, p_levels, p_eps_num, p_eps_den,
            p_moves_per_day, p_moves_lifetime)
    ON CONFLICT (starts_at) DO NOTHING;
    SELECT * INTO h FROM count_horizon x WHERE x.starts_at = p_starts_at;
    IF (h.bucket_s, h.steps, h.branching, h.levels, h.eps_num, h.eps_den, h.moves_per_day,
        h.moves_lifetime)
       IS DISTINCT FROM (p_bucket_s, p_steps, p_branching, p_levels, p_eps_num, p_eps_den,
                         p_moves_per_day, p_moves_lifetime) THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT',
            'the horizon exists with other settings: change them only for a new horizon');
    END IF;
    -- The arrays are unnested once (slicing a large array per cell would
    -- read all of it for each cell).
    RETURN QUERY
        WITH stored AS (
            SELECT u.k COLLATE "C" AS cell_key, u.i FROM unnest(h.cells) WITH ORDINALITY u(k, i)
        ), o AS (
            SELECT (x.i - 1) / h.levels + 1 AS i, array_agg(x.v ORDER BY x.i) AS v
            FROM unnest(h.open) WITH ORDINALITY x(v, i) GROUP BY 1
        ), c AS (
            SELECT (x.i - 1) / h.levels + 1 AS i, array_agg(x.v ORDER BY x.i) AS v
            FROM unnest(h.closed) WITH ORDINALITY x(v, i) GROUP BY 1
        )
        SELECT h.t, k.cell_key::text, o.v, c.v, v_geo
        FROM (SELECT x.cell_key::text COLLATE "C" AS cell_key FROM cell x
              UNION
              SELECT stored.cell_key FROM stored) k
        LEFT JOIN stored s ON s.cell_key = k.cell_key
        LEFT JOIN o ON o.i = s.i
        LEFT JOIN c ON c.i = s.i
        ORDER BY k.cell_key COLLATE "C";
END
$fn$;

-- lg_counts_continual_changes: the devices whose counted cell in the
-- horizon p_starts_at differs from where they are seen at p_bucket_end,
-- with their bounded state (NULLs for a device without one). A device is
-- seen in the cell of its latest location when that cell is in the cell
-- table, the report is at or after p_bucket_end - p_presence_s s and it
-- holds a valid anonymous-statistics consent at p_bucket_end; otherwise it
-- is not seen (observed NULL). A report after p_bucket_end (made in the
-- delay_s before the release reads) counts too: before, a counted device
-- that reported again in that window was counted out and back in an hour
-- later, a false departure and return that spent its budget (two units:
-- with moves_per_horizon 0, all of them). The result must never leave the
-- release path.
--
-- Two ways to the same rows. The full comparison (lg_counts_continual_
-- changes_full: every device's location, consent and stored state, about
-- 2 s at 1M devices) for the horizon's first bucket, the first release
-- after migration 0027, or when the presence or the cell table changed
-- since the previous release (count_horizon.presence_s, geo_version).
-- Otherwise the same comparison for the candidates alone
-- (lg_counts_continual_changes_since), the devices that may have changed
-- since the previous release's bucket end (count_horizon.changes_from):
-- everyone else is seen where the previous release saw it and counted
-- there (or held: then a candidate), so is no change. Candidates:
--   - ue_location.cell_since >= changes_from: the cell changed (or the
--     location is new);
--   - a stored device whose seen_until < p_bucket_end: its presence may
--     have ended;
--   - a stored device held back by the bound (is_held), or not counted
--     (cell_key NULL): it may be seen again without moving (a report from
--     the same cell after its presence ended goes by the ingest's fast
--     path, which writes no cell_since). So every device with a location
--     and an anonymous-statistics consent has a state: the store writes
--     one, not counted, for those it has not seen. Their number (devices
--     gone quiet, consenting devices not seen) is what this costs beyond
--     the changes: one probe of ue_location each;
--   - an anonymous-statistics consent granted, revoked or ending after
--     changes_from;
--   - a deleted location (count_location_gone) after changes_from.
-- The times compared are the writing transactions' (now()), so a write
-- the previous release did not see has a time after its bucket end unless
-- its transaction began before that end and committed after the previous
-- release read (release.c runs delay_s after the end).
-- tests/sql/counts_changes_since_test.sql checks that both find the same
-- rows.
CREATE OR REPLACE FUNCTION lg_counts_continual_changes_full(p_starts_at timestamptz,
                                                            p_bucket_end timestamptz,
                                                            p_presence_s int)
RETURNS TABLE (ue_id bigint, released text, observed text, day bigint, moves_today int,
               moves_released int, units_spent int)
LANGUAGE sql STABLE
AS $fn$
    WITH seen AS (
        SELECT l.ue_id, l.cell_key::text AS observed
        FROM ue_location l
        JOIN cell c ON c.cell_key = l.cell_key
        WHERE l.reported_at >= p_bucket_end - make_interval(secs => p_presence_s)
          AND l.ue_id IN (SELECT c.ue_id FROM lg_counts_consenting(p_bucket_end) c)
    ), state AS (
        SELECT * FROM count_horizon_device d WHERE d.starts_at = p_starts_at
    )
    SELECT coalesce(s.ue_id, d.ue_id), d.cell_key::text, s.observed, d.day, d.moves_today,
           d.moves_released, d.units_spent
    FROM seen s
    FULL JOIN state d ON d.ue_id = s.ue_id
    WHERE s.observed IS DISTINCT FROM d.cell_key::text
    ORDER BY 1
$fn$;

-- The candidates of lg_counts_continual_changes since p_changes_from (each
-- device once).
CREATE OR REPLACE FUNCTION lg_counts_continual_candidates(p_starts_at timestamptz,
                                                          p_changes_from timestamptz,
                                                          p_bucket_end timestamptz)
RETURNS TABLE (ue_id bigint)
LANGUAGE sql STABLE
AS $fn$
    SELECT l.ue_id FROM ue_location l WHERE l.cell_since >= p_changes_from
    UNION
    SELECT d.ue_id FROM count_horizon_device d
    WHERE d.starts_at = p_starts_at AND d.seen_until < p_bucket_end
    UNION
    SELECT d.ue_id FROM count_horizon_device d WHERE d.starts_at = p_starts_at AND d.is_held
    UNION
    SELECT d.ue_id FROM count_horizon_device d
    WHERE d.starts_at = p_starts_at AND d.cell_key IS NULL
    UNION
    SELECT k.ue_id FROM consent k
    WHERE k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
      AND k.granted_at >= p_changes_from
    UNION
    SELECT k.ue_id FROM consent k
    WHERE k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
      AND k.revoked_at IS NOT NULL AND k.revoked_at >= p_changes_from
    UNION
    SELECT k.ue_id FROM consent k
    WHERE k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
      AND k.expires_at IS NOT NULL AND k.expires_at >= p_changes_from
    UNION
    SELECT g.ue_id FROM count_location_gone g WHERE g.gone_at >= p_changes_from
$fn$;

CREATE OR REPLACE FUNCTION lg_counts_continual_changes_since(p_starts_at timestamptz,
                                                             p_changes_from timestamptz,
                                                             p_bucket_end timestamptz,
                                                             p_presence_s int)
RETURNS TABLE (ue_id bigint, released text, observed text, day bigint, moves_today int,
               moves_released int, units_spent int)
LANGUAGE sql STABLE
AS $fn$
    -- (The stored states are joined, not probed one by one: at 1M devices
    -- and 10,000 candidates the planner's hash join took 0.13 s, forced key
    -- probes 0.24 s; tests/bench/README.md.)
    WITH cand AS MATERIALIZED (
        SELECT c.ue_id FROM lg_counts_continual_candidates(p_starts_at, p_changes_from,
                                                           p_bucket_end) c
    ), seen AS (
        SELECT l.ue_id, l.cell_key::text AS observed
        FROM cand x
        JOIN ue_location l ON l.ue_id = x.ue_id
        JOIN cell c ON c.cell_key = l.cell_key
        WHERE l.reported_at >= p_bucket_end - make_interval(secs => p_presence_s)
          AND lg_counts_has_consent(l.ue_id, p_bucket_end)
    ), state AS (
        SELECT d.* FROM cand x
        JOIN count_horizon_device d ON d.starts_at = p_starts_at AND d.ue_id = x.ue_id
    )
    SELECT coalesce(s.ue_id, d.ue_id), d.cell_key::text, s.observed, d.day, d.moves_today,
           d.moves_released, d.units_spent
    FROM seen s
    FULL JOIN state d ON d.ue_id = s.ue_id
    WHERE s.observed IS DISTINCT FROM d.cell_key::text
    ORDER BY 1
$fn$;

-- lg_counts_continual_is_full: whether lg_counts_continual_changes compares
-- every device (see above) for this bucket.
CREATE OR REPLACE FUNCTION lg_counts_continual_is_full(p_starts_at timestamptz,
                                                       p_presence_s int)
RETURNS boolean
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce((SELECT h.t = 0 OR h.changes_from IS NULL
                            OR h.presence_s IS DISTINCT FROM p_presence_s
                            OR h.geo_version IS DISTINCT FROM (SELECT g.version
                                                               FROM count_geo_version g)
                     FROM count_horizon h WHERE h.starts_at = p_starts_at), true)
$fn$;

-- The candidates' comparison since the previous release's bucket end,
-- planned with the values (a generic plan cannot tell how few rows the
-- time ranges select: 150-220 ms instead of 13 at 20,000 devices).
CREATE OR REPLACE FUNCTION lg_counts_continual_changes_by_candidates(p_starts_at timestamptz,
                                                                     p_bucket_end timestamptz,
                                                                     p_presence_s int)
RETURNS TABLE (ue_id bigint, released text, observed text, day bigint, moves_today int,
               moves_released int, units_spent int)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_from timestamptz;
BEGIN
    SELECT h.changes_from INTO v_from FROM count_horizon h WHERE h.starts_at = p_starts_at;
    RETURN QUERY EXECUTE format('SELECT * FROM lg_counts_continual_changes_since(%L, %L, %L, %s)',
                                p_starts_at, v_from, p_bucket_end, p_presence_s);
END
$fn$;

-- One of the two, as a plain query (the full comparison's million rows of
-- a first bucket are not copied through a PL/pgSQL result).
CREATE OR REPLACE FUNCTION lg_counts_continual_changes(p_starts_at timestamptz,
                                                       p_bucket_end timestamptz,
                                                       p_presence_s int)
RETURNS TABLE (ue_id bigint, released text, observed text, day bigint, moves_today int,
               moves_released int, units_spent int)
LANGUAGE sql STABLE
AS $fn$
    SELECT * FROM lg_counts_continual_changes_full(p_starts_at, p_bucket_end, p_presence_s)
    WHERE lg_counts_continual_is_full(p_starts_at, p_presence_s)
    UNION ALL
    SELECT * FROM lg_counts_continual_changes_by_candidates(p_starts_at, p_bucket_end, p_presence_s)
    WHERE NOT lg_counts_continual_is_full(p_starts_at, p_presence_s)
$fn$;

-- lg_counts_continual_store: after the counter stepped from bucket
-- p_t_before to p_t_after of horizon p_starts_at, store at once its state
-- (p_cells, p_open, p_closed as in count_horizon), the devices' new bounded
-- states (p_ues[i] and the same index of the p_dev_* arrays) and the
-- release of bucket [p_start, p_end): count_release (the horizon's epsilon)
-- and count_release_cell (p_released[i] for p_cells[i]). Returns 'stored',
-- or 'already_done', storing nothing, when the horizon is no longer at
-- p_t_before or the bucket was already released (another daemon made it:
-- checked after the horizon's lock is held). p_dev_held[i]: the bound held
-- the device back (it is seen elsewhere than p_dev_cells[i]); p_presence_s
-- and p_geo_version (lg_counts_continual_state's) are what this release
-- used, so that the next one looks only at the candidates (NULL: it
-- compares everything).
CREATE OR REPLACE FUNCTION lg_counts_continual_store(
    p_starts_at timestamptz, p_t_before int, p_t_after int, p_start timestamptz,
    p_end timestamptz, p_cells text[], p_open bigint[], p_closed bigint[], p_released bigint[],
    p_ues bigint[], p_dev_cells text[], p_dev_day bigint[], p_dev_moves_today int[],
    p_dev_moves_released int[], p_dev_units int[], p_dev_held boolean[] DEFAULT NULL,
    p_presence_s int DEFAULT NULL, p_geo_version bigint DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    h count_horizon;
    v_id bigint;
    v_n int := coalesce(cardinality(p_ues), 0);
    v_presence interval := make_interval(secs => p_presence_s);
BEGIN
    IF p_start IS NULL OR p_end IS NULL OR p_end <= p_start THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the bucket must end after it starts');
    END IF;
    IF p_cells IS NULL OR p_released IS NULL OR cardinality(p_released) <> cardinality(p_cells)
       OR array_position(p_cells, NULL) IS NOT NULL OR array_position(p_released, NULL) IS NOT NULL
       OR coalesce(cardinality(p_dev_cells), 0) <> v_n OR coalesce(cardinality(p_dev_day), 0) <> v_n
       OR coalesce(cardinality(p_dev_moves_today), 0) <> v_n
       OR coalesce(cardinality(p_dev_moves_released), 0) <> v_n
       OR coalesce(cardinality(p_dev_units), 0) <> v_n
       OR (p_dev_held IS NOT NULL AND cardinality(p_dev_held) <> v_n) THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the cell and device arrays must match');
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('lg_counts_continual_store'));
    SELECT * INTO h FROM count_horizon WHERE starts_at = p_starts_at;
    IF NOT FOUND THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'no such horizon');
    END IF;
    IF h.t <> p_t_before OR EXISTS (SELECT 1 FROM count_release WHERE bucket_start = p_start) THEN
        RETURN 'already_done';
    END IF;
    IF p_t_after <= p_t_before OR p_t_after > h.steps
       OR coalesce(cardinality(p_open), 0) <> cardinality(p_cells) * h.levels
       OR coalesce(cardinality(p_closed), 0) <> cardinality(p_cells) * h.levels THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the counter state does not fit the horizon');
    END IF;

    -- What the next release's lg_counts_continual_changes looks from: this
    -- bucket's end, with the presence and the cell table's version this
    -- release used (none given: the next one compares everything).
    UPDATE count_horizon
    SET t = p_t_after, cells = p_cells, open = p_open, closed = p_closed,
        changes_from = CASE WHEN p_presence_s IS NOT NULL THEN p_end END,
        presence_s = p_presence_s, geo_version = p_geo_version
    WHERE starts_at = p_starts_at;
    -- A counted device's seen_until is its latest report plus the presence
    -- (no location any more: a candidate next time).
    INSERT INTO count_horizon_device AS d (starts_at, ue_id, cell_key, day, moves_today,
                                           moves_released, units_spent, is_held, seen_until)
    SELECT p_starts_at, u.ue_id, u.cell_key, u.day, u.moves_today, u.moves_released, u.units,
           coalesce(u.held, false),
           CASE WHEN u.cell_key IS NOT NULL
                THEN coalesce((SELECT l.reported_at FROM ue_location l WHERE l.ue_id = u.ue_id),
                              '-infinity') + v_presence END
    FROM unnest(p_ues, p_dev_cells, p_dev_day, p_dev_moves_today, p_dev_moves_released,
                p_dev_units, coalesce(p_dev_held, '{}'))
         AS u(ue_id, cell_key, day, moves_today, moves_released, units, held)
    ON CONFLICT (starts_at, ue_id) DO UPDATE
    SET cell_key = excluded.cell_key, day = excluded.day, moves_today = excluded.moves_today,
        moves_released = excluded.moves_released, units_spent = excluded.units_spent,
        is_held = excluded.is_held, seen_until = excluded.seen_until;
    IF p_presence_s IS NOT NULL THEN
        IF h.changes_from IS NULL OR h.presence_s IS DISTINCT FROM p_presence_s THEN
            -- This release compared everything: every counted device gets its
            -- seen_until with this presence, and every device that may be
            -- seen without moving (a location and an anonymous-statistics
            -- consent) a state, not counted, so that the next releases find
            -- it among the candidates (lg_counts_continual_candidates).
            -- (At the horizon's first bucket every counted device was just
            -- written with it.)
            IF h.t > 0 THEN
                UPDATE count_horizon_device d
                SET seen_until = coalesce((SELECT l.reported_at FROM ue_location l
                                           WHERE l.ue_id = d.ue_id), '-infinity') + v_presence
                WHERE d.starts_at = p_starts_at AND d.cell_key IS NOT NULL;
            END IF;
            INSERT INTO count_horizon_device (starts_at, ue_id, cell_key, day, moves_today,
                                              moves_released, units_spent)
            SELECT DISTINCT p_starts_at, l.ue_id, NULL::text, 0::bigint, 0, 0, 0
            FROM ue_location l
            JOIN consent k ON k.ue_id = l.ue_id AND k.purpose = 'anonymous-statistics'
                          AND k.scs_id IS NULL AND k.revoked_at IS NULL
            ON CONFLICT (starts_at, ue_id) DO NOTHING;
        ELSE
            -- The counted devices whose presence could have ended are seen
            -- until their latest report's end of presence; the devices new
            -- since the previous release (a location or a consent) get a
            -- state, as above.
            UPDATE count_horizon_device d
            SET seen_until = coalesce((SELECT l.reported_at FROM ue_location l
                                       WHERE l.ue_id = d.ue_id), '-infinity') + v_presence
            WHERE d.starts_at = p_starts_at AND d.seen_until < p_end AND d.cell_key IS NOT NULL
              AND NOT d.is_held;
            INSERT INTO count_horizon_device (starts_at, ue_id, cell_key, day, moves_today,
                                              moves_released, units_spent)
            SELECT p_starts_at, x.ue_id, NULL::text, 0::bigint, 0, 0, 0
            FROM (SELECT l.ue_id FROM ue_location l WHERE l.cell_since >= h.changes_from
                  UNION
                  SELECT k.ue_id FROM consent k
                  WHERE k.purpose = 'anonymous-statistics' AND k.scs_id IS NULL
                    AND k.granted_at >= h.changes_from) x
            WHERE EXISTS (SELECT 1 FROM ue_location l WHERE l.ue_id = x.ue_id)
            ON CONFLICT (starts_at, ue_id) DO NOTHING;
        END IF;
    END IF;
    DELETE FROM count_location_gone WHERE gone_at < p_end - interval '1 day';
    INSERT INTO count_release (bucket_start, bucket_end, eps_num, eps_den, horizon_start)
    VALUES (p_start, p_end, h.eps_num, h.eps_den, p_starts_at)
    RETURNING id INTO v_id;
    INSERT INTO count_release_cell (release_id, cell_key, noisy)
    SELECT v_id, u.cell_key, u.noisy
    FROM unnest(p_cells, p_released) AS u(cell_key, noisy);
    RETURN 'stored';
END
$fn$;

-- lg_counts_location_gone: a deleted location (its device deleted) is
-- remembered in count_location_gone, the only trace that the device must
-- leave the counts (lg_counts_continual_candidates).
CREATE OR REPLACE FUNCTION lg_counts_location_gone()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO count_location_gone (ue_id) SELECT o.ue_id FROM gone o;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER ue_location_count_gone
    AFTER DELETE ON ue_location REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION lg_counts_location_gone();

---------------------------------------------------------------------------
-- Derived tables (migrations/0012_counts_fast.sql)

-- lg_counts_refresh: rebuild count_cell, count_tile and count_coverage_piece
-- when the cell table changed since they were built (count_geo_version), and
-- forget the per-release tile sums built from the old tiles. Cheap when
-- nothing changed; serialised by an advisory lock otherwise.
CREATE OR REPLACE FUNCTION lg_counts_refresh()
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_version bigint;
BEGIN
    IF (SELECT version = built FROM count_geo_version) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('lg_counts_refresh'));
    SELECT version INTO v_version FROM count_geo_version WHERE version <> built;
    IF NOT FOUND THEN
        RETURN;     -- another session built it while we waited
    END IF;

    DELETE FROM count_release_tiled;
    DELETE FROM count_release_tile;
    DELETE FROM count_tile;
    DELETE FROM count_cell;
    DELETE FROM count_coverage_piece;

    INSERT INTO count_cell (cell_key, coverage, area_m2, ix, iy)
    SELECT c.cell_key, c.coverage, ST_Area(c.coverage::geography),
           floor((ST_XMin(c.coverage) + ST_XMax(c.coverage)) / 2 * 16)::int,
           floor((ST_YMin(c.coverage) + ST_YMax(c.coverage)) / 2 * 16)::int
    FROM cell c
    WHERE c.coverage IS NOT NULL AND NOT ST_IsEmpty(c.coverage);

    INSERT INTO count_tile (level, ix, iy, box)
    SELECT l, c.ix >> l, c.iy >> l,
           ST_SetSRID(ST_MakeEnvelope(min(ST_XMin(c.coverage)), min(ST_YMin(c.coverage)),
                                      max(ST_XMax(c.coverage)), max(ST_YMax(c.coverage))), 4326)
    FROM count_cell c CROSS JOIN generate_series(0, 5) l
    GROUP BY l, c.ix >> l, c.iy >> l;

    INSERT INTO count_coverage_piece (geom, area_deg, area_m2)
    SELECT p.geom, ST_Area(p.geom), ST_Area(p.geom::geography)
    FROM (SELECT ST_Subdivide(ST_Union(ST_Intersection(c.coverage, g.sq)), 64) AS geom
          FROM (SELECT DISTINCT ST_SetSRID(ST_MakeEnvelope(gx / 4.0, gy / 4.0,
                                                           (gx + 1) / 4.0, (gy + 1) / 4.0), 4326) AS sq
                FROM count_cell c,
                     generate_series(floor(ST_XMin(c.coverage) * 4)::int,
                                     ceil(ST_XMax(c.coverage) * 4)::int - 1) gx,
                     generate_series(floor(ST_YMin(c.coverage) * 4)::int,
                                     ceil(ST_YMax(c.coverage) * 4)::int - 1) gy) g
          JOIN count_cell c ON c.coverage && g.sq AND ST_Intersects(c.coverage, g.sq)
          GROUP BY g.sq) p
    WHERE ST_Dimension(p.geom) = 2 AND ST_Area(p.geom) > 0;

    UPDATE count_geo_version SET built = v_version WHERE one;
    ANALYZE count_cell, count_tile, count_coverage_piece;
END
$fn$;

-- lg_counts_tile_releases: make sure count_release_tile holds the tile sums
-- of the releases p_releases (tiles as built now).
CREATE OR REPLACE FUNCTION lg_counts_tile_releases(p_releases bigint[])
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_id bigint;
BEGIN
    FOR v_id IN SELECT r FROM unnest(p_releases) r
                WHERE NOT EXISTS (SELECT 1 FROM count_release_tiled t WHERE t.release_id = r) LOOP
        PERFORM pg_advisory_xact_lock(hashtext('lg_counts_tile_releases'), v_id::int);
        CONTINUE WHEN EXISTS (SELECT 1 FROM count_release_tiled t WHERE t.release_id = v_id);
        INSERT INTO count_release_tile (release_id, level, ix, iy, total)
        SELECT v_id, l, c.ix >> l, c.iy >> l, sum(x.noisy)
        FROM count_release_cell x
        JOIN count_cell c ON c.cell_key = x.cell_key
        CROSS JOIN generate_series(0, 5) l
        WHERE x.release_id = v_id
        GROUP BY l, c.ix >> l, c.iy >> l;
        INSERT INTO count_release_tiled (release_id) VALUES (v_id);
    END LOOP;
END
$fn$;

---------------------------------------------------------------------------
-- Third-party queries (called by exposure.c)

-- lg_counts_query: answer a CAMARA region device count request from the
-- stored releases only. p_area is the request's area; p_start/p_end the
-- optional interval (both or neither). The releases used are the latest one
-- when there is no interval, else every release whose bucket lies inside
-- [p_start, p_end]. The answer is
--     round( sum over cells c intersecting the area of
--            q(c) * (sum over the releases used of noisy(c))
--            / (10^9 * #releases) )
-- where q(c), the cell's share in billionths, is 10^9 for a cell the area
-- covers and otherwise rint(10^9 * area(c ∩ area) / area(c)) with planar
-- (lon/lat) areas. The sum and the rounding (half away from zero) are exact
-- integer arithmetic, so the same query over the same releases always gets
-- the same answer, whatever the order of summation. Statuses, in this order:
--   AREA_NOT_SUPPORTED               the cells cover < 50 % of the area
--   TIME_INTERVAL_NO_DATA_FOUND      no release to answer from
--   DENSITY_BELOW_PRIVACY_THRESHOLD  the rounded answer is below p_k
--   PART_OF_AREA_NOT_SUPPORTED       50 % <= coverage < 100 %
--   SUPPORTED_AREA
-- The covered share is the planar area of the coverage pieces inside the
-- area over the area's planar area: 100 % when they add up to the area's
-- (to 1e-12), else that ratio kept below 1 - 1e-6; "< 100 %" is < 1 - 1e-9.
-- The cell sums, tiles and coverage pieces come from the derived tables of
-- 0012_counts_fast, rebuilt here first when the cell table changed
-- (lg_counts_refresh).
--
-- This is THE definition of a count: the daemon answers CAMARA requests with
-- an in-memory evaluator of the same quantity (service/counts/counteval.c, same
-- circle polygon, same shares, same rounding, same statuses), and the T8
-- NUMBER_OF_UES_IN_AN_AREA reports (area_reports.sql) call this function;
-- tests/unit/counts/test_countmap.c checks that both give the same answers.
-- Only the last two statuses carry a count. Every answered query goes to
-- audit_log. Refusals (invalid area, size outside [p_min_area_m2,
-- p_max_area_m2], interval) raise 22023 and answer nothing.
CREATE OR REPLACE FUNCTION lg_counts_query(p_client text, p_area jsonb, p_start timestamptz,
                                           p_end timestamptz, p_k int, p_min_area_m2 float8,
                                           p_max_area_m2 float8)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_geom geometry;
    v_area_m2 float8;
    v_releases bigint[];
    v_covered float8;
    v_sum numeric;
    v_den numeric;
    v_count bigint;
    v_answer jsonb;
BEGIN
    IF p_client IS NULL OR p_client = '' THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the client is required');
    END IF;
    IF p_k IS NULL OR p_k < 1 THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'k must be at least 1');
    END IF;
    IF (p_start IS NULL) <> (p_end IS NULL) THEN
        PERFORM lg_counts_fail('REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT',
            'starttime and endtime cannot be passed separately. Either both are passed or neither is passed.');
    END IF;
    IF p_end < p_start THEN
        PERFORM lg_counts_fail('REGION_DEVICE_COUNT.INVALID_END_DATE',
                               'Indicated endTime is earlier than the startTime.');
    END IF;
    SELECT a.geom, a.area_m2 INTO v_geom, v_area_m2
    FROM lg_counts_area(p_area, p_min_area_m2, p_max_area_m2) a;

    IF p_start IS NULL THEN
        SELECT array_agg(id) INTO v_releases
        FROM (SELECT id FROM count_release ORDER BY bucket_start DESC LIMIT 1) latest;
    ELSE
        SELECT array_agg(id ORDER BY id) INTO v_releases
        FROM count_release WHERE bucket_start >= p_start AND bucket_end <= p_end;
    END IF;

    -- The derived tables (lg_counts_refresh) must match the cell table and
    -- hold the tile sums of the releases used.
    PERFORM lg_counts_refresh();
    IF v_releases IS NOT NULL THEN
        PERFORM lg_counts_tile_releases(v_releases);
    END IF;

    -- The area's count, in billionths of a device: walk the tile quadtree
    -- from the top; a tile whose box the area covers contributes its cells'
    -- noisy totals whole (share 10^9, summed per release in
    -- count_release_tile); a level-0 tile the area only touches contributes
    -- its cells one by one: 10^9 when the area covers the cell, else
    -- rint(10^9 * planar area(cell ∩ area) / planar area(cell)).
    WITH RECURSIVE walk (level, ix, iy, whole) AS (
        SELECT t.level, t.ix, t.iy, ST_Covers(v_geom, t.box)
        FROM count_tile t
        WHERE t.level = 5 AND t.box && v_geom AND ST_Intersects(v_geom, t.box)
      UNION ALL
        SELECT t.level, t.ix, t.iy, ST_Covers(v_geom, t.box)
        FROM walk w
        JOIN count_tile t ON t.level = w.level - 1
                         AND t.ix BETWEEN 2 * w.ix AND 2 * w.ix + 1
                         AND t.iy BETWEEN 2 * w.iy AND 2 * w.iy + 1
        WHERE NOT w.whole AND w.level > 0
          AND t.box && v_geom AND ST_Intersects(v_geom, t.box)
    ), tiles AS MATERIALIZED (
        SELECT * FROM walk
    ), edge AS MATERIALIZED (
        SELECT c.cell_key,
               CASE WHEN ST_Covers(v_geom, c.coverage) THEN 1000000000::numeric
                    ELSE coalesce(round(ST_Area(ST_Intersection(c.coverage, v_geom))
                                        / nullif(ST_Area(c.coverage), 0)
                                        * 1e9::float8)::numeric, 0) END AS share
        FROM tiles w
        JOIN count_cell c ON c.ix = w.ix AND c.iy = w.iy
        WHERE w.level = 0 AND NOT w.whole
          AND c.coverage && v_geom AND ST_Intersects(c.coverage, v_geom)
    )
    SELECT coalesce((SELECT sum(r.total)
                     FROM tiles w
                     JOIN count_release_tile r ON r.level = w.level AND r.ix = w.ix AND r.iy = w.iy
                     WHERE w.whole AND r.release_id = ANY (v_releases)), 0) * 1000000000
         + coalesce((SELECT sum(e.share * x.noisy)
                     FROM edge e
                     JOIN count_release_cell x ON x.cell_key = e.cell_key
                     WHERE x.release_id = ANY (v_releases)), 0)
    INTO v_sum;

    -- The share of the area that has coverage, from the pieces of the
    -- coverage union (disjoint), in planar areas: 100 % when their areas
    -- inside the area add up to the area's, else the ratio (kept below 1).
    SELECT CASE WHEN coalesce(sum(p.deg), 0) >= ST_Area(v_geom) * (1 - 1e-12) THEN 1
                ELSE least(coalesce(sum(p.deg), 0) / ST_Area(v_geom), 1 - 1e-6) END
    INTO v_covered
    FROM (SELECT CASE WHEN ST_Covers(v_geom, k.geom) THEN k.area_deg
                      ELSE ST_Area(ST_Intersection(k.geom, v_geom)) END AS deg
          FROM count_coverage_piece k
          WHERE k.geom && v_geom AND ST_Intersects(k.geom, v_geom)) p;

    IF v_covered < 0.5 THEN
        v_answer := jsonb_build_object('status', 'AREA_NOT_SUPPORTED');
    ELSIF v_releases IS NULL THEN
        v_answer := jsonb_build_object('status', 'TIME_INTERVAL_NO_DATA_FOUND');
    ELSE
        -- round(v_sum / d), half away from zero, in integers.
        v_den := 1000000000::numeric * cardinality(v_releases);
        v_count := sign(v_sum) * div(2 * abs(v_sum) + v_den, 2 * v_den);
        IF v_count < p_k THEN
            v_answer := jsonb_build_object('status', 'DENSITY_BELOW_PRIVACY_THRESHOLD');
        ELSIF v_covered < 1 - 1e-9 THEN
            v_answer := jsonb_build_object('count', v_count, 'status', 'PART_OF_AREA_NOT_SUPPORTED');
        ELSE
            v_answer := jsonb_build_object('count', v_count, 'status', 'SUPPORTED_AREA');
        END IF;
    END IF;

    INSERT INTO audit_log (actor_kind, actor, action, request, answer)
    VALUES ('third_party', p_client, 'region-device-count',
            jsonb_build_object('area', p_area, 'starttime', p_start, 'endtime', p_end,
                               'releases', to_jsonb(v_releases), 'areaM2', round(v_area_m2::numeric)),
            v_answer);
    RETURN v_answer;
END
$fn$;
-- The cost estimates of the spatial joins above pass jit_above_cost: JIT
-- compiling them costs more than running them.
ALTER FUNCTION lg_counts_query(text, jsonb, timestamptz, timestamptz, int, float8, float8) SET jit = off;

-- lg_counts_query_async: CAMARA's asynchronous mode of lg_counts_query. The
-- count is answered (and audited) by lg_counts_query now, in the caller's
-- transaction, and queued in the notification outbox for p_sink as a
-- CloudEvent 1.0 (kind 'count-result'):
--     {"id": the row's notif_id (also its webhook-id), "source": p_source,
--      "type": p_type, "specversion": "1.0", "datacontenttype":
--      "application/json", "time": now, "data": the answer lg_counts_query
--      returns plus "operationId"}
-- with the bearer token p_token (NULL: none) that expires at
-- p_token_expires_at and the request's x-correlator p_correlator (NULL:
-- none), sent back as the delivery's x-correlator header. Returns {"operationId"} (a fresh UUID), the body of
-- the 202: once this transaction commits, the result will be delivered
-- (at least once). The delivery is signed with the webhook secret of the
-- SCS/AS the client belongs to (p_client, the token's subject, is its
-- scsAsId); a client without one cannot use
-- the asynchronous mode (22023, HINT INVALID_SINK), nor can a sink whose
-- host is an address webhooks may not reach (p_sink_is_private) unless
-- that SCS/AS allows private destinations. The notifier checks the
-- addresses a name resolves to at delivery time. Refusals of the count are
-- lg_counts_query's, and queue nothing.
CREATE OR REPLACE FUNCTION lg_counts_query_async(p_client text, p_area jsonb, p_start timestamptz,
                                                 p_end timestamptz, p_k int, p_min_area_m2 float8,
                                                 p_max_area_m2 float8, p_sink text,
                                                 p_sink_is_private boolean, p_token text,
                                                 p_token_expires_at timestamptz, p_source text,
                                                 p_type text, p_correlator text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_scs scs;
    v_answer jsonb;
    v_operation text := gen_random_uuid()::text;
    v_notif text := 'msg_' || encode(gen_random_bytes(12), 'hex');
BEGIN
    IF p_sink IS NULL OR p_source IS NULL OR p_type IS NULL
       OR (p_token IS NULL) <> (p_token_expires_at IS NULL) THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the sink, source and type are required');
    END IF;
    -- p_client is the token's subject: the scsAsId of a client bound to an
    -- SCS/AS, else the client id. A subject that an unbound client could
    -- also carry is not taken for the SCS/AS of the same name.
    SELECT k.* INTO v_scs FROM scs k WHERE k.scs_as_id = p_client;
    IF NOT FOUND OR EXISTS (SELECT 1 FROM api_client c
                            WHERE c.client_id = p_client AND c.scs_id IS NULL) THEN
        PERFORM lg_counts_fail('INVALID_SINK',
            'sink is not available to this client: no SCS/AS is registered to sign its deliveries.');
    END IF;
    IF coalesce(p_sink_is_private, true) AND NOT v_scs.allow_private_destinations THEN
        PERFORM lg_counts_fail('INVALID_SINK',
            'sink names an address that deliveries may not reach.');
    END IF;
    v_answer := lg_counts_query(p_client, p_area, p_start, p_end, p_k, p_min_area_m2,
                                p_max_area_m2);
    INSERT INTO notification_outbox (notif_id, scs_id, kind, destination, payload, sink_token,
                                     sink_token_expires_at, correlator)
    VALUES (v_notif, v_scs.id, 'count-result', p_sink,
            jsonb_build_object('id', v_notif, 'source', p_source, 'type', p_type,
                               'specversion', '1.0', 'datacontenttype', 'application/json',
                               'time', lg_rfc3339(now()),
                               'data', v_answer || jsonb_build_object('operationId', v_operation)),
            p_token, p_token_expires_at, p_correlator);
    RETURN jsonb_build_object('operationId', v_operation);
END
$fn$;

---------------------------------------------------------------------------
-- The daemon's in-memory evaluator (service/counts/counteval.c, loaded by
-- countmap.c) and its audit queue

-- lg_counts_geo: what the evaluator loads to answer lg_counts_query's
-- question from memory, after lg_counts_refresh: one row per cell of
-- count_cell (kind 'c', ordered by cell_key) with its coverage as WKB, then
-- one row per coverage piece (kind 'p'), each row carrying the version of
-- the cell table they were built from (count_geo_version.built). One
-- statement, so one snapshot.
CREATE OR REPLACE FUNCTION lg_counts_geo()
RETURNS TABLE (version bigint, kind text, cell_key text, geom bytea)
LANGUAGE plpgsql
AS $fn$
BEGIN
    PERFORM lg_counts_refresh();
    RETURN QUERY
        SELECT v.built, x.kind, x.cell_key, x.geom
        FROM count_geo_version v,
             (SELECT 'c'::text AS kind, c.cell_key::text AS cell_key,
                     ST_AsBinary(c.coverage) AS geom, 0::bigint AS ord
              FROM count_cell c
              UNION ALL
              SELECT 'p', NULL, ST_AsBinary(k.geom), k.id
              FROM count_coverage_piece k) x
        ORDER BY x.kind, x.cell_key COLLATE "C", x.ord;
END
$fn$;

-- lg_counts_release_noisy: the noisy counts of release p_release_id aligned
-- with lg_counts_geo's cells (the count_cell rows in cell_key order; 0 for a
-- cell the release does not hold), as one comma-separated text, with the
-- cell table version (count_geo_version.built) they are aligned to and the
-- release's bucket in microseconds since the epoch. No row when the release
-- does not exist.
CREATE OR REPLACE FUNCTION lg_counts_release_noisy(p_release_id bigint)
RETURNS TABLE (version bigint, bucket_start_us bigint, bucket_end_us bigint, cells bigint,
               noisy text)
LANGUAGE sql STABLE
AS $fn$
    SELECT v.built,
           (extract(epoch FROM r.bucket_start) * 1000000)::bigint,
           (extract(epoch FROM r.bucket_end) * 1000000)::bigint,
           (SELECT count(*) FROM count_cell),
           (SELECT coalesce(string_agg(coalesce(x.noisy, 0)::text, ',' ORDER BY c.cell_key), '')
            FROM count_cell c
            LEFT JOIN count_release_cell x ON x.release_id = r.id AND x.cell_key = c.cell_key)
    FROM count_release r, count_geo_version v
    WHERE r.id = p_release_id
$fn$;

-- lg_counts_releases_since: the releases the evaluator keeps: every release
-- whose bucket starts at or after p_since_us (microseconds since the
-- epoch), and the latest one whatever its age; with the cell table's
-- current and built versions, so one cheap poll tells what changed. One row
-- even when there is no release (id NULL).
CREATE OR REPLACE FUNCTION lg_counts_releases_since(p_since_us bigint)
RETURNS TABLE (geo_version bigint, geo_built bigint, id bigint)
LANGUAGE sql STABLE
AS $fn$
    SELECT v.version, v.built, r.id
    FROM count_geo_version v
    LEFT JOIN LATERAL (
        SELECT x.id FROM count_release x
        WHERE x.bucket_start >= to_timestamp(p_since_us / 1e6)
           OR x.id = (SELECT y.id FROM count_release y ORDER BY y.bucket_start DESC LIMIT 1)
    ) r ON true
    ORDER BY r.id
$fn$;

-- lg_counts_audit: write the audit rows of third-party count queries the
-- daemon answered from memory (service/counts/auditq.c), in one statement: p_rows
-- is a JSON array of {"actor", "request", "answer"} (request and answer as
-- lg_counts_query writes them), inserted in array order. p_durable false:
-- the commit does not wait for the WAL flush (synchronous_commit off for
-- this transaction only), for rows whose answer waits for this statement
-- ([counts] audit_wait); true: an ordinary durable commit, for rows whose
-- answer has already been sent (the default). See README, "Answering from
-- memory".
CREATE OR REPLACE FUNCTION lg_counts_audit(p_rows jsonb, p_durable boolean)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_n bigint;
BEGIN
    IF jsonb_typeof(p_rows) IS DISTINCT FROM 'array' THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the audit rows must be an array');
    END IF;
    IF NOT coalesce(p_durable, true) THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO audit_log (actor_kind, actor, action, request, answer)
    SELECT 'third_party', e.row ->> 'actor', 'region-device-count', e.row -> 'request',
           e.row -> 'answer'
    FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS e(row, n)
    ORDER BY e.n;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$fn$;

---------------------------------------------------------------------------
-- Operators (admin zone)

-- lg_counts_exact: the exact current number of devices with a valid
-- anonymous-statistics consent in the area p_area (a CAMARA Area, or a
-- GeoJSON Polygon / MultiPolygon), from their latest location: the reported
-- position when there is one, else a point on the surface of the reported
-- cell's coverage. Operators only; audited. Returns {"count": n,
-- "withPosition": a, "fromCell": b}.
CREATE OR REPLACE FUNCTION lg_counts_exact(p_operator text, p_area jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_geom geometry;
    v_pos bigint;
    v_cell bigint;
    v_answer jsonb;
BEGIN
    IF p_operator IS NULL OR p_operator = '' THEN
        PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the operator is required');
    END IF;
    IF jsonb_typeof(p_area) = 'object' AND p_area ? 'type' AND NOT p_area ? 'areaType' THEN
        IF p_area ->> 'type' NOT IN ('Polygon', 'MultiPolygon') THEN
            PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the area must be a GeoJSON Polygon or MultiPolygon');
        END IF;
        BEGIN
            v_geom := ST_SetSRID(ST_GeomFromGeoJSON(p_area::text), 4326);
        EXCEPTION WHEN OTHERS THEN
            PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the area is not valid GeoJSON');
        END;
        IF NOT ST_IsValid(v_geom) OR ST_IsEmpty(v_geom) THEN
            PERFORM lg_counts_fail('INVALID_ARGUMENT', 'the area is not a valid polygon: '
                                   || coalesce(ST_IsValidReason(v_geom), 'empty'));
        END IF;
    ELSE
        SELECT a.geom INTO v_geom FROM lg_counts_area(p_area, NULL, NULL) a;
    END IF;

    SELECT count(*) FILTER (WHERE l.position IS NOT NULL),
           count(*) FILTER (WHERE l.position IS NULL)
    INTO v_pos, v_cell
    FROM ue_location l
    LEFT JOIN cell c ON c.cell_key = l.cell_key AND l.position IS NULL
    WHERE lg_counts_has_consent(l.ue_id, now())
      AND ((l.position IS NOT NULL AND ST_Covers(v_geom, l.position))
           OR (l.position IS NULL AND c.coverage IS NOT NULL
               AND ST_Covers(v_geom, ST_PointOnSurface(c.coverage))));
    v_answer := jsonb_build_object('count', v_pos + v_cell, 'withPosition', v_pos,
                                   'fromCell', v_cell);
    INSERT INTO audit_log (actor_kind, actor, action, request, answer)
    VALUES ('operator', p_operator, 'exact-count', jsonb_build_object('area', p_area), v_answer);
    RETURN v_answer;
END
$fn$;
