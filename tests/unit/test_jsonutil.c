/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the nesting scan run before every parse of network JSON. */
#include "locguard/jsonutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool ok(const char *s, size_t max_depth)
{
    return lg_json_depth_ok(s, strlen(s), max_depth);
}

/* n opening brackets followed by n closing ones. */
static char *nested(size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        s[i] = i % 2 ? '[' : '{';
        s[2 * n - 1 - i] = i % 2 ? ']' : '}';
    }
    s[2 * n] = '\0';
    return s;
}

static void test_depth_at_the_limit_passes_and_one_more_fails(void **state)
{
    (void)state;
    char *at = nested(32), *over = nested(33);
    assert_true(ok(at, 32));
    assert_false(ok(over, 32));
    free(at);
    free(over);
}

static void test_brackets_inside_strings_do_not_count(void **state)
{
    (void)state;
    assert_true(ok("{\"a\":\"[[[[[[[[[[\"}", 1));
    assert_true(ok("{\"a\":\"\\\"[[[[[\"}", 1));     /* an escaped quote keeps the string open */
    assert_false(ok("{\"a\":\"x\",\"b\":[[1]]}", 2)); /* ... and after it, brackets count again */
}

static void test_siblings_do_not_add_up(void **state)
{
    (void)state;
    assert_true(ok("[[1],[2],[3],[4],[5],[6]]", 2));
    assert_true(ok("", 0));
    assert_true(ok("\"unterminated [[[[", 0));
    assert_true(ok("]]]]{", 1)); /* stray closers never go below zero */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_at_the_limit_passes_and_one_more_fails),
        cmocka_unit_test(test_brackets_inside_strings_do_not_count),
        cmocka_unit_test(test_siblings_do_not_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
