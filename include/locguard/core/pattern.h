/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded matcher for the regular expressions of the 3GPP OpenAPI files:
 * the ECMAScript subset they use, searched as RegExp(pattern, "u").test
 * does. The schema checker (jsonschema.c) calls it for every "pattern"
 * keyword. Pure: no I/O; the only state is a per-thread cache of compiled
 * patterns (lg_pattern_match_static), derived data that is never invalidated.
 */
#ifndef LOCGUARD_PATTERN_H
#define LOCGUARD_PATTERN_H

#include <stddef.h>

/*
 * Searches s (n bytes, UTF-8) for pattern as ECMAScript's
 * RegExp(pattern, "u").test does, for the subset the 3GPP files use:
 * literals, ".", classes, groups, "|", "*", "+", "?", "{n}", "{n,}",
 * "{n,m}", "^", "$", "\d" and escaped punctuation. The pattern is compiled
 * on every call. Returns 1 on a match, 0 on none, -1 when the pattern uses
 * anything else or the match needs more than a bounded recursion (a hostile
 * input); callers treat -1 as "does not match". Quantified single atoms
 * backtrack without recursion, so a long input costs time linear in its
 * length for the patterns of the files.
 */
int lg_pattern_match(const char *pattern, const char *s, size_t n);

/*
 * lg_pattern_match for a pattern with static storage (the schema tables'
 * strings): it is compiled the first time the calling thread meets its
 * address and kept for the thread's life, so matching a SUPI or a cell id
 * parses nothing. Same answers as lg_pattern_match.
 */
int lg_pattern_match_static(const char *pattern, const char *s, size_t n);

#endif
