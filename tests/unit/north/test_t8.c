/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/north/t8.c: the normalised form of valid subscriptions,
 * every invalid member reported at its JSON pointer with its reason and the
 * cause the worst problem picks, refused members, and the externalId and
 * notification URI checks on their own. The PATCH validator's are in
 * test_t8_patch.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/north/t8.h"

#define NOW_US INT64_C(1714564800000000) /* 2024-05-01T12:00:00Z */

#define EXT  "\"externalId\":\"dev-1@iot.example.com\""
#define TYPE "\"monitoringType\":\"LOCATION_REPORTING\""
#define DEST "\"notificationDestination\":\"https://scs.example.com/t8/notify\""
#define MAX1 "\"maximumNumberOfReports\":1"
#define BASE EXT "," TYPE "," DEST "," MAX1

/* NUMBER_OF_UES_IN_AN_AREA: an area, no device. */
#define ATYPE "\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\""
#define CIRCLE                                                                                     \
    "{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lon\":2.35,\"lat\":48.85},"              \
    "\"uncertainty\":500}"
#define AREA(g) "\"locationArea\":{\"geographicAreas\":[" g "]}"
#define ABASE   ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) ",\"repPeriod\":60"

static int validate(const char *json, json_t **out, lg_invalid_param_t *inv, size_t *n,
                    const char **cause)
{
    return lg_t8_validate_subscription(json, strlen(json), NOW_US, out, inv, n, cause);
}

/* Validates json, which must succeed; returns the normalised object as compact JSON. */
static char *accept(const char *json)
{
    lg_invalid_param_t inv[LG_INVALID_MAX];
    size_t n = 99;
    const char *cause = "x";
    json_t *out = NULL;

    if (validate(json, &out, inv, &n, &cause) != LG_OK)
        fail_msg("rejected: %s: %s (%zu problems) in %s", inv[0].param, inv[0].reason, n, json);
    assert_int_equal(n, 0);
    assert_null(cause);
    assert_non_null(out);
    /* 15 digits: 48.85 reads as 48.85 (the default 17 shows the binary value's tail). */
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(out);
    return text;
}

/* ---- valid requests and their normalised form ---- */

typedef struct accept_case {
    const char *name;
    const char *body;     /* the request */
    const char *expected; /* the normalised object, keys sorted */
} accept_case_t;

static const accept_case_t ACCEPT_CASES[] = {
    {"minimal, defaults filled in", "{" BASE "}",
     "{\"accuracy\":\"CGI_ECGI\",\"externalId\":\"dev-1@iot.example.com\","
     "\"locationType\":\"CURRENT_LOCATION\",\"maximumNumberOfReports\":1,"
     "\"monitoringType\":\"LOCATION_REPORTING\","
     "\"notificationDestination\":\"https://scs.example.com/t8/notify\"}"},
    {"every member, self and unknown members dropped, time normalised, features negotiated",
     "{\"self\":\"https://x/y\",\"supportedFeatures\":\"0\",\"mtcProviderId\":\"m\","
     "\"externalGroupId\":\"fleet-7@iot.example.com\"," TYPE ","
     "\"notificationDestination\":\"HTTPS://[::1]:8443/n?a=b&c=%20\","
     "\"maximumNumberOfReports\":1000000000,\"monitorExpireTime\":\"2024-05-01T13:00:00.001+01:"
     "00\","
     "\"locationType\":\"LAST_KNOWN_LOCATION\",\"accuracy\":\"GEO_AREA\","
     "\"requestTestNotification\":true,\"revocationNotifUri\":\"https://scs.example.com:1/r\","
     "\"immediateRep\":false}",
     "{\"accuracy\":\"GEO_AREA\",\"externalGroupId\":\"fleet-7@iot.example.com\","
     "\"immediateRep\":false,\"locationType\":\"LAST_KNOWN_LOCATION\","
     "\"maximumNumberOfReports\":1000000000,\"monitorExpireTime\":\"2024-05-01T12:00:00.001Z\","
     "\"monitoringType\":\"LOCATION_REPORTING\","
     "\"notificationDestination\":\"HTTPS://[::1]:8443/n?a=b&c=%20\","
     "\"requestTestNotification\":true,\"revocationNotifUri\":\"https://scs.example.com:1/r\","
     "\"supportedFeatures\":\"0\"}"},
    {"expiry alone is enough",
     "{" EXT "," TYPE "," DEST
     ",\"monitorExpireTime\":\"2030-01-01T00:00:00Z\",\"accuracy\":\"TA_RA\"}",
     "{\"accuracy\":\"TA_RA\",\"externalId\":\"dev-1@iot.example.com\","
     "\"locationType\":\"CURRENT_LOCATION\",\"monitorExpireTime\":\"2030-01-01T00:00:00.000Z\","
     "\"monitoringType\":\"LOCATION_REPORTING\","
     "\"notificationDestination\":\"https://scs.example.com/t8/notify\"}"},
    {"area count: a circle, repPeriod, the location members ignored",
     "{" ABASE ",\"immediateRep\":true,\"accuracy\":\"GEO_AREA\",\"locationType\":\"x\"}",
     "{\"immediateRep\":true,\"locationArea\":{\"geographicAreas\":[{\"point\":{\"lat\":48.85,"
     "\"lon\":2.35},\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"uncertainty\":500.0}]},"
     "\"maximumNumberOfReports\":1,\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\","
     "\"notificationDestination\":\"https://scs.example.com/t8/notify\",\"repPeriod\":60}"},
    {"area count: a polygon, integers as reals, immediateRep alone, extra members dropped",
     "{" ATYPE "," DEST ",\"monitorExpireTime\":\"2030-01-01T00:00:00Z\",\"immediateRep\":true,"
     "\"locationArea\":{\"geographicAreas\":[{\"shape\":\"POLYGON\",\"x\":1,\"pointList\":["
     "{\"lon\":2,\"lat\":48},{\"lon\":2.1,\"lat\":48},{\"lon\":2.1,\"lat\":48.1,\"z\":0}]}]}}",
     "{\"immediateRep\":true,\"locationArea\":{\"geographicAreas\":[{\"pointList\":[{\"lat\":48.0,"
     "\"lon\":2.0},{\"lat\":48.0,\"lon\":2.1},{\"lat\":48.1,\"lon\":2.1}],\"shape\":\"POLYGON\"}]},"
     "\"monitorExpireTime\":\"2030-01-01T00:00:00.000Z\",\"monitoringType\":\"NUMBER_OF_UES_IN_AN_"
     "AREA\","
     "\"notificationDestination\":\"https://scs.example.com/t8/notify\"}"},
    {"area count: locationArea5G keeps its name",
     "{" ATYPE "," DEST "," MAX1
     ",\"immediateRep\":true,\"locationArea5G\":{\"geographicAreas\":[" CIRCLE "]}}",
     "{\"immediateRep\":true,\"locationArea5G\":{\"geographicAreas\":[{\"point\":{\"lat\":48.85,"
     "\"lon\":2.35},\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"uncertainty\":500.0}]},"
     "\"maximumNumberOfReports\":1,\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\","
     "\"notificationDestination\":\"https://scs.example.com/t8/notify\"}"},
};

static void test_valid_subscriptions_are_normalised(void **state)
{
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(ACCEPT_CASES); i++) {
        char *text = accept(ACCEPT_CASES[i].body);

        if (strcmp(text, ACCEPT_CASES[i].expected) != 0)
            fail_msg("%s:\n got      %s\n expected %s", ACCEPT_CASES[i].name, text,
                     ACCEPT_CASES[i].expected);
        free(text);
    }
}

/* ---- invalid requests: one problem each ---- */

typedef struct reject_case {
    const char *body;
    const char *param;  /* JSON pointer of the single problem */
    const char *reason; /* its reason, exactly */
    const char *cause;  /* the ProblemDetails cause */
} reject_case_t;

#define MISSING   "MANDATORY_IE_MISSING"
#define INCORRECT "MANDATORY_IE_INCORRECT"
#define OPTIONAL  "OPTIONAL_IE_INCORRECT"
#define FORMAT    "INVALID_MSG_FORMAT"
#define R_EXT     "must be <local id>@<domain>, at most 255 bytes"
#define R_URI     "must be an https URI with a host, no userinfo, at most 2048 bytes"
#define R_GROUP   "group modification is not supported"
#define R_UEID    "not supported: identify the UE by externalId"
#define R_NOTSUP  "not supported: only LOCATION_REPORTING and NUMBER_OF_UES_IN_AN_AREA are"
#define R_NOID    "not allowed with NUMBER_OF_UES_IN_AN_AREA: a count names no device"
#define R_SHAPE   "must be POINT_UNCERTAINTY_CIRCLE or POLYGON"
#define R_COORD   "must be an object with lon (-180..180) and lat (-90..90)"
#define R_RADIUS  "must be a radius in metres from 1 to 20000000"
#define R_PERIOD  "must be an integer number of seconds from 60 to 31536000"

static const reject_case_t REJECT_CASES[] = {
    /* the document */
    {"", "", "malformed JSON at byte 0", FORMAT},
    {"[" BASE "]", "", "malformed JSON at byte 14", FORMAT},
    {"[1]", "", "must be a JSON object", FORMAT},
    {"{" BASE "," MAX1 "}", "", "duplicate member at byte 189", FORMAT},
    {"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]," BASE "}", "",
     "nested deeper than 32 levels", FORMAT},
    {"{" BASE ",\"x\":\"\\u0000\"}", "", "malformed JSON at byte 177", FORMAT},
    /* the target */
    {"{" TYPE "," DEST "," MAX1 "}", "/externalId", "externalId or externalGroupId is required",
     MISSING},
    {"{" BASE ",\"externalGroupId\":\"g@x.y\"}", "/externalGroupId",
     "give either externalId or externalGroupId, not both", INCORRECT},
    {"{\"externalId\":7," TYPE "," DEST "," MAX1 "}", "/externalId", "must be a string", INCORRECT},
    {"{\"externalId\":\"dev-1\"," TYPE "," DEST "," MAX1 "}", "/externalId", R_EXT, INCORRECT},
    {"{\"externalId\":\"@x.y\"," TYPE "," DEST "," MAX1 "}", "/externalId", R_EXT, INCORRECT},
    {"{\"externalId\":\"a@b@c\"," TYPE "," DEST "," MAX1 "}", "/externalId", R_EXT, INCORRECT},
    {"{\"externalId\":\"a b@c\"," TYPE "," DEST "," MAX1 "}", "/externalId", R_EXT, INCORRECT},
    {"{\"externalId\":\"a@c..d\"," TYPE "," DEST "," MAX1 "}", "/externalId", R_EXT, INCORRECT},
    {"{\"externalGroupId\":\"g@\"," TYPE "," DEST "," MAX1 "}", "/externalGroupId", R_EXT,
     INCORRECT},
    /* the monitoring type */
    {"{" EXT "," DEST "," MAX1 "}", "/monitoringType", "required", MISSING},
    {"{" EXT ",\"monitoringType\":\"LOSS_OF_CONNECTIVITY\"," DEST "," MAX1 "}", "/monitoringType",
     R_NOTSUP, INCORRECT},
    {"{" EXT ",\"monitoringType\":\"location_reporting\"," DEST "," MAX1 "}", "/monitoringType",
     "unknown monitoring type", INCORRECT},
    /* NUMBER_OF_UES_IN_AN_AREA */
    {"{" ABASE "," EXT "}", "/externalId", R_NOID, OPTIONAL},
    {"{" ABASE ",\"externalGroupId\":\"g@x.y\"}", "/externalGroupId", R_NOID, OPTIONAL},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60}", "/locationArea",
     "required with NUMBER_OF_UES_IN_AN_AREA", MISSING},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60,\"locationArea\":[]}", "/locationArea",
     "must be a LocationArea object", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60,\"locationArea\":{}}",
     "/locationArea/geographicAreas", "required: the area is one GeographicArea", MISSING},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(CIRCLE "," CIRCLE) "}",
     "/locationArea/geographicAreas", "must hold exactly one GeographicArea", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA("") "}", "/locationArea/geographicAreas",
     "must hold exactly one GeographicArea", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60,\"locationArea\":{\"cellIds\":[\"1\"],"
     "\"geographicAreas\":[" CIRCLE "]}}",
     "/locationArea/cellIds", "not supported: give the area as geographicAreas", INCORRECT},
    {"{" ABASE ",\"locationArea5G\":{}}", "/locationArea5G",
     "give either locationArea or locationArea5G, not both", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60,\"locationArea5G\":{\"nwAreaInfo\":{},"
     "\"geographicAreas\":[" CIRCLE "]}}",
     "/locationArea5G/nwAreaInfo", "not supported: give the area as geographicAreas", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60,\"locationArea5G\":{\"geographicAreas\":[{}]}}",
     "/locationArea5G/geographicAreas/0/shape", R_SHAPE, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA("7") "}",
     "/locationArea/geographicAreas/0", "must be a GeographicArea object", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1
     ",\"repPeriod\":60," AREA("{\"shape\":\"POINT\",\"point\":{\"lon\":1,\"lat\":1}}") "}",
     "/locationArea/geographicAreas/0/shape", R_SHAPE, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA("{\"point\":{\"lon\":1,\"lat\":1}}") "}",
     "/locationArea/geographicAreas/0/shape", R_SHAPE, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lon\":181,\"lat\":1},"
         "\"uncertainty\":5}") "}",
     "/locationArea/geographicAreas/0/point", R_COORD, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lon\":1,\"lat\":\"1\"},"
         "\"uncertainty\":5}") "}",
     "/locationArea/geographicAreas/0/point", R_COORD, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lon\":1,\"lat\":1},"
         "\"uncertainty\":0.5}") "}",
     "/locationArea/geographicAreas/0/uncertainty", R_RADIUS, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lon\":1,\"lat\":1}}") "}",
     "/locationArea/geographicAreas/0/uncertainty", R_RADIUS, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POLYGON\",\"pointList\":[{\"lon\":1,\"lat\":1},{\"lon\":2,\"lat\":1}]}") "}",
     "/locationArea/geographicAreas/0/pointList", "must hold 3 to 15 points", INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 ",\"repPeriod\":60," AREA(
         "{\"shape\":\"POLYGON\",\"pointList\":[{\"lon\":1,\"lat\":1},{\"lon\":2,\"lat\":1},"
         "{\"lon\":2,\"lat\":-91}]}") "}",
     "/locationArea/geographicAreas/0/pointList/2", R_COORD, INCORRECT},
    {"{" ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) "}", "/repPeriod",
     "repPeriod or immediateRep true is required with NUMBER_OF_UES_IN_AN_AREA", MISSING},
    {"{" ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) ",\"immediateRep\":false}", "/repPeriod",
     "repPeriod or immediateRep true is required with NUMBER_OF_UES_IN_AN_AREA", MISSING},
    {"{" ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) ",\"repPeriod\":59}", "/repPeriod", R_PERIOD,
     OPTIONAL},
    {"{" ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) ",\"repPeriod\":31536001}", "/repPeriod",
     R_PERIOD, OPTIONAL},
    {"{" ATYPE "," DEST "," MAX1 "," AREA(CIRCLE) ",\"repPeriod\":60.5}", "/repPeriod", R_PERIOD,
     OPTIONAL},
    {"{" ATYPE "," DEST "," AREA(CIRCLE) ",\"repPeriod\":60}", "/maximumNumberOfReports",
     "maximumNumberOfReports or monitorExpireTime is required", MISSING},
    {"{" ABASE ",\"msisdn\":\"33612345678\"}", "/msisdn",
     "not accepted: identify the UE by externalId", OPTIONAL},
    {"{" EXT ",\"monitoringType\":[]," DEST "," MAX1 "}", "/monitoringType", "must be a string",
     INCORRECT},
    /* the destinations */
    {"{" EXT "," TYPE "," MAX1 "}", "/notificationDestination", "required", MISSING},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"http://scs.example.com/n\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"https://u:p@scs.example.com/n\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"https://scs.example.com/n#f\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"https:///n\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"https://h:0/\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" EXT "," TYPE ",\"notificationDestination\":\"https://h/a b\"," MAX1 "}",
     "/notificationDestination", R_URI, INCORRECT},
    {"{" BASE ",\"revocationNotifUri\":\"ftp://h/\"}", "/revocationNotifUri", R_URI, OPTIONAL},
    {"{" BASE ",\"revocationNotifUri\":true}", "/revocationNotifUri", "must be a string", OPTIONAL},
    /* the limits */
    {"{" EXT "," TYPE "," DEST "}", "/maximumNumberOfReports",
     "maximumNumberOfReports or monitorExpireTime is required", MISSING},
    {"{" EXT "," TYPE "," DEST ",\"maximumNumberOfReports\":0}", "/maximumNumberOfReports",
     "must be an integer from 1 to 1000000000", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"maximumNumberOfReports\":1000000001}", "/maximumNumberOfReports",
     "must be an integer from 1 to 1000000000", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"maximumNumberOfReports\":1.0}", "/maximumNumberOfReports",
     "must be an integer from 1 to 1000000000", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"maximumNumberOfReports\":\"1\"}", "/maximumNumberOfReports",
     "must be an integer from 1 to 1000000000", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"monitorExpireTime\":\"2024-05-01T12:00:00Z\"}",
     "/monitorExpireTime", "must be in the future", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"monitorExpireTime\":\"2030-01-01 00:00:00\"}",
     "/monitorExpireTime", "must be an RFC 3339 date-time with offset", INCORRECT},
    {"{" EXT "," TYPE "," DEST ",\"monitorExpireTime\":1}", "/monitorExpireTime",
     "must be a string", INCORRECT},
    /* the optional members */
    {"{" BASE ",\"locationType\":\"INITIAL_LOCATION\"}", "/locationType",
     "must be CURRENT_LOCATION or LAST_KNOWN_LOCATION", OPTIONAL},
    {"{" BASE ",\"accuracy\":\"PLMN\"}", "/accuracy", "must be CGI_ECGI, TA_RA or GEO_AREA",
     OPTIONAL},
    {"{" BASE ",\"accuracy\":null}", "/accuracy", "must be a string", OPTIONAL},
    {"{" BASE ",\"requestTestNotification\":\"true\"}", "/requestTestNotification",
     "must be true or false", OPTIONAL},
    {"{" BASE ",\"immediateRep\":1}", "/immediateRep", "must be true or false", OPTIONAL},
    /* the refused members */
    {"{" BASE ",\"msisdn\":\"33612345678\"}", "/msisdn",
     "not accepted: identify the UE by externalId", OPTIONAL},
    {"{" BASE ",\"addedExternalIds\":[\"a@b\"]}", "/addedExternalIds", R_GROUP, OPTIONAL},
    {"{" BASE ",\"excludedMsisdns\":[\"1\"]}", "/excludedMsisdns", R_GROUP, OPTIONAL},
    {"{" BASE ",\"addExtGroupId\":[\"a@b\",\"c@d\"]}", "/addExtGroupId",
     "only one externalGroupId is supported", OPTIONAL},
    {"{" BASE ",\"ipv4Addr\":\"10.0.0.1\"}", "/ipv4Addr", R_UEID, OPTIONAL},
    {"{" BASE ",\"ueMacAddr\":\"00-00-00-00-00-00\"}", "/ueMacAddr", R_UEID, OPTIONAL},
    {"{" BASE ",\"addnMonTypes\":[\"ROAMING_STATUS\"]}", "/addnMonTypes",
     "additional monitoring types are not supported", OPTIONAL},
};

static void test_each_invalid_member_is_reported_at_its_pointer(void **state)
{
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(REJECT_CASES); i++) {
        const reject_case_t *rc = &REJECT_CASES[i];
        lg_invalid_param_t inv[LG_INVALID_MAX];
        size_t n = 0;
        const char *cause = NULL;
        json_t *out = (json_t *)&n; /* must be reset to NULL */

        if (validate(rc->body, &out, inv, &n, &cause) != LG_ERR)
            fail_msg("case %zu accepted: %s", i, rc->body);
        assert_null(out);
        if (n != 1 || strcmp(inv[0].param, rc->param) != 0 ||
            strcmp(inv[0].reason, rc->reason) != 0 || strcmp(cause, rc->cause) != 0)
            fail_msg("case %zu: %s\n got %zu problem(s), first \"%s\": \"%s\", cause %s\n expected "
                     "\"%s\": \"%s\", cause %s",
                     i, rc->body, n, inv[0].param, inv[0].reason, cause, rc->param, rc->reason,
                     rc->cause);
    }
}

/* ---- several problems ---- */

static void test_all_problems_are_collected_and_the_worst_picks_the_cause(void **state)
{
    (void)state;
    lg_invalid_param_t inv[LG_INVALID_MAX];
    size_t n;
    const char *cause;
    json_t *out;
    const char *body = "{\"msisdn\":\"1\",\"monitoringType\":\"ROAMING_STATUS\","
                       "\"accuracy\":\"ENODEB\",\"immediateRep\":0}";

    assert_int_equal(validate(body, &out, inv, &n, &cause), LG_ERR);
    assert_int_equal(n, 7);
    static const char *const params[] = {"/externalId",
                                         "/monitoringType",
                                         "/notificationDestination",
                                         "/maximumNumberOfReports",
                                         "/accuracy",
                                         "/immediateRep",
                                         "/msisdn"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(inv[i].param, params[i]);
    assert_ptr_equal(cause, lg_t8_cause_ie_missing);

    /* Only incorrect mandatory and optional members: MANDATORY_IE_INCORRECT. */
    body = "{" EXT ",\"monitoringType\":\"ROAMING_STATUS\"," DEST "," MAX1 ",\"msisdn\":\"1\"}";
    assert_int_equal(validate(body, &out, inv, &n, &cause), LG_ERR);
    assert_int_equal(n, 2);
    assert_ptr_equal(cause, lg_t8_cause_ie_incorrect);
}

static void test_only_the_first_sixteen_problems_are_kept_but_all_are_counted(void **state)
{
    (void)state;
    lg_invalid_param_t inv[LG_INVALID_MAX + 1];
    size_t n;
    const char *cause;
    json_t *out;
    /* 4 missing mandatory members + 11 refused members + 3 bad optional ones = 18. */
    const char *body = "{\"msisdn\":1,\"addedExternalIds\":1,\"addedMsisdns\":1,"
                       "\"excludedExternalIds\":1,\"excludedMsisdns\":1,\"addExtGroupId\":1,"
                       "\"ipv4Addr\":1,\"ipv6Addr\":1,\"ueIpAddr\":1,\"ueMacAddr\":1,"
                       "\"addnMonTypes\":1,\"accuracy\":1,\"locationType\":1,\"immediateRep\":1}";

    memset(inv, 0x5a, sizeof inv);
    assert_int_equal(validate(body, &out, inv, &n, &cause), LG_ERR);
    assert_int_equal(n, 18);
    assert_string_equal(inv[LG_INVALID_MAX - 1].param, "/ueIpAddr");
    assert_int_equal((unsigned char)inv[LG_INVALID_MAX].param[0], 0x5a); /* untouched */
}

/* ---- the identifier and URI checks ---- */

static void test_external_id_format(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool is_valid;
    } cases[] = {
        {"a@b", true},
        {"dev-1@iot.example.com", true},
        {"12345!#$%&'*+/=?^_`{|}~.x@sub_domain.example-1.com", true},
        {"a@b.", false},
        {".@b", true},
        {"a@.b", false},
        {"a@b@c", false},
        {"a\t@b", false},
        {"a\x7f@b", false},
        {"\xc3\xa9@b", false},
        {"a@b/c", false},
        {"ab", false},
        {"", false},
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        if (lg_t8_is_external_id(cases[i].s, strlen(cases[i].s)) != cases[i].is_valid)
            fail_msg("\"%s\" should be %s", cases[i].s, cases[i].is_valid ? "valid" : "invalid");

    char id[300];
    memset(id, 'a', sizeof id);
    memcpy(id + 250, "@b.cd", 5); /* 255 bytes */
    assert_true(lg_t8_is_external_id(id, 255));
    memcpy(id + 251, "@b.cd", 5); /* 256 bytes */
    assert_false(lg_t8_is_external_id(id, 256));
    /* A domain label of 64 characters is too long. */
    memset(id, 'b', sizeof id);
    id[0] = 'a';
    id[1] = '@';
    assert_true(lg_t8_is_external_id(id, 2 + 63));
    assert_false(lg_t8_is_external_id(id, 2 + 64));
}

static void test_supported_features_are_negotiated_down_to_ours(void **state)
{
    static const struct {
        const char *requested;
        const char *answered;
    } cases[] = {{"", ""}, {"0", "0"}, {"F", "0"}, {"a3", "00"}, {"FFFFFFFF", "00000000"}};
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        char out[LG_T8_FEATURES_MAX + 1];
        lg_t8_negotiate_features(cases[i].requested, strlen(cases[i].requested), out);
        assert_string_equal(out, cases[i].answered);
    }
    /* In a subscription: echoed, negotiated; a non-hex value is an optional IE problem. */
    lg_invalid_param_t inv[LG_INVALID_MAX];
    size_t n;
    const char *cause;
    json_t *out;
    const char *ok = "{\"externalId\":\"a@b.c\",\"monitoringType\":\"LOCATION_REPORTING\","
                     "\"notificationDestination\":\"https://h/n\",\"maximumNumberOfReports\":1,"
                     "\"supportedFeatures\":\"1F\"}";
    assert_int_equal(lg_t8_validate_subscription(ok, strlen(ok), 0, &out, inv, &n, &cause), LG_OK);
    assert_string_equal(json_string_value(json_object_get(out, "supportedFeatures")), "00");
    json_decref(out);
    const char *bad = "{\"externalId\":\"a@b.c\",\"monitoringType\":\"LOCATION_REPORTING\","
                      "\"notificationDestination\":\"https://h/n\",\"maximumNumberOfReports\":1,"
                      "\"supportedFeatures\":\"xyz\"}";
    assert_int_equal(lg_t8_validate_subscription(bad, strlen(bad), 0, &out, inv, &n, &cause),
                     LG_ERR);
    assert_int_equal(n, 1);
    assert_string_equal(inv[0].param, "/supportedFeatures");
    assert_string_equal(cause, OPTIONAL);
}

static void test_notification_uri_format(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool is_valid;
    } cases[] = {
        {"https://h", true},
        {"https://h/", true},
        {"https://h:65535/a/b?c=d&e=%2F", true},
        {"https://10.1.2.3:8443/x", true},
        {"https://[2001:db8::1]/x", true},
        {"https://h?q", true},
        {"HTTPS://H/", true},
        {"https://h:65536/", false},
        {"https://h:/", false},
        {"https://h:x/", false},
        {"https://h/%zz", false},
        {"https://h/%2", false},
        {"https://h/\"", false},
        {"https://h/a\\b", false},
        {"https://user@h/", false},
        {"https://[]/", false},
        {"https://[g::1]/", false},
        {"https://h..x/", false},
        /* IPv4 only in dotted-decimal form: these name 127.0.0.1 to some, nothing to DNS. */
        {"https://2130706433/", false},
        {"https://0x7f000001:8443/", false},
        {"https://127.1/", false},
        {"https://h.0X1F/", false},
        {"https://h.123./", false},
        {"https://127.0.0.1/", true},
        {"https://h.x123/", true},
        {"https://123.h/", true},
        {"https:/h/", false},
        {"https://", false},
        {"http://h/", false},
        {"h/", false},
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        if (lg_t8_is_notification_uri(cases[i].s, strlen(cases[i].s)) != cases[i].is_valid)
            fail_msg("\"%s\" should be %s", cases[i].s, cases[i].is_valid ? "valid" : "invalid");

    /* The length bound: 2048 bytes pass, 2049 do not; the input need not be NUL-terminated. */
    char *uri = malloc(LG_T8_URI_MAX + 1);
    memcpy(uri, "https://h/", 10);
    memset(uri + 10, 'a', LG_T8_URI_MAX + 1 - 10);
    assert_true(lg_t8_is_notification_uri(uri, LG_T8_URI_MAX));
    assert_false(lg_t8_is_notification_uri(uri, LG_T8_URI_MAX + 1));
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_subscriptions_are_normalised),
        cmocka_unit_test(test_supported_features_are_negotiated_down_to_ours),
        cmocka_unit_test(test_each_invalid_member_is_reported_at_its_pointer),
        cmocka_unit_test(test_all_problems_are_collected_and_the_worst_picks_the_cause),
        cmocka_unit_test(test_only_the_first_sixteen_problems_are_kept_but_all_are_counted),
        cmocka_unit_test(test_external_id_format),
        cmocka_unit_test(test_notification_uri_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
