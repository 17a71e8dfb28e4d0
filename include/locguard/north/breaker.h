/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The circuit breaker of one webhook destination (host:port), as a pure
 * policy: the caller keeps an lg_breaker_t per destination, tells it what
 * each delivery attempt there showed, and asks it whether the destination
 * is on hold. LG_BREAKER_FAILS failed attempts in a row put the destination
 * on hold for LG_BREAKER_FIRST_HOLD_MS, then twice as long each next time in
 * a row, at most max_hold_ms. After a hold, one more failure holds again;
 * any answer from the destination ends the series. No I/O and no clock:
 * times come in as arguments. service/north/notifier.c uses it: on hold, a
 * destination's rows are not attempted (nor leased).
 */
#ifndef LOCGUARD_BREAKER_H
#define LOCGUARD_BREAKER_H

#include "locguard/core/common.h"

/* Failed attempts in a row that put a destination on hold. */
#define LG_BREAKER_FAILS 5

/* The first hold of a series; each next one doubles, up to the caller's ceiling. */
#define LG_BREAKER_FIRST_HOLD_MS 1000

/* What one attempt showed about the destination. */
typedef enum lg_breaker_signal {
    LG_BREAKER_NEUTRAL, /* says nothing about the destination (not attempted, refused by us) */
    LG_BREAKER_FAILURE, /* an attempt failed and will be retried */
    LG_BREAKER_ANSWER,  /* the destination answered: the series ends */
} lg_breaker_signal_t;

/* The state of one destination's breaker; all zero (lg_breaker_init) is closed. */
typedef struct lg_breaker {
    int fail_streak;       /* failed attempts in a row since the last answer or hold */
    int holds;             /* holds in a row; reset by an answer */
    int64_t hold_until_us; /* end of the current or last hold (caller's clock); 0 when none */
} lg_breaker_t;

/* Sets b to closed: no failures, no hold. */
void lg_breaker_init(lg_breaker_t *b);

/* True when b holds its destination at now_us (microseconds, the caller's monotonic clock). */
bool lg_breaker_is_holding(const lg_breaker_t *b, int64_t now_us);

/*
 * Records what an attempt showed at now_us. Returns true when this failure
 * starts a hold, and then sets *hold_ms to its length (LG_BREAKER_FIRST_HOLD_MS
 * doubled for each earlier hold in the series, clamped to max_hold_ms, never
 * negative); returns false otherwise, *hold_ms untouched. A failure during
 * a hold starts none.
 */
bool lg_breaker_note(lg_breaker_t *b, lg_breaker_signal_t signal, int64_t now_us,
                     int64_t max_hold_ms, int64_t *hold_ms);

#endif
