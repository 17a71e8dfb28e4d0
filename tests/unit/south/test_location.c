/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/south/location.c: a UserLocation read on its own
 * (canonical keys, the cursor's pointers, the cursor left where it was), and
 * the TS 23.032 GAD codec (known vectors, refusals, the smallest covering k,
 * round trips). The locations inside whole batches are test_report.c's.
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

#include "locguard/south/location.h"

#define PLMN "{\"mcc\":\"208\",\"mnc\":\"93\"}"
#define TAI  "\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"00A1\"}"

/*
 * Reads the UserLocation json as report 2's location. Returns the number of
 * problems; the first is in batch->invalid[0].
 */
static size_t read_location(const char *json, lg_report_t *rep, lg_batch_t *batch)
{
    cJSON *loc = cJSON_Parse(json);
    lg_cursor_t c = {.out = batch, .in_report = true, .report_idx = 2};

    assert_non_null(loc);
    memset(rep, 0, sizeof *rep);
    memset(batch, 0, sizeof *batch);
    lg_cursor_push(&c, "location");
    lg_location_parse(&c, loc, rep);
    assert_int_equal(c.n_seg, 1); /* left where it was */
    cJSON_Delete(loc);
    return batch->n_invalid;
}

static void test_each_rat_gives_its_canonical_key(void **state)
{
    static const struct {
        const char *json, *key;
        lg_rat_t rat;
    } cases[] = {
        {"{\"eutraLocation\":{" TAI ",\"ecgi\":{\"plmnId\":" PLMN ",\"eutraCellId\":\"00a1b2c\"}}}",
         "ecgi:208-93:00A1B2C", LG_RAT_EUTRA},
        {"{\"nrLocation\":{" TAI ",\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"00000001f\"}}}",
         "ncgi:208-93:00000001F", LG_RAT_NR},
        {"{\"utraLocation\":{\"sai\":{\"plmnId\":" PLMN ",\"lac\":\"00a1\",\"sac\":\"0b2c\"}}}",
         "sai:208-93:00A1:0B2C", LG_RAT_UTRA},
        {"{\"geraLocation\":{\"rai\":{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"001\"},\"lac\":"
         "\"FFFF\",\"rac\":\"0a\"}}}",
         "rai:001-001:FFFF:0A", LG_RAT_GERA},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t rep;
        lg_batch_t batch;

        assert_int_equal(read_location(cases[i].json, &rep, &batch), 0);
        assert_string_equal(rep.cell_key, cases[i].key);
        assert_int_equal(rep.rat, cases[i].rat);
        assert_false(rep.has_position);
    }
}

static void test_problems_are_recorded_at_the_cursor(void **state)
{
    static const struct {
        const char *json, *param, *reason;
    } cases[] = {
        {"{\"eutraLocation\":{" TAI ",\"ecgi\":{\"plmnId\":" PLMN ",\"eutraCellId\":\"00a1b2\"}}}",
         "/reportList/2/location/eutraLocation/ecgi/eutraCellId", "must be 7 hex digits"},
        {"{\"nrLocation\":{\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"00000001f\"}}}",
         "/reportList/2/location/nrLocation/tai", "required"},
        {"{\"geraLocation\":{\"lai\":{\"plmnId\":" PLMN ",\"lac\":\"00a1\"}}}",
         "/reportList/2/location/geraLocation/lai",
         "a location area alone is not accepted: send cgi, sai or rai"},
        {"{\"utraLocation\":{},\"geraLocation\":{}}", "/reportList/2/location",
         "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation"},
        {"{\"eutraLocation\":{" TAI ",\"ecgi\":{\"plmnId\":" PLMN ",\"eutraCellId\":\"00a1b2c\"},"
         "\"geographicalInformation\":\"904000004000000A\"}}",
         "/reportList/2/location/eutraLocation/geographicalInformation",
         "must be an ellipsoid point with uncertainty circle"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t rep;
        lg_batch_t batch;

        assert_int_equal(read_location(cases[i].json, &rep, &batch), 1);
        assert_string_equal(batch.invalid[0].param, cases[i].param);
        assert_string_equal(batch.invalid[0].reason, cases[i].reason);
    }
}

static void test_geographical_information_gives_position(void **state)
{
    lg_report_t rep;
    lg_batch_t batch;

    (void)state;
    assert_int_equal(read_location("{\"utraLocation\":{\"cgi\":{\"plmnId\":" PLMN
                                   ",\"lac\":\"00A1\",\"cellId\":\"0B2C\"},"
                                   "\"geographicalInformation\":\"1040000040000001\"}}",
                                   &rep, &batch),
                     0);
    assert_string_equal(rep.cell_key, "cgi:208-93:00A1:0B2C");
    assert_true(rep.has_position);
    assert_true(rep.lat_deg == 45.0 && rep.lon_deg == 90.0);
    assert_true(rep.uncertainty_m == 10.0 * (1.1 - 1.0));
}

/* ---- GAD ---- */

static double radius_m(int k)
{
    return 10.0 * (pow(1.1, k) - 1.0);
}

static void test_gad_known_vectors_decode_exactly(void **state)
{
    static const struct {
        const char *hex;
        double lat, lon;
        int k;
    } cases[] = {
        {"1000000000000000", 0.0, 0.0, 0},
        {"1040000040000001", 45.0, 90.0, 1},
        {"10C00000C0000002", -45.0, -90.0, 2},
        {"107FFFFF7FFFFF7F", 8388607 * 90.0 / 8388608, 8388607 * 360.0 / 16777216, 127},
        {"10FFFFFF80000000", -8388607 * 90.0 / 8388608, -180.0, 0},
        {"1f4000004000000a", 45.0, 90.0, 10},  /* spare bits ignored, lower case accepted */
        {"10400000400000FF", 45.0, 90.0, 127}, /* spare bit of the k octet ignored */
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        double lat, lon, unc;

        assert_int_equal(lg_location_decode_gad(cases[i].hex, &lat, &lon, &unc), LG_OK);
        assert_true(lat == cases[i].lat);
        assert_true(lon == cases[i].lon);
        assert_true(unc == radius_m(cases[i].k));
    }
}

static void test_gad_with_bad_length_digit_or_shape_is_refused(void **state)
{
    static const char *const cases[] = {
        "",
        "104000004000000",
        "104000004000000A0",
        "104000004000000G",
        "1040000040 00000A",
        "904000004000000A",
        "004000004000000A",
        "F04000004000000A",
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        double lat, lon, unc;

        if (lg_location_decode_gad(cases[i], &lat, &lon, &unc) != LG_ERR)
            fail_msg("accepted \"%s\"", cases[i]);
    }
}

static void test_gad_encode_known_vectors(void **state)
{
    static const struct {
        double lat, lon, unc;
        const char *hex;
    } cases[] = {
        {0.0, 0.0, 0.0, "1000000000000000"},
        {45.0, 90.0, 1.0, "1040000040000001"},
        {-45.0, -90.0, 2.0, "10C00000C0000002"},
        {90.0, 180.0, 1e9, "107FFFFF8000007F"},    /* clamped; 180 E is 180 W */
        {-90.0, -180.0, -5.0, "10FFFFFF80000000"}, /* negative radius gives k 0 */
        {-1e-9, 540.0, 0.0, "1000000080000000"},   /* rounds to 0 without a sign; wraps */
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        char hex[17];

        lg_location_encode_gad(cases[i].lat, cases[i].lon, cases[i].unc, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_gad_encode_picks_smallest_covering_k(void **state)
{
    (void)state;
    for (int k = 0; k <= 127; k++) {
        char hex[17];
        double lat, lon, unc;

        lg_location_encode_gad(0.0, 0.0, radius_m(k), hex);
        assert_int_equal(lg_location_decode_gad(hex, &lat, &lon, &unc), LG_OK);
        assert_true(unc == radius_m(k));
        if (k < 127) {
            lg_location_encode_gad(0.0, 0.0, radius_m(k) * 1.0001 + 1e-9, hex);
            assert_int_equal(lg_location_decode_gad(hex, &lat, &lon, &unc), LG_OK);
            assert_true(unc == radius_m(k + 1));
        }
    }
}

static void test_gad_round_trip_is_within_quantisation(void **state)
{
    const double lat_half_step = 90.0 / 8388608 / 2, lon_half_step = 360.0 / 16777216 / 2;

    (void)state;
    for (double lat = -89.99; lat <= 89.99; lat += 0.7312) {
        for (double lon = -179.99; lon < 179.99; lon += 1.3791) {
            double unc_in = fabs(lat * lon), dlat, dlon, unc;
            char hex[17];

            lg_location_encode_gad(lat, lon, unc_in, hex);
            assert_int_equal(lg_location_decode_gad(hex, &dlat, &dlon, &unc), LG_OK);
            assert_true(fabs(dlat - lat) <= lat_half_step * 1.000001);
            assert_true(fabs(dlon - lon) <= lon_half_step * 1.000001);
            int k = (int)strtol(hex + 14, NULL, 16);

            /* k is the smallest code whose radius covers the request. */
            assert_true(unc == radius_m(k) && unc >= unc_in);
            assert_true(k == 0 || radius_m(k - 1) < unc_in);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_rat_gives_its_canonical_key),
        cmocka_unit_test(test_problems_are_recorded_at_the_cursor),
        cmocka_unit_test(test_geographical_information_gives_position),
        cmocka_unit_test(test_gad_known_vectors_decode_exactly),
        cmocka_unit_test(test_gad_with_bad_length_digit_or_shape_is_refused),
        cmocka_unit_test(test_gad_encode_known_vectors),
        cmocka_unit_test(test_gad_encode_picks_smallest_covering_k),
        cmocka_unit_test(test_gad_round_trip_is_within_quantisation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
