-- SPDX-License-Identifier: Apache-2.0
--
-- Provisioning for the operator API (admin zone). Each lg_admin_<name>(args)
-- takes the request's JSON body merged with its path and query-string
-- parameters (query and path values arrive as JSON strings) and returns the
-- response body as jsonb, or NULL for "no content".
--
-- Errors are raised with a SQLSTATE the HTTP layer maps to a status:
--   22023 invalid input (MESSAGE = the reason, HINT = the parameter name),
--   P0002 not found (HINT = the parameter), 23505 already exists.
-- Member names are camelCase; SUPI and MSISDN are written "imsi-<digits>" and
-- "msisdn-<digits>" outside and stored as bare digits.
--
-- The steps every route shares are written once, below, and the routes are
-- short calls of them: reading a member (lg_admin_text, _bool, _int, _time),
-- checking one (lg_admin_check_*), a lookup or P0002 (lg_admin_found, and
-- the lg_admin_<entity>_find built on it), the DELETE of an entity by its
-- key (lg_admin_delete), the PUT/DELETE of a link (lg_admin_link) and list
-- paging (lg_admin_limit, lg_admin_offset). What differs per entity stays
-- in its own functions: its checks, its JSON object (lg_admin_<entity>_json)
-- and its INSERT ... ON CONFLICT.

-- lg_admin_fail: raise one of the errors above; a function so that every
-- check reads as one line.
CREATE OR REPLACE FUNCTION lg_admin_fail(p_code text, p_message text, p_param text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, HINT = coalesce(p_param, '');
END
$fn$;

-- lg_admin_text: the string member p_key of args; NULL when absent or JSON
-- null, 22023 when it is not a string or (if p_required) missing or empty.
CREATE OR REPLACE FUNCTION lg_admin_text(p_args jsonb, p_key text, p_required boolean)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    v jsonb := p_args -> p_key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF p_required THEN
            PERFORM lg_admin_fail('22023', format('%s is required', p_key), p_key);
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM lg_admin_fail('22023', format('%s must be a string', p_key), p_key);
    END IF;
    IF p_required AND v #>> '{}' = '' THEN
        PERFORM lg_admin_fail('22023', format('%s must not be empty', p_key), p_key);
    END IF;
    RETURN v #>> '{}';
END
$fn$;

-- lg_admin_bool: the boolean member p_key (JSON true/false, or the strings
-- "true"/"false" from a query string); p_default when absent.
CREATE OR REPLACE FUNCTION lg_admin_bool(p_args jsonb, p_key text, p_default boolean)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    v jsonb := p_args -> p_key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN p_default;
    ELSIF jsonb_typeof(v) = 'boolean' THEN
        RETURN v::boolean;
    ELSIF jsonb_typeof(v) = 'string' AND v #>> '{}' IN ('true', 'false') THEN
        RETURN (v #>> '{}')::boolean;
    END IF;
    PERFORM lg_admin_fail('22023', format('%s must be true or false', p_key), p_key);
    RETURN NULL;
END
$fn$;

-- lg_admin_int: the integer member p_key (JSON number or digit string) within
-- [p_min, p_max]; p_default when absent.
CREATE OR REPLACE FUNCTION lg_admin_int(p_args jsonb, p_key text, p_default int,
                                        p_min int, p_max int)
RETURNS int
LANGUAGE plpgsql
AS $fn$
DECLARE
    v jsonb := p_args -> p_key;
    s text;
    n bigint;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN p_default;
    END IF;
    s := v #>> '{}';
    IF jsonb_typeof(v) NOT IN ('number', 'string') OR s !~ '^[0-9]{1,9}$' THEN
        PERFORM lg_admin_fail('22023', format('%s must be an integer', p_key), p_key);
    END IF;
    n := s::bigint;
    IF n < p_min OR n > p_max THEN
        PERFORM lg_admin_fail('22023',
            format('%s must be between %s and %s', p_key, p_min, p_max), p_key);
    END IF;
    RETURN n;
END
$fn$;

-- lg_admin_time: the RFC 3339 timestamp member p_key, or NULL when absent.
CREATE OR REPLACE FUNCTION lg_admin_time(p_args jsonb, p_key text)
RETURNS timestamptz
LANGUAGE plpgsql
AS $fn$
DECLARE
    s text := lg_admin_text(p_args, p_key, false);
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$' THEN
        PERFORM lg_admin_fail('22023', format('%s must be an RFC 3339 date-time', p_key), p_key);
    END IF;
    BEGIN
        RETURN s::timestamptz;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        PERFORM lg_admin_fail('22023', format('%s is not a valid date-time', p_key), p_key);
    END;
    RETURN NULL;
END
$fn$;

-- lg_admin_found: p_row, the result of a lookup, or P0002 p_message naming
-- p_param when the lookup found nothing (p_row is NULL: no row, no id).
-- Every X_find and X_get is a lookup passed through this.
CREATE OR REPLACE FUNCTION lg_admin_found(p_row anyelement, p_message text, p_param text)
RETURNS anyelement
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    IF p_row IS NULL THEN
        PERFORM lg_admin_fail('P0002', p_message, p_param);
    END IF;
    RETURN p_row;
END
$fn$;

-- lg_admin_delete: the DELETE route of an entity: removes the row of table
-- p_table whose key column p_column is the required member p_param of
-- p_args; P0002 with p_not_found (a format() string given the key) when
-- there is none. Returns NULL (no content).
CREATE OR REPLACE FUNCTION lg_admin_delete(p_table regclass, p_column text, p_args jsonb,
                                           p_param text, p_not_found text)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_key text := lg_admin_text(p_args, p_param, true);
    n int;
BEGIN
    EXECUTE format('DELETE FROM %s WHERE %I = $1', p_table, p_column) USING v_key;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        PERFORM lg_admin_fail('P0002', format(p_not_found, v_key), p_param);
    END IF;
    RETURN NULL;
END
$fn$;

-- lg_admin_link: the PUT (p_is_add) or DELETE route of a link between two
-- entities: adds or removes the row (p_a_column = p_a, p_b_column = p_b)
-- of link table p_table. A link added twice is 23505, a link removed that
-- was not there P0002, both with p_message naming p_param. Returns NULL.
CREATE OR REPLACE FUNCTION lg_admin_link(p_table regclass, p_a_column text, p_a bigint,
                                         p_b_column text, p_b bigint, p_is_add boolean,
                                         p_message text, p_param text)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    n int;
BEGIN
    IF p_is_add THEN
        EXECUTE format('INSERT INTO %s (%I, %I) VALUES ($1, $2) ON CONFLICT DO NOTHING',
                       p_table, p_a_column, p_b_column) USING p_a, p_b;
    ELSE
        EXECUTE format('DELETE FROM %s WHERE %I = $1 AND %I = $2', p_table, p_a_column, p_b_column)
            USING p_a, p_b;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        PERFORM lg_admin_fail(CASE WHEN p_is_add THEN '23505' ELSE 'P0002' END, p_message,
                              p_param);
    END IF;
    RETURN NULL;
END
$fn$;

-- lg_admin_limit, lg_admin_offset: the paging members of a list route:
-- limit 1 to 1000 (default 100), offset from 0.
CREATE OR REPLACE FUNCTION lg_admin_limit(p_args jsonb)
RETURNS int
LANGUAGE sql
AS $fn$
    SELECT lg_admin_int(p_args, 'limit', 100, 1, 1000)
$fn$;

CREATE OR REPLACE FUNCTION lg_admin_offset(p_args jsonb)
RETURNS int
LANGUAGE sql
AS $fn$
    SELECT lg_admin_int(p_args, 'offset', 0, 0, 1000000000)
$fn$;

-- lg_admin_check_id: 22023 naming p_param unless v is 1 to p_max letters,
-- digits, dots, underscores or hyphens (node names, scsAsId, clientId).
CREATE OR REPLACE FUNCTION lg_admin_check_id(v text, p_param text, p_max int)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF v !~ format('^[A-Za-z0-9._-]{1,%s}$', p_max) THEN
        PERFORM lg_admin_fail('22023',
            format('%s must be 1 to %s letters, digits, dots, underscores or hyphens', p_param,
                   p_max), p_param);
    END IF;
END
$fn$;

-- lg_admin_check_printable: 22023 naming p_param unless v (NULL passes) is
-- at most p_max characters without control characters.
CREATE OR REPLACE FUNCTION lg_admin_check_printable(v text, p_param text, p_max int)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF length(v) > p_max OR v ~ '[[:cntrl:]]' THEN
        PERFORM lg_admin_fail('22023',
            format('%s must be at most %s printable characters', p_param, p_max), p_param);
    END IF;
END
$fn$;

-- lg_admin_check_external_id: 22023 naming p_param unless v is an External
-- (Group) Identifier as the admin zone takes it: local-id@domain, at most
-- 255 characters.
CREATE OR REPLACE FUNCTION lg_admin_check_external_id(v text, p_param text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF v !~ '^[^@[:space:]]+@[^@[:space:]]+$' OR length(v) > 255 THEN
        PERFORM lg_admin_fail('22023', format('%s must be local-id@domain', p_param), p_param);
    END IF;
END
$fn$;

---------------------------------------------------------------------------
-- Network nodes

-- lg_admin_node_json: the API object of one node.
CREATE OR REPLACE FUNCTION lg_admin_node_json(n network_node)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object('name', n.name, 'kind', n.kind, 'enabled', n.enabled,
                              'highSeq', n.high_seq, 'createdAt', n.created_at)
$fn$;

-- lg_admin_node_add {name, kind, enabled?}: register an MME / SGSN / AMF.
-- Idempotent: adding a node that exists with the same kind (and the same
-- enabled, when given) returns it unchanged; another kind or enabled is
-- 23505: an add never changes a node (PATCH changes enabled).
CREATE OR REPLACE FUNCTION lg_admin_node_add(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_name text := lg_admin_text(args, 'name', true);
    v_kind text := lg_admin_text(args, 'kind', true);
    v_enabled boolean := lg_admin_bool(args, 'enabled', NULL);
    n network_node;
BEGIN
    PERFORM lg_admin_check_id(v_name, 'name', 63);
    IF v_kind NOT IN ('MME', 'SGSN', 'AMF') THEN
        PERFORM lg_admin_fail('22023', 'kind must be MME, SGSN or AMF', 'kind');
    END IF;
    -- Each statement sees what concurrent adds and deletes committed before
    -- it, so the loop ends as soon as the name is neither being inserted nor
    -- being deleted by another transaction.
    LOOP
        INSERT INTO network_node (name, kind, enabled)
        VALUES (v_name, v_kind, coalesce(v_enabled, true))
        ON CONFLICT (name) DO NOTHING
        RETURNING * INTO n;
        EXIT WHEN n.id IS NOT NULL;
        SELECT * INTO n FROM network_node WHERE name = v_name;
        EXIT WHEN n.id IS NOT NULL;
    END LOOP;
    IF n.kind <> v_kind THEN
        PERFORM lg_admin_fail('23505',
            format('node %s already exists with kind %s', v_name, n.kind), 'kind');
    END IF;
    IF v_enabled IS NOT NULL AND n.enabled <> v_enabled THEN
        PERFORM lg_admin_fail('23505',
            format('node %s already exists and is %s', v_name,
                   CASE WHEN n.enabled THEN 'enabled' ELSE 'disabled' END), 'enabled');
    END IF;
    RETURN lg_admin_node_json(n);
END
$fn$;

-- lg_admin_node_list {}: every node, by name.
CREATE OR REPLACE FUNCTION lg_admin_node_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_node_json(n) ORDER BY n.name), '[]')
      FROM network_node n
$fn$;

-- lg_admin_node_delete {name}: remove a node and its replay window.
CREATE OR REPLACE FUNCTION lg_admin_node_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('network_node', 'name', args, 'name', 'node %s not found')
$fn$;

-- lg_admin_node_update {name, enabled}: enable or disable a node; a disabled
-- node's batches are refused as if it were unknown.
CREATE OR REPLACE FUNCTION lg_admin_node_update(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_name text := lg_admin_text(args, 'name', true);
    v_enabled boolean := lg_admin_bool(args, 'enabled', NULL);
    n network_node;
BEGIN
    IF v_enabled IS NULL THEN
        PERFORM lg_admin_fail('22023', 'enabled is required', 'enabled');
    END IF;
    UPDATE network_node SET enabled = v_enabled WHERE name = v_name RETURNING * INTO n;
    IF n.id IS NULL THEN
        PERFORM lg_admin_fail('P0002', format('node %s not found', v_name), 'name');
    END IF;
    RETURN lg_admin_node_json(n);
END
$fn$;

---------------------------------------------------------------------------
-- Devices

-- lg_admin_device_json: the API object of one device, with its areas, its
-- latest location and its monitoring configuration at the HSS (S6t: the
-- live SCEF-Reference-ID, its state and the HSS's last answer; null when
-- there is none).
CREATE OR REPLACE FUNCTION lg_admin_device_json(u ue)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object(
               'externalId', u.external_id,
               'supi', 'imsi-' || u.imsi,
               'msisdn', CASE WHEN u.msisdn IS NOT NULL THEN 'msisdn-' || u.msisdn END,
               'mobility', u.mobility,
               'monitoringAllowed', u.monitoring_allowed,
               'ambiguousPolicy', u.ambiguous_policy,
               'areas', coalesce((SELECT jsonb_agg(a.name ORDER BY a.name)
                                    FROM ue_area ua JOIN area a ON a.id = ua.area_id
                                   WHERE ua.ue_id = u.id), '[]'),
               'location', (SELECT jsonb_build_object('reportedAt', l.reported_at,
                                                      'cell', l.cell_key,
                                                      'decision', l.decision,
                                                      'zoneState', l.zone_state)
                              FROM ue_location l WHERE l.ue_id = u.id),
               'hss', (SELECT jsonb_build_object('scefReferenceId', r.ref_id,
                                                 'state', r.state,
                                                 'resultCode', r.result_code)
                         FROM scef_reference r WHERE r.ue_id = u.id AND r.state <> 'deleting'))
$fn$;

-- lg_admin_device_find: the device with this external id, or P0002.
CREATE OR REPLACE FUNCTION lg_admin_device_find(p_external_id text, p_param text)
RETURNS ue
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_found((SELECT u FROM ue u WHERE u.external_id = p_external_id),
                          'device not found', p_param)
$fn$;

-- lg_admin_device_put {supi, msisdn?, externalId, mobility, monitoringAllowed?,
-- ambiguousPolicy?}: create or replace the device with this externalId
-- (absent optional members take their defaults).
CREATE OR REPLACE FUNCTION lg_admin_device_put(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_supi text := lg_admin_text(args, 'supi', true);
    v_msisdn text := lg_admin_text(args, 'msisdn', false);
    v_external_id text := lg_admin_text(args, 'externalId', true);
    v_mobility text := lg_admin_text(args, 'mobility', true);
    v_allowed boolean := lg_admin_bool(args, 'monitoringAllowed', true);
    v_policy text := coalesce(lg_admin_text(args, 'ambiguousPolicy', false), 'inside');
    u ue;
BEGIN
    IF v_supi !~ '^imsi-[0-9]{5,15}$' THEN
        PERFORM lg_admin_fail('22023', 'supi must be imsi- followed by 5 to 15 digits', 'supi');
    END IF;
    IF v_msisdn IS NOT NULL AND v_msisdn !~ '^msisdn-[0-9]{5,15}$' THEN
        PERFORM lg_admin_fail('22023', 'msisdn must be msisdn- followed by 5 to 15 digits',
                              'msisdn');
    END IF;
    PERFORM lg_admin_check_external_id(v_external_id, 'externalId');
    IF v_mobility NOT IN ('fixed', 'restricted', 'unrestricted') THEN
        PERFORM lg_admin_fail('22023', 'mobility must be fixed, restricted or unrestricted',
                              'mobility');
    END IF;
    IF v_policy NOT IN ('inside', 'outside') THEN
        PERFORM lg_admin_fail('22023', 'ambiguousPolicy must be inside or outside',
                              'ambiguousPolicy');
    END IF;
    BEGIN
        INSERT INTO ue (imsi, msisdn, external_id, mobility, monitoring_allowed,
                        ambiguous_policy)
        VALUES (substr(v_supi, 6), substr(v_msisdn, 8), v_external_id, v_mobility, v_allowed,
                v_policy)
        ON CONFLICT (external_id) DO UPDATE
           SET imsi = excluded.imsi,
               msisdn = excluded.msisdn,
               mobility = excluded.mobility,
               monitoring_allowed = excluded.monitoring_allowed,
               ambiguous_policy = excluded.ambiguous_policy,
               updated_at = now()
        RETURNING * INTO u;
    EXCEPTION WHEN unique_violation THEN
        IF SQLERRM LIKE '%msisdn%' THEN
            PERFORM lg_admin_fail('23505', 'another device has this msisdn', 'msisdn');
        END IF;
        PERFORM lg_admin_fail('23505', 'another device has this supi', 'supi');
    END;
    RETURN lg_admin_device_json(u);
END
$fn$;

-- lg_admin_device_list {limit?, offset?}: devices by externalId.
CREATE OR REPLACE FUNCTION lg_admin_device_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_device_json(u) ORDER BY u.external_id), '[]')
      FROM (SELECT * FROM ue
             ORDER BY external_id
             LIMIT lg_admin_limit(args) OFFSET lg_admin_offset(args)) u
$fn$;

-- lg_admin_device_get {externalId}
CREATE OR REPLACE FUNCTION lg_admin_device_get(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_device_json(
               lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId'))
$fn$;

-- lg_admin_device_delete {externalId}: remove the device, its location,
-- area links and alerts.
CREATE OR REPLACE FUNCTION lg_admin_device_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('ue', 'external_id', args, 'externalId', 'device not found')
$fn$;

---------------------------------------------------------------------------
-- Areas

-- lg_admin_area_json: the API object of one area.
CREATE OR REPLACE FUNCTION lg_admin_area_json(a area)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object('name', a.name,
                              'geometry', ST_AsGeoJSON(a.geom)::jsonb,
                              'areaM2', round(ST_Area(a.geom::geography)::numeric, 1))
$fn$;

-- lg_admin_geojson_polygon: parse a GeoJSON Polygon / MultiPolygon into a
-- valid SRID 4326 MultiPolygon, or raise 22023 naming p_param with the reason
-- (invalid GeoJSON, not a polygon, empty, open ring, out of range,
-- self-intersecting or otherwise invalid).
CREATE OR REPLACE FUNCTION lg_admin_geojson_polygon(p_geojson jsonb, p_param text)
RETURNS geometry
LANGUAGE plpgsql
AS $fn$
DECLARE
    g geometry;
    v_type text;
    v_reason text;
    v_polys jsonb;
    v_open int;
BEGIN
    IF p_geojson IS NULL OR jsonb_typeof(p_geojson) = 'null' THEN
        PERFORM lg_admin_fail('22023', format('%s is required', p_param), p_param);
    END IF;
    IF jsonb_typeof(p_geojson) <> 'object' THEN
        PERFORM lg_admin_fail('22023', 'invalid GeoJSON: not an object', p_param);
    END IF;
    v_type := p_geojson ->> 'type';
    IF v_type IS NULL OR v_type NOT IN ('Polygon', 'MultiPolygon') THEN
        PERFORM lg_admin_fail('22023',
            format('geometry is not a polygon: type %s', coalesce(v_type, 'missing')), p_param);
    END IF;
    IF jsonb_typeof(p_geojson -> 'coordinates') IS DISTINCT FROM 'array' THEN
        PERFORM lg_admin_fail('22023', 'invalid GeoJSON: coordinates must be an array',
                              p_param);
    END IF;
    IF jsonb_array_length(p_geojson -> 'coordinates') = 0 THEN
        PERFORM lg_admin_fail('22023', 'geometry is empty', p_param);
    END IF;

    -- Open rings: GeoJSON requires the last position to repeat the first.
    v_polys := CASE v_type WHEN 'Polygon' THEN jsonb_build_array(p_geojson -> 'coordinates')
                           ELSE p_geojson -> 'coordinates' END;
    BEGIN
        SELECT count(*) INTO v_open
          FROM jsonb_array_elements(v_polys) AS p(poly),
               jsonb_array_elements(p.poly) AS r(ring)
         WHERE jsonb_array_length(r.ring) < 4
            OR r.ring -> 0 <> r.ring -> (jsonb_array_length(r.ring) - 1);
    EXCEPTION WHEN invalid_parameter_value THEN
        PERFORM lg_admin_fail('22023', 'invalid GeoJSON: malformed coordinates', p_param);
    END;

    BEGIN
        g := ST_GeomFromGeoJSON(p_geojson::text);
    EXCEPTION WHEN OTHERS THEN
        PERFORM lg_admin_fail('22023', format('invalid GeoJSON: %s', SQLERRM), p_param);
    END;
    IF g IS NULL OR ST_IsEmpty(g) THEN
        PERFORM lg_admin_fail('22023', 'geometry is empty', p_param);
    END IF;
    IF v_open > 0 THEN
        PERFORM lg_admin_fail('22023',
            'geometry has an open ring (a ring needs 4 or more positions, the last equal to the first)',
            p_param);
    END IF;
    IF ST_XMin(g) < -180 OR ST_XMax(g) > 180 OR ST_YMin(g) < -90 OR ST_YMax(g) > 90 THEN
        PERFORM lg_admin_fail('22023',
            'coordinates out of range (longitude -180..180, latitude -90..90)', p_param);
    END IF;
    v_reason := ST_IsValidReason(g);   -- ST_IsValid() would also emit a NOTICE
    IF v_reason <> 'Valid Geometry' THEN
        IF v_reason ILIKE '%self-intersection%' THEN
            PERFORM lg_admin_fail('22023', format('geometry is self-intersecting: %s', v_reason),
                                  p_param);
        END IF;
        PERFORM lg_admin_fail('22023', format('geometry is invalid: %s', v_reason), p_param);
    END IF;
    RETURN ST_Multi(ST_SetSRID(g, 4326));
END
$fn$;

-- lg_admin_area_put {name, geometry}: create or replace an authorized area.
CREATE OR REPLACE FUNCTION lg_admin_area_put(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_name text := lg_admin_text(args, 'name', true);
    g geometry;
    a area;
BEGIN
    PERFORM lg_admin_check_printable(v_name, 'name', 128);
    g := lg_admin_geojson_polygon(args -> 'geometry', 'geometry');
    INSERT INTO area (name, geom) VALUES (v_name, g)
    ON CONFLICT (name) DO UPDATE SET geom = excluded.geom
    RETURNING * INTO a;
    RETURN lg_admin_area_json(a);
END
$fn$;

-- lg_admin_area_list {}: every area, by name.
CREATE OR REPLACE FUNCTION lg_admin_area_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_area_json(a) ORDER BY a.name), '[]') FROM area a
$fn$;

-- lg_admin_area_get {name}
CREATE OR REPLACE FUNCTION lg_admin_area_get(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_area_json(lg_admin_found(
               (SELECT a FROM area a WHERE a.name = lg_admin_text(args, 'name', true)),
               'area not found', 'name'))
$fn$;

-- lg_admin_area_delete {name}: remove an area (and its device links).
CREATE OR REPLACE FUNCTION lg_admin_area_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('area', 'name', args, 'name', 'area not found')
$fn$;

-- lg_admin_area_find: the id of the area with this name, or P0002.
CREATE OR REPLACE FUNCTION lg_admin_area_find(p_name text, p_param text)
RETURNS bigint
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_found((SELECT a.id FROM area a WHERE a.name = p_name), 'area not found',
                          p_param)
$fn$;

---------------------------------------------------------------------------
-- Device <-> area links

-- lg_admin_device_area_target {externalId, area}: the device and the area a
-- link request names, looked up in that order (P0002 for the first
-- missing).
CREATE OR REPLACE FUNCTION lg_admin_device_area_target(args jsonb, OUT ue_id bigint,
                                                       OUT area_id bigint)
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    ue_id := (lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId')).id;
    area_id := lg_admin_area_find(lg_admin_text(args, 'area', true), 'area');
END
$fn$;

-- lg_admin_device_area_add {externalId, area}: authorize a device in an area.
CREATE OR REPLACE FUNCTION lg_admin_device_area_add(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_link('ue_area', 'ue_id', t.ue_id, 'area_id', t.area_id, true,
                         'device is already authorized in this area', 'area')
      FROM lg_admin_device_area_target(args) t
$fn$;

-- lg_admin_device_area_remove {externalId, area}
CREATE OR REPLACE FUNCTION lg_admin_device_area_remove(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_link('ue_area', 'ue_id', t.ue_id, 'area_id', t.area_id, false,
                         'device is not authorized in this area', 'area')
      FROM lg_admin_device_area_target(args) t
$fn$;

-- lg_admin_device_area_list {externalId}: the names of the device's areas.
CREATE OR REPLACE FUNCTION lg_admin_device_area_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    u ue := lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId');
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(a.name ORDER BY a.name), '[]')
              FROM ue_area ua JOIN area a ON a.id = ua.area_id
             WHERE ua.ue_id = u.id);
END
$fn$;

---------------------------------------------------------------------------
-- Cells

-- lg_admin_cells_import {csv}: upsert cells from CSV text, all or nothing.
-- Each line is `cell_key,rat,"POLYGON((lon lat, ...))"` or
-- `cell_key,rat,site_lon,site_lat,radius_m` (coverage: the geodesic circle).
-- Blank lines, `#` comments and a header line starting with cell_key are
-- skipped. A bad line raises 22023 "line N: reason" and nothing is stored.
CREATE OR REPLACE FUNCTION lg_admin_cells_import(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_csv text := lg_admin_text(args, 'csv', true);
    v_line text;
    v_no int := 0;
    m text[];
    v_key text;
    v_rat text;
    g geometry;
    v_site geometry;
    v_radius float8;
    v_reason text;
    keys text[] := '{}';
    rats text[] := '{}';
    covs geometry[] := '{}';
    sites geometry[] := '{}';
    radii real[] := '{}';
    num constant text := '(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)';
BEGIN
    FOREACH v_line IN ARRAY regexp_split_to_array(v_csv, E'\r?\n') LOOP
        v_no := v_no + 1;
        v_line := btrim(v_line, E' \t\r');
        CONTINUE WHEN v_line = '' OR v_line LIKE '#%';
        CONTINUE WHEN cardinality(keys) = 0 AND v_line ~* '^"?cell_key"?\s*,';
        v_site := NULL;
        v_radius := NULL;
        m := regexp_match(v_line, '^([^,"[:space:]]+)\s*,\s*([A-Za-z]+)\s*,\s*"([^"]*)"$');
        IF m IS NOT NULL THEN
            BEGIN
                g := ST_GeomFromText(m[3], 4326);
            EXCEPTION WHEN OTHERS THEN
                PERFORM lg_admin_fail('22023', format('line %s: invalid WKT: %s', v_no, SQLERRM),
                                      'csv');
            END;
            IF ST_GeometryType(g) NOT IN ('ST_Polygon', 'ST_MultiPolygon') OR ST_IsEmpty(g) THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: coverage must be a non-empty POLYGON or MULTIPOLYGON', v_no),
                    'csv');
            END IF;
            IF ST_XMin(g) < -180 OR ST_XMax(g) > 180 OR ST_YMin(g) < -90 OR ST_YMax(g) > 90 THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: coordinates out of range (longitude -180..180, latitude -90..90)',
                           v_no), 'csv');
            END IF;
            v_reason := ST_IsValidReason(g);
            IF v_reason <> 'Valid Geometry' THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: coverage is invalid: %s', v_no, v_reason), 'csv');
            END IF;
            g := ST_Multi(g);
        ELSE
            m := regexp_match(v_line, '^([^,"[:space:]]+)\s*,\s*([A-Za-z]+)\s*,\s*' || num ||
                                      '\s*,\s*' || num || '\s*,\s*' || num || '$');
            IF m IS NULL THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: expected cell_key,rat,"POLYGON(...)" or cell_key,rat,lon,lat,radius_m',
                           v_no), 'csv');
            END IF;
            IF m[3]::float8 NOT BETWEEN -180 AND 180 OR m[4]::float8 NOT BETWEEN -90 AND 90 THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: coordinates out of range (longitude -180..180, latitude -90..90)',
                           v_no), 'csv');
            END IF;
            v_radius := m[5]::float8;
            IF v_radius <= 0 OR v_radius > 100000 THEN
                PERFORM lg_admin_fail('22023',
                    format('line %s: radius_m must be greater than 0 and at most 100000', v_no),
                    'csv');
            END IF;
            v_site := ST_SetSRID(ST_MakePoint(m[3]::float8, m[4]::float8), 4326);
            g := ST_Multi(ST_Buffer(v_site::geography, v_radius, 'quad_segs=8')::geometry);
        END IF;
        v_key := m[1];
        v_rat := upper(m[2]);
        IF v_key !~ '^[A-Za-z0-9:._-]{1,64}$' THEN
            PERFORM lg_admin_fail('22023', format('line %s: invalid cell key', v_no), 'csv');
        END IF;
        IF v_rat NOT IN ('EUTRA', 'NR', 'UTRA', 'GERA') THEN
            PERFORM lg_admin_fail('22023',
                format('line %s: rat must be EUTRA, NR, UTRA or GERA', v_no), 'csv');
        END IF;
        IF v_key = ANY (keys) THEN
            PERFORM lg_admin_fail('22023', format('line %s: duplicate cell key %s', v_no, v_key),
                                  'csv');
        END IF;
        keys := keys || v_key;
        rats := rats || v_rat;
        covs := covs || g;
        sites := sites || v_site;
        radii := radii || v_radius::real;
    END LOOP;

    INSERT INTO cell (cell_key, rat, coverage, site, radius_m, updated_at)
    SELECT k, r, c, s, rd, now()
      FROM unnest(keys, rats, covs, sites, radii) AS x(k, r, c, s, rd)
    ON CONFLICT (cell_key) DO UPDATE
       SET rat = excluded.rat,
           coverage = excluded.coverage,
           site = excluded.site,
           radius_m = excluded.radius_m,
           updated_at = excluded.updated_at;
    RETURN jsonb_build_object('imported', cardinality(keys));
END
$fn$;

-- lg_admin_cell_list {limit?, offset?}: cells by key.
CREATE OR REPLACE FUNCTION lg_admin_cell_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'cellKey', c.cell_key,
               'rat', c.rat,
               'coverage', ST_AsGeoJSON(c.coverage)::jsonb,
               'site', ST_AsGeoJSON(c.site)::jsonb,
               'radiusM', c.radius_m,
               'updatedAt', c.updated_at) ORDER BY c.cell_key), '[]')
      FROM (SELECT * FROM cell
             ORDER BY cell_key
             LIMIT lg_admin_limit(args) OFFSET lg_admin_offset(args)) c
$fn$;

---------------------------------------------------------------------------
-- Alerts

-- lg_admin_alert_list {device?, since?, until?, limit?}: movement alerts,
-- newest first; since / until bound created_at (since inclusive, until
-- exclusive).
CREATE OR REPLACE FUNCTION lg_admin_alert_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_device text := lg_admin_text(args, 'device', false);
    v_since timestamptz := lg_admin_time(args, 'since');
    v_until timestamptz := lg_admin_time(args, 'until');
    v_limit int := lg_admin_limit(args);
    v_ue bigint;
BEGIN
    IF v_device IS NOT NULL THEN
        v_ue := (lg_admin_device_find(v_device, 'device')).id;
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', x.id, 'externalId', x.external_id, 'kind', x.kind,
                       'reportedAt', x.reported_at, 'createdAt', x.created_at,
                       'cell', x.cell_key, 'rat', x.rat)
                       ORDER BY x.created_at DESC, x.id DESC), '[]')
              FROM (SELECT al.id, u.external_id, al.kind, al.reported_at, al.created_at,
                           al.cell_key, al.rat
                      FROM alert al
                      JOIN ue u ON u.id = al.ue_id
                     WHERE (v_ue IS NULL OR al.ue_id = v_ue)
                       AND (v_since IS NULL OR al.created_at >= v_since)
                       AND (v_until IS NULL OR al.created_at < v_until)
                     ORDER BY al.created_at DESC, al.id DESC
                     LIMIT v_limit) x);
END
$fn$;

---------------------------------------------------------------------------
-- Application servers (SCS/AS)

-- lg_admin_scs_json: the API object of one SCS. The webhook secrets are
-- never returned: "set" (or null for an absent previous secret).
CREATE OR REPLACE FUNCTION lg_admin_scs_json(k scs)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object(
               'scsAsId', k.scs_as_id, 'name', k.name, 'webhookSecret', 'set',
               'webhookSecretPrevious',
               CASE WHEN k.webhook_secret_previous IS NOT NULL THEN 'set' END,
               'allowPrivateDestinations', k.allow_private_destinations,
               'certCn', k.cert_cn, 'enabled', k.enabled, 'createdAt', k.created_at)
$fn$;

-- lg_admin_scs_find: the SCS with this scsAsId, or P0002 naming p_param.
CREATE OR REPLACE FUNCTION lg_admin_scs_find(p_scs_as_id text, p_param text)
RETURNS scs
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_found((SELECT k FROM scs k WHERE k.scs_as_id = p_scs_as_id), 'SCS not found',
                          p_param)
$fn$;

-- lg_admin_scs_id: the id of the SCS an optional scsAsId member names: NULL
-- for NULL, P0002 (naming scsAsId) for an unknown one.
CREATE OR REPLACE FUNCTION lg_admin_scs_id(p_scs_as_id text)
RETURNS bigint
LANGUAGE sql STABLE
AS $fn$
    SELECT CASE WHEN p_scs_as_id IS NOT NULL THEN (lg_admin_scs_find(p_scs_as_id, 'scsAsId')).id END
$fn$;

-- lg_admin_webhook_secret: the member p_key as a Standard Webhooks secret
-- ("whsec_" + base64 of 24 to 64 bytes), or NULL when absent and optional.
CREATE OR REPLACE FUNCTION lg_admin_webhook_secret(p_args jsonb, p_key text, p_required boolean)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    v text := lg_admin_text(p_args, p_key, p_required);
    n int;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        n := length(decode(substr(v, 7), 'base64'));
    EXCEPTION WHEN OTHERS THEN
        n := 0;
    END;
    IF v !~ '^whsec_[A-Za-z0-9+/]+={0,2}$' OR n NOT BETWEEN 24 AND 64 THEN
        PERFORM lg_admin_fail('22023',
            format('%s must be whsec_ followed by the base64 of 24 to 64 bytes', p_key), p_key);
    END IF;
    RETURN v;
END
$fn$;

-- lg_admin_scs_put {scsAsId, name?, webhookSecret, webhookSecretPrevious?,
-- allowPrivateDestinations?, certCn?, enabled?}: create or replace an SCS
-- (absent optional members take their defaults).
CREATE OR REPLACE FUNCTION lg_admin_scs_put(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_id text := lg_admin_text(args, 'scsAsId', true);
    v_name text := lg_admin_text(args, 'name', false);
    v_secret text := lg_admin_webhook_secret(args, 'webhookSecret', true);
    v_prev text := lg_admin_webhook_secret(args, 'webhookSecretPrevious', false);
    v_private boolean := lg_admin_bool(args, 'allowPrivateDestinations', false);
    v_cn text := lg_admin_text(args, 'certCn', false);
    v_enabled boolean := lg_admin_bool(args, 'enabled', true);
    k scs;
BEGIN
    PERFORM lg_admin_check_id(v_id, 'scsAsId', 64);
    PERFORM lg_admin_check_printable(v_name, 'name', 128);
    PERFORM lg_admin_check_printable(v_cn, 'certCn', 255);
    INSERT INTO scs (scs_as_id, name, webhook_secret, webhook_secret_previous,
                     allow_private_destinations, cert_cn, enabled)
    VALUES (v_id, v_name, v_secret, v_prev, v_private, v_cn, v_enabled)
    ON CONFLICT (scs_as_id) DO UPDATE
       SET name = excluded.name,
           webhook_secret = excluded.webhook_secret,
           webhook_secret_previous = excluded.webhook_secret_previous,
           allow_private_destinations = excluded.allow_private_destinations,
           cert_cn = excluded.cert_cn,
           enabled = excluded.enabled
    RETURNING * INTO k;
    RETURN lg_admin_scs_json(k);
END
$fn$;

-- lg_admin_scs_list {}: every SCS, by scsAsId.
CREATE OR REPLACE FUNCTION lg_admin_scs_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_scs_json(k) ORDER BY k.scs_as_id), '[]') FROM scs k
$fn$;

-- lg_admin_scs_get {scsAsId}
CREATE OR REPLACE FUNCTION lg_admin_scs_get(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_scs_json(lg_admin_scs_find(lg_admin_text(args, 'scsAsId', true), 'scsAsId'))
$fn$;

-- lg_admin_scs_delete {scsAsId}: remove an SCS with its clients, grants,
-- consents given to it, subscriptions and notifications.
CREATE OR REPLACE FUNCTION lg_admin_scs_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('scs', 'scs_as_id', args, 'scsAsId', 'SCS not found')
$fn$;

---------------------------------------------------------------------------
-- OAuth2 clients

-- lg_admin_client_json: the API object of one client (never the hash).
CREATE OR REPLACE FUNCTION lg_admin_client_json(c api_client)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object(
               'clientId', c.client_id, 'scopes', to_jsonb(c.scopes),
               'scsAsId', (SELECT k.scs_as_id FROM scs k WHERE k.id = c.scs_id),
               'enabled', c.enabled, 'createdAt', c.created_at)
$fn$;

-- lg_admin_client_add {clientId, scopes, scsAsId?, secretHash}: register a
-- client. The daemon generates the secret and its scrypt hash before the
-- call and adds clientSecret to the answer; only the hash is stored.
CREATE OR REPLACE FUNCTION lg_admin_client_add(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_id text := lg_admin_text(args, 'clientId', true);
    v_scs text := lg_admin_text(args, 'scsAsId', false);
    v_hash text := lg_admin_text(args, 'secretHash', true);
    v_scopes text[];
    v_scs_id bigint;
    c api_client;
BEGIN
    PERFORM lg_admin_check_id(v_id, 'clientId', 64);
    IF jsonb_typeof(args -> 'scopes') IS DISTINCT FROM 'array'
       OR jsonb_array_length(args -> 'scopes') = 0
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(args -> 'scopes') e
                   WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' !~ '^[!#-\[\]-~]{1,64}$') THEN
        PERFORM lg_admin_fail('22023', 'scopes must be a non-empty array of scope names',
                              'scopes');
    END IF;
    SELECT array_agg(DISTINCT e) INTO v_scopes FROM jsonb_array_elements_text(args -> 'scopes') e;
    IF v_hash !~ '^scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$' THEN
        PERFORM lg_admin_fail('22023', 'secretHash must be an scrypt hash', 'secretHash');
    END IF;
    v_scs_id := lg_admin_scs_id(v_scs);
    INSERT INTO api_client (client_id, secret_hash, scopes, scs_id)
    VALUES (v_id, v_hash, v_scopes, v_scs_id)
    ON CONFLICT (client_id) DO NOTHING
    RETURNING * INTO c;
    IF c.id IS NULL THEN
        PERFORM lg_admin_fail('23505', format('client %s already exists', v_id), 'clientId');
    END IF;
    RETURN lg_admin_client_json(c);
END
$fn$;

-- lg_admin_client_list {}: every client, by clientId.
CREATE OR REPLACE FUNCTION lg_admin_client_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_client_json(c) ORDER BY c.client_id), '[]')
      FROM api_client c
$fn$;

-- lg_admin_client_delete {clientId}
CREATE OR REPLACE FUNCTION lg_admin_client_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('api_client', 'client_id', args, 'clientId', 'client not found')
$fn$;

---------------------------------------------------------------------------
-- Device groups (the only functions that show a Local Group ID)

-- lg_admin_group_json: the API object of one group, with its member count.
CREATE OR REPLACE FUNCTION lg_admin_group_json(g ue_group)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object(
               'externalGroupId', g.external_group_id, 'localGroupId', g.local_group_id,
               'members', (SELECT count(*) FROM ue_group_member m WHERE m.group_id = g.id),
               'createdAt', g.created_at)
$fn$;

-- lg_admin_group_find: the group with this External Group ID, or P0002.
CREATE OR REPLACE FUNCTION lg_admin_group_find(p_external_group_id text, p_param text)
RETURNS ue_group
LANGUAGE sql STABLE
AS $fn$
    SELECT lg_admin_found((SELECT g FROM ue_group g WHERE g.external_group_id = p_external_group_id),
                          'group not found', p_param)
$fn$;

-- lg_admin_group_put {externalGroupId, localGroupId}: create a group or
-- change its Local Group ID.
CREATE OR REPLACE FUNCTION lg_admin_group_put(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_ext text := lg_admin_text(args, 'externalGroupId', true);
    v_local text := lg_admin_text(args, 'localGroupId', true);
    g ue_group;
BEGIN
    PERFORM lg_admin_check_external_id(v_ext, 'externalGroupId');
    IF length(v_local) > 255 OR v_local ~ '[[:cntrl:][:space:]]' THEN
        PERFORM lg_admin_fail('22023', 'localGroupId must be at most 255 visible characters',
                              'localGroupId');
    END IF;
    BEGIN
        INSERT INTO ue_group (external_group_id, local_group_id) VALUES (v_ext, v_local)
        ON CONFLICT (external_group_id) DO UPDATE SET local_group_id = excluded.local_group_id
        RETURNING * INTO g;
    EXCEPTION WHEN unique_violation THEN
        PERFORM lg_admin_fail('23505', 'another group has this localGroupId', 'localGroupId');
    END;
    RETURN lg_admin_group_json(g);
END
$fn$;

-- lg_admin_group_list {}: every group, by External Group ID.
CREATE OR REPLACE FUNCTION lg_admin_group_list(args jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(jsonb_agg(lg_admin_group_json(g) ORDER BY g.external_group_id), '[]')
      FROM ue_group g
$fn$;

-- lg_admin_group_delete {externalGroupId}: remove a group with its
-- memberships, grants and subscriptions.
CREATE OR REPLACE FUNCTION lg_admin_group_delete(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_delete('ue_group', 'external_group_id', args, 'externalGroupId',
                           'group not found')
$fn$;

-- lg_admin_group_member_target {externalGroupId, externalId}: the group and
-- the device a membership request names, looked up in that order (P0002
-- for the first missing).
CREATE OR REPLACE FUNCTION lg_admin_group_member_target(args jsonb, OUT group_id bigint,
                                                        OUT ue_id bigint)
LANGUAGE plpgsql STABLE
AS $fn$
BEGIN
    group_id := (lg_admin_group_find(lg_admin_text(args, 'externalGroupId', true),
                                     'externalGroupId')).id;
    ue_id := (lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId')).id;
END
$fn$;

-- lg_admin_group_member_add {externalGroupId, externalId}
CREATE OR REPLACE FUNCTION lg_admin_group_member_add(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_link('ue_group_member', 'group_id', t.group_id, 'ue_id', t.ue_id, true,
                         'device is already a member of this group', 'externalId')
      FROM lg_admin_group_member_target(args) t
$fn$;

-- lg_admin_group_member_remove {externalGroupId, externalId}
CREATE OR REPLACE FUNCTION lg_admin_group_member_remove(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_link('ue_group_member', 'group_id', t.group_id, 'ue_id', t.ue_id, false,
                         'device is not a member of this group', 'externalId')
      FROM lg_admin_group_member_target(args) t
$fn$;

-- lg_admin_group_member_list {externalGroupId}: the members' External IDs.
CREATE OR REPLACE FUNCTION lg_admin_group_member_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    g ue_group := lg_admin_group_find(lg_admin_text(args, 'externalGroupId', true),
                                      'externalGroupId');
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(u.external_id ORDER BY u.external_id), '[]')
              FROM ue_group_member m JOIN ue u ON u.id = m.ue_id
             WHERE m.group_id = g.id);
END
$fn$;

---------------------------------------------------------------------------
-- Grants: which SCS may use which service for which device or group

-- lg_admin_grant_target: the SCS, service and target (device or group id) a
-- grant request names: {scsAsId, service, externalId | externalGroupId}.
CREATE OR REPLACE FUNCTION lg_admin_grant_target(args jsonb, OUT scs_id bigint,
                                                 OUT service text, OUT ue_id bigint,
                                                 OUT group_id bigint)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_ext text := lg_admin_text(args, 'externalId', false);
    v_grp text := lg_admin_text(args, 'externalGroupId', false);
BEGIN
    scs_id := (lg_admin_scs_find(lg_admin_text(args, 'scsAsId', true), 'scsAsId')).id;
    service := coalesce(lg_admin_text(args, 'service', false), 'location-monitoring');
    IF service <> 'location-monitoring' THEN
        PERFORM lg_admin_fail('22023', 'service must be location-monitoring', 'service');
    END IF;
    IF (v_ext IS NULL) = (v_grp IS NULL) THEN
        PERFORM lg_admin_fail('22023', 'exactly one of externalId and externalGroupId is required',
                              'externalId');
    END IF;
    IF v_ext IS NOT NULL THEN
        ue_id := (lg_admin_device_find(v_ext, 'externalId')).id;
    ELSE
        group_id := (lg_admin_group_find(v_grp, 'externalGroupId')).id;
    END IF;
END
$fn$;

-- lg_admin_grant_json: the API object of one grant.
CREATE OR REPLACE FUNCTION lg_admin_grant_json(gr scs_grant)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'scsAsId', (SELECT k.scs_as_id FROM scs k WHERE k.id = gr.scs_id),
               'service', gr.service,
               'externalId', (SELECT u.external_id FROM ue u WHERE u.id = gr.ue_id),
               'externalGroupId', (SELECT g.external_group_id FROM ue_group g
                                    WHERE g.id = gr.group_id)))
$fn$;

-- lg_admin_grant_add {scsAsId, service?, externalId | externalGroupId}: add
-- a grant; a device grant also lifts the exclusion its removal left.
CREATE OR REPLACE FUNCTION lg_admin_grant_add(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    t record := lg_admin_grant_target(args);
    gr scs_grant;
BEGIN
    INSERT INTO scs_grant (scs_id, service, ue_id, group_id)
    VALUES (t.scs_id, t.service, t.ue_id, t.group_id)
    ON CONFLICT DO NOTHING
    RETURNING * INTO gr;
    IF gr.id IS NULL THEN
        PERFORM lg_admin_fail('23505', 'this grant already exists', 'scsAsId');
    END IF;
    -- Granting the device again lifts what removing its grant excluded.
    DELETE FROM scs_grant_exclusion x WHERE x.scs_id = t.scs_id AND x.ue_id = t.ue_id;
    RETURN lg_admin_grant_json(gr);
END
$fn$;

-- lg_admin_grant_remove {scsAsId, service?, externalId | externalGroupId}:
-- remove a grant; the removal is final for what the grant let through:
--   - a device grant: the SCS may no longer learn about the device through
--     any subscription (scs_grant_exclusion, until the device is granted
--     again): its subscriptions to the device end (GRANT_REMOVED), its
--     group subscriptions go on without the member, and every pending alert
--     of the SCS about the device is dropped;
--   - a group grant: its subscriptions to the group end (GRANT_REMOVED) and
--     their pending rows are dropped.
-- Each subscription ended gets the TS 29.122 notice of a subscription the
-- SCEF cancelled: a MonitoringNotification {subscription, cancelInd: true}
-- queued to its notificationDestination (TS 29.122 has no notice of a
-- removed authorization to send to revocationNotifUri: ConsentRevocNotif
-- says the user revoked a consent, which is not what happened). Returns
-- {"subscriptionsEnded": n, "notificationsDropped": n}; P0002 when there
-- is no such grant.
CREATE OR REPLACE FUNCTION lg_admin_grant_remove(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    t record := lg_admin_grant_target(args);
    v_subs bigint[];
    n_ended int;
    n_dropped int;
BEGIN
    DELETE FROM scs_grant g
     WHERE g.scs_id = t.scs_id AND g.service = t.service
       AND g.ue_id IS NOT DISTINCT FROM t.ue_id AND g.group_id IS NOT DISTINCT FROM t.group_id;
    IF NOT FOUND THEN
        PERFORM lg_admin_fail('P0002', 'grant not found', 'scsAsId');
    END IF;
    IF t.ue_id IS NOT NULL THEN
        INSERT INTO scs_grant_exclusion (scs_id, ue_id) VALUES (t.scs_id, t.ue_id)
        ON CONFLICT DO NOTHING;
    END IF;

    -- The live subscriptions the grant was for, locked as lg_outbox_enqueue locks them.
    SELECT array_agg(s.id ORDER BY s.id) INTO v_subs
      FROM (SELECT s1.id FROM subscription s1
             WHERE s1.scs_id = t.scs_id AND s1.status = 'active'
               AND s1.ue_id IS NOT DISTINCT FROM t.ue_id
               AND s1.group_id IS NOT DISTINCT FROM t.group_id
             ORDER BY s1.id
               FOR NO KEY UPDATE) s;
    UPDATE notification_outbox o
       SET status = 'dropped', last_error = 'grant removed',
           lease_owner = NULL, lease_until = NULL
     WHERE o.status = 'pending'
       AND (o.subscription_id = ANY (v_subs)
            OR (t.ue_id IS NOT NULL AND o.scs_id = t.scs_id AND o.ue_id = t.ue_id
                AND o.kind = 'alert'));
    GET DIAGNOSTICS n_dropped = ROW_COUNT;
    UPDATE subscription s
       SET status = 'ended', ended_reason = 'GRANT_REMOVED', updated_at = now()
     WHERE s.id = ANY (v_subs);
    GET DIAGNOSTICS n_ended = ROW_COUNT;

    INSERT INTO notification_outbox (subscription_id, scs_id, ue_id, kind, destination, payload)
    SELECT s.id, s.scs_id, s.ue_id, 'revocation', s.notification_destination,
           jsonb_build_object('subscription', lg_sub_self(k.scs_as_id, s.sub_id),
                              'cancelInd', true)
      FROM subscription s
      JOIN scs k ON k.id = s.scs_id
     WHERE s.id = ANY (v_subs)
     ORDER BY s.id;
    RETURN jsonb_build_object('subscriptionsEnded', n_ended, 'notificationsDropped', n_dropped);
END
$fn$;

-- lg_admin_grant_list {scsAsId?}: grants, by SCS then target.
CREATE OR REPLACE FUNCTION lg_admin_grant_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_scs text := lg_admin_text(args, 'scsAsId', false);
    v_scs_id bigint;
BEGIN
    v_scs_id := lg_admin_scs_id(v_scs);
    RETURN (SELECT coalesce(jsonb_agg(x.j ORDER BY x.j ->> 'scsAsId', x.j ->> 'externalId',
                                      x.j ->> 'externalGroupId'), '[]')
              FROM (SELECT lg_admin_grant_json(gr) AS j FROM scs_grant gr
                     WHERE v_scs_id IS NULL OR gr.scs_id = v_scs_id) x);
END
$fn$;

---------------------------------------------------------------------------
-- Consent

-- lg_admin_consent_json: the API object of one consent, with whether it is
-- valid now.
CREATE OR REPLACE FUNCTION lg_admin_consent_json(c consent)
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT jsonb_build_object(
               'id', c.id,
               'externalId', (SELECT u.external_id FROM ue u WHERE u.id = c.ue_id),
               'purpose', c.purpose,
               'scsAsId', (SELECT k.scs_as_id FROM scs k WHERE k.id = c.scs_id),
               'grantedAt', c.granted_at, 'expiresAt', c.expires_at, 'revokedAt', c.revoked_at,
               'valid', c.granted_at <= now() AND (c.expires_at IS NULL OR now() < c.expires_at)
                        AND c.revoked_at IS NULL)
$fn$;

-- lg_admin_consent_purpose: the purpose member, checked.
CREATE OR REPLACE FUNCTION lg_admin_consent_purpose(args jsonb)
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    v text := lg_admin_text(args, 'purpose', true);
BEGIN
    IF v NOT IN ('location-monitoring', 'anonymous-statistics') THEN
        PERFORM lg_admin_fail('22023',
            'purpose must be location-monitoring or anonymous-statistics', 'purpose');
    END IF;
    RETURN v;
END
$fn$;

-- lg_admin_consent_grant {externalId, purpose, scsAsId? (absent: any SCS),
-- expiresAt?}: record a consent given now.
CREATE OR REPLACE FUNCTION lg_admin_consent_grant(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    u ue := lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId');
    v_purpose text := lg_admin_consent_purpose(args);
    v_scs text := lg_admin_text(args, 'scsAsId', false);
    v_expires timestamptz := lg_admin_time(args, 'expiresAt');
    v_scs_id bigint;
    c consent;
BEGIN
    v_scs_id := lg_admin_scs_id(v_scs);
    IF v_expires <= now() THEN
        PERFORM lg_admin_fail('22023', 'expiresAt must be in the future', 'expiresAt');
    END IF;
    INSERT INTO consent (ue_id, purpose, scs_id, expires_at)
    VALUES (u.id, v_purpose, v_scs_id, v_expires)
    RETURNING * INTO c;
    RETURN lg_admin_consent_json(c);
END
$fn$;

-- lg_admin_consent_revoke {externalId, purpose, scsAsId? (absent: the
-- any-SCS consents)}: revoke the matching valid consents. For
-- location-monitoring, every SCS that thereby loses the device (no other
-- valid consent covers it) and holds a live subscription to it, directly or
-- through a group, or a pending alert about it:
--   - its pending alert rows about the device are dropped;
--   - its subscriptions to the device itself end (CONSENT_REVOKED) and
--     their pending rows are dropped; group subscriptions go on without the
--     member (it is no longer reported);
--   - each affected subscription with a revocationNotifUri gets a
--     ConsentRevocNotif {subscriptionId, consentsRevoked: [{ucPurpose:
--     NW_CAP_EXPOSURE, externalId}]} queued to that URI.
-- Returns {"revoked": consents revoked, "subscriptionsEnded": n}; P0002
-- when no valid consent matched.
CREATE OR REPLACE FUNCTION lg_admin_consent_revoke(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    u ue := lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId');
    v_purpose text := lg_admin_consent_purpose(args);
    v_scs text := lg_admin_text(args, 'scsAsId', false);
    v_scs_id bigint;
    n_revoked int;
    n_ended int := 0;
    v_lost bigint[];
    v_subs bigint[];
BEGIN
    v_scs_id := lg_admin_scs_id(v_scs);
    UPDATE consent c SET revoked_at = now()
     WHERE c.ue_id = u.id AND c.purpose = v_purpose
       AND c.scs_id IS NOT DISTINCT FROM v_scs_id
       AND c.revoked_at IS NULL AND c.granted_at <= now()
       AND (c.expires_at IS NULL OR now() < c.expires_at);
    GET DIAGNOSTICS n_revoked = ROW_COUNT;
    IF n_revoked = 0 THEN
        PERFORM lg_admin_fail('P0002', 'no valid consent matches', 'externalId');
    END IF;

    IF v_purpose = 'location-monitoring' THEN
        -- The live subscriptions covering the device whose SCS lost it.
        SELECT array_agg(s.id ORDER BY s.id) INTO v_subs
          FROM subscription s
         WHERE s.status = 'active'
           AND (s.ue_id = u.id
                OR s.group_id IN (SELECT m.group_id FROM ue_group_member m WHERE m.ue_id = u.id))
           AND (v_scs_id IS NULL OR s.scs_id = v_scs_id)
           AND NOT lg_consent_valid(u.id, s.scs_id, 'location-monitoring', now());
        -- The SCSs that lost it and have something pending or subscribed.
        SELECT array_agg(DISTINCT x.scs_id) INTO v_lost
          FROM (SELECT o.scs_id FROM notification_outbox o
                 WHERE o.ue_id = u.id AND o.status = 'pending' AND o.kind = 'alert'
                UNION
                SELECT s.scs_id FROM subscription s WHERE s.id = ANY (v_subs)) x
         WHERE NOT lg_consent_valid(u.id, x.scs_id, 'location-monitoring', now());

        UPDATE notification_outbox o
           SET status = 'dropped', last_error = 'consent revoked',
               lease_owner = NULL, lease_until = NULL
         WHERE o.status = 'pending'
           AND ((o.ue_id = u.id AND o.kind = 'alert' AND o.scs_id = ANY (v_lost))
                OR o.subscription_id IN (SELECT s.id FROM subscription s
                                          WHERE s.id = ANY (v_subs) AND s.ue_id = u.id));
        UPDATE subscription s
           SET status = 'ended', ended_reason = 'CONSENT_REVOKED', updated_at = now()
         WHERE s.id = ANY (v_subs) AND s.ue_id = u.id;
        GET DIAGNOSTICS n_ended = ROW_COUNT;

        INSERT INTO notification_outbox (subscription_id, scs_id, ue_id, kind, destination,
                                         payload)
        SELECT s.id, s.scs_id, u.id, 'revocation', s.revocation_notif_uri,
               jsonb_build_object('subscriptionId', s.sub_id,
                                  'consentsRevoked', jsonb_build_array(jsonb_build_object(
                                      'ucPurpose', 'NW_CAP_EXPOSURE',
                                      'externalId', u.external_id)))
          FROM subscription s
         WHERE s.id = ANY (v_subs) AND s.revocation_notif_uri IS NOT NULL
         ORDER BY s.id;
    END IF;
    RETURN jsonb_build_object('revoked', n_revoked, 'subscriptionsEnded', n_ended);
END
$fn$;

-- lg_admin_consent_list {externalId}: the device's consents, oldest first.
CREATE OR REPLACE FUNCTION lg_admin_consent_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    u ue := lg_admin_device_find(lg_admin_text(args, 'externalId', true), 'externalId');
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(lg_admin_consent_json(c) ORDER BY c.id), '[]')
              FROM consent c WHERE c.ue_id = u.id);
END
$fn$;

---------------------------------------------------------------------------
-- Outbox

-- lg_admin_outbox_list {status?, scsAsId?, limit?}: notifications, newest
-- first, with their delivery state; never the payload (it carries the
-- location), only the device's External ID.
CREATE OR REPLACE FUNCTION lg_admin_outbox_list(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_status text := lg_admin_text(args, 'status', false);
    v_scs text := lg_admin_text(args, 'scsAsId', false);
    v_limit int := lg_admin_limit(args);
    v_scs_id bigint;
BEGIN
    IF v_status IS NOT NULL AND v_status NOT IN ('pending', 'delivered', 'dropped', 'failed') THEN
        PERFORM lg_admin_fail('22023', 'status must be pending, delivered, dropped or failed',
                              'status');
    END IF;
    v_scs_id := lg_admin_scs_id(v_scs);
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'notifId', o.notif_id,
                       'kind', o.kind,
                       'status', o.status,
                       'attempts', o.attempts,
                       'scsAsId', s.scs_as_id,
                       'externalId', u.external_id,
                       'lastStatus', o.last_status,
                       'nextAttemptAt', lg_rfc3339(o.next_attempt_at),
                       'createdAt', lg_rfc3339(o.created_at),
                       'deliveredAt', lg_rfc3339(o.delivered_at)) ORDER BY o.id DESC), '[]')
              FROM (SELECT * FROM notification_outbox
                     WHERE (v_status IS NULL OR status = v_status)
                       AND (v_scs_id IS NULL OR scs_id = v_scs_id)
                     ORDER BY id DESC
                     LIMIT v_limit) o
              JOIN scs s ON s.id = o.scs_id
              LEFT JOIN ue u ON u.id = o.ue_id);
END
$fn$;

---------------------------------------------------------------------------
-- Counts

-- lg_admin_count_exact {area}: the exact number of consented devices in an
-- area (a GeoJSON Polygon/MultiPolygon or a CAMARA Area), for operators
-- only; lg_counts_exact audits it.
CREATE OR REPLACE FUNCTION lg_admin_count_exact(args jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF jsonb_typeof(args -> 'area') IS DISTINCT FROM 'object' THEN
        PERFORM lg_admin_fail('22023', 'area must be a GeoJSON geometry or a CAMARA area', 'area');
    END IF;
    RETURN lg_counts_exact('admin', args -> 'area');
END
$fn$;

-- lg_admin_sub_needs: whether subscription x needs the per-SCS service
-- p_service ('area-counts' or 'geo-area').
CREATE OR REPLACE FUNCTION lg_admin_sub_needs(x subscription, p_service text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT CASE p_service WHEN 'area-counts' THEN x.monitoring_type = 'NUMBER_OF_UES_IN_AN_AREA'
                          ELSE x.accuracy = 'GEO_AREA' END
$fn$;

-- lg_admin_scs_service: allow or forbid an SCS/AS one of the services
-- granted per SCS rather than per device: 'area-counts'
-- (NUMBER_OF_UES_IN_AN_AREA) or 'geo-area' (accuracy GEO_AREA, reported
-- positions). Forbidding ends the SCS's subscriptions that need the service
-- (SERVICE_REVOKED) and drops their pending notifications. Returns
-- {"scsAsId", "areaCounts" | "geoArea": bool}; P0002 for an unknown SCS.
CREATE OR REPLACE FUNCTION lg_admin_scs_service(args jsonb, p_service text)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    k scs := lg_admin_scs_find(lg_admin_text(args, 'scsAsId', true), 'scsAsId');
    v_allowed boolean := lg_admin_bool(args, 'allowed', NULL);
    v_is_area boolean := p_service = 'area-counts';
BEGIN
    IF v_allowed IS NULL THEN
        PERFORM lg_admin_fail('22023', 'allowed is required', 'allowed');
    END IF;
    UPDATE scs
       SET area_counts_allowed = CASE WHEN v_is_area THEN v_allowed ELSE area_counts_allowed END,
           geo_area_allowed = CASE WHEN v_is_area THEN geo_area_allowed ELSE v_allowed END
     WHERE id = k.id;
    IF NOT v_allowed THEN
        UPDATE notification_outbox o
           SET status = 'dropped', last_error = p_service || ' service withdrawn',
               lease_owner = NULL, lease_until = NULL
          FROM subscription x
         WHERE o.subscription_id = x.id AND o.status = 'pending' AND x.scs_id = k.id
           AND lg_admin_sub_needs(x, p_service);
        UPDATE subscription x
           SET status = 'ended', ended_reason = 'SERVICE_REVOKED', next_report_at = NULL,
               updated_at = now()
         WHERE x.scs_id = k.id AND x.status = 'active' AND lg_admin_sub_needs(x, p_service);
    END IF;
    RETURN jsonb_build_object('scsAsId', k.scs_as_id,
                              CASE WHEN v_is_area THEN 'areaCounts' ELSE 'geoArea' END, v_allowed);
END
$fn$;

-- lg_admin_scs_geo_area {scsAsId, allowed}: whether the SCS/AS may subscribe
-- with accuracy GEO_AREA; see lg_admin_scs_service.
CREATE OR REPLACE FUNCTION lg_admin_scs_geo_area(args jsonb)
RETURNS jsonb
LANGUAGE sql
AS $fn$
    SELECT lg_admin_scs_service(args, 'geo-area')
$fn$;
