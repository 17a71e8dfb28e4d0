/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic release of the privacy filter: a timer at each bucket
 * boundary (plus delay_s), and a run of two round trips per bucket:
 *
 *   1. lg_counts_exact_cells(bucket_end, bucket_start) -> (cell_key, n) rows,
 *      every cell with coverage, zero counts included;
 *   2. n + lg_dp_laplace() for each cell, sent as two arrays to
 *      lg_counts_store_release_outcome(...), which stores the release in
 *      one transaction unless the bucket was released already or the day's
 *      epsilon would be overspent, and names the outcome.
 *
 * The exact counts are read from the result and never copied, logged or
 * kept. If one noise draw fails, the run stops before the second round trip:
 * a release is whole or absent. One run at a time; a timer run that fails on
 * the database or the random source is retried every RETRY_S seconds until
 * the next bucket ends.
 */
#include "locguard/counts/release.h"

#include "locguard/core/log.h"
#include "locguard/core/pgarray.h"
#include "locguard/core/timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_S 30

/* $1 bucket start, $2 bucket end, in seconds since the epoch. */
static const char cells_sql[] =
    "SELECT cell_key, n FROM lg_counts_exact_cells(to_timestamp($2::bigint), "
    "to_timestamp($1::bigint))";

/*
 * The function decides the outcome after it holds the day's lock, so a
 * release another daemon committed while this one waited is "already_done",
 * not a spent budget.
 */
static const char store_sql[] =
    "SELECT lg_counts_store_release_outcome(to_timestamp($1::bigint), to_timestamp($2::bigint), "
    "$3::int, $4::int, $5::text[], $6::bigint[], $7::int, $8::int) AS outcome";

/* One release under way. Outlives its lg_release_t when that is freed first. */
typedef struct run {
    lg_release_t *r;        /* NULL once abandoned by lg_release_free */
    int64_t bucket_start_s; /* the bucket [start, start + bucket_s) */
    bool is_timer;          /* started by the timer: retried on failure */
    size_t n_cells;         /* cells in the histogram being stored */
    lg_release_done_cb cb;
    void *arg;
} run_t;

struct lg_release {
    struct event_base *base;
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_release_config_t cfg;
    lg_dp_t *dp;                  /* the sampler, kept so its 4 KiB buffer is reused */
    struct event *timer;          /* next boundary or retry; NULL when is_timer_off */
    int64_t timer_bucket_start_s; /* the bucket the timer releases next */
    run_t *run;                   /* the run in flight, or NULL */
    lg_release_stats_t stats;
    bool is_noise_failing;        /* the last run found the random source broken */
    void (*on_stored)(void *arg); /* told of each stored release (countmap) */
    void *on_stored_arg;
};

static void schedule(lg_release_t *r, int64_t at_us)
{
    int64_t wait_us = at_us - lg_now_us();
    if (wait_us < 0)
        wait_us = 0;
    struct timeval tv = {.tv_sec = (time_t)(wait_us / 1000000),
                         .tv_usec = (suseconds_t)(wait_us % 1000000)};
    evtimer_add(r->timer, &tv);
}

/*
 * Arms the timer for the end of the first bucket after the last one the
 * timer released (or, at start, the bucket under way), plus delay_s.
 */
static void schedule_next_bucket(lg_release_t *r)
{
    const int64_t b = r->cfg.bucket_s, delay = r->cfg.delay_s;
    int64_t now_s = lg_now_us() / 1000000;
    int64_t start = (now_s - delay) / b * b; /* now_s - delay >= 0 in any sane clock */
    if (r->timer_bucket_start_s != 0 && start <= r->timer_bucket_start_s)
        start = r->timer_bucket_start_s + b;
    r->timer_bucket_start_s = start;
    schedule(r, (start + b + delay) * 1000000);
}

/* After a failed timer run: again in RETRY_S, unless the next bucket is due first. */
static void schedule_retry(lg_release_t *r)
{
    const int64_t b = r->cfg.bucket_s;
    int64_t retry_us = lg_now_us() + RETRY_S * INT64_C(1000000);
    if (retry_us < (r->timer_bucket_start_s + 2 * b + r->cfg.delay_s) * 1000000)
        schedule(r, retry_us);
    else
        schedule_next_bucket(r);
}

const char *lg_release_outcome_name(lg_release_outcome_t outcome)
{
    switch (outcome) {
    case LG_RELEASE_STORED:
        return "stored";
    case LG_RELEASE_ALREADY_DONE:
        return "already_done";
    case LG_RELEASE_BUDGET_SPENT:
        return "budget_spent";
    case LG_RELEASE_RAND_FAILED:
        return "rand_failed";
    case LG_RELEASE_DB_FAILED:
        return "db_failed";
    }
    return "unknown";
}

/* Ends a run: counts, logs, re-arms the timer, then tells the caller. */
static void finish(run_t *run, lg_release_outcome_t outcome)
{
    lg_release_t *r = run->r;
    lg_release_done_cb cb = run->cb;
    void *arg = run->arg;
    bool is_timer = run->is_timer;
    char when[40];

    r->run = NULL;
    lg_time_format(run->bucket_start_s * 1000000, when, sizeof(when));
    switch (outcome) {
    case LG_RELEASE_STORED:
        r->is_noise_failing = false;
        r->stats.stored++;
        r->stats.cells_last = run->n_cells;
        r->stats.bucket_start_last_s = run->bucket_start_s;
        lg_info("counts: released bucket %s (%d s, %zu cells, epsilon %" PRIu32 "/%" PRIu32 ")",
                when, r->cfg.bucket_s, run->n_cells, r->cfg.eps_num, r->cfg.eps_den);
        break;
    case LG_RELEASE_ALREADY_DONE:
        r->stats.already_done++;
        lg_info("counts: bucket %s was already released", when);
        break;
    case LG_RELEASE_BUDGET_SPENT:
        r->stats.budget_spent++;
        lg_warn("counts: bucket %s not released: the daily epsilon %" PRIu32 "/%" PRIu32
                " is spent",
                when, r->cfg.daily_eps_num, r->cfg.daily_eps_den);
        break;
    case LG_RELEASE_RAND_FAILED:
        r->is_noise_failing = true;
        r->stats.rand_failed++;
        lg_error("counts: bucket %s not released: the random source failed", when);
        break;
    case LG_RELEASE_DB_FAILED:
        r->stats.db_failed++;
        break; /* logged where the detail is known; counted by the pool (db.c) */
    }
    free(run);
    if (outcome == LG_RELEASE_STORED && r->on_stored != NULL)
        r->on_stored(r->on_stored_arg);
    if (is_timer) {
        if (outcome == LG_RELEASE_DB_FAILED || outcome == LG_RELEASE_RAND_FAILED)
            schedule_retry(r);
        else
            schedule_next_bucket(r);
    }
    if (cb != NULL)
        cb(arg, outcome); /* last: it may free r */
}

static void on_stored(void *arg, const PGresult *res, const char *err)
{
    run_t *run = arg;

    if (run->r == NULL) {
        free(run);
        return;
    }
    static const char *const stored_columns[] = {"outcome"};
    int col[1];
    const char *missing = NULL;
    if (err != NULL || res == NULL || PQntuples(res) != 1 ||
        lg_db_columns(res, stored_columns, 1, col, &missing) != LG_OK) {
        lg_error("counts: storing bucket %" PRId64 " failed: %s", run->bucket_start_s,
                 err ? err : "unexpected result");
        finish(run, LG_RELEASE_DB_FAILED);
        return;
    }
    const char *outcome = PQgetvalue(res, 0, col[0]);
    if (strcmp(outcome, "stored") == 0)
        finish(run, LG_RELEASE_STORED);
    else if (strcmp(outcome, "already_done") == 0)
        finish(run, LG_RELEASE_ALREADY_DONE);
    else if (strcmp(outcome, "budget_spent") == 0)
        finish(run, LG_RELEASE_BUDGET_SPENT);
    else {
        lg_error("counts: storing bucket %" PRId64 ": unexpected outcome", run->bucket_start_s);
        finish(run, LG_RELEASE_DB_FAILED);
    }
}

/* Parses a non-negative count as libpq gives it in text format. */
static bool parse_count(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT64_MAX / 2)
        return false;
    *out = v;
    return true;
}

static void on_cells(void *arg, const PGresult *res, const char *err)
{
    run_t *run = arg;
    lg_release_t *r = run->r;

    if (r == NULL) {
        free(run);
        return;
    }
    static const char *const cell_columns[] = {"cell_key", "n"};
    int col[2];
    const char *missing = NULL;
    if (err != NULL || res == NULL || lg_db_columns(res, cell_columns, 2, col, &missing) != LG_OK) {
        lg_error("counts: reading the counts of bucket %" PRId64 " failed: %s", run->bucket_start_s,
                 err ? err : "unexpected result");
        finish(run, LG_RELEASE_DB_FAILED);
        return;
    }

    int n_rows = PQntuples(res);
    lg_pgarray_t keys, noisy;
    lg_release_outcome_t failure = 0;
    lg_pgarray_init(&keys);
    lg_pgarray_init(&noisy);
    for (int i = 0; i < n_rows; i++) {
        int64_t n, noise;
        if (PQgetisnull(res, i, col[0]) || !parse_count(PQgetvalue(res, i, col[1]), &n)) {
            lg_error("counts: bucket %" PRId64 ": unexpected row %d from lg_counts_exact_cells",
                     run->bucket_start_s, i);
            failure = LG_RELEASE_DB_FAILED;
            break;
        }
        if (lg_dp_laplace(r->dp, &noise) != LG_OK) {
            failure = LG_RELEASE_RAND_FAILED;
            break;
        }
        lg_pgarray_add_str(&keys, PQgetvalue(res, i, col[0]));
        /* |noise| < 2^48, n < 2^62: no overflow. */
        lg_pgarray_add_int(&noisy, n + noise);
    }
    if (failure != 0) {
        lg_pgarray_cleanup(&keys);
        lg_pgarray_cleanup(&noisy);
        finish(run, failure);
        return;
    }
    run->n_cells = (size_t)n_rows;

    char start[24], end[24], eps_num[16], eps_den[16], daily_num[16], daily_den[16];
    snprintf(start, sizeof(start), "%" PRId64, run->bucket_start_s);
    snprintf(end, sizeof(end), "%" PRId64, run->bucket_start_s + r->cfg.bucket_s);
    snprintf(eps_num, sizeof(eps_num), "%" PRIu32, r->cfg.eps_num);
    snprintf(eps_den, sizeof(eps_den), "%" PRIu32, r->cfg.eps_den);
    snprintf(daily_num, sizeof(daily_num), "%" PRIu32, r->cfg.daily_eps_num);
    snprintf(daily_den, sizeof(daily_den), "%" PRIu32, r->cfg.daily_eps_den);
    const char *values[8] = {
        start,     end,      eps_num, eps_den, lg_pgarray_end(&keys), lg_pgarray_end(&noisy),
        daily_num, daily_den};
    int rc = lg_db_query(r->db, store_sql, 8, values, on_stored, run);
    lg_pgarray_cleanup(&keys);
    lg_pgarray_cleanup(&noisy);
    if (rc != LG_OK) {
        lg_error("counts: storing bucket %" PRId64 " failed: database unavailable",
                 run->bucket_start_s);
        finish(run, LG_RELEASE_DB_FAILED);
    }
}

/* Starts a run for one bucket; LG_ERR when busy or the database is down. */
static int start_run(lg_release_t *r, int64_t bucket_start_s, bool is_timer, lg_release_done_cb cb,
                     void *arg)
{
    if (r->run != NULL || !lg_db_is_up(r->db))
        return LG_ERR;
    run_t *run = lg_xcalloc(1, sizeof(*run));
    run->r = r;
    run->bucket_start_s = bucket_start_s;
    run->is_timer = is_timer;
    run->cb = cb;
    run->arg = arg;
    r->run = run;

    char start[24], end[24];
    snprintf(start, sizeof(start), "%" PRId64, bucket_start_s);
    snprintf(end, sizeof(end), "%" PRId64, bucket_start_s + r->cfg.bucket_s);
    const char *values[2] = {start, end};
    if (lg_db_query(r->db, cells_sql, 2, values, on_cells, run) != LG_OK) {
        r->run = NULL;
        free(run);
        return LG_ERR;
    }
    return LG_OK;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lg_release_t *r = arg;
    (void)fd;
    (void)what;
    if (start_run(r, r->timer_bucket_start_s, true, NULL, NULL) != LG_OK) {
        lg_warn("counts: bucket %" PRId64 " not started (database down or a run under way); "
                "retrying",
                r->timer_bucket_start_s);
        schedule_retry(r);
    }
}

lg_release_t *lg_release_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                             const lg_release_config_t *cfg)
{
    if (cfg->bucket_s < 60 || cfg->bucket_s > 86400 || 86400 % cfg->bucket_s != 0) {
        lg_error("counts: bucket_s must divide 86400 and be at least 60 (got %d)", cfg->bucket_s);
        return NULL;
    }
    if (cfg->delay_s < 0 || cfg->delay_s >= cfg->bucket_s) {
        lg_error("counts: the release delay must be in [0, bucket_s) (got %d)", cfg->delay_s);
        return NULL;
    }
    if (cfg->eps_num == 0 || cfg->eps_den == 0 || cfg->daily_eps_num == 0 ||
        cfg->daily_eps_den == 0 || cfg->eps_num > INT32_MAX || cfg->eps_den > INT32_MAX ||
        cfg->daily_eps_num > INT32_MAX || cfg->daily_eps_den > INT32_MAX) {
        lg_error("counts: epsilon parts must be in 1..%d", INT32_MAX);
        return NULL;
    }
    lg_release_t *r = lg_xcalloc(1, sizeof(*r));
    r->base = base;
    r->db = db;
    r->metrics = metrics;
    r->cfg = *cfg;
    r->dp = lg_dp_new(cfg->eps_num, cfg->eps_den, cfg->rand_bytes);
    if (!cfg->is_timer_off) {
        r->timer = evtimer_new(base, on_timer, r);
        schedule_next_bucket(r);
    }
    return r;
}

void lg_release_free(lg_release_t *r)
{
    if (r == NULL)
        return;
    if (r->run != NULL)
        r->run->r = NULL; /* its database callback frees it */
    if (r->timer != NULL)
        event_free(r->timer);
    lg_dp_free(r->dp);
    free(r);
}

int lg_release_run_bucket(lg_release_t *r, int64_t bucket_start_s, lg_release_done_cb cb, void *arg)
{
    if (bucket_start_s < 0 || bucket_start_s % r->cfg.bucket_s != 0)
        return LG_ERR;
    return start_run(r, bucket_start_s, false, cb, arg);
}

int lg_release_run_now(lg_release_t *r, lg_release_done_cb cb, void *arg)
{
    int64_t now_s = lg_now_us() / 1000000;
    return lg_release_run_bucket(r, now_s / r->cfg.bucket_s * r->cfg.bucket_s - r->cfg.bucket_s, cb,
                                 arg);
}

void lg_release_stats(const lg_release_t *r, lg_release_stats_t *out)
{
    *out = r->stats;
}

void lg_release_on_stored(lg_release_t *r, void (*cb)(void *arg), void *arg)
{
    r->on_stored = cb;
    r->on_stored_arg = arg;
}

bool lg_release_noise_failing(const lg_release_t *r)
{
    return r->is_noise_failing;
}
