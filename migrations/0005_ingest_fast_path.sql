-- SPDX-License-Identifier: Apache-2.0
--
-- 0005_ingest_fast_path: let lg_ingest decide the common report with one
-- index probe. A device reports from the same cell again and again; the
-- decision for (device, cell) depends only on reference data (the device's
-- mobility and ambiguous policy, its authorized areas, the areas' and the
-- cell's geometry, whether the cell exists). So ue_location keeps, beside
-- the latest location:
--
--   imsi           the device's IMSI when the cached decision was made, so
--                  a report finds the device's row by its SUPI without
--                  reading ue (not unique: a row whose stamp is stale may
--                  keep an IMSI since given to another device; at most one
--                  row per IMSI carries the current epoch);
--   dec_cell       the cell a cached decision was made for (NULL: none);
--   dec_epoch      the reference epoch (lg_ref_epoch) it was made at;
--   dec_effective  its effective value for the hysteresis ('inside',
--                  'outside' or NULL), the ambiguous policy applied.
--
-- The decision itself is ue_location.decision. A cached decision is used only
-- when the report has no position, its cell is dec_cell and dec_epoch is the
-- current epoch. Every change of the reference data a decision depends on
-- (ue.imsi / mobility / ambiguous_policy, ue_area, area.geom, cell) raises the epoch
-- in the same transaction, so every cached decision is forgotten at once
-- and recomputed by the full path on the device's next report. Nothing but
-- the cache columns is indexed anew: the per-report update stays HOT.

CREATE TABLE lg_ref_epoch (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint  NOT NULL
);
INSERT INTO lg_ref_epoch (one, epoch) VALUES (true, 1);

ALTER TABLE ue_location
    ADD COLUMN imsi          text COLLATE "C",
    ADD COLUMN dec_cell      text COLLATE "C",
    ADD COLUMN dec_epoch     bigint,
    ADD COLUMN dec_effective text CHECK (dec_effective IN ('inside', 'outside'));

UPDATE ue_location l SET imsi = u.imsi FROM ue u WHERE u.id = l.ue_id;
CREATE INDEX ue_location_imsi ON ue_location (imsi);

-- The triggers that raise the epoch are in sql/invalidation.sql.

-- Fill the cache for the rows already there, from the cached area/cell
-- verdicts only (no GEOS work here): the decision the full path would make
-- now for each device's latest cell, when it is the decision stored. A row
-- whose verdicts are not all cached, whose latest report had a position, or
-- whose stored decision is no longer the one the full path would make, is
-- left for the full path.
WITH dev AS (
    SELECT l.ue_id, l.cell_key, u.mobility, u.ambiguous_policy,
           EXISTS (SELECT 1 FROM cell c WHERE c.cell_key = l.cell_key) AS has_cell,
           (SELECT count(*) FROM ue_area ua WHERE ua.ue_id = l.ue_id) AS n_areas,
           v.n_verdicts, v.is_any_in, v.is_all_out
      FROM ue_location l
      JOIN ue u ON u.id = l.ue_id
      LEFT JOIN LATERAL (
          SELECT count(*) AS n_verdicts,
                 bool_or(acv.verdict = 'in') AS is_any_in,
                 bool_and(acv.verdict = 'out') AS is_all_out
            FROM ue_area ua
            JOIN area_cell_verdict acv
              ON acv.area_id = ua.area_id AND acv.cell_key = l.cell_key
           WHERE ua.ue_id = l.ue_id
      ) v ON true
     WHERE l.position IS NULL AND l.cell_key IS NOT NULL
),
dec AS (
    SELECT d.ue_id, d.cell_key,
           CASE
               WHEN d.mobility = 'unrestricted' OR d.n_areas = 0 THEN
                   CASE WHEN d.has_cell THEN 'unchecked' ELSE 'unknown_cell' END
               WHEN d.is_any_in THEN 'inside'
               WHEN d.is_all_out THEN 'outside'
               ELSE 'ambiguous'
           END AS decision,
           d.ambiguous_policy
      FROM dev d
     WHERE d.mobility = 'unrestricted' OR d.n_areas = 0 OR d.n_verdicts = d.n_areas
)
UPDATE ue_location l
   SET dec_cell = dec.cell_key,
       dec_epoch = (SELECT epoch FROM lg_ref_epoch),
       dec_effective = CASE dec.decision
                           WHEN 'inside' THEN 'inside'
                           WHEN 'outside' THEN 'outside'
                           WHEN 'ambiguous' THEN dec.ambiguous_policy
                       END
  FROM dec
 WHERE l.ue_id = dec.ue_id AND l.decision = dec.decision;
