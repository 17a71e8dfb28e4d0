-- SPDX-License-Identifier: Apache-2.0
--
-- 0019_grant_exclusion: a removed device grant is final. When the operator
-- removes SCS k's grant for device U (lg_admin_grant_remove), k may no
-- longer learn about U through any subscription, also not through a group
-- it still holds a grant for: this row says so, and every place that makes
-- or delivers a report for a group member checks it (lg_grant_covers in
-- sql/outbox.sql). Granting k the device again (lg_admin_grant_add) deletes
-- the row.
CREATE TABLE scs_grant_exclusion (
    scs_id     bigint      NOT NULL REFERENCES scs ON DELETE CASCADE,
    ue_id      bigint      NOT NULL REFERENCES ue ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scs_id, ue_id)
);
CREATE INDEX scs_grant_exclusion_ue_id ON scs_grant_exclusion (ue_id);
