/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's cache of coalescable rows (see ingest_cache.h). */
#include "locguard/ingest_cache.h"

#include <stdlib.h>
#include <string.h>

#define NODES_MAX 65535

/* One slot; key 0 is an empty one. */
typedef struct entry {
    uint64_t key;     /* the SUPI, see supi_key */
    int64_t ts_us;    /* the row's stored time (ue_location.reported_at) */
    uint32_t flight;  /* the last round trip that sent a report of the device */
    uint32_t mark;    /* the round trip pass 1 last counted the device in ... */
    uint16_t node;    /* the row's node (lg_icache_node) */
    uint16_t n_sent;  /* round trips under way that sent a report of the device */
    uint8_t n_marked; /* ... and how many of its reports it holds there (saturating) */
    bool contended;   /* two reports in flight at once since n_sent was last 0 */
    uint8_t rat;      /* the row's RAT (lg_rat_t) */
    char dec;         /* the row's decision; 0: pending, not usable */
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

/*
 * A SUPI of 5..15 digits as a number, with its length above bit 50 so that
 * "00101" and "101" differ (10^15 < 2^50). Never 0. 0 for anything else
 * (the parser lets nothing else through).
 */
static uint64_t supi_key(const char *supi)
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

void lg_icache_count(lg_icache_t *c, const lg_report_t *r, uint32_t flight)
{
    entry_t *e = find(c, supi_key(r->supi), false);
    if (e == NULL)
        return; /* nothing to coalesce into: the report is sent anyway */
    if (e->mark != flight) {
        e->mark = flight;
        e->n_marked = 0;
    }
    if (e->n_marked < UINT8_MAX)
        e->n_marked++;
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
    if (r->has_position || node == 0)
        return 0;
    entry_t *e = find(c, supi_key(r->supi), false);
    if (e == NULL || e->dec == 0 || e->mark != flight || e->n_marked != 1)
        return 0;
    if (e->node != node || e->rat != (uint8_t)r->rat || strcmp(e->cell, r->cell_key) != 0)
        return 0;
    if (r->ts_us < e->ts_us || r->ts_us - e->ts_us >= lg_icache_refresh_us(r->supi, refresh_us))
        return 0;
    return e->dec;
}

void lg_icache_sent(lg_icache_t *c, const lg_report_t *r, uint32_t flight)
{
    entry_t *e = find(c, supi_key(r->supi), true);
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
    entry_t *e = find(c, supi_key(r->supi), false);
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
    entry_t *e = find(c, supi_key(r->supi), false);
    if (e == NULL || e->flight != flight || e->n_sent != 1 || e->contended)
        return; /* another report was in flight: which committed last is unknown */
    e->ts_us = ts_us;
    e->node = node;
    e->rat = (uint8_t)r->rat;
    memcpy(e->cell, r->cell_key, len + 1);
    e->dec = decision;
}
