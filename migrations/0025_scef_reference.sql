-- SPDX-License-Identifier: Apache-2.0
--
-- 0025_scef_reference: the monitoring configurations locguard made at the
-- HSS over S6t (TS 29.336), one per device that must be reported: the
-- SCEF-Reference-ID it allocated, the device and its IMSI (kept after the
-- device is deleted: the deletion at the HSS names the user), and where the
-- configuration stands:
--   configuring  a Configuration-Information-Request is being sent (or
--                resent at next_try_at); reports naming it are accepted
--   active       the HSS answered DIAMETER_SUCCESS
--   failed       the HSS refused it (result_code); tried again at next_try_at
--   deleting     the device no longer needs reporting: a CIR with
--                SCEF-Reference-ID-for-Deletion is being sent; the row goes
--                when the HSS has answered it
-- sql/s6t.sql holds the steps (lg_s6t_plan, lg_s6t_record) and the
-- triggers that fill s6t_dirty.

-- SCEF-Reference-ID is an Unsigned32 (TS 29.336 §8.4.4); 0 is not used.
CREATE SEQUENCE scef_reference_id_seq AS bigint MINVALUE 1 MAXVALUE 4294967295 CYCLE;

CREATE TABLE scef_reference (
    ref_id      bigint      PRIMARY KEY CHECK (ref_id BETWEEN 1 AND 4294967295),
    ue_id       bigint      REFERENCES ue ON DELETE SET NULL,
    imsi        text        NOT NULL CHECK (imsi ~ '^[0-9]{5,15}$'),
    state       text        NOT NULL DEFAULT 'configuring'
                            CHECK (state IN ('configuring', 'active', 'failed', 'deleting')),
    result_code int,
    tries       int         NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One live configuration per device; a deleting one may overlap its successor.
CREATE UNIQUE INDEX scef_reference_ue_id ON scef_reference (ue_id) WHERE state <> 'deleting';
-- The rows a pass (re)sends.
CREATE INDEX scef_reference_next_try_at ON scef_reference (next_try_at) WHERE state <> 'active';
-- Configurations whose device was deleted (ue_id set NULL), found without a scan.
CREATE INDEX scef_reference_orphan ON scef_reference (ref_id)
    WHERE ue_id IS NULL AND state <> 'deleting';

-- Devices whose need for reports may have changed since the last pass (a
-- device added, its mobility or IMSI changed, a subscription naming it or
-- its group started or ended, a group membership): written by sql/s6t.sql's
-- triggers, taken by lg_s6t_plan, so a pass looks at what changed, not at
-- every device. No foreign key: a deleted device's id is harmless here.
CREATE TABLE s6t_dirty (
    ue_id bigint PRIMARY KEY
);
-- The devices that exist now are looked at by the first passes.
INSERT INTO s6t_dirty (ue_id) SELECT id FROM ue;
