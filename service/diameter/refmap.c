/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference map: a power-of-two table of (reference, IMSI) slots,
 * reference 0 marking a free one, at most half full. Lookups probe from
 * the reference's hash; a removal shifts the following entries of its run
 * back, so no tombstones build up as configurations come and go.
 */
#include "locguard/diameter/refmap.h"

#include <stdlib.h>
#include <string.h>

#define IMSI_MAX 16 /* 15 digits and the NUL */

typedef struct slot {
    uint32_t ref; /* 0: free */
    char imsi[IMSI_MAX];
} slot_t;

struct lg_refmap {
    slot_t *slots;
    size_t mask; /* capacity - 1 */
    size_t n;
};

#define INITIAL_CAPACITY 64

/* A 32-bit mix (the finaliser of MurmurHash3): references are often consecutive. */
static size_t hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

lg_refmap_t *lg_refmap_new(void)
{
    lg_refmap_t *m = lg_xcalloc(1, sizeof(*m));

    m->slots = lg_xcalloc(INITIAL_CAPACITY, sizeof(*m->slots));
    m->mask = INITIAL_CAPACITY - 1;
    return m;
}

void lg_refmap_free(lg_refmap_t *map)
{
    if (map == NULL)
        return;
    free(map->slots);
    free(map);
}

void lg_refmap_clear(lg_refmap_t *map)
{
    memset(map->slots, 0, (map->mask + 1) * sizeof(*map->slots));
    map->n = 0;
}

/* The slot of ref, or the free slot where it would go. */
static slot_t *find(const lg_refmap_t *m, uint32_t ref)
{
    size_t i = hash(ref) & m->mask;

    while (m->slots[i].ref != 0 && m->slots[i].ref != ref)
        i = (i + 1) & m->mask;
    return &m->slots[i];
}

static void grow(lg_refmap_t *m)
{
    slot_t *old = m->slots;
    size_t old_cap = m->mask + 1;

    m->slots = lg_xcalloc(2 * old_cap, sizeof(*m->slots));
    m->mask = 2 * old_cap - 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].ref != 0)
            *find(m, old[i].ref) = old[i];
    free(old);
}

int lg_refmap_put(lg_refmap_t *map, uint32_t ref, const char *imsi)
{
    if (ref == 0 || strlen(imsi) >= IMSI_MAX)
        return LG_ERR;
    if (2 * (map->n + 1) > map->mask + 1)
        grow(map);
    slot_t *s = find(map, ref);
    if (s->ref == 0)
        map->n++;
    s->ref = ref;
    lg_strlcpy(s->imsi, imsi, sizeof(s->imsi));
    return LG_OK;
}

void lg_refmap_remove(lg_refmap_t *map, uint32_t ref)
{
    if (ref == 0)
        return;
    slot_t *s = find(map, ref);
    if (s->ref == 0)
        return;
    size_t hole = (size_t)(s - map->slots);
    map->slots[hole].ref = 0;
    map->n--;
    /* Backward shift: an entry after the hole moves into it unless its home lies in (hole, i]. */
    for (size_t i = (hole + 1) & map->mask; map->slots[i].ref != 0; i = (i + 1) & map->mask) {
        size_t home = hash(map->slots[i].ref) & map->mask;
        bool is_between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (is_between)
            continue;
        map->slots[hole] = map->slots[i];
        map->slots[i].ref = 0;
        hole = i;
    }
}

const char *lg_refmap_get(const lg_refmap_t *map, uint32_t ref)
{
    if (ref == 0)
        return NULL;
    const slot_t *s = find(map, ref);
    return s->ref == ref ? s->imsi : NULL;
}

size_t lg_refmap_size(const lg_refmap_t *map)
{
    return map->n;
}
