-- SPDX-License-Identifier: Apache-2.0
--
-- The S6t steps (sql/s6t.sql): which devices are wanted, a pass allocating
-- one SCEF-Reference-ID per wanted device and returning what to send, the
-- HSS's answers recorded (active, failed and retried, deleted), and a
-- device that stops needing reports marked for deletion, its row gone once
-- the HSS answered. Run by tests/tools/run-pgtap.sh (pg_prove).
BEGIN;
SET LOCAL TimeZone = 'UTC';
SELECT plan(24);
-- Only this file's devices: whatever other files left is set aside (rolled back at the end).
DELETE FROM s6t_dirty;
DELETE FROM scef_reference;

INSERT INTO ue (imsi, external_id, mobility) VALUES
    ('001010000000001', 'fixed@test', 'fixed'),
    ('001010000000002', 'restricted@test', 'restricted'),
    ('001010000000003', 'tracker@test', 'unrestricted'),
    ('001010000000004', 'grouped@test', 'unrestricted');
INSERT INTO scs (scs_as_id, webhook_secret) VALUES ('scs-a', 'whsec_x');
INSERT INTO ue_group (external_group_id, local_group_id) VALUES ('g@test', 'g-1');
INSERT INTO ue_group_member SELECT g.id, u.id FROM ue_group g, ue u WHERE u.external_id = 'grouped@test';

-- refs: "imsi-suffix/state" of every row, in order.
CREATE FUNCTION pg_temp.refs() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(right(imsi, 1) || '/' || state, ' ' ORDER BY imsi, state), '')
      FROM scef_reference
$$;
CREATE FUNCTION pg_temp.ours() RETURNS bigint[] LANGUAGE sql AS $$
    SELECT array_agg(id) FROM ue WHERE imsi LIKE '00101000000000_' AND external_id LIKE '%@test'
$$;
CREATE FUNCTION pg_temp.ref(p_imsi text) RETURNS bigint LANGUAGE sql AS $$
    SELECT ref_id FROM scef_reference WHERE imsi = p_imsi AND state <> 'deleting'
$$;

SELECT is((SELECT string_agg(right(imsi, 1), ' ' ORDER BY imsi) FROM lg_s6t_wanted(pg_temp.ours())), '1 2',
          'checked devices are wanted, trackers are not');

INSERT INTO subscription (scs_id, ue_id, monitoring_type, notification_destination, request)
SELECT s.id, u.id, 'LOCATION_REPORTING', 'https://x', '{}'
  FROM scs s, ue u WHERE u.external_id = 'tracker@test';
INSERT INTO subscription (scs_id, group_id, monitoring_type, notification_destination, request,
                          expires_at)
SELECT s.id, g.id, 'LOCATION_REPORTING', 'https://x', '{}', now() - interval '1 hour'
  FROM scs s, ue_group g;
SELECT is((SELECT string_agg(right(imsi, 1), ' ' ORDER BY imsi) FROM lg_s6t_wanted(pg_temp.ours())), '1 2 3',
          'a subscribed tracker is wanted; an expired group subscription wants nobody');

SELECT is((SELECT count(*)::int FROM s6t_dirty), 4,
          'the triggers noted the checked devices, the subscribed tracker, the group member');
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY imsi)
             FROM lg_s6t_plan(100, 30)), '1:configure 2:configure 3:configure',
          'the first pass configures each wanted device');
SELECT is((SELECT count(*)::int FROM s6t_dirty), 0, 'and takes the changed devices out');
SELECT is(pg_temp.refs(), '1/configuring 2/configuring 3/configuring', 'one row each');
SELECT is((SELECT count(DISTINCT ref_id)::int FROM scef_reference WHERE ref_id BETWEEN 1 AND 4294967295),
          3, 'three distinct Unsigned32 references');
SELECT is((SELECT count(*)::int FROM lg_s6t_plan(100, 30)), 0,
          'a second pass sends nothing while the answers are awaited');

SELECT is((SELECT count(*)::int FROM lg_s6t_record(
              ARRAY[pg_temp.ref('001010000000001'), pg_temp.ref('001010000000002'),
                    pg_temp.ref('001010000000003')],
              ARRAY['configure', 'configure', 'configure'], ARRAY[2001, 2001, 5513], 30)), 1,
          'one refusal is returned (for the map)');
SELECT is(pg_temp.refs(), '1/active 2/active 3/failed', 'answers recorded');
SELECT is((SELECT result_code FROM scef_reference WHERE imsi = '001010000000003'), 5513,
          'the refusal''s code is kept');

UPDATE scef_reference SET next_try_at = now() - interval '1 second' WHERE state = 'failed';
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ') FROM lg_s6t_plan(100, 30)),
          '3:configure', 'a refused configuration is tried again when due');
SELECT is(pg_temp.refs(), '1/active 2/active 3/configuring', 'and is configuring again');

-- The tracker's subscription ends: its configuration is deleted; subscribed again, a new one.
UPDATE subscription SET status = 'ended', ended_reason = 'DELETED'
 WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'tracker@test');
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ') FROM lg_s6t_plan(100, 30)),
          '3:delete', 'a subscription that ends deletes its tracker''s configuration');
DELETE FROM scef_reference WHERE imsi = '001010000000003';
UPDATE subscription SET status = 'active', ended_reason = NULL
 WHERE ue_id = (SELECT id FROM ue WHERE external_id = 'tracker@test');
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ') FROM lg_s6t_plan(100, 30)),
          '3:configure', 'subscribed again: configured again');

-- The restricted device becomes a tracker, the fixed one is deleted.
UPDATE ue SET mobility = 'unrestricted' WHERE imsi = '001010000000002';
DELETE FROM ue WHERE imsi = '001010000000001';
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY imsi)
             FROM lg_s6t_plan(100, 30)), '1:delete 2:delete',
          'configurations no longer wanted are deleted, the deleted device''s too');
SELECT is(pg_temp.refs(), '1/deleting 2/deleting 3/configuring', 'marked deleting');

-- A configure answer for a row that is deleting now changes nothing.
SELECT is((SELECT count(*)::int FROM lg_s6t_record(
              ARRAY[(SELECT ref_id FROM scef_reference WHERE imsi = '001010000000001'),
                    (SELECT ref_id FROM scef_reference WHERE imsi = '001010000000001'),
                    (SELECT ref_id FROM scef_reference WHERE imsi = '001010000000002')],
              ARRAY['configure', 'delete', 'delete'], ARRAY[2001, 2001, 3002], 30)), 0,
          'nothing failed to drop');
SELECT is(pg_temp.refs(), '2/deleting 3/configuring',
          'a deletion answered 2001 removes the row; one answered 3002 waits to be resent');

-- The tracker subscribed back to restricted: a new reference beside the one being deleted.
UPDATE ue SET mobility = 'restricted' WHERE imsi = '001010000000002';
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ') FROM lg_s6t_plan(100, 30)),
          '2:configure', 'wanted again: a new reference, the old deletion still pending');

-- An active subscription of the group: its member is noted and configured.
INSERT INTO subscription (scs_id, group_id, monitoring_type, notification_destination, request)
SELECT s.id, g.id, 'LOCATION_REPORTING', 'https://x', '{}' FROM scs s, ue_group g;
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY action, imsi)
             FROM lg_s6t_plan(100, 30)), '4:configure', 'a group subscription configures its member');

-- A tracker joins the subscribed group: configured too.
INSERT INTO ue (imsi, external_id, mobility) VALUES ('001010000000007', 'seven@test', 'unrestricted');
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY action, imsi)
             FROM lg_s6t_plan(100, 30)), NULL, 'an unsubscribed tracker is not configured');
INSERT INTO ue_group_member SELECT g.id, u.id FROM ue_group g, ue u WHERE u.external_id = 'seven@test';
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY action, imsi)
             FROM lg_s6t_plan(100, 30)), '7:configure', 'a new member of a subscribed group is');

-- More changed devices than a pass takes: it says so.
INSERT INTO ue (imsi, external_id, mobility) VALUES
    ('001010000000005', 'five@test', 'fixed'), ('001010000000006', 'six@test', 'fixed');
SELECT is((SELECT string_agg(right(imsi, 1) || ':' || action, ' ' ORDER BY action, imsi)
             FROM lg_s6t_plan(1, 30)), '5:configure :more', 'one device taken, more left');

SELECT * FROM finish();
ROLLBACK;
