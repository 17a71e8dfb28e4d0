/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/pgarray.c: array literals as PostgreSQL's array_in
 * reads them (quotes, backslashes, NULL, empty strings, integers, floats),
 * and array values as array_out writes them read back, NULLs and quoted
 * elements included; malformed values are refused.
 */
#include "locguard/core/pgarray.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_empty_literal_is_braces(void **state)
{
    (void)state;
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    assert_string_equal(lg_pgarray_end(&a), "{}");
    assert_string_equal(lg_pgarray_end(&a), "{}"); /* ending twice changes nothing */
    lg_pgarray_cleanup(&a);
}

static void test_strings_are_quoted_and_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"abc", "{\"abc\"}"},       {"", "{\"\"}"},           {"NULL", "{\"NULL\"}"},
        {"a\"b", "{\"a\\\"b\"}"},   {"a\\b", "{\"a\\\\b\"}"}, {"\"\\", "{\"\\\"\\\\\"}"},
        {"a,b}{c", "{\"a,b}{c\"}"}, {" x ", "{\" x \"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lg_pgarray_t a;
        lg_pgarray_init(&a);
        lg_pgarray_add_str(&a, cases[i].in);
        assert_string_equal(lg_pgarray_end(&a), cases[i].out);
        lg_pgarray_cleanup(&a);
    }
}

static void test_null_elements_and_separators(void **state)
{
    (void)state;
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    lg_pgarray_add_str(&a, "x");
    lg_pgarray_add_null(&a);
    lg_pgarray_add_str(&a, NULL);
    lg_pgarray_add_int(&a, 7);
    assert_string_equal(lg_pgarray_end(&a), "{\"x\",NULL,NULL,7}");
    lg_pgarray_cleanup(&a);
}

static void test_integers_in_decimal_over_the_whole_range(void **state)
{
    (void)state;
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    lg_pgarray_add_int(&a, 0);
    lg_pgarray_add_int(&a, -1);
    lg_pgarray_add_int(&a, 1714564800000000);
    lg_pgarray_add_int(&a, INT64_MAX);
    lg_pgarray_add_int(&a, INT64_MIN);
    assert_string_equal(lg_pgarray_end(&a), "{0,-1,1714564800000000,9223372036854775807,"
                                            "-9223372036854775808}");
    lg_pgarray_cleanup(&a);
}

static void test_floats_with_fixed_decimals_and_special_values(void **state)
{
    (void)state;
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    lg_pgarray_add_float(&a, 2.3456789012, 7);
    lg_pgarray_add_float(&a, -48.5, 7);
    lg_pgarray_add_float(&a, 12.25, 1);
    lg_pgarray_add_float(&a, 3.0, 0);
    lg_pgarray_add_float(&a, NAN, 7);
    lg_pgarray_add_float(&a, INFINITY, 1);
    lg_pgarray_add_float(&a, -INFINITY, 1);
    lg_pgarray_add_float(&a, 1e308, 17); /* the widest there is: not cut */
    const char *s = lg_pgarray_end(&a);
    assert_non_null(strstr(s, "{2.3456789,-48.5000000,12.2,3,NaN,Infinity,-Infinity,1"));
    assert_string_equal(s + strlen(s) - 19, ".00000000000000000}");
    lg_pgarray_cleanup(&a);
}

static void test_many_elements_grow_the_buffer(void **state)
{
    (void)state;
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    for (int i = 0; i < 10000; i++)
        lg_pgarray_add_int(&a, i);
    const char *s = lg_pgarray_end(&a);
    int64_t *out = calloc(10000, sizeof(*out));
    size_t n;
    assert_int_equal(lg_pgarray_parse_int64(s, strlen(s), out, 10000, &n), LG_OK);
    assert_int_equal(n, 10000);
    assert_int_equal(out[9999], 9999);
    free(out);
    lg_pgarray_cleanup(&a);
}

/* Reads text whole: the elements joined by '|', NULL as <null>; "MALFORMED" when refused. */
static void read_all(const char *text, char *out, size_t out_size)
{
    lg_pgarray_reader_t rd;
    char buf[64];
    size_t len;
    bool is_null;

    out[0] = '\0';
    if (lg_pgarray_open(&rd, text, strlen(text)) != LG_OK) {
        snprintf(out, out_size, "MALFORMED");
        return;
    }
    for (int i = 0;; i++) {
        lg_pgarray_item_t item = lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null);
        if (item == LG_PGARRAY_END)
            return;
        if (item == LG_PGARRAY_MALFORMED) {
            snprintf(out, out_size, "MALFORMED");
            assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null),
                             LG_PGARRAY_MALFORMED);
            return;
        }
        assert_int_equal(len, strlen(buf));
        size_t used = strlen(out);
        snprintf(out + used, out_size - used, "%s%s", i > 0 ? "|" : "", is_null ? "<null>" : buf);
    }
}

static void test_reads_what_array_out_writes(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{}", ""},
        {"{accepted}", "accepted"},
        {"{accepted,duplicate,unknown_node}", "accepted|duplicate|unknown_node"},
        {"{1,NULL,3}", "1|<null>|3"},
        {"{null,Null}", "<null>|<null>"},
        {"{\"NULL\"}", "NULL"},
        {"{\"\"}", ""},
        {"{\"a,b\",\"c}d\",\"e{f\"}", "a,b|c}d|e{f"},
        {"{\"q\\\"uote\",\"back\\\\slash\"}", "q\"uote|back\\slash"},
        {"{\"two words\",x}", "two words|x"},
        {" { a , \"b\" } ", "a|b"},
        {"{a\\,b}", "a,b"},
        {"{N\\ULL}", "NULL"},
        {"{-5,+6}", "-5|+6"},
    };
    char got[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        read_all(cases[i].in, got, sizeof got);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("%s: read %s, want %s", cases[i].in, got, cases[i].out);
    }
}

static void test_malformed_values_are_refused(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",        "x",         "{",      "{a",    "{a,",         "{a,}",
        "{,a}",    "{,}",       "{a,,b}", "{\"a}", "{\"a\"b}",    "{a\"b\"}",
        "{{1,2}}", "{a}x",      "{}}",    "{} {}", "[1:2]={1,2}", "{a b}",
        "{a\\}",   "{\"a\\\"}", "{a{}",   "{1,2",  "}",           "{\"\"\"\"}",
    };
    char got[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        read_all(cases[i], got, sizeof got);
        if (strcmp(got, "MALFORMED") != 0)
            fail_msg("%s: read as %s", cases[i], got);
    }
}

static void test_element_longer_than_the_buffer_is_refused(void **state)
{
    (void)state;
    lg_pgarray_reader_t rd;
    char buf[4];
    size_t len;
    bool is_null;
    const char *text = "{abc,abcd}";

    assert_int_equal(lg_pgarray_open(&rd, text, strlen(text)), LG_OK);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_ELEM);
    assert_string_equal(buf, "abc");
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_MALFORMED);
}

static void test_reader_stops_at_the_given_length(void **state)
{
    (void)state;
    char got[64];
    lg_pgarray_reader_t rd;
    char buf[8];
    size_t len;
    bool is_null;
    /* Not NUL-terminated where it ends: "{1,2}" is the first five bytes. */
    const char text[] = "{1,2}garbage";

    assert_int_equal(lg_pgarray_open(&rd, text, 5), LG_OK);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_ELEM);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_ELEM);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_END);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_END);
    assert_int_equal(lg_pgarray_open(&rd, text, 4), LG_OK); /* "{1,2": cut */
    read_all("{1,2", got, sizeof got);
    assert_string_equal(got, "MALFORMED");
}

static void test_literal_reads_back_as_written(void **state)
{
    (void)state;
    static const char *const strings[] = {"", "NULL", "a\"b", "c\\d", "{x,y}", " sp ", "é"};
    lg_pgarray_t a;
    lg_pgarray_init(&a);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        lg_pgarray_add_str(&a, strings[i]);
    lg_pgarray_add_null(&a);
    const char *lit = lg_pgarray_end(&a);

    lg_pgarray_reader_t rd;
    char buf[32];
    size_t len;
    bool is_null;
    assert_int_equal(lg_pgarray_open(&rd, lit, strlen(lit)), LG_OK);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_ELEM);
        assert_false(is_null);
        assert_string_equal(buf, strings[i]);
    }
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_ELEM);
    assert_true(is_null);
    assert_int_equal(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null), LG_PGARRAY_END);
    lg_pgarray_cleanup(&a);
}

static void test_int_arrays_parse_and_refuse(void **state)
{
    (void)state;
    int64_t out[4];
    size_t n;
    const char *ok = "{1,-2,9223372036854775807,\"4\"}";

    assert_int_equal(lg_pgarray_parse_int64(ok, strlen(ok), out, 4, &n), LG_OK);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], -2);
    assert_int_equal(out[2], INT64_MAX);
    assert_int_equal(out[3], 4);
    assert_int_equal(lg_pgarray_parse_int64("{}", 2, out, 0, &n), LG_OK);
    assert_int_equal(n, 0);

    static const char *const bad[] = {
        "{1,2,3,4,5}",           /* more than max */
        "{1,NULL}",              /* a NULL */
        "{1.5}",                 /* not an integer */
        "{9223372036854775808}", /* out of range */
        "{x}",                   /* not a number */
        "{\"\"}",                /* empty */
        "{ -}",                  /* a sign alone */
        "{1",                    /* cut */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (lg_pgarray_parse_int64(bad[i], strlen(bad[i]), out, 4, &n) != LG_ERR)
            fail_msg("%s was accepted", bad[i]);
}

static void test_item_names(void **state)
{
    (void)state;
    assert_string_equal(lg_pgarray_item_name(LG_PGARRAY_ELEM), "element");
    assert_string_equal(lg_pgarray_item_name(LG_PGARRAY_END), "end");
    assert_string_equal(lg_pgarray_item_name(LG_PGARRAY_MALFORMED), "malformed");
    assert_string_equal(lg_pgarray_item_name((lg_pgarray_item_t)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_literal_is_braces),
        cmocka_unit_test(test_strings_are_quoted_and_escaped),
        cmocka_unit_test(test_null_elements_and_separators),
        cmocka_unit_test(test_integers_in_decimal_over_the_whole_range),
        cmocka_unit_test(test_floats_with_fixed_decimals_and_special_values),
        cmocka_unit_test(test_many_elements_grow_the_buffer),
        cmocka_unit_test(test_reads_what_array_out_writes),
        cmocka_unit_test(test_malformed_values_are_refused),
        cmocka_unit_test(test_element_longer_than_the_buffer_is_refused),
        cmocka_unit_test(test_reader_stops_at_the_given_length),
        cmocka_unit_test(test_literal_reads_back_as_written),
        cmocka_unit_test(test_int_arrays_parse_and_refuse),
        cmocka_unit_test(test_item_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
