/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The geometry of the in-memory count evaluator: every cell of count_cell
 * with its coverage rings and planar area, indexed on a grid of squares by
 * the centre of each cell's bounding box, and the coverage pieces of
 * count_coverage_piece. Built from WKB (the loader, countmap.c, reads
 * lg_counts_geo's binary rows) or from rings (tests), then frozen by
 * lg_countgeo_finish; reference-counted and immutable once finished.
 *
 * The evaluator (counteval.c) walks the index in its hot loop, so the
 * struct is visible: its fields are read there (and the version and sizes
 * by the loader) and written only by countgeo.c.
 */
#ifndef LOCGUARD_COUNTGEO_H
#define LOCGUARD_COUNTGEO_H

#include "locguard/core/common.h"
#include "locguard/counts/planar.h"

/* A ring of a cell or piece: points pts[first .. first + n). */
typedef struct lg_countgeo_ring {
    uint32_t first, n;
    bool is_hole;
} lg_countgeo_ring_t;

/* A cell or a coverage piece. */
typedef struct lg_countgeo_shape {
    lg_box_t box;   /* bounding box of its rings */
    double area;    /* planar area, square degrees (exteriors minus holes) */
    uint32_t ring0; /* its rings: rings[ring0 .. ring0 + n_rings) */
    uint32_t n_rings;
} lg_countgeo_shape_t;

typedef struct lg_countgeo {
    int refs;
    int64_t version; /* count_geo_version.built it was loaded from */
    lg_pt_t *pts;
    size_t n_pts, cap_pts;
    lg_countgeo_ring_t *rings;
    size_t n_rings, cap_rings;
    lg_countgeo_shape_t *cells, *pieces; /* cells in cell_key order */
    size_t n_cells, cap_cells, n_pieces, cap_pieces;
    /* The grid: square (ix, iy) covers [gx0 + ix side, +side) x [gy0 + iy side, +side). */
    double gx0, gy0, side;
    uint32_t nx, ny;
    uint32_t *sq_start; /* cells of square s: sq_cells[sq_start[s] .. sq_start[s + 1]) */
    uint32_t *sq_cells;
    lg_box_t *sq_box;    /* union of the boxes of the square's cells */
    uint32_t *cell_sq;   /* the square of each cell */
    double max_w, max_h; /* the widest and tallest cell box */
    bool is_finished;
} lg_countgeo_t;

/* A new, empty geometry of cell table version version. */
lg_countgeo_t *lg_countgeo_new(int64_t version);

/*
 * Adds the next cell (cells must come in cell_key order, as count_cell and
 * lg_counts_release_noisy order them) or, when is_piece, a coverage piece,
 * from its rings: ring i has ring_len[i] points (no closing repeat) taken in
 * turn from pts, a hole when is_hole[i].
 */
void lg_countgeo_add_rings(lg_countgeo_t *g, bool is_piece, const lg_pt_t *pts,
                           const size_t *ring_len, const bool *is_hole, size_t n_rings);

/*
 * Adds the next cell or piece from its WKB (Polygon, MultiPolygon, or a
 * GeometryCollection of those; 2D; points and lines are skipped). Returns
 * LG_ERR, adding nothing, for anything else or a truncated buffer.
 */
LG_MUST_CHECK int lg_countgeo_add_wkb(lg_countgeo_t *g, bool is_piece, const unsigned char *wkb,
                                      size_t len);

/* Builds the grid index; call once, after the last add. */
void lg_countgeo_finish(lg_countgeo_t *g);

/* The grid square holding point (x, y), clamped to the grid (finished g). */
uint32_t lg_countgeo_square_of(const lg_countgeo_t *g, double x, double y);

/* Number of cells. */
size_t lg_countgeo_cells(const lg_countgeo_t *g);

/* Takes one more reference; returns g. */
lg_countgeo_t *lg_countgeo_ref(lg_countgeo_t *g);

/* Drops one reference (the creator holds the first). Accepts NULL. */
void lg_countgeo_unref(lg_countgeo_t *g);

#endif
