/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 date-time <-> microseconds since the Unix epoch. Used by the batch
 * parser for report timeStamps (hot path) and by the northbound API for the
 * times it prints. Calendar arithmetic is done here (days-from-civil), so the
 * result does not depend on timegm, TZ or the locale.
 */
#include "locguard/core/timefmt.h"

#include <stdio.h>

#define US_PER_SEC  INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)

/*
 * Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant's
 * days_from_civil). m is 1..12, d is 1..31.
 */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Reads n decimal digits at s into *out; false if any is not a digit. */
static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9)
            return false;
        v = v * 10 + c;
    }
    *out = v;
    return true;
}

int lg_time_parse(const char *s, size_t len, int64_t *out_us)
{
    unsigned year, mon, day, hour, min, sec;
    int64_t frac_us = 0;
    int64_t offset_s = 0;
    size_t i;

    /* "YYYY-MM-DDThh:mm:ss" is 19 bytes; the shortest valid form adds "Z". */
    if (len < 20)
        return LG_ERR;
    if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) || s[7] != '-' ||
        !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &hour) ||
        s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return LG_ERR;
    /* Leap seconds (ss = 60) are refused: POSIX time cannot represent them. */
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
        return LG_ERR;

    i = 19;
    if (s[i] == '.') {
        int64_t scale = 100000;
        size_t first = ++i;

        for (; i < len && (unsigned)((unsigned char)s[i] - '0') <= 9; i++) {
            frac_us += (s[i] - '0') * scale; /* digits past microseconds add 0 */
            scale /= 10;
        }
        if (i == first)
            return LG_ERR;
    }
    if (i >= len)
        return LG_ERR;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        unsigned oh, om;

        if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return LG_ERR;
        offset_s = (int64_t)oh * 3600 + om * 60;
        if (s[i] == '-')
            offset_s = -offset_s;
        i += 6;
    } else {
        return LG_ERR;
    }
    if (i != len)
        return LG_ERR;

    int64_t secs = days_from_civil(year, mon, day) * SEC_PER_DAY + (int64_t)hour * 3600 +
                   (int64_t)min * 60 + sec - offset_s;
    *out_us = secs * US_PER_SEC + frac_us;
    return LG_OK;
}

char *lg_time_format(int64_t us, char *buf, size_t buf_size)
{
    /* Floor division, so instants before the epoch still print correctly. */
    int64_t secs = us / US_PER_SEC;
    int64_t rem_us = us % US_PER_SEC;
    if (rem_us < 0) {
        rem_us += US_PER_SEC;
        secs--;
    }
    int64_t days = secs / SEC_PER_DAY;
    int64_t sod = secs % SEC_PER_DAY;
    if (sod < 0) {
        sod += SEC_PER_DAY;
        days--;
    }
    int64_t year;
    unsigned mon, day;

    civil_from_days(days, &year, &mon, &day);
    if (buf_size > 0)
        snprintf(buf, buf_size, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)year, mon, day,
                 (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                 (unsigned)(rem_us / 1000));
    return buf;
}
