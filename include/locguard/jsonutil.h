/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the parsers of network JSON (southbound reports, T8
 * subscriptions, CAMARA requests, admin bodies). Pure, no I/O.
 */
#ifndef LOCGUARD_JSONUTIL_H
#define LOCGUARD_JSONUTIL_H

#include "locguard/common.h"

/*
 * True when no bracket nesting in body (len bytes) goes deeper than
 * max_depth. A cheap scan run before the parser, so a hostile document is
 * refused before any allocation. Brackets inside strings do not count; on
 * malformed input the count may be off after the first error, but the
 * parser stops there too.
 */
bool lg_json_depth_ok(const char *body, size_t len, size_t max_depth);

/*
 * Length (1..4) of the well-formed UTF-8 sequence at p, of which avail bytes
 * are readable, or 0 when it is not one: a stray continuation byte, an
 * overlong form, a surrogate, a code point above U+10FFFF, or a sequence
 * cut short.
 */
size_t lg_utf8_seq_len(const unsigned char *p, size_t avail);

#endif
