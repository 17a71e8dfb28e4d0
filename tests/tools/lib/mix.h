/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mix: which device and which cell each generated report names, shared by
 * mme-sim (through the daemon) and ingest-direct (straight into lg_ingest)
 * so that both sides of a bench mix send the same traffic. It knows the
 * bench population of tests/bench/provision.sql: device i has IMSI
 * base + i and home cell i % C, and its authorized area covers its home
 * cell only.
 *
 * Three knobs on top of uniformly random devices:
 *   - the home fraction: a report comes from the device's home cell with
 *     this probability, else from a random cell;
 *   - movers: a fixed share of the devices (i % 100 >= 100 - percent) cycle
 *     home, far, far, home... at every report (each report another cell;
 *     with hysteresis 2 the second far report raises a "left" alert and the
 *     next home report a "returned" one);
 *   - repeats: devices are drawn from a pool shared by every thread, each
 *     device staying in its slot for MIN..MAX reports before a fresh one
 *     replaces it, so the same device lands in several concurrent batches
 *     (several batches of one round trip of the daemon).
 * Without repeats, the devices of one batch are distinct (a device already
 * in the batch is drawn again, a bounded number of times).
 *
 * A lg_mix_t is shared by the threads of a tool (its state is atomic); each
 * thread has its own lg_mix_picker_t.
 */
#ifndef LOCGUARD_TOOLS_MIX_H
#define LOCGUARD_TOOLS_MIX_H

#include <stdbool.h>
#include <stdint.h>

/* The shape of the traffic. */
typedef struct lg_mix_opts {
    long devices;         /* population: device 0 .. devices - 1 */
    long cell_count;      /* cells 0 .. cell_count - 1; device i's home cell is i % cell_count */
    double home_fraction; /* share of non-mover reports from the home cell */
    int movers_percent;   /* 0..100: share of the devices that move at every report */
    int repeat_min;       /* with repeat_max > 0: reports per device in the pool, at least */
    int repeat_max;       /* ... and at most; 0: no pool, uniformly random devices */
    int repeat_pool;      /* devices in the pool at any time */
} lg_mix_opts_t;

/* The traffic shape and its state shared by all threads of a tool. */
typedef struct lg_mix lg_mix_t;

/* A thread's view: its random state and the devices of its current batch. */
typedef struct lg_mix_picker lg_mix_picker_t;

/*
 * Checks o; returns NULL when it is consistent, else a constant string that
 * says what is wrong (for the tool's usage error).
 */
const char *lg_mix_check(const lg_mix_opts_t *o);

/* Returns a new mix for options that passed lg_mix_check (copied). */
lg_mix_t *lg_mix_new(const lg_mix_opts_t *o);

/* Frees m; accepts NULL. The pickers made from it must be freed first. */
void lg_mix_free(lg_mix_t *m);

/*
 * Returns a picker of m for one thread, seeded with seed (0 = the clock)
 * mixed with index, for batches of at most max_batch reports.
 */
lg_mix_picker_t *lg_mix_picker_new(lg_mix_t *m, uint64_t seed, int index, int max_batch);

/* Frees p; accepts NULL. */
void lg_mix_picker_free(lg_mix_picker_t *p);

/* Starts a new batch: the devices of the last one no longer count as taken. */
void lg_mix_batch_begin(lg_mix_picker_t *p);

/* Picks the next report's device (0-based index) and cell (0-based). */
void lg_mix_pick(lg_mix_picker_t *p, uint64_t *device, uint64_t *cell);

/*
 * Parses "MIN-MAX" (1 <= MIN <= MAX <= 255) or a single number into
 * *min and *max; false when s is not that.
 */
bool lg_mix_parse_range(const char *s, int *min, int *max);

#endif
