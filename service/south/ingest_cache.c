/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's cache of coalescable rows (see ingest_cache.h): the table
 * (lg_icache_t, open addressing over 56-byte slots) and the protocol that
 * keeps it true to the database (lg_icache_sync_t: token, claim,
 * generation, resets; lg_icache_trip_t: one round trip's part in it). The
 * group commit (ingest.c) asks it which reports to send and tells it what
 * came back; it does no I/O.
 */
#include "locguard/south/ingest_cache.h"

#include "locguard/core/log.h"

#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES_MAX 65535

/* One slot; key 0 is an empty one. */
typedef struct entry {
    uint64_t key;    /* the SUPI, see lg_icache_key */
    int64_t ts_us;   /* the row's stored time (ue_location.reported_at) */
    uint32_t flight; /* the last round trip that sent a report of the device */
    uint32_t mark;   /* the round trip pass 1 last counted the device in ... */
    uint16_t node;   /* the row's node (lg_icache_node) */
    uint16_t n_sent; /* round trips under way that sent a report of the device */
    bool mixed;      /* ... and one of its reports there does not repeat the row */
    bool contended;  /* two reports in flight at once since n_sent was last 0 */
    uint8_t rat;     /* the row's RAT (lg_rat_t) */
    char dec;        /* the row's decision; 0: pending, not usable */
    char cell[LG_ICACHE_CELL_MAX + 1];
} entry_t;
_Static_assert(sizeof(entry_t) == 56, "56 bytes a slot, as ingest_cache.h and the README say");

struct lg_icache {
    entry_t *slots;
    size_t mask;   /* slots - 1, a power of two minus one */
    size_t n, max; /* entries held, at most */
    char (*nodes)[LG_NODE_NAME_MAX];
    size_t n_nodes, cap_nodes;
};

/* 10^15 < 2^50: the length fits above the digits. The parser lets no other SUPI through. */
uint64_t lg_icache_key(const char *supi)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; supi[n] != '\0'; n++) {
        if (n >= 15 || supi[n] < '0' || supi[n] > '9')
            return 0;
        v = v * 10 + (uint64_t)(supi[n] - '0');
    }
    return n < 5 ? 0 : (uint64_t)n << 50 | v;
}

/* splitmix64's finalizer: consecutive IMSIs spread over the table. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The entry of key, or with make, a new pending one (NULL when full). */
static entry_t *find(lg_icache_t *c, uint64_t key, bool make)
{
    if (key == 0)
        return NULL;
    for (size_t i = mix(key) & c->mask;; i = (i + 1) & c->mask) {
        entry_t *e = &c->slots[i];
        if (e->key == key)
            return e;
        if (e->key == 0) {
            if (!make || c->n >= c->max)
                return NULL;
            e->key = key;
            c->n++;
            return e;
        }
    }
}

lg_icache_t *lg_icache_new(size_t max_devices)
{
    lg_icache_t *c = lg_xcalloc(1, sizeof(*c));
    size_t want = max_devices > 0 ? max_devices + max_devices / 3 + 1 : 2;
    size_t cap = 16;
    while (cap < want)
        cap *= 2;
    c->mask = cap - 1;
    c->max = max_devices > 0 ? max_devices : 1;
    c->slots = lg_xcalloc(cap, sizeof(entry_t));
    return c;
}

void lg_icache_free(lg_icache_t *c)
{
    if (c == NULL)
        return;
    free(c->slots);
    free(c->nodes);
    free(c);
}

void lg_icache_clear(lg_icache_t *c)
{
    /* A fresh calloc, not a memset: the pages come back untouched. */
    free(c->slots);
    c->slots = lg_xcalloc(c->mask + 1, sizeof(entry_t));
    c->n = 0;
}

size_t lg_icache_size(const lg_icache_t *c)
{
    return c->n;
}

uint16_t lg_icache_node(lg_icache_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i], name) == 0)
            return (uint16_t)(i + 1);
    if (c->n_nodes >= NODES_MAX || strlen(name) >= LG_NODE_NAME_MAX)
        return 0;
    if (c->n_nodes == c->cap_nodes) {
        c->cap_nodes = c->cap_nodes ? 2 * c->cap_nodes : 8;
        c->nodes = lg_xrealloc(c->nodes, c->cap_nodes * sizeof(*c->nodes));
    }
    strcpy(c->nodes[c->n_nodes], name);
    return (uint16_t)++c->n_nodes;
}

/*
 * True when r repeats e's row: no position, the row's node, RAT and cell,
 * not older than the stored time and within the device's refresh interval
 * after it. Such a report changes nothing but the time.
 */
static bool repeats_row(const entry_t *e, const lg_report_t *r, uint16_t node, int64_t refresh_us)
{
    if (r->has_position || node == 0)
        return false;
    if (e->node != node || e->rat != (uint8_t)r->rat || strcmp(e->cell, r->cell_key) != 0)
        return false;
    return r->ts_us >= e->ts_us && r->ts_us - e->ts_us < lg_icache_refresh_us(r->supi, refresh_us);
}

void lg_icache_count(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                     int64_t refresh_us)
{
    entry_t *e = find(c, lg_icache_key(r->supi), false);
    if (e == NULL)
        return; /* nothing to coalesce into: the report is sent anyway */
    if (e->mark != flight) {
        e->mark = flight;
        e->mixed = false;
    }
    if (!repeats_row(e, r, node, refresh_us))
        e->mixed = true;
}

int64_t lg_icache_refresh_us(const char *supi, int64_t refresh_us)
{
    size_t n = strlen(supi);
    int d = n >= 2 ? (supi[n - 2] - '0') * 10 + (supi[n - 1] - '0') : 0;
    if (d < 0 || d > 99)
        d = 0; /* not digits: the parser lets none through */
    return refresh_us - refresh_us * d / 400;
}

char lg_icache_match(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                     int64_t refresh_us)
{
    entry_t *e = find(c, lg_icache_key(r->supi), false);
    if (e == NULL || e->dec == 0 || e->mark != flight || e->mixed)
        return 0;
    return repeats_row(e, r, node, refresh_us) ? e->dec : 0;
}

void lg_icache_sent(lg_icache_t *c, const lg_report_t *r, uint32_t flight)
{
    entry_t *e = find(c, lg_icache_key(r->supi), true);
    if (e == NULL)
        return; /* full: lg_icache_put will find no entry either */
    e->dec = 0;
    e->flight = flight;
    if (e->n_sent > 0)
        e->contended = true;
    if (e->n_sent < UINT16_MAX)
        e->n_sent++;
}

void lg_icache_done(lg_icache_t *c, const lg_report_t *r)
{
    entry_t *e = find(c, lg_icache_key(r->supi), false);
    if (e != NULL && e->n_sent > 0 && --e->n_sent == 0)
        e->contended = false;
}

void lg_icache_put(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                   int64_t ts_us, char decision)
{
    size_t len = strlen(r->cell_key);
    if (r->has_position || node == 0 || len > LG_ICACHE_CELL_MAX)
        return;
    if (decision != 'i' && decision != 'a' && decision != 'c' && decision != 'u')
        return;
    entry_t *e = find(c, lg_icache_key(r->supi), false);
    if (e == NULL || e->flight != flight || e->n_sent != 1 || e->contended)
        return; /* another report was in flight: which committed last is unknown */
    e->ts_us = ts_us;
    e->node = node;
    e->rat = (uint8_t)r->rat;
    memcpy(e->cell, r->cell_key, len + 1);
    e->dec = decision;
}

/* ---- The protocol with lg_ingest ------------------------------------------------------------ */

/* Decision letters of cache_dec, in lg_icache_decision_t order. */
static const char decision_letters[] = "iacu";

static const char *const state_names[LG_ICACHE_N_STATES] = {
    [LG_ICACHE_OFF] = "off",     [LG_ICACHE_CLAIMING] = "claiming", [LG_ICACHE_SYNCING] = "syncing",
    [LG_ICACHE_OWNER] = "owner", [LG_ICACHE_LOST] = "lost",
};

static const char *const outcome_names[] = {
    [LG_ICACHE_KEPT] = "kept",
    [LG_ICACHE_EMPTIED] = "emptied",
    [LG_ICACHE_DROPPED] = "dropped",
};

const char *lg_icache_state_name(lg_icache_state_t state)
{
    return (size_t)state < LG_ICACHE_N_STATES ? state_names[state] : "?";
}

const char *lg_icache_outcome_name(lg_icache_outcome_t outcome)
{
    return (size_t)outcome < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[outcome]
                                                                            : "?";
}

struct lg_icache_sync {
    lg_icache_state_t state;
    lg_icache_t *table; /* NULL when OFF or LOST */
    char token[33];     /* ours, random, for ingest_cache_owner */
    int64_t gen;        /* the generation the entries hold at while OWNER, else 0 */
    uint32_t resets;    /* times the table was emptied */
    int n_trips;        /* trips begun and not ended */
    int n_old_trips;    /* of those, begun before the last reset */
    uint32_t next_id;   /* the last trip's id; ids are never 0 */
};

struct lg_icache_trip {
    lg_icache_sync_t *s;
    uint32_t id;        /* for the entries: which round trip sent them */
    uint32_t resets;    /* s->resets when it began */
    bool is_claim;      /* sent with p_cache_gen NULL */
    bool may_coalesce;  /* OWNER at a known generation, refresh_us > 0 */
    bool is_ended;      /* committed or failed was called */
    int64_t gen;        /* p_cache_gen when not a claim */
    int64_t refresh_us; /* the coalescing interval */
    size_t n_batches, n_added;
    uint16_t *node;                            /* per batch: the node's number in the table */
    uint32_t (*cached)[LG_ICACHE_N_DECISIONS]; /* per batch: coalesced, by decision */
    size_t n_reports, n_sent;
    const lg_report_t **sent; /* the reports sent, in array order (cache_ords index them) */
    uint16_t *sent_node;      /* and their nodes' numbers */
};

lg_icache_sync_t *lg_icache_sync_new(size_t max_devices)
{
    lg_icache_sync_t *s = lg_xcalloc(1, sizeof(*s));
    s->state = LG_ICACHE_OFF;
    if (max_devices == 0)
        return s;
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        lg_warn("ingest: no random token for the ingest cache; running without it");
        return s;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(s->token + 2 * i, 3, "%02x", raw[i]);
    s->table = lg_icache_new(max_devices);
    s->state = LG_ICACHE_CLAIMING;
    return s;
}

void lg_icache_sync_free(lg_icache_sync_t *s)
{
    if (s == NULL)
        return;
    lg_icache_free(s->table);
    free(s);
}

lg_icache_state_t lg_icache_sync_state(const lg_icache_sync_t *s)
{
    return s->state;
}

int64_t lg_icache_sync_gen(const lg_icache_sync_t *s)
{
    return s->state == LG_ICACHE_OWNER ? s->gen : 0;
}

size_t lg_icache_sync_size(const lg_icache_sync_t *s)
{
    return s->table != NULL ? lg_icache_size(s->table) : 0;
}

uint32_t lg_icache_sync_resets(const lg_icache_sync_t *s)
{
    return s->resets;
}

lg_icache_t *lg_icache_sync_table(lg_icache_sync_t *s)
{
    return s->table;
}

/*
 * Empties the table: its entries may no longer be the database's rows. The
 * trips under way are not counted in the new one (lg_icache_sent), so no
 * entry is made usable until they have all ended. gen > 0: the generation
 * the empty table holds at (OWNER); 0: unknown (CLAIMING stays, else SYNCING).
 */
static void reset(lg_icache_sync_t *s, int64_t gen)
{
    lg_icache_clear(s->table);
    s->n_old_trips = s->n_trips;
    s->resets++;
    if (s->state == LG_ICACHE_CLAIMING && gen <= 0)
        return; /* the claim may not have committed: claim again */
    s->gen = gen > 0 ? gen : 0;
    s->state = gen > 0 ? LG_ICACHE_OWNER : LG_ICACHE_SYNCING;
}

lg_icache_trip_t *lg_icache_trip_begin(lg_icache_sync_t *s, size_t n_batches, size_t n_reports,
                                       int64_t refresh_us)
{
    if (s->table == NULL)
        return NULL;
    lg_icache_trip_t *t = lg_xcalloc(1, sizeof(*t));
    t->s = s;
    if (++s->next_id == 0) /* 0 is no round trip's, in the entries */
        s->next_id = 1;
    t->id = s->next_id;
    t->resets = s->resets;
    t->is_claim = s->state == LG_ICACHE_CLAIMING;
    t->gen = s->state == LG_ICACHE_OWNER ? s->gen : 0;
    t->may_coalesce = s->state == LG_ICACHE_OWNER && s->gen > 0 && refresh_us > 0;
    t->refresh_us = refresh_us;
    t->n_batches = n_batches;
    t->node = lg_xcalloc(n_batches ? n_batches : 1, sizeof(*t->node));
    t->cached = lg_xcalloc(n_batches ? n_batches : 1, sizeof(*t->cached));
    t->n_reports = n_reports;
    t->sent = lg_xcalloc(n_reports ? n_reports : 1, sizeof(*t->sent));
    t->sent_node = lg_xcalloc(n_reports ? n_reports : 1, sizeof(*t->sent_node));
    s->n_trips++;
    return t;
}

void lg_icache_trip_add_batch(lg_icache_trip_t *t, const lg_batch_t *b)
{
    if (t == NULL || t->n_added >= t->n_batches)
        return;
    lg_icache_t *table = t->s->table;
    t->node[t->n_added++] = lg_icache_node(table, b->node);
    /* Pass 1 looks at each device's reports in the trip: they are
     * coalesced only when every one of them repeats the row (a device
     * reported from two cells is sent, every time). Before the generation
     * is known, nothing is coalesced, but the reports sent still mark
     * their entries. */
    if (t->may_coalesce)
        for (size_t k = 0; k < b->n_reports; k++)
            lg_icache_count(table, &b->reports[k], t->node[t->n_added - 1], t->id, t->refresh_us);
}

bool lg_icache_trip_send(lg_icache_trip_t *t, size_t batch, const lg_report_t *r)
{
    if (t == NULL || t->is_ended || t->s->table == NULL || batch >= t->n_added)
        return true;
    lg_icache_t *table = t->s->table;
    char dec =
        t->may_coalesce ? lg_icache_match(table, r, t->node[batch], t->id, t->refresh_us) : 0;
    const char *d = dec != 0 ? strchr(decision_letters, dec) : NULL;
    if (d != NULL) {
        t->cached[batch][d - decision_letters]++;
        return false;
    }
    if (t->n_sent >= t->n_reports)
        return true; /* more reports than begun with: sent, not tracked (never happens) */
    lg_icache_sent(table, r, t->id);
    t->sent[t->n_sent] = r;
    t->sent_node[t->n_sent] = t->node[batch];
    t->n_sent++;
    return true;
}

uint32_t lg_icache_trip_n_cached(const lg_icache_trip_t *t, size_t batch)
{
    uint32_t n = 0;
    if (t == NULL || batch >= t->n_batches)
        return 0;
    for (int d = 0; d < LG_ICACHE_N_DECISIONS; d++)
        n += t->cached[batch][d];
    return n;
}

void lg_icache_trip_cached(const lg_icache_trip_t *t, size_t batch,
                           uint32_t out[LG_ICACHE_N_DECISIONS])
{
    for (int d = 0; d < LG_ICACHE_N_DECISIONS; d++)
        out[d] = t != NULL && batch < t->n_batches ? t->cached[batch][d] : 0;
}

const char *lg_icache_trip_token(const lg_icache_trip_t *t)
{
    return t != NULL ? t->s->token : NULL;
}

bool lg_icache_trip_gen(const lg_icache_trip_t *t, int64_t *gen)
{
    *gen = 0;
    if (t == NULL || t->is_claim)
        return false;
    *gen = t->gen;
    return true;
}

/*
 * The trip is over: uncounted from the trips under way, and its reports
 * from the entries' in-flight counts, unless the table was emptied since
 * (those counts went with it).
 */
static void end(lg_icache_trip_t *t)
{
    lg_icache_sync_t *s = t->s;
    t->is_ended = true;
    s->n_trips--;
    if (t->resets != s->resets && s->n_old_trips > 0)
        s->n_old_trips--;
}

static void done(lg_icache_trip_t *t)
{
    lg_icache_sync_t *s = t->s;
    if (s->table != NULL && t->resets == s->resets)
        for (size_t i = 0; i < t->n_sent; i++)
            lg_icache_done(s->table, t->sent[i]);
    t->n_sent = 0;
}

/* True when the trip's answer is about the table as it is (not emptied since, not dropped). */
static bool is_current(const lg_icache_trip_t *t)
{
    return t->s->table != NULL && t->resets == t->s->resets;
}

lg_icache_outcome_t lg_icache_trip_committed(lg_icache_trip_t *t, const lg_icache_answer_t *a)
{
    lg_icache_outcome_t outcome = LG_ICACHE_KEPT;
    if (t == NULL || t->is_ended)
        return outcome;
    lg_icache_sync_t *s = t->s;
    end(t);
    if (!is_current(t))
        goto out; /* emptied since it began: its answer is about older entries */
    if (!a->has_gen) {
        lg_warn("ingest: another locguard took over the ingest cache; every report is sent "
                "to the database from now on");
        lg_icache_free(s->table);
        s->table = NULL;
        s->state = LG_ICACHE_LOST;
        s->gen = 0;
        outcome = LG_ICACHE_DROPPED;
        goto out;
    }
    if (s->state == LG_ICACHE_CLAIMING || s->state == LG_ICACHE_SYNCING) {
        /* Claimed or emptied: the entries so far are answers from a->gen. */
        s->state = a->gen > 0 ? LG_ICACHE_OWNER : LG_ICACHE_SYNCING;
        s->gen = a->gen > 0 ? a->gen : 0;
    } else if (a->gen != s->gen) {
        lg_debug("ingest: cache generation %lld -> %lld, cache emptied", (long long)s->gen,
                 (long long)a->gen);
        reset(s, a->gen);
        outcome = LG_ICACHE_EMPTIED;
        goto out;
    }
    if (s->n_old_trips > 0)
        goto out; /* a round trip sent before the last reset may still commit after */
    for (size_t k = 0; k < a->n && a->dec[k] != '\0'; k++) {
        int64_t ord = a->ords[k];
        if (ord >= 1 && (uint64_t)ord <= t->n_sent)
            lg_icache_put(s->table, t->sent[ord - 1], t->sent_node[ord - 1], t->id, a->ts_us[k],
                          a->dec[k]);
    }
out:
    done(t);
    return outcome;
}

lg_icache_outcome_t lg_icache_trip_failed(lg_icache_trip_t *t, lg_icache_failure_t why)
{
    lg_icache_outcome_t outcome = LG_ICACHE_KEPT;
    if (t == NULL || t->is_ended)
        return outcome;
    end(t);
    /* LG001: nothing was written, the cache was stale. Any other failure: a
     * database that went away may come back as another one (a failover, a
     * restore). Either way, start again from what its answers say. */
    if (why != LG_ICACHE_FAIL_ROLLED_BACK && is_current(t)) {
        reset(t->s, 0);
        outcome = LG_ICACHE_EMPTIED;
    }
    done(t);
    return outcome;
}

void lg_icache_trip_free(lg_icache_trip_t *t)
{
    if (t == NULL)
        return;
    if (!t->is_ended)
        (void)lg_icache_trip_failed(t, LG_ICACHE_FAIL_ROLLED_BACK);
    free(t->node);
    free(t->cached);
    free(t->sent);
    free(t->sent_node);
    free(t);
}
