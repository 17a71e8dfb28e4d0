/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group commit: a FIFO of batches, and a flusher that turns as many of
 * them as fit in flush_max_reports into the array parameters of
 * lg_ingest() and sends them as one statement. One statement is one
 * transaction: when its result arrives, it has committed (synchronous_commit
 * is on for our sessions), and only then are the nodes answered. Flushes
 * start when a batch arrives and a connection is idle, or when a connection
 * becomes idle and batches wait: under load, batches gather while the
 * previous round trip runs, which is what makes the commit a group one. A
 * round trip starts beside another under way only when parallel_min_reports
 * wait: a trickle of one-report batches waits for the next one rather than
 * paying a call's fixed cost for a few reports.
 *
 * Every round trip is a trip of the daemon's cache of coalescable rows
 * (ingest_cache.h), which says which reports to send: one that would be
 * coalesced into its device's row is counted, not sent (lg_ingest's
 * p_cached, per batch), and its decision is counted from the cache once the
 * batch is accepted. The cache learns from each answer, or from the
 * failure. The parameters and the answer are built and read by plain
 * functions (lg_ingest_call_*, lg_ingest_answer_parse), the arrays by
 * pgarray.h.
 */
#include "locguard/south/ingest.h"

#include "locguard/core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A group commit the database rolled back for a deadlock or a serialization
 * failure wrote nothing (the replay window's claims included) and is sent
 * again, up to this many times, before its nodes get 503.
 */
#define MAX_ATTEMPTS 3

/* The result columns, in the order of the names below. */
enum column {
    COL_BATCH_STATUS,
    COL_N_INSIDE,
    COL_N_OUTSIDE,
    COL_N_AMBIGUOUS,
    COL_N_UNKNOWN_CELL,
    COL_N_UNKNOWN_DEVICE,
    COL_N_UNCHECKED,
    COL_N_ALERTS,
    COL_N_COALESCED,
    COL_CACHE_GEN,
    COL_CACHE_ORDS,
    COL_CACHE_TS,
    COL_CACHE_DEC,
    N_COLUMNS
};

static const char *const column_names[N_COLUMNS] = {
    [COL_BATCH_STATUS] = "batch_status",     [COL_N_INSIDE] = "n_inside",
    [COL_N_OUTSIDE] = "n_outside",           [COL_N_AMBIGUOUS] = "n_ambiguous",
    [COL_N_UNKNOWN_CELL] = "n_unknown_cell", [COL_N_UNKNOWN_DEVICE] = "n_unknown_device",
    [COL_N_UNCHECKED] = "n_unchecked",       [COL_N_ALERTS] = "n_alerts",
    [COL_N_COALESCED] = "n_coalesced",       [COL_CACHE_GEN] = "cache_gen",
    [COL_CACHE_ORDS] = "cache_ords",         [COL_CACHE_TS] = "cache_ts",
    [COL_CACHE_DEC] = "cache_dec",
};

static const char ingest_sql[] =
    "SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, "
    "n_unchecked, n_alerts, n_coalesced, cache_gen, cache_ords, cache_ts, cache_dec "
    "FROM lg_ingest($1::text[], $2::bigint[], $3::int, $4::int, $5::int[], $6::text[], "
    "$7::bigint[], $8::text[], $9::text[], $10::float8[], $11::float8[], $12::float8[], "
    "$13::int, $14::text, $15::bigint, $16::int[], $17::text[], $18::int)";

/* The parameters, by their number less one. */
enum param {
    P_NODES,
    P_SEQS,
    P_SEQ_WINDOW,
    P_HYSTERESIS,
    P_BATCH,
    P_SUPI,
    P_TS_US,
    P_RAT,
    P_CELL,
    P_LON,
    P_LAT,
    P_UNC_M,
    P_REFRESH_MS,
    P_CACHE_TOKEN,
    P_CACHE_GEN,
    P_CACHED,
    P_MSG_KEYS,
    P_MSG_WINDOW,
};
_Static_assert(P_MSG_WINDOW + 1 == LG_INGEST_N_PARAMS, "one name per parameter");

static const char *const status_names[LG_INGEST_N_STATUSES] = {
    [LG_INGEST_QUEUED] = "queued",
    [LG_INGEST_ACCEPTED] = "accepted",
    [LG_INGEST_DUPLICATE] = "duplicate",
    [LG_INGEST_STALE] = "stale",
    [LG_INGEST_UNKNOWN_NODE] = "unknown_node",
    [LG_INGEST_UNAVAILABLE] = "unavailable",
    [LG_INGEST_QUEUE_FULL] = "queue_full",
};

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
    size_t n_sent; /* reports in the arrays (the rest coalesced by the cache) */
    int64_t started_us;
    lg_icache_trip_t *trip; /* its part in the cache protocol; NULL without a cache */
    uint64_t *keys;         /* the devices of the reports sent (lg_icache_key), n_sent */
    struct flight *next;    /* the round trips under way (a few: pool_size - 1 at most) */
} flight_t;

struct lg_ingest {
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_ingest_config_t cfg;
    item_t *head, *tail;
    size_t queued_items;
    size_t queued_reports;
    size_t inflight_items;
    size_t inflight_reports;
    int n_flights;
    flight_t *flights;     /* the round trips under way */
    lg_ingest_busy_t busy; /* their devices */
    void (*on_alerts)(void *arg);
    void *on_alerts_arg;
    lg_icache_sync_t *cache; /* the daemon's cache of coalescable rows (maybe OFF) */
};

static void flush(lg_ingest_t *ing);

/* ---- plain decisions ------------------------------------------------------------------------ */

void lg_ingest_count_committed(lg_metrics_t *m, lg_ingest_status_t status, size_t n_reports)
{
    bool accepted = status == LG_INGEST_ACCEPTED;
    lg_metrics_add(m, LG_C_REPORTS_ACCEPTED, accepted ? n_reports : 0);
    lg_metrics_add(m, accepted ? LG_C_BATCHES_ACCEPTED : LG_C_BATCHES_DUPLICATE, 1);
}

const char *lg_ingest_status_name(lg_ingest_status_t status)
{
    return (size_t)status < LG_INGEST_N_STATUSES ? status_names[status] : "?";
}

lg_ingest_status_t lg_ingest_status_from_word(const char *word)
{
    static const lg_ingest_status_t answered[] = {LG_INGEST_ACCEPTED, LG_INGEST_DUPLICATE,
                                                  LG_INGEST_STALE, LG_INGEST_UNKNOWN_NODE};
    for (size_t i = 0; word != NULL && i < sizeof answered / sizeof answered[0]; i++)
        if (strcmp(word, status_names[answered[i]]) == 0)
            return answered[i];
    return LG_INGEST_UNAVAILABLE;
}

bool lg_ingest_admits(const lg_ingest_config_t *cfg, size_t queued_reports, size_t n_reports)
{
    return cfg->queue_max_reports >= 0 &&
           queued_reports + n_reports <= (size_t)cfg->queue_max_reports;
}

bool lg_ingest_fits(const lg_ingest_config_t *cfg, size_t n_batches, size_t n_reports,
                    size_t next_reports)
{
    return n_batches == 0 || (cfg->flush_max_reports >= 0 &&
                              n_reports + next_reports <= (size_t)cfg->flush_max_reports);
}

bool lg_ingest_may_start(const lg_ingest_config_t *cfg, int n_flights, size_t queued_reports)
{
    return n_flights == 0 ||
           (cfg->parallel_min_reports >= 0 && queued_reports >= (size_t)cfg->parallel_min_reports);
}

/* ---- the call's parameters --------------------------------------------------------------------
 */

const char *lg_ingest_sql(void)
{
    return ingest_sql;
}

void lg_ingest_call_init(lg_ingest_call_t *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < LG_INGEST_N_PARAMS; i++)
        lg_pgarray_init(&c->arrays[i]);
}

void lg_ingest_call_add(lg_ingest_call_t *c, const lg_batch_t *b, int64_t seq, lg_icache_trip_t *t)
{
    lg_pgarray_t *a = c->arrays;
    size_t bi = c->n_batches++;

    lg_pgarray_add_str(&a[P_NODES], b->node);
    if (b->msg_key[0] != '\0') {
        lg_pgarray_add_null(&a[P_SEQS]);
        lg_pgarray_add_str(&a[P_MSG_KEYS], b->msg_key);
        c->has_msg_keys = true;
    } else {
        if (seq > 0)
            lg_pgarray_add_int(&a[P_SEQS], seq);
        else
            lg_pgarray_add_null(&a[P_SEQS]); /* neither: a notification as an AMF sends it */
        lg_pgarray_add_null(&a[P_MSG_KEYS]);
    }
    for (size_t k = 0; k < b->n_reports; k++) {
        const lg_report_t *r = &b->reports[k];
        if (!lg_icache_trip_send(t, bi, r))
            continue;
        if (c->n_sent == c->cap_keys) {
            c->cap_keys = c->cap_keys ? 2 * c->cap_keys : 64;
            c->keys = lg_xrealloc(c->keys, c->cap_keys * sizeof(*c->keys));
        }
        c->keys[c->n_sent++] = lg_icache_key(r->supi);
        lg_pgarray_add_int(&a[P_BATCH], (int64_t)bi + 1);
        lg_pgarray_add_str(&a[P_SUPI], r->supi);
        lg_pgarray_add_int(&a[P_TS_US], r->ts_us);
        lg_pgarray_add_str(&a[P_RAT], lg_rat_name(r->rat));
        lg_pgarray_add_str(&a[P_CELL], r->cell_key);
        if (r->has_position) {
            lg_pgarray_add_float(&a[P_LON], r->lon_deg, 7);
            lg_pgarray_add_float(&a[P_LAT], r->lat_deg, 7);
            lg_pgarray_add_float(&a[P_UNC_M], r->uncertainty_m, 1);
        } else {
            lg_pgarray_add_null(&a[P_LON]);
            lg_pgarray_add_null(&a[P_LAT]);
            lg_pgarray_add_null(&a[P_UNC_M]);
        }
    }
}

const char *const *lg_ingest_call_end(lg_ingest_call_t *c, const lg_ingest_config_t *cfg,
                                      const lg_icache_trip_t *t)
{
    int64_t gen;

    snprintf(c->window, sizeof(c->window), "%d", cfg->seq_window);
    snprintf(c->hysteresis, sizeof(c->hysteresis), "%d", cfg->hysteresis);
    snprintf(c->refresh, sizeof(c->refresh), "%d", cfg->refresh_ms);
    snprintf(c->msg_window, sizeof(c->msg_window), "%d", cfg->msg_window_s);
    for (int i = 0; i < LG_INGEST_N_PARAMS; i++)
        c->values[i] = lg_pgarray_end(&c->arrays[i]);
    /* Without keyed batches the keys are all NULL: sent as a NULL array. */
    if (!c->has_msg_keys)
        c->values[P_MSG_KEYS] = NULL;
    c->values[P_MSG_WINDOW] = c->msg_window;
    c->values[P_SEQ_WINDOW] = c->window;
    c->values[P_HYSTERESIS] = c->hysteresis;
    c->values[P_REFRESH_MS] = c->refresh;
    c->values[P_CACHE_TOKEN] = lg_icache_trip_token(t);
    c->values[P_CACHE_GEN] = NULL;
    if (lg_icache_trip_gen(t, &gen)) {
        snprintf(c->gen, sizeof(c->gen), "%lld", (long long)gen);
        c->values[P_CACHE_GEN] = c->gen;
    }
    c->values[P_CACHED] = NULL;
    if (t != NULL) {
        lg_pgarray_t *cached = &c->arrays[P_CACHED];
        lg_pgarray_cleanup(cached);
        for (size_t bi = 0; bi < c->n_batches; bi++)
            lg_pgarray_add_int(cached, lg_icache_trip_n_cached(t, bi));
        c->values[P_CACHED] = lg_pgarray_end(cached);
    }
    return c->values;
}

void lg_ingest_call_cleanup(lg_ingest_call_t *c)
{
    for (int i = 0; i < LG_INGEST_N_PARAMS; i++)
        lg_pgarray_cleanup(&c->arrays[i]);
    memset(c->values, 0, sizeof(c->values));
    free(c->keys);
    c->keys = NULL;
    c->cap_keys = 0;
}

/* ---- the call's answer ---------------------------------------------------------------------- */

/* A counter column: NULL is 0; anything but a plain non-negative decimal is refused. */
static int read_count(const PGresult *res, int col, uint64_t *out)
{
    *out = 0;
    if (PQgetisnull(res, 0, col))
        return LG_OK;
    const char *v = PQgetvalue(res, 0, col);
    char *end;
    if (*v < '0' || *v > '9')
        return LG_ERR;
    *out = strtoull(v, &end, 10);
    return *end == '\0' ? LG_OK : LG_ERR;
}

int lg_ingest_answer_parse(const PGresult *res, size_t n_batches, size_t n_sent,
                           lg_ingest_answer_t *out, const char **err)
{
    int cols[N_COLUMNS];
    const char *missing;

    memset(out, 0, sizeof(*out));
    *err = NULL;
    if (res == NULL || PQntuples(res) != 1) {
        *err = "not one row";
        return LG_ERR;
    }
    if (lg_db_columns(res, column_names, N_COLUMNS, cols, &missing) != LG_OK) {
        *err = "a result column is missing";
        return LG_ERR;
    }

    uint64_t *counts[] = {&out->n_inside,       &out->n_outside,        &out->n_ambiguous,
                          &out->n_unknown_cell, &out->n_unknown_device, &out->n_unchecked,
                          &out->n_alerts,       &out->n_coalesced};
    for (int i = 0; i < (int)(sizeof counts / sizeof counts[0]); i++)
        if (read_count(res, cols[COL_N_INSIDE + i], counts[i]) != LG_OK) {
            *err = "a counter is not a number";
            return LG_ERR;
        }

    /* batch_status: one word per batch, in order. */
    out->status = lg_xcalloc(n_batches ? n_batches : 1, sizeof(*out->status));
    lg_pgarray_reader_t rd;
    const char *text = PQgetvalue(res, 0, cols[COL_BATCH_STATUS]);
    if (PQgetisnull(res, 0, cols[COL_BATCH_STATUS]) ||
        lg_pgarray_open(&rd, text, strlen(text)) != LG_OK) {
        *err = "batch_status is not an array";
        return LG_ERR;
    }
    for (;;) {
        char word[32];
        size_t len;
        bool is_null;
        lg_pgarray_item_t item = lg_pgarray_next(&rd, word, sizeof word, &len, &is_null);
        if (item == LG_PGARRAY_END)
            break;
        if (item != LG_PGARRAY_ELEM || out->n_batches >= n_batches) {
            *err = "batch_status is malformed or too long";
            return LG_ERR;
        }
        out->status[out->n_batches++] =
            is_null ? LG_INGEST_UNAVAILABLE : lg_ingest_status_from_word(word);
    }
    if (out->n_batches != n_batches) {
        *err = "batch_status is too short";
        return LG_ERR;
    }

    /* The cache's columns: NULL arrays for a caller that is not the owner. */
    lg_icache_answer_t *c = &out->cache;
    c->has_gen = !PQgetisnull(res, 0, cols[COL_CACHE_GEN]);
    if (c->has_gen) {
        char *end;
        const char *v = PQgetvalue(res, 0, cols[COL_CACHE_GEN]);
        c->gen = strtoll(v, &end, 10);
        if (end == v || *end != '\0') {
            *err = "cache_gen is not a number";
            return LG_ERR;
        }
    }
    out->ords = lg_xcalloc(n_sent ? n_sent : 1, sizeof(*out->ords));
    out->ts_us = lg_xcalloc(n_sent ? n_sent : 1, sizeof(*out->ts_us));
    c->ords = out->ords;
    c->ts_us = out->ts_us;
    c->dec = "";
    if (!c->has_gen)
        return LG_OK;
    size_t n_ords = 0, n_ts = 0;
    const char *ords = PQgetvalue(res, 0, cols[COL_CACHE_ORDS]);
    const char *tss = PQgetvalue(res, 0, cols[COL_CACHE_TS]);
    const char *dec = PQgetvalue(res, 0, cols[COL_CACHE_DEC]);
    if ((!PQgetisnull(res, 0, cols[COL_CACHE_ORDS]) &&
         lg_pgarray_parse_int64(ords, strlen(ords), out->ords, n_sent, &n_ords) != LG_OK) ||
        (!PQgetisnull(res, 0, cols[COL_CACHE_TS]) &&
         lg_pgarray_parse_int64(tss, strlen(tss), out->ts_us, n_sent, &n_ts) != LG_OK) ||
        n_ords != n_ts || strlen(dec) != n_ords) {
        *err = "cache_ords, cache_ts and cache_dec do not agree";
        return LG_ERR;
    }
    c->n = n_ords;
    c->dec = dec;
    return LG_OK;
}

void lg_ingest_answer_cleanup(lg_ingest_answer_t *a)
{
    free(a->status);
    free(a->ords);
    free(a->ts_us);
    memset(a, 0, sizeof(*a));
}

/* ---- the queue and the round trips ------------------------------------------------------------
 */

static void update_gauges(lg_ingest_t *ing)
{
    lg_metrics_set(ing->metrics, LG_G_QUEUE_REPORTS, (int64_t)ing->queued_reports);
    lg_metrics_set(ing->metrics, LG_G_INFLIGHT_REPORTS, (int64_t)ing->inflight_reports);
    lg_metrics_set(ing->metrics, LG_G_INGEST_CACHE_DEVICES,
                   (int64_t)lg_icache_sync_size(ing->cache));
}

static void flight_free(flight_t *f)
{
    lg_icache_trip_free(f->trip);
    free(f->keys);
    free(f);
}

/* ---- The devices of the round trips under way ----------------------------------------------- */

static size_t busy_slot(uint64_t key, size_t mask)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

void lg_ingest_busy_reset(lg_ingest_busy_t *b, size_t n_keys)
{
    size_t slots = 64;
    while (slots < 2 * n_keys)
        slots *= 2;
    if (b->slots == NULL || slots != b->mask + 1) {
        free(b->slots);
        b->slots = lg_xmalloc(slots * sizeof(*b->slots));
        b->mask = slots - 1;
    }
    memset(b->slots, 0, slots * sizeof(*b->slots));
}

void lg_ingest_busy_add(lg_ingest_busy_t *b, const uint64_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i] == 0)
            continue;
        size_t j = busy_slot(keys[i], b->mask);
        while (b->slots[j] != 0 && b->slots[j] != keys[i])
            j = (j + 1) & b->mask;
        b->slots[j] = keys[i];
    }
}

size_t lg_ingest_busy_shared(const lg_ingest_busy_t *b, const lg_batch_t *batch, size_t limit)
{
    size_t n = 0;
    if (b->slots == NULL)
        return 0;
    for (size_t k = 0; k < batch->n_reports && n <= limit; k++) {
        uint64_t key = lg_icache_key(batch->reports[k].supi);
        for (size_t j = busy_slot(key, b->mask); key != 0 && b->slots[j] != 0;
             j = (j + 1) & b->mask)
            if (b->slots[j] == key) {
                n++;
                break;
            }
    }
    return n;
}

size_t lg_ingest_share_limit(size_t n_reports)
{
    return n_reports / LG_INGEST_SHARE_DIVISOR;
}

void lg_ingest_busy_cleanup(lg_ingest_busy_t *b)
{
    free(b->slots);
    b->slots = NULL;
    b->mask = 0;
}

/* Remakes the set from the round trips under way (when one starts or ends: O(their reports)). */
static void busy_rebuild(lg_ingest_t *ing)
{
    size_t n = 0;
    for (const flight_t *f = ing->flights; f != NULL; f = f->next)
        n += f->n_sent;
    lg_ingest_busy_reset(&ing->busy, n);
    for (const flight_t *f = ing->flights; f != NULL; f = f->next)
        lg_ingest_busy_add(&ing->busy, f->keys, f->n_sent);
}

static void flight_start(lg_ingest_t *ing, flight_t *f)
{
    f->next = ing->flights;
    ing->flights = f;
    busy_rebuild(ing);
}

static void flight_end(lg_ingest_t *ing, flight_t *f)
{
    flight_t **p = &ing->flights;
    while (*p != NULL && *p != f)
        p = &(*p)->next;
    if (*p != NULL)
        *p = f->next;
    f->next = NULL;
    busy_rebuild(ing);
}

/* Counts what the cache did to the table, as the protocol reported it. */
static void count_outcome(lg_ingest_t *ing, lg_icache_outcome_t outcome)
{
    if (outcome == LG_ICACHE_EMPTIED)
        lg_metrics_add(ing->metrics, LG_C_INGEST_CACHE_RESETS, 1);
}

/* Counts what the cache coalesced for an accepted batch. */
static void count_cached(lg_metrics_t *m, const lg_icache_trip_t *t, size_t batch)
{
    static const lg_counter_t by_decision[LG_ICACHE_N_DECISIONS] = {
        [LG_ICACHE_INSIDE] = LG_C_DECISION_INSIDE,
        [LG_ICACHE_AMBIGUOUS] = LG_C_DECISION_AMBIGUOUS,
        [LG_ICACHE_UNCHECKED] = LG_C_DECISION_UNCHECKED,
        [LG_ICACHE_UNKNOWN_CELL] = LG_C_DECISION_UNKNOWN_CELL};
    uint32_t cached[LG_ICACHE_N_DECISIONS];
    uint64_t n = 0;
    lg_icache_trip_cached(t, batch, cached);
    for (int d = 0; d < LG_ICACHE_N_DECISIONS; d++) {
        lg_metrics_add(m, by_decision[d], cached[d]);
        n += cached[d];
    }
    lg_metrics_add(m, LG_C_REPORTS_COALESCED, n);
    lg_metrics_add(m, LG_C_REPORTS_CACHED, n);
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

static bool has_sqlstate(const PGresult *res, const char *code)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && strcmp(state, code) == 0;
}

/* True for an error the same statement may not meet again: 40001, 40P01. */
static bool is_transient(const PGresult *res)
{
    return has_sqlstate(res, "40P01") || has_sqlstate(res, "40001");
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

/* A round trip that wrote nothing: back to the queue (retry) or 503 to its nodes. */
static void on_failed(lg_ingest_t *ing, flight_t *f, lg_icache_failure_t why, const char *err)
{
    count_outcome(ing, lg_icache_trip_failed(f->trip, why));
    if (why == LG_ICACHE_FAIL_STALE) {
        /* Reports coalesced from the cache were judged at an older generation:
         * nothing was written; the cache is emptied, the batches go whole. */
        lg_debug("ingest: the cache was stale (%s), emptied; sending the round trip again", err);
        requeue(ing, f->items);
    } else if (why == LG_ICACHE_FAIL_ROLLED_BACK) {
        lg_debug("ingest: round trip of %zu batches rolled back (%s), sending it again", f->n_items,
                 err);
        lg_metrics_add(ing->metrics, LG_C_INGEST_RETRIES, 1);
        requeue(ing, f->items);
    } else {
        lg_warn("ingest: round trip of %zu batches failed: %s", f->n_items, err);
        finish_all(f->items, LG_INGEST_UNAVAILABLE);
    }
    f->items = NULL;
}

static void on_result(void *arg, const PGresult *res, const char *err)
{
    flight_t *f = arg;
    lg_ingest_t *ing = f->ing;
    lg_metrics_t *m = ing->metrics;
    double seconds = (double)(lg_mono_us() - f->started_us) / 1e6;
    lg_ingest_answer_t ans;
    const char *why = NULL;

    ing->n_flights--;
    flight_end(ing, f);
    ing->inflight_items -= f->n_items;
    ing->inflight_reports -= f->n_reports;
    update_gauges(ing);
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, seconds);
    lg_metrics_observe(m, LG_H_BATCH_REPORTS, (double)f->n_reports);

    if (err != NULL) {
        on_failed(ing, f,
                  has_sqlstate(res, "LG001") ? LG_ICACHE_FAIL_STALE
                  : is_transient(res)        ? LG_ICACHE_FAIL_ROLLED_BACK
                                             : LG_ICACHE_FAIL_OTHER,
                  err);
        goto out;
    }
    if (lg_ingest_answer_parse(res, f->n_items, f->n_sent, &ans, &why) != LG_OK) {
        /* It committed, but what it said cannot be read: its nodes send the
         * batches again and get "duplicate" for what was stored. */
        lg_ingest_answer_cleanup(&ans);
        on_failed(ing, f, LG_ICACHE_FAIL_OTHER, why);
        goto out;
    }
    count_outcome(ing, lg_icache_trip_committed(f->trip, &ans.cache));

    lg_metrics_add(m, LG_C_DECISION_INSIDE, ans.n_inside);
    lg_metrics_add(m, LG_C_DECISION_OUTSIDE, ans.n_outside);
    lg_metrics_add(m, LG_C_DECISION_AMBIGUOUS, ans.n_ambiguous);
    lg_metrics_add(m, LG_C_DECISION_UNKNOWN_CELL, ans.n_unknown_cell);
    lg_metrics_add(m, LG_C_UNKNOWN_DEVICES, ans.n_unknown_device);
    lg_metrics_add(m, LG_C_DECISION_UNCHECKED, ans.n_unchecked);
    lg_metrics_add(m, LG_C_ALERTS, ans.n_alerts);
    lg_metrics_add(m, LG_C_REPORTS_COALESCED, ans.n_coalesced);

    /* The next round trip goes first: the batches that arrived during this
     * one are sent while their predecessors are answered, so the database
     * works while the loop writes hundreds of replies (one report per
     * request, as an AMF sends them, is a write each). */
    flush(ing);

    size_t bi = 0;
    for (item_t *it = f->items, *next; it != NULL; it = next, bi++) {
        next = it->next;
        if (ans.status[bi] == LG_INGEST_ACCEPTED)
            count_cached(m, f->trip, bi);
        it->cb(it->arg, ans.status[bi]);
        item_free(it);
    }
    f->items = NULL;
    uint64_t n_alerts = ans.n_alerts;
    lg_ingest_answer_cleanup(&ans);
    if (n_alerts > 0 && ing->on_alerts != NULL)
        ing->on_alerts(ing->on_alerts_arg);
out:
    flight_free(f);
    update_gauges(ing);
    flush(ing);
}

/*
 * True when batch must wait for the round trips under way to end: more
 * than one in LG_INGEST_SHARE_DIVISOR of its reports name devices they
 * sent (a one-report batch: its device). In the database each such device
 * waits for the other's row lock until its COMMIT: with many, the two
 * round trips go one after the other anyway, a connection held idle; left
 * in the queue, the batch goes with everything that arrives meanwhile in
 * the round trip that starts when the other ends. A device reported again
 * and again (as nodes do) thus costs one larger round trip instead of two
 * queued behind each other. A batch that shares a device or two (random
 * devices: 500 reports beside 2000 under way share one on average among a
 * million) goes: most of its work still runs beside the other's (b5, every
 * report written: two backends at work in half of the samples, where one
 * worked alone three quarters of the time when any shared device held a
 * batch back; 59.5k -> 68.1k reports/s, tests/bench/README.md).
 */
static bool holds_back(const lg_ingest_t *ing, const lg_batch_t *batch)
{
    size_t limit = lg_ingest_share_limit(batch->n_reports);
    return lg_ingest_busy_shared(&ing->busy, batch, limit) > limit;
}

/*
 * Sends one round trip with as many queued batches as fit; false when it
 * sent none. While others are under way, it stops at the first batch held
 * back (holds_back).
 */
static bool flush_one(lg_ingest_t *ing)
{
    flight_t *f = lg_xcalloc(1, sizeof(*f));
    f->ing = ing;
    f->started_us = lg_mono_us();

    item_t **tailp = &f->items;
    while (ing->head != NULL &&
           lg_ingest_fits(&ing->cfg, f->n_items, f->n_reports, ing->head->batch.n_reports) &&
           (ing->flights == NULL || !holds_back(ing, &ing->head->batch))) {
        item_t *it = ing->head;
        ing->head = it->next;
        if (ing->head == NULL)
            ing->tail = NULL;
        it->next = NULL;
        *tailp = it;
        tailp = &it->next;
        f->n_items++;
        f->n_reports += it->batch.n_reports;
    }
    if (f->n_items == 0) {
        free(f);
        return false;
    }
    ing->queued_items -= f->n_items;
    ing->queued_reports -= f->n_reports;
    ing->inflight_items += f->n_items;
    ing->inflight_reports += f->n_reports;
    ing->n_flights++;
    update_gauges(ing);

    f->trip = lg_icache_trip_begin(ing->cache, f->n_items, f->n_reports,
                                   (int64_t)ing->cfg.refresh_ms * 1000);
    for (item_t *it = f->items; it != NULL; it = it->next)
        lg_icache_trip_add_batch(f->trip, &it->batch);
    lg_ingest_call_t call;
    lg_ingest_call_init(&call);
    for (item_t *it = f->items; it != NULL; it = it->next)
        lg_ingest_call_add(&call, &it->batch, it->seq, f->trip);
    f->n_sent = call.n_sent;
    f->keys = call.keys;
    call.keys = NULL;
    call.cap_keys = 0;
    flight_start(ing, f);
    const char *const *values = lg_ingest_call_end(&call, &ing->cfg, f->trip);
    int rc = lg_db_query(ing->db, ingest_sql, LG_INGEST_N_PARAMS, values, on_result, f);
    lg_ingest_call_cleanup(&call);
    if (rc != LG_OK)
        on_result(f, NULL, "database unavailable");
    return true;
}

/*
 * Starts round trips while connections are idle and batches wait, one
 * beside another under way only when enough wait (lg_ingest_may_start). One
 * connection of the pool (when it has more than one) is left to everything
 * else: the notifier's lease, the admin and T8 calls would otherwise queue
 * behind ingest round trips under load, and a movement alert would wait for
 * its delivery as long as a full group commit takes.
 */
static void flush(lg_ingest_t *ing)
{
    int max_flights = lg_db_size(ing->db) > 1 ? lg_db_size(ing->db) - 1 : 1;
    while (ing->head != NULL && ing->n_flights < max_flights && lg_db_idle(ing->db) > 0 &&
           lg_ingest_may_start(&ing->cfg, ing->n_flights, ing->queued_reports))
        if (!flush_one(ing))
            break;
}

static void on_db_idle(void *arg)
{
    flush(arg);
}

lg_ingest_t *lg_ingest_new(lg_db_t *db, lg_metrics_t *metrics, const lg_ingest_config_t *cfg)
{
    lg_ingest_t *ing = lg_xcalloc(1, sizeof(*ing));
    ing->db = db;
    ing->metrics = metrics;
    ing->cfg = *cfg;
    ing->cache = lg_icache_sync_new(cfg->cache_devices > 0 ? (size_t)cfg->cache_devices : 0);
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
    lg_icache_sync_free(ing->cache);
    lg_ingest_busy_cleanup(&ing->busy);
    free(ing);
}

lg_ingest_status_t lg_ingest_submit(lg_ingest_t *ing, lg_batch_t *batch, int64_t seq,
                                    lg_ingest_cb cb, void *arg)
{
    if (!lg_db_is_up(ing->db)) {
        lg_batch_cleanup(batch);
        return LG_INGEST_UNAVAILABLE;
    }
    if (!lg_ingest_admits(&ing->cfg, ing->queued_reports, batch->n_reports)) {
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

lg_icache_state_t lg_ingest_cache_state(const lg_ingest_t *ing)
{
    return lg_icache_sync_state(ing->cache);
}
