/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/north/outcome.c: each HTTP result's outbox outcome
 * (table-driven), dead ends given up at LG_WEBHOOK_DEAD_END_ATTEMPTS, the
 * retry delay (back-off bounds, Retry-After, the last attempt at
 * retry_max_age_s, too old), the requeue delay, and the breaker's signal;
 * and the outcome names sql/outbox.sql takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/north/outcome.h"
#include "locguard/north/webhook.h"

static void test_each_result_has_its_outcome(void **state)
{
    static const struct {
        lg_httpc_error_t error;
        int status;
        int64_t retry_after_s;
        const char *detail;
        lg_outbox_outcome_t outcome;
        int http_status;
        int64_t want_retry_after_s;
        const char *want_error;
    } cases[] = {
        {LG_HTTPC_OK, 200, -1, "", LG_OUTBOX_DELIVERED, 200, -1, ""},
        {LG_HTTPC_OK, 204, 5, "", LG_OUTBOX_DELIVERED, 204, -1, ""},
        {LG_HTTPC_OK, 410, -1, "", LG_OUTBOX_GONE, 410, -1, "HTTP 410 Gone"},
        {LG_HTTPC_OK, 500, -1, "", LG_OUTBOX_RETRY, 500, -1, "HTTP 500"},
        {LG_HTTPC_OK, 503, 120, "", LG_OUTBOX_RETRY, 503, 120, "HTTP 503"},
        {LG_HTTPC_OK, 404, -1, "", LG_OUTBOX_RETRY, 404, -1, "HTTP 404"},
        {LG_HTTPC_OK, 302, 7, "", LG_OUTBOX_RETRY, 302, 7, "HTTP 302 (redirects are not followed)"},
        {LG_HTTPC_ERR_TIMEOUT, 0, -1, "timeout: x", LG_OUTBOX_RETRY, 0, -1, "timeout: x"},
        {LG_HTTPC_ERR_CONNECT, 0, 9, "connection failed: x", LG_OUTBOX_RETRY, 0, -1,
         "connection failed: x"},
        {LG_HTTPC_ERR_TLS, 0, -1, "TLS: certificate verify failed: x", LG_OUTBOX_RETRY, 0, -1,
         "TLS: certificate verify failed: x"},
        {LG_HTTPC_ERR_PROTOCOL, 0, -1, "response too long", LG_OUTBOX_RETRY, 0, -1,
         "response too long"},
        {LG_HTTPC_ERR_REQUEST, 0, -1, "request not made: x", LG_OUTBOX_RETRY, 0, -1,
         "request not made: x"},
        {LG_HTTPC_ERR_DNS, 0, -1, "name resolution failed: x", LG_OUTBOX_RETRY, 0, -1,
         "name resolution failed: x"},
        /* The guard's refusal: the outbox records the one refusal text, whatever the detail. */
        {LG_HTTPC_ERR_REFUSED, 0, -1, "destination not allowed", LG_OUTBOX_FAILED, 0, -1,
         LG_WEBHOOK_ERR_NOT_ALLOWED},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lg_httpc_result_t r = {
            .error = cases[i].error, .status = cases[i].status, .detail = cases[i].detail};
        lg_attempt_end_t end;
        lg_outcome_of_result(&r, cases[i].retry_after_s, 0, &end);
        assert_int_equal(end.outcome, cases[i].outcome);
        assert_int_equal(end.http_status, cases[i].http_status);
        assert_int_equal(end.retry_after_s, cases[i].want_retry_after_s);
        assert_string_equal(end.error, cases[i].want_error);
        assert_int_equal(end.dead_end, LG_DEAD_END_NONE);
    }
}

static void test_dead_ends_fail_at_their_last_attempt(void **state)
{
    lg_httpc_result_t unresolvable = {.error = LG_HTTPC_ERR_DNS,
                                      .detail = "name resolution failed"};
    lg_httpc_result_t redirect = {.error = LG_HTTPC_OK, .status = 301, .detail = ""};
    lg_attempt_end_t end;
    (void)state;
    lg_outcome_of_result(&unresolvable, -1, LG_WEBHOOK_DEAD_END_ATTEMPTS - 2, &end);
    assert_int_equal(end.outcome, LG_OUTBOX_RETRY);
    assert_int_equal(end.dead_end, LG_DEAD_END_NONE);
    lg_outcome_of_result(&unresolvable, -1, LG_WEBHOOK_DEAD_END_ATTEMPTS - 1, &end);
    assert_int_equal(end.outcome, LG_OUTBOX_FAILED);
    assert_int_equal(end.dead_end, LG_DEAD_END_UNRESOLVABLE);
    lg_outcome_of_result(&redirect, 30, LG_WEBHOOK_DEAD_END_ATTEMPTS - 1, &end);
    assert_int_equal(end.outcome, LG_OUTBOX_FAILED);
    assert_int_equal(end.dead_end, LG_DEAD_END_REDIRECT);
    assert_int_equal(end.http_status, 301); /* an answer: the breaker's series ends */
    assert_int_equal(end.retry_after_s, -1);
    assert_string_equal(end.error, "HTTP 301 (redirects are not followed)");
}

static void test_retry_delay_is_the_backoff_or_retry_after(void **state)
{
    (void)state;
    /* Full jitter: at most 1 s * 2^attempts, at most the ceiling. */
    for (uint32_t r = 0; r < 64; r++) {
        double d = lg_outcome_retry_delay_s(10, 3, 86400, 600, -1, r * 0x04000000u);
        assert_true(d >= 0 && d <= 8.0);
        d = lg_outcome_retry_delay_s(10, 30, 86400, 600, -1, r * 0x04000000u);
        assert_true(d >= 0 && d <= 600.0);
    }
    /* A longer Retry-After wins; a shorter one does not. */
    assert_true(lg_outcome_retry_delay_s(10, 0, 86400, 600, 120, 0xffffffffu) == 120.0);
    assert_true(lg_outcome_retry_delay_s(10, 0, 86400, 600, 0, 0) == 0.0);
}

static void test_retry_delay_ends_at_the_max_age(void **state)
{
    (void)state;
    /* The last attempt falls at retry_max_age_s rather than after it. */
    assert_true(lg_outcome_retry_delay_s(95, 0, 100, 600, 60, 0) == 5.0);
    /* Too old: fails. */
    assert_true(lg_outcome_retry_delay_s(100, 0, 100, 600, -1, 0) < 0);
    assert_true(lg_outcome_retry_delay_s(1000, 0, 100, 600, -1, 0) < 0);
}

static void test_requeue_delay_waits_out_the_hold(void **state)
{
    (void)state;
    assert_true(lg_outcome_requeue_delay_s(2500000, 0) == 2.5);
    assert_true(lg_outcome_requeue_delay_s(2500000, 999) == 2.5 + 0.999);
    /* Busy, not on hold: 0.25 to 1 s. */
    assert_true(lg_outcome_requeue_delay_s(0, 0) == 0.25);
    assert_true(lg_outcome_requeue_delay_s(0, 749) == 0.999);
    for (uint32_t r = 0; r < 5000; r += 7) {
        double d = lg_outcome_requeue_delay_s(0, r);
        assert_true(d >= 0.25 && d < 1.0);
    }
}

static void test_breaker_signals(void **state)
{
    (void)state;
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_RETRY, 0), LG_BREAKER_FAILURE);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_RETRY, 500), LG_BREAKER_FAILURE);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_DELIVERED, 200), LG_BREAKER_ANSWER);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_GONE, 410), LG_BREAKER_ANSWER);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_FAILED, 302), LG_BREAKER_ANSWER);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_FAILED, 0), LG_BREAKER_NEUTRAL);
    assert_int_equal(lg_outcome_breaker_signal(LG_OUTBOX_REQUEUE, 0), LG_BREAKER_NEUTRAL);
}

static void test_outcome_names_are_the_sql_ones(void **state)
{
    (void)state;
    assert_string_equal(lg_outbox_outcome_name(LG_OUTBOX_DELIVERED), "delivered");
    assert_string_equal(lg_outbox_outcome_name(LG_OUTBOX_RETRY), "retry");
    assert_string_equal(lg_outbox_outcome_name(LG_OUTBOX_FAILED), "failed");
    assert_string_equal(lg_outbox_outcome_name(LG_OUTBOX_GONE), "gone");
    assert_string_equal(lg_outbox_outcome_name(LG_OUTBOX_REQUEUE), "requeue");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_result_has_its_outcome),
        cmocka_unit_test(test_dead_ends_fail_at_their_last_attempt),
        cmocka_unit_test(test_retry_delay_is_the_backoff_or_retry_after),
        cmocka_unit_test(test_retry_delay_ends_at_the_max_age),
        cmocka_unit_test(test_requeue_delay_waits_out_the_hold),
        cmocka_unit_test(test_breaker_signals),
        cmocka_unit_test(test_outcome_names_are_the_sql_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
