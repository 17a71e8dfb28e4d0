-- SPDX-License-Identifier: Apache-2.0
--
-- lg_outbox_lease across two sessions (dblink): rows another transaction
-- holds are skipped, not waited for, so two notifiers never get the same
-- row. Needs committed rows (the other session cannot see this one's
-- uncommitted work), so it commits its fixture and deletes it at the end.
-- Run by tests/tools/run-pgtap.sh (pg_prove).
CREATE EXTENSION IF NOT EXISTS dblink;
SET lock_timeout = '5s';     -- a lease that waited for a lock would fail, not hang
SELECT plan(5);

-- Three due rows of an SCS of our own.
INSERT INTO scs (scs_as_id, webhook_secret) VALUES ('lease-test', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
INSERT INTO notification_outbox (scs_id, kind, destination, payload, next_attempt_at)
SELECT k.id, 'test', 'https://lease.test/' || n, jsonb_build_object('subscription', '/x/' || n),
       now() - interval '1 minute' + n * interval '1 second'
  FROM scs k, generate_series(1, 3) n
 WHERE k.scs_as_id = 'lease-test';
CREATE TEMP TABLE t_rows AS
SELECT row_number() OVER (ORDER BY o.id) AS n, o.id
  FROM notification_outbox o JOIN scs k ON k.id = o.scs_id WHERE k.scs_as_id = 'lease-test';

-- The other session leases one row and locks the next without leasing it,
-- and keeps its transaction open.
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
                                      split_part(current_setting('unix_socket_directories'), ',', 1),
                                      current_setting('port'), current_database(), current_user));
SELECT dblink_exec('other', 'BEGIN');
SELECT is((SELECT array_agg(t.id) FROM dblink('other', $$SELECT id FROM lg_outbox_lease('other', 1, 60)$$) AS t(id bigint)),
          (SELECT array_agg(id) FROM t_rows WHERE n = 1), 'the other session leases the oldest row');
SELECT is((SELECT array_agg(t.id) FROM dblink('other', format(
               'SELECT id FROM notification_outbox WHERE id = %s FOR UPDATE', (SELECT id FROM t_rows WHERE n = 2)))
           AS t(id bigint)),
          (SELECT array_agg(id) FROM t_rows WHERE n = 2), 'the other session locks the second row');

-- This session sees all three as pending and unleased, but gets only the
-- one nobody holds, at once.
SELECT is((SELECT array_agg(l.id) FROM lg_outbox_lease('this', 10, 60) l WHERE l.id IN (SELECT id FROM t_rows)),
          (SELECT array_agg(id) FROM t_rows WHERE n = 3), 'locked rows are skipped, not waited for');

-- Once the other session commits, its lease holds and the row it only
-- locked is free.
SELECT dblink_exec('other', 'COMMIT');
SELECT is((SELECT array_agg(l.id) FROM lg_outbox_lease('this', 10, 60) l WHERE l.id IN (SELECT id FROM t_rows)),
          (SELECT array_agg(id) FROM t_rows WHERE n = 2), 'after COMMIT: only the row that was merely locked');
SELECT is((SELECT array_agg(o.lease_owner ORDER BY t.n) FROM t_rows t JOIN notification_outbox o ON o.id = t.id),
          '{other,this,this}', 'each row leased by exactly one session');

SELECT dblink_disconnect('other');
DELETE FROM scs WHERE scs_as_id = 'lease-test';
SELECT * FROM finish();
