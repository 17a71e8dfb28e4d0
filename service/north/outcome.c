/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outcome policy of webhook delivery (see outcome.h): an HTTP result
 * mapped to an outbox outcome, the delays of retried and requeued rows, and
 * the breaker's signal. Plain data in, decisions out.
 */
#include "locguard/north/outcome.h"

#include "locguard/north/webhook.h"

#include <stdio.h>

#define BUSY_RETRY_MS 250 /* a row released for a busy destination is due again after */

/* A retry, unless this attempt is the row's LG_WEBHOOK_DEAD_END_ATTEMPTS-th: then it fails. */
static void dead_end(lg_attempt_end_t *out, int attempts, lg_dead_end_t kind)
{
    if (attempts + 1 >= LG_WEBHOOK_DEAD_END_ATTEMPTS) {
        out->outcome = LG_OUTBOX_FAILED;
        out->retry_after_s = -1;
        out->dead_end = kind;
    } else {
        out->outcome = LG_OUTBOX_RETRY;
    }
}

void lg_outcome_of_result(const lg_httpc_result_t *result, int64_t retry_after_s, int attempts,
                          lg_attempt_end_t *out)
{
    int status = result->status;
    out->http_status = 0;
    out->retry_after_s = -1;
    out->dead_end = LG_DEAD_END_NONE;
    lg_strlcpy(out->error, result->detail != NULL ? result->detail : "", sizeof(out->error));
    switch (result->error) {
    case LG_HTTPC_ERR_DNS:
        dead_end(out, attempts, LG_DEAD_END_UNRESOLVABLE);
        return;
    case LG_HTTPC_ERR_REFUSED:
        out->outcome = LG_OUTBOX_FAILED;
        lg_strlcpy(out->error, LG_WEBHOOK_ERR_NOT_ALLOWED, sizeof(out->error));
        return;
    case LG_HTTPC_ERR_CONNECT:
    case LG_HTTPC_ERR_TLS:
    case LG_HTTPC_ERR_TIMEOUT:
    case LG_HTTPC_ERR_PROTOCOL:
    case LG_HTTPC_ERR_REQUEST:
    case LG_HTTPC_N_ERRORS:
        out->outcome = LG_OUTBOX_RETRY;
        return;
    case LG_HTTPC_OK:
        break;
    }
    out->http_status = status;
    if (status >= 200 && status < 300) {
        out->outcome = LG_OUTBOX_DELIVERED;
        out->error[0] = '\0';
    } else if (status == 410) {
        out->outcome = LG_OUTBOX_GONE;
        lg_strlcpy(out->error, "HTTP 410 Gone", sizeof(out->error));
    } else if (status >= 300 && status < 400) {
        snprintf(out->error, sizeof(out->error), "HTTP %d (redirects are not followed)", status);
        out->retry_after_s = retry_after_s;
        dead_end(out, attempts, LG_DEAD_END_REDIRECT);
    } else {
        snprintf(out->error, sizeof(out->error), "HTTP %d", status);
        out->outcome = LG_OUTBOX_RETRY;
        out->retry_after_s = retry_after_s;
    }
}

double lg_outcome_retry_delay_s(double age_s, int attempts, int retry_max_age_s, int max_backoff_s,
                                int64_t retry_after_s, uint32_t random)
{
    if (age_s >= retry_max_age_s)
        return -1;
    int64_t ms = lg_webhook_backoff_ms(attempts, (int64_t)max_backoff_s * 1000, random);
    if (retry_after_s >= 0 && retry_after_s * 1000 > ms)
        ms = retry_after_s * 1000;
    double delay_s = (double)ms / 1000.0;
    /* One last attempt at the deadline rather than after it. */
    if (age_s + delay_s > retry_max_age_s)
        delay_s = retry_max_age_s - age_s;
    return delay_s;
}

double lg_outcome_requeue_delay_s(int64_t hold_left_us, uint32_t random)
{
    if (hold_left_us > 0)
        return (double)hold_left_us / 1e6 + (double)(random % 1000) / 1000.0;
    return (BUSY_RETRY_MS + random % (3 * BUSY_RETRY_MS)) / 1000.0;
}

lg_breaker_signal_t lg_outcome_breaker_signal(lg_outbox_outcome_t outcome, int http_status)
{
    if (outcome == LG_OUTBOX_RETRY)
        return LG_BREAKER_FAILURE;
    if (outcome == LG_OUTBOX_DELIVERED || http_status > 0)
        return LG_BREAKER_ANSWER;
    return LG_BREAKER_NEUTRAL;
}
