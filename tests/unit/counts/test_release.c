/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for service/counts/release.c. The settings checks need nothing; the rest
 * run the real release against a real PostgreSQL with the schema applied
 * (migrations/ and sql/, by `locguard migrate`), named by LG_TEST_DATABASE
 * (a libpq conninfo), and are skipped when it is not set. They empty the
 * count, device and cell tables of that database: give them a scratch one.
 *
 * With the all-one-bits source every noise draw at eps = 1/2 is -1
 * (worked by hand in test_dp.c), so a stored value is exactly the exact
 * count minus one, which shows which devices were counted.
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
#include "locguard/counts/release.h"

/* 2024-05-01T10:00:00Z, an hour boundary. */
#define BUCKET INT64_C(1714557600)
#define HOUR   3600

static const char *conninfo;

static int ff_bytes(unsigned char *buf, int n)
{
    memset(buf, 0xff, (size_t)n);
    return 1;
}

static int calls_left;

/* Succeeds calls_left times (all one bits), then fails. */
static int failing_later_bytes(unsigned char *buf, int n)
{
    if (calls_left-- <= 0)
        return 0;
    return ff_bytes(buf, n);
}

/* ---- fixture ---- */

typedef struct fixture {
    PGconn *sql;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
    lg_release_t *r;
} fixture_t;

static void exec(fixture_t *f, const char *sql)
{
    dbtest_exec(f->sql, sql);
}

static long long scalar(fixture_t *f, const char *sql)
{
    return dbtest_scalar(f->sql, sql);
}

/*
 * Cells c1..c4 and one whose key needs quoting in an array literal; in the
 * bucket at BUCKET: c1 holds 3 consenting devices and 2 without consent, c2
 * one consenting device reported an hour before the bucket, c3 one with a
 * revoked consent and one with a consent for a single SCS only.
 */
static const char population_sql[] =
    "TRUNCATE count_release, count_release_cell, consent, ue_location, ue, cell CASCADE;"
    "INSERT INTO cell (cell_key, rat, coverage) SELECT k, 'EUTRA', "
    "  ST_Multi(ST_MakeEnvelope(i, 0, i + 1, 1, 4326)) "
    "  FROM unnest(ARRAY['c1', 'c2', 'c3', 'c4', 'odd \"key\\ ,{}']) WITH ORDINALITY AS u(k, i);"
    "INSERT INTO ue (id, imsi, external_id, mobility) "
    "  SELECT i, '00101' || lpad(i::text, 10, '0'), 'd' || i || '@example.org', 'fixed' "
    "  FROM generate_series(1, 9) i;"
    "INSERT INTO ue_location (ue_id, reported_at, cell_key, decision) VALUES "
    "  (1, to_timestamp(1714557600 + 10), 'c1', 'inside'),"
    "  (2, to_timestamp(1714557600 + 1800), 'c1', 'inside'),"
    "  (3, to_timestamp(1714557600 + 3599), 'c1', 'inside'),"
    "  (4, to_timestamp(1714557600 + 20), 'c1', 'inside'),"
    "  (5, to_timestamp(1714557600 + 30), 'c1', 'inside'),"
    "  (6, to_timestamp(1714557600 - 1), 'c2', 'inside'),"
    "  (7, to_timestamp(1714557600 + 40), 'c3', 'inside'),"
    "  (8, to_timestamp(1714557600 + 50), 'c3', 'inside');"
    "INSERT INTO consent (ue_id, purpose, granted_at, revoked_at) VALUES "
    "  (1, 'anonymous-statistics', '2024-01-01Z', NULL),"
    "  (2, 'anonymous-statistics', '2024-01-01Z', NULL),"
    "  (3, 'anonymous-statistics', '2024-01-01Z', NULL),"
    "  (4, 'location-monitoring', '2024-01-01Z', NULL),"
    "  (6, 'anonymous-statistics', '2024-01-01Z', NULL),"
    "  (7, 'anonymous-statistics', '2024-01-01Z', '2024-04-01Z');";

static void new_release(fixture_t *f, const lg_release_config_t *cfg)
{
    lg_release_free(f->r);
    f->r = lg_release_new(f->base, f->db, f->metrics, cfg);
    assert_non_null(f->r);
}

static lg_release_config_t default_cfg(void)
{
    lg_release_config_t cfg = {.bucket_s = HOUR,
                               .eps_num = 1,
                               .eps_den = 2,
                               .daily_eps_num = 12,
                               .daily_eps_den = 1,
                               .is_timer_off = true,
                               .rand_bytes = ff_bytes};
    return cfg;
}

static int setup(void **state)
{
    if (conninfo == NULL)
        return 0;
    fixture_t *f = calloc(1, sizeof(*f));
    dbtest_open(conninfo, 1, &f->sql, &f->base, &f->metrics, &f->db);
    exec(f, population_sql);
    lg_release_config_t cfg = default_cfg();
    new_release(f, &cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f == NULL)
        return 0;
    lg_release_free(f->r);
    dbtest_close(f->sql, f->base, f->metrics, f->db);
    free(f);
    return 0;
}

typedef struct wait {
    struct event_base *base;
    bool is_done;
    lg_release_outcome_t outcome;
} wait_t;

static void on_done(void *arg, lg_release_outcome_t outcome)
{
    wait_t *w = arg;
    w->is_done = true;
    w->outcome = outcome;
    event_base_loopbreak(w->base);
}

/* Releases one bucket and waits (at most 20 s) for the outcome. */
static lg_release_outcome_t run_bucket(fixture_t *f, int64_t bucket_start_s)
{
    wait_t w = {.base = f->base};
    assert_int_equal(lg_release_run_bucket(f->r, bucket_start_s, on_done, &w), LG_OK);
    dbtest_spin(f->base, 20000);
    if (!w.is_done)
        fail_msg("no outcome for bucket %lld", (long long)bucket_start_s);
    return w.outcome;
}

#define SKIP_WITHOUT_DATABASE()                                                                    \
    do {                                                                                           \
        if (conninfo == NULL)                                                                      \
            skip();                                                                                \
    } while (0)

/* ---- tests ---- */

static void test_release_stores_every_cell_with_noise_over_consenting_devices(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);

    PGresult *res = PQexec(f->sql, "SELECT extract(epoch FROM r.bucket_start)::bigint, "
                                   "extract(epoch FROM r.bucket_end)::bigint, r.eps_num, "
                                   "r.eps_den, c.cell_key, c.noisy "
                                   "FROM count_release r JOIN count_release_cell c ON "
                                   "c.release_id = r.id ORDER BY c.cell_key");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    static const struct {
        const char *key;
        long long noisy;
    } want[] = {
        {"c1", 3 - 1}, /* 3 consenting; no consent, or monitoring only: not counted */
        {"c2", 0 - 1}, /* reported before the bucket */
        {"c3", 0 - 1}, /* revoked consent; no consent */
        {"c4", 0 - 1}, /* empty, still released */
        {"odd \"key\\ ,{}", 0 - 1},
    };
    assert_int_equal(PQntuples(res), LG_ARRAY_SIZE(want));
    for (int i = 0; i < PQntuples(res); i++) {
        assert_string_equal(PQgetvalue(res, i, 0), "1714557600");
        assert_string_equal(PQgetvalue(res, i, 1), "1714561200");
        assert_string_equal(PQgetvalue(res, i, 2), "1");
        assert_string_equal(PQgetvalue(res, i, 3), "2");
        assert_string_equal(PQgetvalue(res, i, 4), want[i].key);
        assert_int_equal(atoll(PQgetvalue(res, i, 5)), want[i].noisy);
    }
    PQclear(res);

    lg_release_stats_t st;
    lg_release_stats(f->r, &st);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.cells_last, 5);
    assert_int_equal(st.bucket_start_last_s, BUCKET);
}

static void test_a_bucket_is_released_once(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_ALREADY_DONE);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 5);
}

/*
 * Another daemon (here the test's own connection) stores the same bucket
 * and holds its transaction open while ours runs: our store waits for the
 * day's lock, then finds the other release committed. That is "already
 * done", not the daily budget spent: the outcome is read after the lock,
 * not from a snapshot taken before the wait.
 */
static void test_a_release_another_daemon_made_while_we_waited_is_already_done(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    wait_t w = {.base = f->base};

    exec(f, "BEGIN");
    assert_int_equal(scalar(f, "SELECT lg_counts_store_release(to_timestamp(1714557600), "
                               "to_timestamp(1714561200), 1, 2, ARRAY['c1'], ARRAY[5::bigint], "
                               "12, 1)::int"),
                     1);
    assert_int_equal(lg_release_run_bucket(f->r, BUCKET, on_done, &w), LG_OK);
    dbtest_spin(f->base, 500);
    assert_false(w.is_done); /* waiting for the other transaction's lock */
    exec(f, "COMMIT");
    dbtest_spin(f->base, 20000);
    assert_true(w.is_done);
    assert_int_equal(w.outcome, LG_RELEASE_ALREADY_DONE);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 1); /* the other's */
    lg_release_stats_t st;
    lg_release_stats(f->r, &st);
    assert_int_equal(st.already_done, 1);
    assert_int_equal(st.budget_spent, 0);
}

static void test_spent_daily_budget_stops_releases_until_the_next_utc_day(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = default_cfg();
    cfg.daily_eps_num = 1; /* two releases of 1/2 a day */
    new_release(f, &cfg);

    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);
    assert_int_equal(run_bucket(f, BUCKET + HOUR), LG_RELEASE_STORED);
    assert_int_equal(run_bucket(f, BUCKET + 2 * HOUR), LG_RELEASE_BUDGET_SPENT);
    assert_int_equal(run_bucket(f, BUCKET - 10 * HOUR), LG_RELEASE_BUDGET_SPENT); /* 00:00 */
    assert_int_equal(run_bucket(f, BUCKET + 14 * HOUR), LG_RELEASE_STORED);       /* next day */
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 3);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release WHERE bucket_start = "
                               "to_timestamp(1714557600 + 7200)"),
                     0);
    lg_release_stats_t st;
    lg_release_stats(f->r, &st);
    assert_int_equal(st.stored, 3);
    assert_int_equal(st.budget_spent, 2);
}

static void test_rand_failure_stores_nothing(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = default_cfg();
    cfg.rand_bytes = failing_later_bytes;

    calls_left = 0; /* fails at the first cell */
    new_release(f, &cfg);
    assert_false(lg_release_noise_failing(f->r));
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_RAND_FAILED);
    /* The exposure zone answers 503 and no count while this holds. */
    assert_true(lg_release_noise_failing(f->r));

    /* Fails midway: 4 KiB of one bits last 8192 draws of -1, then the source fails. */
    exec(f, "INSERT INTO cell (cell_key, rat, coverage) SELECT 'm' || i, 'EUTRA', "
            "ST_Multi(ST_MakeEnvelope(10, 0, 11, 1, 4326)) FROM generate_series(1, 10000) i");
    calls_left = 1;
    new_release(f, &cfg);
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_RAND_FAILED);

    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 0);
    lg_release_stats_t st;
    lg_release_stats(f->r, &st);
    assert_int_equal(st.rand_failed, 1);
    assert_int_equal(st.stored, 0);

    /* The source back: the same bucket is released whole. */
    calls_left = 1000;
    assert_true(lg_release_noise_failing(f->r));
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 10005);
    assert_false(lg_release_noise_failing(f->r));
}

static void test_misaligned_bucket_and_second_run_are_refused(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    wait_t w = {.base = f->base};
    assert_int_equal(lg_release_run_bucket(f->r, BUCKET + 1, on_done, &w), LG_ERR);
    assert_int_equal(lg_release_run_bucket(f->r, -HOUR, on_done, &w), LG_ERR);
    assert_int_equal(lg_release_run_bucket(f->r, BUCKET, on_done, &w), LG_OK);
    assert_int_equal(lg_release_run_now(f->r, on_done, &w), LG_ERR); /* one at a time */
    dbtest_spin(f->base, 20000);
    assert_true(w.is_done);
    assert_int_equal(w.outcome, LG_RELEASE_STORED);
}

static void test_release_with_openssl_noise_is_stored(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = default_cfg();
    cfg.rand_bytes = NULL;
    new_release(f, &cfg);
    wait_t w = {.base = f->base};
    assert_int_equal(lg_release_run_now(f->r, on_done, &w), LG_OK);
    dbtest_spin(f->base, 20000);
    assert_true(w.is_done);
    assert_int_equal(w.outcome, LG_RELEASE_STORED);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 5);
}

static void test_freeing_during_a_run_abandons_it(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    wait_t w = {.base = f->base};
    assert_int_equal(lg_release_run_bucket(f->r, BUCKET, on_done, &w), LG_OK);
    lg_release_free(f->r);
    f->r = NULL;
    dbtest_spin(f->base, 300);
    assert_false(w.is_done);
}

static void test_invalid_settings_are_refused(void **state)
{
    static const struct {
        int bucket_s, delay_s;
        uint32_t num, den, daily_num, daily_den;
    } bad[] = {
        {59, 0, 1, 2, 12, 1},    {7000, 0, 1, 2, 12, 1}, {3600, 3600, 1, 2, 12, 1},
        {3600, -1, 1, 2, 12, 1}, {3600, 0, 0, 2, 12, 1}, {3600, 0, 1, 0, 12, 1},
        {3600, 0, 1, 2, 0, 1},   {3600, 0, 1, 2, 12, 0}, {3600, 0, 1u << 31, 2, 12, 1},
    };
    (void)state;
    struct event_base *base = event_base_new();
    lg_log_level = -1; /* quiet */
    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++) {
        lg_release_config_t cfg = {.bucket_s = bad[i].bucket_s,
                                   .delay_s = bad[i].delay_s,
                                   .eps_num = bad[i].num,
                                   .eps_den = bad[i].den,
                                   .daily_eps_num = bad[i].daily_num,
                                   .daily_eps_den = bad[i].daily_den,
                                   .is_timer_off = true};
        if (lg_release_new(base, NULL, NULL, &cfg) != NULL)
            fail_msg("settings %zu accepted", i);
    }
    lg_log_level = LG_LOG_WARN;
    lg_release_config_t ok = {.bucket_s = 900,
                              .delay_s = 60,
                              .eps_num = 1,
                              .eps_den = 2,
                              .daily_eps_num = 48,
                              .daily_eps_den = 1};
    lg_release_t *r = lg_release_new(base, NULL, NULL, &ok); /* with its timer */
    assert_non_null(r);
    lg_release_free(r);
    lg_release_free(NULL);
    event_base_free(base);
}

int main(void)
{
    conninfo = getenv("LG_TEST_DATABASE");
    if (conninfo == NULL)
        fprintf(stderr, "test_release: LG_TEST_DATABASE not set, database tests skipped\n");
    lg_log_level = LG_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_settings_are_refused),
        cmocka_unit_test_setup_teardown(
            test_release_stores_every_cell_with_noise_over_consenting_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_bucket_is_released_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_release_another_daemon_made_while_we_waited_is_already_done, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_spent_daily_budget_stops_releases_until_the_next_utc_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rand_failure_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misaligned_bucket_and_second_run_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_release_with_openssl_noise_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeing_during_a_run_abandons_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
