-- SPDX-License-Identifier: Apache-2.0
--
-- Monitoring configuration at the HSS over S6t (TS 29.336), the database
-- side: which devices must be reported (lg_s6t_wanted), what a pass of the
-- daemon's S6t client sends (lg_s6t_plan: references allocated for devices
-- that changed, configurations no longer wanted marked for deletion, and
-- the rows due to be (re)sent), what it records of the HSS's answers
-- (lg_s6t_record), and the triggers that note which devices changed
-- (s6t_dirty). The tables are scef_reference and s6t_dirty (migrations/0025).

-- lg_s6t_wanted: of the devices p_ids, those whose location the MMEs and
-- SGSNs must report, with their IMSI: every checked device (mobility fixed
-- or restricted), and a tracker (unrestricted) while an active subscription
-- names it or one of its groups.
CREATE OR REPLACE FUNCTION lg_s6t_wanted(p_ids bigint[])
RETURNS TABLE (ue_id bigint, imsi text)
LANGUAGE sql STABLE
AS $fn$
    SELECT u.id, u.imsi
      FROM ue u
     WHERE u.id = ANY (p_ids)
       AND (u.mobility <> 'unrestricted'
            OR EXISTS (SELECT 1 FROM subscription s
                        WHERE s.ue_id = u.id AND s.status = 'active'
                          AND (s.expires_at IS NULL OR s.expires_at > now()))
            OR EXISTS (SELECT 1 FROM ue_group_member m JOIN subscription s ON s.group_id = m.group_id
                        WHERE m.ue_id = u.id AND s.status = 'active'
                          AND (s.expires_at IS NULL OR s.expires_at > now())))
$fn$;

-- lg_s6t_plan: one pass. At most p_max devices of s6t_dirty are looked at
-- (and taken out of it): a configuration whose device no longer needs
-- reports or has another IMSI now is marked 'deleting', and a device that
-- needs reports and has no live configuration gets a new SCEF-Reference-ID.
-- Configurations whose device was deleted are marked 'deleting' too. Then
-- at most p_max rows due (configuring, failed or deleting, next_try_at
-- passed) are returned to be sent: action 'configure' (a failed one goes
-- back to configuring) or 'delete'; each one's next_try_at moves p_hold_s
-- ahead (the daemon passes its answer timeout and a second): a request
-- whose outcome was never recorded (the daemon stopped, the database was
-- away) is sent again. A last row with action 'more' (reference 0) says
-- that changed devices are left for the next pass. Passes of several
-- daemons are serialised by an advisory lock.
CREATE OR REPLACE FUNCTION lg_s6t_plan(p_max int, p_hold_s int)
RETURNS TABLE (ref_id bigint, imsi text, action text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
    v_ids bigint[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lg_s6t_plan'));

    WITH taken AS (
        DELETE FROM s6t_dirty d
         WHERE d.ue_id IN (SELECT x.ue_id FROM s6t_dirty x ORDER BY x.ue_id LIMIT p_max)
        RETURNING d.ue_id)
    SELECT array_agg(t.ue_id) INTO v_ids FROM taken t;

    IF v_ids IS NOT NULL THEN
        UPDATE scef_reference r
           SET state = 'deleting', tries = 0, result_code = NULL, next_try_at = now(),
               updated_at = now()
         WHERE r.ue_id = ANY (v_ids) AND r.state <> 'deleting'
           AND NOT EXISTS (SELECT 1 FROM lg_s6t_wanted(v_ids) w
                            WHERE w.ue_id = r.ue_id AND w.imsi = r.imsi);

        INSERT INTO scef_reference (ref_id, ue_id, imsi)
        SELECT nextval('scef_reference_id_seq'), w.ue_id, w.imsi
          FROM lg_s6t_wanted(v_ids) w
         WHERE NOT EXISTS (SELECT 1 FROM scef_reference r
                            WHERE r.ue_id = w.ue_id AND r.state <> 'deleting')
         ORDER BY w.ue_id
        ON CONFLICT DO NOTHING;
    END IF;

    UPDATE scef_reference r
       SET state = 'deleting', tries = 0, result_code = NULL, next_try_at = now(),
           updated_at = now()
     WHERE r.ue_id IS NULL AND r.state <> 'deleting';

    RETURN QUERY
    UPDATE scef_reference r
       SET state = CASE WHEN r.state = 'failed' THEN 'configuring' ELSE r.state END,
           tries = r.tries + 1,
           next_try_at = now() + make_interval(secs => p_hold_s),
           updated_at = now()
      FROM (SELECT d.ref_id
              FROM scef_reference d
             WHERE d.state <> 'active' AND d.next_try_at <= now()
             ORDER BY d.next_try_at
             LIMIT p_max
               FOR UPDATE SKIP LOCKED) due
     WHERE r.ref_id = due.ref_id
    RETURNING r.ref_id, r.imsi, CASE WHEN r.state = 'deleting' THEN 'delete' ELSE 'configure' END;

    IF EXISTS (SELECT 1 FROM s6t_dirty) THEN
        RETURN QUERY SELECT 0::bigint, ''::text, 'more'::text;
    END IF;
END
$fn$;

-- The triggers that say which devices a pass must look at (s6t_dirty).

-- lg_s6t_mark_ue: a device's mobility or IMSI changed (one row).
CREATE OR REPLACE FUNCTION lg_s6t_mark_ue()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO s6t_dirty (ue_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$;

-- lg_s6t_mark_new_ues: devices added, once per statement (a bulk
-- provisioning of a million devices costs one INSERT here, not a million).
-- A new tracker needs nothing yet: no subscription or group can name it
-- before it exists, and those triggers note it when one does.
CREATE OR REPLACE FUNCTION lg_s6t_mark_new_ues()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO s6t_dirty (ue_id)
    SELECT n.id FROM new_rows n WHERE n.mobility <> 'unrestricted'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER s6t_ue_insert AFTER INSERT ON ue
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lg_s6t_mark_new_ues();
CREATE OR REPLACE TRIGGER s6t_ue_update AFTER UPDATE OF mobility, imsi ON ue
    FOR EACH ROW
    WHEN (OLD.mobility IS DISTINCT FROM NEW.mobility OR OLD.imsi IS DISTINCT FROM NEW.imsi)
    EXECUTE FUNCTION lg_s6t_mark_ue();

-- lg_s6t_mark_subscription: a subscription started, ended, expired or
-- retargeted: its device, or every member of its group.
CREATE OR REPLACE FUNCTION lg_s6t_mark_subscription()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO s6t_dirty (ue_id)
        SELECT NEW.ue_id WHERE NEW.ue_id IS NOT NULL
        UNION
        SELECT m.ue_id FROM ue_group_member m WHERE m.group_id = NEW.group_id
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO s6t_dirty (ue_id)
        SELECT OLD.ue_id WHERE OLD.ue_id IS NOT NULL
        UNION
        SELECT m.ue_id FROM ue_group_member m WHERE m.group_id = OLD.group_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER s6t_subscription_insert_delete AFTER INSERT OR DELETE ON subscription
    FOR EACH ROW EXECUTE FUNCTION lg_s6t_mark_subscription();
CREATE OR REPLACE TRIGGER s6t_subscription_update
    AFTER UPDATE OF status, expires_at, ue_id, group_id ON subscription
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.ue_id IS DISTINCT FROM NEW.ue_id OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION lg_s6t_mark_subscription();

-- lg_s6t_mark_members: devices joined (or left) groups, once per statement.
CREATE OR REPLACE FUNCTION lg_s6t_mark_members()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO s6t_dirty (ue_id) SELECT DISTINCT r.ue_id FROM changed_rows r ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER s6t_member_insert AFTER INSERT ON ue_group_member
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lg_s6t_mark_members();
CREATE OR REPLACE TRIGGER s6t_member_delete AFTER DELETE ON ue_group_member
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lg_s6t_mark_members();

-- lg_s6t_record: the HSS's answers, one per (reference, action, result
-- code; 0 when none came). An answer applies only to a row still in the
-- state its request was sent from (a configuration marked for deletion
-- while its CIR was in flight waits for its own deletion).
--   configure 2001: active. configure, anything else: failed, tried again
--   after p_retry_s doubled per try (at most 64 times).
--   delete 2001, 5514 (DIAMETER_ERROR_CONFIGURATION_EVENT_NON_EXISTANT) or
--   5001 (DIAMETER_ERROR_USER_UNKNOWN): nothing left at the HSS, the row
--   goes. delete, anything else: tried again likewise.
-- Returns the references that stopped being live (failed), which the
-- daemon's in-memory map drops.
CREATE OR REPLACE FUNCTION lg_s6t_record(p_refs bigint[], p_actions text[], p_codes int[],
                                         p_retry_s int)
RETURNS TABLE (ref_id bigint)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
    DELETE FROM scef_reference r
     USING unnest(p_refs, p_actions, p_codes) AS a(ref_id, action, code)
     WHERE r.ref_id = a.ref_id AND a.action = 'delete' AND r.state = 'deleting'
       AND a.code IN (2001, 5514, 5001);

    RETURN QUERY
    WITH u AS (
    UPDATE scef_reference r
       SET state = CASE WHEN a.action = 'configure' AND a.code = 2001 THEN 'active'
                        WHEN a.action = 'configure' THEN 'failed'
                        ELSE 'deleting' END,
           result_code = a.code,
           next_try_at = CASE WHEN a.action = 'configure' AND a.code = 2001 THEN r.next_try_at
                              ELSE now() + make_interval(secs => p_retry_s
                                                         * power(2, least(greatest(r.tries - 1, 0), 6)))
                         END,
           updated_at = now()
      FROM unnest(p_refs, p_actions, p_codes) AS a(ref_id, action, code)
     WHERE r.ref_id = a.ref_id
       AND ((a.action = 'configure' AND r.state = 'configuring')
            OR (a.action = 'delete' AND r.state = 'deleting'))
    RETURNING r.ref_id, r.state)
    SELECT u.ref_id FROM u WHERE u.state = 'failed';
END
$fn$;
