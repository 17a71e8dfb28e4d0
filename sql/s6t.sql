-- SPDX-License-Identifier: Apache-2.0
--
-- Monitoring configuration at the HSS over S6t (TS 29.336), the database
-- side: which devices must be reported (lg_s6t_wanted), what a pass of the
-- daemon's S6t client sends (lg_s6t_plan: references allocated for new
-- devices, configurations no longer wanted marked for deletion, and the
-- rows due to be (re)sent), and what it records of the HSS's answers
-- (lg_s6t_record). The table is scef_reference (migrations/0025).

-- lg_s6t_wanted: the devices whose location the MMEs and SGSNs must report:
-- every checked device (mobility fixed or restricted), and a tracker
-- (unrestricted) while an active subscription names it or one of its groups.
CREATE OR REPLACE FUNCTION lg_s6t_wanted()
RETURNS TABLE (ue_id bigint, imsi text)
LANGUAGE sql STABLE
AS $fn$
    SELECT u.id, u.imsi FROM ue u WHERE u.mobility <> 'unrestricted'
    UNION
    SELECT u.id, u.imsi
      FROM subscription s JOIN ue u ON u.id = s.ue_id
     WHERE s.status = 'active' AND (s.expires_at IS NULL OR s.expires_at > now())
    UNION
    SELECT u.id, u.imsi
      FROM subscription s
      JOIN ue_group_member m ON m.group_id = s.group_id
      JOIN ue u ON u.id = m.ue_id
     WHERE s.status = 'active' AND (s.expires_at IS NULL OR s.expires_at > now())
$fn$;

-- lg_s6t_plan: one pass. Configurations whose device is gone, no longer
-- wanted or has another IMSI now are marked 'deleting'; each wanted device
-- without a live configuration gets a new SCEF-Reference-ID (at most p_max);
-- then at most p_max rows due (configuring, failed or deleting, next_try_at
-- passed) are returned to be sent: action 'configure' (a failed one goes
-- back to configuring) or 'delete'. Each returned row's next_try_at moves
-- p_hold_s ahead (the daemon passes its answer timeout and a second): a
-- request whose outcome was never recorded (the daemon stopped, the
-- database was away) is sent again.
-- Passes of several daemons are serialised by an advisory lock.
CREATE OR REPLACE FUNCTION lg_s6t_plan(p_max int, p_hold_s int)
RETURNS TABLE (ref_id bigint, imsi text, action text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lg_s6t_plan'));

    WITH w AS MATERIALIZED (SELECT * FROM lg_s6t_wanted())
    UPDATE scef_reference r
       SET state = 'deleting', tries = 0, result_code = NULL, next_try_at = now(),
           updated_at = now()
     WHERE r.state <> 'deleting'
       AND NOT EXISTS (SELECT 1 FROM w WHERE w.ue_id = r.ue_id AND w.imsi = r.imsi);

    INSERT INTO scef_reference (ref_id, ue_id, imsi)
    SELECT nextval('scef_reference_id_seq'), n.ue_id, n.imsi
      FROM (SELECT w.ue_id, w.imsi
              FROM lg_s6t_wanted() w
             WHERE NOT EXISTS (SELECT 1 FROM scef_reference r
                                WHERE r.ue_id = w.ue_id AND r.state <> 'deleting')
             ORDER BY w.ue_id
             LIMIT p_max) n
    ON CONFLICT DO NOTHING;

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
END
$fn$;

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
