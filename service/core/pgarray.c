/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL text-format arrays (see pgarray.h): literals built for the
 * parameters of the set-based sql/ functions, and the array values they
 * return read back. Plain data, no I/O.
 */
#include "locguard/core/pgarray.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lg_pgarray_init(lg_pgarray_t *a)
{
    memset(a, 0, sizeof(*a));
}

void lg_pgarray_cleanup(lg_pgarray_t *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

static void put(lg_pgarray_t *a, const char *s, size_t n)
{
    if (a->len + n > a->cap) {
        a->cap = a->len + n > 2 * a->cap ? a->len + n + 16 : 2 * a->cap;
        a->buf = lg_xrealloc(a->buf, a->cap);
    }
    memcpy(a->buf + a->len, s, n);
    a->len += n;
}

/* Opens the literal or separates the next element. */
static void next(lg_pgarray_t *a)
{
    put(a, a->n == 0 ? "{" : ",", 1);
    a->n++;
}

void lg_pgarray_add_str(lg_pgarray_t *a, const char *s)
{
    if (s == NULL) {
        lg_pgarray_add_null(a);
        return;
    }
    next(a);
    put(a, "\"", 1);
    for (;;) {
        /* Runs without a quote or a backslash are copied whole: cell keys and SUPIs are. */
        size_t run = strcspn(s, "\"\\");
        put(a, s, run);
        s += run;
        if (*s == '\0')
            break;
        put(a, "\\", 1);
        put(a, s, 1);
        s++;
    }
    put(a, "\"", 1);
}

void lg_pgarray_add_null(lg_pgarray_t *a)
{
    next(a);
    put(a, "NULL", 4);
}

void lg_pgarray_add_int(lg_pgarray_t *a, int64_t v)
{
    char buf[24];
    size_t pos = sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        buf[--pos] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[--pos] = '-';
    next(a);
    put(a, buf + pos, sizeof buf - pos);
}

void lg_pgarray_add_float(lg_pgarray_t *a, double v, int decimals)
{
    char buf[400]; /* %.17f of DBL_MAX: 309 digits, the point and 17 more */
    int n;

    if (isnan(v))
        n = snprintf(buf, sizeof buf, "NaN");
    else if (isinf(v))
        n = snprintf(buf, sizeof buf, "%s", v < 0 ? "-Infinity" : "Infinity");
    else
        n = snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 0 : decimals > 17 ? 17 : decimals, v);
    next(a);
    put(a, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
}

const char *lg_pgarray_end(lg_pgarray_t *a)
{
    if (!a->has_end) {
        if (a->n == 0)
            put(a, "{", 1);
        put(a, "}", 2); /* closing brace and NUL */
        a->has_end = true;
    }
    return a->buf;
}

/* ---- reading ------------------------------------------------------------------------------ */

static const char *const item_names[] = {
    [LG_PGARRAY_ELEM] = "element",
    [LG_PGARRAY_END] = "end",
    [LG_PGARRAY_MALFORMED] = "malformed",
};

const char *lg_pgarray_item_name(lg_pgarray_item_t item)
{
    return (size_t)item < sizeof item_names / sizeof item_names[0] ? item_names[item] : "?";
}

/* array_in's whitespace (scanner_isspace). */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_space(lg_pgarray_reader_t *rd)
{
    while (rd->p < rd->end && is_space(*rd->p))
        rd->p++;
}

int lg_pgarray_open(lg_pgarray_reader_t *rd, const char *text, size_t len)
{
    rd->p = text;
    rd->end = text + len;
    rd->is_first = true;
    rd->is_done = false;
    skip_space(rd);
    if (rd->p >= rd->end || *rd->p != '{') {
        rd->is_done = true;
        rd->p = NULL; /* next() then says MALFORMED */
        return LG_ERR;
    }
    rd->p++;
    return LG_OK;
}

/* Marks rd failed for good. */
static lg_pgarray_item_t malformed(lg_pgarray_reader_t *rd)
{
    rd->is_done = true;
    rd->p = NULL;
    return LG_PGARRAY_MALFORMED;
}

/* The closing brace was just read: the value must end here, bar whitespace. */
static lg_pgarray_item_t closed(lg_pgarray_reader_t *rd)
{
    skip_space(rd);
    if (rd->p != rd->end)
        return malformed(rd);
    rd->is_done = true;
    return LG_PGARRAY_END;
}

lg_pgarray_item_t lg_pgarray_next(lg_pgarray_reader_t *rd, char *buf, size_t cap, size_t *len,
                                  bool *is_null)
{
    size_t n = 0;

    *len = 0;
    *is_null = false;
    if (cap > 0)
        buf[0] = '\0';
    if (rd->is_done)
        return rd->p == NULL ? LG_PGARRAY_MALFORMED : LG_PGARRAY_END;
    if (cap == 0)
        return malformed(rd);
    skip_space(rd);
    if (rd->p >= rd->end)
        return malformed(rd);
    if (rd->is_first && *rd->p == '}') {
        rd->p++;
        return closed(rd);
    }
    if (!rd->is_first) {
        /* After an element: a separator or the end. */
        if (*rd->p == '}') {
            rd->p++;
            return closed(rd);
        }
        if (*rd->p != ',')
            return malformed(rd);
        rd->p++;
        skip_space(rd);
        if (rd->p >= rd->end)
            return malformed(rd);
    }
    rd->is_first = false;

    if (*rd->p == '"') {
        rd->p++;
        for (;;) {
            if (rd->p >= rd->end)
                return malformed(rd);
            char c = *rd->p++;
            if (c == '"')
                break;
            if (c == '\\') {
                if (rd->p >= rd->end)
                    return malformed(rd);
                c = *rd->p++;
            }
            if (c == '\0' || n + 1 >= cap)
                return malformed(rd);
            buf[n++] = c;
        }
    } else {
        /* Unquoted: up to a separator, the end or whitespace; backslash escapes one byte. */
        bool has_escape = false;
        while (rd->p < rd->end && *rd->p != ',' && *rd->p != '}' && !is_space(*rd->p)) {
            char c = *rd->p++;
            if (c == '"' || c == '{')
                return malformed(rd);
            if (c == '\\') {
                if (rd->p >= rd->end)
                    return malformed(rd);
                c = *rd->p++;
                has_escape = true;
            }
            if (c == '\0' || n + 1 >= cap)
                return malformed(rd);
            buf[n++] = c;
        }
        if (n == 0)
            return malformed(rd);
        buf[n] = '\0';
        if (!has_escape && n == 4 && strcasecmp(buf, "NULL") == 0) {
            buf[0] = '\0';
            *is_null = true;
            return LG_PGARRAY_ELEM;
        }
    }
    buf[n] = '\0';
    *len = n;
    /* Whitespace after an element is not part of it; the separator is checked next time. */
    skip_space(rd);
    if (rd->p >= rd->end || (*rd->p != ',' && *rd->p != '}'))
        return malformed(rd);
    return LG_PGARRAY_ELEM;
}

int lg_pgarray_parse_int64(const char *text, size_t len, int64_t *out, size_t max, size_t *n)
{
    lg_pgarray_reader_t rd;
    char buf[24];
    size_t elen;
    bool is_null;

    *n = 0;
    if (lg_pgarray_open(&rd, text, len) != LG_OK)
        return LG_ERR;
    for (;;) {
        lg_pgarray_item_t item = lg_pgarray_next(&rd, buf, sizeof buf, &elen, &is_null);
        if (item == LG_PGARRAY_END)
            return LG_OK;
        if (item != LG_PGARRAY_ELEM || is_null || *n >= max)
            return LG_ERR;
        const char *digits = buf[0] == '-' || buf[0] == '+' ? buf + 1 : buf;
        if (*digits < '0' || *digits > '9')
            return LG_ERR;
        char *endp;
        errno = 0;
        long long v = strtoll(buf, &endp, 10);
        if (errno != 0 || *endp != '\0')
            return LG_ERR;
        out[(*n)++] = (int64_t)v;
    }
}
