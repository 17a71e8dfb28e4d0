/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/north/breaker.c: the failures it takes to hold a
 * destination, the doubling holds and their ceiling, a failure during a
 * hold, an answer ending the series, and signals that change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/north/breaker.h"

#define S_US INT64_C(1000000)

/* Feeds n failures at now_us; returns how many of them started a hold (the last length in *ms). */
static int fail_times(lg_breaker_t *b, int n, int64_t now_us, int64_t max_ms, int64_t *ms)
{
    int started = 0;
    for (int i = 0; i < n; i++)
        started += lg_breaker_note(b, LG_BREAKER_FAILURE, now_us, max_ms, ms);
    return started;
}

static void test_a_new_breaker_holds_nothing(void **state)
{
    lg_breaker_t b;
    (void)state;
    lg_breaker_init(&b);
    assert_false(lg_breaker_is_holding(&b, 0));
    assert_false(lg_breaker_is_holding(&b, 100 * S_US));
}

static void test_fewer_failures_than_the_threshold_hold_nothing(void **state)
{
    lg_breaker_t b;
    int64_t ms = -1;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS - 1, 10 * S_US, 600000, &ms), 0);
    assert_int_equal(ms, -1);
    assert_false(lg_breaker_is_holding(&b, 10 * S_US));
}

static void test_the_threshold_th_failure_holds_for_the_first_hold(void **state)
{
    lg_breaker_t b;
    int64_t ms = -1;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS - 1, 10 * S_US, 600000, &ms), 0);
    assert_true(lg_breaker_note(&b, LG_BREAKER_FAILURE, 10 * S_US, 600000, &ms));
    assert_int_equal(ms, LG_BREAKER_FIRST_HOLD_MS);
    assert_true(lg_breaker_is_holding(&b, 10 * S_US));
    assert_true(lg_breaker_is_holding(&b, 10 * S_US + LG_BREAKER_FIRST_HOLD_MS * 1000 - 1));
    assert_false(lg_breaker_is_holding(&b, 10 * S_US + LG_BREAKER_FIRST_HOLD_MS * 1000));
}

static void test_a_failure_during_a_hold_starts_no_other(void **state)
{
    lg_breaker_t b;
    int64_t ms = -1;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS, 10 * S_US, 600000, &ms), 1);
    int64_t until_us = b.hold_until_us;
    ms = -1;
    assert_int_equal(fail_times(&b, 3, 10 * S_US + 500000, 600000, &ms), 0);
    assert_int_equal(ms, -1);
    assert_int_equal(b.hold_until_us, until_us);
}

static void test_holds_in_a_row_double_up_to_the_ceiling(void **state)
{
    /* After a hold, one failure holds again: 1 s, 2 s, 4 s, 8 s, then the 10 s ceiling. */
    static const int64_t expected_ms[] = {1000, 2000, 4000, 8000, 10000, 10000};
    lg_breaker_t b;
    int64_t now_us = 50 * S_US, ms = 0;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS - 1, now_us, 10000, &ms), 0);
    for (size_t i = 0; i < sizeof(expected_ms) / sizeof(expected_ms[0]); i++) {
        assert_true(lg_breaker_note(&b, LG_BREAKER_FAILURE, now_us, 10000, &ms));
        assert_int_equal(ms, expected_ms[i]);
        now_us = b.hold_until_us; /* the hold is over */
        assert_false(lg_breaker_is_holding(&b, now_us));
    }
    assert_int_equal(b.holds, 6);
}

static void test_a_ceiling_below_the_first_hold_clamps_it(void **state)
{
    lg_breaker_t b;
    int64_t ms = -1;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS, S_US, 300, &ms), 1);
    assert_int_equal(ms, 300);
    ms = -1;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS, S_US, 0, &ms), 1);
    assert_int_equal(ms, 0);
    assert_false(lg_breaker_is_holding(&b, S_US));
}

static void test_an_answer_ends_the_series(void **state)
{
    lg_breaker_t b;
    int64_t ms = 0;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS, S_US, 600000, &ms), 1);
    assert_false(lg_breaker_note(&b, LG_BREAKER_ANSWER, S_US + 1, 600000, &ms));
    assert_false(lg_breaker_is_holding(&b, S_US + 1));
    assert_int_equal(b.holds, 0);
    /* A new series needs the full count again and starts with the first hold. */
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS - 1, 2 * S_US, 600000, &ms), 0);
    assert_true(lg_breaker_note(&b, LG_BREAKER_FAILURE, 2 * S_US, 600000, &ms));
    assert_int_equal(ms, LG_BREAKER_FIRST_HOLD_MS);
}

static void test_neutral_signals_change_nothing(void **state)
{
    lg_breaker_t b;
    int64_t ms = 0;
    (void)state;
    lg_breaker_init(&b);
    assert_int_equal(fail_times(&b, LG_BREAKER_FAILS - 1, S_US, 600000, &ms), 0);
    lg_breaker_t before = b;
    for (int i = 0; i < 10; i++)
        assert_false(lg_breaker_note(&b, LG_BREAKER_NEUTRAL, S_US, 600000, &ms));
    assert_memory_equal(&b, &before, sizeof(b));
    assert_true(lg_breaker_note(&b, LG_BREAKER_FAILURE, S_US, 600000, &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_breaker_holds_nothing),
        cmocka_unit_test(test_fewer_failures_than_the_threshold_hold_nothing),
        cmocka_unit_test(test_the_threshold_th_failure_holds_for_the_first_hold),
        cmocka_unit_test(test_a_failure_during_a_hold_starts_no_other),
        cmocka_unit_test(test_holds_in_a_row_double_up_to_the_ceiling),
        cmocka_unit_test(test_a_ceiling_below_the_first_hold_clamps_it),
        cmocka_unit_test(test_an_answer_ends_the_series),
        cmocka_unit_test(test_neutral_signals_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
