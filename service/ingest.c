/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group commit: a FIFO of batches, and a flusher that turns as many of
 * them as fit in flush_max_reports into the array parameters of
 * lg_ingest() and sends them as one statement. One statement is one
 * transaction: when its result arrives, it has committed (synchronous_commit
 * is on for our sessions), and only then are the nodes answered. Flushes
 * start when a batch arrives and a connection is idle, or when a connection
 * becomes idle and batches wait: under load, batches gather while the
 * previous round trip runs, which is what makes the commit a group one.
 */
#include "locguard/ingest.h"

#include "locguard/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PARAMS 13

/*
 * A group commit the database rolled back for a deadlock or a serialization
 * failure wrote nothing (the replay window's claims included) and is sent
 * again, up to this many times, before its nodes get 503.
 */
#define MAX_ATTEMPTS 3

static const char ingest_sql[] =
    "SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, "
    "n_unchecked, n_alerts, n_coalesced FROM lg_ingest($1::text[], $2::bigint[], $3::int, "
    "$4::int, $5::int[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::float8[], "
    "$11::float8[], $12::float8[], $13::int)";

/* A batch waiting or in flight. */
typedef struct item {
    struct item *next;
    lg_batch_t batch;
    int64_t seq;
    int rollbacks; /* round trips of this batch rolled back so far */
    lg_ingest_cb cb;
    void *arg;
} item_t;

/* One round trip under way: its items, in the order of the arrays. */
typedef struct flight {
    lg_ingest_t *ing;
    item_t *items;
    size_t n_items;
    size_t n_reports;
    int64_t started_us;
} flight_t;

struct lg_ingest {
    lg_db_t *db;
    lg_metrics_t *metrics;
    const lg_config_t *cfg;
    item_t *head, *tail;
    size_t queued_items;
    size_t queued_reports;
    size_t inflight_items;
    size_t inflight_reports;
    int n_flights;
    void (*on_alerts)(void *arg);
    void *on_alerts_arg;
};

static void flush(lg_ingest_t *ing);

static void update_gauges(lg_ingest_t *ing)
{
    lg_metrics_set(ing->metrics, LG_G_QUEUE_REPORTS, (int64_t)ing->queued_reports);
    lg_metrics_set(ing->metrics, LG_G_INFLIGHT_REPORTS, (int64_t)ing->inflight_reports);
}

static void item_free(item_t *it)
{
    lg_batch_cleanup(&it->batch);
    free(it);
}

/* Answers and frees a list of items with one status. */
static void finish_all(item_t *list, lg_ingest_status_t status)
{
    while (list != NULL) {
        item_t *next = list->next;
        list->cb(list->arg, status);
        item_free(list);
        list = next;
    }
}

static lg_ingest_status_t status_from_word(const char *w, size_t len)
{
#define IS(word) (len == sizeof(word) - 1 && memcmp(w, word, len) == 0)
    if (IS("accepted"))
        return LG_INGEST_ACCEPTED;
    if (IS("duplicate"))
        return LG_INGEST_DUPLICATE;
    if (IS("stale"))
        return LG_INGEST_STALE;
    if (IS("unknown_node"))
        return LG_INGEST_UNKNOWN_NODE;
#undef IS
    return LG_INGEST_UNAVAILABLE;
}

static uint64_t field_u64(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? 0 : strtoull(PQgetvalue(res, 0, col), NULL, 10);
}

/* True for an error the same statement may not meet again: 40001, 40P01. */
static bool is_transient(const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
}

/*
 * Puts the items of a rolled-back round trip back at the head of the queue,
 * in their order; an item rolled back MAX_ATTEMPTS times gets 503 instead.
 */
static void requeue(lg_ingest_t *ing, item_t *items)
{
    item_t *keep = NULL, *last = NULL, *give_up = NULL;
    while (items != NULL) {
        item_t *it = items;
        items = it->next;
        it->next = NULL;
        if (++it->rollbacks >= MAX_ATTEMPTS) {
            it->next = give_up;
            give_up = it;
            continue;
        }
        if (last != NULL)
            last->next = it;
        else
            keep = it;
        last = it;
        ing->queued_items++;
        ing->queued_reports += it->batch.n_reports;
    }
    if (keep != NULL) {
        last->next = ing->head;
        if (ing->head == NULL)
            ing->tail = last;
        ing->head = keep;
    }
    update_gauges(ing);
    finish_all(give_up, LG_INGEST_UNAVAILABLE);
}

static void on_result(void *arg, const PGresult *res, const char *err)
{
    flight_t *f = arg;
    lg_ingest_t *ing = f->ing;
    lg_metrics_t *m = ing->metrics;
    double seconds = (double)(lg_mono_us() - f->started_us) / 1e6;

    ing->n_flights--;
    ing->inflight_items -= f->n_items;
    ing->inflight_reports -= f->n_reports;
    update_gauges(ing);
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, seconds);
    lg_metrics_observe(m, LG_H_BATCH_REPORTS, (double)f->n_reports);

    if (err != NULL && is_transient(res)) {
        lg_debug("ingest: round trip of %zu batches rolled back (%s), sending it again",
                 f->n_items, err);
        lg_metrics_add(m, LG_C_INGEST_RETRIES, 1);
        requeue(ing, f->items);
        free(f);
        flush(ing);
        return;
    }
    if (err != NULL || res == NULL || PQntuples(res) != 1) {
        lg_warn("ingest: round trip of %zu batches failed: %s", f->n_items,
                err ? err : "unexpected result");
        finish_all(f->items, LG_INGEST_UNAVAILABLE);
        free(f);
        flush(ing);
        return;
    }

    lg_metrics_add(m, LG_C_DECISION_INSIDE, field_u64(res, 1));
    lg_metrics_add(m, LG_C_DECISION_OUTSIDE, field_u64(res, 2));
    lg_metrics_add(m, LG_C_DECISION_AMBIGUOUS, field_u64(res, 3));
    lg_metrics_add(m, LG_C_DECISION_UNKNOWN_CELL, field_u64(res, 4));
    lg_metrics_add(m, LG_C_UNKNOWN_DEVICES, field_u64(res, 5));
    lg_metrics_add(m, LG_C_DECISION_UNCHECKED, field_u64(res, 6));
    uint64_t n_alerts = field_u64(res, 7);
    lg_metrics_add(m, LG_C_ALERTS, n_alerts);
    lg_metrics_add(m, LG_C_REPORTS_COALESCED, field_u64(res, 8));

    /* batch_status is a text[] of plain words: "{accepted,duplicate,...}". */
    const char *p = PQgetvalue(res, 0, 0);
    if (*p == '{')
        p++;
    item_t *it = f->items;
    while (it != NULL) {
        item_t *next = it->next;
        size_t len = strcspn(p, ",}");
        lg_ingest_status_t st = status_from_word(p, len);
        p += len;
        if (*p == ',')
            p++;
        it->cb(it->arg, st);
        item_free(it);
        it = next;
    }
    free(f);
    if (n_alerts > 0 && ing->on_alerts != NULL)
        ing->on_alerts(ing->on_alerts_arg);
    flush(ing);
}

/*
 * A PostgreSQL array literal being built, "{a,b,...}". Appended to directly
 * (a printf per element cost 0.84 us a report, about 6% of the daemon's CPU
 * under load); elements hold only characters safe unquoted, or inside
 * quotes for arr_quoted.
 */
typedef struct arr {
    char *p;
    size_t len, cap;
} arr_t;

static void arr_put(arr_t *a, const char *s, size_t n)
{
    if (a->len + n > a->cap) {
        a->cap = a->len + n > 2 * a->cap ? a->len + n : 2 * a->cap;
        a->p = lg_xrealloc(a->p, a->cap);
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
}

/* Opens the array or separates the next element. */
static void arr_next(arr_t *a)
{
    arr_put(a, a->len == 0 ? "{" : ",", 1);
}

static void arr_str(arr_t *a, const char *s)
{
    arr_next(a);
    arr_put(a, s, strlen(s));
}

static void arr_quoted(arr_t *a, const char *s)
{
    arr_next(a);
    arr_put(a, "\"", 1);
    arr_put(a, s, strlen(s));
    arr_put(a, "\"", 1);
}

static void arr_int(arr_t *a, int64_t v)
{
    char buf[24];
    size_t pos = sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        buf[--pos] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[--pos] = '-';
    arr_next(a);
    arr_put(a, buf + pos, sizeof buf - pos);
}

static void arr_float(arr_t *a, const char *fmt, double v)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, fmt, v);

    arr_next(a);
    arr_put(a, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
}

/* Closes the array ("{}" when empty) and returns it NUL-terminated. */
static const char *arr_end(arr_t *a)
{
    if (a->len == 0)
        arr_put(a, "{", 1);
    arr_put(a, "}", 2); /* closing brace and NUL */
    return a->p;
}

/* Sends one round trip with as many queued batches as fit. */
static void flush_one(lg_ingest_t *ing)
{
    flight_t *f = lg_xcalloc(1, sizeof(*f));
    f->ing = ing;
    f->started_us = lg_mono_us();

    /* Take whole batches, at least one, up to flush_max_reports reports. */
    item_t **tailp = &f->items;
    while (ing->head != NULL) {
        item_t *it = ing->head;
        if (f->n_items > 0 && f->n_reports + it->batch.n_reports > (size_t)ing->cfg->flush_max_reports)
            break;
        ing->head = it->next;
        if (ing->head == NULL)
            ing->tail = NULL;
        it->next = NULL;
        *tailp = it;
        tailp = &it->next;
        f->n_items++;
        f->n_reports += it->batch.n_reports;
    }
    ing->queued_items -= f->n_items;
    ing->queued_reports -= f->n_reports;
    ing->inflight_items += f->n_items;
    ing->inflight_reports += f->n_reports;
    ing->n_flights++;
    update_gauges(ing);

    arr_t b[N_PARAMS] = {{0}};
    size_t bi = 0;
    for (item_t *it = f->items; it != NULL; it = it->next, bi++) {
        arr_quoted(&b[0], it->batch.node);
        arr_int(&b[1], it->seq);
        for (size_t k = 0; k < it->batch.n_reports; k++) {
            const lg_report_t *r = &it->batch.reports[k];

            arr_int(&b[4], (int64_t)bi + 1);
            arr_str(&b[5], r->supi);
            arr_int(&b[6], r->ts_us);
            arr_str(&b[7], lg_rat_name(r->rat));
            arr_quoted(&b[8], r->cell_key);
            if (r->has_position) {
                arr_float(&b[9], "%.7f", r->lon_deg);
                arr_float(&b[10], "%.7f", r->lat_deg);
                arr_float(&b[11], "%.1f", r->uncertainty_m);
            } else {
                for (int j = 9; j <= 11; j++)
                    arr_str(&b[j], "NULL");
            }
        }
    }
    char window[16], hysteresis[16], refresh[16];
    snprintf(window, sizeof(window), "%d", ing->cfg->seq_window);
    snprintf(hysteresis, sizeof(hysteresis), "%d", ing->cfg->hysteresis);
    snprintf(refresh, sizeof(refresh), "%d", ing->cfg->refresh_ms);
    const char *values[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++)
        values[i] = i == 2    ? window
                    : i == 3  ? hysteresis
                    : i == 12 ? refresh
                              : arr_end(&b[i]);

    int rc = lg_db_query(ing->db, ingest_sql, N_PARAMS, values, on_result, f);
    for (int i = 0; i < N_PARAMS; i++)
        free(b[i].p);
    if (rc != LG_OK)
        on_result(f, NULL, "database unavailable");
}

/*
 * Starts round trips while connections are idle and batches wait. One
 * connection of the pool (when it has more than one) is left to everything
 * else: the notifier's lease, the admin and T8 calls would otherwise queue
 * behind ingest round trips under load, and a movement alert would wait for
 * its delivery as long as a full group commit takes.
 */
static void flush(lg_ingest_t *ing)
{
    int max_flights = lg_db_size(ing->db) > 1 ? lg_db_size(ing->db) - 1 : 1;
    while (ing->head != NULL && ing->n_flights < max_flights && lg_db_idle(ing->db) > 0)
        flush_one(ing);
}

static void on_db_idle(void *arg)
{
    flush(arg);
}

lg_ingest_t *lg_ingest_new(lg_db_t *db, lg_metrics_t *metrics, const lg_config_t *cfg)
{
    lg_ingest_t *ing = lg_xcalloc(1, sizeof(*ing));
    ing->db = db;
    ing->metrics = metrics;
    ing->cfg = cfg;
    lg_db_on_idle(db, on_db_idle, ing);
    return ing;
}

void lg_ingest_free(lg_ingest_t *ing)
{
    if (ing == NULL)
        return;
    item_t *list = ing->head;
    ing->head = ing->tail = NULL;
    finish_all(list, LG_INGEST_UNAVAILABLE);
    free(ing);
}

lg_ingest_status_t lg_ingest_submit(lg_ingest_t *ing, lg_batch_t *batch, int64_t seq,
                                    lg_ingest_cb cb, void *arg)
{
    if (!lg_db_is_up(ing->db)) {
        lg_batch_cleanup(batch);
        return LG_INGEST_UNAVAILABLE;
    }
    if (ing->queued_reports + batch->n_reports > (size_t)ing->cfg->queue_max_reports) {
        lg_batch_cleanup(batch);
        return LG_INGEST_QUEUE_FULL;
    }
    item_t *it = lg_xcalloc(1, sizeof(*it));
    it->batch = *batch;
    memset(batch, 0, sizeof(*batch));
    it->seq = seq;
    it->cb = cb;
    it->arg = arg;
    if (ing->tail != NULL)
        ing->tail->next = it;
    else
        ing->head = it;
    ing->tail = it;
    ing->queued_items++;
    ing->queued_reports += it->batch.n_reports;
    update_gauges(ing);
    flush(ing);
    return LG_INGEST_QUEUED;
}

void lg_ingest_on_alerts(lg_ingest_t *ing, void (*cb)(void *arg), void *arg)
{
    ing->on_alerts = cb;
    ing->on_alerts_arg = arg;
}

size_t lg_ingest_pending(const lg_ingest_t *ing)
{
    return ing->queued_items + ing->inflight_items;
}
