/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic T8 reports. Every interval (one second by default) the
 * daemon asks the database to queue the NUMBER_OF_UES_IN_AN_AREA reports
 * that are due (sql/area_reports.sql, lg_area_reports_due: counts from the
 * privacy filter's noisy releases, k-suppressed, as outbox rows), passing
 * the [counts] settings the reports obey, and kicks the notifier when rows
 * were queued. One round trip at a time: a tick that finds the previous one
 * still under way, or the database down, is skipped.
 */
#ifndef LOCGUARD_PERIODIC_H
#define LOCGUARD_PERIODIC_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/north/notifier.h"

#include <event2/event.h>

typedef struct lg_periodic lg_periodic_t;

/* The settings of the periodic reports. */
typedef struct lg_periodic_config {
    int interval_ms;     /* time between ticks; 0 = 1000 */
    int batch;           /* subscriptions reported per tick at most; 0 = 100 */
    int k;               /* [counts] k: counts below it are never reported (>= 1) */
    int64_t min_area_m2; /* [counts] min_area_m2: smallest subscribed area */
    int64_t max_area_m2; /* [counts] max_area_m2: largest subscribed area */
    bool is_timer_off;   /* no timer: ticks only through lg_periodic_run (tests) */
} lg_periodic_config_t;

/* Completion of lg_periodic_run: n_queued rows, or err (a constant string) on failure. */
typedef void (*lg_periodic_done_cb)(void *arg, int n_queued, const char *err);

/*
 * Creates the periodic reports and, unless cfg->is_timer_off, arms the
 * timer; the first tick comes at once, so the database learns the settings
 * early. base, db and metrics must outlive it; notifier may be NULL
 * (nothing to kick). cfg is copied. Returns NULL (and logs why) when k < 1
 * or the area bounds are not 0 <= min < max.
 */
lg_periodic_t *lg_periodic_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                               lg_notifier_t *notifier, const lg_periodic_config_t *cfg);

/*
 * Stops the timer and frees it. A round trip in flight is abandoned (its
 * callback is not called). Accepts NULL.
 */
void lg_periodic_free(lg_periodic_t *p);

/*
 * Runs one tick now; cb (may be NULL) is called once from the event loop
 * with the number of rows queued. Returns LG_ERR (cb not called) when a
 * tick is already under way or the database is down.
 */
LG_MUST_CHECK int lg_periodic_run(lg_periodic_t *p, lg_periodic_done_cb cb, void *arg);

#endif
