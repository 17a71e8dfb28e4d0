/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the SCEF-Reference-ID map (service/diameter/refmap.c):
 * put, get, replace and remove, against a plain array as the model, through
 * growth and many removals (backward shifts).
 */
#include "locguard/diameter/refmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_put_get_replace_remove(void **state)
{
    (void)state;
    lg_refmap_t *m = lg_refmap_new();

    assert_null(lg_refmap_get(m, 7));
    assert_int_equal(lg_refmap_put(m, 7, "001010000000001"), LG_OK);
    assert_string_equal(lg_refmap_get(m, 7), "001010000000001");
    assert_int_equal(lg_refmap_put(m, 7, "001010000000002"), LG_OK);
    assert_string_equal(lg_refmap_get(m, 7), "001010000000002");
    assert_int_equal(lg_refmap_size(m), 1);
    lg_refmap_remove(m, 7);
    assert_null(lg_refmap_get(m, 7));
    assert_int_equal(lg_refmap_size(m), 0);
    lg_refmap_remove(m, 7); /* absent: nothing */
    lg_refmap_free(m);
}

static void test_zero_and_long_imsi_are_refused(void **state)
{
    (void)state;
    lg_refmap_t *m = lg_refmap_new();

    assert_int_equal(lg_refmap_put(m, 0, "00101"), LG_ERR);
    assert_int_equal(lg_refmap_put(m, 1, "0010100000000001"), LG_ERR); /* 16 digits */
    assert_null(lg_refmap_get(m, 0));
    assert_int_equal(lg_refmap_size(m), 0);
    lg_refmap_free(m);
}

/* 20,000 references put, every third removed, some put again: the map agrees with a model. */
static void test_agrees_with_a_model_through_growth_and_removals(void **state)
{
    (void)state;
    enum { N = 20000 };
    static bool present[N + 1];
    lg_refmap_t *m = lg_refmap_new();
    char imsi[16];
    uint32_t x = 12345;

    memset(present, 0, sizeof(present));
    for (uint32_t r = 1; r <= N; r++) {
        snprintf(imsi, sizeof(imsi), "00101%010u", r);
        assert_int_equal(lg_refmap_put(m, r, imsi), LG_OK);
        present[r] = true;
    }
    for (int k = 0; k < 3 * N; k++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = 1 + (x >> 8) % N;
        if (k % 3 == 0) {
            snprintf(imsi, sizeof(imsi), "00101%010u", r);
            assert_int_equal(lg_refmap_put(m, r, imsi), LG_OK);
            present[r] = true;
        } else {
            lg_refmap_remove(m, r);
            present[r] = false;
        }
    }
    size_t n = 0;
    for (uint32_t r = 1; r <= N; r++) {
        const char *got = lg_refmap_get(m, r);
        if (present[r]) {
            snprintf(imsi, sizeof(imsi), "00101%010u", r);
            assert_non_null(got);
            assert_string_equal(got, imsi);
            n++;
        } else {
            assert_null(got);
        }
    }
    assert_int_equal(lg_refmap_size(m), n);
    lg_refmap_clear(m);
    assert_int_equal(lg_refmap_size(m), 0);
    assert_null(lg_refmap_get(m, 1));
    lg_refmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_remove),
        cmocka_unit_test(test_zero_and_long_imsi_are_refused),
        cmocka_unit_test(test_agrees_with_a_model_through_growth_and_removals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
