/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for service/north/periodic.c, the timer of the NUMBER_OF_UES_IN_AN_AREA
 * reports. The settings checks need nothing; the rest run the real
 * lg_area_reports_due (sql/area_reports.sql) against a real PostgreSQL with
 * the schema applied, named by LG_TEST_DATABASE (a libpq conninfo), and are
 * skipped when it is not set. They empty the subscription, outbox, release
 * and cell tables of that database: give them a scratch one.
 *
 * The fixture: two 0.02 degree cells with 12 and 13 devices in the latest
 * (stored) release and a third with 3, an SCS allowed the service, and
 * four periodic area subscriptions (repPeriod 60, no immediate report):
 * "due1" and "due2" over the two cells (25) and "low" over the third (3,
 * below k = 10) are made due; "later" is not.
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
#include "locguard/core/log.h"
#include "locguard/north/periodic.h"

static const char *conninfo;

#define SKIP_WITHOUT_DATABASE()                                                                    \
    do {                                                                                           \
        if (conninfo == NULL)                                                                      \
            skip();                                                                                \
    } while (0)

/* ---- fixture ---- */

typedef struct fixture {
    PGconn *sql;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
} fixture_t;

static long long scalar(fixture_t *f, const char *sql)
{
    return dbtest_scalar(f->sql, sql);
}

/* A periodic NUMBER_OF_UES_IN_AN_AREA request for a POLYGON of the points that follow. */
#define AREA_REQ_HEAD                                                                              \
    "'{\"monitoringType\": \"NUMBER_OF_UES_IN_AN_AREA\","                                          \
    " \"notificationDestination\": \"https://127.0.0.1:1/counts\","                                \
    " \"maximumNumberOfReports\": 100, \"repPeriod\": 60,"                                         \
    " \"locationArea\": {\"geographicAreas\": [{\"shape\": \"POLYGON\", \"pointList\": ["
#define AREA_REQ_TAIL "]}]}}'"
/* Cells 0 and 1 (12 + 13 = 25), and inside cell 2 (3). */
#define AREA_25                                                                                    \
    AREA_REQ_HEAD "{\"lon\": 2.0, \"lat\": 48.0}, {\"lon\": 2.04, \"lat\": 48.0},"                 \
                  " {\"lon\": 2.04, \"lat\": 48.02}, {\"lon\": 2.0, \"lat\": 48.02}" AREA_REQ_TAIL
#define AREA_3                                                                                     \
    AREA_REQ_HEAD                                                                                  \
    "{\"lon\": 2.041, \"lat\": 48.0}, {\"lon\": 2.059, \"lat\": 48.0},"                            \
    " {\"lon\": 2.059, \"lat\": 48.019}, {\"lon\": 2.041, \"lat\": 48.019}" AREA_REQ_TAIL

static const char population_sql[] =
    "TRUNCATE notification_outbox, subscription, count_release, count_release_cell, cell, "
    "  scs CASCADE;"
    "INSERT INTO cell (cell_key, rat, coverage) SELECT 'ecgi:001-01:000000' || i, 'EUTRA', "
    "  ST_Multi(ST_MakeEnvelope(2 + i * 0.02, 48, 2 + (i + 1) * 0.02, 48.02, 4326)) "
    "  FROM generate_series(0, 2) i;"
    "SELECT lg_admin_scs_put('{\"scsAsId\": \"scs-p\", "
    "  \"webhookSecret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}');"
    "SELECT lg_admin_scs_area_counts('{\"scsAsId\": \"scs-p\", \"allowed\": true}');"
    "SELECT lg_counts_store_release('2100-01-01Z', '2100-01-02Z', 1, 2, "
    "  '{ecgi:001-01:0000000,ecgi:001-01:0000001,ecgi:001-01:0000002}', '{12,13,3}');"
    "CREATE TEMP TABLE t_sub (name text PRIMARY KEY, sub_id text);"
    "INSERT INTO t_sub SELECT n, regexp_replace(lg_t8_sub_create('scs-p', r::jsonb) ->> 'self', "
    "  '.*/', '') FROM (VALUES "
    "  ('due1', " AREA_25 "), ('due2', " AREA_25 "), ('later', " AREA_25 "),"
    "  ('low', " AREA_3 ")) AS v(n, r);"
    "UPDATE subscription s SET next_report_at = now() - interval '1 second' FROM t_sub t "
    "  WHERE t.sub_id = s.sub_id AND t.name <> 'later';";

static void spin(fixture_t *f, int ms)
{
    dbtest_spin(f->base, ms);
}

static int setup(void **state)
{
    if (conninfo == NULL)
        return 0;
    fixture_t *f = calloc(1, sizeof(*f));
    dbtest_open(conninfo, 2, &f->sql, &f->base, &f->metrics, &f->db);
    dbtest_exec(f->sql, population_sql);
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

static lg_periodic_config_t test_cfg(void)
{
    lg_periodic_config_t cfg = {
        .k = 10, .min_area_m2 = 1000000, .max_area_m2 = 50000000000, .is_timer_off = true};
    return cfg;
}

typedef struct wait {
    struct event_base *base;
    int calls;
    int n;
    const char *err;
} wait_t;

static void on_done(void *arg, int n_queued, const char *err)
{
    wait_t *w = arg;
    w->calls++;
    w->n = n_queued;
    w->err = err;
    event_base_loopbreak(w->base);
}

/* Runs one tick and waits (at most 20 s) for its callback. */
static wait_t tick(fixture_t *f, lg_periodic_t *p)
{
    wait_t w = {.base = f->base};
    assert_int_equal(lg_periodic_run(p, on_done, &w), LG_OK);
    dbtest_spin(f->base, 20000);
    if (w.calls != 1)
        fail_msg("no completion of the tick");
    return w;
}

/* Outbox rows the notifier has touched (leased, tried, or given up on). */
static const char touched_sql[] =
    "SELECT count(*) FROM notification_outbox "
    "WHERE attempts > 0 OR status <> 'pending' OR lease_owner IS NOT NULL";

static lg_notifier_t *quiet_notifier(fixture_t *f)
{
    lg_notifier_config_t ncfg;
    lg_notifier_config_defaults(&ncfg);
    ncfg.poll_ms = 600000; /* it looks at the outbox at start and when kicked, not by itself */
    ncfg.stats_interval_ms = 600000;
    lg_notifier_t *n = lg_notifier_new(f->base, f->db, f->metrics, &ncfg);
    assert_non_null(n);
    spin(f, 300); /* its first look, at an empty outbox */
    return n;
}

/* ---- tests ---- */

static void test_invalid_settings_are_refused(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    lg_periodic_config_t cfg = test_cfg();
    cfg.k = 0;
    assert_null(lg_periodic_new(base, NULL, NULL, NULL, &cfg));
    cfg = test_cfg();
    cfg.min_area_m2 = -1;
    assert_null(lg_periodic_new(base, NULL, NULL, NULL, &cfg));
    cfg = test_cfg();
    cfg.max_area_m2 = cfg.min_area_m2;
    assert_null(lg_periodic_new(base, NULL, NULL, NULL, &cfg));
    cfg = test_cfg();
    cfg.interval_ms = -1;
    assert_null(lg_periodic_new(base, NULL, NULL, NULL, &cfg));
    cfg = test_cfg();
    cfg.batch = -1;
    assert_null(lg_periodic_new(base, NULL, NULL, NULL, &cfg));
    cfg = test_cfg();
    cfg.is_timer_off = false; /* with its timer, freed before it fires */
    lg_periodic_t *p = lg_periodic_new(base, NULL, NULL, NULL, &cfg);
    assert_non_null(p);
    lg_periodic_free(p);
    lg_periodic_free(NULL);
    event_base_free(base);
}

static void test_one_tick_queues_the_due_reports_and_kicks_then_nothing(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_notifier_t *n = quiet_notifier(f);
    lg_periodic_config_t cfg = test_cfg();
    lg_periodic_t *p = lg_periodic_new(f->base, f->db, f->metrics, n, &cfg);
    assert_non_null(p);

    wait_t w = tick(f, p);
    assert_null(w.err);
    assert_int_equal(w.n, 2); /* due1 and due2; low is below k, later is not due */
    assert_int_equal(
        scalar(f, "SELECT count(*) FROM notification_outbox o JOIN subscription s ON "
                  "s.id = o.subscription_id JOIN t_sub t ON t.sub_id = s.sub_id "
                  "WHERE t.name IN ('due1', 'due2') AND o.kind = 'area-count' AND "
                  "o.payload #>> '{monitoringEventReports,0,uePerLocationReport,ueCount}' = '25'"),
        2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM notification_outbox"), 2);
    /* Every due subscription, sent or suppressed, is due again one period on. */
    assert_int_equal(scalar(f, "SELECT count(*) FROM subscription s JOIN t_sub t ON "
                               "t.sub_id = s.sub_id WHERE t.name <> 'later' AND "
                               "s.next_report_at > now() + interval '50 seconds'"),
                     3);
    /* The kick: the notifier, which polls every ten minutes, takes the rows up now. */
    for (int i = 0; i < 100 && scalar(f, touched_sql) < 2; i++)
        spin(f, 50);
    assert_int_equal(scalar(f, touched_sql), 2);

    w = tick(f, p);
    assert_null(w.err);
    assert_int_equal(w.n, 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM notification_outbox"), 2);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DB_ERRORS), 0);

    lg_periodic_free(p);
    lg_notifier_free(n);
}

static void test_without_a_notifier_the_rows_wait_for_its_poll(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_notifier_t *n = quiet_notifier(f);
    lg_periodic_config_t cfg = test_cfg();
    lg_periodic_t *p = lg_periodic_new(f->base, f->db, f->metrics, NULL, &cfg); /* no kick */
    assert_non_null(p);

    wait_t w = tick(f, p);
    assert_null(w.err);
    assert_int_equal(w.n, 2);
    spin(f, 1500);
    /* Nobody kicked: the notifier has not looked (so the test above saw the kick's effect). */
    assert_int_equal(scalar(f, touched_sql), 0);

    lg_periodic_free(p);
    lg_notifier_free(n);
}

static void test_batch_limits_the_reports_per_tick(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_periodic_config_t cfg = test_cfg();
    cfg.batch = 1;
    lg_periodic_t *p = lg_periodic_new(f->base, f->db, f->metrics, NULL, &cfg);
    assert_non_null(p);
    int total = 0;
    for (int i = 0; i < 3; i++) {
        wait_t w = tick(f, p);
        assert_null(w.err);
        total += w.n;
    }
    assert_int_equal(total, 2); /* one subscription per tick: due1, due2, low (suppressed) */
    assert_int_equal(scalar(f, "SELECT count(*) FROM notification_outbox"), 2);
    lg_periodic_free(p);
}

static void test_database_down_is_an_error_not_a_crash(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_periodic_config_t cfg = test_cfg();
    lg_periodic_t *p = lg_periodic_new(f->base, f->db, f->metrics, NULL, &cfg);
    assert_non_null(p);

    /* The connection dies under the tick: the settings row is locked so the
     * tick waits, and its backend is terminated. */
    PGconn *locker = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    dbtest_exec(locker, "BEGIN; LOCK TABLE area_report_setting IN ACCESS EXCLUSIVE MODE");
    wait_t w = {.base = f->base};
    assert_int_equal(lg_periodic_run(p, on_done, &w), LG_OK);
    assert_int_equal(lg_periodic_run(p, on_done, &w), LG_ERR); /* one at a time */
    for (int i = 0; i < 100 && scalar(f, "SELECT count(*) FROM pg_stat_activity WHERE "
                                         "datname = current_database() AND "
                                         "wait_event_type = 'Lock'") < 1;
         i++)
        spin(f, 50);
    assert_int_equal(w.calls, 0);
    assert_int_equal(scalar(f, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND wait_event_type = 'Lock'"),
                     1);
    dbtest_spin(f->base, 20000);
    assert_int_equal(w.calls, 1);
    assert_non_null(w.err);
    assert_int_equal(w.n, 0);
    assert_true(lg_metrics_get(f->metrics, LG_C_DB_ERRORS) >= 1);
    dbtest_exec(locker, "ROLLBACK");
    PQfinish(locker);
    assert_int_equal(scalar(f, "SELECT count(*) FROM notification_outbox"), 0);

    /* Back up: the next tick queues what is due. */
    for (int i = 0; i < 500 && !lg_db_is_up(f->db); i++)
        spin(f, 10);
    assert_true(lg_db_is_up(f->db));
    w = tick(f, p);
    assert_null(w.err);
    assert_int_equal(w.n, 2);
    lg_periodic_free(p);

    /* A database that is not there at all: LG_ERR, no callback, no crash. */
    lg_metrics_t *m = lg_metrics_new();
    lg_db_t *gone = lg_db_new(f->base, &(lg_db_config_t){"host=127.0.0.1 port=1", 1, 1}, m);
    spin(f, 200);
    assert_false(lg_db_is_up(gone));
    p = lg_periodic_new(f->base, gone, m, NULL, &cfg);
    assert_non_null(p);
    w = (wait_t){.base = f->base};
    assert_int_equal(lg_periodic_run(p, on_done, &w), LG_ERR);
    spin(f, 200);
    assert_int_equal(w.calls, 0);
    lg_periodic_free(p);
    /* With its timer: ticks on a database that is down are skipped quietly. */
    cfg.is_timer_off = false;
    cfg.interval_ms = 50;
    p = lg_periodic_new(f->base, gone, m, NULL, &cfg);
    assert_non_null(p);
    spin(f, 300);
    lg_periodic_free(p);
    lg_db_free(gone);
    lg_metrics_free(m);
}

static void test_freeing_during_a_tick_abandons_it(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_periodic_config_t cfg = test_cfg();
    lg_periodic_t *p = lg_periodic_new(f->base, f->db, f->metrics, NULL, &cfg);
    assert_non_null(p);
    wait_t w = {.base = f->base};
    assert_int_equal(lg_periodic_run(p, on_done, &w), LG_OK);
    lg_periodic_free(p);
    spin(f, 1000);
    assert_int_equal(w.calls, 0); /* abandoned: its callback is not called */
}

int main(void)
{
    conninfo = getenv("LG_TEST_DATABASE");
    if (conninfo == NULL)
        fprintf(stderr, "test_periodic: LG_TEST_DATABASE not set, database tests skipped\n");
    lg_log_level = LG_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_settings_are_refused),
        cmocka_unit_test_setup_teardown(test_one_tick_queues_the_due_reports_and_kicks_then_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_notifier_the_rows_wait_for_its_poll, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_limits_the_reports_per_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_down_is_an_error_not_a_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_freeing_during_a_tick_abandons_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
