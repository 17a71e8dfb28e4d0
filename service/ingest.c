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
 *
 * Before a round trip is built, every report is looked up in the daemon's
 * cache of coalescable rows (ingest_cache.h): one that would be coalesced
 * into its device's row, as the last answer about that row described it,
 * is counted, not sent (lg_ingest's p_cached, per batch), and its decision
 * is counted from the cache once the batch is accepted. The cache is filled
 * from the answers (cache_ords, cache_ts, cache_dec) and emptied when the
 * database's generation moves or a round trip fails.
 */
#include "locguard/ingest.h"

#include "locguard/ingest_cache.h"
#include "locguard/log.h"

#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PARAMS 16

/*
 * A group commit the database rolled back for a deadlock or a serialization
 * failure wrote nothing (the replay window's claims included) and is sent
 * again, up to this many times, before its nodes get 503.
 */
#define MAX_ATTEMPTS 3

static const char ingest_sql[] =
    "SELECT batch_status, n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, "
    "n_unchecked, n_alerts, n_coalesced, cache_gen, cache_ords, cache_ts, cache_dec "
    "FROM lg_ingest($1::text[], $2::bigint[], $3::int, $4::int, $5::int[], $6::text[], "
    "$7::bigint[], $8::text[], $9::text[], $10::float8[], $11::float8[], $12::float8[], "
    "$13::int, $14::text, $15::bigint, $16::int[])";

/* Decisions an entry of the cache carries, in the letters of cache_dec. */
static const char cached_decisions[] = "iacu";
#define N_CACHED_DECISIONS 4

/* A batch waiting or in flight. */
typedef struct item {
    struct item *next;
    lg_batch_t batch;
    int64_t seq;
    int rollbacks; /* round trips of this batch rolled back so far */
    uint16_t node; /* the node's number in the cache (lg_icache_node), 0: none */
    /* Reports coalesced from the cache in the current round trip, by decision. */
    uint32_t n_cached[N_CACHED_DECISIONS];
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
    uint32_t id;             /* for the cache's entries: which round trip sent them */
    uint32_t resets;         /* ing->cache_resets when it was built */
    /* With the cache (else NULL and 0): the reports sent, in array order
     * (cache_ords index it), the rest being coalesced from the cache. */
    size_t n_sent;
    const lg_report_t **sent;
    uint16_t *sent_node;     /* and their nodes' numbers */
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
    /* The cache of coalescable rows; NULL when [ingest] cache_devices is 0
     * or another daemon took it over. */
    lg_icache_t *cache;
    char token[33];        /* ours, random, for ingest_cache_owner */
    int64_t cache_gen;     /* the generation the entries hold at; 0: not known (emptied
                              for a stale one); -1: not claimed yet */
    uint32_t cache_resets; /* times emptied */
    int n_old_flights;     /* round trips under way that were sent before the last reset */
    uint32_t next_flight;
};

static void flush(lg_ingest_t *ing);

static void update_gauges(lg_ingest_t *ing)
{
    lg_metrics_set(ing->metrics, LG_G_QUEUE_REPORTS, (int64_t)ing->queued_reports);
    lg_metrics_set(ing->metrics, LG_G_INFLIGHT_REPORTS, (int64_t)ing->inflight_reports);
    lg_metrics_set(ing->metrics, LG_G_INGEST_CACHE_DEVICES,
                   ing->cache != NULL ? (int64_t)lg_icache_size(ing->cache) : 0);
}

/*
 * The round trip is over: its reports are no longer in flight for the
 * cache (unless it was emptied since: its counts went with it). Before its
 * items, which hold the reports, are freed.
 */
static void cache_done(flight_t *f)
{
    if (f->sent != NULL && f->ing->cache != NULL && f->resets == f->ing->cache_resets)
        for (size_t i = 0; i < f->n_sent; i++)
            lg_icache_done(f->ing->cache, f->sent[i]);
    f->n_sent = 0;
}

static void flight_free(flight_t *f)
{
    free(f->sent);
    free(f->sent_node);
    free(f);
}

/*
 * Empties the cache: its entries may no longer be the database's rows. The
 * round trips under way are not counted in the new one (lg_icache_sent), so
 * no entry is made usable until they are all answered.
 */
static void cache_reset(lg_ingest_t *ing, int64_t gen)
{
    lg_icache_clear(ing->cache);
    ing->n_old_flights = ing->n_flights;
    ing->cache_gen = gen;
    ing->cache_resets++;
    lg_metrics_add(ing->metrics, LG_C_INGEST_CACHE_RESETS, 1);
}

/*
 * What a committed round trip tells the cache: the generation it ran at,
 * and which of its reports left a coalescable row (cache_ords, 1-based
 * indexes into the arrays sent, with the row's stored time in cache_ts and
 * one letter of cache_dec each). A NULL generation with our token sent
 * means another daemon owns the cache now: ours is dropped for good.
 */
static void cache_learn(lg_ingest_t *ing, flight_t *f, const PGresult *res)
{
    if (f->sent == NULL || ing->cache == NULL || f->resets != ing->cache_resets)
        return; /* emptied since it was built: its answer is about older entries */
    if (PQgetisnull(res, 0, 9)) {
        lg_warn("ingest: another locguard took over the ingest cache; every report is sent "
                "to the database from now on");
        lg_icache_free(ing->cache);
        ing->cache = NULL;
        return;
    }
    int64_t gen = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    if (ing->cache_gen <= 0) {
        ing->cache_gen = gen; /* claimed or emptied: entries so far are answers from gen */
    } else if (gen != ing->cache_gen) {
        lg_debug("ingest: cache generation %lld -> %lld, cache emptied",
                 (long long)ing->cache_gen, (long long)gen);
        cache_reset(ing, gen);
        return;
    }
    if (ing->n_old_flights > 0)
        return; /* a round trip sent before the last reset may still commit after */
    const char *ords = PQgetvalue(res, 0, 10);
    const char *tss = PQgetvalue(res, 0, 11);
    const char *decs = PQgetvalue(res, 0, 12);
    if (*ords == '{')
        ords++;
    if (*tss == '{')
        tss++;
    for (size_t k = 0; decs[k] != '\0'; k++) {
        char *end_ord, *end_ts;
        unsigned long ord = strtoul(ords, &end_ord, 10);
        long long ts = strtoll(tss, &end_ts, 10);
        if (end_ord == ords || end_ts == tss)
            break;
        ords = *end_ord == ',' ? end_ord + 1 : end_ord;
        tss = *end_ts == ',' ? end_ts + 1 : end_ts;
        if (ord >= 1 && ord <= f->n_sent)
            lg_icache_put(ing->cache, f->sent[ord - 1], f->sent_node[ord - 1], f->id,
                          (int64_t)ts, decs[k]);
    }
}

/* Counts what the cache coalesced for an accepted batch. */
static void count_cached(lg_metrics_t *m, const item_t *it)
{
    static const lg_counter_t by_decision[N_CACHED_DECISIONS] = {
        LG_C_DECISION_INSIDE, LG_C_DECISION_AMBIGUOUS, LG_C_DECISION_UNCHECKED,
        LG_C_DECISION_UNKNOWN_CELL};
    uint64_t n = 0;
    for (int d = 0; d < N_CACHED_DECISIONS; d++) {
        lg_metrics_add(m, by_decision[d], it->n_cached[d]);
        n += it->n_cached[d];
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

static void on_result(void *arg, const PGresult *res, const char *err)
{
    flight_t *f = arg;
    lg_ingest_t *ing = f->ing;
    lg_metrics_t *m = ing->metrics;
    double seconds = (double)(lg_mono_us() - f->started_us) / 1e6;

    ing->n_flights--;
    if (f->sent != NULL && f->resets != ing->cache_resets && ing->n_old_flights > 0)
        ing->n_old_flights--;
    ing->inflight_items -= f->n_items;
    ing->inflight_reports -= f->n_reports;
    update_gauges(ing);
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, seconds);
    lg_metrics_observe(m, LG_H_BATCH_REPORTS, (double)f->n_reports);

    if (err != NULL && has_sqlstate(res, "LG001")) {
        /* Reports coalesced from the cache were judged at an older generation:
         * nothing was written; empty the cache and send the batches whole. */
        lg_debug("ingest: the cache was stale (%s), emptied; sending the round trip again", err);
        if (ing->cache != NULL && f->resets == ing->cache_resets)
            cache_reset(ing, 0);
        cache_done(f);
        requeue(ing, f->items);
        flight_free(f);
        flush(ing);
        return;
    }
    if (err != NULL && is_transient(res)) {
        lg_debug("ingest: round trip of %zu batches rolled back (%s), sending it again",
                 f->n_items, err);
        lg_metrics_add(m, LG_C_INGEST_RETRIES, 1);
        cache_done(f);
        requeue(ing, f->items);
        flight_free(f);
        flush(ing);
        return;
    }
    if (err != NULL || res == NULL || PQntuples(res) != 1) {
        lg_warn("ingest: round trip of %zu batches failed: %s", f->n_items,
                err ? err : "unexpected result");
        /* A database that went away may come back as another one (a failover,
         * a restore): start again from what its answers say. */
        if (ing->cache != NULL && f->resets == ing->cache_resets)
            cache_reset(ing, 0);
        cache_done(f);
        finish_all(f->items, LG_INGEST_UNAVAILABLE);
        flight_free(f);
        flush(ing);
        return;
    }
    cache_learn(ing, f, res);
    cache_done(f);

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
        if (st == LG_INGEST_ACCEPTED)
            count_cached(m, it);
        it->cb(it->arg, st);
        item_free(it);
        it = next;
    }
    flight_free(f);
    update_gauges(ing);
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

    /* The cache: pass 1 counts each device's reports in this round trip (a
     * device reported twice is sent, both times); pass 2 below coalesces
     * what matches a usable entry. Before the generation is known (first
     * round trip, or after the cache was emptied for a stale one), nothing
     * is coalesced, but the reports sent still mark their entries. */
    lg_icache_t *cache = ing->cache;
    int64_t refresh_us = (int64_t)ing->cfg->refresh_ms * 1000;
    bool may_coalesce = cache != NULL && ing->cache_gen > 0 && refresh_us > 0;
    if (cache != NULL) {
        if (++ing->next_flight == 0) /* 0 is no round trip's, in the entries */
            ing->next_flight = 1;
        f->id = ing->next_flight;
        f->resets = ing->cache_resets;
        f->sent = lg_xcalloc(f->n_reports ? f->n_reports : 1, sizeof(*f->sent));
        f->sent_node = lg_xcalloc(f->n_reports ? f->n_reports : 1, sizeof(*f->sent_node));
        for (item_t *it = f->items; it != NULL; it = it->next) {
            it->node = lg_icache_node(cache, it->batch.node);
            if (may_coalesce)
                for (size_t k = 0; k < it->batch.n_reports; k++)
                    lg_icache_count(cache, &it->batch.reports[k], f->id);
        }
    }

    arr_t b[N_PARAMS] = {{0}};
    size_t bi = 0;
    for (item_t *it = f->items; it != NULL; it = it->next, bi++) {
        arr_quoted(&b[0], it->batch.node);
        arr_int(&b[1], it->seq);
        memset(it->n_cached, 0, sizeof(it->n_cached));
        for (size_t k = 0; k < it->batch.n_reports; k++) {
            const lg_report_t *r = &it->batch.reports[k];

            if (cache != NULL) {
                char dec = may_coalesce
                               ? lg_icache_match(cache, r, it->node, f->id, refresh_us)
                               : 0;
                if (dec != 0) {
                    it->n_cached[strchr(cached_decisions, dec) - cached_decisions]++;
                    continue;
                }
                lg_icache_sent(cache, r, f->id);
                f->sent[f->n_sent] = r;
                f->sent_node[f->n_sent] = it->node;
                f->n_sent++;
            }
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
    for (item_t *it = f->items; cache != NULL && it != NULL; it = it->next) {
        uint32_t n = 0;
        for (int d = 0; d < N_CACHED_DECISIONS; d++)
            n += it->n_cached[d];
        arr_int(&b[15], n);
    }
    char window[16], hysteresis[16], refresh[16], gen[24];
    snprintf(window, sizeof(window), "%d", ing->cfg->seq_window);
    snprintf(hysteresis, sizeof(hysteresis), "%d", ing->cfg->hysteresis);
    snprintf(refresh, sizeof(refresh), "%d", ing->cfg->refresh_ms);
    snprintf(gen, sizeof(gen), "%lld", (long long)ing->cache_gen);
    const char *values[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++)
        values[i] = i == 2    ? window
                    : i == 3  ? hysteresis
                    : i == 12 ? refresh
                    : i == 13 ? (cache != NULL ? ing->token : NULL)
                    : i == 14 ? (cache != NULL && ing->cache_gen >= 0 ? gen : NULL)
                    : i == 15 ? (cache != NULL ? arr_end(&b[i]) : NULL)
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
    if (cfg->cache_devices > 0) {
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof(raw)) == 1) {
            for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(ing->token + 2 * i, 3, "%02x", raw[i]);
            ing->cache = lg_icache_new((size_t)cfg->cache_devices);
            ing->cache_gen = -1; /* the first round trip claims the cache */
        } else {
            lg_warn("ingest: no random token for the ingest cache; running without it");
        }
    }
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
    lg_icache_free(ing->cache);
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
