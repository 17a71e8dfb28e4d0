/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/counts/camara.c: the CAMARA Region Device Count request
 * validator. Table-driven: each body is either accepted with an exact
 * normalised form or refused with an exact ErrorInfo code and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/counts/camara.h"
#include "locguard/core/timefmt.h"

/* 2024-05-01T12:00:00Z. */
#define NOW_US INT64_C(1714564800000000)

#define P(lat, lon)         "{\"latitude\":" #lat ",\"longitude\":" #lon "}"
#define CIRCLE(lat, lon, r) "{\"areaType\":\"CIRCLE\",\"center\":" P(lat, lon) ",\"radius\":" #r "}"

/* The C request (what the evaluator gets) carries the normalised object's values. */
static void expect_same_request(const json_t *out, const lg_camara_count_t *count)
{
    const json_t *area = json_object_get(out, "area");
    const char *type = json_string_value(json_object_get(area, "areaType"));
    if (strcmp(type, "CIRCLE") == 0) {
        const json_t *c = json_object_get(area, "center");
        assert_true(count->area.is_circle);
        assert_true(count->area.lat == json_number_value(json_object_get(c, "latitude")));
        assert_true(count->area.lon == json_number_value(json_object_get(c, "longitude")));
        assert_true(count->area.radius_m == json_number_value(json_object_get(area, "radius")));
    } else {
        const json_t *b = json_object_get(area, "boundary");
        assert_false(count->area.is_circle);
        assert_int_equal(count->area.n_boundary, json_array_size(b));
        for (size_t i = 0; i < json_array_size(b); i++) {
            const json_t *p = json_array_get(b, i);
            assert_true(count->area.boundary[i].y ==
                        json_number_value(json_object_get(p, "latitude")));
            assert_true(count->area.boundary[i].x ==
                        json_number_value(json_object_get(p, "longitude")));
        }
    }
    const json_t *start = json_object_get(out, "starttime"), *end = json_object_get(out, "endtime");
    assert_int_equal(count->has_interval, start != NULL);
    /* (lg_time_parse takes no time before 1970, which the normalised form can hold.) */
    int64_t s_us, e_us;
    if (start != NULL &&
        lg_time_parse(json_string_value(start), json_string_length(start), &s_us) == LG_OK &&
        lg_time_parse(json_string_value(end), json_string_length(end), &e_us) == LG_OK) {
        assert_int_equal(count->start_us, s_us);
        assert_int_equal(count->end_us, e_us);
    }
}

static void test_valid_bodies_are_normalised(void **state)
{
    static const struct {
        const char *body;
        const char *normalised;
    } cases[] = {
        {"{\"area\":" CIRCLE(45.754114, 4.860374, 800) "}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 45.754114, "
         "\"longitude\": 4.860374}, \"radius\": 800.0}}"},
        /* Integers are numbers too; unknown members are ignored and dropped. */
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":-90,\"longitude\":180,"
         "\"altitude\":3},\"radius\":1,\"x\":1},\"extra\":true}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": -90.0, "
         "\"longitude\": 180.0}, \"radius\": 1.0}}"},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(45.75, 4.86) "," P(
             45.76, 4.86) "," P(45.76, 4.87) "]},\"starttime\":\"2023-07-03T14:27:08.312+02:00\","
                                             "\"endtime\":\"2023-07-04T14:27:08.312+02:00\"}",
         "{\"area\": {\"areaType\": \"POLYGON\", \"boundary\": [{\"latitude\": 45.75, "
         "\"longitude\": 4.86}, {\"latitude\": 45.76, \"longitude\": 4.86}, {\"latitude\": "
         "45.76, \"longitude\": 4.87}]}, \"starttime\": \"2023-07-03T12:27:08.312000Z\", "
         "\"endtime\": \"2023-07-04T12:27:08.312000Z\"}"},
        /* No filter: absent, null or without criteria; dropped from the normalised form. */
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"filter\":null}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 0.0, \"longitude\": "
         "0.0}, \"radius\": 10.0}}"},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"filter\":{}}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 0.0, \"longitude\": "
         "0.0}, \"radius\": 10.0}}"},
        /* null times are absent times (nullable: true); start == end is allowed. */
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"starttime\":null,\"endtime\":null}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 0.0, \"longitude\": "
         "0.0}, \"radius\": 10.0}}"},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"starttime\":\"2024-05-01T12:00:00Z\","
                                       "\"endtime\":\"2024-05-01T12:00:00Z\"}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 0.0, \"longitude\": "
         "0.0}, \"radius\": 10.0}, \"starttime\": \"2024-05-01T12:00:00.000000Z\", "
         "\"endtime\": \"2024-05-01T12:00:00.000000Z\"}"},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"starttime\":\"1970-01-01T00:30:00.25+01:00\","
                                       "\"endtime\":\"2030-01-01T00:00:00.000001Z\"}",
         "{\"area\": {\"areaType\": \"CIRCLE\", \"center\": {\"latitude\": 0.0, \"longitude\": "
         "0.0}, \"radius\": 10.0}, \"starttime\": \"1969-12-31T23:30:00.250000Z\", "
         "\"endtime\": \"2030-01-01T00:00:00.000001Z\"}"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        json_t *out = NULL;
        lg_camara_count_t count;
        lg_camara_error_t err;
        if (lg_camara_validate_count(cases[i].body, strlen(cases[i].body), NOW_US, &out, &count,
                                     &err) != LG_OK)
            fail_msg("case %zu refused: %s %s", i, err.code, err.message);
        expect_same_request(out, &count);
        char *text = json_dumps(out, JSON_SORT_KEYS);
        json_t *want = json_loads(cases[i].normalised, 0, NULL);
        char *want_text = json_dumps(want, JSON_SORT_KEYS);
        if (strcmp(text, want_text) != 0)
            fail_msg("case %zu: got %s, want %s", i, text, want_text);
        free(text);
        free(want_text);
        json_decref(want);
        json_decref(out);
    }
}

static void test_invalid_bodies_get_exact_codes(void **state)
{
    static const char *const IA = "INVALID_ARGUMENT";
    static const char *const CIRC = "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA";
    static const char *const POLY = "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA";
    static const struct {
        const char *body;
        const char *code;
        const char *message;
    } cases[] = {
        {"", IA, "Client specified an invalid argument, request body or query param."},
        {"[]", IA, "Client specified an invalid argument, request body or query param."},
        {"{\"area\":" CIRCLE(0, 0, 1) ",", IA,
         "Client specified an invalid argument, request body or query param."},
        {"{\"area\":" CIRCLE(0, 0, 1) ",\"area\":" CIRCLE(0, 0, 1) "}", IA,
         "Client specified an invalid argument, request body or query param."},
        {"{}", IA, "area is required."},
        /* A filter locguard cannot apply is refused, never ignored. */
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"filter\":{\"roamingStatus\":[\"roaming\"]}}", IA,
         "filter is not supported: the roaming status and device type of counted devices are not "
         "known. Send no filter to count every device."},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"filter\":{\"deviceType\":[\"IoT device\"]}}", IA,
         "filter is not supported: the roaming status and device type of counted devices are not "
         "known. Send no filter to count every device."},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"filter\":\"roaming\"}", IA, "filter must be an object."},
        {"{\"area\":null}", IA, "area is required."},
        {"{\"area\":\"CIRCLE\"}", IA, "area must be an object."},
        {"{\"area\":{}}", IA, "area.areaType must be CIRCLE or POLYGON."},
        {"{\"area\":{\"areaType\":\"circle\"}}", IA, "area.areaType must be CIRCLE or POLYGON."},
        {"{\"area\":{\"areaType\":1}}", IA, "area.areaType must be CIRCLE or POLYGON."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"radius\":5}}", CIRC,
         "Missing circle center or radius."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":" P(0, 0) "}}", CIRC,
         "Missing circle center or radius."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":" P(0, 0) ",\"radius\":\"5\"}}", CIRC,
         "area.radius must be a number."},
        {"{\"area\":" CIRCLE(0, 0, 0.999) "}", IA, "area.radius must be at least 1 metre."},
        {"{\"area\":" CIRCLE(0, 0, -5) "}", IA, "area.radius must be at least 1 metre."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":[0,0],\"radius\":5}}", CIRC,
         "area.center must be an object with latitude and longitude."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":0},\"radius\":5}}", CIRC,
         "area.center.longitude must be a number."},
        {"{\"area\":{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":\"0\",\"longitude\":0},"
         "\"radius\":5}}",
         CIRC, "area.center.latitude must be a number."},
        {"{\"area\":" CIRCLE(90.0001, 0, 5) "}", IA,
         "area.center.latitude must be between -90 and 90."},
        {"{\"area\":" CIRCLE(0, -180.5, 5) "}", IA,
         "area.center.longitude must be between -180 and 180."},
        {"{\"area\":{\"areaType\":\"POLYGON\"}}", POLY, "Missing polygon boundary."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":{}}}", POLY,
         "Missing polygon boundary."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(0, 0) "," P(1, 1) "]}}", POLY,
         "The polygon boundary must have 3 to 15 points."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(0, 0) "," P(0, 1) "," P(0, 2) "," P(0, 3) "," P(
             0,
             4) "," P(0,
                      5) "," P(0,
                               6) "," P(0,
                                        7) "," P(0,
                                                 8) "," P(0,
                                                          9) "," P(1,
                                                                   9) "," P(1,
                                                                            8) "," P(1,
                                                                                     7) "," P(1,
                                                                                              6) "," P(1,
                                                                                                       5) "," P(1,
                                                                                                                4) "]}}",
         POLY, "The polygon boundary must have 3 to 15 points."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(0, 0) "," P(0, 1) ",7]}}", POLY,
         "area.boundary[2] must be an object with latitude and longitude."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(0, 0) "," P(
             0, 1) ","
                   "{\"latitude\":1}]}}",
         POLY, "area.boundary[2].longitude must be a number."},
        {"{\"area\":{\"areaType\":\"POLYGON\",\"boundary\":[" P(0, 0) "," P(-91, 1) "," P(1,
                                                                                          1) "]}}",
         IA, "area.boundary[1].latitude must be between -90 and 90."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":\"2024-05-01T10:00:00Z\"}",
         "REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT",
         "starttime and endtime cannot be passed separately. Either both are passed or neither "
         "is passed."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"endtime\":\"2024-05-01T10:00:00Z\",\"starttime\":null}",
         "REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT",
         "starttime and endtime cannot be passed separately. Either both are passed or neither "
         "is passed."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":\"2024-05-01T10:00:00Z\","
                                      "\"endtime\":\"2024-05-01T09:59:59.999Z\"}",
         "REGION_DEVICE_COUNT.INVALID_END_DATE",
         "Indicated endTime is earlier than the startTime."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":\"2024-05-01 10:00:00Z\","
                                      "\"endtime\":\"2024-05-01T11:00:00Z\"}",
         IA, "starttime must be an RFC 3339 date-time with a time zone."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":\"2024-05-01T10:00:00Z\","
                                      "\"endtime\":\"2024-05-01T11:00:00\"}",
         IA, "endtime must be an RFC 3339 date-time with a time zone."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":1714564800,\"endtime\":1714564801}", IA,
         "starttime must be an RFC 3339 date-time with a time zone."},
        {"{\"area\":" CIRCLE(0, 0, 5) ",\"starttime\":\"2024-05-01T12:00:00.000001Z\","
                                      "\"endtime\":\"2024-05-02T11:00:00Z\"}",
         IA, "starttime must not be in the future."},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        json_t *out = (json_t *)1;
        lg_camara_count_t count;
        lg_camara_error_t err;
        int rc = lg_camara_validate_count(cases[i].body, strlen(cases[i].body), NOW_US, &out,
                                          &count, &err);
        if (rc != LG_ERR)
            fail_msg("case %zu accepted", i);
        assert_null(out);
        assert_int_equal(err.status, 400);
        if (strcmp(err.code, cases[i].code) != 0 || strcmp(err.message, cases[i].message) != 0)
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, err.code, err.message,
                     cases[i].code, cases[i].message);
    }
}

static void test_error_codes_are_the_yaml_strings(void **state)
{
    (void)state;
    assert_string_equal(lg_camara_invalid_argument, "INVALID_ARGUMENT");
    assert_string_equal(lg_camara_invalid_circle, "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA");
    assert_string_equal(lg_camara_invalid_polygon, "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA");
    assert_string_equal(lg_camara_time_invalid, "REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT");
    assert_string_equal(lg_camara_invalid_end_date, "REGION_DEVICE_COUNT.INVALID_END_DATE");
    /* population-density-data.yaml's, for the asynchronous mode. */
    assert_string_equal(lg_camara_invalid_sink, "INVALID_SINK");
    assert_string_equal(lg_camara_invalid_credential, "INVALID_CREDENTIAL");
    assert_string_equal(lg_camara_invalid_token, "INVALID_TOKEN");
}

static void test_a_body_with_a_nul_byte_is_refused(void **state)
{
    static const char body[] = "{\"area\":" CIRCLE(0, 0, 5) "}\0junk";
    json_t *out = NULL;
    lg_camara_count_t count;
    lg_camara_error_t err;
    (void)state;
    assert_int_equal(lg_camara_validate_count(body, sizeof(body) - 1, NOW_US, &out, &count, &err),
                     LG_ERR);
    assert_string_equal(err.code, "INVALID_ARGUMENT");
    assert_int_equal(lg_camara_validate_count(body, strlen(body), NOW_US, &out, &count, &err),
                     LG_OK);
    json_decref(out);
}

#define SINK ",\"sink\":\"https://sink.example.com/r?x=1\""
#define CRED(type, token, expires, token_type)                                                     \
    ",\"sinkCredential\":{\"credentialType\":\"" type "\",\"accessToken\":" token                  \
    ",\"accessTokenExpiresUtc\":\"" expires "\",\"accessTokenType\":\"" token_type "\"}"

/* The asynchronous mode: sink and sinkCredential (population-density-data.yaml's shape). */
static void test_sink_and_credential(void **state)
{
    static const char *const IA = "INVALID_ARGUMENT";
    static const char *const SINK_CODE = "INVALID_SINK";
    static const char *const SINK_MSG = "sink not valid for the specified protocol: an https URL "
                                        "with a host and no user information is required.";
    static const struct {
        const char *body;
        const char *code; /* NULL: accepted */
        const char *message;
        bool is_private;
    } cases[] = {
        {"{\"area\":" CIRCLE(0, 0, 10) SINK "}", NULL, NULL, false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "\"t.1~x\"", "2024-05-01T13:00:00+01:00", "Bearer") "}",
         IA, "sinkCredential.accessTokenExpiresUtc is in the past.", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "\"t.1~x\"", "2024-05-01T13:00:00Z", "bearer") "}",
         NULL, NULL, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":null}", NULL, NULL, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://127.0.0.1:8443/\"}", NULL, NULL, true},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://[fd00::1]/\"}", NULL, NULL, true},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://93.184.216.34/\"}", NULL, NULL, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"http://sink.example.com/\"}", SINK_CODE,
         SINK_MSG, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"HTTPS://sink.example.com/\"}", SINK_CODE,
         SINK_MSG, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://a:b@sink.example.com/\"}", SINK_CODE,
         SINK_MSG, false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://0x7f000001/\"}", SINK_CODE, SINK_MSG,
         false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://\"}", SINK_CODE, SINK_MSG, false},
        /* (The JSON parser refuses a NUL in any string.) */
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":\"https://a.example\\u0000b/\"}", IA,
         "Client specified an invalid argument, request body or query param.", false},
        {"{\"area\":" CIRCLE(0, 0, 10) ",\"sink\":7}", SINK_CODE, SINK_MSG, false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             CRED("ACCESSTOKEN", "\"t\"", "2030-01-01T00:00:00Z", "bearer") "}",
         IA, "sinkCredential is only accepted with a sink.", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("PLAIN", "\"t\"", "2030-01-01T00:00:00Z", "bearer") "}",
         "INVALID_CREDENTIAL", "Only Access token is supported", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "\"t\"", "2030-01-01T00:00:00Z", "mac") "}",
         "INVALID_TOKEN", "Only bearer token is supported", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "\"a b\"", "2030-01-01T00:00:00Z", "bearer") "}",
         IA, "sinkCredential.accessToken must be 1 to 4096 visible ASCII characters.", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "\"\"", "2030-01-01T00:00:00Z", "bearer") "}",
         IA, "sinkCredential.accessToken must be 1 to 4096 visible ASCII characters.", false},
        {"{\"area\":" CIRCLE(0, 0, 10)
             SINK CRED("ACCESSTOKEN", "5", "2030-01-01T00:00:00Z", "bearer") "}",
         IA, "sinkCredential.accessToken must be 1 to 4096 visible ASCII characters.", false},
        {"{\"area\":" CIRCLE(0, 0, 10) SINK CRED("ACCESSTOKEN", "\"t\"", "soon", "bearer") "}", IA,
         "accessTokenExpiresUtc must be an RFC 3339 date-time with a time zone.", false},
        {"{\"area\":" CIRCLE(0, 0, 10) SINK ",\"sinkCredential\":[]}", IA,
         "sinkCredential must be an object.", false},
        {"{\"area\":" CIRCLE(0, 0, 10) SINK ",\"sinkCredential\":{}}", IA,
         "sinkCredential.credentialType is required.", false},
        {"{\"area\":" CIRCLE(0, 0, 10) SINK
         ",\"sinkCredential\":{\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"t\","
         "\"accessTokenType\":\"bearer\"}}",
         IA, "sinkCredential.accessTokenExpiresUtc is required.", false},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        json_t *out = NULL;
        lg_camara_count_t count;
        lg_camara_error_t err;
        int rc = lg_camara_validate_count(cases[i].body, strlen(cases[i].body), NOW_US, &out,
                                          &count, &err);
        if (cases[i].code == NULL) {
            if (rc != LG_OK)
                fail_msg("case %zu refused: %s \"%s\"", i, err.code, err.message);
            const json_t *sink = json_object_get(out, "sink");
            assert_int_equal(count.is_async, sink != NULL);
            assert_int_equal(count.is_sink_private, cases[i].is_private);
            const json_t *cred = json_object_get(out, "sinkCredential");
            assert_int_equal(count.has_token, cred != NULL);
            if (cred != NULL) {
                assert_string_equal(json_string_value(json_object_get(cred, "accessToken")),
                                    "t.1~x");
                assert_string_equal(
                    json_string_value(json_object_get(cred, "accessTokenExpiresUtc")),
                    "2024-05-01T13:00:00.000000Z");
                assert_string_equal(json_string_value(sink), "https://sink.example.com/r?x=1");
            }
            json_decref(out);
            continue;
        }
        if (rc != LG_ERR)
            fail_msg("case %zu accepted", i);
        assert_null(out);
        if (strcmp(err.code, cases[i].code) != 0 || strcmp(err.message, cases[i].message) != 0)
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, err.code, err.message,
                     cases[i].code, cases[i].message);
    }
}

static void test_count_paths_and_scopes(void **state)
{
    (void)state;
    assert_true(lg_camara_is_count_path("/regionDeviceCount/vwip/count"));
    assert_true(lg_camara_is_count_path("/region-device-count/vwip/count"));
    assert_true(lg_camara_is_count_path("/region-device-count/v0/count"));
    assert_false(lg_camara_is_count_path("/region-device-count/vwip/count/"));
    assert_false(lg_camara_is_count_path("/region-device-count/v1/count"));
    assert_false(lg_camara_is_count_path("/regionDeviceCount/vwip"));
    assert_false(lg_camara_is_count_path(NULL));
    assert_true(lg_camara_scope_allows_count("region-device-count:count"));
    assert_true(lg_camara_scope_allows_count("openid region-device-count"));
    assert_true(lg_camara_scope_allows_count("a region-device-count:count b"));
    assert_false(lg_camara_scope_allows_count("region-device-count:read"));
    assert_false(lg_camara_scope_allows_count("region-device"));
    assert_false(lg_camara_scope_allows_count(""));
    assert_false(lg_camara_scope_allows_count(NULL));
}

static void test_correlator_follows_the_camara_pattern(void **state)
{
    char long_ok[257], too_long[258];
    (void)state;
    memset(long_ok, 'a', 256);
    long_ok[256] = '\0';
    memset(too_long, 'a', 257);
    too_long[257] = '\0';
    assert_true(lg_camara_correlator_is_valid("b4333c46-49c0-4f62-80d7-f0ef930f1c46"));
    assert_true(lg_camara_correlator_is_valid("a_b:c;d.e/f<g>{h}"));
    assert_true(lg_camara_correlator_is_valid(""));
    assert_true(lg_camara_correlator_is_valid(long_ok));
    assert_false(lg_camara_correlator_is_valid(too_long));
    assert_false(lg_camara_correlator_is_valid(NULL));
    assert_false(lg_camara_correlator_is_valid("a b"));
    assert_false(lg_camara_correlator_is_valid("a\r\nSet-Cookie: x"));
    assert_false(lg_camara_correlator_is_valid("caf\xc3\xa9"));
    assert_false(lg_camara_correlator_is_valid("a\"b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bodies_are_normalised),
        cmocka_unit_test(test_invalid_bodies_get_exact_codes),
        cmocka_unit_test(test_error_codes_are_the_yaml_strings),
        cmocka_unit_test(test_a_body_with_a_nul_byte_is_refused),
        cmocka_unit_test(test_correlator_follows_the_camara_pattern),
        cmocka_unit_test(test_count_paths_and_scopes),
        cmocka_unit_test(test_sink_and_credential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
