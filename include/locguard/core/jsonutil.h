/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the parsers of network JSON (southbound reports, T8
 * subscriptions, CAMARA requests, admin bodies). Pure, no I/O.
 */
#ifndef LOCGUARD_JSONUTIL_H
#define LOCGUARD_JSONUTIL_H

#include "locguard/core/common.h"

/*
 * One pass over body (len bytes) before a parser sees it. Returns the offset
 * of the first byte that is not acceptable JSON there, or len when there is
 * none; *too_deep is set when that byte opens a nesting deeper than
 * max_depth (the parsers recurse). Checked: nesting depth (brackets inside
 * strings do not count); between tokens only space, tab, CR and LF;
 * numbers as RFC 8259 writes them; inside strings no raw control
 * character, no \u0000 and valid UTF-8. The rest of the syntax is the
 * parser's to check; on malformed input the scan may stop later than the
 * parser would, never at a byte the parser would accept.
 */
size_t lg_json_scan(const char *body, size_t len, size_t max_depth, bool *too_deep);

/*
 * True when no bracket nesting in body goes deeper than max_depth, up to
 * the first byte lg_json_scan refuses (a parser stops there anyway). A
 * cheap check run before jansson, so a hostile document is refused before
 * any allocation.
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
