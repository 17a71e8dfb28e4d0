/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory count evaluator (see counteval.h). It sits between the
 * exposure zone (exposure.c, which asks it first) and the database (which it
 * mirrors: sql/counts.sql lg_counts_query is the reference and the
 * fallback). Releases and snapshots are reference-counted and immutable once
 * made; everything runs on the loop thread, so a query sees one snapshot
 * from start to end.
 *
 * A query: a POLYGON is checked by GEOS (GEOSisValidDetail_r, the check
 * behind PostGIS's ST_IsValidDetail, so this and lg_counts_area refuse the
 * same polygons); then the area's polygon is split into convex clip
 * polygons (the circle polygon itself, a convex POLYGON, or the triangles
 * of a non-convex one, by ear clipping). The grid squares whose cells'
 * union box lies inside a clip polygon add their per-release sums whole;
 * the cells of the squares on the edge are tested one by one: inside
 * (share 10^9), or clipped by Sutherland-Hodgman (exterior rings minus
 * holes) for their share in billionths. The coverage pieces give the
 * covered share the same way. The clipping stays hand-written (planar.c):
 * tests/tools/area_clip_bench.c measures it against GEOS.
 */
#include "locguard/counts/counteval.h"

#include "locguard/counts/camara.h"

#include <geos_c.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lg_counteval_rel {
    int refs;
    lg_countgeo_t *geo;
    int64_t id, start_us, end_us;
    int64_t *noisy;  /* per cell */
    int64_t *sq_sum; /* per grid square: the sum of its cells' noisy counts */
};

struct lg_counteval_snap {
    int refs;
    lg_countgeo_t *geo;
    lg_counteval_rel_t **rels; /* ascending id */
    size_t n_rels;
    int64_t horizon_us;
};

/* ------------------------------------------------------------------ releases */

lg_counteval_rel_t *lg_counteval_rel_new(lg_countgeo_t *g, int64_t id, int64_t start_us,
                                         int64_t end_us, int64_t *noisy, size_t n)
{
    if (!g->is_finished || n != g->n_cells) {
        free(noisy);
        return NULL;
    }
    lg_counteval_rel_t *r = lg_xcalloc(1, sizeof(*r));
    r->refs = 1;
    r->geo = lg_countgeo_ref(g);
    r->id = id;
    r->start_us = start_us;
    r->end_us = end_us;
    r->noisy = noisy;
    r->sq_sum = lg_xcalloc((size_t)g->nx * g->ny, sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        r->sq_sum[g->cell_sq[i]] += noisy[i];
    return r;
}

int64_t lg_counteval_rel_id(const lg_counteval_rel_t *r)
{
    return r->id;
}

lg_counteval_rel_t *lg_counteval_rel_ref(lg_counteval_rel_t *r)
{
    r->refs++;
    return r;
}

void lg_counteval_rel_unref(lg_counteval_rel_t *r)
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
    const lg_counteval_rel_t *x = *(lg_counteval_rel_t *const *)a,
                             *y = *(lg_counteval_rel_t *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

lg_counteval_snap_t *lg_counteval_snap_new(lg_countgeo_t *g, lg_counteval_rel_t *const *rels,
                                           size_t n, int64_t horizon_us)
{
    lg_counteval_snap_t *s = lg_xcalloc(1, sizeof(*s));
    s->refs = 1;
    s->geo = lg_countgeo_ref(g);
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

lg_countgeo_t *lg_counteval_snap_geo(const lg_counteval_snap_t *s)
{
    return s->geo;
}

size_t lg_counteval_snap_releases(const lg_counteval_snap_t *s)
{
    return s->n_rels;
}

lg_counteval_rel_t *lg_counteval_snap_release(const lg_counteval_snap_t *s, size_t i)
{
    return s->rels[i];
}

void lg_counteval_snap_unref(lg_counteval_snap_t *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    for (size_t i = 0; i < s->n_rels; i++)
        lg_counteval_rel_unref(s->rels[i]);
    free(s->rels);
    lg_countgeo_unref(s->geo);
    free(s);
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
static double shape_inside(const lg_countgeo_t *g, const lg_countgeo_shape_t *sh,
                           const clipset_t *cs, const uint8_t *edge, size_t n_edge,
                           lg_planar_scratch_t *scratch)
{
    double sum = 0;
    for (size_t i = 0; i < cs->n; i++) {
        if (!overlaps(cs->c[i].box, sh->box))
            continue;
        for (uint32_t k = 0; k < sh->n_rings; k++) {
            const lg_countgeo_ring_t *r = &g->rings[sh->ring0 + k];
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
static void refuse(lg_counteval_answer_t *out, const char *code, const char *fmt, ...)
{
    va_list ap;
    out->outcome = LG_COUNTEVAL_REFUSED;
    out->code = code;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

/* What GEOS says of a POLYGON's boundary. */
typedef enum polygon_check {
    POLYGON_VALID,
    POLYGON_SELF_INTERSECTING, /* GEOS's reason names a self-intersection */
    POLYGON_INVALID,           /* any other reason: degenerate */
    POLYGON_UNCHECKED,         /* GEOS failed (out of memory): the database decides */
} polygon_check_t;

/*
 * Checks the polygon p[0..n) closed by its first point, as lg_counts_area
 * builds it (ST_MakePolygon, repeats kept), with GEOSisValidDetail_r and
 * flags 0, which is what ST_IsValidDetail(geom) calls; a reason containing
 * "Self-intersection" (also "Ring Self-intersection") is the
 * self-intersecting refusal, as in lg_counts_area. A context per call
 * keeps the evaluator free of state and costs nothing measurable: the
 * check takes a few microseconds per polygon either way
 * (tests/tools/area_clip_bench.c), against a clipping of tens to hundreds.
 */
static polygon_check_t check_polygon(const lg_pt_t *p, size_t n)
{
    polygon_check_t check = POLYGON_UNCHECKED;
    GEOSContextHandle_t h = GEOS_init_r();
    GEOSCoordSequence *seq = NULL;
    GEOSGeometry *shell = NULL, *poly = NULL, *location = NULL;
    char *reason = NULL;
    if (h == NULL)
        return POLYGON_UNCHECKED;
    seq = GEOSCoordSeq_create_r(h, (unsigned)n + 1, 2);
    if (seq == NULL)
        goto done;
    for (size_t i = 0; i <= n; i++)
        if (!GEOSCoordSeq_setXY_r(h, seq, (unsigned)i, p[i % n].x, p[i % n].y))
            goto done;
    shell = GEOSGeom_createLinearRing_r(h, seq); /* takes seq, even when it fails */
    seq = NULL;
    if (shell == NULL)
        goto done;
    poly = GEOSGeom_createPolygon_r(h, shell, NULL, 0); /* takes shell */
    shell = NULL;
    if (poly == NULL)
        goto done;
    switch (GEOSisValidDetail_r(h, poly, 0, &reason, &location)) {
    case 1:
        check = POLYGON_VALID;
        break;
    case 0:
        check = reason != NULL && strstr(reason, "Self-intersection") != NULL
                    ? POLYGON_SELF_INTERSECTING
                    : POLYGON_INVALID;
        break;
    default: /* 2: an exception */
        break;
    }

done:
    if (reason != NULL)
        GEOSFree_r(h, reason);
    if (location != NULL)
        GEOSGeom_destroy_r(h, location);
    if (poly != NULL)
        GEOSGeom_destroy_r(h, poly);
    if (shell != NULL)
        GEOSGeom_destroy_r(h, shell);
    if (seq != NULL)
        GEOSCoordSeq_destroy_r(h, seq);
    GEOS_finish_r(h);
    return check;
}

/*
 * Checks the area as lg_counts_area does and splits it into cs. Returns
 * false with out set (REFUSED or FALLBACK) when it cannot be answered.
 */
static bool build_area(const lg_planar_area_t *area, const lg_counteval_params_t *p, clipset_t *cs,
                       lg_counteval_answer_t *out)
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
            out->outcome = LG_COUNTEVAL_FALLBACK; /* near a pole or the antimeridian */
            return false;
        }
    } else {
        n = area->n_boundary;
        if (n < 3 || n > LG_ARRAY_SIZE(area->boundary)) {
            out->outcome = LG_COUNTEVAL_FALLBACK; /* not camara.c's: the database decides */
            return false;
        }
        polygon_check_t check = check_polygon(area->boundary, n);
        if (check == POLYGON_UNCHECKED) {
            out->outcome = LG_COUNTEVAL_FALLBACK;
            return false;
        }
        if (check == POLYGON_SELF_INTERSECTING) {
            refuse(out, lg_camara_invalid_polygon, "The polygon is self-intersecting.");
            return false;
        }
        memcpy(ring, area->boundary, n * sizeof(*ring));
        lg_planar_dedup(ring, &n);
        double signed_deg = lg_planar_ring_area(ring, n);
        cs->area_deg = fabs(signed_deg);
        if (check != POLYGON_VALID || n < 3 || cs->area_deg < 1e-10) {
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
        out->outcome = LG_COUNTEVAL_FALLBACK;
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
static size_t select_releases(const lg_counteval_snap_t *s, bool has_interval, int64_t start_us,
                              int64_t end_us, const lg_counteval_rel_t **sel)
{
    size_t n = 0;
    if (!has_interval) {
        const lg_counteval_rel_t *latest = NULL;
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

void lg_counteval_answer(const lg_counteval_snap_t *s, const lg_planar_area_t *area,
                         bool has_interval, int64_t start_us, int64_t end_us,
                         const lg_counteval_params_t *p, lg_counteval_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    if (s->n_rels == 0 || (has_interval && start_us < s->horizon_us)) {
        /* None loaded yet (or none stored), or older ones than are kept. */
        out->outcome = LG_COUNTEVAL_FALLBACK;
        return;
    }
    clipset_t *cs = lg_xmalloc(sizeof(*cs));
    const lg_counteval_rel_t **sel = NULL;
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
        const lg_countgeo_shape_t *sh = &g->pieces[i];
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
    out->outcome = LG_COUNTEVAL_ANSWERED;
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
    uint32_t ix0 =
        lg_countgeo_square_of(g, cs->box.x0 - g->max_w / 2, cs->box.y0 - g->max_h / 2) % g->nx;
    uint32_t iy0 =
        lg_countgeo_square_of(g, cs->box.x0 - g->max_w / 2, cs->box.y0 - g->max_h / 2) / g->nx;
    uint32_t ix1 =
        lg_countgeo_square_of(g, cs->box.x1 + g->max_w / 2, cs->box.y1 + g->max_h / 2) % g->nx;
    uint32_t iy1 =
        lg_countgeo_square_of(g, cs->box.x1 + g->max_w / 2, cs->box.y1 + g->max_h / 2) / g->nx;
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
                    total += (__int128)LG_COUNTEVAL_SHARE_ONE * sel[r]->sq_sum[sq];
                continue;
            }
            /* The square's cutting edges, kept: its cells' boxes lie within its box. */
            uint8_t sq_edge[128];
            size_t n_sq_edge = n_edge;
            if (n_edge != SIZE_MAX)
                memcpy(sq_edge, edge, n_edge);
            for (uint32_t k = g->sq_start[sq]; k < g->sq_start[sq + 1]; k++) {
                uint32_t ci = g->sq_cells[k];
                const lg_countgeo_shape_t *cell = &g->cells[ci];
                box_class_t cell_class =
                    n_sq_edge == SIZE_MAX
                        ? classify(cs, cell->box, edge, &n_edge)
                        : classify_within(cs, cell->box, sq_edge, n_sq_edge, edge, &n_edge);
                if (cell_class == BOX_APART)
                    continue;
                int64_t q;
                if (cell_class == BOX_INSIDE) {
                    q = LG_COUNTEVAL_SHARE_ONE;
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
    out->count = round_div(total, (__int128)LG_COUNTEVAL_SHARE_ONE * (__int128)n_sel);
    if (out->count < p->k) {
        out->status = "DENSITY_BELOW_PRIVACY_THRESHOLD";
    } else {
        out->has_count = true;
        out->status = out->covered < 1 - 1e-9 ? "PART_OF_AREA_NOT_SUPPORTED" : "SUPPORTED_AREA";
    }

done:
    if (out->outcome != LG_COUNTEVAL_ANSWERED) {
        free(out->releases);
        out->releases = NULL;
        out->n_releases = 0;
    }
    lg_planar_scratch_free(&scratch);
    free(sel);
    free(cs);
}

void lg_counteval_answer_json(const lg_counteval_answer_t *a, char *buf, size_t size)
{
    if (a->has_count)
        snprintf(buf, size, "{\"count\": %" PRId64 ", \"status\": \"%s\"}", a->count, a->status);
    else
        snprintf(buf, size, "{\"status\": \"%s\"}", a->status ? a->status : "");
}

void lg_counteval_answer_cleanup(lg_counteval_answer_t *a)
{
    free(a->releases);
    a->releases = NULL;
    a->n_releases = 0;
}
