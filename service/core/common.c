/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers every module uses: allocation that aborts on out-of-memory (so
 * callers never handle NULL from an allocator), bounded string copy, and the
 * two clocks (wall clock for timestamps, monotonic for latency).
 */
#include "locguard/core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reports which allocation failed and aborts: out of memory is not recoverable here. */
static void die_oom(const char *what, size_t size)
{
    fprintf(stderr, "locguard: out of memory in %s (%zu bytes)\n", what, size);
    abort();
}

void *lg_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        die_oom("malloc", size);
    return p;
}

void *lg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        die_oom("calloc", n * size);
    return p;
}

void *lg_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (q == NULL)
        die_oom("realloc", size);
    return q;
}

char *lg_xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *p = lg_xmalloc(len + 1);

    memcpy(p, s, len + 1);
    return p;
}

char *lg_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = lg_xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

bool lg_strlcpy(char *dst, const char *src, size_t dst_size)
{
    size_t len = strlen(src);

    if (dst_size == 0)
        return false; /* not even the terminator fits */
    if (len < dst_size) {
        memcpy(dst, src, len + 1);
        return true;
    }
    memcpy(dst, src, dst_size - 1);
    dst[dst_size - 1] = '\0';
    return false;
}

/* Reads clock id as microseconds; the clocks used here cannot fail on Linux. */
static int64_t clock_us(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lg_now_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

int64_t lg_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}
