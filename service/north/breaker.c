/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-destination circuit breaker of webhook delivery (see breaker.h):
 * failures counted in a row, holds doubling up to a ceiling. Plain data in,
 * a decision out; the notifier supplies the clock and acts on the answer.
 */
#include "locguard/north/breaker.h"

#include <string.h>

void lg_breaker_init(lg_breaker_t *b)
{
    memset(b, 0, sizeof(*b));
}

bool lg_breaker_is_holding(const lg_breaker_t *b, int64_t now_us)
{
    return b->hold_until_us != 0 && now_us < b->hold_until_us;
}

bool lg_breaker_note(lg_breaker_t *b, lg_breaker_signal_t signal, int64_t now_us,
                     int64_t max_hold_ms, int64_t *hold_ms)
{
    if (signal == LG_BREAKER_ANSWER) {
        lg_breaker_init(b);
        return false;
    }
    if (signal != LG_BREAKER_FAILURE)
        return false;
    if (++b->fail_streak < LG_BREAKER_FAILS || b->hold_until_us > now_us)
        return false;
    if (max_hold_ms < 0)
        max_hold_ms = 0;
    int64_t ms = LG_BREAKER_FIRST_HOLD_MS;
    for (int k = 0; k < b->holds && ms < max_hold_ms; k++)
        ms *= 2;
    if (ms > max_hold_ms)
        ms = max_hold_ms;
    b->holds++;
    b->hold_until_us = now_us + ms * 1000;
    /* After the hold, the next failure alone holds again. */
    b->fail_streak = LG_BREAKER_FAILS - 1;
    *hold_ms = ms;
    return true;
}
