/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers shared by every parser of network input: the scan before the
 * parser (nesting depth, and what a lenient parser would let through) and
 * UTF-8 sequences.
 */
#include "locguard/core/jsonutil.h"

#include <string.h>

static bool is_digit(unsigned char ch)
{
    return (unsigned)(ch - '0') <= 9;
}

/*
 * Length of the RFC 8259 number at p (avail bytes), or 0 when what starts
 * there is not one: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static size_t number_len(const unsigned char *p, size_t avail)
{
    size_t i = 0, d;

    if (i < avail && p[i] == '-')
        i++;
    if (i < avail && p[i] == '0') {
        i++;
    } else {
        for (d = i; i < avail && is_digit(p[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    if (i < avail && p[i] == '.') {
        for (d = ++i; i < avail && is_digit(p[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    if (i < avail && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < avail && (p[i] == '+' || p[i] == '-'))
            i++;
        for (d = i; i < avail && is_digit(p[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    return i;
}

size_t lg_json_scan(const char *body, size_t len, size_t max_depth, bool *too_deep)
{
    const unsigned char *p = (const unsigned char *)body;
    size_t depth = 0, i = 0;

    *too_deep = false;
    while (i < len) {
        size_t at = i;
        unsigned char ch = p[i++];

        if (ch == '{' || ch == '[') {
            if (++depth > max_depth) {
                *too_deep = true;
                return at;
            }
        } else if (ch == '}' || ch == ']') {
            if (depth > 0)
                depth--;
        } else if (ch == '-' || is_digit(ch)) {
            size_t n = number_len(p + at, len - at);

            if (n == 0 || (at + n < len && (is_digit(p[at + n]) || p[at + n] == '.' ||
                                            p[at + n] == 'e' || p[at + n] == 'E' ||
                                            p[at + n] == '-' || p[at + n] == '+')))
                return at;
            i = at + n;
        } else if (ch < 0x20 && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            return at;
        } else if (ch == '"') {
            for (;;) {
                if (i >= len)
                    return len; /* unterminated: cJSON says where */
                at = i;
                ch = p[i++];
                if (ch == '"')
                    break;
                if (ch < 0x20)
                    return at;
                if (ch == '\\') {
                    if (len - i >= 5 && memcmp(p + i, "u0000", 5) == 0)
                        return at;
                    i++; /* the escaped byte; cJSON checks the escape itself */
                } else if (ch >= 0x80) {
                    size_t n = lg_utf8_seq_len(p + at, len - at);

                    if (n == 0)
                        return at;
                    i = at + n;
                }
            }
        }
    }
    return len;
}

bool lg_json_depth_ok(const char *body, size_t len, size_t max_depth)
{
    bool too_deep;

    (void)lg_json_scan(body, len, max_depth, &too_deep);
    return !too_deep;
}

size_t lg_utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char b0;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the bounds of the second byte */

    if (avail == 0)
        return 0;
    b0 = p[0];
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (b0 == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0)
            lo = 0x90; /* no overlong forms */
        else if (b0 == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1, or F5..FF */
    }
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}
