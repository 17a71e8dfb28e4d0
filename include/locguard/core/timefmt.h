/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 date-time (the 3GPP DateTime and CAMARA date-time) to and from
 * microseconds since the Unix epoch. Pure functions, no I/O.
 */
#ifndef LOCGUARD_TIMEFMT_H
#define LOCGUARD_TIMEFMT_H

#include "locguard/core/common.h"

/*
 * Parses an RFC 3339 date-time with a mandatory offset ("Z" or "+hh:mm"),
 * e.g. "2026-11-28T12:00:00.250Z", into microseconds since the epoch (UTC).
 * len is the length of s (s need not be NUL-terminated). Fractions beyond
 * microseconds are truncated. Returns LG_ERR on any syntax or range error
 * (month 13, Feb 30, hour 24, year outside 1970..9999).
 */
LG_MUST_CHECK int lg_time_parse(const char *s, size_t len, int64_t *out_us);

/*
 * Formats us as "YYYY-MM-DDThh:mm:ss.mmmZ" into buf (at least 32 bytes).
 * Returns buf.
 */
char *lg_time_format(int64_t us, char *buf, size_t buf_size);

#endif
