/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the in-memory count evaluator: service/counts/counteval.c, its
 * geometry (countgeo.c) and its loader (countmap.c).
 *
 * Without a database: the evaluator against releases worked by hand (whole
 * cells, partial shares, holes, a non-convex area, rounding half away from
 * zero, intervals, statuses and their order, the refusals and their exact
 * messages).
 *
 * With a database (LG_TEST_DATABASE, a scratch one: the cell and count
 * tables are emptied; run by `make dbunit`): the live map loads the cells,
 * coverage pieces and releases through the asynchronous pool, and for
 * hundreds of random circles and polygons over a population of irregular
 * cells (jittered quadrilaterals, a cell with a hole, a two-part cell, gaps
 * in coverage) its answer equals sql/counts.sql lg_counts_query's: count,
 * status, and for refusals the CAMARA code and message. Then a cell change
 * and a new release are picked up. LG_CROSS_CHECK_SEED=N draws another
 * population and other areas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>

#include "../dbtest.h"
#include "locguard/counts/camara.h"
#include "locguard/counts/countmap.h"
#include "locguard/core/log.h"

#define X0 2.30 /* the hand-made grid: 3 x 3 cells of 0.02 degrees from (X0, Y0) */
#define Y0 48.80
#define D  0.02
#define US INT64_C(1000000)

static const char *conninfo;

/* ---- the hand-made snapshot ---- */

static lg_pt_t box_pt(double x, double y)
{
    return (lg_pt_t){x, y};
}

/* Adds the square cell (i, j); with a hole of half its side at its centre when has_hole. */
static void add_cell(lg_countgeo_t *g, int i, int j, bool has_hole)
{
    double x = X0 + i * D, y = Y0 + j * D, q = D / 4;
    lg_pt_t pts[8] = {box_pt(x, y),
                      box_pt(x + D, y),
                      box_pt(x + D, y + D),
                      box_pt(x, y + D),
                      box_pt(x + q, y + q),
                      box_pt(x + q, y + 3 * q),
                      box_pt(x + 3 * q, y + 3 * q),
                      box_pt(x + 3 * q, y + q)};
    size_t len[2] = {4, 4};
    bool hole[2] = {false, true};
    lg_countgeo_add_rings(g, false, pts, len, hole, has_hole ? 2 : 1);
}

/*
 * Cells (i, j) in cell_key order 00 01 02 10 11 12 20 21 22 (index 3 i + j);
 * cell 22 has a hole of a quarter of its area. One coverage piece: the grid.
 * Releases: 1 (2100, the latest): 00 = 14, 10 = 2, 01 = -3, 11 = 25,
 * 22 = 40; 2 and 3 (2020-03-01 00:00 and 01:00, an hour each): 11 = 20 and
 * 11 = 31. Horizon 2019-01-01.
 */
static lg_counteval_snap_t *hand_snapshot(void)
{
    lg_countgeo_t *g = lg_countgeo_new(1);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            add_cell(g, i, j, i == 2 && j == 2);
    lg_pt_t piece[4] = {box_pt(X0, Y0), box_pt(X0 + 3 * D, Y0), box_pt(X0 + 3 * D, Y0 + 3 * D),
                        box_pt(X0, Y0 + 3 * D)};
    size_t len = 4;
    bool hole = false;
    lg_countgeo_add_rings(g, true, piece, &len, &hole, 1);
    lg_countgeo_finish(g);

    int64_t t2020 = INT64_C(1583020800) * US;
    struct {
        int64_t id, start, end;
        int64_t v[9];
    } rel[] = {
        {1, INT64_C(4102444800) * US, INT64_C(4102531200) * US, {14, -3, 0, 2, 25, 0, 0, 0, 40}},
        {2, t2020, t2020 + 3600 * US, {0, 0, 0, 0, 20, 0, 0, 0, 0}},
        {3, t2020 + 3600 * US, t2020 + 7200 * US, {0, 0, 0, 0, 31, 0, 0, 0, 0}},
    };
    lg_counteval_rel_t *rels[3];
    for (int r = 0; r < 3; r++) {
        int64_t *noisy = malloc(9 * sizeof(int64_t));
        memcpy(noisy, rel[r].v, sizeof(rel[r].v));
        rels[r] = lg_counteval_rel_new(g, rel[r].id, rel[r].start, rel[r].end, noisy, 9);
        assert_non_null(rels[r]);
    }
    lg_counteval_snap_t *s = lg_counteval_snap_new(g, rels, 3, INT64_C(1546300800) * US);
    for (int r = 0; r < 3; r++)
        lg_counteval_rel_unref(rels[r]);
    lg_countgeo_unref(g);
    return s;
}

static lg_planar_area_t box_area(double x0, double y0, double x1, double y1)
{
    lg_planar_area_t a = {.n_boundary = 4};
    a.boundary[0] = box_pt(x0, y0);
    a.boundary[1] = box_pt(x1, y0);
    a.boundary[2] = box_pt(x1, y1);
    a.boundary[3] = box_pt(x0, y1);
    return a;
}

static const lg_counteval_params_t params = {10, 1e6, 5e10};

/* Asks s; checks the status and (when want_count != INT64_MIN) the count. */
static void expect(const lg_counteval_snap_t *s, const lg_planar_area_t *a,
                   const lg_counteval_params_t *p, bool has_interval, int64_t start_us,
                   int64_t end_us, const char *status, int64_t want_count)
{
    lg_counteval_answer_t ans;
    lg_counteval_answer(s, a, has_interval, start_us, end_us, p, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_ANSWERED);
    assert_string_equal(ans.status, status);
    if (want_count == INT64_MIN) {
        assert_false(ans.has_count);
    } else {
        assert_true(ans.has_count);
        assert_int_equal(ans.count, want_count);
    }
    lg_counteval_answer_cleanup(&ans);
}

static void test_whole_and_partial_cells(void **state)
{
    (void)state;
    lg_counteval_snap_t *s = hand_snapshot();
    lg_planar_area_t a = box_area(X0, Y0, X0 + D, Y0 + D);
    expect(s, &a, &params, false, 0, 0, "SUPPORTED_AREA", 14);
    a = box_area(X0 + D, Y0, X0 + 2 * D, Y0 + D); /* 2: below k */
    expect(s, &a, &params, false, 0, 0, "DENSITY_BELOW_PRIVACY_THRESHOLD", INT64_MIN);
    a = box_area(X0, Y0, X0 + 2 * D, Y0 + 2 * D); /* 14 + 2 - 3 + 25 */
    expect(s, &a, &params, false, 0, 0, "SUPPORTED_AREA", 38);
    /* 35 % of cell 11: 8.75 -> 9 (below k; with k = 1 the count), 65 %: 16.25 -> 16. */
    a = box_area(2.320, 48.82, 2.327, 48.84);
    expect(s, &a, &params, false, 0, 0, "DENSITY_BELOW_PRIVACY_THRESHOLD", INT64_MIN);
    lg_counteval_params_t k1 = {1, 1e6, 5e10};
    expect(s, &a, &k1, false, 0, 0, "SUPPORTED_AREA", 9);
    a = box_area(2.327, 48.82, 2.340, 48.84);
    expect(s, &a, &params, false, 0, 0, "SUPPORTED_AREA", 16);
    lg_counteval_snap_unref(s);
}

static void test_rounding_is_half_away_from_zero(void **state)
{
    (void)state;
    lg_counteval_snap_t *s = hand_snapshot();
    lg_counteval_params_t any = {INT_MIN, 1e6, 5e10};
    /* Half of cell 01 (-3): -1.5 -> -2; half of cell 11 (25): 12.5 -> 13. */
    lg_planar_area_t a = box_area(X0, Y0 + D, X0 + D / 2, Y0 + 2 * D);
    expect(s, &a, &any, false, 0, 0, "SUPPORTED_AREA", -2);
    a = box_area(X0 + D, Y0 + D, X0 + 1.5 * D, Y0 + 2 * D);
    expect(s, &a, &any, false, 0, 0, "SUPPORTED_AREA", 13);
    lg_counteval_snap_unref(s);
}

static void test_holes_and_non_convex_areas(void **state)
{
    (void)state;
    lg_counteval_snap_t *s = hand_snapshot();
    /* Cell 22 (40) whole, and its left half: half of (cell - hole) over (cell - hole). */
    lg_planar_area_t a = box_area(X0 + 2 * D, Y0 + 2 * D, X0 + 3 * D, Y0 + 3 * D);
    expect(s, &a, &params, false, 0, 0, "SUPPORTED_AREA", 40);
    a = box_area(X0 + 2 * D, Y0 + 2 * D, X0 + 2.5 * D, Y0 + 3 * D);
    expect(s, &a, &params, false, 0, 0, "SUPPORTED_AREA", 20);
    /* An L over cells 00, 10 and 01 (not 11): 14 + 2 - 3. */
    lg_planar_area_t l = {.n_boundary = 6};
    l.boundary[0] = box_pt(X0, Y0);
    l.boundary[1] = box_pt(X0 + 2 * D, Y0);
    l.boundary[2] = box_pt(X0 + 2 * D, Y0 + D);
    l.boundary[3] = box_pt(X0 + D, Y0 + D);
    l.boundary[4] = box_pt(X0 + D, Y0 + 2 * D);
    l.boundary[5] = box_pt(X0, Y0 + 2 * D);
    expect(s, &l, &params, false, 0, 0, "SUPPORTED_AREA", 13);
    /* The same L clockwise. */
    for (int i = 0; i < 3; i++) {
        lg_pt_t t = l.boundary[i];
        l.boundary[i] = l.boundary[5 - i];
        l.boundary[5 - i] = t;
    }
    expect(s, &l, &params, false, 0, 0, "SUPPORTED_AREA", 13);
    lg_counteval_snap_unref(s);
}

static void test_coverage_statuses_and_intervals(void **state)
{
    (void)state;
    lg_counteval_snap_t *s = hand_snapshot();
    /* Cell 00 and a strip west half its width: 2/3 covered; twice its width: 1/3. */
    lg_planar_area_t a = box_area(X0 - D / 2, Y0, X0 + D, Y0 + D);
    expect(s, &a, &params, false, 0, 0, "PART_OF_AREA_NOT_SUPPORTED", 14);
    a = box_area(X0 - 2 * D, Y0, X0 + D, Y0 + D);
    expect(s, &a, &params, false, 0, 0, "AREA_NOT_SUPPORTED", INT64_MIN);
    /* AREA_NOT_SUPPORTED comes before TIME_INTERVAL_NO_DATA_FOUND. */
    int64_t t2020 = INT64_C(1583020800) * US;
    expect(s, &a, &params, true, t2020 - 86400 * US, t2020 - 3600 * US, "AREA_NOT_SUPPORTED",
           INT64_MIN);
    /* Cell 11 over the two 2020 releases: (20 + 31) / 2 = 25.5 -> 26; the first alone: 20. */
    a = box_area(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D);
    expect(s, &a, &params, true, t2020, t2020 + 7200 * US, "SUPPORTED_AREA", 26);
    expect(s, &a, &params, true, t2020, t2020 + 3600 * US, "SUPPORTED_AREA", 20);
    expect(s, &a, &params, true, t2020 - 86400 * US, t2020 - 3600 * US,
           "TIME_INTERVAL_NO_DATA_FOUND", INT64_MIN);
    /* Before the horizon: not from memory. */
    lg_counteval_answer_t ans;
    lg_counteval_answer(s, &a, true, INT64_C(1514764800) * US, t2020, &params, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_FALLBACK);
    lg_counteval_answer_cleanup(&ans);
    /* A circle inside cell 11 (0.02 degrees is 1.46 km east-west here): share of 25. */
    lg_planar_area_t c = {
        .is_circle = true, .lat = Y0 + 1.5 * D, .lon = X0 + 1.5 * D, .radius_m = 600};
    lg_counteval_params_t k1 = {1, 1e5, 5e10};
    lg_counteval_answer(s, &c, false, 0, 0, &k1, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_ANSWERED);
    assert_string_equal(ans.status, "SUPPORTED_AREA");
    /* pi 600^2 over the cell's 1464 m x 2224 m: 0.347 of 25 = 8.7 -> 9. */
    assert_int_equal(ans.count, 9);
    assert_int_equal(ans.n_releases, 1);
    assert_int_equal(ans.releases[0], 1);
    lg_counteval_answer_cleanup(&ans);
    lg_counteval_snap_unref(s);
}

static void expect_refusal(const lg_planar_area_t *a, const char *code, const char *message)
{
    lg_counteval_snap_t *s = hand_snapshot();
    lg_counteval_answer_t ans;
    lg_counteval_answer(s, a, false, 0, 0, &params, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_REFUSED);
    assert_string_equal(ans.code, code);
    assert_string_equal(ans.message, message);
    lg_counteval_answer_cleanup(&ans);
    lg_counteval_snap_unref(s);
}

static void test_refusals_have_lg_counts_area_messages(void **state)
{
    (void)state;
    lg_planar_area_t bowtie = {.n_boundary = 4};
    bowtie.boundary[0] = box_pt(2.30, 48.80);
    bowtie.boundary[1] = box_pt(2.32, 48.82);
    bowtie.boundary[2] = box_pt(2.32, 48.80);
    bowtie.boundary[3] = box_pt(2.30, 48.82);
    expect_refusal(&bowtie, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA",
                   "The polygon is self-intersecting.");
    lg_planar_area_t tiny = box_area(2.3000, 48.8000, 2.3014, 48.8009);
    expect_refusal(&tiny, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA",
                   "The polygon is smaller than the minimum area of 1000000 square metres.");
    lg_planar_area_t huge = box_area(0, 40, 5, 45);
    expect_refusal(&huge, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA",
                   "The polygon is larger than the maximum area of 50000000000 square metres.");
    lg_planar_area_t flat = {.n_boundary = 3};
    flat.boundary[0] = flat.boundary[1] = flat.boundary[2] = box_pt(2.3, 48.8);
    expect_refusal(&flat, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA",
                   "The polygon is degenerate (its points do not enclose an area).");
    lg_planar_area_t small = {.is_circle = true, .lat = 48.81, .lon = 2.31, .radius_m = 300};
    expect_refusal(&small, "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA",
                   "The circle is smaller than the minimum area of 1000000 square metres.");
    lg_planar_area_t large = {.is_circle = true, .lat = 48.81, .lon = 2.31, .radius_m = 200000};
    expect_refusal(&large, "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA",
                   "The circle is larger than the maximum area of 50000000000 square metres.");
}

/* A POLYGON of the n points xy (lon, lat pairs). */
static lg_planar_area_t polygon_of(const double *xy, size_t n)
{
    lg_planar_area_t a = {.n_boundary = n};
    for (size_t i = 0; i < n; i++)
        a.boundary[i] = box_pt(xy[2 * i], xy[2 * i + 1]);
    return a;
}

/*
 * Validity is GEOS's, as ST_IsValidDetail's in lg_counts_area (PostGIS
 * with GEOS 3.11 gives these reasons): a ring touching itself ("Ring
 * Self-intersection"), a spike and a flat triangle ("Self-intersection")
 * are self-intersecting; repeated points are valid.
 */
static void test_polygon_validity_is_geos_s(void **state)
{
    static const double touch[] = {2.30, 48.80, 2.34, 48.80, 2.34, 48.84, 2.32, 48.80, 2.30, 48.84};
    static const double spike[] = {2.30, 48.80, 2.34, 48.80, 2.34, 48.84,
                                   2.34, 48.82, 2.34, 48.86, 2.30, 48.84};
    static const double flat[] = {2.30, 48.80, 2.32, 48.80, 2.34, 48.80};
    static const double repeats[] = {2.30, 48.80, 2.30, 48.80, 2.34, 48.80,
                                     2.34, 48.84, 2.34, 48.84, 2.30, 48.84};
    (void)state;
    const struct {
        const double *xy;
        size_t n;
    } refused[] = {{touch, 5}, {spike, 6}, {flat, 3}};
    for (size_t i = 0; i < LG_ARRAY_SIZE(refused); i++) {
        lg_planar_area_t a = polygon_of(refused[i].xy, refused[i].n);
        expect_refusal(&a, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA",
                       "The polygon is self-intersecting.");
    }
    lg_counteval_snap_t *s = hand_snapshot();
    lg_planar_area_t a = polygon_of(repeats, 6);
    lg_counteval_answer_t ans;
    lg_counteval_answer(s, &a, false, 0, 0, &params, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_ANSWERED);
    lg_counteval_answer_cleanup(&ans);
    lg_counteval_snap_unref(s);
}

static void test_answer_text(void **state)
{
    (void)state;
    char buf[96];
    lg_counteval_answer_t ans = {.outcome = LG_COUNTEVAL_ANSWERED,
                                 .status = "SUPPORTED_AREA",
                                 .has_count = true,
                                 .count = 14};
    lg_counteval_answer_json(&ans, buf, sizeof(buf));
    assert_string_equal(buf, "{\"count\": 14, \"status\": \"SUPPORTED_AREA\"}");
    ans.has_count = false;
    ans.status = "AREA_NOT_SUPPORTED";
    lg_counteval_answer_json(&ans, buf, sizeof(buf));
    assert_string_equal(buf, "{\"status\": \"AREA_NOT_SUPPORTED\"}");
}

/* Little-endian WKB writers. */
static size_t put_u32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return 4;
}

static size_t put_pt(unsigned char *b, double x, double y)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    memcpy(&u, &y, 8);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)(u >> (8 * i));
    return 16;
}

/* A WKB Polygon: the square [x, x + d]^2, with the hole [x + d/4, x + 3d/4]^2 when has_hole. */
static size_t put_square(unsigned char *b, double x, double d, bool has_hole)
{
    size_t n = 0;
    b[n++] = 1;
    n += put_u32(b + n, 3);
    n += put_u32(b + n, has_hole ? 2 : 1);
    n += put_u32(b + n, 5);
    n += put_pt(b + n, x, 0);
    n += put_pt(b + n, x + d, 0);
    n += put_pt(b + n, x + d, d);
    n += put_pt(b + n, x, d);
    n += put_pt(b + n, x, 0);
    if (has_hole) {
        double q = d / 4;
        n += put_u32(b + n, 5);
        n += put_pt(b + n, x + q, q);
        n += put_pt(b + n, x + q, 3 * q);
        n += put_pt(b + n, x + 3 * q, 3 * q);
        n += put_pt(b + n, x + 3 * q, q);
        n += put_pt(b + n, x + q, q);
    }
    return n;
}

static void test_wkb_cells_and_pieces(void **state)
{
    (void)state;
    unsigned char b[1024];
    lg_countgeo_t *g = lg_countgeo_new(7);
    /* A MultiPolygon of two squares, one with a hole: area 1 - 1/4 + 1. */
    size_t n = 0;
    b[n++] = 1;
    n += put_u32(b + n, 6);
    n += put_u32(b + n, 2);
    n += put_square(b + n, 0, 1, true);
    n += put_square(b + n, 2, 1, false);
    assert_int_equal(lg_countgeo_add_wkb(g, false, b, n), LG_OK);
    /* Truncated: refused, nothing added. */
    assert_int_equal(lg_countgeo_add_wkb(g, false, b, n - 3), LG_ERR);
    /* A collection of a point, a line and a rectangle: the rectangle. */
    n = 0;
    b[n++] = 1;
    n += put_u32(b + n, 7);
    n += put_u32(b + n, 3);
    b[n++] = 1;
    n += put_u32(b + n, 1);
    n += put_pt(b + n, 9, 9);
    b[n++] = 1;
    n += put_u32(b + n, 2);
    n += put_u32(b + n, 2);
    n += put_pt(b + n, 9, 9);
    n += put_pt(b + n, 10, 10);
    b[n++] = 1;
    n += put_u32(b + n, 3);
    n += put_u32(b + n, 1);
    n += put_u32(b + n, 5);
    n += put_pt(b + n, 0, 0);
    n += put_pt(b + n, 4, 0);
    n += put_pt(b + n, 4, 1);
    n += put_pt(b + n, 0, 1);
    n += put_pt(b + n, 0, 0);
    assert_int_equal(lg_countgeo_add_wkb(g, true, b, n), LG_OK);
    /* A curve (type 10) is not ours. */
    n = 0;
    b[n++] = 1;
    n += put_u32(b + n, 10);
    n += put_u32(b + n, 0);
    assert_int_equal(lg_countgeo_add_wkb(g, true, b, n), LG_ERR);
    lg_countgeo_finish(g);
    assert_int_equal(lg_countgeo_cells(g), 1);

    /* One release: the cell holds 100; the area [0, 1] x [0, 1] holds 3/4 of the cell's 7/4. */
    int64_t *noisy = malloc(sizeof(int64_t));
    noisy[0] = 100;
    lg_counteval_rel_t *r = lg_counteval_rel_new(g, 5, 0, US, noisy, 1);
    lg_counteval_snap_t *s = lg_counteval_snap_new(g, &r, 1, 0);
    lg_counteval_rel_unref(r);
    lg_countgeo_unref(g);
    lg_counteval_params_t p = {1, 0, 1e15};
    /* [0, 1]^2 holds 3/4 of the cell's 7/4: 100 * 428571429 / 10^9 = 42.857 -> 43. */
    lg_planar_area_t a = box_area(0, 0, 1, 1);
    expect(s, &a, &p, false, 0, 0, "SUPPORTED_AREA", 43);
    /* [0, 6] x [0, 1]: the whole cell, 4/6 covered. */
    a = box_area(0, 0, 6, 1);
    expect(s, &a, &p, false, 0, 0, "PART_OF_AREA_NOT_SUPPORTED", 100);
    lg_counteval_snap_unref(s);
}

/* ---- against the database ---- */

typedef struct fixture {
    PGconn *sql;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
    lg_countmap_t *map;
} fixture_t;

static void exec(fixture_t *f, const char *sql)
{
    dbtest_exec(f->sql, sql);
}

/* A deterministic generator (xorshift64*). */
static uint64_t rng = UINT64_C(0x9E3779B97F4A7C15);

static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

/*
 * A 16 x 16 grid of 0.01 degree cells from (5.0, 47.0) whose corners are
 * jittered (so cells are irregular quadrilaterals, some non-convex); cells
 * (3..5, 3..5) are missing (a gap in coverage), cell (10, 10) has a hole and
 * cell (12, 3) has a second part; three releases: the latest and two an
 * hour apart, all within the last day.
 */
static void make_population(fixture_t *f)
{
    enum { N = 16 };
    static double cx[N + 1][N + 1], cy[N + 1][N + 1];
    for (int i = 0; i <= N; i++)
        for (int j = 0; j <= N; j++) {
            cx[i][j] = 5.0 + i * 0.01 + (i > 0 && i < N ? (uniform() - 0.5) * 0.004 : 0);
            cy[i][j] = 47.0 + j * 0.01 + (j > 0 && j < N ? (uniform() - 0.5) * 0.004 : 0);
        }
    exec(f, "TRUNCATE count_release, count_release_cell, cell CASCADE");
    char *sql = malloc(1 << 20);
    size_t len =
        (size_t)snprintf(sql, 1 << 20, "INSERT INTO cell (cell_key, rat, coverage) VALUES ");
    bool is_first = true;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (i >= 3 && i <= 5 && j >= 3 && j <= 5)
                continue;
            char extra[400] = "";
            if (i == 10 && j == 10)
                snprintf(extra, sizeof(extra),
                         ",(%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)", 5.1025,
                         47.1025, 5.1025, 47.1065, 5.1065, 47.1065, 5.1065, 47.1025, 5.1025,
                         47.1025);
            len += (size_t)snprintf(
                sql + len, (1 << 20) - len,
                "%s('c%02d%02d','EUTRA',ST_GeomFromText('MULTIPOLYGON(((%.17g %.17g,%.17g "
                "%.17g,%.17g "
                "%.17g,%.17g %.17g,%.17g %.17g)%s)%s)',4326))",
                is_first ? "" : ",", i, j, cx[i][j], cy[i][j], cx[i + 1][j], cy[i + 1][j],
                cx[i + 1][j + 1], cy[i + 1][j + 1], cx[i][j + 1], cy[i][j + 1], cx[i][j], cy[i][j],
                extra,
                i == 12 && j == 3 ? ",((5.3 47.3,5.31 47.3,5.31 47.31,5.3 47.31,5.3 47.3))" : "");
            is_first = false;
        }
    exec(f, sql);
    free(sql);
    /* Releases: noisy counts between -5 and 40. */
    for (int r = 0; r < 3; r++) {
        char q[512];
        snprintf(q, sizeof(q),
                 "SELECT setseed(0.%d); SELECT lg_counts_store_release("
                 "date_trunc('hour', now()) - interval '%d hours', "
                 "date_trunc('hour', now()) - interval '%d hours', 1, 2, "
                 "array_agg(cell_key ORDER BY cell_key), "
                 "array_agg(floor(random() * 46)::bigint - 5 ORDER BY cell_key)) FROM cell",
                 r + 1, 3 - r, 2 - r);
        exec(f, q);
    }
}

/* Runs the loop until the map has made generation gen (at most 30 s). */
static void wait_generation(fixture_t *f, uint64_t gen)
{
    for (int i = 0; i < 3000 && lg_countmap_generation(f->map) < gen; i++)
        dbtest_spin(f->base, 10);
    assert_true(lg_countmap_generation(f->map) >= gen);
}

static int db_setup(void **state)
{
    if (conninfo == NULL)
        return 0;
    fixture_t *f = calloc(1, sizeof(*f));
    dbtest_open(conninfo, 2, &f->sql, &f->base, &f->metrics, &f->db);
    make_population(f);
    lg_countmap_config_t cfg = {.poll_ms = 100, .keep_days = 1};
    f->map = lg_countmap_new(f->base, f->db, &cfg);
    wait_generation(f, 1);
    *state = f;
    return 0;
}

static int db_teardown(void **state)
{
    fixture_t *f = *state;
    if (f == NULL)
        return 0;
    lg_countmap_free(f->map);
    dbtest_close(f->sql, f->base, f->metrics, f->db);
    free(f);
    return 0;
}

/* Compares the evaluator's and lg_counts_query's answers to the area JSON text. */
static int compare(fixture_t *f, const char *area_text, const char *start, const char *end,
                   int *n_fallback)
{
    const char *values[3] = {area_text, start, end};
    PGresult *res =
        PQexecParams(f->sql,
                     "SELECT lg_counts_query('cross-check', $1::jsonb, $2::timestamptz, "
                     "$3::timestamptz, 10, 100000, 1e10)::text",
                     3, NULL, values, NULL, NULL, 0);
    /* The area as the daemon gets it: from camara.c's validation of the body. */
    char body[2048];
    snprintf(body, sizeof(body), "{\"area\": %s}", area_text);
    json_t *normalised = NULL;
    lg_camara_count_t req;
    lg_camara_error_t verr;
    assert_int_equal(
        lg_camara_validate_count(body, strlen(body), lg_now_us(), &normalised, &req, &verr), LG_OK);
    json_decref(normalised);
    const lg_planar_area_t area = req.area;
    int64_t start_us = 0, end_us = 0;
    if (start != NULL) {
        PGresult *t = PQexecParams(f->sql,
                                   "SELECT (extract(epoch FROM $1::timestamptz) * 1e6)::bigint, "
                                   "(extract(epoch FROM $2::timestamptz) * 1e6)::bigint",
                                   2, NULL, values + 1, NULL, NULL, 0);
        start_us = atoll(PQgetvalue(t, 0, 0));
        end_us = atoll(PQgetvalue(t, 0, 1));
        PQclear(t);
    }
    lg_counteval_params_t p = {10, 1e5, 1e10};
    lg_counteval_answer_t ans;
    lg_counteval_answer(lg_countmap_snapshot(f->map), &area, start != NULL, start_us, end_us, &p,
                        &ans);
    int bad = 0;
    if (ans.outcome == LG_COUNTEVAL_FALLBACK) {
        (*n_fallback)++;
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (ans.outcome != LG_COUNTEVAL_REFUSED || hint == NULL || msg == NULL ||
            strcmp(hint, ans.code) != 0 || strcmp(msg, ans.message) != 0) {
            print_message("area %s: SQL refused (%s: %s), C outcome %d %s\n", area_text,
                          hint ? hint : "?", msg ? msg : PQerrorMessage(f->sql), ans.outcome,
                          ans.outcome == LG_COUNTEVAL_REFUSED ? ans.message : "");
            bad = 1;
        }
    } else {
        char mine[96] = "";
        if (ans.outcome == LG_COUNTEVAL_ANSWERED)
            lg_counteval_answer_json(&ans, mine, sizeof(mine));
        json_t *theirs = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        json_t *ours = json_loads(mine, 0, NULL);
        if (ours == NULL || !json_equal(theirs, ours)) {
            print_message("area %s: SQL %s, C %s (covered %.12f)\n", area_text,
                          PQgetvalue(res, 0, 0),
                          ans.outcome == LG_COUNTEVAL_REFUSED ? ans.message : mine, ans.covered);
            bad = 1;
        }
        json_decref(theirs);
        json_decref(ours);
    }
    lg_counteval_answer_cleanup(&ans);
    PQclear(res);
    return bad;
}

static void test_memory_answers_equal_lg_counts_query(void **state)
{
    if (conninfo == NULL)
        skip();
    fixture_t *f = *state;
    const lg_counteval_snap_t *s = lg_countmap_snapshot(f->map);
    assert_non_null(s);
    int bad = 0, n_fallback = 0, n = 0;
    char area[2048];
    /* Circles: centres over and around the grid, radii 150 m .. 12 km. */
    for (int i = 0; i < 300; i++, n++) {
        snprintf(area, sizeof(area),
                 "{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":%.6f,\"longitude\":%.6f},"
                 "\"radius\":%.1f}",
                 46.98 + uniform() * 0.2, 4.98 + uniform() * 0.2,
                 150 + uniform() * uniform() * 12000);
        bad += compare(f, area, NULL, NULL, &n_fallback);
    }
    /* Polygons: star-shaped (convex or not) of 3..15 points, and random ones (often crossing). */
    for (int i = 0; i < 300; i++, n++) {
        int pts = 3 + (int)(uniform() * 13);
        double lat = 46.99 + uniform() * 0.18, lon = 4.99 + uniform() * 0.18,
               r = 0.003 + uniform() * 0.06;
        bool is_random = i % 5 == 4;
        size_t len =
            (size_t)snprintf(area, sizeof(area), "{\"areaType\":\"POLYGON\",\"boundary\":[");
        for (int k = 0; k < pts; k++) {
            double a = 2 * M_PI * (k + (is_random ? uniform() * 3 : uniform() * 0.8)) / pts;
            double rr = r * (0.3 + 0.7 * uniform());
            len += (size_t)snprintf(area + len, sizeof(area) - len,
                                    "%s{\"latitude\":%.6f,\"longitude\":%.6f}", k ? "," : "",
                                    lat + rr * sin(a), lon + rr * cos(a) * 1.4);
        }
        snprintf(area + len, sizeof(area) - len, "]}");
        bad += compare(f, area, NULL, NULL, &n_fallback);
    }
    /* Intervals: the two older releases, each alone, and none. */
    PGresult *res = PQexec(f->sql, "SELECT to_char(date_trunc('hour', now()) - interval '3 hours', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ,"
                                   "to_char(date_trunc('hour', now()) - interval '1 hours', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                                   "to_char(date_trunc('hour', now()) - interval '2 hours', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    char t3[40], t1[40], t2[40];
    snprintf(t3, sizeof(t3), "%s", PQgetvalue(res, 0, 0));
    snprintf(t1, sizeof(t1), "%s", PQgetvalue(res, 0, 1));
    snprintf(t2, sizeof(t2), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    exec(f, "SET TIME ZONE 'UTC'");
    for (int i = 0; i < 60; i++, n++) {
        snprintf(area, sizeof(area),
                 "{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":%.6f,\"longitude\":%.6f},"
                 "\"radius\":%.1f}",
                 47.0 + uniform() * 0.16, 5.0 + uniform() * 0.16, 500 + uniform() * 5000);
        const char *start = i % 3 == 0 ? t3 : i % 3 == 1 ? t2 : t1;
        const char *end = i % 3 == 0 ? t1 : i % 3 == 1 ? t1 : t1;
        bad += compare(f, area, start, end, &n_fallback);
    }
    print_message("%d areas compared, %d fallbacks, %d differences\n", n, n_fallback, bad);
    assert_int_equal(bad, 0);
    assert_true(n_fallback <= n / 50);
}

static void test_cell_changes_and_new_releases_are_picked_up(void **state)
{
    if (conninfo == NULL)
        skip();
    fixture_t *f = *state;
    uint64_t gen = lg_countmap_generation(f->map);
    size_t cells = 0;
    /* A new cell bumps count_geo_version: the next poll reloads the geometry. */
    exec(f, "INSERT INTO cell (cell_key, rat, coverage) VALUES ('zz-new', 'EUTRA', "
            "ST_Multi(ST_MakeEnvelope(6, 48, 6.01, 48.01, 4326)))");
    wait_generation(f, gen + 1);
    const lg_counteval_snap_t *s = lg_countmap_snapshot(f->map);
    assert_non_null(s);
    (void)cells;
    /* Its release is all zeros for the new cell until a release holds it. */
    exec(
        f,
        "SELECT lg_counts_store_release(date_trunc('hour', now()), date_trunc('hour', now()) "
        "+ interval '1 hour', 1, 2, array_agg(cell_key ORDER BY cell_key), "
        "array_agg(CASE WHEN cell_key = 'zz-new' THEN 77 ELSE 0 END ORDER BY cell_key)) FROM cell");
    gen = lg_countmap_generation(f->map);
    lg_countmap_poke(f->map);
    wait_generation(f, gen + 1);
    lg_planar_area_t a = box_area(6, 48, 6.01, 48.01);
    lg_counteval_params_t p = {10, 1e5, 1e10};
    lg_counteval_answer_t ans;
    lg_counteval_answer(lg_countmap_snapshot(f->map), &a, false, 0, 0, &p, &ans);
    assert_int_equal(ans.outcome, LG_COUNTEVAL_ANSWERED);
    assert_string_equal(ans.status, "SUPPORTED_AREA");
    assert_int_equal(ans.count, 77);
    lg_counteval_answer_cleanup(&ans);
}

int main(void)
{
    conninfo = getenv("LG_TEST_DATABASE");
    /* Another seed, another population and other areas (the default is fixed). */
    if (getenv("LG_CROSS_CHECK_SEED") != NULL)
        rng ^= strtoull(getenv("LG_CROSS_CHECK_SEED"), NULL, 10) * UINT64_C(0x2545F4914F6CDD1D);
    lg_log_level = LG_LOG_WARN;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_whole_and_partial_cells),
        cmocka_unit_test(test_rounding_is_half_away_from_zero),
        cmocka_unit_test(test_holes_and_non_convex_areas),
        cmocka_unit_test(test_coverage_statuses_and_intervals),
        cmocka_unit_test(test_refusals_have_lg_counts_area_messages),
        cmocka_unit_test(test_polygon_validity_is_geos_s),
        cmocka_unit_test(test_answer_text),
        cmocka_unit_test(test_wkb_cells_and_pieces),
    };
    const struct CMUnitTest db[] = {
        cmocka_unit_test(test_memory_answers_equal_lg_counts_query),
        cmocka_unit_test(test_cell_changes_and_new_releases_are_picked_up),
    };
    int rc = cmocka_run_group_tests(pure, NULL, NULL);
    return rc | cmocka_run_group_tests(db, db_setup, db_teardown);
}
