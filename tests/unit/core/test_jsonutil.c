/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the nesting scan run before every parse of network JSON. */
#include "locguard/core/jsonutil.h"

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

/* Each case: bytes, how many are readable, the expected sequence length (0: not UTF-8). */
static void test_utf8_sequences(void **state)
{
    static const struct {
        const char *bytes;
        size_t avail;
        size_t want;
    } cases[] = {
        {"A", 1, 1},
        {"\xc3\xa8", 2, 2},          /* e grave */
        {"\xe2\x82\xac", 3, 3},      /* euro sign */
        {"\xf0\x9f\x93\xa1", 4, 4},  /* satellite antenna, U+1F4E1 */
        {"\xf4\x8f\xbf\xbf", 4, 4},  /* U+10FFFF, the last code point */
        {"\xc3\xa8", 1, 0},          /* cut short */
        {"\xe2\x82", 2, 0},
        {"\x80", 1, 0},              /* a stray continuation byte */
        {"\xc0\xaf", 2, 0},          /* overlong '/' */
        {"\xc1\xbf", 2, 0},
        {"\xe0\x80\xaf", 3, 0},      /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", 4, 0},  /* overlong, four bytes */
        {"\xed\xa0\x80", 3, 0},      /* U+D800, a surrogate */
        {"\xed\x9f\xbf", 3, 3},      /* U+D7FF, just below */
        {"\xf4\x90\x80\x80", 4, 0},  /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xff", 1, 0},
        {"\xc3\x28", 2, 0},          /* the second byte is not a continuation */
        {"\xe2\x28\xa1", 3, 0},
        {"\xe2\x82\x28", 3, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = lg_utf8_seq_len((const unsigned char *)cases[i].bytes, cases[i].avail);

        if (got != cases[i].want)
            fail_msg("case %zu: got %zu, want %zu", i, got, cases[i].want);
    }
    assert_int_equal(lg_utf8_seq_len((const unsigned char *)"", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_at_the_limit_passes_and_one_more_fails),
        cmocka_unit_test(test_brackets_inside_strings_do_not_count),
        cmocka_unit_test(test_siblings_do_not_add_up),
        cmocka_unit_test(test_utf8_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
