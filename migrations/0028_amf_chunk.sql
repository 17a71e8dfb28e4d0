-- SPDX-License-Identifier: Apache-2.0
--
-- 0028_amf_chunk: the devices of an AMF's subscriptions split into chunks
-- of at most [amf] supis_per_subscription SUPIs, one subscription per chunk
-- at every AMF (service/south/amfsub.c, sql/amfsub.sql). A device keeps its
-- chunk while it is provisioned, so provisioning one device changes one
-- chunk's list. amf_chunk holds each chunk's version (from
-- amf_chunk_version, raised whenever its members change) and its size;
-- amf_chunk_member which chunk a SUPI (ue.imsi) is in. amf_subscription
-- gets one row per (AMF, chunk), each with its own correlation token; the
-- row of an AMF's single subscription becomes its chunk 0, its version
-- reset so that the first poll patches it down to chunk 0's list.
CREATE SEQUENCE amf_chunk_version;

CREATE TABLE amf_chunk (
    chunk     int    PRIMARY KEY CHECK (chunk >= 0),
    version   bigint NOT NULL,
    n_devices int    NOT NULL CHECK (n_devices > 0)
);

CREATE TABLE amf_chunk_member (
    imsi  text COLLATE "C" PRIMARY KEY,
    chunk int  NOT NULL CHECK (chunk >= 0)
);
CREATE INDEX amf_chunk_member_chunk ON amf_chunk_member (chunk, imsi);

ALTER TABLE amf_subscription DROP CONSTRAINT amf_subscription_pkey;
ALTER TABLE amf_subscription ADD COLUMN chunk int NOT NULL DEFAULT 0 CHECK (chunk >= 0);
ALTER TABLE amf_subscription ADD PRIMARY KEY (node, chunk);
ALTER TABLE amf_subscription ADD UNIQUE (node, token);
UPDATE amf_subscription SET devices_version = 0;
