/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of what the pool (service/db.c) counts as a database failure:
 * the SQLSTATE classification behind locguard_db_errors_total. The pool
 * itself is tested against a real database by the notifier, periodic and
 * integration tests.
 */
#include "locguard/db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

static void test_failures_are_the_servers(void **state)
{
    (void)state;
    static const char *const failures[] = {
        "08006", /* connection failure */
        "08001", /* cannot connect */
        "53100", /* disk full */
        "53300", /* too many connections */
        "57P01", /* admin shutdown: the backend was terminated */
        "57014", /* query canceled (statement_timeout) */
        "58030", /* I/O error */
        "XX000", /* internal error */
        "XX001", /* data corrupted */
        "42883", /* undefined function: the schema is not the daemon's */
        "42P01", /* undefined table */
        "25P02", /* in failed transaction */
        "55P03", /* lock not available */
        "40003", /* statement completion unknown */
        "F0000", /* configuration file error */
    };
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
        if (!lg_db_is_failure(failures[i]))
            fail_msg("%s is a database failure", failures[i]);
    /* libpq's own errors carry no SQLSTATE. */
    assert_true(lg_db_is_failure(NULL));
    assert_true(lg_db_is_failure(""));
}

static void test_the_requests_own_errors_are_not(void **state)
{
    (void)state;
    static const char *const callers[] = {
        "22023", /* invalid parameter: our functions' 400 */
        "22P02", /* invalid text representation */
        "22003", /* numeric value out of range */
        "23505", /* unique violation: the admin zone's 409 */
        "23503", /* foreign key violation: 409 */
        "23514", /* check violation: 400 */
        "P0002", /* no data found: our functions' 404 */
        "P0001", /* a plain RAISE EXCEPTION */
        "42501", /* lg_t8_refuse: the T8 403 */
        "LG001", /* the ingest cache is stale: the daemon resends */
        "40001", /* serialization failure: the group commit resends */
        "40P01", /* deadlock: likewise */
    };
    for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++)
        if (lg_db_is_failure(callers[i]))
            fail_msg("%s is the request's error, not a database failure", callers[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_are_the_servers),
        cmocka_unit_test(test_the_requests_own_errors_are_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
