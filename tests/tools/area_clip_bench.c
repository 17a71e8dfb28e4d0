/* SPDX-License-Identifier: Apache-2.0 */
/*
 * area-clip-bench: measures, per CAMARA POLYGON area, the two steps of the
 * in-memory count evaluator (service/counts/counteval.c) that GEOS could do,
 * hand-written (planar.c) against GEOS (geos_c.h):
 *   - validity: lg_planar_check_simple against GEOSisValidDetail_r (with a
 *     GEOS context made per area, as counteval.c does, and with one context
 *     kept), and whether the two agree;
 *   - clipping: the planar area of every cell whose box meets the area's box
 *     inside the area: Sutherland-Hodgman against the area (convex) or its
 *     ear-clipped triangles, against GEOSIntersection_r + GEOSArea_r, and
 *     against a prepared area (GEOSPreparedContains_r for whole cells, the
 *     intersection for the others); and the largest difference of the sums.
 * Areas: --areas random polygons of 3..15 points (seeded; one in ten with
 * its points shuffled, mostly self-intersecting) of 1..3 km over a grid of
 * --cell-m square cells. Prints one line per step, microseconds per area:
 *   RESULT step=S hand_us=H geos_us=G ...
 * The grid walk and the shortcuts of the evaluator (whole squares, the
 * chains' edge selection) are left out on both sides: this compares the
 * geometry alone. A measurement, not a test: nothing is asserted.
 */
#include "locguard/counts/planar.h"

#include <geos_c.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define X0 2.20 /* the grid of cells: [X0, X0 + W] x [Y0, Y0 + H] degrees */
#define Y0 48.70
#define W  0.40
#define H  0.30

typedef struct area {
    lg_pt_t p[16];
    size_t n;
    bool is_valid_hand, is_valid_geos;
} area_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double uniform(unsigned *seed)
{
    return (double)rand_r(seed) / ((double)RAND_MAX + 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A star-shaped polygon around a random centre; shuffled when is_shuffled. */
static void make_area(area_t *a, unsigned *seed, bool is_shuffled)
{
    double cx = X0 + 0.05 + uniform(seed) * (W - 0.1), cy = Y0 + 0.05 + uniform(seed) * (H - 0.1);
    double angles[15];
    a->n = 3 + (size_t)(uniform(seed) * 13);
    for (size_t i = 0; i < a->n; i++)
        angles[i] = uniform(seed) * 2 * M_PI;
    qsort(angles, a->n, sizeof(double), cmp_double);
    for (size_t i = 0; i < a->n; i++) {
        double r = 0.01 + uniform(seed) * 0.02; /* degrees: about 1..3 km */
        a->p[i] =
            (lg_pt_t){cx + r * cos(angles[i]) / cos(cy * M_PI / 180), cy + r * sin(angles[i])};
    }
    for (size_t i = a->n - 1; is_shuffled && i > 0; i--) {
        size_t j = (size_t)(uniform(seed) * (double)(i + 1));
        lg_pt_t t = a->p[i];
        a->p[i] = a->p[j];
        a->p[j] = t;
    }
}

static GEOSGeometry *polygon(GEOSContextHandle_t h, const lg_pt_t *p, size_t n)
{
    GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, (unsigned)n + 1, 2);
    for (size_t i = 0; i <= n; i++)
        GEOSCoordSeq_setXY_r(h, seq, (unsigned)i, p[i % n].x, p[i % n].y);
    return GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, seq), NULL, 0);
}

/* GEOS's verdict, as counteval.c asks for it. */
static bool geos_valid(GEOSContextHandle_t h, const area_t *a)
{
    GEOSGeometry *g = polygon(h, a->p, a->n);
    char *reason = NULL;
    GEOSGeometry *location = NULL;
    char v = GEOSisValidDetail_r(h, g, 0, &reason, &location);
    if (reason != NULL)
        GEOSFree_r(h, reason);
    if (location != NULL)
        GEOSGeom_destroy_r(h, location);
    GEOSGeom_destroy_r(h, g);
    return v == 1;
}

/* The cells (as 4-point rings) whose box meets box. */
static size_t cells_near(lg_box_t box, double side, lg_pt_t (*cells)[4], size_t max)
{
    size_t n = 0;
    long i0 = (long)floor((box.x0 - X0) / side), i1 = (long)floor((box.x1 - X0) / side);
    long j0 = (long)floor((box.y0 - Y0) / side), j1 = (long)floor((box.y1 - Y0) / side);
    for (long j = j0; j <= j1; j++)
        for (long i = i0; i <= i1 && n < max; i++) {
            double x = X0 + (double)i * side, y = Y0 + (double)j * side;
            cells[n][0] = (lg_pt_t){x, y};
            cells[n][1] = (lg_pt_t){x + side, y};
            cells[n][2] = (lg_pt_t){x + side, y + side};
            cells[n][3] = (lg_pt_t){x, y + side};
            n++;
        }
    return n;
}

/* Hand-written: the area inside a of each cell, summed. */
static double clip_hand(const area_t *a, lg_pt_t (*cells)[4], size_t n_cells,
                        lg_planar_scratch_t *scratch)
{
    lg_pt_t ring[16], tri[3 * 16];
    size_t n = a->n;
    memcpy(ring, a->p, n * sizeof(*ring));
    lg_planar_dedup(ring, &n);
    if (lg_planar_ring_area(ring, n) < 0)
        lg_planar_reverse(ring, n);
    double sum = 0;
    if (lg_planar_is_convex_ccw(ring, n)) {
        for (size_t c = 0; c < n_cells; c++)
            sum += lg_planar_clip_area(cells[c], 4, ring, n, scratch);
        return sum;
    }
    if (lg_planar_triangulate(ring, n, tri) != LG_OK)
        return NAN;
    lg_box_t tbox[16];
    for (size_t t = 0; t + 2 < n; t++)
        tbox[t] = lg_planar_ring_box(&tri[3 * t], 3);
    for (size_t c = 0; c < n_cells; c++)
        for (size_t t = 0; t + 2 < n; t++) {
            lg_box_t cb = {cells[c][0].x, cells[c][0].y, cells[c][2].x, cells[c][2].y};
            if (cb.x0 > tbox[t].x1 || tbox[t].x0 > cb.x1 || cb.y0 > tbox[t].y1 ||
                tbox[t].y0 > cb.y1)
                continue;
            sum += lg_planar_clip_area(cells[c], 4, &tri[3 * t], 3, scratch);
        }
    return sum;
}

/* GEOS: the intersection of each cell with a, its area summed; prepared: whole cells first. */
static double clip_geos(GEOSContextHandle_t h, const area_t *a, lg_pt_t (*cells)[4], size_t n_cells,
                        bool is_prepared)
{
    GEOSGeometry *g = polygon(h, a->p, a->n);
    const GEOSPreparedGeometry *pg = is_prepared ? GEOSPrepare_r(h, g) : NULL;
    double sum = 0;
    for (size_t c = 0; c < n_cells; c++) {
        GEOSGeometry *cell = polygon(h, cells[c], 4);
        double area = 0;
        if (pg != NULL && GEOSPreparedContains_r(h, pg, cell) == 1) {
            GEOSArea_r(h, cell, &area);
        } else if (pg == NULL || GEOSPreparedIntersects_r(h, pg, cell) == 1) {
            GEOSGeometry *x = GEOSIntersection_r(h, g, cell);
            if (x != NULL) {
                GEOSArea_r(h, x, &area);
                GEOSGeom_destroy_r(h, x);
            }
        }
        sum += area;
        GEOSGeom_destroy_r(h, cell);
    }
    if (pg != NULL)
        GEOSPreparedGeom_destroy_r(h, pg);
    GEOSGeom_destroy_r(h, g);
    return sum;
}

int main(int argc, char **argv)
{
    int n_areas = 1000;
    double cell_m = 250;
    unsigned seed = 7;
    static const struct option longopts[] = {
        {"areas", required_argument, NULL, 'n'},
        {"cell-m", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    for (int o; (o = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        switch (o) {
        case 'n':
            n_areas = atoi(optarg);
            break;
        case 'c':
            cell_m = atof(optarg);
            break;
        case 's':
            seed = (unsigned)atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [--areas N] [--cell-m M] [--seed S]\n", argv[0]);
            return 2;
        }
    }
    if (n_areas < 1 || !(cell_m >= 50)) {
        fprintf(stderr, "area-clip-bench: --areas >= 1, --cell-m >= 50\n");
        return 2;
    }
    double side = cell_m / 111195.0; /* degrees, as squares in lon/lat */
    area_t *areas = calloc((size_t)n_areas, sizeof(*areas));
    for (int i = 0; i < n_areas; i++)
        make_area(&areas[i], &seed, i % 10 == 9);

    /* Validity. */
    GEOSContextHandle_t h = GEOS_init_r();
    double t0 = now_s();
    size_t n_valid_hand = 0;
    for (int i = 0; i < n_areas; i++) {
        lg_pt_t ring[16];
        size_t n = areas[i].n;
        memcpy(ring, areas[i].p, n * sizeof(*ring));
        lg_planar_dedup(ring, &n);
        areas[i].is_valid_hand = lg_planar_check_simple(ring, n) == NULL;
        n_valid_hand += areas[i].is_valid_hand;
    }
    double t_hand = now_s() - t0;
    t0 = now_s();
    for (int i = 0; i < n_areas; i++) {
        GEOSContextHandle_t hi = GEOS_init_r();
        areas[i].is_valid_geos = geos_valid(hi, &areas[i]);
        GEOS_finish_r(hi);
    }
    double t_geos_ctx = now_s() - t0;
    t0 = now_s();
    size_t n_valid_geos = 0, n_disagree = 0;
    for (int i = 0; i < n_areas; i++) {
        bool v = geos_valid(h, &areas[i]);
        n_valid_geos += v;
        n_disagree += v != areas[i].is_valid_hand;
    }
    double t_geos = now_s() - t0;
    printf("RESULT step=validity areas=%d valid=%zu hand_us=%.2f geos_us=%.2f "
           "geos_context_per_area_us=%.2f disagreements=%zu\n",
           n_areas, n_valid_geos, t_hand / n_areas * 1e6, t_geos / n_areas * 1e6,
           t_geos_ctx / n_areas * 1e6, n_disagree);

    /* Clipping, valid areas only. */
    size_t max_cells = 1 << 16, total_cells = 0, n_clipped = 0;
    lg_pt_t(*cells)[4] = malloc(max_cells * sizeof(*cells));
    lg_planar_scratch_t scratch = {0};
    double t_clip_hand = 0, t_clip_geos = 0, t_clip_prep = 0, worst = 0;
    for (int i = 0; i < n_areas; i++) {
        if (!areas[i].is_valid_geos)
            continue;
        size_t n_cells =
            cells_near(lg_planar_ring_box(areas[i].p, areas[i].n), side, cells, max_cells);
        total_cells += n_cells;
        n_clipped++;
        t0 = now_s();
        double a_hand = clip_hand(&areas[i], cells, n_cells, &scratch);
        t_clip_hand += now_s() - t0;
        t0 = now_s();
        double a_geos = clip_geos(h, &areas[i], cells, n_cells, false);
        t_clip_geos += now_s() - t0;
        t0 = now_s();
        double a_prep = clip_geos(h, &areas[i], cells, n_cells, true);
        t_clip_prep += now_s() - t0;
        double ref = fabs(lg_planar_ring_area(areas[i].p, areas[i].n));
        worst = fmax(worst, fmax(fabs(a_hand - a_geos), fabs(a_prep - a_geos)) / ref);
    }
    printf("RESULT step=clipping areas=%zu cells_per_area=%.0f hand_us=%.2f geos_us=%.2f "
           "geos_prepared_us=%.2f max_rel_diff=%.2g\n",
           n_clipped, (double)total_cells / (double)(n_clipped ? n_clipped : 1),
           t_clip_hand / (double)(n_clipped ? n_clipped : 1) * 1e6,
           t_clip_geos / (double)(n_clipped ? n_clipped : 1) * 1e6,
           t_clip_prep / (double)(n_clipped ? n_clipped : 1) * 1e6, worst);
    lg_planar_scratch_free(&scratch);
    free(cells);
    free(areas);
    GEOS_finish_r(h);
    return 0;
}
