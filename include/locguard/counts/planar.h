/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Planar geometry in lon/lat degrees for the in-memory count evaluator
 * (counteval.c): ring areas, Sutherland-Hodgman clipping against a convex
 * polygon, ear clipping of a simple polygon into triangles, a simple-polygon
 * check, and the two definitions the SQL reference
 * (sql/counts.sql) shares with C: the circle polygon (points by the spherical
 * destination formula on the 6371008.8 m sphere) and the spherical areas used
 * for the size bounds. Pure: no I/O, no allocation except in the scratch.
 *
 * Rings are arrays of points without the closing repeat of the first point.
 */
#ifndef LOCGUARD_PLANAR_H
#define LOCGUARD_PLANAR_H

#include "locguard/core/common.h"

#define LG_PLANAR_EARTH_M       6371008.8 /* mean radius of the sphere, metres */
#define LG_PLANAR_CIRCLE_POINTS 64        /* points of a circle polygon */

/* A point: x = longitude, y = latitude, degrees. */
typedef struct lg_pt {
    double x, y;
} lg_pt_t;

/* An axis-aligned box. */
typedef struct lg_box {
    double x0, y0, x1, y1;
} lg_box_t;

/*
 * A CAMARA area in degrees, as camara.c parses it and the evaluator
 * (counteval.c) takes it: a circle, or a polygon's boundary as given (no
 * closing repeat, repeats kept).
 */
typedef struct lg_planar_area {
    bool is_circle;
    double lat, lon, radius_m; /* CIRCLE */
    lg_pt_t boundary[16];      /* POLYGON: x = longitude, y = latitude */
    size_t n_boundary;
} lg_planar_area_t;

/* Growable work buffers for clipping; zero-initialise, free with lg_planar_scratch_free. */
typedef struct lg_planar_scratch {
    lg_pt_t *a, *b;
    size_t cap;
} lg_planar_scratch_t;

/* Why a CAMARA polygon is refused (NULL from lg_planar_check_simple: none). */
extern const char lg_planar_self_intersecting[];
extern const char lg_planar_degenerate[];

/* Frees the scratch's buffers (not the struct). */
void lg_planar_scratch_free(lg_planar_scratch_t *s);

/* The signed area of ring p[0..n) (counter-clockwise positive), square degrees. */
double lg_planar_ring_area(const lg_pt_t *p, size_t n);

/* The bounding box of ring p[0..n), n >= 1. */
lg_box_t lg_planar_ring_box(const lg_pt_t *p, size_t n);

/*
 * The area of ring subj[0..n) (any orientation, simple, convex or not)
 * inside the convex counter-clockwise ring clip[0..m), by Sutherland-Hodgman;
 * >= 0.
 */
double lg_planar_clip_area(const lg_pt_t *subj, size_t n, const lg_pt_t *clip, size_t m,
                           lg_planar_scratch_t *s);

/*
 * lg_planar_clip_area for a subject that lies within box: only the clip
 * edges that cut the box are applied (the others leave it whole), which is
 * what makes clipping a small cell by a 64-point circle cheap.
 */
double lg_planar_clip_area_in_box(const lg_pt_t *subj, size_t n, lg_box_t box, const lg_pt_t *clip,
                                  size_t m, lg_planar_scratch_t *s);

/*
 * lg_planar_clip_area applying only the clip edges edge[0..n_edges) (edge j
 * runs from clip[j] to clip[j + 1]): the caller knows the others leave the
 * subject whole.
 */
double lg_planar_clip_area_edges(const lg_pt_t *subj, size_t n, const lg_pt_t *clip, size_t m,
                                 const uint8_t *edge, size_t n_edges, lg_planar_scratch_t *s);

/* True when q is inside or on the convex counter-clockwise ring clip[0..m). */
bool lg_planar_in_convex(const lg_pt_t *clip, size_t m, lg_pt_t q);

/* True when box b lies inside or on the convex counter-clockwise ring clip[0..m). */
bool lg_planar_box_in_convex(const lg_pt_t *clip, size_t m, lg_box_t b);

/*
 * True when ring p[0..n) is convex, counter-clockwise and winds once (no
 * right turn; collinear points allowed).
 */
bool lg_planar_is_convex_ccw(const lg_pt_t *p, size_t n);

/* Reverses ring p[0..n) in place. */
void lg_planar_reverse(lg_pt_t *p, size_t n);

/*
 * Removes consecutive repeated points (and a last point equal to the first)
 * from p[0..*n) in place.
 */
void lg_planar_dedup(lg_pt_t *p, size_t *n);

/*
 * The simple-polygon check of a CAMARA POLYGON p[0..n) (repeats removed):
 * lg_planar_degenerate when fewer than 3 points remain,
 * lg_planar_self_intersecting when two edges cross or touch (other than
 * neighbours at their shared point) or an edge doubles back over its
 * neighbour, else NULL. Not what refuses a CAMARA polygon: counteval.c asks
 * GEOS, as lg_counts_area does; this is the hand-written baseline that
 * tests/tools/area_clip_bench.c measures GEOS against.
 */
const char *lg_planar_check_simple(const lg_pt_t *p, size_t n);

/*
 * Ear-clips the simple counter-clockwise ring p[0..n) (3 <= n <= 64) into
 * n - 2 triangles written as counter-clockwise point triples to tri
 * (room for 3 * (n - 2) points). Returns LG_ERR when no ear is found
 * (numerically degenerate input).
 */
LG_MUST_CHECK int lg_planar_triangulate(const lg_pt_t *p, size_t n, lg_pt_t *tri);

/*
 * The circle of radius_m metres around (lon, lat) as LG_PLANAR_CIRCLE_POINTS
 * points (bearing 0, 360/N, ... degrees: clockwise) by the spherical
 * destination formula on the LG_PLANAR_EARTH_M sphere; sql/counts.sql
 * lg_counts_circle computes the same points with the same operations.
 */
void lg_planar_circle(double lon, double lat, double radius_m, lg_pt_t *out);

/* The area of a spherical cap of radius r (capped at 1e8 m), m2: lg_counts_circle_area_m2. */
double lg_planar_circle_area_m2(double radius_m);

/*
 * The area on the sphere of ring p[0..n), m2, >= 0 (Chamberlain and
 * Duquette's formula): lg_counts_polygon_area_m2.
 */
double lg_planar_polygon_area_m2(const lg_pt_t *p, size_t n);

#endif
