-- SPDX-License-Identifier: Apache-2.0
--
-- lg_admin_*: provisioning results and validation errors (SQLSTATE, reason,
-- parameter). Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(52);

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

-- Nodes
SELECT is(lg_admin_node_add('{"name": "mme-1", "kind": "MME"}') - 'createdAt' - 'highSeq',
          '{"name": "mme-1", "kind": "MME", "enabled": true}', 'node_add returns the node');
SELECT is(lg_admin_node_add('{"name": "mme-1", "kind": "MME"}') - 'createdAt' - 'highSeq',
          '{"name": "mme-1", "kind": "MME", "enabled": true}', 'node_add twice: the same node');
SELECT is(lg_admin_node_add('{"name": "mme-1", "kind": "MME", "enabled": true}') ->> 'kind',
          'MME', 'node_add with the same enabled: the same node');
SELECT is((SELECT count(*) FROM network_node WHERE name = 'mme-1'), 1::bigint,
          'node_add twice: one row');
SELECT is(pg_temp.error_of($$SELECT lg_admin_node_add('{"name": "mme-1", "kind": "AMF"}')$$),
          '23505|node mme-1 already exists with kind MME|kind', 'node_add with another kind: 23505');
SELECT is(pg_temp.error_of($$SELECT lg_admin_node_add('{"name": "mme-1", "kind": "MME",
                                                        "enabled": false}')$$),
          '23505|node mme-1 already exists and is enabled|enabled',
          'node_add with another enabled: 23505');
SELECT is((SELECT kind || ' ' || enabled FROM network_node WHERE name = 'mme-1'), 'MME true',
          'a refused node_add changes nothing');
SELECT is(pg_temp.error_of($$SELECT lg_admin_node_add('{"name": "bad name", "kind": "MME"}')$$),
          '22023|name must be 1 to 63 letters, digits, dots, underscores or hyphens|name',
          'node_add bad name: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_node_add('{"name": "x", "kind": "HSS"}')$$),
          '22023|kind must be MME, SGSN or AMF|kind', 'node_add bad kind: 22023');
SELECT is(lg_admin_node_update('{"name": "mme-1", "enabled": "false"}') ->> 'enabled', 'false',
          'node_update disables (string from a query parameter)');
SELECT is(lg_admin_node_add('{"name": "mme-1", "kind": "MME"}') ->> 'enabled', 'false',
          'node_add of a disabled node without enabled: it stays disabled');
SELECT is(jsonb_array_length(lg_admin_node_list('{}')), 1, 'node_list');
SELECT is(pg_temp.error_of($$SELECT lg_admin_node_delete('{"name": "nope"}')$$),
          'P0002|node nope not found|name', 'node_delete unknown: P0002');
SELECT is(lg_admin_node_delete('{"name": "mme-1"}'), NULL, 'node_delete: no content');
SELECT is(jsonb_array_length(lg_admin_node_list('{}')), 0, 'node deleted');

-- Areas: valid, then every kind of refusal with its reason.
SELECT is(lg_admin_area_put('{"name": "home", "geometry": {"type": "Polygon",
              "coordinates": [[[2, 48], [2.1, 48], [2.1, 48.1], [2, 48.1], [2, 48]]]}}') -> 'geometry',
          '{"type": "MultiPolygon", "coordinates": [[[[2, 48], [2.1, 48], [2.1, 48.1], [2, 48.1], [2, 48]]]]}',
          'area_put stores a MultiPolygon');
SELECT ok((lg_admin_area_get('{"name": "home"}') ->> 'areaM2')::numeric BETWEEN 8.2e7 AND 8.4e7,
          'area_get: areaM2 in square metres');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "bow", "geometry": {"type": "Polygon",
              "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}}')$$),
          '22023|geometry is self-intersecting: Self-intersection[1 1]|geometry', 'self-intersecting: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "open", "geometry": {"type": "Polygon",
              "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}')$$),
          '22023|geometry has an open ring (a ring needs 4 or more positions, the last equal to the first)|geometry',
          'open ring: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "far", "geometry": {"type": "Polygon",
              "coordinates": [[[179, 0], [181, 0], [181, 1], [179, 0]]]}}')$$),
          '22023|coordinates out of range (longitude -180..180, latitude -90..90)|geometry',
          'longitude out of range: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "far", "geometry": {"type": "Polygon",
              "coordinates": [[[0, 89], [1, 91], [1, 89], [0, 89]]]}}')$$),
          '22023|coordinates out of range (longitude -180..180, latitude -90..90)|geometry',
          'latitude out of range: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "pt", "geometry": {"type": "Point", "coordinates": [0, 0]}}')$$),
          '22023|geometry is not a polygon: type Point|geometry', 'not a polygon: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "e", "geometry": {"type": "Polygon", "coordinates": []}}')$$),
          '22023|geometry is empty|geometry', 'empty: 22023');
SELECT matches(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "j", "geometry": {"type": "Polygon", "coordinates": [["a"]]}}')$$),
          '^22023\|invalid GeoJSON: .*\|geometry$', 'invalid GeoJSON: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_put('{"name": "j"}')$$),
          '22023|geometry is required|geometry', 'missing geometry: 22023');
SELECT is((SELECT count(*)::int FROM area), 1, 'refused areas are not stored');
SELECT is(pg_temp.error_of($$SELECT lg_admin_area_get('{"name": "nope"}')$$),
          'P0002|area not found|name', 'area_get unknown: P0002');

-- Devices
SELECT is(lg_admin_device_put('{"supi": "imsi-001010000000001", "msisdn": "msisdn-33612345678",
                                 "externalId": "meter-1@example.com", "mobility": "fixed"}'),
          '{"externalId": "meter-1@example.com", "supi": "imsi-001010000000001",
            "msisdn": "msisdn-33612345678", "mobility": "fixed", "monitoringAllowed": true,
            "ambiguousPolicy": "inside", "areas": [], "location": null, "hss": null}',
          'device_put creates with defaults');
SELECT is(lg_admin_device_put('{"supi": "imsi-001010000000001", "externalId": "meter-1@example.com",
                                 "mobility": "restricted", "monitoringAllowed": false,
                                 "ambiguousPolicy": "outside"}') - 'areas' - 'location' - 'hss',
          '{"externalId": "meter-1@example.com", "supi": "imsi-001010000000001", "msisdn": null,
            "mobility": "restricted", "monitoringAllowed": false, "ambiguousPolicy": "outside"}',
          'device_put replaces by externalId');
SELECT is((SELECT count(*)::int FROM ue), 1, 'upsert keeps one device');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_put('{"supi": "imsi-001010000000001",
              "externalId": "other@example.com", "mobility": "fixed"}')$$),
          '23505|another device has this supi|supi', 'same supi on another device: 23505');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_put('{"supi": "001010000000002",
              "externalId": "x@example.com", "mobility": "fixed"}')$$),
          '22023|supi must be imsi- followed by 5 to 15 digits|supi', 'bad supi: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_put('{"supi": "imsi-001010000000002",
              "externalId": "no-domain", "mobility": "fixed"}')$$),
          '22023|externalId must be local-id@domain|externalId', 'bad externalId: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_put('{"supi": "imsi-001010000000002",
              "externalId": "x@example.com", "mobility": "flying"}')$$),
          '22023|mobility must be fixed, restricted or unrestricted|mobility', 'bad mobility: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_get('{"externalId": "nobody@example.com"}')$$),
          'P0002|device not found|externalId', 'device_get unknown: P0002');

-- Device <-> area
SELECT is(lg_admin_device_area_add('{"externalId": "meter-1@example.com", "area": "home"}'), NULL,
          'device_area_add: no content');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_area_add('{"externalId": "meter-1@example.com", "area": "home"}')$$),
          '23505|device is already authorized in this area|area', 'device_area_add twice: 23505');
SELECT is(pg_temp.error_of($$SELECT lg_admin_device_area_add('{"externalId": "meter-1@example.com", "area": "mars"}')$$),
          'P0002|area not found|area', 'device_area_add unknown area: P0002');
SELECT is(lg_admin_device_area_list('{"externalId": "meter-1@example.com"}'), '["home"]', 'device_area_list');
SELECT is(lg_admin_device_get('{"externalId": "meter-1@example.com"}') -> 'areas', '["home"]',
          'device object lists its areas');

-- Cells: WKT and circle lines, header and comments; a bad line imports nothing.
SELECT is(lg_admin_cells_import(jsonb_build_object('csv', E'cell_key,rat,coverage\n'
          '# home cell\n'
          'ecgi:001-01:0000001,EUTRA,"POLYGON((2.04 48.04, 2.06 48.04, 2.06 48.06, 2.04 48.06, 2.04 48.04))"\n'
          '\n'
          'ncgi:001-01:000000002,NR,5.05,45.05,1500\n')),
          '{"imported": 2}', 'cells_import: two cells');
SELECT ok((SELECT ST_Covers(coverage, site) AND abs(ST_Distance(ST_ExteriorRing(ST_GeometryN(coverage, 1))::geography,
                                                               site::geography) - 1500) < 30
             FROM cell WHERE cell_key = 'ncgi:001-01:000000002'),
          'circle line: coverage is a 1500 m geodesic circle around the site');
SELECT is(pg_temp.error_of($$SELECT lg_admin_cells_import(jsonb_build_object('csv', E'ecgi:001-01:0000003,EUTRA,1,1,100\n'
          'ecgi:001-01:0000004,LTE,1,1,100\n'))$$),
          '22023|line 2: rat must be EUTRA, NR, UTRA or GERA|csv', 'bad rat: 22023 naming the line');
SELECT is(pg_temp.error_of($$SELECT lg_admin_cells_import(jsonb_build_object('csv', E'# c\n'
          'ecgi:001-01:0000003,EUTRA,1,1,100\n'
          'ecgi:001-01:0000004,EUTRA,"POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))"\n'))$$),
          '22023|line 3: coverage is invalid: Self-intersection[1 1]|csv', 'self-intersecting cell: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_cells_import(jsonb_build_object('csv', E'ecgi:001-01:0000003,EUTRA,1,1,100\n'
          'ecgi:001-01:0000004,EUTRA,1,95,100\n'))$$),
          '22023|line 2: coordinates out of range (longitude -180..180, latitude -90..90)|csv',
          'site out of range: 22023');
SELECT is(pg_temp.error_of($$SELECT lg_admin_cells_import(jsonb_build_object('csv', E'ecgi:001-01:0000003,EUTRA,1,1,100\n'
          'garbage\n'))$$),
          '22023|line 2: expected cell_key,rat,"POLYGON(...)" or cell_key,rat,lon,lat,radius_m|csv',
          'garbage line: 22023');
SELECT is((SELECT count(*)::int FROM cell), 2, 'a bad line imports nothing');
SELECT is(jsonb_array_length(lg_admin_cell_list('{"limit": "1"}')), 1, 'cell_list honours limit');

-- Alerts made by the hot path show up newest first with the external id.
INSERT INTO network_node (name, kind) VALUES ('mme-2', 'MME');
SELECT lg_ingest(ARRAY['mme-2'], ARRAY[s]::bigint[], 1024, 2, ARRAY[1], ARRAY['001010000000001'],
                 ARRAY[(1700000000::bigint + s) * 1000000]::bigint[], ARRAY['NR'], ARRAY['ncgi:001-01:000000002'],
                 ARRAY[NULL]::float8[], ARRAY[NULL]::float8[], ARRAY[NULL]::float8[])
  FROM generate_series(1, 3) s;
SELECT is((SELECT jsonb_agg(x - 'id' - 'createdAt')
             FROM jsonb_array_elements(lg_admin_alert_list('{"device": "meter-1@example.com"}')) x),
          '[{"externalId": "meter-1@example.com", "kind": "left", "reportedAt": "2023-11-14T22:13:22+00:00",
             "cell": "ncgi:001-01:000000002", "rat": "NR"}]', 'alert_list: the left alert');
SELECT is(pg_temp.error_of($$SELECT lg_admin_alert_list('{"since": "yesterday"}')$$),
          '22023|since must be an RFC 3339 date-time|since', 'alert_list bad since: 22023');
SELECT is(lg_admin_alert_list('{"since": "2999-01-01T00:00:00Z"}'), '[]', 'alert_list since the future: none');

-- The shared shapes (lg_admin_found, _delete, _link, _check_*): each
-- route's own message, SQLSTATE and parameter.
SELECT lg_admin_scs_put('{"scsAsId": "scs-s", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}');
SELECT lg_admin_device_put('{"supi": "imsi-001010000009901", "externalId": "s1@shape.test",
                             "mobility": "fixed"}');
SELECT lg_admin_group_put('{"externalGroupId": "g@shape.test", "localGroupId": "lg-shape"}');
SELECT is(array_agg(pg_temp.error_of(c.q) ORDER BY c.n), ARRAY[
              'P0002|device not found|externalId', 'P0002|SCS not found|scsAsId',
              'P0002|client not found|clientId', 'P0002|group not found|externalGroupId',
              'P0002|area not found|name', 'P0002|group not found|externalGroupId',
              'P0002|device not found|externalId', NULL,
              '23505|device is already a member of this group|externalId', NULL,
              'P0002|device is not a member of this group|externalId',
              'P0002|area not found|area',
              'P0002|device is not authorized in this area|area',
              '22023|scsAsId must be 1 to 64 letters, digits, dots, underscores or hyphens|scsAsId',
              '22023|clientId must be 1 to 64 letters, digits, dots, underscores or hyphens|clientId',
              '22023|certCn must be at most 255 printable characters|certCn',
              '22023|name must be at most 128 printable characters|name',
              '22023|externalGroupId must be local-id@domain|externalGroupId',
              'P0002|SCS not found|scsAsId', NULL],
          'shared shapes: every route keeps its own error')
  FROM (VALUES
    (1, $$SELECT lg_admin_device_delete('{"externalId": "nope@shape.test"}')$$),
    (2, $$SELECT lg_admin_scs_delete('{"scsAsId": "nope"}')$$),
    (3, $$SELECT lg_admin_client_delete('{"clientId": "nope"}')$$),
    (4, $$SELECT lg_admin_group_delete('{"externalGroupId": "nope@shape.test"}')$$),
    (5, $$SELECT lg_admin_area_get('{"name": "nope"}')$$),
    (6, $$SELECT lg_admin_group_member_add('{"externalGroupId": "nope@shape.test", "externalId": "nope@shape.test"}')$$),
    (7, $$SELECT lg_admin_group_member_add('{"externalGroupId": "g@shape.test", "externalId": "nope@shape.test"}')$$),
    (8, $$SELECT lg_admin_group_member_add('{"externalGroupId": "g@shape.test", "externalId": "s1@shape.test"}')$$),
    (9, $$SELECT lg_admin_group_member_add('{"externalGroupId": "g@shape.test", "externalId": "s1@shape.test"}')$$),
    (10, $$SELECT lg_admin_group_member_remove('{"externalGroupId": "g@shape.test", "externalId": "s1@shape.test"}')$$),
    (11, $$SELECT lg_admin_group_member_remove('{"externalGroupId": "g@shape.test", "externalId": "s1@shape.test"}')$$),
    (12, $$SELECT lg_admin_device_area_remove('{"externalId": "s1@shape.test", "area": "nope"}')$$),
    (13, $$SELECT lg_admin_device_area_remove(jsonb_build_object('externalId', 's1@shape.test', 'area', (SELECT name FROM area LIMIT 1)))$$),
    (14, $$SELECT lg_admin_scs_put('{"scsAsId": "a b", "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}')$$),
    (15, $$SELECT lg_admin_client_add('{"clientId": "a/b", "scopes": ["x"], "secretHash": "scrypt$1$1$1$a$b"}')$$),
    (16, $$SELECT lg_admin_scs_put(jsonb_build_object('scsAsId', 'scs-s', 'certCn', repeat('x', 256), 'webhookSecret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'))$$),
    (17, $$SELECT lg_admin_scs_put(jsonb_build_object('scsAsId', 'scs-s', 'name', E'a\tb', 'webhookSecret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'))$$),
    (18, $$SELECT lg_admin_group_put('{"externalGroupId": "no-at", "localGroupId": "x"}')$$),
    (19, $$SELECT lg_admin_outbox_list('{"scsAsId": "nope"}')$$),
    (20, $$SELECT lg_admin_outbox_list('{"scsAsId": "scs-s"}')$$)) AS c(n, q);

SELECT * FROM finish();
ROLLBACK;
