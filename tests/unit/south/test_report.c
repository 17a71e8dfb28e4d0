/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/south/report.c: one valid batch per RAT, every field's
 * invalid forms reported at the right JSON pointer, error collection and
 * limits, and the Locguard-Seq header (the GAD codec has test_location.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "locguard/south/report.h"

#define NOW_US INT64_C(1714564800000000) /* 2024-05-01T12:00:00Z */
#define SEC_US INT64_C(1000000)

static const lg_report_limits_t LIM = {
    .max_reports = 1000,
    .now_us = NOW_US,
    .max_age_us = 3600 * SEC_US,
    .max_skew_us = 60 * SEC_US,
};

#define PLMN "{\"mcc\":\"208\",\"mnc\":\"93\"}"
#define TAI  "\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"00A1\"}"
#define EUTRA                                                                                      \
    "{\"eutraLocation\":{" TAI ",\"ecgi\":{\"plmnId\":" PLMN ",\"eutraCellId\":\"00a1b2c\"}}}"
#define NR   "{\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"00000001F\"}}}"
#define SUPI "\"imsi-208930000000001\""
#define TS   "\"2024-05-01T11:59:30Z\""

/* Formats a one-report batch; NULL members are left out. Values are raw JSON. */
static const char *one(const char *type, const char *supi, const char *ts, const char *loc)
{
    static char buf[4096];
    size_t pos;

    pos = (size_t)snprintf(buf, sizeof buf, "{\"notifyCorrelationId\":\"mme-1\",\"reportList\":[{");
    if (type != NULL)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\"type\":%s,", type);
    pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\"state\":{\"active\":true},");
    if (supi != NULL)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\"supi\":%s,", supi);
    if (ts != NULL)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\"timeStamp\":%s,", ts);
    if (loc != NULL)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "\"location\":%s,", loc);
    buf[pos - 1] = '}'; /* replaces the last comma (or the opening brace's successor) */
    snprintf(buf + pos, sizeof buf - pos, "]}");
    return buf;
}

/* A report with the given location and all other members valid. */
static const char *with_loc(const char *loc)
{
    return one("\"LOCATION_REPORT\"", SUPI, TS, loc);
}

static int parse(const char *json, lg_batch_t *b)
{
    return lg_report_parse_batch(json, strlen(json), &LIM, b);
}

/* Parses json, which must succeed with exactly one report; returns it in *r. */
static void parse_one(const char *json, lg_batch_t *b)
{
    int rc = parse(json, b);

    if (rc != LG_OK)
        fail_msg("rejected: %s: %s (%zu problems) in %s", b->invalid[0].param, b->invalid[0].reason,
                 b->n_invalid, json);
    assert_int_equal(b->n_reports, 1);
}

/* Parses json, which must fail with exactly one problem at param for reason. */
static void expect_one_problem(const char *json, const char *param, const char *reason)
{
    lg_batch_t b = {0};

    if (parse(json, &b) != LG_ERR)
        fail_msg("accepted %s", json);
    assert_null(b.reports);
    assert_int_equal(b.n_reports, 0);
    if (b.n_invalid != 1 || strcmp(b.invalid[0].param, param) != 0 ||
        strcmp(b.invalid[0].reason, reason) != 0)
        fail_msg("%s\n  got %zu problems, first %s: %s\n  want %s: %s", json, b.n_invalid,
                 b.invalid[0].param, b.invalid[0].reason, param, reason);
    lg_batch_cleanup(&b);
}

/* ---- valid batches ---- */

static void test_eutra_report_gives_ecgi_key(void **state)
{
    lg_batch_t b = {0};

    (void)state;
    parse_one(with_loc(EUTRA), &b);
    assert_string_equal(b.node, "mme-1");
    assert_string_equal(b.reports[0].supi, "208930000000001");
    assert_int_equal(b.reports[0].ts_us, NOW_US - 30 * SEC_US);
    assert_int_equal(b.reports[0].rat, LG_RAT_EUTRA);
    assert_string_equal(b.reports[0].cell_key, "ecgi:208-93:00A1B2C"); /* upper-cased */
    assert_false(b.reports[0].has_position);
    assert_int_equal(b.n_invalid, 0);
    lg_batch_cleanup(&b);
    assert_null(b.reports);
}

static void test_each_rat_gives_its_canonical_key(void **state)
{
    static const struct {
        const char *loc;
        lg_rat_t rat;
        const char *key;
    } cases[] = {
        {EUTRA, LG_RAT_EUTRA, "ecgi:208-93:00A1B2C"},
        {NR, LG_RAT_NR, "ncgi:208-93:00000001F"},
        {"{\"nrLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"310\",\"mnc\":\"410\"},\"tac\":"
         "\"0000a1\"},"
         "\"ncgi\":{\"plmnId\":{\"mcc\":\"310\",\"mnc\":\"410\"},\"nrCellId\":\"abcdef012\"}}}",
         LG_RAT_NR, "ncgi:310-410:ABCDEF012"},
        {"{\"utraLocation\":{\"cgi\":{\"plmnId\":" PLMN ",\"lac\":\"1a2b\",\"cellId\":\"3c4D\"}}}",
         LG_RAT_UTRA, "cgi:208-93:1A2B:3C4D"},
        {"{\"utraLocation\":{\"sai\":{\"plmnId\":" PLMN ",\"lac\":\"1A2B\",\"sac\":\"0001\"}}}",
         LG_RAT_UTRA, "sai:208-93:1A2B:0001"},
        {"{\"utraLocation\":{\"rai\":{\"plmnId\":" PLMN ",\"lac\":\"FFFF\",\"rac\":\"0f\"},"
         "\"lai\":{\"plmnId\":" PLMN ",\"lac\":\"FFFF\"}}}",
         LG_RAT_UTRA, "rai:208-93:FFFF:0F"},
        {"{\"geraLocation\":{\"cgi\":{\"plmnId\":" PLMN ",\"lac\":\"0001\",\"cellId\":\"0002\"}}}",
         LG_RAT_GERA, "cgi:208-93:0001:0002"},
        {"{\"geraLocation\":{\"sai\":{\"plmnId\":" PLMN ",\"lac\":\"0001\",\"sac\":\"0003\"}}}",
         LG_RAT_GERA, "sai:208-93:0001:0003"},
        {"{\"geraLocation\":{\"rai\":{\"plmnId\":" PLMN ",\"lac\":\"0001\",\"rac\":\"04\"}}}",
         LG_RAT_GERA, "rai:208-93:0001:04"},
        /* n3gaLocation is not a RAT we record, so it does not count as a second one. */
        {"{\"n3gaLocation\":{\"n3gppTai\":{\"plmnId\":" PLMN ",\"tac\":\"0001\"}},\"eutraLocation\":{" TAI ",\"ecgi\":{\"plmnId\":" PLMN
         ",\"eutraCellId\":\"00a1b2c\"}}}",
         LG_RAT_EUTRA, "ecgi:208-93:00A1B2C"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_batch_t b = {0};

        parse_one(with_loc(cases[i].loc), &b);
        assert_int_equal(b.reports[0].rat, cases[i].rat);
        assert_string_equal(b.reports[0].cell_key, cases[i].key);
        lg_batch_cleanup(&b);
    }
}

static void test_rat_names(void **state)
{
    (void)state;
    assert_string_equal(lg_rat_name(LG_RAT_EUTRA), "EUTRA");
    assert_string_equal(lg_rat_name(LG_RAT_NR), "NR");
    assert_string_equal(lg_rat_name(LG_RAT_UTRA), "UTRA");
    assert_string_equal(lg_rat_name(LG_RAT_GERA), "GERA");
}

static void test_sample_notification_with_unknown_members_is_accepted(void **state)
{
    /* /work/shared/specs/samples/AmfEventNotification.location.valid.json */
    static const char sample[] =
        "{\"notifyCorrelationId\":\"corr-42\",\"reportList\":[{\"type\":\"LOCATION_REPORT\","
        "\"state\":{\"active\":true},\"timeStamp\":\"2024-05-01T12:00:00Z\","
        "\"supi\":\"imsi-208930000000001\",\"gpsi\":\"msisdn-33612345678\",\"location\":{"
        "\"nrLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"208\",\"mnc\":\"93\"},\"tac\":\"0001\"},"
        "\"ncgi\":{\"plmnId\":{\"mcc\":\"208\",\"mnc\":\"93\"},\"nrCellId\":\"000000010\"},"
        "\"ueLocationTimestamp\":\"2024-05-01T11:59:58Z\"}}}]}";
    lg_batch_t b = {0};

    (void)state;
    parse_one(sample, &b);
    assert_string_equal(b.node, "corr-42");
    assert_int_equal(b.reports[0].ts_us, NOW_US);
    assert_string_equal(b.reports[0].cell_key, "ncgi:208-93:000000010");
    lg_batch_cleanup(&b);
}

static void test_geographical_information_gives_position(void **state)
{
    lg_batch_t b = {0};

    (void)state;
    /* lat 45 N, lon 90 W, k = 10: r = 10 * (1.1^10 - 1) */
    parse_one(with_loc("{\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN
                       ",\"nrCellId\":\"000000010\"},\"geographicalInformation\":"
                       "\"104000004000000A\"}}"),
              &b);
    assert_true(b.reports[0].has_position);
    assert_true(b.reports[0].lat_deg == 45.0);
    assert_true(b.reports[0].lon_deg == 90.0);
    assert_true(fabs(b.reports[0].uncertainty_m - 15.937424601) < 1e-6);
    lg_batch_cleanup(&b);
}

static void test_big_batch_keeps_order(void **state)
{
    size_t n = 500, cap = n * 400 + 100, pos;
    char *json = malloc(cap);
    lg_batch_t b = {0};

    (void)state;
    assert_non_null(json);
    pos = (size_t)snprintf(json, cap, "{\"notifyCorrelationId\":\"mme-1\",\"reportList\":[");
    for (size_t i = 0; i < n; i++)
        pos += (size_t)snprintf(json + pos, cap - pos,
                                "%s{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":\"imsi-%015zu\","
                                "\"timeStamp\":" TS ",\"location\":" EUTRA "}",
                                i ? "," : "", i);
    snprintf(json + pos, cap - pos, "]}");
    assert_int_equal(parse(json, &b), LG_OK);
    assert_int_equal(b.n_reports, n);
    assert_string_equal(b.reports[0].supi, "000000000000000");
    assert_string_equal(b.reports[499].supi, "000000000000499");
    lg_batch_cleanup(&b);
    free(json);
}

static void test_timestamps_at_window_edges_are_accepted(void **state)
{
    static const struct {
        const char *ts;
        bool is_ok;
    } cases[] = {
        {"\"2024-05-01T11:00:00Z\"", true},         /* exactly max_age old */
        {"\"2024-05-01T10:59:59.999999Z\"", false}, /* 1 us older */
        {"\"2024-05-01T12:01:00Z\"", true},         /* exactly max_skew ahead */
        {"\"2024-05-01T12:01:00.000001Z\"", false}, {"\"2024-05-01T14:01:00+02:00\"", true},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_batch_t b = {0};

        assert_int_equal(parse(one("\"LOCATION_REPORT\"", SUPI, cases[i].ts, EUTRA), &b),
                         cases[i].is_ok ? LG_OK : LG_ERR);
        lg_batch_cleanup(&b);
    }
}

/* ---- invalid fields ---- */

static void test_bad_supi_names_its_pointer(void **state)
{
    static const char *const supis[] = {
        "\"imsi-1234\"",  "\"imsi-1234567890123456\"", "\"imsi-12345a\"",
        "\"IMSI-12345\"", "\"nai-user@example.org\"",  "\"imsi-\"",
        "\"imsi- 12345\"",
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(supis); i++)
        expect_one_problem(one("\"LOCATION_REPORT\"", supis[i], TS, EUTRA), "/reportList/0/supi",
                           "must match imsi-<5..15 digits>");
    /* What the TS 29.571 pattern itself refuses: nothing, or a line break. */
    expect_one_problem(one("\"LOCATION_REPORT\"", "\"\"", TS, EUTRA), "/reportList/0/supi",
                       "must be a SUPI: not empty, one line");
    expect_one_problem(one("\"LOCATION_REPORT\"", "\"imsi-\\n12345\"", TS, EUTRA),
                       "/reportList/0/supi", "must be a SUPI: not empty, one line");
    expect_one_problem(one("\"LOCATION_REPORT\"", "208930000000001", TS, EUTRA),
                       "/reportList/0/supi", "must be a string");
    expect_one_problem(one("\"LOCATION_REPORT\"", NULL, TS, EUTRA), "/reportList/0/supi",
                       "required");
}

static void test_supi_of_5_and_15_digits_is_accepted(void **state)
{
    lg_batch_t b = {0};

    (void)state;
    parse_one(one("\"LOCATION_REPORT\"", "\"imsi-12345\"", TS, EUTRA), &b);
    assert_string_equal(b.reports[0].supi, "12345");
    lg_batch_cleanup(&b);
    parse_one(one("\"LOCATION_REPORT\"", "\"imsi-123456789012345\"", TS, EUTRA), &b);
    assert_string_equal(b.reports[0].supi, "123456789012345");
    lg_batch_cleanup(&b);
}

static void test_bad_type_and_timestamp_name_their_pointers(void **state)
{
    (void)state;
    expect_one_problem(one("\"UE_REACHABILITY\"", SUPI, TS, EUTRA), "/reportList/0/type",
                       "must be LOCATION_REPORT");
    expect_one_problem(one("\"LOCATION_REPORT \"", SUPI, TS, EUTRA), "/reportList/0/type",
                       "must be LOCATION_REPORT");
    expect_one_problem(one(NULL, SUPI, TS, EUTRA), "/reportList/0/type", "required");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, "\"2024-02-30T00:00:00Z\"", EUTRA),
                       "/reportList/0/timeStamp", "must be an RFC 3339 date-time with offset");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, "\"2024-05-01T12:00:00\"", EUTRA),
                       "/reportList/0/timeStamp", "must be an RFC 3339 date-time with offset");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, "1714564800", EUTRA),
                       "/reportList/0/timeStamp", "must be a string");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, "\"2024-04-30T12:00:00Z\"", EUTRA),
                       "/reportList/0/timeStamp", "older than the accepted age");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, "\"2024-05-01T12:05:00Z\"", EUTRA),
                       "/reportList/0/timeStamp", "too far in the future");
    expect_one_problem(one("\"LOCATION_REPORT\"", SUPI, TS, NULL), "/reportList/0/location",
                       "required");
}

static void test_bad_location_fields_name_their_pointers(void **state)
{
#define L                     "/reportList/0/location"
#define E                     L "/eutraLocation"
#define ECGI_WITH(cell)       "\"ecgi\":{\"plmnId\":" PLMN ",\"eutraCellId\":\"" cell "\"}"
#define EUTRA_WITH(tai, ecgi) "{\"eutraLocation\":{" tai "," ecgi "}}"
#define PLMN_TAI(mcc, mnc)    "\"tai\":{\"plmnId\":{\"mcc\":" mcc ",\"mnc\":" mnc "},\"tac\":\"0001\"}"
#define UTRA(body)            "{\"utraLocation\":{" body "}}"
#define GERA(body)            "{\"geraLocation\":{" body "}}"
#define CGI(lac, ci)          "\"cgi\":{\"plmnId\":" PLMN ",\"lac\":\"" lac "\",\"cellId\":\"" ci "\"}"
#define SAI(lac, sac)         "\"sai\":{\"plmnId\":" PLMN ",\"lac\":\"" lac "\",\"sac\":\"" sac "\"}"
#define RAI(lac, rac)         "\"rai\":{\"plmnId\":" PLMN ",\"lac\":\"" lac "\",\"rac\":\"" rac "\"}"
#define NR_GEO(geo)                                                                                \
    "{\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN                                          \
    ",\"nrCellId\":\"000000010\"},\"geographicalInformation\":" geo "}}"
    static const struct {
        const char *loc, *param, *reason;
    } cases[] = {
        {"{}", L, "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation"},
        {"{\"n3gaLocation\":{}}", L,
         "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation"},
        {"{\"eutraLocation\":{" TAI "," ECGI_WITH("00A1B2C") "},\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"00000001F\"}}}", L,
         "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation"},
        {"[]", L, "must be an object"},
        {"{\"eutraLocation\":\"x\"}", E, "must be an object"},
        {"{\"eutraLocation\":{" ECGI_WITH("00A1B2C") "}}", E "/tai", "required"},
        {"{\"eutraLocation\":{" TAI "}}", E "/ecgi", "required"},
        {"{\"eutraLocation\":{" TAI ",\"ecgi\":[]}}", E "/ecgi", "must be an object"},
        {EUTRA_WITH(TAI, ECGI_WITH("00A1B2")), E "/ecgi/eutraCellId", "must be 7 hex digits"},
        {EUTRA_WITH(TAI, ECGI_WITH("00A1B2C3")), E "/ecgi/eutraCellId", "must be 7 hex digits"},
        {EUTRA_WITH(TAI, ECGI_WITH("00A1B2G")), E "/ecgi/eutraCellId", "must be 7 hex digits"},
        {EUTRA_WITH(TAI, "\"ecgi\":{\"plmnId\":" PLMN "}"), E "/ecgi/eutraCellId", "required"},
        {EUTRA_WITH(TAI, "\"ecgi\":{\"eutraCellId\":\"00A1B2C\"}"), E "/ecgi/plmnId", "required"},
        {EUTRA_WITH(PLMN_TAI("\"2080\"", "\"93\""), ECGI_WITH("00A1B2C")), E "/tai/plmnId/mcc",
         "must be 3 digits"},
        {EUTRA_WITH(PLMN_TAI("\"20a\"", "\"93\""), ECGI_WITH("00A1B2C")), E "/tai/plmnId/mcc",
         "must be 3 digits"},
        {EUTRA_WITH(PLMN_TAI("208", "\"93\""), ECGI_WITH("00A1B2C")), E "/tai/plmnId/mcc",
         "must be a string"},
        {EUTRA_WITH(PLMN_TAI("\"208\"", "\"9\""), ECGI_WITH("00A1B2C")), E "/tai/plmnId/mnc",
         "must be 2 or 3 digits"},
        {EUTRA_WITH(PLMN_TAI("\"208\"", "\"9301\""), ECGI_WITH("00A1B2C")), E "/tai/plmnId/mnc",
         "must be 2 or 3 digits"},
        {EUTRA_WITH("\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"00A\"}", ECGI_WITH("00A1B2C")),
         E "/tai/tac", "must be 4 or 6 hex digits"},
        {EUTRA_WITH("\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"00A1B\"}", ECGI_WITH("00A1B2C")),
         E "/tai/tac", "must be 4 or 6 hex digits"},
        {EUTRA_WITH("\"tai\":{\"plmnId\":" PLMN "}", ECGI_WITH("00A1B2C")), E "/tai/tac",
         "required"},
        {"{\"eutraLocation\":{" TAI "," ECGI_WITH("00A1B2C") ",\"ignoreEcgi\":true}}",
         E "/ignoreEcgi", "cell marked to be ignored: no usable location"},
        {"{\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"00000001\"}}}",
         L "/nrLocation/ncgi/nrCellId", "must be 9 hex digits"},
        {"{\"nrLocation\":{" TAI "}}", L "/nrLocation/ncgi", "required"},
        {UTRA(""), L "/utraLocation", "must have exactly one of cgi, sai, rai"},
        {UTRA(CGI("0001", "0002") "," SAI("0001", "0002")), L "/utraLocation",
         "must have exactly one of cgi, sai, rai"},
        {UTRA(CGI("00012", "0002")), L "/utraLocation/cgi/lac", "must be 4 hex digits"},
        {UTRA(CGI("0001", "XYZ1")), L "/utraLocation/cgi/cellId", "must be 4 hex digits"},
        {UTRA(SAI("0001", "02")), L "/utraLocation/sai/sac", "must be 4 hex digits"},
        {UTRA(RAI("0001", "2")), L "/utraLocation/rai/rac", "must be 2 hex digits"},
        {UTRA("\"rai\":[]"), L "/utraLocation/rai", "must be an object"},
        {UTRA("\"lai\":{\"plmnId\":" PLMN ",\"lac\":\"0001\"}"), L "/utraLocation",
         "must have exactly one of cgi, sai, rai"},
        {GERA("\"lai\":{\"plmnId\":" PLMN ",\"lac\":\"0001\"}"), L "/geraLocation/lai",
         "a location area alone is not accepted: send cgi, sai or rai"},
        {GERA(CGI("0001", "0002") ",\"lai\":{\"plmnId\":" PLMN ",\"lac\":\"0001\"}"), L "/geraLocation",
         "must have exactly one of cgi, sai, lai, rai"},
        {GERA("\"cgi\":{\"plmnId\":{\"mcc\":\"208\"},\"lac\":\"0001\",\"cellId\":\"0002\"}"),
         L "/geraLocation/cgi/plmnId/mnc", "required"},
        {NR_GEO("\"104000004000000a\""), L "/nrLocation/geographicalInformation",
         "must be 16 upper-case hex digits"},
        {NR_GEO("\"104000004000000\""), L "/nrLocation/geographicalInformation",
         "must be 16 upper-case hex digits"},
        {NR_GEO("\"104000004000000AA\""), L "/nrLocation/geographicalInformation",
         "must be 16 upper-case hex digits"},
        {NR_GEO("42"), L "/nrLocation/geographicalInformation", "must be a string"},
        {NR_GEO("\"904000004000000A\""), L "/nrLocation/geographicalInformation",
         "must be an ellipsoid point with uncertainty circle"},
        {NR_GEO("\"004000004000000A\""), L "/nrLocation/geographicalInformation",
         "must be an ellipsoid point with uncertainty circle"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        expect_one_problem(with_loc(cases[i].loc), cases[i].param, cases[i].reason);
}

static void test_bad_node_name_names_its_pointer(void **state)
{
    static const char *const bodies[] = {
        "{\"notifyCorrelationId\":\"\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI
        ",\"timeStamp\":" TS ",\"location\":" EUTRA "}]}",
        "{\"notifyCorrelationId\":\"mme "
        "1\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
        ",\"location\":" EUTRA "}]}",
        "{\"notifyCorrelationId\":\"mme/"
        "1\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
        ",\"location\":" EUTRA "}]}",
        "{\"notifyCorrelationId\":"
        "\"a012345678901234567890123456789012345678901234567890123456789bcd"
        "\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
        ",\"location\":" EUTRA "}]}",
    };
    lg_batch_t b = {0};
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(bodies); i++)
        expect_one_problem(bodies[i], "/notifyCorrelationId", "must match [A-Za-z0-9._-]{1,63}");
    expect_one_problem("{\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI
                       ",\"timeStamp\":" TS ",\"location\":" EUTRA "}]}",
                       "/notifyCorrelationId", "required");
    /* 63 characters is the longest name. */
    parse_one(
        "{\"notifyCorrelationId\":\"a012345678901234567890123456789012345678901234567890123456789bc"
        "\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
        ",\"location\":" EUTRA "}]}",
        &b);
    assert_int_equal(strlen(b.node), 63);
    lg_batch_cleanup(&b);
}

static void test_bad_bodies_are_refused_at_the_root(void **state)
{
    static const struct {
        const char *body, *param, *reason;
    } cases[] = {
        {"[]", "body", "must be a JSON object"},
        {"\"x\"", "body", "must be a JSON object"},
        {"", "body", "malformed JSON at byte 0"},
        {"{\"notifyCorrelationId\":", "body", "malformed JSON at byte 22"},
        {"{\"notifyCorrelationId\":\"n\"} x", "body", "malformed JSON at byte 28"},
        {"{\"a\":1,\"a\":2}", "body", "duplicate member \"a\""},
        {"{\"a\":{\"b\":[{\"c\":1,\"c\":2}]}}", "body", "duplicate member \"c\""},
        {"{\"a\":1,\"a b\":1,\"a b\":2}", "body", "duplicate member"},
        /* Inside strings: a raw control character, \u0000, bytes that are not UTF-8. */
        {"{\"x\":\"a\tb\"}", "body", "malformed JSON at byte 7"},
        {"{\"x\":\"ab\\u0000\"}", "body", "malformed JSON at byte 8"},
        {"{\"x\":\"\xc3\x28\"}", "body", "malformed JSON at byte 6"},
        {"{\"x\":\"\xed\xa0\x80\"}", "body", "malformed JSON at byte 6"},
        {"{\"x\":\"\xe2\x82\"}", "body", "malformed JSON at byte 6"},
        /* Between tokens and in numbers, RFC 8259 where cJSON is lenient. */
        {"{\x01\"a\":1}", "body", "malformed JSON at byte 1"},
        {"{\"x\":01}", "body", "malformed JSON at byte 5"},
        {"{\"x\":1.}", "body", "malformed JSON at byte 5"},
        {"{\"x\":[1,-]}", "body", "malformed JSON at byte 8"},
        {"{\"x\":1e+}", "body", "malformed JSON at byte 5"},
        {"{\"notifyCorrelationId\":\"n\"}", "/reportList", "required"},
        {"{\"notifyCorrelationId\":\"n\",\"reportList\":{}}", "/reportList", "must be an array"},
        {"{\"notifyCorrelationId\":\"n\",\"reportList\":[]}", "/reportList",
         "must have 1..1000 entries"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        expect_one_problem(cases[i].body, cases[i].param, cases[i].reason);
}

static void test_strings_and_members_are_checked_everywhere(void **state)
{
    char body[4096];
    size_t pos = 0;
    lg_batch_t b = {0};

    (void)state;
    /* \u0000 would end the string early for cJSON: the SUPI cannot carry a tail that way. */
    expect_one_problem(one("\"LOCATION_REPORT\"", "\"imsi-208930000000001\\u0000x\"", TS, EUTRA), "body",
                       "malformed JSON at byte 123");

    /* An object of many members (sorted, not compared pairwise) with one name twice. */
    pos += (size_t)snprintf(body + pos, sizeof body - pos, "{\"x\":{");
    for (int i = 0; i < 40; i++)
        pos += (size_t)snprintf(body + pos, sizeof body - pos, "\"m%d\":%d,", i == 39 ? 7 : i, i);
    snprintf(body + pos - 1, sizeof body - pos + 1, "}}");
    expect_one_problem(body, "body", "duplicate member \"m7\"");

    /* Unknown members are ignored, but still JSON: UTF-8 text and a backslash before "u0000". */
    assert_int_equal(
        parse("{\"notifyCorrelationId\":\"mme-1\",\"n\":[0,-0.5e+3,10E-2,7],\"note\":\"Gen\xc3\xa8ve \xe2\x82\xac \xf0\x9f\x93\xa1 "
              "\\\\u0000\",\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI
              ",\"timeStamp\":" TS ",\"location\":" EUTRA "}]}",
              &b),
        LG_OK);
    assert_int_equal(b.n_reports, 1);
    assert_string_equal(b.reports[0].supi, "208930000000001");
    lg_batch_cleanup(&b);
}

static void test_deep_nesting_is_refused_before_parsing(void **state)
{
    char body[256];
    size_t pos = 0;

    (void)state;
    /* 33 levels, valid JSON otherwise. */
    for (int i = 0; i < 33; i++)
        body[pos++] = i == 0 ? '{' : '[';
    body[pos++] = '1';
    for (int i = 32; i >= 0; i--)
        body[pos++] = i == 0 ? '}' : ']';
    body[pos] = '\0';
    expect_one_problem(body, "body", "nested deeper than 32 levels");

    /* Brackets inside strings (escaped quotes included) do not count. */
    expect_one_problem(
        "{\"x\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\\",\"notifyCorrelationId\":\"n\","
        "\"reportList\":[]}",
        "/reportList", "must have 1..1000 entries");
}

static void test_body_is_read_up_to_len_only(void **state)
{
    const char *json = with_loc(EUTRA);
    size_t len = strlen(json);
    char *copy = malloc(len + 8);
    lg_batch_t b = {0};

    (void)state;
    assert_non_null(copy);
    memcpy(copy, json, len);
    memcpy(copy + len, "garbage", 8);
    assert_int_equal(lg_report_parse_batch(copy, len, &LIM, &b), LG_OK);
    lg_batch_cleanup(&b);
    assert_int_equal(lg_report_parse_batch(copy, len - 1, &LIM, &b), LG_ERR);
    lg_batch_cleanup(&b);
    free(copy);
}

static void test_several_errors_are_all_collected(void **state)
{
    static const char body[] =
        "{\"notifyCorrelationId\":\"mme-1\",\"reportList\":["
        "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS ",\"location\":" EUTRA
        "},"
        "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":\"imsi-1\",\"timeStamp\":" TS ",\"location\":" EUTRA
        "},"
        "7,"
        "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":\"2030-01-01T00:00:00Z\","
        "\"location\":{\"eutraLocation\":{" TAI
        ",\"ecgi\":{\"plmnId\":{\"mcc\":\"1\",\"mnc\":\"93\"},"
        "\"eutraCellId\":\"1\"}}}}]}";
    static const struct {
        const char *param, *reason;
    } want[] = {
        /* First what the YAML refuses, in document order; then locguard's own checks of
         * the reports the YAML accepts (report 3's timestamp is not judged: the YAML
         * already refused that report). */
        {"/reportList/2", "must be an object"},
        {"/reportList/3/location/eutraLocation/ecgi/plmnId/mcc", "must be 3 digits"},
        {"/reportList/3/location/eutraLocation/ecgi/eutraCellId", "must be 7 hex digits"},
        {"/reportList/1/supi", "must match imsi-<5..15 digits>"},
    };
    lg_batch_t b = {0};

    (void)state;
    assert_int_equal(parse(body, &b), LG_ERR);
    assert_null(b.reports);
    assert_int_equal(b.n_invalid, LG_ARRAY_SIZE(want));
    for (size_t i = 0; i < LG_ARRAY_SIZE(want); i++) {
        assert_string_equal(b.invalid[i].param, want[i].param);
        assert_string_equal(b.invalid[i].reason, want[i].reason);
    }
    lg_batch_cleanup(&b);
}

static void test_errors_beyond_invalid_max_are_counted_not_listed(void **state)
{
    char body[8192];
    size_t pos;
    lg_batch_t b = {0};

    (void)state;
    pos = (size_t)snprintf(body, sizeof body, "{\"notifyCorrelationId\":\"n\",\"reportList\":[");
    for (int i = 0; i < 20; i++)
        pos += (size_t)snprintf(body + pos, sizeof body - pos,
                                "%s{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":\"imsi-1\","
                                "\"timeStamp\":" TS ",\"location\":" EUTRA "}",
                                i ? "," : "");
    snprintf(body + pos, sizeof body - pos, "]}");
    assert_int_equal(parse(body, &b), LG_ERR);
    assert_int_equal(b.n_invalid, 20);
    assert_string_equal(b.invalid[LG_INVALID_MAX - 1].param, "/reportList/15/supi");
    lg_batch_cleanup(&b);
}

static void test_max_reports_exceeded_is_refused(void **state)
{
    lg_report_limits_t lim = LIM;
    char body[4096];
    lg_batch_t b = {0};

    (void)state;
    lim.max_reports = 2;
    snprintf(body, sizeof body, "{\"notifyCorrelationId\":\"n\",\"reportList\":[%s,%s,%s]}",
             "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
             ",\"location\":" EUTRA "}",
             "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
             ",\"location\":" EUTRA "}",
             "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},\"supi\":" SUPI ",\"timeStamp\":" TS
             ",\"location\":" EUTRA "}");
    assert_int_equal(lg_report_parse_batch(body, strlen(body), &lim, &b), LG_ERR);
    assert_int_equal(b.n_invalid, 1);
    assert_string_equal(b.invalid[0].param, "/reportList");
    assert_string_equal(b.invalid[0].reason, "must have 1..2 entries");
    lg_batch_cleanup(&b);
    lim.max_reports = 3;
    assert_int_equal(lg_report_parse_batch(body, strlen(body), &lim, &b), LG_OK);
    assert_int_equal(b.n_reports, 3);
    lg_batch_cleanup(&b);
}

/* ---- the differential table (tests/tools/check-report-schema.py checks the YAML's half) ---- */

/* True when b names param among its invalidParams. */
static bool names_param(const lg_batch_t *b, const char *param)
{
    for (size_t i = 0; i < b->n_invalid && i < LG_INVALID_MAX; i++)
        if (strcmp(b->invalid[i].param, param) == 0)
            return true;
    return false;
}

static void test_cases_table_verdicts_hold(void **state)
{
    FILE *f = fopen("tests/unit/south/report_cases.txt", "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n_cases = 0, n_failed = 0;

    (void)state;
    assert_non_null(f);
    while ((len = getline(&line, &cap, f)) > 0) {
        char expect[16], param[128], name[64];
        int body_at = 0;
        lg_batch_t b = {0};

        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%15s %127s %63s %n", expect, param, name, &body_at) != 3 || body_at == 0)
            fail_msg("malformed line: %s", line);
        while (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        bool is_valid = strcmp(expect, "valid") == 0;
        int rc = lg_report_parse_batch(line + body_at, (size_t)len - (size_t)body_at, &LIM, &b);
        n_cases++;
        if (is_valid ? rc != LG_OK : rc != LG_ERR || !names_param(&b, param)) {
            n_failed++;
            print_error("%s (%s): got %s, %zu problems, first %s: %s\n", name, expect,
                        rc == LG_OK ? "accepted" : "refused", b.n_invalid,
                        b.n_invalid ? b.invalid[0].param : "-", b.n_invalid ? b.invalid[0].reason : "-");
        }
        lg_batch_cleanup(&b);
    }
    free(line);
    fclose(f);
    assert_true(n_cases >= 60);
    assert_int_equal(n_failed, 0);
}

/* ---- Locguard-Seq ---- */

static void test_seq_accepts_positive_decimals_only(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int64_t value;
    } cases[] = {
        {"1", LG_OK, 1},
        {"42", LG_OK, 42},
        {"9223372036854775807", LG_OK, INT64_MAX},
        {"9223372036854775808", LG_ERR, 0}, /* overflow */
        {"18446744073709551616", LG_ERR, 0},
        {"99999999999999999999999", LG_ERR, 0},
        {"0", LG_ERR, 0},
        {"01", LG_ERR, 0}, /* leading zero */
        {"+1", LG_ERR, 0},
        {"-1", LG_ERR, 0},
        {" 1", LG_ERR, 0},
        {"1 ", LG_ERR, 0},
        {"1a", LG_ERR, 0},
        {"0x10", LG_ERR, 0},
        {"", LG_ERR, 0},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        int64_t v = -7;

        if (lg_report_parse_seq(cases[i].text, &v) != cases[i].rc)
            fail_msg("\"%s\" gave the wrong verdict", cases[i].text);
        if (cases[i].rc == LG_OK)
            assert_int_equal(v, cases[i].value);
        else
            assert_int_equal(v, -7); /* untouched on error */
    }
    assert_int_equal(lg_report_parse_seq(NULL, &(int64_t){0}), LG_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eutra_report_gives_ecgi_key),
        cmocka_unit_test(test_each_rat_gives_its_canonical_key),
        cmocka_unit_test(test_rat_names),
        cmocka_unit_test(test_sample_notification_with_unknown_members_is_accepted),
        cmocka_unit_test(test_geographical_information_gives_position),
        cmocka_unit_test(test_big_batch_keeps_order),
        cmocka_unit_test(test_timestamps_at_window_edges_are_accepted),
        cmocka_unit_test(test_bad_supi_names_its_pointer),
        cmocka_unit_test(test_supi_of_5_and_15_digits_is_accepted),
        cmocka_unit_test(test_bad_type_and_timestamp_name_their_pointers),
        cmocka_unit_test(test_bad_location_fields_name_their_pointers),
        cmocka_unit_test(test_bad_node_name_names_its_pointer),
        cmocka_unit_test(test_bad_bodies_are_refused_at_the_root),
        cmocka_unit_test(test_strings_and_members_are_checked_everywhere),
        cmocka_unit_test(test_deep_nesting_is_refused_before_parsing),
        cmocka_unit_test(test_body_is_read_up_to_len_only),
        cmocka_unit_test(test_several_errors_are_all_collected),
        cmocka_unit_test(test_errors_beyond_invalid_max_are_counted_not_listed),
        cmocka_unit_test(test_max_reports_exceeded_is_refused),
        cmocka_unit_test(test_cases_table_verdicts_hold),
        cmocka_unit_test(test_seq_accepts_positive_decimals_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
