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

#include <openssl/crypto.h>

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
    /* continual: the horizon, and the state read by the first round trip */
    int64_t horizon_start_s; /* start of the horizon's bucket 1 */
    uint32_t t;              /* this bucket's number in the horizon (1..T) */
    uint32_t t_stored;       /* the last bucket the stored state has */
    char **cells;            /* n_cells keys, in C collation order (strcmp) */
    int64_t *open, *closed;  /* n_state = n_cells x L values each */
    size_t n_state;
    int64_t geo_version; /* the cell table's version the state was read at */
} run_t;

struct lg_release {
    struct event_base *base;
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_release_config_t cfg;      /* with the continual defaults filled in */
    uint32_t levels;              /* the continual counter's L */
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

/* Frees a run and what the continual path read into it (exact data: wiped). */
static void free_run(run_t *run)
{
    if (run->cells != NULL)
        for (size_t i = 0; i < run->n_cells; i++)
            free(run->cells[i]);
    free(run->cells);
    if (run->open != NULL) {
        OPENSSL_cleanse(run->open, run->n_state * sizeof(int64_t));
        free(run->open);
    }
    free(run->closed);
    free(run);
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
        if (r->cfg.mechanism == LG_RELEASE_CONTINUAL)
            lg_info("counts: released bucket %s (%d s, %zu cells, bucket %" PRIu32 " of the "
                    "horizon, epsilon %" PRIu32 "/%" PRIu32 " per device over it)",
                    when, r->cfg.bucket_s, run->n_cells, run->t, r->cfg.continual.eps_num,
                    r->cfg.continual.eps_den);
        else
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
    free_run(run);
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
        free_run(run);
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
        free_run(run);
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

/* ---- the continual release ---- */

/*
 * $1 horizon start (s), $2 bucket_s, $3 T, $4 k, $5 L, $6/$7 epsilon,
 * $8 moves per day, $9 moves per horizon.
 */
static const char state_sql[] =
    "SELECT t, cell_key, open, closed, geo_version "
    "FROM lg_counts_continual_state(to_timestamp($1::bigint), $2::int, $3::int, $4::int, $5::int, "
    "$6::int, $7::int, $8::int, $9::int)";

/*
 * $1 horizon start, $2 bucket end (s), $3 presence (s). Only the candidates
 * since the previous release are compared, unless that release did not
 * leave what they need (sql/counts.sql).
 */
static const char changes_sql[] =
    "SELECT ue_id, released, observed, day, moves_today, moves_released, units_spent "
    "FROM lg_counts_continual_changes(to_timestamp($1::bigint), to_timestamp($2::bigint), "
    "$3::int)";

static const char continual_store_sql[] =
    "SELECT lg_counts_continual_store(to_timestamp($1::bigint), $2::int, $3::int, "
    "to_timestamp($4::bigint), to_timestamp($5::bigint), $6::text[], $7::bigint[], $8::bigint[], "
    "$9::bigint[], $10::bigint[], $11::text[], $12::bigint[], $13::int[], $14::int[], "
    "$15::int[], $16::boolean[], $17::int, $18::bigint) AS outcome";

/* Index of key in the run's sorted cells, or LG_CONTINUAL_NONE. */
static int32_t cell_index(const run_t *run, const char *key)
{
    size_t lo = 0, hi = run->n_cells;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(run->cells[mid], key);
        if (c == 0)
            return (int32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return LG_CONTINUAL_NONE;
}

/* Parses a small non-negative int column. */
static bool parse_int(const char *s, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

static void on_continual_stored(void *arg, const PGresult *res, const char *err)
{
    run_t *run = arg;

    if (run->r == NULL) {
        free_run(run);
        return;
    }
    if (err != NULL || res == NULL || PQntuples(res) != 1 || PQnfields(res) != 1) {
        lg_error("counts: storing bucket %" PRId64 " failed: %s", run->bucket_start_s,
                 err ? err : "unexpected result");
        finish(run, LG_RELEASE_DB_FAILED);
        return;
    }
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "stored") == 0)
        finish(run, LG_RELEASE_STORED);
    else if (strcmp(outcome, "already_done") == 0)
        finish(run, LG_RELEASE_ALREADY_DONE);
    else {
        lg_error("counts: storing bucket %" PRId64 ": unexpected outcome", run->bucket_start_s);
        finish(run, LG_RELEASE_DB_FAILED);
    }
}

/* The devices' new states, as the store's arrays. */
typedef struct devices {
    lg_pgarray_t ues, cells, day, moves_today, moves_released, units, held;
} devices_t;

static void devices_init(devices_t *d)
{
    lg_pgarray_init(&d->ues);
    lg_pgarray_init(&d->cells);
    lg_pgarray_init(&d->day);
    lg_pgarray_init(&d->moves_today);
    lg_pgarray_init(&d->moves_released);
    lg_pgarray_init(&d->units);
    lg_pgarray_init(&d->held);
}

static void devices_cleanup(devices_t *d)
{
    lg_pgarray_cleanup(&d->ues);
    lg_pgarray_cleanup(&d->cells);
    lg_pgarray_cleanup(&d->day);
    lg_pgarray_cleanup(&d->moves_today);
    lg_pgarray_cleanup(&d->moves_released);
    lg_pgarray_cleanup(&d->units);
    lg_pgarray_cleanup(&d->held);
}

/*
 * One row of lg_counts_continual_changes through the bound: adds the
 * released change to delta and the device's new state to dev_out.
 */
static bool admit_row(const lg_release_t *r, const run_t *run, const PGresult *res, int i,
                      int64_t *delta, devices_t *dev_out)
{
    lg_continual_device_t dev;
    int64_t ue_id, v;
    int32_t from, to, observed = LG_CONTINUAL_NONE;

    lg_continual_device_init(&dev);
    if (PQgetisnull(res, i, 0) || !parse_count(PQgetvalue(res, i, 0), &ue_id))
        return false;
    if (!PQgetisnull(res, i, 1)) {
        dev.cell = cell_index(run, PQgetvalue(res, i, 1));
        if (dev.cell == LG_CONTINUAL_NONE)
            return false; /* counted in a cell the state does not hold */
    }
    if (!PQgetisnull(res, i, 2))
        observed = cell_index(run, PQgetvalue(res, i, 2));
    if (!PQgetisnull(res, i, 3)) {
        char *end;
        errno = 0;
        dev.day = strtoll(PQgetvalue(res, i, 3), &end, 10);
        if (errno != 0 || *end != '\0')
            return false;
        if (!parse_int(PQgetvalue(res, i, 4), INT32_MAX, &v))
            return false;
        dev.moves_today = (uint32_t)v;
        if (!parse_int(PQgetvalue(res, i, 5), INT32_MAX, &v))
            return false;
        dev.moves_released = (uint32_t)v;
        if (!parse_int(PQgetvalue(res, i, 6), INT32_MAX, &v))
            return false;
        dev.units_spent = (uint32_t)v;
    }
    lg_continual_change_t change = lg_continual_admit(&r->cfg.continual, &dev, observed,
                                                      run->bucket_start_s / 86400, &from, &to);
    if (from != LG_CONTINUAL_NONE)
        delta[from]--;
    if (to != LG_CONTINUAL_NONE)
        delta[to]++;
    lg_pgarray_add_int(&dev_out->ues, ue_id);
    lg_pgarray_add_str(&dev_out->cells,
                       dev.cell == LG_CONTINUAL_NONE ? NULL : run->cells[dev.cell]);
    lg_pgarray_add_int(&dev_out->day, dev.day);
    lg_pgarray_add_int(&dev_out->moves_today, dev.moves_today);
    lg_pgarray_add_int(&dev_out->moves_released, dev.moves_released);
    lg_pgarray_add_int(&dev_out->units, dev.units_spent);
    /* Held: still seen elsewhere, so looked at again next release. */
    lg_pgarray_add_str(&dev_out->held, change == LG_CONTINUAL_HELD ? "t" : "f");
    return true;
}

/*
 * Steps the restored counter from t_stored to t: the buckets no run
 * released (every daemon was down) with no change, their changes then come
 * in this one. released gets this bucket's counts.
 */
static lg_release_outcome_t step_counter(lg_release_t *r, run_t *run, const int64_t *delta,
                                         int64_t *released)
{
    lg_continual_t *c = lg_continual_new(&r->cfg.continual, run->n_cells, r->cfg.rand_bytes);
    lg_release_outcome_t outcome = 0;
    int64_t *zero = NULL;

    /*
     * A horizon never released (t_stored 0, all state zero) starts at t - 1:
     * its earlier buckets hold no change by construction (every change so far
     * is released in this one), so their nodes are the constant 0 and need
     * no noise; stepping them would cost a draw per cell and bucket for
     * nothing (860 million at 100,000 cells late in a year).
     */
    uint32_t from_t = run->t_stored == 0 ? run->t - 1 : run->t_stored;
    if (c == NULL || lg_continual_restore(c, from_t, run->open, run->closed) != LG_OK) {
        lg_error("counts: bucket %" PRId64 ": the stored counter state does not fit",
                 run->bucket_start_s);
        lg_continual_free(c);
        return LG_RELEASE_DB_FAILED;
    }
    zero = lg_xcalloc(run->n_cells, sizeof(*zero));
    while (lg_continual_steps(c) + 1 < run->t)
        if (lg_continual_step(c, zero, released) != LG_OK) {
            outcome = LG_RELEASE_RAND_FAILED;
            break;
        }
    if (outcome == 0 && lg_continual_step(c, delta, released) != LG_OK)
        outcome = LG_RELEASE_RAND_FAILED;
    if (outcome == 0) {
        memcpy(run->open, lg_continual_open(c), run->n_state * sizeof(int64_t));
        memcpy(run->closed, lg_continual_closed(c), run->n_state * sizeof(int64_t));
    }
    free(zero);
    lg_continual_free(c);
    return outcome;
}

static void on_changes(void *arg, const PGresult *res, const char *err)
{
    run_t *run = arg;
    lg_release_t *r = run->r;

    if (r == NULL) {
        free_run(run);
        return;
    }
    static const char *const columns[] = {"ue_id",       "released",       "observed",   "day",
                                          "moves_today", "moves_released", "units_spent"};
    int col[7];
    const char *missing = NULL;
    if (err != NULL || res == NULL || lg_db_columns(res, columns, 7, col, &missing) != LG_OK ||
        col[0] != 0 || col[6] != 6) {
        lg_error("counts: reading the changes of bucket %" PRId64 " failed: %s",
                 run->bucket_start_s, err ? err : "unexpected result");
        finish(run, LG_RELEASE_DB_FAILED);
        return;
    }
    int64_t *delta = lg_xcalloc(run->n_cells, sizeof(*delta));
    int64_t *released = lg_xcalloc(run->n_cells, sizeof(*released));
    devices_t devs;
    lg_release_outcome_t failure = 0;
    devices_init(&devs);
    for (int i = 0; i < PQntuples(res); i++)
        if (!admit_row(r, run, res, i, delta, &devs)) {
            lg_error("counts: bucket %" PRId64 ": unexpected row %d from "
                     "lg_counts_continual_changes",
                     run->bucket_start_s, i);
            failure = LG_RELEASE_DB_FAILED;
            break;
        }
    if (failure == 0)
        failure = step_counter(r, run, delta, released);
    OPENSSL_cleanse(delta, run->n_cells * sizeof(*delta));
    free(delta);
    if (failure != 0) {
        devices_cleanup(&devs);
        free(released);
        finish(run, failure);
        return;
    }

    lg_pgarray_t cells, open, closed, out;
    lg_pgarray_init(&cells);
    lg_pgarray_init(&open);
    lg_pgarray_init(&closed);
    lg_pgarray_init(&out);
    for (size_t i = 0; i < run->n_cells; i++) {
        lg_pgarray_add_str(&cells, run->cells[i]);
        lg_pgarray_add_int(&out, released[i]);
    }
    for (size_t i = 0; i < run->n_state; i++) {
        lg_pgarray_add_int(&open, run->open[i]);
        lg_pgarray_add_int(&closed, run->closed[i]);
    }
    free(released);

    char start[24], end[24], horizon[24], t_before[16], t_after[16], presence[16], geo[24];
    snprintf(horizon, sizeof(horizon), "%" PRId64, run->horizon_start_s);
    snprintf(presence, sizeof(presence), "%d", r->cfg.presence_s);
    snprintf(geo, sizeof(geo), "%" PRId64, run->geo_version);
    snprintf(t_before, sizeof(t_before), "%" PRIu32, run->t_stored);
    snprintf(t_after, sizeof(t_after), "%" PRIu32, run->t);
    snprintf(start, sizeof(start), "%" PRId64, run->bucket_start_s);
    snprintf(end, sizeof(end), "%" PRId64, run->bucket_start_s + r->cfg.bucket_s);
    const char *values[18] = {horizon,
                              t_before,
                              t_after,
                              start,
                              end,
                              lg_pgarray_end(&cells),
                              lg_pgarray_end(&open),
                              lg_pgarray_end(&closed),
                              lg_pgarray_end(&out),
                              lg_pgarray_end(&devs.ues),
                              lg_pgarray_end(&devs.cells),
                              lg_pgarray_end(&devs.day),
                              lg_pgarray_end(&devs.moves_today),
                              lg_pgarray_end(&devs.moves_released),
                              lg_pgarray_end(&devs.units),
                              lg_pgarray_end(&devs.held),
                              presence,
                              geo};
    int rc = lg_db_query(r->db, continual_store_sql, 18, values, on_continual_stored, run);
    /* The literal of open sums is exact data too. */
    OPENSSL_cleanse(open.buf, open.len);
    lg_pgarray_cleanup(&cells);
    lg_pgarray_cleanup(&open);
    lg_pgarray_cleanup(&closed);
    lg_pgarray_cleanup(&out);
    devices_cleanup(&devs);
    if (rc != LG_OK) {
        lg_error("counts: storing bucket %" PRId64 " failed: database unavailable",
                 run->bucket_start_s);
        finish(run, LG_RELEASE_DB_FAILED);
    }
}

/* Reads one cell's L values (NULL: zeros) into out. */
static bool parse_levels(const PGresult *res, int row, int col, uint32_t levels, int64_t *out)
{
    size_t n = 0;
    if (PQgetisnull(res, row, col)) {
        memset(out, 0, levels * sizeof(*out));
        return true;
    }
    return lg_pgarray_parse_int64(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col),
                                  out, levels, &n) == LG_OK &&
           n == levels;
}

static void on_state(void *arg, const PGresult *res, const char *err)
{
    run_t *run = arg;
    lg_release_t *r = run->r;

    if (r == NULL) {
        free_run(run);
        return;
    }
    static const char *const columns[] = {"t", "cell_key", "open", "closed", "geo_version"};
    int col[5];
    const char *missing = NULL;
    int n_rows = res != NULL ? PQntuples(res) : 0;
    int64_t t_stored;
    if (err != NULL || res == NULL || lg_db_columns(res, columns, 5, col, &missing) != LG_OK ||
        n_rows < 1 || !parse_int(PQgetvalue(res, 0, col[0]), INT32_MAX, &t_stored) ||
        !parse_int(PQgetvalue(res, 0, col[4]), INT64_MAX, &run->geo_version)) {
        lg_error("counts: reading the counter of bucket %" PRId64 " failed: %s",
                 run->bucket_start_s, err ? err : "unexpected result (no cells?)");
        finish(run, LG_RELEASE_DB_FAILED);
        return;
    }
    if ((uint32_t)t_stored >= run->t) {
        finish(run, LG_RELEASE_ALREADY_DONE); /* this bucket or a later one is released */
        return;
    }
    run->t_stored = (uint32_t)t_stored;
    run->n_cells = (size_t)n_rows;
    run->n_state = run->n_cells * r->levels;
    run->cells = lg_xcalloc(run->n_cells, sizeof(*run->cells));
    run->open = lg_xcalloc(run->n_state, sizeof(*run->open));
    run->closed = lg_xcalloc(run->n_state, sizeof(*run->closed));
    for (int i = 0; i < n_rows; i++) {
        run->cells[i] = lg_xstrdup(PQgetvalue(res, i, col[1]));
        if (PQgetisnull(res, i, col[1]) ||
            (i > 0 && strcmp(run->cells[i - 1], run->cells[i]) >= 0) ||
            !parse_levels(res, i, col[2], r->levels, run->open + (size_t)i * r->levels) ||
            !parse_levels(res, i, col[3], r->levels, run->closed + (size_t)i * r->levels)) {
            lg_error("counts: bucket %" PRId64 ": unexpected row %d from lg_counts_continual_state",
                     run->bucket_start_s, i);
            finish(run, LG_RELEASE_DB_FAILED);
            return;
        }
    }

    char horizon[24], end[24], presence[16];
    snprintf(horizon, sizeof(horizon), "%" PRId64, run->horizon_start_s);
    snprintf(end, sizeof(end), "%" PRId64, run->bucket_start_s + r->cfg.bucket_s);
    snprintf(presence, sizeof(presence), "%d", r->cfg.presence_s);
    const char *values[3] = {horizon, end, presence};
    if (lg_db_query(r->db, changes_sql, 3, values, on_changes, run) != LG_OK) {
        lg_error("counts: reading the changes of bucket %" PRId64 " failed: database unavailable",
                 run->bucket_start_s);
        finish(run, LG_RELEASE_DB_FAILED);
    }
}

/* The continual run's first round trip: the horizon's state. */
static int start_continual(lg_release_t *r, run_t *run)
{
    const lg_continual_config_t *cc = &r->cfg.continual;
    const int64_t span_s = (int64_t)cc->horizon_steps * r->cfg.bucket_s;
    char v[9][24];

    run->horizon_start_s = run->bucket_start_s / span_s * span_s;
    run->t = (uint32_t)((run->bucket_start_s - run->horizon_start_s) / r->cfg.bucket_s + 1);
    snprintf(v[0], sizeof(v[0]), "%" PRId64, run->horizon_start_s);
    snprintf(v[1], sizeof(v[1]), "%d", r->cfg.bucket_s);
    snprintf(v[2], sizeof(v[2]), "%" PRIu32, cc->horizon_steps);
    snprintf(v[3], sizeof(v[3]), "%" PRIu32, cc->branching);
    snprintf(v[4], sizeof(v[4]), "%" PRIu32, r->levels);
    snprintf(v[5], sizeof(v[5]), "%" PRIu32, cc->eps_num);
    snprintf(v[6], sizeof(v[6]), "%" PRIu32, cc->eps_den);
    snprintf(v[7], sizeof(v[7]), "%" PRIu32, cc->moves_per_day);
    snprintf(v[8], sizeof(v[8]), "%" PRIu32, cc->moves_lifetime);
    const char *values[9] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
    return lg_db_query(r->db, state_sql, 9, values, on_state, run);
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
    int rc = r->cfg.mechanism == LG_RELEASE_CONTINUAL
                 ? start_continual(r, run)
                 : lg_db_query(r->db, cells_sql, 2, values, on_cells, run);
    if (rc != LG_OK) {
        r->run = NULL;
        free_run(run);
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

/* A zero continual setting takes its default; the horizon is 365 days of buckets. */
static void fill_continual_defaults(lg_release_config_t *cfg)
{
    lg_continual_config_t d = lg_continual_config_default();
    lg_continual_config_t *c = &cfg->continual;
    if (c->horizon_steps == 0)
        c->horizon_steps = (uint32_t)(365 * 86400 / cfg->bucket_s);
    if (c->branching == 0)
        c->branching = d.branching;
    if (c->eps_num == 0 || c->eps_den == 0) {
        c->eps_num = d.eps_num;
        c->eps_den = d.eps_den;
    }
    if (c->moves_per_day == 0)
        c->moves_per_day = d.moves_per_day;
    /* moves_lifetime 0 is a setting (the default). */
    if (cfg->presence_s == 0)
        cfg->presence_s = 7 * 86400;
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
    lg_release_config_t full = *cfg;
    if (full.mechanism != LG_RELEASE_CONTINUAL && full.mechanism != LG_RELEASE_PER_BUCKET) {
        lg_error("counts: unknown release mechanism %d", (int)full.mechanism);
        return NULL;
    }
    fill_continual_defaults(&full);
    if (full.mechanism == LG_RELEASE_CONTINUAL &&
        (!lg_continual_config_is_valid(&full.continual) || full.presence_s < 60)) {
        lg_error("counts: invalid continual counter settings (epsilon, branching 2..64, "
                 "horizon, moves, presence of at least 60 s)");
        return NULL;
    }
    lg_release_t *r = lg_xcalloc(1, sizeof(*r));
    r->base = base;
    r->db = db;
    r->metrics = metrics;
    r->cfg = full;
    r->levels = lg_continual_levels(&full.continual);
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
