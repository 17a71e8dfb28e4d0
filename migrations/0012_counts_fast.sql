-- SPDX-License-Identifier: Apache-2.0
--
-- 0012_counts_fast: what lg_counts_query (sql/counts.sql) derives from the
-- cell table, kept so a query does not redo it. All of it is derived from
-- cell and count_release_cell; lg_counts_refresh rebuilds it lazily (at the
-- first count query after the cell table changed, or from the bench / an
-- operator) and nothing else writes it.
--
--   count_cell            each cell's coverage, geodesic area and level-0
--                         tile (the tile of its bounding box's centre)
--   count_tile            a quadtree over the cells: level L tile (ix, iy)
--                         holds the cells whose bbox centre falls in the
--                         grid square of side 2^L / 16 degrees at (ix, iy);
--                         box is the extent of those cells' coverages, so a
--                         query covering the box covers every cell in it
--   count_release_tile    per release and tile, the sum of the noisy counts
--                         of its cells (filled lazily per release)
--   count_coverage_piece  the union of all coverage, cut on a 1/4 degree
--                         grid and subdivided: the covered share of an area
--                         is a sum over small pieces, not a union per query
--
-- count_geo_version.version is bumped by a statement trigger on cell;
-- built is the version the derived tables were built from.

CREATE TABLE count_geo_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint  NOT NULL,
    built   bigint  NOT NULL
);
INSERT INTO count_geo_version (version, built) VALUES (1, 0);

-- The triggers that raise version are in sql/invalidation.sql.

CREATE TABLE count_cell (
    cell_key text     COLLATE "C" PRIMARY KEY,
    coverage geometry NOT NULL,
    area_m2  float8   NOT NULL,
    ix       int      NOT NULL,
    iy       int      NOT NULL
);
CREATE INDEX count_cell_tile ON count_cell (ix, iy);

CREATE TABLE count_tile (
    level int      NOT NULL,
    ix    int      NOT NULL,
    iy    int      NOT NULL,
    box   geometry NOT NULL,
    PRIMARY KEY (level, ix, iy)
);

CREATE TABLE count_release_tile (
    release_id bigint  NOT NULL REFERENCES count_release ON DELETE CASCADE,
    level      int     NOT NULL,
    ix         int     NOT NULL,
    iy         int     NOT NULL,
    total      numeric NOT NULL,
    PRIMARY KEY (release_id, level, ix, iy)
);
-- The releases whose tiles are in count_release_tile (for the built version).
CREATE TABLE count_release_tiled (
    release_id bigint PRIMARY KEY REFERENCES count_release ON DELETE CASCADE
);

CREATE TABLE count_coverage_piece (
    id       bigserial PRIMARY KEY,
    geom     geometry  NOT NULL,
    area_deg float8    NOT NULL,   -- planar area, square degrees
    area_m2  float8    NOT NULL    -- geodesic area
);
CREATE INDEX count_coverage_piece_gist ON count_coverage_piece USING gist (geom);
