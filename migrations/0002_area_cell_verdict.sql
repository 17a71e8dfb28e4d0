-- SPDX-License-Identifier: Apache-2.0
--
-- 0002_area_cell_verdict: a cache of how each authorized area relates to the
-- coverage of the cells its devices report from. Deciding polygon-in-polygon
-- with GEOS costs ~30 us, about three times the whole budget of a report on
-- the hot path; devices report from the same few cells again and again, so
-- lg_ingest looks the verdict up here and stores it on a miss, so the common
-- case reads neither the area nor the cell row. Derived data: rows go away
-- when the area or the cell goes away or when either geometry changes.

CREATE TABLE area_cell_verdict (
    area_id  bigint NOT NULL REFERENCES area ON DELETE CASCADE,
    cell_key text   NOT NULL REFERENCES cell ON DELETE CASCADE ON UPDATE CASCADE,
    verdict  text   NOT NULL CHECK (verdict IN ('in', 'out', 'amb')),
    PRIMARY KEY (area_id, cell_key)
);
CREATE INDEX area_cell_verdict_cell_key ON area_cell_verdict (cell_key);

-- The triggers that forget an area's or a cell's verdicts when its geometry
-- changes are in sql/invalidation.sql.
