/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/pattern.c: each pattern form of the 3GPP
 * files with strings it accepts and refuses (RegExp.test's answers), the
 * cached matcher answering as the plain one, patterns outside the subset and
 * inputs past the recursion bound, every pattern of the generated tables
 * supported, and a cost linear in the input on long hostile strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "locguard/core/jsonschema.h"
#include "locguard/core/pattern.h"

#include "../../../service/south/schema_tables.inc"

/* Each pattern form of the 3GPP files with strings it accepts and refuses; the
 * expected values are what node's new RegExp(p, "u").test(s) answers. */
static const struct {
    const char *pattern, *s;
    int want;
} CASES[] = {
    {"^\\d{3}$", "208", 1},
    {"^\\d{3}$", "2080", 0},
    {"^\\d{3}$", "20a", 0},
    {"^\\d{2,3}$", "9", 0},
    {"^\\d{2,3}$", "93", 1},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "00a1", 1},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "00a1b", 0},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "00a1bC", 1},
    {"^[0-9A-F]{16}$", "104000004000000a", 0},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "", 0},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "x", 1},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "a\nb", 0},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "a\rb", 0},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$",
     "a\xe2\x80\xa8"
     "b",
     0},
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "Gen\xc3\xa8ve", 1},
    {"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$", "extid-a\n@b", 1},
    {"^(imei-[0-9]{15}|imeisv-[0-9]{16}|mac((-[0-9a-fA-F]{2}){6})(-untrusted)?|eui((-[0-9a-fA-"
     "F]{2}){8})|.+)$",
     "mac-00-11-22-33-44-55-untrusted", 1},
    {"^imeitac-[0-9]{8}$", "imeitac-1234567", 0},
    {"^imeitac-[0-9]{8}$", "imeitac-12345678", 1},
    {"^(MacroeNB-[A-Fa-f0-9]{5}|LMacroeNB-[A-Fa-f0-9]{6}|SMacroeNB-[A-Fa-f0-9]{5}|HomeeNB-[A-"
     "Fa-f0-9]{7})$",
     "HomeeNB-0A1B2C3", 1},
    {"^(MacroeNB-[A-Fa-f0-9]{5}|LMacroeNB-[A-Fa-f0-9]{6}|SMacroeNB-[A-Fa-f0-9]{5}|HomeeNB-[A-"
     "Fa-f0-9]{7})$",
     "MacroeNB-0A1B2C", 0},
    {"^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|"
     "2[0-4][0-9]|25[0-5])$",
     "192.0.2.255", 1},
    {"^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|"
     "2[0-4][0-9]|25[0-5])$",
     "192.0.2.256", 0},
    {"^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|"
     "2[0-4][0-9]|25[0-5])$",
     "01.0.2.1", 0},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "2001:db8::1", 1},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "2001:DB8::1", 0},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "::", 1},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "1:2:3:4:5:6:7:8:9", 0},
    {"^((([^:]+:){7}([^:]+))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?))$", "1:2:3:4:5:6:7:8", 1},
    {"^((([^:]+:){7}([^:]+))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?))$", "1:2:3", 0},
    {"^((([^:]+:){7}([^:]+))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?))$", "1::2:3", 1},
    {"^((([^:]+:){7}([^:]+))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?))$", "1:::3", 0},
    /* Classes with ranges, counted and open repetitions, alternatives in a group. */
    {"^[A-Fa-f0-9]+$", "", 0},
    {"^[A-Fa-f0-9]+$", "0aF", 1},
    {"^[A-Fa-f0-9]+$", "0g", 0},
    {"^[A-Fa-f0-9]{6,8}$", "abcde", 0},
    {"^[A-Fa-f0-9]{6,8}$", "abcdef", 1},
    {"^[A-Fa-f0-9]{6,8}$", "abcdef01", 1},
    {"^[A-Fa-f0-9]{6,8}$", "abcdef012", 0},
    {"^([A-Fa-f0-9]{4}|[A-Fa-f0-9]{6})$", "abcde", 0},
    {"^([A-Fa-f0-9]{4}|[A-Fa-f0-9]{6})$", "abcdef", 1},
    {"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$", "msisdn-1234", 1},
    {"^(imei-[0-9]{15}|imeisv-[0-9]{16}|mac((-[0-9a-fA-F]{2}){6})(-untrusted)?|eui((-[0-9a-fA-"
     "F]{2}){8})|.+)$",
     "mac-00-11\n", 0},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "fe80::0", 1},
    {"^((:|(0?|([1-9a-f][0-9a-f]{0,3}))):)((0?|([1-9a-f][0-9a-f]{0,3})):){0,6}(:|(0?|([1-9a-f]["
     "0-9a-f]{0,3})))$",
     "fe80::01", 0},
    {"^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|"
     "2[0-4][0-9]|25[0-5])$",
     "1.2.3", 0},
    {"^(([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9][0-9]|"
     "2[0-4][0-9]|25[0-5])$",
     "1a2.3.4", 0},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "a:a:a:a:a:a:a:a:a:a:a:", 0},
    /* RegExp.test searches: an unanchored pattern matches inside the string. */
    {"b+", "abbbc", 1},
    {"b{2}c", "abbbc", 1},
    {"x?", "", 1},
};

static int match(const char *pattern, const char *s)
{
    return lg_pattern_match(pattern, s, strlen(s));
}

static void test_patterns_of_the_specs_match_as_regexp_test_does(void **state)
{
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(CASES); i++)
        if (match(CASES[i].pattern, CASES[i].s) != CASES[i].want)
            fail_msg("%s on \"%s\": got %d, want %d", CASES[i].pattern, CASES[i].s,
                     match(CASES[i].pattern, CASES[i].s), CASES[i].want);
}

static void test_unsupported_patterns_and_deep_inputs_say_so(void **state)
{
    char long_colons[4000];

    (void)state;
    assert_int_equal(match("(?=a)a", "a"), -1);
    assert_int_equal(match("\\w+", "a"), -1);
    assert_int_equal(match("a{2,1}", "aa"), -1);
    assert_int_equal(match("[a-", "a"), -1);
    assert_int_equal(match("(a", "a"), -1);
    assert_int_equal(match("*a", "a"), -1);
    /* A group repeated thousands of times exceeds the recursion bound: -1, not a crash. */
    for (size_t i = 0; i + 2 < sizeof long_colons; i += 2)
        memcpy(long_colons + i, "a:", 2);
    long_colons[sizeof long_colons - 2] = 'a';
    long_colons[sizeof long_colons - 1] = '\0';
    assert_int_equal(match("^(([^:]+:)*[^:]+)$", long_colons), -1);
}

static void test_every_pattern_of_the_tables_is_supported(void **state)
{
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(SCHEMA_TABLE); i++)
        if (SCHEMA_TABLE[i].pattern != NULL && match(SCHEMA_TABLE[i].pattern, "") < 0)
            fail_msg("schema %zu: pattern %s is not supported", i, SCHEMA_TABLE[i].pattern);
}

static void test_cached_matcher_answers_as_the_plain_one(void **state)
{
    (void)state;
    /* Twice: the first call compiles into the cache, the second uses it. */
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < LG_ARRAY_SIZE(CASES); i++)
            if (lg_pattern_match_static(CASES[i].pattern, CASES[i].s, strlen(CASES[i].s)) !=
                CASES[i].want)
                fail_msg("cached %s on \"%s\": want %d", CASES[i].pattern, CASES[i].s,
                         CASES[i].want);
    assert_int_equal(lg_pattern_match_static("(?=a)a", "a", 1), -1);
    assert_int_equal(lg_pattern_match_static("(?=a)a", "a", 1), -1);
}

static double seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* prefix, then unit n times, then tail, in a new string. */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *tail)
{
    size_t lp = strlen(prefix), lu = strlen(unit), lt = strlen(tail);
    char *s = malloc(lp + n * lu + lt + 1);

    assert_non_null(s);
    memcpy(s, prefix, lp);
    for (size_t i = 0; i < n; i++)
        memcpy(s + lp + i * lu, unit, lu);
    memcpy(s + lp + n * lu, tail, lt + 1);
    return s;
}

/*
 * Inputs that make a backtracking matcher work hardest on the patterns of the
 * tables: a quantified set that swallows everything and must give it back
 * byte by byte, in several alternatives, and an unanchored pattern tried at
 * every start. All are refused, within the recursion bound (0, not -1).
 */
static const struct {
    const char *pattern, *prefix, *unit, *tail;
} HOSTILE[] = {
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "nai-", "a", "\n"},
    {"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$", "extid-", "a", "\n"},
    {"^((([^:]+:){7}([^:]+))|((([^:]+:)*[^:]+)?::(([^:]+:)*[^:]+)?))$", "", "-0a", "\n"},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "", "a:", ""},
    {"^[A-Fa-f0-9]+$", "", "0", "!"},
};

#define HOSTILE_UNITS  4000 /* the short input; the long one has HOSTILE_SCALE times as many */
#define HOSTILE_SCALE  8
#define HOSTILE_ROUNDS 9 /* the best of this many, alternating short and long */

/*
 * The cost per byte on a long hostile input against a short one, each the
 * best of several alternating rounds (the short input matched HOSTILE_SCALE
 * times per round, so both rounds see as many bytes). Linear: about 1.
 * Quadratic: about HOSTILE_SCALE. A ratio, not a time: the machine's speed
 * and load cancel out.
 */
static void test_hostile_inputs_cost_linear_time(void **state)
{
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(HOSTILE); i++) {
        const char *p = HOSTILE[i].pattern;
        char *short_s = repeat(HOSTILE[i].prefix, HOSTILE[i].unit, HOSTILE_UNITS, HOSTILE[i].tail);
        char *long_s = repeat(HOSTILE[i].prefix, HOSTILE[i].unit, HOSTILE_UNITS * HOSTILE_SCALE,
                              HOSTILE[i].tail);
        size_t short_n = strlen(short_s), long_n = strlen(long_s);
        double best_short = 1e9, best_long = 1e9;

        assert_int_equal(lg_pattern_match_static(p, short_s, short_n), 0);
        assert_int_equal(lg_pattern_match_static(p, long_s, long_n), 0);
        for (int round = 0; round < HOSTILE_ROUNDS; round++) {
            double t0 = seconds();
            for (int k = 0; k < HOSTILE_SCALE; k++)
                assert_int_equal(lg_pattern_match_static(p, short_s, short_n), 0);
            double t1 = seconds();
            assert_int_equal(lg_pattern_match_static(p, long_s, long_n), 0);
            double t2 = seconds();
            if (t1 - t0 < best_short)
                best_short = t1 - t0;
            if (t2 - t1 < best_long)
                best_long = t2 - t1;
        }
        double ratio = best_long / (best_short > 1e-9 ? best_short : 1e-9);
        print_message("%-40.40s long/short per byte %.2f\n", p, ratio);
        if (ratio > 3.0)
            fail_msg("%s: a %zu-byte input costs %.1f times more per byte than a %zu-byte one", p,
                     long_n, ratio, short_n);
        free(short_s);
        free(long_s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_of_the_specs_match_as_regexp_test_does),
        cmocka_unit_test(test_cached_matcher_answers_as_the_plain_one),
        cmocka_unit_test(test_unsupported_patterns_and_deep_inputs_say_so),
        cmocka_unit_test(test_every_pattern_of_the_tables_is_supported),
        cmocka_unit_test(test_hostile_inputs_cost_linear_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
