/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/south/cursor.c: the JSON pointers of recorded
 * problems (in a report, below it, at the document), pointers given whole,
 * the bound on listed problems, and the typed member lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/south/cursor.h"

static void test_pointers_name_the_report_and_its_members(void **state)
{
    lg_batch_t batch = {0};
    lg_cursor_t c = {.out = &batch};

    (void)state;
    lg_cursor_invalid(&c, NULL, "must be a JSON object");
    lg_cursor_invalid(&c, "reportList", "required");
    c.in_report = true;
    c.report_idx = 12;
    lg_cursor_invalid(&c, NULL, "must be an object");
    lg_cursor_push(&c, "location");
    lg_cursor_push(&c, "eutraLocation");
    lg_cursor_invalid(&c, "ecgi", "required");
    lg_cursor_pop(&c);
    lg_cursor_invalid(&c, NULL, "must have exactly one of");
    lg_cursor_pop(&c);
    assert_int_equal(c.n_seg, 0);

    assert_int_equal(batch.n_invalid, 5);
    assert_string_equal(batch.invalid[0].param, "body");
    assert_string_equal(batch.invalid[1].param, "/reportList");
    assert_string_equal(batch.invalid[2].param, "/reportList/12");
    assert_string_equal(batch.invalid[3].param, "/reportList/12/location/eutraLocation/ecgi");
    assert_string_equal(batch.invalid[3].reason, "required");
    assert_string_equal(batch.invalid[4].param, "/reportList/12/location");
}

static void test_names_past_the_kept_depth_are_counted_not_named(void **state)
{
    lg_batch_t batch = {0};
    lg_cursor_t c = {.out = &batch};

    (void)state;
    for (int i = 0; i < LG_CURSOR_SEGS_MAX + 2; i++)
        lg_cursor_push(&c, "a");
    lg_cursor_invalid(&c, "b", "x");
    for (int i = 0; i < LG_CURSOR_SEGS_MAX + 2; i++)
        lg_cursor_pop(&c);
    assert_int_equal(c.n_seg, 0);
    assert_string_equal(batch.invalid[0].param, "/a/a/a/a/a/a/b");
}

static void test_pointers_given_whole_are_kept_and_cut(void **state)
{
    lg_batch_t batch = {0};
    lg_cursor_t c = {.out = &batch};
    char long_pointer[300];

    (void)state;
    memset(long_pointer, 'x', sizeof long_pointer - 1);
    long_pointer[0] = '/';
    long_pointer[sizeof long_pointer - 1] = '\0';
    lg_cursor_invalid_at(&c, "", "must be an object");
    lg_cursor_invalid_at(&c, "/reportList/0/state/active", "required");
    lg_cursor_invalid_at(&c, long_pointer, "too long");
    assert_string_equal(batch.invalid[0].param, "body");
    assert_string_equal(batch.invalid[1].param, "/reportList/0/state/active");
    assert_int_equal(strlen(batch.invalid[2].param), sizeof batch.invalid[2].param - 1);
}

static void test_problems_beyond_invalid_max_are_counted_not_listed(void **state)
{
    lg_batch_t batch = {0};
    lg_cursor_t c = {.out = &batch};

    (void)state;
    for (int i = 0; i < LG_INVALID_MAX + 5; i++) {
        char reason[16];

        snprintf(reason, sizeof reason, "n%d", i);
        if (i % 2)
            lg_cursor_invalid(&c, "m", reason);
        else
            lg_cursor_invalid_at(&c, "/m", reason);
    }
    assert_int_equal(batch.n_invalid, LG_INVALID_MAX + 5);
    assert_string_equal(batch.invalid[LG_INVALID_MAX - 1].reason, "n15");
}

static void test_typed_lookups_say_what_is_missing_or_wrong(void **state)
{
    lg_batch_t batch = {0};
    lg_cursor_t c = {.out = &batch};
    cJSON *obj = cJSON_Parse("{\"s\":\"abc\",\"o\":{},\"n\":1}");
    const char *s = NULL;
    size_t n = 0;

    (void)state;
    assert_non_null(obj);
    assert_true(lg_cursor_need_string(&c, obj, "s", &s, &n));
    assert_string_equal(s, "abc");
    assert_int_equal(n, 3);
    assert_non_null(lg_cursor_need_object(&c, obj, "o"));
    assert_int_equal(batch.n_invalid, 0);

    assert_false(lg_cursor_need_string(&c, obj, "n", &s, &n));
    assert_false(lg_cursor_need_string(&c, obj, "S", &s, &n)); /* names compared exactly */
    assert_null(lg_cursor_need_object(&c, obj, "s"));
    assert_null(lg_cursor_need_object(&c, obj, "x"));
    assert_int_equal(batch.n_invalid, 4);
    assert_string_equal(batch.invalid[0].param, "/n");
    assert_string_equal(batch.invalid[0].reason, "must be a string");
    assert_string_equal(batch.invalid[1].reason, "required");
    assert_string_equal(batch.invalid[2].reason, "must be an object");
    assert_string_equal(batch.invalid[3].param, "/x");
    assert_string_equal(batch.invalid[3].reason, "required");
    cJSON_Delete(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointers_name_the_report_and_its_members),
        cmocka_unit_test(test_names_past_the_kept_depth_are_counted_not_named),
        cmocka_unit_test(test_pointers_given_whole_are_kept_and_cut),
        cmocka_unit_test(test_problems_beyond_invalid_max_are_counted_not_listed),
        cmocka_unit_test(test_typed_lookups_say_what_is_missing_or_wrong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
