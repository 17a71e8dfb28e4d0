/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/timefmt.c: RFC 3339 parsing (offsets, fractions,
 * leap years, every range check) and formatting, against vectors computed
 * independently (Python datetime).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/core/timefmt.h"

static int parse(const char *s, int64_t *us)
{
    return lg_time_parse(s, strlen(s), us);
}

static void test_valid_date_times_give_exact_microseconds(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2024-05-01T12:00:00Z", INT64_C(1714564800000000)},
        {"2024-02-29T12:00:00Z", INT64_C(1709208000000000)}, /* leap day */
        {"2000-02-29T00:00:00Z", INT64_C(951782400000000)},  /* 400-year leap */
        {"2100-03-01T00:00:00Z", INT64_C(4107542400000000)}, /* after a non-leap Feb */
        {"2024-12-31T23:59:59Z", INT64_C(1735689599000000)},
        {"2026-11-28T12:00:00.250Z", INT64_C(1795867200250000)},
        {"2024-05-01T12:00:00.1Z", INT64_C(1714564800100000)},
        {"2024-05-01T12:00:00.000001Z", INT64_C(1714564800000001)},
        {"2024-05-01T12:00:00.123456789Z", INT64_C(1714564800123456)}, /* truncated */
        {"2024-05-01T14:00:00+02:00", INT64_C(1714564800000000)},
        {"2024-05-01T07:30:00-04:30", INT64_C(1714564800000000)},
        {"2024-05-01T12:00:00.5+00:00", INT64_C(1714564800500000)},
        {"2024-05-01t12:00:00z", INT64_C(1714564800000000)}, /* RFC 3339 §5.6 note */
        {"1970-01-01T00:30:00+01:00", INT64_C(-1800000000)},
        {"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        int64_t us = -42;

        if (parse(cases[i].text, &us) != LG_OK)
            fail_msg("rejected %s", cases[i].text);
        if (us != cases[i].us)
            fail_msg("%s gave %lld, want %lld", cases[i].text, (long long)us,
                     (long long)cases[i].us);
    }
}

static void test_invalid_date_times_are_rejected(void **state)
{
    static const char *const cases[] = {
        "",
        "2024-05-01",
        "2024-05-01T12:00:00",  /* no offset */
        "2024-02-30T00:00:00Z", /* Feb 30 */
        "2023-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* century, not a leap year */
        "2024-04-31T00:00:00Z", /* April has 30 days */
        "2024-13-01T00:00:00Z", /* month 13 */
        "2024-00-10T00:00:00Z", /* month 0 */
        "2024-05-00T00:00:00Z", /* day 0 */
        "2024-05-01T24:00:00Z", /* hour 24 */
        "2024-05-01T12:60:00Z", /* minute 60 */
        "2024-05-01T12:00:60Z", /* leap second: not representable */
        "1969-12-31T23:59:59Z", /* before 1970 */
        "0000-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z", /* five-digit year */
        "2024-5-01T12:00:00Z",
        "2024-05-01 12:00:00Z",     /* space separator */
        "2024-05-01T12:00:00.Z",    /* empty fraction */
        "2024-05-01T12:00:00,5Z",   /* comma fraction */
        "2024-05-01T12:00:00+0200", /* offset without colon */
        "2024-05-01T12:00:00+2:00",
        "2024-05-01T12:00:00+24:00",  /* offset hour 24 */
        "2024-05-01T12:00:00+02:60",  /* offset minute 60 */
        "2024-05-01T12:00:00+02:00x", /* trailing garbage */
        "2024-05-01T12:00:00ZZ",
        "2024-05-01T12:00:00UTC",
        "+024-05-01T12:00:00Z",
        "2024-05-01T12:00:00 Z",
        "２024-05-01T12:00:00Z", /* non-ASCII digit */
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        int64_t us = 0;

        if (parse(cases[i], &us) != LG_ERR)
            fail_msg("accepted \"%s\"", cases[i]);
    }
}

static void test_parse_stops_at_len_not_at_nul(void **state)
{
    const char *s = "2024-05-01T12:00:00Zjunk";
    int64_t us = 0;

    (void)state;
    assert_int_equal(lg_time_parse(s, 20, &us), LG_OK);
    assert_int_equal(us, INT64_C(1714564800000000));
    /* One byte short cuts off the offset. */
    assert_int_equal(lg_time_parse(s, 19, &us), LG_ERR);
    assert_int_equal(lg_time_parse(s, strlen(s), &us), LG_ERR);
}

static void test_format_gives_utc_with_milliseconds(void **state)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {INT64_C(1709208000000000), "2024-02-29T12:00:00.000Z"},
        {INT64_C(1795867200250999), "2026-11-28T12:00:00.250Z"}, /* truncates to ms */
        {INT64_C(1735689599000000), "2024-12-31T23:59:59.000Z"},
        {INT64_C(253402300799999999), "9999-12-31T23:59:59.999Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        char buf[32];

        assert_ptr_equal(lg_time_format(cases[i].us, buf, sizeof buf), buf);
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_format_then_parse_round_trips_every_few_days(void **state)
{
    (void)state;
    /* About every 3 days from 1970 to 9999, at a time of day that moves around. */
    for (int64_t us = 0; us < INT64_C(253402300799000000); us += INT64_C(259201001000)) {
        char buf[32];
        int64_t back;

        lg_time_format(us, buf, sizeof buf);
        if (parse(buf, &back) != LG_OK || back != us)
            fail_msg("%lld -> %s did not round-trip", (long long)us, buf);
    }
}

static void test_format_respects_small_buffer(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'x', sizeof buf);
    lg_time_format(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_date_times_give_exact_microseconds),
        cmocka_unit_test(test_invalid_date_times_are_rejected),
        cmocka_unit_test(test_parse_stops_at_len_not_at_nul),
        cmocka_unit_test(test_format_gives_utc_with_milliseconds),
        cmocka_unit_test(test_format_then_parse_round_trips_every_few_days),
        cmocka_unit_test(test_format_respects_small_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
