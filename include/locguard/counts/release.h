/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic release of the privacy filter. At the end of every time
 * bucket (bucket_s seconds, aligned to the Unix epoch, so to UTC days when
 * bucket_s divides 86400) the daemon releases a noisy count per cell.
 *
 * By default (LG_RELEASE_CONTINUAL) the counts come from the continual
 * counter (continual.h) whose state lives in the database: the daemon
 * reads it (lg_counts_continual_state) and the devices seen elsewhere than
 * they are counted (lg_counts_continual_changes), bounds each device's
 * changes (lg_continual_admit), steps the counter over the buckets since
 * its last release, and stores state, devices and release at once
 * (lg_counts_continual_store). Horizons are aligned to the epoch: a device
 * pays the counter's epsilon at most once per horizon.
 *
 * With LG_RELEASE_PER_BUCKET it reads the exact per-cell counts of the
 * bucket from the database (lg_counts_exact_cells: every cell, zero counts
 * included), adds discrete Laplace noise of scale 1/eps to each (dp.h), and
 * stores the noisy histogram with one call to
 * lg_counts_store_release_outcome, which refuses a bucket already released
 * and a release that would overspend the daily epsilon, and names which.
 * The exact counts live only in this module's round trip; third-party
 * queries read the stored noisy releases (sql/counts.sql).
 * When the random source fails, nothing is stored for that bucket.
 */
#ifndef LOCGUARD_RELEASE_H
#define LOCGUARD_RELEASE_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/counts/continual.h"
#include "locguard/counts/dp.h"
#include "locguard/core/metrics.h"

#include <event2/event.h>

typedef struct lg_release lg_release_t;

/* How the per-cell counts are released. */
typedef enum lg_release_mechanism {
    /*
     * The default: the continual counter (continual.h). Each bucket's
     * per-cell counts are its outputs, and each device loses at most the
     * counter's epsilon over a horizon (365 days by default) in total.
     */
    LG_RELEASE_CONTINUAL = 0,
    /*
     * Fresh discrete Laplace noise of eps_num/eps_den per cell per bucket,
     * at most daily_eps per UTC day: a device loses up to daily_eps every
     * day, without a bound over time (README, "The privacy filter").
     */
    LG_RELEASE_PER_BUCKET,
} lg_release_mechanism_t;

/* The release's settings ("[counts]" in the config). */
typedef struct lg_release_config {
    lg_release_mechanism_t mechanism;
    /*
     * The continual counter's settings; a zero field takes its default
     * (lg_continual_config_default, and a horizon of 365 days of buckets).
     */
    lg_continual_config_t continual;
    int presence_s;   /* continual: a device is counted while its latest report is
                         this recent (0 = 7 days) */
    int bucket_s;     /* bucket length; divides 86400; default 3600 */
    int delay_s;      /* release this long after the bucket ends (late reports) */
    uint32_t eps_num; /* epsilon per release = eps_num / eps_den (default 1/2) */
    uint32_t eps_den;
    uint32_t daily_eps_num;         /* epsilon per UTC day = daily_eps_num / daily_eps_den */
    uint32_t daily_eps_den;         /*   (default 12/1) */
    bool is_timer_off;              /* no timer: releases only through lg_release_run_* */
    lg_dp_rand_bytes_cb rand_bytes; /* NULL = OpenSSL RAND_bytes; tests inject failures */
} lg_release_config_t;

/* What became of one run. */
typedef enum lg_release_outcome {
    LG_RELEASE_STORED = 1,   /* the noisy histogram is stored */
    LG_RELEASE_ALREADY_DONE, /* the bucket had been released (by us or another daemon) */
    LG_RELEASE_BUDGET_SPENT, /* per bucket: the day's epsilon is spent, nothing stored */
    LG_RELEASE_RAND_FAILED,  /* the random source failed: nothing stored */
    LG_RELEASE_DB_FAILED,    /* a round trip failed: nothing stored (or not known) */
} lg_release_outcome_t;

/* Completion of lg_release_run_*: called once from the event loop. */
typedef void (*lg_release_done_cb)(void *arg, lg_release_outcome_t outcome);

/* Counts of runs by outcome since lg_release_new (for logs, tests, metrics). */
typedef struct lg_release_stats {
    uint64_t stored;
    uint64_t already_done;
    uint64_t budget_spent;
    uint64_t rand_failed;
    uint64_t db_failed;
    uint64_t cells_last;         /* cells in the last stored release */
    int64_t bucket_start_last_s; /* bucket of the last stored release, 0 = none */
} lg_release_stats_t;

/*
 * Creates the release and, unless cfg->is_timer_off, arms a timer for the
 * next bucket boundary plus delay_s; each firing releases the bucket that
 * just ended (retried every 30 s while the database is unreachable, until
 * the next bucket ends). base, db and metrics must outlive it; cfg is
 * copied. Returns NULL (and logs why) when the settings are invalid:
 * bucket_s not in 60..86400 or not dividing 86400, a zero epsilon part, or
 * a part above INT32_MAX; with the continual counter, settings that
 * lg_continual_config_is_valid refuses (after the defaults are filled in)
 * or presence_s below 60.
 */
lg_release_t *lg_release_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                             const lg_release_config_t *cfg);

/*
 * Stops the timer and frees the release. A run in flight is abandoned (its
 * callback is not called; what the database does with a statement already
 * sent is up to the database). Accepts NULL.
 */
void lg_release_free(lg_release_t *r);

/*
 * Releases the bucket [bucket_start_s, bucket_start_s + bucket_s) now;
 * bucket_start_s must be a multiple of bucket_s. cb (may be NULL) gets the
 * outcome. Returns LG_ERR, without calling cb, when a run is already under
 * way, the bucket is misaligned, or the database is not reachable.
 */
LG_MUST_CHECK int lg_release_run_bucket(lg_release_t *r, int64_t bucket_start_s,
                                        lg_release_done_cb cb, void *arg);

/* lg_release_run_bucket for the last bucket that has ended. */
LG_MUST_CHECK int lg_release_run_now(lg_release_t *r, lg_release_done_cb cb, void *arg);

/*
 * True from a run that found the random source broken until a later run
 * stores a release: the exposure zone then answers 503 and no count, rather
 * than keep serving while the noise that protects the next release cannot
 * be drawn.
 */
bool lg_release_noise_failing(const lg_release_t *r);

/*
 * Calls cb(arg) each time a release is stored by this daemon (after the
 * outcome is counted, before the run's own callback): the in-memory count
 * evaluator reloads at once instead of at its next poll. One callback;
 * NULL removes it.
 */
void lg_release_on_stored(lg_release_t *r, void (*cb)(void *arg), void *arg);

/* Copies the counts of runs by outcome into *out. */
void lg_release_stats(const lg_release_t *r, lg_release_stats_t *out);

/* A constant name for an outcome ("stored", "budget_spent", ...). */
const char *lg_release_outcome_name(lg_release_outcome_t outcome);

#endif
