/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mix: the device and cell of each generated report (see mix.h), the same
 * for mme-sim and ingest-direct.
 */
#include "mix.h"

#include "loadgen.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REDRAWS 8 /* draws of a device already in the batch before taking it anyway */

struct lg_mix {
    lg_mix_opts_t o;
    uint64_t home_threshold; /* rng value above which a non-mover leaves home */
    _Atomic uint32_t *phase; /* per device, movers only: reports so far (NULL: no movers) */
    _Atomic uint64_t *pool;  /* repeat pool: device << 8 | reports left (NULL: no pool) */
};

struct lg_mix_picker {
    lg_mix_t *m;
    uint64_t rng;    /* xorshift64* state */
    uint64_t *taken; /* open-addressing set of device + 1 of the batch, 0 = empty */
    uint32_t *used;  /* the slots of taken filled in this batch, to empty them */
    size_t n_used;
    size_t mask;     /* size of taken - 1 (a power of two) */
    size_t max_used; /* room in used */
};

const char *lg_mix_check(const lg_mix_opts_t *o)
{
    if (o->devices < 1 || o->cell_count < 1)
        return "devices and cells must be at least 1";
    if (o->home_fraction < 0 || o->home_fraction > 1)
        return "the home fraction must be within 0..1";
    if (o->movers_percent < 0 || o->movers_percent > 100)
        return "movers must be within 0..1 (in hundredths)";
    if (o->repeat_max > 0 &&
        (o->repeat_min < 1 || o->repeat_min > o->repeat_max || o->repeat_max > 255))
        return "repeats must be MIN-MAX with 1 <= MIN <= MAX <= 255";
    if (o->repeat_max > 0 && (o->repeat_pool < 1 || o->repeat_pool > 10000000))
        return "the repeat pool must hold 1..10000000 devices";
    if ((uint64_t)o->devices >= (1ULL << 55))
        return "too many devices";
    return NULL;
}

lg_mix_t *lg_mix_new(const lg_mix_opts_t *o)
{
    lg_mix_t *m = lg_xcalloc(1, sizeof(*m));

    m->o = *o;
    m->home_threshold = (uint64_t)(o->home_fraction * 18446744073709551615.0);
    if (o->movers_percent > 0)
        m->phase = lg_xcalloc((size_t)o->devices, sizeof(*m->phase));
    if (o->repeat_max > 0)
        m->pool = lg_xcalloc((size_t)o->repeat_pool, sizeof(*m->pool));
    return m;
}

void lg_mix_free(lg_mix_t *m)
{
    if (m == NULL)
        return;
    free(m->phase);
    free(m->pool);
    free(m);
}

lg_mix_picker_t *lg_mix_picker_new(lg_mix_t *m, uint64_t seed, int index, int max_batch)
{
    lg_mix_picker_t *p = lg_xcalloc(1, sizeof(*p));
    size_t size = 16;

    p->m = m;
    p->rng = lg_loadgen_rng_seed(seed, index);
    while (size < 2 * (size_t)max_batch)
        size *= 2;
    p->taken = lg_xcalloc(size, sizeof(*p->taken));
    p->mask = size - 1;
    p->max_used = (size_t)max_batch;
    p->used = lg_xcalloc(p->max_used, sizeof(*p->used));
    return p;
}

void lg_mix_picker_free(lg_mix_picker_t *p)
{
    if (p == NULL)
        return;
    free(p->taken);
    free(p->used);
    free(p);
}

void lg_mix_batch_begin(lg_mix_picker_t *p)
{
    size_t i;

    for (i = 0; i < p->n_used; i++)
        p->taken[p->used[i]] = 0;
    p->n_used = 0;
}

/* Marks dev taken in this batch; false when it already was. */
static bool take(lg_mix_picker_t *p, uint64_t dev)
{
    size_t h = (size_t)((dev + 1) * 0x9E3779B97F4A7C15ULL >> 17) & p->mask;

    while (p->taken[h] != 0) {
        if (p->taken[h] == dev + 1)
            return false;
        h = (h + 1) & p->mask;
    }
    if (p->n_used == p->max_used)
        return true; /* a batch longer than announced: no longer kept distinct */
    p->taken[h] = dev + 1;
    p->used[p->n_used++] = (uint32_t)h;
    return true;
}

/* A device from the repeat pool: the slot's device, or a fresh one when its reports are used up. */
static uint64_t pick_repeated(lg_mix_picker_t *p)
{
    const lg_mix_opts_t *o = &p->m->o;
    _Atomic uint64_t *slot = &p->m->pool[lg_loadgen_rng_next(&p->rng) % (uint64_t)o->repeat_pool];
    uint64_t v = atomic_load(slot), nv;

    for (;;) {
        if ((v & 0xFF) == 0) {
            uint64_t dev = lg_loadgen_rng_next(&p->rng) % (uint64_t)o->devices;
            uint64_t n =
                (uint64_t)o->repeat_min +
                lg_loadgen_rng_next(&p->rng) % (uint64_t)(o->repeat_max - o->repeat_min + 1);

            nv = dev << 8 | (n - 1);
        } else {
            nv = v - 1;
        }
        if (atomic_compare_exchange_weak(slot, &v, nv))
            return nv >> 8;
    }
}

void lg_mix_pick(lg_mix_picker_t *p, uint64_t *device, uint64_t *cell)
{
    const lg_mix_t *m = p->m;
    const lg_mix_opts_t *o = &m->o;
    uint64_t cells = (uint64_t)o->cell_count, dev, home;
    int tries;

    if (m->pool) {
        dev = pick_repeated(p);
    } else {
        dev = lg_loadgen_rng_next(&p->rng) % (uint64_t)o->devices;
        for (tries = 0; tries < MAX_REDRAWS && !take(p, dev); tries++)
            dev = lg_loadgen_rng_next(&p->rng) % (uint64_t)o->devices;
    }
    home = dev % cells;
    *device = dev;
    *cell = home;
    if (m->phase && (int)(dev % 100) >= 100 - o->movers_percent) {
        /* Home, far, far: another cell at every report, a "left" and a "returned" alert a cycle. */
        if (atomic_fetch_add(&m->phase[dev], 1) % 3 != 0 && cells > 1) {
            *cell = lg_loadgen_rng_next(&p->rng) % cells;
            if (*cell == home)
                *cell = (home + 1) % cells;
        }
        return;
    }
    if (o->home_fraction < 1.0 && lg_loadgen_rng_next(&p->rng) > m->home_threshold)
        *cell = lg_loadgen_rng_next(&p->rng) % cells;
}

bool lg_mix_parse_range(const char *s, int *min, int *max)
{
    char *end;
    long a, b;

    a = strtol(s, &end, 10);
    if (end == s)
        return false;
    b = a;
    if (*end == '-') {
        const char *t = end + 1;

        b = strtol(t, &end, 10);
        if (end == t)
            return false;
    }
    if (*end != '\0' || a < 1 || a > b || b > 255)
        return false;
    *min = (int)a;
    *max = (int)b;
    return true;
}
