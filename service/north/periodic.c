/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The periodic T8 reports: a one-second timer that calls
 * lg_area_reports_due() (sql/area_reports.sql) with the [counts] settings,
 * which queues the due NUMBER_OF_UES_IN_AN_AREA reports as outbox rows in
 * one transaction, and kicks the notifier when it queued any. The database
 * decides what is due (and locks what it reports, so several daemons may
 * share it); this module only keeps the clock.
 */
#include "locguard/north/periodic.h"

#include "locguard/core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char due_sql[] =
    "SELECT lg_area_reports_due($1::int, $2::float8, $3::float8, $4::int)";

/* One round trip under way. Outlives its lg_periodic_t when that is freed first. */
typedef struct tick {
    lg_periodic_t *p; /* NULL once abandoned by lg_periodic_free */
    lg_periodic_done_cb cb;
    void *arg;
} tick_t;

struct lg_periodic {
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_notifier_t *notifier; /* NULL: nothing to kick */
    lg_periodic_config_t cfg;
    struct event *timer; /* every interval; NULL when is_timer_off */
    struct event *first; /* the first tick, at once; NULL when is_timer_off */
    tick_t *tick;        /* the round trip in flight, or NULL */
    bool has_failed;     /* the last tick failed: log the next failure at debug only */
};

static void on_due(void *arg, const PGresult *res, const char *err)
{
    tick_t *t = arg;
    lg_periodic_t *p = t->p;
    int n = 0;

    if (p == NULL) {
        free(t);
        return;
    }
    p->tick = NULL;
    if (err == NULL && (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        err = "unexpected result";
    if (err == NULL) {
        char *end;
        errno = 0;
        long v = strtol(PQgetvalue(res, 0, 0), &end, 10);
        if (errno != 0 || *end != '\0' || v < 0 || v > INT32_MAX)
            err = "unexpected result";
        else
            n = (int)v;
    }
    if (err != NULL) {
        /* Once per outage at warning level: the timer would repeat it every second. */
        if (!p->has_failed)
            lg_warn("periodic: queuing the due area reports failed: %s", err);
        else
            lg_debug("periodic: queuing the due area reports failed: %s", err);
        p->has_failed = true;
    } else {
        if (p->has_failed)
            lg_info("periodic: area reports are queued again");
        p->has_failed = false;
        if (n > 0) {
            lg_debug("periodic: %d area report(s) queued", n);
            if (p->notifier != NULL)
                lg_notifier_kick(p->notifier);
        }
    }
    lg_periodic_done_cb cb = t->cb;
    void *cb_arg = t->arg;
    free(t);
    if (cb != NULL)
        cb(cb_arg, n, err); /* last: it may free p */
}

int lg_periodic_run(lg_periodic_t *p, lg_periodic_done_cb cb, void *arg)
{
    char k[16], min[32], max[32], batch[16];

    if (p->tick != NULL || !lg_db_is_up(p->db))
        return LG_ERR;
    tick_t *t = lg_xcalloc(1, sizeof(*t));
    t->p = p;
    t->cb = cb;
    t->arg = arg;
    p->tick = t;
    snprintf(k, sizeof k, "%d", p->cfg.k);
    snprintf(min, sizeof min, "%" PRId64, p->cfg.min_area_m2);
    snprintf(max, sizeof max, "%" PRId64, p->cfg.max_area_m2);
    snprintf(batch, sizeof batch, "%d", p->cfg.batch);
    const char *values[4] = {k, min, max, batch};
    if (lg_db_query(p->db, due_sql, 4, values, on_due, t) != LG_OK) {
        p->tick = NULL;
        free(t);
        return LG_ERR;
    }
    return LG_OK;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lg_periodic_t *p = arg;
    (void)fd;
    (void)what;
    /* Busy or database down: the next tick tries again. */
    (void)!lg_periodic_run(p, NULL, NULL);
}

lg_periodic_t *lg_periodic_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                               lg_notifier_t *notifier, const lg_periodic_config_t *cfg)
{
    if (cfg->k < 1 || cfg->min_area_m2 < 0 || cfg->max_area_m2 <= cfg->min_area_m2 ||
        cfg->interval_ms < 0 || cfg->batch < 0) {
        lg_error("periodic: invalid settings: k must be >= 1 and 0 <= min_area_m2 < max_area_m2");
        return NULL;
    }
    lg_periodic_t *p = lg_xcalloc(1, sizeof(*p));
    p->db = db;
    p->metrics = metrics;
    p->notifier = notifier;
    p->cfg = *cfg;
    if (p->cfg.interval_ms == 0)
        p->cfg.interval_ms = 1000;
    if (p->cfg.batch == 0)
        p->cfg.batch = 100;
    if (!cfg->is_timer_off) {
        struct timeval tv = {.tv_sec = p->cfg.interval_ms / 1000,
                             .tv_usec = (suseconds_t)(p->cfg.interval_ms % 1000) * 1000};
        struct timeval now = {0, 0};
        p->timer = event_new(base, -1, EV_PERSIST, on_timer, p);
        p->first = evtimer_new(base, on_timer, p);
        if (p->timer == NULL || p->first == NULL) {
            lg_error("periodic: cannot create the timer");
            lg_periodic_free(p);
            return NULL;
        }
        evtimer_add(p->timer, &tv);
        /* The first tick at once: the database learns the settings before any subscription. */
        evtimer_add(p->first, &now);
    }
    return p;
}

void lg_periodic_free(lg_periodic_t *p)
{
    if (p == NULL)
        return;
    if (p->timer != NULL)
        event_free(p->timer);
    if (p->first != NULL)
        event_free(p->first);
    if (p->tick != NULL)
        p->tick->p = NULL; /* its completion frees it */
    free(p);
}
