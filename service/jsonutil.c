/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers shared by every parser of network input: the nesting scan
 * that keeps hostile documents away from the parser's recursion.
 */
#include "locguard/jsonutil.h"

/* Bytes the nesting scan stops at, outside and inside strings. */
static const bool STOP_OUTSIDE[256] = {
    ['"'] = true, ['['] = true, [']'] = true, ['{'] = true, ['}'] = true};
static const bool STOP_INSIDE[256] = {['"'] = true, ['\\'] = true};

bool lg_json_depth_ok(const char *body, size_t len, size_t max_depth)
{
    const unsigned char *p = (const unsigned char *)body;
    size_t depth = 0, i = 0;

    for (;;) {
        while (i < len && !STOP_OUTSIDE[p[i]])
            i++;
        if (i >= len)
            return true;
        switch (p[i++]) {
        case '"':
            for (;;) {
                while (i < len && !STOP_INSIDE[p[i]])
                    i++;
                if (i >= len)
                    return true;
                if (p[i++] == '"')
                    break;
                i++; /* the escaped byte */
            }
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return false;
            break;
        default: /* ']' or '}' */
            if (depth > 0)
                depth--;
            break;
        }
    }
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
