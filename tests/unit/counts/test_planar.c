/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/counts/planar.c: clipped areas against values worked by
 * hand (squares, triangles, a circle, holes, a non-convex polygon through
 * its triangles, degenerate input), the simple-polygon check, and the
 * spherical sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "locguard/counts/planar.h"

#define EPS 1e-12

static const lg_pt_t unit_sq[] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};

static double clip(const lg_pt_t *s, size_t n, const lg_pt_t *c, size_t m)
{
    lg_planar_scratch_t scratch = {0};
    double a = lg_planar_clip_area(s, n, c, m, &scratch);
    lg_planar_scratch_free(&scratch);
    return a;
}

static void test_ring_area_is_signed_by_orientation(void **state)
{
    (void)state;
    lg_pt_t cw[] = {{0, 0}, {0, 1}, {1, 1}, {1, 0}};
    assert_true(fabs(lg_planar_ring_area(unit_sq, 4) - 1) < EPS);
    assert_true(fabs(lg_planar_ring_area(cw, 4) + 1) < EPS);
    /* Far from the origin, small: no digits lost. */
    lg_pt_t far[] = {
        {179.99, 89.99}, {179.99001, 89.99}, {179.99001, 89.99001}, {179.99, 89.99001}};
    assert_true(fabs(lg_planar_ring_area(far, 4) - 1e-10) < 1e-16);
}

static void test_square_overlaps(void **state)
{
    (void)state;
    lg_pt_t shifted[] = {{0.5, 0.5}, {1.5, 0.5}, {1.5, 1.5}, {0.5, 1.5}};
    assert_true(fabs(clip(unit_sq, 4, shifted, 4) - 0.25) < EPS);
    /* Subject inside the clip: its own area; clip inside the subject: the clip's. */
    lg_pt_t big[] = {{-1, -1}, {2, -1}, {2, 2}, {-1, 2}};
    assert_true(fabs(clip(unit_sq, 4, big, 4) - 1) < EPS);
    assert_true(fabs(clip(big, 4, unit_sq, 4) - 1) < EPS);
    /* A clockwise subject gives the same (positive) area. */
    lg_pt_t cw[] = {{0.5, 0.5}, {0.5, 1.5}, {1.5, 1.5}, {1.5, 0.5}};
    assert_true(fabs(clip(unit_sq, 4, cw, 4) - 0.25) < EPS ||
                fabs(clip(cw, 4, unit_sq, 4) - 0.25) < EPS);
    /* Disjoint, and touching along an edge only: nothing. */
    lg_pt_t away[] = {{3, 3}, {4, 3}, {4, 4}, {3, 4}};
    lg_pt_t touching[] = {{1, 0}, {2, 0}, {2, 1}, {1, 1}};
    assert_true(clip(away, 4, unit_sq, 4) == 0);
    assert_true(fabs(clip(touching, 4, unit_sq, 4)) < EPS);
}

static void test_triangle_overlaps(void **state)
{
    (void)state;
    lg_pt_t tri[] = {{0, 0}, {2, 0}, {0, 2}};
    /* The unit square lies inside the triangle x + y <= 2. */
    assert_true(fabs(clip(unit_sq, 4, tri, 3) - 1) < EPS);
    /* [1, 3] x [0, 2] inside the triangle: the triangle (1,0) (2,0) (1,1), 1/2. */
    lg_pt_t right[] = {{1, 0}, {3, 0}, {3, 2}, {1, 2}};
    assert_true(fabs(clip(right, 4, tri, 3) - 0.5) < EPS);
    /* The triangle clipped by the unit square: the square. */
    assert_true(fabs(clip(tri, 3, unit_sq, 4) - 1) < EPS);
}

static void test_circle_overlaps(void **state)
{
    (void)state;
    /* At the equator a small circle is round in lon/lat; its 64-gon has area 32 r^2 sin(2 pi / 64).
     */
    lg_pt_t circle[LG_PLANAR_CIRCLE_POINTS];
    double r_m = 1000, r_deg = r_m / LG_PLANAR_EARTH_M * 180 / M_PI;
    lg_planar_circle(0, 0, r_m, circle);
    double area = fabs(lg_planar_ring_area(circle, LG_PLANAR_CIRCLE_POINTS));
    double want = 32 * r_deg * r_deg * sin(2 * M_PI / 64);
    assert_true(fabs(area - want) / want < 1e-6);
    /* Bearings run clockwise: reversed, it is a convex counter-clockwise clip polygon. */
    assert_true(lg_planar_ring_area(circle, LG_PLANAR_CIRCLE_POINTS) < 0);
    lg_planar_reverse(circle, LG_PLANAR_CIRCLE_POINTS);
    assert_true(lg_planar_is_convex_ccw(circle, LG_PLANAR_CIRCLE_POINTS));
    /* The square of the first quadrant around its centre holds a quarter of it. */
    lg_pt_t quadrant[] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    double q = clip(quadrant, 4, circle, LG_PLANAR_CIRCLE_POINTS);
    assert_true(fabs(q - area / 4) / area < 1e-12);
    /* A small square at the centre is whole, and inside as a box. */
    lg_pt_t small[] = {{-r_deg / 4, -r_deg / 4},
                       {r_deg / 4, -r_deg / 4},
                       {r_deg / 4, r_deg / 4},
                       {-r_deg / 4, r_deg / 4}};
    assert_true(fabs(clip(small, 4, circle, LG_PLANAR_CIRCLE_POINTS) - r_deg * r_deg / 4) < 1e-18);
    lg_box_t b = {-r_deg / 4, -r_deg / 4, r_deg / 4, r_deg / 4};
    assert_true(lg_planar_box_in_convex(circle, LG_PLANAR_CIRCLE_POINTS, b));
    b.x1 = r_deg;
    assert_false(lg_planar_box_in_convex(circle, LG_PLANAR_CIRCLE_POINTS, b));
}

static void test_holes_are_subtracted(void **state)
{
    (void)state;
    /* [0, 2]^2 with the hole [0.5, 1.5]^2, clipped by [0, 1] x [0, 2]: 2 - 0.5. */
    lg_pt_t outer[] = {{0, 0}, {2, 0}, {2, 2}, {0, 2}};
    lg_pt_t hole[] = {{0.5, 0.5}, {0.5, 1.5}, {1.5, 1.5}, {1.5, 0.5}};
    lg_pt_t half[] = {{0, 0}, {1, 0}, {1, 2}, {0, 2}};
    double a = clip(outer, 4, half, 4) - clip(hole, 4, half, 4);
    assert_true(fabs(a - 1.5) < EPS);
}

static void test_non_convex_polygon_through_its_triangles(void **state)
{
    (void)state;
    /* An L: [0, 2] x [0, 1] plus [0, 1] x [1, 2], area 3. */
    lg_pt_t l[] = {{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}};
    assert_false(lg_planar_is_convex_ccw(l, 6));
    assert_null(lg_planar_check_simple(l, 6));
    lg_pt_t tri[3 * 4];
    assert_int_equal(lg_planar_triangulate(l, 6, tri), 0);
    double sum = 0;
    for (int t = 0; t < 4; t++)
        sum += lg_planar_ring_area(&tri[3 * t], 3);
    assert_true(fabs(sum - 3) < EPS);
    /* [0.5, 1.5]^2 inside the L: the L's part is 1 - 0.25 = 0.75. */
    lg_pt_t sq[] = {{0.5, 0.5}, {1.5, 0.5}, {1.5, 1.5}, {0.5, 1.5}};
    double inside = 0;
    for (int t = 0; t < 4; t++)
        inside += clip(sq, 4, &tri[3 * t], 3);
    assert_true(fabs(inside - 0.75) < EPS);
    /* A star of 10 points (5 reflex vertices). */
    lg_pt_t star[10];
    for (int i = 0; i < 10; i++) {
        double r = i % 2 ? 0.4 : 1, a = 2 * M_PI * i / 10;
        star[i] = (lg_pt_t){r * cos(a), r * sin(a)};
    }
    lg_pt_t stri[3 * 8];
    assert_int_equal(lg_planar_triangulate(star, 10, stri), 0);
    sum = 0;
    for (int t = 0; t < 8; t++) {
        assert_true(lg_planar_ring_area(&stri[3 * t], 3) >= 0);
        sum += lg_planar_ring_area(&stri[3 * t], 3);
    }
    assert_true(fabs(sum - lg_planar_ring_area(star, 10)) < EPS);
}

static void test_degenerate_input(void **state)
{
    (void)state;
    lg_pt_t line[] = {{0, 0}, {1, 1}, {2, 2}};
    assert_true(clip(line, 3, unit_sq, 4) == 0);
    assert_true(clip(unit_sq, 2, unit_sq, 4) == 0);
    assert_true(clip(unit_sq, 4, unit_sq, 2) == 0);
    lg_pt_t point[] = {{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}};
    assert_true(clip(point, 3, unit_sq, 4) == 0);
    /* Repeats removed, closing point included. */
    lg_pt_t rep[] = {{0, 0}, {0, 0}, {1, 0}, {1, 1}, {1, 1}, {0, 0}};
    size_t n = 6;
    lg_planar_dedup(rep, &n);
    assert_int_equal(n, 3);
    lg_pt_t same[] = {{1, 1}, {1, 1}, {1, 1}};
    n = 3;
    lg_planar_dedup(same, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(lg_planar_check_simple(same, n), lg_planar_degenerate);
}

static void test_simple_polygon_check(void **state)
{
    (void)state;
    assert_null(lg_planar_check_simple(unit_sq, 4));
    lg_pt_t bowtie[] = {{0, 0}, {1, 1}, {1, 0}, {0, 1}};
    assert_ptr_equal(lg_planar_check_simple(bowtie, 4), lg_planar_self_intersecting);
    lg_pt_t flat[] = {{0, 0}, {1, 0}, {2, 0}};
    assert_ptr_equal(lg_planar_check_simple(flat, 3), lg_planar_self_intersecting);
    /* A ring touching itself at a vertex. */
    lg_pt_t touch[] = {{0, 0}, {2, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 1}};
    assert_ptr_equal(lg_planar_check_simple(touch, 6), lg_planar_self_intersecting);
    /* Collinear but going on: fine. */
    lg_pt_t on[] = {{0, 0}, {1, 0}, {2, 0}, {2, 1}};
    assert_null(lg_planar_check_simple(on, 4));
    lg_pt_t twice[10];
    for (int i = 0; i < 5; i++) /* a pentagram: all left turns, winds twice */
        twice[i] = (lg_pt_t){cos(4 * M_PI * i / 5), sin(4 * M_PI * i / 5)};
    assert_false(lg_planar_is_convex_ccw(twice, 5));
    assert_ptr_equal(lg_planar_check_simple(twice, 5), lg_planar_self_intersecting);
}

static void test_spherical_sizes(void **state)
{
    (void)state;
    /* A lon/lat rectangle: R^2 dlon (sin lat2 - sin lat1), exactly. */
    lg_pt_t rect[] = {{2, 44}, {3, 44}, {3, 45}, {2, 45}};
    double r = LG_PLANAR_EARTH_M,
           want = r * r * (M_PI / 180) * (sin(45 * M_PI / 180) - sin(44 * M_PI / 180));
    assert_true(fabs(lg_planar_polygon_area_m2(rect, 4) - want) / want < 1e-12);
    /* A cap of 300 km: 2 pi R^2 (1 - cos(r / R)), about pi r^2. */
    double cap = lg_planar_circle_area_m2(300000);
    assert_true(fabs(cap - M_PI * 300000.0 * 300000.0) / cap < 1e-3);
    assert_true(lg_planar_circle_area_m2(1e12) == lg_planar_circle_area_m2(1e8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_area_is_signed_by_orientation),
        cmocka_unit_test(test_square_overlaps),
        cmocka_unit_test(test_triangle_overlaps),
        cmocka_unit_test(test_circle_overlaps),
        cmocka_unit_test(test_holes_are_subtracted),
        cmocka_unit_test(test_non_convex_polygon_through_its_triangles),
        cmocka_unit_test(test_degenerate_input),
        cmocka_unit_test(test_simple_polygon_check),
        cmocka_unit_test(test_spherical_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
