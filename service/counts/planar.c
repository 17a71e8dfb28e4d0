/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Planar geometry for the in-memory count evaluator (see planar.h). Areas are
 * computed relative to the ring's first point so that the products stay
 * small and the cancellation of the shoelace sum does not eat the digits of
 * small cells far from (0, 0).
 */
#include "locguard/counts/planar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char lg_planar_self_intersecting[] = "self-intersecting";
const char lg_planar_degenerate[] = "degenerate";

void lg_planar_scratch_free(lg_planar_scratch_t *s)
{
    free(s->a);
    free(s->b);
    s->a = s->b = NULL;
    s->cap = 0;
}

static void reserve(lg_planar_scratch_t *s, size_t n)
{
    if (n <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    s->a = lg_xrealloc(s->a, cap * sizeof(*s->a));
    s->b = lg_xrealloc(s->b, cap * sizeof(*s->b));
    s->cap = cap;
}

double lg_planar_ring_area(const lg_pt_t *p, size_t n)
{
    if (n < 3)
        return 0;
    double x0 = p[0].x, y0 = p[0].y, sum = 0;
    for (size_t i = 1; i + 1 < n; i++)
        sum += (p[i].x - x0) * (p[i + 1].y - y0) - (p[i + 1].x - x0) * (p[i].y - y0);
    return sum / 2;
}

lg_box_t lg_planar_ring_box(const lg_pt_t *p, size_t n)
{
    lg_box_t b = {p[0].x, p[0].y, p[0].x, p[0].y};
    for (size_t i = 1; i < n; i++) {
        b.x0 = fmin(b.x0, p[i].x);
        b.y0 = fmin(b.y0, p[i].y);
        b.x1 = fmax(b.x1, p[i].x);
        b.y1 = fmax(b.y1, p[i].y);
    }
    return b;
}

/* Twice the signed area of (a, b, c): > 0 when c is left of a->b. */
static double cross(lg_pt_t a, lg_pt_t b, lg_pt_t c)
{
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

/*
 * Sutherland-Hodgman of subj[0..n) by the edges edge[0..n_edges) of the
 * convex counter-clockwise clip[0..m); the area of what is left.
 */
static double clip_edges(const lg_pt_t *subj, size_t n, const lg_pt_t *clip, size_t m,
                         const uint8_t *edge, size_t n_edges, lg_planar_scratch_t *s)
{
    /*
     * Everything relative to the clip's first point: intersection points
     * computed near (0, 0) keep their digits, so that a subject covering
     * the clip polygon gives back its area to ~1e-15, not ~1e-12.
     */
    const lg_pt_t o = clip[0];
    /* Each pass adds at most one point per crossing, at most n per pass. */
    reserve(s, 2 * n + 2);
    for (size_t i = 0; i < n; i++)
        s->a[i] = (lg_pt_t){subj[i].x - o.x, subj[i].y - o.y};
    lg_pt_t *in = s->a, *out = s->b;
    size_t n_in = n;
    for (size_t e = 0; e < n_edges && n_in > 0; e++) {
        size_t j = edge != NULL ? edge[e] : e;
        lg_pt_t a = {clip[j].x - o.x, clip[j].y - o.y};
        lg_pt_t b = {clip[(j + 1) % m].x - o.x, clip[(j + 1) % m].y - o.y};
        if (s->cap < 2 * n_in + 2) {
            /* Keep in's contents across the growth. */
            bool in_is_a = in == s->a;
            reserve(s, 2 * n_in + 2);
            in = in_is_a ? s->a : s->b;
            out = in_is_a ? s->b : s->a;
        }
        size_t n_out = 0;
        lg_pt_t prev = in[n_in - 1];
        double d_prev = cross(a, b, prev);
        bool is_all_in = true;
        for (size_t i = 0; i < n_in; i++) {
            lg_pt_t cur = in[i];
            double d_cur = cross(a, b, cur);
            if (d_cur >= 0) {
                if (d_prev < 0) {
                    double t = d_prev / (d_prev - d_cur);
                    out[n_out++] =
                        (lg_pt_t){prev.x + t * (cur.x - prev.x), prev.y + t * (cur.y - prev.y)};
                }
                out[n_out++] = cur;
            } else {
                is_all_in = false;
                if (d_prev >= 0) {
                    double t = d_prev / (d_prev - d_cur);
                    out[n_out++] =
                        (lg_pt_t){prev.x + t * (cur.x - prev.x), prev.y + t * (cur.y - prev.y)};
                }
            }
            prev = cur;
            d_prev = d_cur;
        }
        if (is_all_in)
            continue; /* out == in: keep in */
        lg_pt_t *t = in;
        in = out;
        out = t;
        n_in = n_out;
    }
    return fabs(lg_planar_ring_area(in, n_in));
}

double lg_planar_clip_area(const lg_pt_t *subj, size_t n, const lg_pt_t *clip, size_t m,
                           lg_planar_scratch_t *s)
{
    if (n < 3 || m < 3)
        return 0;
    return clip_edges(subj, n, clip, m, NULL, m, s);
}

double lg_planar_clip_area_edges(const lg_pt_t *subj, size_t n, const lg_pt_t *clip, size_t m,
                                 const uint8_t *edge, size_t n_edges, lg_planar_scratch_t *s)
{
    if (n < 3 || m < 3)
        return 0;
    if (n_edges == 0)
        return fabs(lg_planar_ring_area(subj, n));
    return clip_edges(subj, n, clip, m, edge, n_edges, s);
}

double lg_planar_clip_area_in_box(const lg_pt_t *subj, size_t n, lg_box_t box, const lg_pt_t *clip,
                                  size_t m, lg_planar_scratch_t *s)
{
    uint8_t edge[256];
    if (n < 3 || m < 3)
        return 0;
    if (m > LG_ARRAY_SIZE(edge))
        return clip_edges(subj, n, clip, m, NULL, m, s);
    /* Only the edges whose inner half-plane misses a corner of the box can cut the subject. */
    size_t n_edges = 0;
    for (size_t j = 0; j < m; j++) {
        lg_pt_t a = clip[j], b = clip[(j + 1) % m];
        double dx = b.x - a.x, dy = b.y - a.y;
        lg_pt_t worst = {dy > 0 ? box.x1 : box.x0, dx > 0 ? box.y0 : box.y1};
        if (dx * (worst.y - a.y) - dy * (worst.x - a.x) < 0)
            edge[n_edges++] = (uint8_t)j;
    }
    if (n_edges == 0)
        return fabs(lg_planar_ring_area(subj, n));
    return clip_edges(subj, n, clip, m, edge, n_edges, s);
}

bool lg_planar_in_convex(const lg_pt_t *clip, size_t m, lg_pt_t q)
{
    for (size_t j = 0; j < m; j++)
        if (cross(clip[j], clip[(j + 1) % m], q) < 0)
            return false;
    return true;
}

bool lg_planar_box_in_convex(const lg_pt_t *clip, size_t m, lg_box_t b)
{
    const lg_pt_t corners[4] = {{b.x0, b.y0}, {b.x1, b.y0}, {b.x1, b.y1}, {b.x0, b.y1}};
    for (size_t j = 0; j < m; j++) {
        lg_pt_t a = clip[j], c = clip[(j + 1) % m];
        for (int k = 0; k < 4; k++)
            if (cross(a, c, corners[k]) < 0)
                return false;
    }
    return true;
}

bool lg_planar_is_convex_ccw(const lg_pt_t *p, size_t n)
{
    if (n < 3 || !(lg_planar_ring_area(p, n) > 0))
        return false;
    double turning = 0;
    for (size_t i = 0; i < n; i++) {
        lg_pt_t a = p[i], b = p[(i + 1) % n], c = p[(i + 2) % n];
        double ux = b.x - a.x, uy = b.y - a.y, vx = c.x - b.x, vy = c.y - b.y;
        double z = ux * vy - uy * vx;
        if (z < 0)
            return false;
        turning += atan2(z, ux * vx + uy * vy);
    }
    /* Once around: 2 pi; a star that winds twice has 4 pi. */
    return fabs(turning - 2 * M_PI) < 0.5;
}

void lg_planar_reverse(lg_pt_t *p, size_t n)
{
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        lg_pt_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

void lg_planar_dedup(lg_pt_t *p, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || p[i].x != p[k - 1].x || p[i].y != p[k - 1].y)
            p[k++] = p[i];
    while (k > 1 && p[k - 1].x == p[0].x && p[k - 1].y == p[0].y)
        k--;
    *n = k;
}

static int sign(double v)
{
    return (v > 0) - (v < 0);
}

/* True when q, collinear with segment a-b, lies within its box. */
static bool on_segment(lg_pt_t a, lg_pt_t b, lg_pt_t q)
{
    return fmin(a.x, b.x) <= q.x && q.x <= fmax(a.x, b.x) && fmin(a.y, b.y) <= q.y &&
           q.y <= fmax(a.y, b.y);
}

/* True when segments a-b and c-d cross or touch. */
static bool segments_meet(lg_pt_t a, lg_pt_t b, lg_pt_t c, lg_pt_t d)
{
    int o1 = sign(cross(a, b, c)), o2 = sign(cross(a, b, d));
    int o3 = sign(cross(c, d, a)), o4 = sign(cross(c, d, b));
    if (o1 != o2 && o3 != o4)
        return true;
    return (o1 == 0 && on_segment(a, b, c)) || (o2 == 0 && on_segment(a, b, d)) ||
           (o3 == 0 && on_segment(c, d, a)) || (o4 == 0 && on_segment(c, d, b));
}

const char *lg_planar_check_simple(const lg_pt_t *p, size_t n)
{
    if (n < 3)
        return lg_planar_degenerate;
    for (size_t i = 0; i < n; i++) {
        lg_pt_t a = p[i], b = p[(i + 1) % n], c = p[(i + 2) % n];
        /* Neighbours meet at b only: doubling back along the same line overlaps. */
        if (cross(a, b, c) == 0 && (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y) < 0)
            return lg_planar_self_intersecting;
        for (size_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1)
                continue; /* neighbours through p[0] */
            if (segments_meet(a, b, p[j], p[(j + 1) % n]))
                return lg_planar_self_intersecting;
        }
    }
    return NULL;
}

/* True when q is inside or on triangle a, b, c (counter-clockwise). */
static bool in_triangle(lg_pt_t a, lg_pt_t b, lg_pt_t c, lg_pt_t q)
{
    return cross(a, b, q) >= 0 && cross(b, c, q) >= 0 && cross(c, a, q) >= 0;
}

int lg_planar_triangulate(const lg_pt_t *p, size_t n, lg_pt_t *tri)
{
    int idx[64];
    if (n < 3 || n > LG_ARRAY_SIZE(idx))
        return LG_ERR;
    for (size_t i = 0; i < n; i++)
        idx[i] = (int)i;
    size_t left = n, out = 0;
    while (left > 3) {
        bool is_clipped = false;
        for (size_t i = 0; i < left; i++) {
            lg_pt_t a = p[idx[(i + left - 1) % left]], b = p[idx[i]], c = p[idx[(i + 1) % left]];
            if (cross(a, b, c) <= 0)
                continue; /* reflex or flat: not an ear */
            bool is_ear = true;
            for (size_t j = 0; j < left && is_ear; j++) {
                lg_pt_t q = p[idx[j]];
                if ((q.x == a.x && q.y == a.y) || (q.x == b.x && q.y == b.y) ||
                    (q.x == c.x && q.y == c.y))
                    continue;
                if (in_triangle(a, b, c, q))
                    is_ear = false;
            }
            if (!is_ear)
                continue;
            tri[out++] = a;
            tri[out++] = b;
            tri[out++] = c;
            memmove(&idx[i], &idx[i + 1], (left - i - 1) * sizeof(idx[0]));
            left--;
            is_clipped = true;
            break;
        }
        if (!is_clipped) {
            /* Only flat vertices left (collinear runs): drop one, it adds no area. */
            bool is_dropped = false;
            for (size_t i = 0; i < left && !is_dropped; i++) {
                lg_pt_t a = p[idx[(i + left - 1) % left]], b = p[idx[i]],
                        c = p[idx[(i + 1) % left]];
                if (cross(a, b, c) == 0) {
                    memmove(&idx[i], &idx[i + 1], (left - i - 1) * sizeof(idx[0]));
                    left--;
                    is_dropped = true;
                }
            }
            if (!is_dropped)
                return LG_ERR;
        }
    }
    tri[out++] = p[idx[0]];
    tri[out++] = p[idx[1]];
    tri[out++] = p[idx[2]];
    /* Pad with empty triangles so that the caller always gets n - 2. */
    while (out < 3 * (n - 2)) {
        tri[out] = tri[out - 3];
        out++;
    }
    return LG_OK;
}

void lg_planar_circle(double lon, double lat, double radius_m, lg_pt_t *out)
{
    /* The same operations, in the same order, as sql/counts.sql lg_counts_circle. */
    double phi1 = lat * (M_PI / 180.0), lambda1 = lon * (M_PI / 180.0);
    double delta = radius_m / LG_PLANAR_EARTH_M;
    for (int i = 0; i < LG_PLANAR_CIRCLE_POINTS; i++) {
        double theta = 2.0 * M_PI * i / LG_PLANAR_CIRCLE_POINTS;
        double phi2 = asin(sin(phi1) * cos(delta) + cos(phi1) * sin(delta) * cos(theta));
        double lambda2 = lambda1 + atan2(sin(theta) * sin(delta) * cos(phi1),
                                         cos(delta) - sin(phi1) * sin(phi2));
        out[i].x = lambda2 * (180.0 / M_PI);
        out[i].y = phi2 * (180.0 / M_PI);
    }
}

double lg_planar_circle_area_m2(double radius_m)
{
    double r = radius_m > 1e8 ? 1e8 : radius_m;
    return 2 * M_PI * LG_PLANAR_EARTH_M * LG_PLANAR_EARTH_M *
           (1 - cos(fmin(r / LG_PLANAR_EARTH_M, M_PI)));
}

double lg_planar_polygon_area_m2(const lg_pt_t *p, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        lg_pt_t a = p[i], b = p[(i + 1) % n];
        sum += (b.x - a.x) * (M_PI / 180.0) *
               (2 + sin(a.y * (M_PI / 180.0)) + sin(b.y * (M_PI / 180.0)));
    }
    return fabs(sum * LG_PLANAR_EARTH_M * LG_PLANAR_EARTH_M / 2);
}
