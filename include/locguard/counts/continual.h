/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privacy over time: a continual counter of the per-cell device counts with
 * a user-level bound on each device's privacy loss over a whole horizon of
 * buckets (the lifetime of the data, a year of hourly buckets by default),
 * however many releases are made and whatever is asked of them.
 *
 * What is released is not each bucket's count with fresh noise (which costs
 * a device that never moves epsilon in every bucket, without end) but the
 * changes of each cell's count, through the tree mechanism of Dwork, Naor,
 * Pitassi and Rothblum 2010 and Chan, Shi and Song 2011 with branching k
 * (k = 2 is their binary mechanism): the horizon's buckets 1..T are the
 * leaves; a node of level j covers k^j consecutive buckets; each node gets
 * its cell's exact sum of changes over its buckets plus discrete Laplace
 * noise (dp.h) once, when its last bucket ends; the count released for a
 * cell after bucket t is the sum of the noisy nodes that tile [1, t] (the
 * base-k digits of t: digit j of t nodes of level j). Every released count
 * is post-processing of the noisy nodes, and so is any sum or average of
 * them over cells and buckets.
 *
 * The bound. A device's changes are bounded (lg_continual_admit): its
 * arrival in the counts costs 1 unit, a move from one cell to another 2
 * (-1 in the old cell's stream, +1 in the new one's), leaving the counts 1;
 * at most moves_per_day arrivals and moves are released per UTC day and at
 * most moves_lifetime moves over the horizon; a change beyond either bound
 * is not released (the device stays counted where it was last released).
 * So one device adds at most U = 2 + 2 moves_lifetime to the L1 norm of all
 * the cells' change streams, each change lies in one node of each of the L
 * levels, and noise of scale L U / epsilon on every node makes the whole
 * horizon's releases epsilon-differentially private for adding or removing
 * one device (user level). A device that stays in one cell pays at its
 * arrival only: further buckets add zero changes.
 *
 * Pure: no I/O; noise from the same sampler and random source as dp.c
 * (OpenSSL's RAND_bytes unless a source is injected for tests).
 */
#ifndef LOCGUARD_CONTINUAL_H
#define LOCGUARD_CONTINUAL_H

#include "locguard/core/common.h"
#include "locguard/counts/dp.h"

/* A device not in the counts (lg_continual_device_t.cell). */
#define LG_CONTINUAL_NONE (-1)

/* The defaults chosen by measurement (README "The privacy filter", tests/bench/README.md). */
#define LG_CONTINUAL_DEFAULT_HORIZON_STEPS  8760u /* a year of hourly buckets */
#define LG_CONTINUAL_DEFAULT_BRANCHING      32u
#define LG_CONTINUAL_DEFAULT_EPS_NUM        10u /* epsilon per device over the horizon: 10/1 */
#define LG_CONTINUAL_DEFAULT_EPS_DEN        1u
#define LG_CONTINUAL_DEFAULT_MOVES_PER_DAY  1u
#define LG_CONTINUAL_DEFAULT_MOVES_LIFETIME 0u

/* The mechanism's settings. */
typedef struct lg_continual_config {
    uint32_t horizon_steps;  /* T: buckets the tree covers, 1..2^30 */
    uint32_t branching;      /* k: 2..64 */
    uint32_t eps_num;        /* epsilon per device over the horizon = eps_num / eps_den */
    uint32_t eps_den;        /*   (both 1..2^31-1) */
    uint32_t moves_per_day;  /* M: arrivals and moves released per device per UTC day, >= 1 */
    uint32_t moves_lifetime; /* R: moves released per device over the horizon, 0..2^20 */
} lg_continual_config_t;

/* The defaults above. */
lg_continual_config_t lg_continual_config_default(void);

/*
 * True when every setting is in its range and the noise's epsilon per node
 * (lg_continual_node_eps) fits the sampler.
 */
bool lg_continual_config_is_valid(const lg_continual_config_t *cfg);

/* L: levels of the tree, the number of base-k digits of T (a bucket lies in one node of each). */
uint32_t lg_continual_levels(const lg_continual_config_t *cfg);

/* U = 2 + 2 R: the L1 bound of one device's changes over the horizon. */
uint32_t lg_continual_units(const lg_continual_config_t *cfg);

/*
 * The epsilon of each node's noise, epsilon / (L U), as a reduced fraction
 * *num / *den. Returns LG_ERR when the denominator does not fit in 31 bits.
 */
LG_MUST_CHECK int lg_continual_node_eps(const lg_continual_config_t *cfg, uint32_t *num,
                                        uint32_t *den);

/* The noisy nodes summed in the count released after bucket t (1..T): the base-k digit sum of t. */
uint32_t lg_continual_prefix_nodes(const lg_continual_config_t *cfg, uint32_t t);

/* ---- the counter ---- */

typedef struct lg_continual lg_continual_t;

/*
 * Creates a counter of n_cells streams (n_cells >= 1) at bucket 0, all counts
 * 0. rand_bytes is the noise's source (NULL = OpenSSL's RAND_bytes). Returns
 * NULL when cfg is not valid. cfg is copied.
 */
lg_continual_t *lg_continual_new(const lg_continual_config_t *cfg, size_t n_cells,
                                 lg_dp_rand_bytes_cb rand_bytes);

/* Wipes the exact partial sums and frees the counter. Accepts NULL. */
void lg_continual_free(lg_continual_t *c);

/*
 * Ends the next bucket t: delta[i] is the change of cell i's bounded count
 * during it (from lg_continual_admit), and released[i] gets cell i's count
 * released after it (may be negative: noise is not clamped). Both arrays
 * have n_cells entries; they may not overlap. Whole or nothing: returns
 * LG_ERR, with the counter and released untouched, when the horizon is over
 * (t > T) or the random source fails.
 */
LG_MUST_CHECK int lg_continual_step(lg_continual_t *c, const int64_t *delta, int64_t *released);

/* Buckets ended so far (0..T). */
uint32_t lg_continual_steps(const lg_continual_t *c);

/* Cells of the counter. */
size_t lg_continual_cells(const lg_continual_t *c);

/*
 * The counter's state, for storing it between buckets: n_cells x L values,
 * cell by cell (cell i's level j at i * L + j). open holds the exact sums of
 * the nodes under way (exact data: keep it where the exact counts are kept),
 * closed the sums of the noisy nodes completed in the current run of each
 * level. Valid until the next step or free.
 */
const int64_t *lg_continual_open(const lg_continual_t *c);
const int64_t *lg_continual_closed(const lg_continual_t *c);

/*
 * Puts a fresh counter (no step made) in the state stored after bucket t
 * (0..T): open and closed as lg_continual_open/closed gave them, n_cells x
 * L each; a cell with no stored state has zeros (a cell added during the
 * horizon). Returns LG_ERR, changing nothing, when t > T or the counter has
 * already stepped.
 */
LG_MUST_CHECK int lg_continual_restore(lg_continual_t *c, uint32_t t, const int64_t *open,
                                       const int64_t *closed);

/* ---- the contribution bound, per device ---- */

/* One device's bounded state. Start from lg_continual_device_init. */
typedef struct lg_continual_device {
    int32_t cell;            /* the cell it is counted in, or LG_CONTINUAL_NONE */
    int64_t day;             /* the UTC day (Unix seconds / 86400) moves_today counts */
    uint32_t moves_today;    /* arrivals and moves released that day */
    uint32_t moves_released; /* moves released over the horizon */
    uint32_t units_spent;    /* L1 of the changes released over the horizon (<= U) */
} lg_continual_device_t;

/* What lg_continual_admit released for a device. */
typedef enum lg_continual_change {
    LG_CONTINUAL_KEPT = 0, /* nothing changed */
    LG_CONTINUAL_ARRIVED,  /* +1 in *to */
    LG_CONTINUAL_MOVED,    /* -1 in *from, +1 in *to */
    LG_CONTINUAL_LEFT,     /* -1 in *from */
    LG_CONTINUAL_HELD,     /* a change beyond the bound: not released, counted as before */
} lg_continual_change_t;

/* A device not counted, with nothing spent. */
void lg_continual_device_init(lg_continual_device_t *dev);

/*
 * The device is observed in cell `observed` (or LG_CONTINUAL_NONE: not to
 * be counted, e.g. no consent or no recent report) during a bucket of UTC
 * day `day`. Decides what of the change is released, updates *dev, and sets
 * *from / *to to the cells whose counts change (LG_CONTINUAL_NONE when none).
 * Leaving is always released (its unit is reserved at arrival); an arrival
 * or a move is released only within moves_per_day, moves_lifetime and U.
 */
lg_continual_change_t lg_continual_admit(const lg_continual_config_t *cfg,
                                         lg_continual_device_t *dev, int32_t observed, int64_t day,
                                         int32_t *from, int32_t *to);

/* A constant name for a change ("kept", "arrived", ...). */
const char *lg_continual_change_name(lg_continual_change_t change);

#endif
