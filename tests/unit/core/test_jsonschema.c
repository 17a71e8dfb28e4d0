/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/jsonschema.c: the keywords' verdicts and JSON
 * pointers on the generated tables (the pattern matcher has test_pattern.c).
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
        cmocka_unit_test(test_report_keywords_name_their_pointers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
