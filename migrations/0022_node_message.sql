-- SPDX-License-Identifier: Apache-2.0
--
-- 0022_node_message: the duplicate-detection window of batches that carry
-- a message key instead of a sequence number: a Diameter request's
-- (Origin-Host, End-to-End-Identifier) (RFC 6733 §3 and Appendix C).
-- lg_ingest_claim (sql/ingest.sql) inserts one row per accepted keyed batch in the
-- transaction that stores its reports, so a retransmission is answered as
-- a duplicate and stored once, also after a daemon restart;
-- lg_ingest_finish deletes the rows older than the window
-- ([ingest] message_window_s).
CREATE TABLE node_message (
    node_id    bigint      NOT NULL REFERENCES network_node ON DELETE CASCADE,
    msg_key    text        COLLATE "C" NOT NULL CHECK (length(msg_key) BETWEEN 1 AND 300),
    n_reports  int         NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, msg_key)
);
CREATE INDEX node_message_created_at ON node_message (created_at);
