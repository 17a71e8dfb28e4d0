/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory count evaluator (see countmap.h). It sits between the
 * exposure zone (exposure.c, which asks it first) and the database (which it
 * mirrors: sql/counts.sql lg_counts_query is the reference and the
 * fallback). Geometry, releases and snapshots are reference-counted and
 * immutable once made; everything runs on the loop thread, so a query sees
 * one snapshot from start to end and a new one is swapped in by assigning a
 * pointer.
 *
 * A query: the area's polygon is split into convex clip polygons (the circle
 * polygon itself, a convex POLYGON, or the triangles of a non-convex one).
 * The grid squares whose cells' union box lies inside a clip polygon add
 * their per-release sums whole; the cells of the squares on the edge are
 * tested one by one: inside (share 10^9), or clipped by Sutherland-Hodgman
 * (exterior rings minus holes) for their share in billionths. The coverage
 * pieces give the covered share the same way.
 */
#include "locguard/counts/countmap.h"

#include "locguard/counts/camara.h"
#include "locguard/core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_SQUARES (1u << 22) /* bounds the index on sparse, wide cell sets */
#define CELLS_PER_SQUARE 8          /* what the grid side aims at */

/* A ring of a cell or piece: points pts[first .. first + n). */
typedef struct ring {
    uint32_t first, n;
    bool is_hole;
} ring_t;

/* A cell or a coverage piece. */
typedef struct shape {
    lg_box_t box;   /* bounding box of its rings */
    double area;    /* planar area, square degrees (exteriors minus holes) */
    uint32_t ring0; /* its rings: rings[ring0 .. ring0 + n_rings) */
    uint32_t n_rings;
} shape_t;

struct lg_countgeo {
    int refs;
    int64_t version; /* count_geo_version.built it was loaded from */
    lg_pt_t *pts;
    size_t n_pts, cap_pts;
    ring_t *rings;
    size_t n_rings, cap_rings;
    shape_t *cells, *pieces;
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
};

struct lg_countrel {
    int refs;
    lg_countgeo_t *geo;
    int64_t id, start_us, end_us;
    int64_t *noisy;  /* per cell */
    int64_t *sq_sum; /* per grid square: the sum of its cells' noisy counts */
};

struct lg_countsnap {
    int refs;
    lg_countgeo_t *geo;
    lg_countrel_t **rels; /* ascending id */
    size_t n_rels;
    int64_t horizon_us;
};

/* ------------------------------------------------------------------ geometry */

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
    shape_t sh = {.box = {INFINITY, INFINITY, -INFINITY, -INFINITY},
                  .ring0 = (uint32_t)ring0,
                  .n_rings = (uint32_t)(g->n_rings - ring0)};
    for (size_t i = ring0; i < g->n_rings; i++) {
        const ring_t *r = &g->rings[i];
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
        g->pieces = grow(g->pieces, &g->cap_pieces, g->n_pieces + 1, sizeof(shape_t));
        g->pieces[g->n_pieces++] = sh;
    } else {
        g->cells = grow(g->cells, &g->cap_cells, g->n_cells + 1, sizeof(shape_t));
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
    g->rings = grow(g->rings, &g->cap_rings, g->n_rings + 1, sizeof(ring_t));
    g->rings[g->n_rings++] = (ring_t){(uint32_t)g->n_pts, (uint32_t)n, is_hole};
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

static uint32_t square_of(const lg_countgeo_t *g, double x, double y)
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
        uint32_t s = b->x0 <= b->x1 ? square_of(g, (b->x0 + b->x1) / 2, (b->y0 + b->y1) / 2) : 0;
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

/* ------------------------------------------------------------------ releases */

lg_countrel_t *lg_countrel_new(lg_countgeo_t *g, int64_t id, int64_t start_us, int64_t end_us,
                               int64_t *noisy, size_t n)
{
    if (!g->is_finished || n != g->n_cells) {
        free(noisy);
        return NULL;
    }
    lg_countrel_t *r = lg_xcalloc(1, sizeof(*r));
    r->refs = 1;
    r->geo = g;
    g->refs++;
    r->id = id;
    r->start_us = start_us;
    r->end_us = end_us;
    r->noisy = noisy;
    r->sq_sum = lg_xcalloc((size_t)g->nx * g->ny, sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        r->sq_sum[g->cell_sq[i]] += noisy[i];
    return r;
}

void lg_countrel_unref(lg_countrel_t *r)
{
    if (r == NULL || --r->refs > 0)
        return;
    lg_countgeo_unref(r->geo);
    free(r->noisy);
    free(r->sq_sum);
    free(r);
}

/* ------------------------------------------------------------------ snapshots */

static int by_id(const void *a, const void *b)
{
    const lg_countrel_t *x = *(lg_countrel_t *const *)a, *y = *(lg_countrel_t *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

lg_countsnap_t *lg_countsnap_new(lg_countgeo_t *g, lg_countrel_t *const *rels, size_t n,
                                 int64_t horizon_us)
{
    lg_countsnap_t *s = lg_xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->geo = g;
    g->refs++;
    s->rels = lg_xmalloc((n ? n : 1) * sizeof(*s->rels));
    for (size_t i = 0; i < n; i++) {
        s->rels[i] = rels[i];
        rels[i]->refs++;
    }
    s->n_rels = n;
    qsort(s->rels, n, sizeof(*s->rels), by_id);
    s->horizon_us = horizon_us;
    return s;
}

void lg_countsnap_unref(lg_countsnap_t *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    for (size_t i = 0; i < s->n_rels; i++)
        lg_countrel_unref(s->rels[i]);
    free(s->rels);
    lg_countgeo_unref(s->geo);
    free(s);
}

/* ------------------------------------------------------------------ queries */

int lg_count_area_from_json(const json_t *area, lg_count_area_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *type = json_string_value(json_object_get(area, "areaType"));
    if (type == NULL)
        return LG_ERR;
    if (strcmp(type, "CIRCLE") == 0) {
        const json_t *c = json_object_get(area, "center");
        const json_t *lat = json_object_get(c, "latitude"), *lon = json_object_get(c, "longitude");
        const json_t *r = json_object_get(area, "radius");
        if (!json_is_number(lat) || !json_is_number(lon) || !json_is_number(r))
            return LG_ERR;
        out->is_circle = true;
        out->lat = json_number_value(lat);
        out->lon = json_number_value(lon);
        out->radius_m = json_number_value(r);
        return LG_OK;
    }
    if (strcmp(type, "POLYGON") != 0)
        return LG_ERR;
    const json_t *b = json_object_get(area, "boundary");
    size_t n = json_array_size(b);
    if (n < 3 || n > LG_ARRAY_SIZE(out->boundary))
        return LG_ERR;
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_array_get(b, i);
        const json_t *lat = json_object_get(p, "latitude"), *lon = json_object_get(p, "longitude");
        if (!json_is_number(lat) || !json_is_number(lon))
            return LG_ERR;
        out->boundary[i] = (lg_pt_t){json_number_value(lon), json_number_value(lat)};
    }
    out->n_boundary = n;
    return LG_OK;
}

/* The area split into convex counter-clockwise clip polygons. */
typedef struct clipset {
    lg_pt_t pts[3 * 64];
    struct {
        const lg_pt_t *p;
        size_t m;
        lg_box_t box;
    } c[64];
    size_t n;
    lg_box_t box;   /* of the whole area */
    bool has_inner; /* inner: a box inside the (single) clip polygon */
    lg_box_t inner;
    double area_deg; /* planar area of the area */
    /*
     * A single convex clip polygon as its two y-monotone chains, bottom to
     * top: at height y it spans [left(y), right(y)]. Decides whether a box
     * is inside or apart in O(log m) instead of testing every edge.
     */
    bool is_convex;
    size_t bottom; /* index of the chains' first point in the polygon */
    lg_pt_t left[65], right[65];
    size_t n_left, n_right;
    lg_pt_t leftmost, rightmost;
} clipset_t;

/* The first segment k of chain c[0..n) with c[k + 1].y >= y (y within the chain's range). */
static size_t first_seg(const lg_pt_t *c, size_t n, double y)
{
    size_t lo = 0, hi = n - 2;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c[mid + 1].y >= y)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The last segment k of chain c[0..n) with c[k].y <= y. */
static size_t last_seg(const lg_pt_t *c, size_t n, double y)
{
    size_t lo = 0, hi = n - 2;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (c[mid].y <= y)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* The x of segment k of chain c at height y; a flat segment gives its outer end. */
static double seg_x(const lg_pt_t *c, size_t k, double y, bool is_right)
{
    lg_pt_t a = c[k], b = c[k + 1];
    if (b.y == a.y)
        return is_right ? fmax(a.x, b.x) : fmin(a.x, b.x);
    double t = (y - a.y) / (b.y - a.y);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return a.x + t * (b.x - a.x);
}

/* Splits the convex counter-clockwise ring p[0..m) into its chains. */
static void make_chains(clipset_t *cs, const lg_pt_t *p, size_t m)
{
    size_t bottom = 0, top = 0;
    for (size_t i = 1; i < m; i++) {
        if (p[i].y < p[bottom].y || (p[i].y == p[bottom].y && p[i].x > p[bottom].x))
            bottom = i;
        if (p[i].y > p[top].y || (p[i].y == p[top].y && p[i].x < p[top].x))
            top = i;
    }
    cs->bottom = bottom;
    /* Counter-clockwise from the bottom up the right side to the top. */
    cs->n_right = 0;
    for (size_t i = bottom;; i = (i + 1) % m) {
        cs->right[cs->n_right++] = p[i];
        if (i == top)
            break;
    }
    /* Clockwise from the bottom up the left side to the top. */
    cs->n_left = 0;
    for (size_t i = bottom;; i = (i + m - 1) % m) {
        cs->left[cs->n_left++] = p[i];
        if (i == top)
            break;
    }
    cs->leftmost = cs->rightmost = p[0];
    for (size_t i = 1; i < m; i++) {
        if (p[i].x < cs->leftmost.x)
            cs->leftmost = p[i];
        if (p[i].x > cs->rightmost.x)
            cs->rightmost = p[i];
    }
    cs->is_convex = cs->n_left >= 2 && cs->n_right >= 2 && m <= 64;
}

/* Relative slack of the chain tests: a box that close to the edge is clipped instead. */
#define CHAIN_SLACK 1e-9

typedef enum box_class { BOX_APART, BOX_INSIDE, BOX_EDGE } box_class_t;

static bool overlaps(lg_box_t a, lg_box_t b)
{
    return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

static bool contains(lg_box_t outer, lg_box_t b)
{
    return outer.x0 <= b.x0 && b.x1 <= outer.x1 && outer.y0 <= b.y0 && b.y1 <= outer.y1;
}

/*
 * Where box b lies against the area. For BOX_EDGE with a single convex clip
 * polygon, edge[0..*n_edge) gets the polygon edges that can cut the box:
 * those of its two chains at the box's heights (the others' lines pass
 * outside the box or outside the polygon there) whose inner half-plane
 * misses a corner of the box. *n_edge is SIZE_MAX when every clip polygon
 * is to be applied whole (the triangles of a non-convex area).
 */
static box_class_t classify(const clipset_t *cs, lg_box_t b, uint8_t *edge, size_t *n_edge)
{
    *n_edge = SIZE_MAX;
    if (!overlaps(cs->box, b))
        return BOX_APART;
    if (cs->has_inner && contains(cs->inner, b))
        return BOX_INSIDE;
    if (!cs->is_convex) {
        for (size_t i = 0; i < cs->n; i++)
            if (contains(cs->c[i].box, b) && lg_planar_box_in_convex(cs->c[i].p, cs->c[i].m, b))
                return BOX_INSIDE;
        return BOX_EDGE;
    }
    const double ymin = cs->right[0].y, ymax = cs->right[cs->n_right - 1].y;
    const double slack = CHAIN_SLACK * (cs->box.x1 - cs->box.x0 + cs->box.y1 - cs->box.y0);
    if (b.y1 < ymin - slack || b.y0 > ymax + slack)
        return BOX_APART;
    double y0 = fmax(b.y0, ymin), y1 = fmin(b.y1, ymax);
    size_t l0 = first_seg(cs->left, cs->n_left, y0), l1 = last_seg(cs->left, cs->n_left, y1);
    size_t r0 = first_seg(cs->right, cs->n_right, y0), r1 = last_seg(cs->right, cs->n_right, y1);
    double xl0 = seg_x(cs->left, l0, y0, false), xl1 = seg_x(cs->left, l1, y1, false);
    double xr0 = seg_x(cs->right, r0, y0, true), xr1 = seg_x(cs->right, r1, y1, true);
    if (b.y0 >= ymin + slack && b.y1 <= ymax - slack && b.x0 >= fmax(xl0, xl1) + slack &&
        b.x1 <= fmin(xr0, xr1) - slack)
        return BOX_INSIDE;
    /* left() is convex and right() concave: their extremes on [y0, y1]. */
    double lmin = fmin(xl0, xl1), rmax = fmax(xr0, xr1);
    if (cs->leftmost.y >= y0 && cs->leftmost.y <= y1)
        lmin = fmin(lmin, cs->leftmost.x);
    if (cs->rightmost.y >= y0 && cs->rightmost.y <= y1)
        rmax = fmax(rmax, cs->rightmost.x);
    if (b.x1 < lmin - slack || b.x0 > rmax + slack)
        return BOX_APART;

    const lg_pt_t *p = cs->c[0].p;
    const size_t m = cs->c[0].m;
    size_t n = 0;
    for (int side = 0; side < 2; side++) {
        size_t k0 = side ? r0 : l0, k1 = side ? r1 : l1;
        /* Widened by one: a vertex exactly at y0 or y1 belongs to two segments. */
        k0 = k0 > 0 ? k0 - 1 : 0;
        k1 = k1 + 2 < (side ? cs->n_right : cs->n_left) ? k1 + 1 : k1;
        for (size_t k = k0; k <= k1; k++) {
            /* Chain segment k as the polygon's edge j (from p[j] to p[j + 1]). */
            size_t j = side ? (cs->bottom + k) % m : (cs->bottom + m - k - 1) % m;
            lg_pt_t a = p[j], c = p[(j + 1) % m];
            double dx = c.x - a.x, dy = c.y - a.y;
            lg_pt_t worst = {dy > 0 ? b.x1 : b.x0, dx > 0 ? b.y0 : b.y1};
            if (dx * (worst.y - a.y) - dy * (worst.x - a.x) < 0 && n < 128)
                edge[n++] = (uint8_t)j;
        }
    }
    *n_edge = n;
    return BOX_EDGE;
}

/*
 * classify for a box b within a box that classify found cut by the convex
 * clip polygon's edges outer[0..n_outer) only: b is inside unless one of
 * those edges cuts it too, apart when wholly outside one of them (else a
 * box apart near a vertex is clipped to nothing).
 */
static box_class_t classify_within(const clipset_t *cs, lg_box_t b, const uint8_t *outer,
                                   size_t n_outer, uint8_t *edge, size_t *n_edge)
{
    if (!overlaps(cs->box, b))
        return BOX_APART;
    const lg_pt_t *p = cs->c[0].p;
    const size_t m = cs->c[0].m;
    size_t n = 0;
    for (size_t i = 0; i < n_outer; i++) {
        size_t j = outer[i];
        lg_pt_t a = p[j], c = p[(j + 1) % m];
        double dx = c.x - a.x, dy = c.y - a.y;
        double worst = dx * ((dx > 0 ? b.y0 : b.y1) - a.y) - dy * ((dy > 0 ? b.x1 : b.x0) - a.x);
        if (worst >= 0)
            continue;
        double best = dx * ((dx > 0 ? b.y1 : b.y0) - a.y) - dy * ((dy > 0 ? b.x0 : b.x1) - a.x);
        if (best < 0)
            return BOX_APART;
        edge[n++] = (uint8_t)j;
    }
    *n_edge = n;
    return n == 0 ? BOX_INSIDE : BOX_EDGE;
}

/* The planar area of shape sh inside the area; edge/n_edge from classify. */
static double shape_inside(const lg_countgeo_t *g, const shape_t *sh, const clipset_t *cs,
                           const uint8_t *edge, size_t n_edge, lg_planar_scratch_t *scratch)
{
    double sum = 0;
    for (size_t i = 0; i < cs->n; i++) {
        if (!overlaps(cs->c[i].box, sh->box))
            continue;
        for (uint32_t k = 0; k < sh->n_rings; k++) {
            const ring_t *r = &g->rings[sh->ring0 + k];
            const lg_pt_t *pts = &g->pts[r->first];
            double a = n_edge == SIZE_MAX
                           ? lg_planar_clip_area_in_box(pts, r->n, sh->box, cs->c[i].p, cs->c[i].m,
                                                        scratch)
                           : lg_planar_clip_area_edges(pts, r->n, cs->c[i].p, cs->c[i].m, edge,
                                                       n_edge, scratch);
            sum += r->is_hole ? -a : a;
        }
    }
    return sum;
}

/* A single convex clip polygon: find a box inside it, for the cheap whole test. */
static void find_inner(clipset_t *cs)
{
    static const double scales[] = {0.7, 0.5, 0.3};
    double cx = (cs->box.x0 + cs->box.x1) / 2, cy = (cs->box.y0 + cs->box.y1) / 2;
    double hw = (cs->box.x1 - cs->box.x0) / 2, hh = (cs->box.y1 - cs->box.y0) / 2;
    for (size_t i = 0; i < LG_ARRAY_SIZE(scales); i++) {
        lg_box_t b = {cx - hw * scales[i], cy - hh * scales[i], cx + hw * scales[i],
                      cy + hh * scales[i]};
        if (lg_planar_box_in_convex(cs->c[0].p, cs->c[0].m, b)) {
            cs->inner = b;
            cs->has_inner = true;
            return;
        }
    }
}

/* PostgreSQL's float8 text for a size bound (what format('%s', float8) prints). */
static void format_pg_float(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

LG_PRINTF(3, 4)
static void refuse(lg_count_answer_t *out, const char *code, const char *fmt, ...)
{
    va_list ap;
    out->outcome = LG_COUNT_REFUSED;
    out->code = code;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

/*
 * Checks the area as lg_counts_area does and splits it into cs. Returns
 * false with out set (REFUSED or FALLBACK) when it cannot be answered.
 */
static bool build_area(const lg_count_area_t *area, const lg_count_params_t *p, clipset_t *cs,
                       lg_count_answer_t *out)
{
    char bound[40];
    lg_pt_t ring[LG_PLANAR_CIRCLE_POINTS];
    size_t n;
    cs->n = 0;
    cs->has_inner = false;
    cs->is_convex = false;
    if (area->is_circle) {
        if (!(area->radius_m >= 1)) {
            refuse(out, lg_camara_invalid_argument, "area.radius must be at least 1 metre");
            return false;
        }
        out->area_m2 = lg_planar_circle_area_m2(area->radius_m);
        if (out->area_m2 < p->min_area_m2) {
            format_pg_float(p->min_area_m2, bound, sizeof(bound));
            refuse(out, lg_camara_invalid_circle,
                   "The circle is smaller than the minimum area of %s square metres.", bound);
            return false;
        }
        if (out->area_m2 > p->max_area_m2) {
            format_pg_float(p->max_area_m2, bound, sizeof(bound));
            refuse(out, lg_camara_invalid_circle,
                   "The circle is larger than the maximum area of %s square metres.", bound);
            return false;
        }
        lg_planar_circle(area->lon, area->lat, area->radius_m, ring);
        n = LG_PLANAR_CIRCLE_POINTS;
        cs->area_deg = fabs(lg_planar_ring_area(ring, n));
        lg_planar_reverse(ring, n); /* the bearings run clockwise */
        if (!lg_planar_is_convex_ccw(ring, n)) {
            out->outcome = LG_COUNT_FALLBACK; /* near a pole or the antimeridian */
            return false;
        }
    } else {
        n = area->n_boundary;
        memcpy(ring, area->boundary, n * sizeof(*ring));
        lg_planar_dedup(ring, &n);
        const char *why = lg_planar_check_simple(ring, n);
        if (why == lg_planar_self_intersecting) {
            refuse(out, lg_camara_invalid_polygon, "The polygon is self-intersecting.");
            return false;
        }
        double signed_deg = lg_planar_ring_area(ring, n);
        cs->area_deg = fabs(signed_deg);
        if (why != NULL || cs->area_deg < 1e-10) {
            refuse(out, lg_camara_invalid_polygon,
                   "The polygon is degenerate (its points do not enclose an area).");
            return false;
        }
        out->area_m2 = lg_planar_polygon_area_m2(area->boundary, area->n_boundary);
        if (out->area_m2 <= 0) {
            refuse(out, lg_camara_invalid_polygon,
                   "The polygon is degenerate (its points do not enclose an area).");
            return false;
        }
        if (out->area_m2 < p->min_area_m2) {
            format_pg_float(p->min_area_m2, bound, sizeof(bound));
            refuse(out, lg_camara_invalid_polygon,
                   "The polygon is smaller than the minimum area of %s square metres.", bound);
            return false;
        }
        if (out->area_m2 > p->max_area_m2) {
            format_pg_float(p->max_area_m2, bound, sizeof(bound));
            refuse(out, lg_camara_invalid_polygon,
                   "The polygon is larger than the maximum area of %s square metres.", bound);
            return false;
        }
        if (signed_deg < 0)
            lg_planar_reverse(ring, n);
    }
    cs->box = lg_planar_ring_box(ring, n);
    if (lg_planar_is_convex_ccw(ring, n)) {
        memcpy(cs->pts, ring, n * sizeof(*ring));
        cs->c[0].p = cs->pts;
        cs->c[0].m = n;
        cs->c[0].box = cs->box;
        cs->n = 1;
        find_inner(cs);
        make_chains(cs, cs->pts, n);
        return true;
    }
    if (lg_planar_triangulate(ring, n, cs->pts) != LG_OK) {
        out->outcome = LG_COUNT_FALLBACK;
        return false;
    }
    for (size_t t = 0; t + 2 < n; t++) {
        const lg_pt_t *tri = &cs->pts[3 * t];
        if (lg_planar_ring_area(tri, 3) <= 0)
            continue; /* flat padding */
        cs->c[cs->n].p = tri;
        cs->c[cs->n].m = 3;
        cs->c[cs->n].box = lg_planar_ring_box(tri, 3);
        cs->n++;
    }
    return true;
}

/* Selects the releases to answer from (pointers into s, ascending id). */
static size_t select_releases(const lg_countsnap_t *s, bool has_interval, int64_t start_us,
                              int64_t end_us, const lg_countrel_t **sel)
{
    size_t n = 0;
    if (!has_interval) {
        const lg_countrel_t *latest = NULL;
        for (size_t i = 0; i < s->n_rels; i++)
            if (latest == NULL || s->rels[i]->start_us > latest->start_us)
                latest = s->rels[i];
        if (latest != NULL)
            sel[n++] = latest;
        return n;
    }
    for (size_t i = 0; i < s->n_rels; i++)
        if (s->rels[i]->start_us >= start_us && s->rels[i]->end_us <= end_us)
            sel[n++] = s->rels[i];
    return n;
}

/* v / d rounded half away from zero, d > 0. */
static int64_t round_div(__int128 v, __int128 d)
{
    __int128 a = v < 0 ? -v : v;
    __int128 q = (2 * a + d) / (2 * d);
    return (int64_t)(v < 0 ? -q : q);
}

void lg_countsnap_answer(const lg_countsnap_t *s, const lg_count_area_t *area, bool has_interval,
                         int64_t start_us, int64_t end_us, const lg_count_params_t *p,
                         lg_count_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    if (s->n_rels == 0 || (has_interval && start_us < s->horizon_us)) {
        /* None loaded yet (or none stored), or older ones than are kept. */
        out->outcome = LG_COUNT_FALLBACK;
        return;
    }
    clipset_t *cs = lg_xmalloc(sizeof(*cs));
    const lg_countrel_t **sel = NULL;
    lg_planar_scratch_t scratch = {0};
    if (!build_area(area, p, cs, out))
        goto done;

    const lg_countgeo_t *g = s->geo;
    sel = lg_xmalloc((s->n_rels ? s->n_rels : 1) * sizeof(*sel));
    size_t n_sel = select_releases(s, has_interval, start_us, end_us, sel);
    out->n_releases = n_sel;
    out->releases = lg_xmalloc((n_sel ? n_sel : 1) * sizeof(int64_t));
    for (size_t i = 0; i < n_sel; i++)
        out->releases[i] = sel[i]->id;

    /* The covered share, from the coverage pieces. */
    uint8_t edge[128];
    size_t n_edge;
    double covered_deg = 0;
    for (size_t i = 0; i < g->n_pieces; i++) {
        const shape_t *sh = &g->pieces[i];
        switch (classify(cs, sh->box, edge, &n_edge)) {
        case BOX_APART:
            break;
        case BOX_INSIDE:
            covered_deg += sh->area;
            break;
        case BOX_EDGE:
            covered_deg += shape_inside(g, sh, cs, edge, n_edge, &scratch);
            break;
        }
    }
    out->covered =
        covered_deg >= cs->area_deg * (1 - 1e-12) ? 1 : fmin(covered_deg / cs->area_deg, 1 - 1e-6);
    out->outcome = LG_COUNT_ANSWERED;
    if (out->covered < 0.5) {
        out->status = "AREA_NOT_SUPPORTED";
        goto done;
    }
    if (n_sel == 0) {
        out->status = "TIME_INTERVAL_NO_DATA_FOUND";
        goto done;
    }

    /* The sum in billionths of a device: whole squares, then the edge cells. */
    __int128 total = 0;
    /* The squares whose cells may reach the area: centres within half a cell of its box. */
    uint32_t ix0 = square_of(g, cs->box.x0 - g->max_w / 2, cs->box.y0 - g->max_h / 2) % g->nx;
    uint32_t iy0 = square_of(g, cs->box.x0 - g->max_w / 2, cs->box.y0 - g->max_h / 2) / g->nx;
    uint32_t ix1 = square_of(g, cs->box.x1 + g->max_w / 2, cs->box.y1 + g->max_h / 2) % g->nx;
    uint32_t iy1 = square_of(g, cs->box.x1 + g->max_w / 2, cs->box.y1 + g->max_h / 2) / g->nx;
    for (uint32_t iy = iy0; iy <= iy1; iy++)
        for (uint32_t ix = ix0; ix <= ix1; ix++) {
            size_t sq = (size_t)iy * g->nx + ix;
            lg_box_t ub = g->sq_box[sq];
            if (g->sq_start[sq] == g->sq_start[sq + 1])
                continue;
            box_class_t sq_class = classify(cs, ub, edge, &n_edge);
            if (sq_class == BOX_APART)
                continue;
            if (sq_class == BOX_INSIDE) {
                for (size_t r = 0; r < n_sel; r++)
                    total += (__int128)LG_COUNT_SHARE_ONE * sel[r]->sq_sum[sq];
                continue;
            }
            /* The square's cutting edges, kept: its cells' boxes lie within its box. */
            uint8_t sq_edge[128];
            size_t n_sq_edge = n_edge;
            if (n_edge != SIZE_MAX)
                memcpy(sq_edge, edge, n_edge);
            for (uint32_t k = g->sq_start[sq]; k < g->sq_start[sq + 1]; k++) {
                uint32_t ci = g->sq_cells[k];
                const shape_t *cell = &g->cells[ci];
                box_class_t cell_class =
                    n_sq_edge == SIZE_MAX
                        ? classify(cs, cell->box, edge, &n_edge)
                        : classify_within(cs, cell->box, sq_edge, n_sq_edge, edge, &n_edge);
                if (cell_class == BOX_APART)
                    continue;
                int64_t q;
                if (cell_class == BOX_INSIDE) {
                    q = LG_COUNT_SHARE_ONE;
                } else {
                    double inside = shape_inside(g, cell, cs, edge, n_edge, &scratch);
                    if (inside == 0 || !(cell->area != 0))
                        continue;
                    q = (int64_t)rint(inside / cell->area * 1e9);
                    if (q == 0)
                        continue;
                }
                int64_t noisy = 0;
                for (size_t r = 0; r < n_sel; r++)
                    noisy += sel[r]->noisy[ci];
                total += (__int128)q * noisy;
            }
        }
    out->count = round_div(total, (__int128)LG_COUNT_SHARE_ONE * (__int128)n_sel);
    if (out->count < p->k) {
        out->status = "DENSITY_BELOW_PRIVACY_THRESHOLD";
    } else {
        out->has_count = true;
        out->status = out->covered < 1 - 1e-9 ? "PART_OF_AREA_NOT_SUPPORTED" : "SUPPORTED_AREA";
    }

done:
    if (out->outcome != LG_COUNT_ANSWERED) {
        free(out->releases);
        out->releases = NULL;
        out->n_releases = 0;
    }
    lg_planar_scratch_free(&scratch);
    free(sel);
    free(cs);
}

void lg_count_answer_json(const lg_count_answer_t *a, char *buf, size_t size)
{
    if (a->has_count)
        snprintf(buf, size, "{\"count\": %" PRId64 ", \"status\": \"%s\"}", a->count, a->status);
    else
        snprintf(buf, size, "{\"status\": \"%s\"}", a->status ? a->status : "");
}

void lg_count_answer_cleanup(lg_count_answer_t *a)
{
    free(a->releases);
    a->releases = NULL;
    a->n_releases = 0;
}

/* ------------------------------------------------------------------ the live map */

typedef enum load_state { LOAD_IDLE, LOAD_POLL, LOAD_GEO, LOAD_RELEASE } load_state_t;

/* A round trip under way; m is NULL once the map is freed. */
typedef struct op {
    lg_countmap_t *m;
} op_t;

struct lg_countmap {
    struct event_base *base;
    lg_db_t *db;
    lg_countmap_config_t cfg;
    struct event *timer;
    lg_countsnap_t *snap; /* the current snapshot, NULL until the first load */
    uint64_t generation;
    load_state_t state;
    bool is_poked; /* poll again as soon as the load under way ends */
    op_t *op;      /* the round trip in flight */
    /* The load under way. */
    int64_t poll_version; /* count_geo_version.version at the poll */
    int64_t bad_version;  /* a cell table version the evaluator could not load, or -1 */
    int64_t horizon_us;
    lg_countgeo_t *geo; /* the geometry of the next snapshot (a reference) */
    int64_t *want;      /* the release ids to keep, from the poll */
    size_t n_want;
    size_t next;          /* want[next] is the next release to look at */
    lg_countrel_t **have; /* releases ready (references) */
    size_t n_have;
};

static const char poll_sql[] =
    "SELECT geo_version, geo_built, id FROM lg_counts_releases_since($1::bigint)";
static const char geo_sql[] = "SELECT version, kind, geom FROM lg_counts_geo()";
static const char release_sql[] = "SELECT version, bucket_start_us, bucket_end_us, cells, noisy "
                                  "FROM lg_counts_release_noisy($1::bigint)";

static void step(lg_countmap_t *m);

static void arm(lg_countmap_t *m, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(m->timer, &tv);
}

/* Drops the load under way and goes idle; the next poll starts over. */
static void load_reset(lg_countmap_t *m)
{
    for (size_t i = 0; i < m->n_have; i++)
        lg_countrel_unref(m->have[i]);
    free(m->have);
    m->have = NULL;
    m->n_have = 0;
    free(m->want);
    m->want = NULL;
    m->n_want = m->next = 0;
    lg_countgeo_unref(m->geo);
    m->geo = NULL;
    m->state = LOAD_IDLE;
    m->op = NULL;
    arm(m, m->is_poked ? 0 : m->cfg.poll_ms);
    m->is_poked = false;
}

/* Starts a round trip; false (and idle again) when the pool refuses it. */
static bool send_query(lg_countmap_t *m, load_state_t state, const char *sql, int n,
                       const char *const *values, lg_db_cb cb)
{
    op_t *op = lg_xcalloc(1, sizeof(*op));
    op->m = m;
    m->op = op;
    m->state = state;
    if (lg_db_query(m->db, sql, n, values, cb, op) != LG_OK) {
        free(op); /* the callback never runs */
        m->op = NULL;
        load_reset(m);
        return false;
    }
    return true;
}

/* The map of a completed round trip, or NULL when it was abandoned (op freed). */
static lg_countmap_t *op_done(op_t *op)
{
    lg_countmap_t *m = op->m;
    free(op);
    if (m != NULL)
        m->op = NULL;
    return m;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Swaps in a snapshot of m->geo and m->have. */
static void finish_load(lg_countmap_t *m)
{
    lg_countsnap_t *s = lg_countsnap_new(m->geo, m->have, m->n_have, m->horizon_us);
    lg_countsnap_t *old = m->snap;
    m->snap = s;
    m->generation++;
    lg_countsnap_unref(old);
    lg_debug("countmap: snapshot %" PRIu64 ": %zu cells, %zu pieces, %zu releases", m->generation,
             s->geo->n_cells, s->geo->n_pieces, s->n_rels);
    load_reset(m);
}

static void on_release(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 5) {
        lg_warn("countmap: loading a release failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    if (PQntuples(res) == 1) {
        int64_t version, start_us, end_us, n_cells;
        if (!parse_i64(PQgetvalue(res, 0, 0), &version) ||
            !parse_i64(PQgetvalue(res, 0, 1), &start_us) ||
            !parse_i64(PQgetvalue(res, 0, 2), &end_us) ||
            !parse_i64(PQgetvalue(res, 0, 3), &n_cells)) {
            lg_warn("countmap: unexpected release row");
            load_reset(m);
            return;
        }
        if (version != m->geo->version || (size_t)n_cells != m->geo->n_cells) {
            /* The cells changed under us: start over with a new geometry. */
            m->is_poked = true;
            load_reset(m);
            return;
        }
        int64_t *noisy = lg_xmalloc((m->geo->n_cells ? m->geo->n_cells : 1) * sizeof(int64_t));
        const char *p = PQgetvalue(res, 0, 4);
        size_t i = 0;
        bool is_ok = true;
        while (*p != '\0' && i < m->geo->n_cells) {
            char *end;
            errno = 0;
            noisy[i++] = strtoll(p, &end, 10);
            if (errno != 0 || end == p || (*end != ',' && *end != '\0')) {
                is_ok = false;
                break;
            }
            p = *end == ',' ? end + 1 : end;
        }
        if (!is_ok || i != m->geo->n_cells || *p != '\0') {
            free(noisy);
            lg_warn("countmap: a release's noisy counts do not match its cells");
            load_reset(m);
            return;
        }
        m->have = lg_xrealloc(m->have, (m->n_have + 1) * sizeof(*m->have));
        m->have[m->n_have++] =
            lg_countrel_new(m->geo, m->want[m->next], start_us, end_us, noisy, m->geo->n_cells);
    }
    m->next++;
    step(m);
}

/* The next release to load, or the end of the load. */
static void step(lg_countmap_t *m)
{
    while (m->next < m->n_want) {
        int64_t id = m->want[m->next];
        lg_countrel_t *r = NULL;
        for (size_t i = 0; m->snap != NULL && m->snap->geo == m->geo && i < m->snap->n_rels; i++)
            if (m->snap->rels[i]->id == id)
                r = m->snap->rels[i];
        if (r == NULL)
            break;
        r->refs++;
        m->have = lg_xrealloc(m->have, (m->n_have + 1) * sizeof(*m->have));
        m->have[m->n_have++] = r;
        m->next++;
    }
    if (m->next == m->n_want) {
        finish_load(m);
        return;
    }
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, m->want[m->next]);
    const char *values[1] = {id};
    (void)send_query(m, LOAD_RELEASE, release_sql, 1, values, on_release);
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void on_geo(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 3) {
        lg_warn("countmap: loading the cells failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    int rows = PQntuples(res);
    int64_t version = m->poll_version;
    if (rows > 0 && !parse_i64(PQgetvalue(res, 0, 0), &version)) {
        load_reset(m);
        return;
    }
    int64_t t0_us = lg_mono_us();
    lg_countgeo_t *g = lg_countgeo_new(version);
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < rows; i++) {
        const char *kind = PQgetvalue(res, i, 1), *text = PQgetvalue(res, i, 2);
        size_t len = (size_t)PQgetlength(res, i, 2);
        bool is_ok = len >= 2 && text[0] == '\\' && text[1] == 'x' && len % 2 == 0;
        size_t n = is_ok ? (len - 2) / 2 : 0;
        if (n > cap) {
            cap = n;
            buf = lg_xrealloc(buf, cap);
        }
        for (size_t k = 0; is_ok && k < n; k++) {
            int hi = hex(text[2 + 2 * k]), lo = hex(text[3 + 2 * k]);
            is_ok = hi >= 0 && lo >= 0;
            buf[k] = (unsigned char)(hi << 4 | lo);
        }
        if (!is_ok || lg_countgeo_add_wkb(g, kind[0] == 'p', buf, n) != LG_OK) {
            lg_warn("countmap: a coverage the evaluator cannot read (row %d); counts are "
                    "answered by the database until the cells change",
                    i);
            m->bad_version = m->poll_version;
            free(buf);
            lg_countgeo_unref(g);
            load_reset(m);
            return;
        }
    }
    free(buf);
    lg_countgeo_finish(g);
    lg_countgeo_unref(m->geo);
    m->geo = g;
    lg_info("countmap: loaded %zu cells and %zu coverage pieces (cell table version %" PRId64
            ") in %" PRId64 " ms of the loop",
            g->n_cells, g->n_pieces, version, (lg_mono_us() - t0_us) / 1000);
    step(m);
}

static void on_poll(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 3 || PQntuples(res) < 1) {
        lg_debug("countmap: poll failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    int rows = PQntuples(res);
    if (!parse_i64(PQgetvalue(res, 0, 0), &m->poll_version)) {
        load_reset(m);
        return;
    }
    m->want = lg_xmalloc((size_t)rows * sizeof(*m->want));
    m->n_want = 0;
    for (int i = 0; i < rows; i++)
        if (!PQgetisnull(res, i, 2) && parse_i64(PQgetvalue(res, i, 2), &m->want[m->n_want]))
            m->n_want++;
    m->next = 0;

    if (m->snap == NULL || m->snap->geo->version != m->poll_version) {
        if (m->poll_version == m->bad_version) {
            /* Not again until the cells change; lg_counts_query answers meanwhile. */
            lg_countsnap_unref(m->snap);
            m->snap = NULL;
            load_reset(m);
            return;
        }
        (void)send_query(m, LOAD_GEO, geo_sql, 0, NULL, on_geo);
        return;
    }
    /* Same cells: nothing to do unless the set of releases changed. */
    bool is_same = m->snap->n_rels == m->n_want;
    for (size_t i = 0; is_same && i < m->n_want; i++)
        is_same = m->snap->rels[i]->id == m->want[i];
    if (is_same) {
        load_reset(m);
        return;
    }
    m->geo = m->snap->geo;
    m->geo->refs++;
    step(m);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lg_countmap_t *m = arg;
    (void)fd;
    (void)what;
    if (m->state != LOAD_IDLE)
        return; /* re-armed when the load ends */
    if (!lg_db_is_up(m->db)) {
        arm(m, m->cfg.poll_ms);
        return;
    }
    m->horizon_us = lg_now_us() - (int64_t)m->cfg.keep_days * 86400 * INT64_C(1000000);
    char since[24];
    snprintf(since, sizeof(since), "%" PRId64, m->horizon_us);
    const char *values[1] = {since};
    (void)send_query(m, LOAD_POLL, poll_sql, 1, values, on_poll);
}

lg_countmap_t *lg_countmap_new(struct event_base *base, lg_db_t *db,
                               const lg_countmap_config_t *cfg)
{
    lg_countmap_t *m = lg_xcalloc(1, sizeof(*m));
    m->base = base;
    m->db = db;
    m->cfg = *cfg;
    m->bad_version = -1;
    if (m->cfg.poll_ms < 10)
        m->cfg.poll_ms = 10;
    if (m->cfg.keep_days < 0)
        m->cfg.keep_days = 0;
    m->timer = evtimer_new(base, on_timer, m);
    arm(m, 0);
    return m;
}

void lg_countmap_free(lg_countmap_t *m)
{
    if (m == NULL)
        return;
    if (m->op != NULL)
        m->op->m = NULL; /* its callback frees it */
    m->op = NULL;
    event_free(m->timer);
    for (size_t i = 0; i < m->n_have; i++)
        lg_countrel_unref(m->have[i]);
    free(m->have);
    free(m->want);
    lg_countgeo_unref(m->geo);
    lg_countsnap_unref(m->snap);
    free(m);
}

void lg_countmap_poke(lg_countmap_t *m)
{
    if (m->state != LOAD_IDLE) {
        m->is_poked = true;
        return;
    }
    arm(m, 0);
}

const lg_countsnap_t *lg_countmap_snapshot(const lg_countmap_t *m)
{
    return m->snap;
}

uint64_t lg_countmap_generation(const lg_countmap_t *m)
{
    return m->generation;
}
