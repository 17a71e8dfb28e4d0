/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/jsonschema.c: the ECMAScript-subset pattern
 * matcher against the patterns of the 3GPP files (with RegExp.test's
 * answers), every pattern of the generated tables being supported, and the
 * keywords' verdicts and JSON pointers on small schemas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/core/jsonschema.h"

#include "../../../service/south/schema_tables.inc"

static int match(const char *pattern, const char *s)
{
    return lg_schema_match(pattern, s, strlen(s));
}

static void test_patterns_of_the_specs_match_as_regexp_test_does(void **state)
{
    /* Expected values are what node's new RegExp(p, "u").test(s) answers. */
    static const struct {
        const char *pattern, *s;
        int want;
    } cases[] = {
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
        /* RegExp.test searches: an unanchored pattern matches inside the string. */
        {"b+", "abbbc", 1},
        {"b{2}c", "abbbc", 1},
        {"x?", "", 1},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        if (match(cases[i].pattern, cases[i].s) != cases[i].want)
            fail_msg("%s on \"%s\": got %d, want %d", cases[i].pattern, cases[i].s,
                     match(cases[i].pattern, cases[i].s), cases[i].want);
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

/* Collects violations as "pointer: reason" lines. */
static void collect(void *arg, const char *pointer, const char *reason)
{
    char *buf = arg;
    size_t len = strlen(buf);
    snprintf(buf + len, 1024 - len, "%s: %s\n", pointer, reason);
}

static const char *check_json(size_t idx, const char *json)
{
    static char buf[1024];
    cJSON *v = cJSON_Parse(json);

    assert_non_null(v);
    buf[0] = '\0';
    size_t n = lg_schema_check(SCHEMA_TABLE, idx, v, "", collect, buf);
    cJSON_Delete(v);
    assert_true((n == 0) == (buf[0] == '\0'));
    return buf;
}

static void test_report_keywords_name_their_pointers(void **state)
{
    (void)state;
    assert_string_equal(check_json(SCHEMA_AMF_EVENT_REPORT,
                                   "{\"type\":\"X\",\"state\":{\"active\":true},"
                                   "\"timeStamp\":\"2024-05-01T12:00:00Z\"}"),
                        "");
    assert_string_equal(check_json(SCHEMA_AMF_EVENT_REPORT, "{\"type\":1,\"state\":{}}"),
                        "/timeStamp: required\n/type: must be a string\n/state/active: required\n");
    assert_string_equal(
        check_json(SCHEMA_AMF_EVENT_REPORT,
                   "{\"type\":\"X\",\"state\":{\"active\":true},\"timeStamp\":"
                   "\"2024-05-01T12:00:00Z\",\"accessTypeList\":[\"3GPP_ACCESS\","
                   "\"WIFI\"],\"areaList\":[],\"numberOfUes\":null}"),
        "/accessTypeList/1: must be one of the listed values\n"
        "/areaList: must have at least 1 entry\n/numberOfUes: must be an integer\n");
    assert_string_equal(check_json(SCHEMA_AMF_EVENT_REPORT,
                                   "{\"type\":\"X\",\"state\":{\"active\":true},\"timeStamp\":"
                                   "\"2024-05-01T12:00:00Z\",\"location\":{\"utraLocation\":{"
                                   "\"lai\":{\"plmnId\":{\"mcc\":\"208\",\"mnc\":\"93\"},"
                                   "\"lac\":\"0001\"},\"ageOfLocationInformation\":-1}}}"),
                        "/location/utraLocation/ageOfLocationInformation: must be >= 0\n"
                        "/location/utraLocation: must have exactly one of cgi, sai, rai\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_of_the_specs_match_as_regexp_test_does),
        cmocka_unit_test(test_unsupported_patterns_and_deep_inputs_say_so),
        cmocka_unit_test(test_every_pattern_of_the_tables_is_supported),
        cmocka_unit_test(test_report_keywords_name_their_pointers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
