/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Things every module uses: the LG_OK/LG_ERR convention, the must-check
 * marker, allocation that aborts on out-of-memory, and bounded string copy.
 */
#ifndef LOCGUARD_COMMON_H
#define LOCGUARD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return values of fallible functions. */
#define LG_OK 0
#define LG_ERR (-1)

/* Marks a function whose result must be checked. */
#define LG_MUST_CHECK __attribute__((warn_unused_result))

/* Marks printf-like functions so -Wformat checks their callers. */
#define LG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

#define LG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* malloc/calloc/realloc/strdup that abort the process on out-of-memory. */
void *lg_xmalloc(size_t size);
void *lg_xcalloc(size_t n, size_t size);
void *lg_xrealloc(void *p, size_t size);
char *lg_xstrdup(const char *s);
char *lg_xstrndup(const char *s, size_t n);

/*
 * Copies at most dst_size-1 bytes of src into dst and NUL-terminates it.
 * Returns true when all of src fit.
 */
bool lg_strlcpy(char *dst, const char *src, size_t dst_size);

/* Wall-clock time in microseconds since the Unix epoch. */
int64_t lg_now_us(void);

/* Monotonic time in microseconds, for latency measurement. */
int64_t lg_mono_us(void);

#endif
