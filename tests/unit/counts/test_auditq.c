/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for service/counts/auditq.c, the group commit of the count audit rows,
 * against a real PostgreSQL with the schema applied, named by
 * LG_TEST_DATABASE (skipped when it is not set; run by `make dbunit`). They
 * write audit_log and rename it for a while: give them a scratch database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "../dbtest.h"
#include "locguard/counts/auditq.h"
#include "locguard/core/log.h"

static const char *conninfo;

typedef struct fixture {
    PGconn *sql;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
} fixture_t;

static void exec(fixture_t *f, const char *sql)
{
    dbtest_exec(f->sql, sql);
}

static long long scalar(fixture_t *f, const char *sql)
{
    return dbtest_scalar(f->sql, sql);
}

static void run_ms(fixture_t *f, int ms)
{
    dbtest_spin(f->base, ms);
}

/* Runs the loop until the rows of actor LIKE pattern number n (at most 20 s). */
static void wait_rows(fixture_t *f, const char *pattern, long long n)
{
    char q[256];
    snprintf(q, sizeof(q), "SELECT count(*) FROM audit_log WHERE actor LIKE '%s'", pattern);
    for (int i = 0; i < 400 && scalar(f, q) < n; i++)
        run_ms(f, 50);
    assert_int_equal(scalar(f, q), n);
}

static int setup(void **state)
{
    if (conninfo == NULL)
        return 0;
    fixture_t *f = calloc(1, sizeof(*f));
    dbtest_open(conninfo, 2, &f->sql, &f->base, &f->metrics, &f->db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f == NULL)
        return 0;
    dbtest_close(f->sql, f->base, f->metrics, f->db);
    free(f);
    return 0;
}

#define SKIP_WITHOUT_DATABASE()                                                                    \
    do {                                                                                           \
        if (conninfo == NULL)                                                                      \
            skip();                                                                                \
    } while (0)

static json_t *request_of(int i)
{
    return json_pack("{s:{s:s},s:i}", "area", "areaType", "CIRCLE", "n", i);
}

static json_t *answer_of(int i)
{
    return json_pack("{s:i,s:s}", "count", 10 + i, "status", "SUPPORTED_AREA");
}

static void test_queued_rows_are_written_in_order(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_auditq_t *q = lg_auditq_new(f->base, f->db, 100, 7);
    for (int i = 0; i < 30; i++)
        assert_int_equal(lg_auditq_add(q, "order-a", request_of(i), answer_of(i), NULL, NULL),
                         LG_OK);
    /* One statement under way, the rest waiting for it. */
    assert_int_equal(lg_auditq_depth(q), 30);
    wait_rows(f, "order-a", 30);
    assert_int_equal(lg_auditq_depth(q), 0);
    /* In the order queued, with the request and answer as given. */
    assert_int_equal(scalar(f, "SELECT count(*) FROM (SELECT (request ->> 'n')::int AS n, "
                               "row_number() OVER (ORDER BY id) - 1 AS k FROM audit_log "
                               "WHERE actor = 'order-a') x WHERE n = k"),
                     30);
    assert_int_equal(scalar(f, "SELECT count(*) FROM audit_log WHERE actor = 'order-a' "
                               "AND actor_kind = 'third_party' AND action = 'region-device-count' "
                               "AND (answer ->> 'count')::int = (request ->> 'n')::int + 10"),
                     30);
    lg_auditq_free(q);
}

static void test_a_full_queue_refuses(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_auditq_t *q = lg_auditq_new(f->base, f->db, 3, 10);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lg_auditq_add(q, "full-a", request_of(i), answer_of(i), NULL, NULL),
                         LG_OK);
    assert_int_equal(lg_auditq_add(q, "full-a", request_of(3), answer_of(3), NULL, NULL), LG_ERR);
    wait_rows(f, "full-a", 3);
    assert_int_equal(lg_auditq_add(q, "full-a", request_of(4), answer_of(4), NULL, NULL), LG_OK);
    wait_rows(f, "full-a", 4);
    lg_auditq_free(q);
}

typedef struct outcome {
    int n_ok, n_err;
} outcome_t;

static void on_row(void *arg, const char *err)
{
    outcome_t *o = arg;
    if (err == NULL)
        o->n_ok++;
    else
        o->n_err++;
}

static void test_failed_statements_are_retried_or_reported(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    /* One queue per daemon, in one of the two modes: one of each here. */
    lg_auditq_t *q = lg_auditq_new(f->base, f->db, 100, 10);
    lg_auditq_t *w = lg_auditq_new(f->base, f->db, 100, 10);
    outcome_t waited = {0};
    /* The table is away: statements fail. */
    exec(f, "ALTER TABLE audit_log RENAME TO audit_log_away");
    for (int i = 0; i < 5; i++)
        assert_int_equal(lg_auditq_add(q, "retry-a", request_of(i), answer_of(i), NULL, NULL),
                         LG_OK);
    assert_int_equal(lg_auditq_add(w, "wait-a", request_of(9), answer_of(9), on_row, &waited),
                     LG_OK);
    run_ms(f, 1500);
    /* A waited-for row gets the failure (its answer is a 503); queued ones stay queued. */
    assert_int_equal(waited.n_err, 1);
    assert_int_equal(waited.n_ok, 0);
    assert_int_equal(lg_auditq_depth(w), 0);
    assert_int_equal(lg_auditq_depth(q), 5);
    exec(f, "ALTER TABLE audit_log_away RENAME TO audit_log");
    wait_rows(f, "retry-a", 5);
    assert_int_equal(scalar(f, "SELECT count(*) FROM audit_log WHERE actor = 'wait-a'"), 0);
    /* And a waited-for row once the table is back. */
    assert_int_equal(lg_auditq_add(w, "wait-a", request_of(9), answer_of(9), on_row, &waited),
                     LG_OK);
    for (int i = 0; i < 200 && waited.n_ok == 0; i++)
        run_ms(f, 20);
    assert_int_equal(waited.n_ok, 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM audit_log WHERE actor = 'wait-a'"), 1);
    lg_auditq_free(q);
    lg_auditq_free(w);
}

int main(void)
{
    conninfo = getenv("LG_TEST_DATABASE");
    lg_log_level = LG_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queued_rows_are_written_in_order),
        cmocka_unit_test(test_a_full_queue_refuses),
        cmocka_unit_test(test_failed_statements_are_retried_or_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
