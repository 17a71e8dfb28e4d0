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

-- Forget the cached verdicts of an area whose geometry changed.
CREATE FUNCTION lg_area_geom_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM area_cell_verdict WHERE area_id = NEW.id;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER area_geom_changed
    AFTER UPDATE OF geom ON area
    FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom)
    EXECUTE FUNCTION lg_area_geom_changed();

-- Forget the cached verdicts of a cell whose coverage changed.
CREATE FUNCTION lg_cell_coverage_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM area_cell_verdict WHERE cell_key = NEW.cell_key;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER cell_coverage_changed
    AFTER UPDATE OF coverage ON cell
    FOR EACH ROW WHEN (OLD.coverage IS DISTINCT FROM NEW.coverage)
    EXECUTE FUNCTION lg_cell_coverage_changed();
