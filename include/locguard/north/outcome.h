/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outcome of one delivery attempt, decided from plain data: what the
 * HTTP client's result means for the outbox row (delivered, gone, retried,
 * given up), how long a retried or requeued row waits, and what the
 * attempt tells the destination's breaker. No I/O and no clock or random
 * source of its own: service/north/notifier.c passes them in and acts on
 * the answers.
 */
#ifndef LOCGUARD_OUTCOME_H
#define LOCGUARD_OUTCOME_H

#include "locguard/core/common.h"
#include "locguard/core/httpc.h"
#include "locguard/north/breaker.h"
#include "locguard/north/outbox.h"

/* A row given up at a dead end (LG_WEBHOOK_DEAD_END_ATTEMPTS), for its counter. */
typedef enum lg_dead_end {
    LG_DEAD_END_NONE,
    LG_DEAD_END_UNRESOLVABLE, /* the destination's name did not resolve */
    LG_DEAD_END_REDIRECT,     /* the destination answered 3xx */
} lg_dead_end_t;

/* The end of an attempt, before the row's age is taken into account (lg_outcome_retry_delay_s). */
typedef struct lg_attempt_end {
    lg_outbox_outcome_t outcome;
    int http_status;        /* the answer's status, 0 when none */
    int64_t retry_after_s;  /* the answer's Retry-After for a retry, else -1 */
    lg_dead_end_t dead_end; /* set when this attempt gave the row up at a dead end */
    char error[160];        /* for the outbox row; "" when delivered */
} lg_attempt_end_t;

/*
 * Decides what the HTTP client's result means for a row with `attempts`
 * earlier failed attempts: 2xx delivered; 410 gone; 3xx and an unresolvable
 * name (LG_HTTPC_ERR_DNS) retried, except that the
 * LG_WEBHOOK_DEAD_END_ATTEMPTS-th attempt fails (dead_end set); other
 * statuses and every other error (connect, TLS, timeout, protocol, request)
 * retried; addresses refused by the guard (LG_HTTPC_ERR_REFUSED) failed
 * with LG_WEBHOOK_ERR_NOT_ALLOWED. retry_after_s is the answer's
 * Retry-After (lg_webhook_retry_after_s), or -1.
 */
void lg_outcome_of_result(const lg_httpc_result_t *result, int64_t retry_after_s, int attempts,
                          lg_attempt_end_t *out);

/*
 * The delay before a retried row is due again: the back-off of
 * lg_webhook_backoff_ms after `attempts` failures (ceiling max_backoff_s,
 * drawn from random), or retry_after_s when that is longer, cut so that the
 * last attempt falls at retry_max_age_s. Returns a negative value when the
 * row, age_s old, is too old to retry: it fails.
 */
double lg_outcome_retry_delay_s(double age_s, int attempts, int retry_max_age_s, int max_backoff_s,
                                int64_t retry_after_s, uint32_t random);

/*
 * The delay before a requeued row (not attempted) is due again: the rest of
 * its destination's hold (hold_left_us > 0) plus up to 1 s of jitter, or
 * 0.25 to 1 s when the destination was only busy. random gives the jitter.
 */
double lg_outcome_requeue_delay_s(int64_t hold_left_us, uint32_t random);

/*
 * What an outcome tells the destination's breaker: a retry is a failure,
 * any answer from the SCS (delivered, or any HTTP status) ends the series,
 * the rest (requeued, refused before sending) says nothing.
 */
lg_breaker_signal_t lg_outcome_breaker_signal(lg_outbox_outcome_t outcome, int http_status);

#endif
