/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The count evaluator's geometry (see countgeo.h): the cells and coverage
 * pieces as rings in one point array, the WKB reader the loader
 * (countmap.c) feeds with lg_counts_geo's rows, and the grid index the
 * evaluator (counteval.c) walks. Built on the loop thread, immutable once
 * finished.
 */
#include "locguard/counts/countgeo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_SQUARES (1u << 22) /* bounds the index on sparse, wide cell sets */
#define CELLS_PER_SQUARE 8          /* what the grid side aims at */

lg_countgeo_t *lg_countgeo_new(int64_t version)
{
    lg_countgeo_t *g = lg_xcalloc(1, sizeof(*g));
    g->refs = 1;
    g->version = version;
    return g;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    *cap = c;
    return lg_xrealloc(p, c * elem);
}

/* Appends a shape whose rings were just added from ring0 on. */
static void add_shape(lg_countgeo_t *g, bool is_piece, size_t ring0)
{
    lg_countgeo_shape_t sh = {.box = {INFINITY, INFINITY, -INFINITY, -INFINITY},
                              .ring0 = (uint32_t)ring0,
                              .n_rings = (uint32_t)(g->n_rings - ring0)};
    for (size_t i = ring0; i < g->n_rings; i++) {
        const lg_countgeo_ring_t *r = &g->rings[i];
        if (r->n == 0)
            continue;
        lg_box_t b = lg_planar_ring_box(&g->pts[r->first], r->n);
        sh.box.x0 = fmin(sh.box.x0, b.x0);
        sh.box.y0 = fmin(sh.box.y0, b.y0);
        sh.box.x1 = fmax(sh.box.x1, b.x1);
        sh.box.y1 = fmax(sh.box.y1, b.y1);
        double a = fabs(lg_planar_ring_area(&g->pts[r->first], r->n));
        sh.area += r->is_hole ? -a : a;
    }
    if (is_piece) {
        g->pieces = grow(g->pieces, &g->cap_pieces, g->n_pieces + 1, sizeof(lg_countgeo_shape_t));
        g->pieces[g->n_pieces++] = sh;
    } else {
        g->cells = grow(g->cells, &g->cap_cells, g->n_cells + 1, sizeof(lg_countgeo_shape_t));
        g->cells[g->n_cells++] = sh;
    }
}

/* Appends a ring of n points (a closing repeat of the first point is dropped). */
static void add_ring(lg_countgeo_t *g, const lg_pt_t *p, size_t n, bool is_hole)
{
    if (n > 1 && p[n - 1].x == p[0].x && p[n - 1].y == p[0].y)
        n--;
    g->pts = grow(g->pts, &g->cap_pts, g->n_pts + n, sizeof(lg_pt_t));
    memcpy(&g->pts[g->n_pts], p, n * sizeof(*p));
    g->rings = grow(g->rings, &g->cap_rings, g->n_rings + 1, sizeof(lg_countgeo_ring_t));
    g->rings[g->n_rings++] = (lg_countgeo_ring_t){(uint32_t)g->n_pts, (uint32_t)n, is_hole};
    g->n_pts += n;
}

void lg_countgeo_add_rings(lg_countgeo_t *g, bool is_piece, const lg_pt_t *pts,
                           const size_t *ring_len, const bool *is_hole, size_t n_rings)
{
    size_t ring0 = g->n_rings;
    for (size_t i = 0; i < n_rings; i++) {
        add_ring(g, pts, ring_len[i], is_hole[i]);
        pts += ring_len[i];
    }
    add_shape(g, is_piece, ring0);
}

/* A cursor over a WKB buffer. */
typedef struct wkb {
    const unsigned char *p, *end;
    bool is_le;
} wkb_t;

static bool read_u32(wkb_t *w, uint32_t *out)
{
    if (w->end - w->p < 4)
        return false;
    const unsigned char *b = w->p;
    *out = w->is_le
               ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
               : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    w->p += 4;
    return true;
}

static bool read_f64(wkb_t *w, double *out)
{
    if (w->end - w->p < 8)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)w->p[w->is_le ? i : 7 - i] << (8 * i);
    memcpy(out, &v, sizeof(*out));
    w->p += 8;
    return isfinite(*out);
}

/* Skips n points of 16 bytes. */
static bool skip_points(wkb_t *w, uint32_t n)
{
    if ((size_t)(w->end - w->p) / 16 < n)
        return false;
    w->p += (size_t)n * 16;
    return true;
}

/*
 * Reads one geometry, its rings appended to g: polygons and multipolygons;
 * points and lines (which a collection may hold, and which have no area)
 * are skipped. depth bounds nested collections.
 */
static bool read_geometry(lg_countgeo_t *g, wkb_t *w, int depth)
{
    uint32_t type, n;
    if (w->p >= w->end || depth > 3)
        return false;
    w->is_le = *w->p++ == 1;
    if (!read_u32(w, &type))
        return false;
    if (type == 1) /* Point: no count */
        return skip_points(w, 1);
    if (!read_u32(w, &n))
        return false;
    switch (type) {
    case 2: /* LineString */
        return skip_points(w, n);
    case 3: /* Polygon */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t n_pts;
            if (!read_u32(w, &n_pts) || (size_t)(w->end - w->p) / 16 < n_pts)
                return false;
            lg_pt_t *pts = lg_xmalloc((n_pts ? n_pts : 1) * sizeof(*pts));
            for (uint32_t k = 0; k < n_pts; k++)
                if (!read_f64(w, &pts[k].x) || !read_f64(w, &pts[k].y)) {
                    free(pts);
                    return false;
                }
            add_ring(g, pts, n_pts, i > 0);
            free(pts);
        }
        return true;
    case 4: /* MultiPoint */
    case 5: /* MultiLineString */
    case 6: /* MultiPolygon */
    case 7: /* GeometryCollection */
        for (uint32_t i = 0; i < n; i++)
            if (!read_geometry(g, w, depth + 1))
                return false;
        return true;
    default:
        return false; /* 3D, measured or curved: not ours */
    }
}

int lg_countgeo_add_wkb(lg_countgeo_t *g, bool is_piece, const unsigned char *wkb, size_t len)
{
    wkb_t w = {wkb, wkb + len, true};
    size_t ring0 = g->n_rings, pts0 = g->n_pts;
    if (!read_geometry(g, &w, 0) || w.p != w.end) {
        g->n_rings = ring0;
        g->n_pts = pts0;
        return LG_ERR;
    }
    add_shape(g, is_piece, ring0);
    return LG_OK;
}

uint32_t lg_countgeo_square_of(const lg_countgeo_t *g, double x, double y)
{
    double fx = floor((x - g->gx0) / g->side), fy = floor((y - g->gy0) / g->side);
    uint32_t ix = fx < 0 ? 0 : fx >= g->nx ? g->nx - 1 : (uint32_t)fx;
    uint32_t iy = fy < 0 ? 0 : fy >= g->ny ? g->ny - 1 : (uint32_t)fy;
    return iy * g->nx + ix;
}

void lg_countgeo_finish(lg_countgeo_t *g)
{
    lg_box_t all = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < g->n_cells; i++) {
        const lg_box_t *b = &g->cells[i].box;
        if (!(b->x0 <= b->x1))
            continue; /* no points */
        all.x0 = fmin(all.x0, b->x0);
        all.y0 = fmin(all.y0, b->y0);
        all.x1 = fmax(all.x1, b->x1);
        all.y1 = fmax(all.y1, b->y1);
        g->max_w = fmax(g->max_w, b->x1 - b->x0);
        g->max_h = fmax(g->max_h, b->y1 - b->y0);
    }
    if (!(all.x0 <= all.x1))
        all = (lg_box_t){0, 0, 1, 1};
    double w = fmax(all.x1 - all.x0, 1e-9), h = fmax(all.y1 - all.y0, 1e-9);
    double side = sqrt(w * h * CELLS_PER_SQUARE / (double)(g->n_cells ? g->n_cells : 1));
    while ((ceil(w / side) + 1) * (ceil(h / side) + 1) > GRID_MAX_SQUARES)
        side *= 2;
    g->side = side;
    g->gx0 = all.x0;
    g->gy0 = all.y0;
    g->nx = (uint32_t)ceil(w / side) + 1;
    g->ny = (uint32_t)ceil(h / side) + 1;
    size_t n_sq = (size_t)g->nx * g->ny;
    g->sq_start = lg_xcalloc(n_sq + 1, sizeof(uint32_t));
    g->sq_cells = lg_xmalloc((g->n_cells ? g->n_cells : 1) * sizeof(uint32_t));
    g->cell_sq = lg_xmalloc((g->n_cells ? g->n_cells : 1) * sizeof(uint32_t));
    g->sq_box = lg_xmalloc(n_sq * sizeof(lg_box_t));
    for (size_t s = 0; s < n_sq; s++)
        g->sq_box[s] = (lg_box_t){INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < g->n_cells; i++) {
        const lg_box_t *b = &g->cells[i].box;
        uint32_t s =
            b->x0 <= b->x1 ? lg_countgeo_square_of(g, (b->x0 + b->x1) / 2, (b->y0 + b->y1) / 2) : 0;
        g->cell_sq[i] = s;
        g->sq_start[s + 1]++;
        if (b->x0 <= b->x1) {
            lg_box_t *u = &g->sq_box[s];
            u->x0 = fmin(u->x0, b->x0);
            u->y0 = fmin(u->y0, b->y0);
            u->x1 = fmax(u->x1, b->x1);
            u->y1 = fmax(u->y1, b->y1);
        }
    }
    for (size_t s = 0; s < n_sq; s++)
        g->sq_start[s + 1] += g->sq_start[s];
    uint32_t *fill = lg_xmalloc(n_sq * sizeof(uint32_t));
    memcpy(fill, g->sq_start, n_sq * sizeof(uint32_t));
    for (size_t i = 0; i < g->n_cells; i++)
        g->sq_cells[fill[g->cell_sq[i]]++] = (uint32_t)i;
    free(fill);
    g->is_finished = true;
}

size_t lg_countgeo_cells(const lg_countgeo_t *g)
{
    return g->n_cells;
}

lg_countgeo_t *lg_countgeo_ref(lg_countgeo_t *g)
{
    g->refs++;
    return g;
}

void lg_countgeo_unref(lg_countgeo_t *g)
{
    if (g == NULL || --g->refs > 0)
        return;
    free(g->pts);
    free(g->rings);
    free(g->cells);
    free(g->pieces);
    free(g->sq_start);
    free(g->sq_cells);
    free(g->sq_box);
    free(g->cell_sq);
    free(g);
}
