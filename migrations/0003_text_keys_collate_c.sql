-- SPDX-License-Identifier: Apache-2.0
--
-- 0003_text_keys_collate_c: compare the text keys the hot path looks up
-- (IMSI, cell key, node name) bytewise. Under the database's linguistic
-- collation every B-tree comparison goes through strcoll(), which made these
-- lookups a large share of lg_ingest's time; the keys are ASCII identifiers,
-- so "C" order loses nothing. Rebuilds the affected indexes.

ALTER TABLE network_node ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE ue ALTER COLUMN imsi TYPE text COLLATE "C";
ALTER TABLE ue ALTER COLUMN msisdn TYPE text COLLATE "C";
ALTER TABLE ue ALTER COLUMN external_id TYPE text COLLATE "C";
ALTER TABLE cell ALTER COLUMN cell_key TYPE text COLLATE "C";
ALTER TABLE area_cell_verdict ALTER COLUMN cell_key TYPE text COLLATE "C";
