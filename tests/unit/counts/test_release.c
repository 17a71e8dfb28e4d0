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
    "TRUNCATE count_release, count_release_cell, count_horizon, count_horizon_device, consent, "
    "  ue_location, ue, cell CASCADE;"
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
    lg_release_config_t cfg = {.mechanism = LG_RELEASE_PER_BUCKET,
                               .bucket_s = HOUR,
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

/* ---- the continual counter (the default mechanism) ---- */

static lg_release_config_t continual_cfg(void)
{
    lg_release_config_t cfg = default_cfg();
    cfg.mechanism = LG_RELEASE_CONTINUAL;
    /* Epsilon 3 over 3 levels and 2 units: 1/2 per node, where the all-one-bits source
     * draws -1 every time (other settings at their defaults). */
    cfg.continual.eps_num = 3;
    cfg.continual.eps_den = 1;
    return cfg;
}

/* The released count of cell key in the release of bucket start_s. */
static long long released(fixture_t *f, int64_t start_s, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT c.noisy FROM count_release r JOIN count_release_cell c ON c.release_id = r.id "
             "WHERE r.bucket_start = to_timestamp(%lld) AND c.cell_key = '%s'",
             (long long)start_s, key);
    return scalar(f, sql);
}

/*
 * With the all-one-bits source every draw is -1, so every cell gets the
 * same noise (minus the number of nodes summed) and differences between
 * cells are exact: c1 holds 3
 * consenting devices, c2 the one reported an hour before the bucket (within
 * the presence window), c3 and c4 none.
 */
static void test_continual_release_counts_devices_present_and_keeps_state(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = continual_cfg();
    new_release(f, &cfg);

    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);
    assert_int_equal(released(f, BUCKET, "c1") - released(f, BUCKET, "c4"), 3);
    assert_int_equal(released(f, BUCKET, "c2") - released(f, BUCKET, "c4"), 1);
    assert_int_equal(released(f, BUCKET, "c3") - released(f, BUCKET, "c4"), 0);
    assert_true(released(f, BUCKET, "c4") < 0); /* noise was added */
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release_cell"), 5);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release WHERE horizon_start IS NOT NULL "
                               "AND eps_num = 3 AND eps_den = 1"),
                     1);
    /* The horizon: 365 days of hourly buckets from a multiple of its span. */
    assert_int_equal(scalar(f, "SELECT steps FROM count_horizon"), 8760);
    long long t = scalar(f, "SELECT t FROM count_horizon");
    assert_int_equal(
        scalar(f,
               "SELECT (extract(epoch FROM starts_at)::bigint % (8760 * 3600)) FROM count_horizon"),
        0);
    assert_int_equal(scalar(f,
                            "SELECT ((1714557600 - extract(epoch FROM starts_at)::bigint) / 3600 "
                            "+ 1)::bigint FROM count_horizon"),
                     t);
    assert_int_equal(
        scalar(f, "SELECT count(*) FROM count_horizon_device WHERE cell_key IS NOT NULL"), 4);
    assert_int_equal(scalar(f, "SELECT cardinality(open) FROM count_horizon"), 5 * 3);
    /* What the next release needs to look at the candidates alone (migration 0027). */
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_horizon WHERE changes_from = "
                               "to_timestamp(1714557600 + 3600) AND presence_s = 604800 AND "
                               "geo_version = (SELECT version FROM count_geo_version) AND NOT "
                               "lg_counts_continual_is_full(starts_at, 604800)"),
                     1);

    /* Again: already done. Three buckets later (two skipped): stored, the devices unchanged. */
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_ALREADY_DONE);
    assert_int_equal(run_bucket(f, BUCKET + 3 * HOUR), LG_RELEASE_STORED);
    assert_int_equal(scalar(f, "SELECT t FROM count_horizon"), t + 3);
    assert_int_equal(released(f, BUCKET + 3 * HOUR, "c1") - released(f, BUCKET + 3 * HOUR, "c4"),
                     3);
    assert_int_equal(released(f, BUCKET + 3 * HOUR, "c2") - released(f, BUCKET + 3 * HOUR, "c4"),
                     1);
    /* An earlier bucket can no longer be released. */
    assert_int_equal(run_bucket(f, BUCKET + HOUR), LG_RELEASE_ALREADY_DONE);

    /* Device 1 moves to c4: with no move allowed over the horizon (R 0), it stays counted
     * in c1; device 2 loses its consent: it leaves. */
    exec(f, "UPDATE ue_location SET cell_key = 'c4', cell_since = now(), "
            "reported_at = to_timestamp(1714557600 + 4 * 3600 + 10) WHERE ue_id = 1;"
            "UPDATE consent SET revoked_at = to_timestamp(1714557600 + 4 * 3600) WHERE ue_id = 2");
    assert_int_equal(run_bucket(f, BUCKET + 4 * HOUR), LG_RELEASE_STORED);
    assert_int_equal(released(f, BUCKET + 4 * HOUR, "c1") - released(f, BUCKET + 4 * HOUR, "c3"),
                     2);
    assert_int_equal(released(f, BUCKET + 4 * HOUR, "c4") - released(f, BUCKET + 4 * HOUR, "c3"),
                     0);
    assert_int_equal(scalar(f, "SELECT units_spent FROM count_horizon_device WHERE ue_id = 2"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_horizon_device WHERE is_held"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_horizon_device WHERE ue_id = 1 AND "
                               "is_held AND cell_key = 'c1'"),
                     1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_horizon_device WHERE ue_id = 2 AND "
                               "cell_key IS NULL"),
                     1);
    lg_release_stats_t st;
    lg_release_stats(f->r, &st);
    assert_int_equal(st.stored, 3);
    assert_int_equal(st.already_done, 2);
}

static void test_continual_release_with_a_failing_source_stores_nothing(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = continual_cfg();
    cfg.rand_bytes = failing_later_bytes;
    calls_left = 0;
    new_release(f, &cfg);
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_RAND_FAILED);
    assert_true(lg_release_noise_failing(f->r));
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 0);
    assert_int_equal(scalar(f, "SELECT t FROM count_horizon"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_horizon_device"), 0);
    calls_left = 1000;
    assert_int_equal(run_bucket(f, BUCKET), LG_RELEASE_STORED);
    assert_false(lg_release_noise_failing(f->r));
}

/* Another daemon stepped the horizon while ours read it: already done, nothing stored twice. */
static void test_continual_release_another_daemon_made_is_already_done(void **state)
{
    SKIP_WITHOUT_DATABASE();
    fixture_t *f = *state;
    lg_release_config_t cfg = continual_cfg();
    new_release(f, &cfg);
    wait_t w = {.base = f->base};

    /* The other daemon holds the horizon's lock with its bucket stored, not yet committed. */
    assert_int_equal(run_bucket(f, BUCKET - HOUR), LG_RELEASE_STORED);
    long long t = scalar(f, "SELECT t FROM count_horizon");
    exec(f, "BEGIN");
    exec(f, "SELECT pg_advisory_xact_lock(hashtext('lg_counts_continual_store'))");
    assert_int_equal(lg_release_run_bucket(f->r, BUCKET, on_done, &w), LG_OK);
    dbtest_spin(f->base, 500);
    assert_false(w.is_done);
    exec(f, "UPDATE count_horizon SET t = t + 1");
    exec(f, "INSERT INTO count_release (bucket_start, bucket_end, eps_num, eps_den) "
            "VALUES (to_timestamp(1714557600), to_timestamp(1714561200), 10, 1)");
    exec(f, "COMMIT");
    dbtest_spin(f->base, 20000);
    assert_true(w.is_done);
    assert_int_equal(w.outcome, LG_RELEASE_ALREADY_DONE);
    assert_int_equal(scalar(f, "SELECT t FROM count_horizon"), t + 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM count_release"), 2);
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
    /* The continual counter's settings. */
    lg_release_config_t cont = default_cfg();
    cont.mechanism = LG_RELEASE_CONTINUAL;
    cont.continual.branching = 1;
    assert_null(lg_release_new(base, NULL, NULL, &cont));
    cont.continual.branching = 0;
    cont.presence_s = 30;
    assert_null(lg_release_new(base, NULL, NULL, &cont));
    cont.presence_s = 0;
    cont.continual.moves_lifetime = 1u << 21;
    assert_null(lg_release_new(base, NULL, NULL, &cont));
    cont.mechanism = (lg_release_mechanism_t)7;
    cont.continual.moves_lifetime = 0;
    assert_null(lg_release_new(base, NULL, NULL, &cont));
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
        cmocka_unit_test_setup_teardown(
            test_continual_release_counts_devices_present_and_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continual_release_with_a_failing_source_stores_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_continual_release_another_daemon_made_is_already_done,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
