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
