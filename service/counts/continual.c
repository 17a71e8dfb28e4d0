/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The continual counter of the per-cell counts (continual.h): the k-ary tree
 * mechanism over the buckets of a horizon, and the per-device bound on the
 * changes it is fed.
 *
 * State per cell and level j: open[j], the exact sum of the changes since
 * the level-j node under way began, and closed[j], the sum of the noisy
 * level-j nodes completed since the level-(j+1) node under way began (digit
 * j of t of them). When bucket t ends, the highest level `top` whose node
 * ends at t (k^top divides t) gets its noise: closed[top] += open[top] +
 * noise; the lower levels' nodes end at t too but are inside that node, so
 * their state is reset without drawing anything. One draw per cell per
 * bucket, and the released count is the sum of closed[].
 *
 * The exact partial sums are the only exact data here; they are wiped when
 * the counter is freed.
 */
#include "locguard/counts/continual.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BRANCHING      64u
#define MAX_HORIZON        (UINT32_C(1) << 30)
#define MAX_MOVES_LIFETIME (UINT32_C(1) << 20)

struct lg_continual {
    lg_continual_config_t cfg;
    size_t n_cells;
    uint32_t levels;  /* L */
    uint32_t t;       /* buckets ended */
    lg_dp_t *dp;      /* noise of epsilon / (L U) */
    int64_t *open;    /* n_cells x L exact partial sums */
    int64_t *closed;  /* n_cells x L sums of noisy completed nodes */
    int64_t *noise;   /* n_cells draws of the bucket under way (whole or nothing) */
    bool is_restored; /* lg_continual_restore was called */
};

lg_continual_config_t lg_continual_config_default(void)
{
    lg_continual_config_t cfg = {
        .horizon_steps = LG_CONTINUAL_DEFAULT_HORIZON_STEPS,
        .branching = LG_CONTINUAL_DEFAULT_BRANCHING,
        .eps_num = LG_CONTINUAL_DEFAULT_EPS_NUM,
        .eps_den = LG_CONTINUAL_DEFAULT_EPS_DEN,
        .moves_per_day = LG_CONTINUAL_DEFAULT_MOVES_PER_DAY,
        .moves_lifetime = LG_CONTINUAL_DEFAULT_MOVES_LIFETIME,
    };
    return cfg;
}

uint32_t lg_continual_levels(const lg_continual_config_t *cfg)
{
    uint32_t levels = 0;
    for (uint64_t v = cfg->horizon_steps; v != 0; v /= cfg->branching)
        levels++;
    return levels;
}

uint32_t lg_continual_units(const lg_continual_config_t *cfg)
{
    return 2 + 2 * cfg->moves_lifetime;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

int lg_continual_node_eps(const lg_continual_config_t *cfg, uint32_t *num, uint32_t *den)
{
    /* L <= 31, U <= 2^21 + 2, eps_den < 2^31: the product fits in 64 bits. */
    uint64_t n = cfg->eps_num;
    uint64_t d = (uint64_t)cfg->eps_den * lg_continual_levels(cfg) * lg_continual_units(cfg);
    uint64_t g = gcd(n, d);
    n /= g;
    d /= g;
    if (n == 0 || d == 0 || n > INT32_MAX || d > INT32_MAX)
        return LG_ERR;
    *num = (uint32_t)n;
    *den = (uint32_t)d;
    return LG_OK;
}

bool lg_continual_config_is_valid(const lg_continual_config_t *cfg)
{
    uint32_t num, den;
    if (cfg->horizon_steps < 1 || cfg->horizon_steps > MAX_HORIZON || cfg->branching < 2 ||
        cfg->branching > MAX_BRANCHING || cfg->eps_num < 1 || cfg->eps_num > INT32_MAX ||
        cfg->eps_den < 1 || cfg->eps_den > INT32_MAX || cfg->moves_per_day < 1 ||
        cfg->moves_lifetime > MAX_MOVES_LIFETIME)
        return false;
    return lg_continual_node_eps(cfg, &num, &den) == LG_OK;
}

uint32_t lg_continual_prefix_nodes(const lg_continual_config_t *cfg, uint32_t t)
{
    uint32_t n = 0;
    for (; t != 0; t /= cfg->branching)
        n += t % cfg->branching;
    return n;
}

lg_continual_t *lg_continual_new(const lg_continual_config_t *cfg, size_t n_cells,
                                 lg_dp_rand_bytes_cb rand_bytes)
{
    uint32_t num, den;
    if (n_cells == 0 || !lg_continual_config_is_valid(cfg) ||
        lg_continual_node_eps(cfg, &num, &den) != LG_OK)
        return NULL;
    lg_continual_t *c = lg_xcalloc(1, sizeof(*c));
    c->cfg = *cfg;
    c->n_cells = n_cells;
    c->levels = lg_continual_levels(cfg);
    c->dp = lg_dp_new(num, den, rand_bytes);
    c->open = lg_xcalloc(n_cells * c->levels, sizeof(*c->open));
    c->closed = lg_xcalloc(n_cells * c->levels, sizeof(*c->closed));
    c->noise = lg_xcalloc(n_cells, sizeof(*c->noise));
    return c;
}

void lg_continual_free(lg_continual_t *c)
{
    if (c == NULL)
        return;
    OPENSSL_cleanse(c->open, c->n_cells * c->levels * sizeof(*c->open));
    OPENSSL_cleanse(c->noise, c->n_cells * sizeof(*c->noise));
    free(c->open);
    free(c->closed);
    free(c->noise);
    lg_dp_free(c->dp);
    free(c);
}

int lg_continual_step(lg_continual_t *c, const int64_t *delta, int64_t *released)
{
    const uint32_t t = c->t + 1, k = c->cfg.branching, levels = c->levels;
    uint32_t top = 0;

    if (t > c->cfg.horizon_steps)
        return LG_ERR;
    /* top: the highest level whose node ends at t, k^top dividing t (top < L as t < k^L). */
    for (uint64_t p = k; top + 1 < levels && t % p == 0; p *= k)
        top++;
    for (size_t i = 0; i < c->n_cells; i++) {
        if (lg_dp_laplace(c->dp, &c->noise[i]) != LG_OK) {
            OPENSSL_cleanse(c->noise, c->n_cells * sizeof(*c->noise));
            return LG_ERR;
        }
    }
    for (size_t i = 0; i < c->n_cells; i++) {
        int64_t *open = c->open + i * levels, *closed = c->closed + i * levels;
        int64_t sum = 0;
        /* Levels below top are reset just after: their changes are in open[top]. */
        for (uint32_t j = top; j < levels; j++)
            open[j] += delta[i];
        /* The nodes below top end here inside the top node: nothing of them is released. */
        for (uint32_t j = 0; j < top; j++)
            open[j] = closed[j] = 0;
        /* |noise| < 2^48 and counts < 2^40 per node: no overflow over 2^30 buckets. */
        closed[top] += open[top] + c->noise[i];
        open[top] = 0;
        for (uint32_t j = 0; j < levels; j++)
            sum += closed[j];
        released[i] = sum;
    }
    OPENSSL_cleanse(c->noise, c->n_cells * sizeof(*c->noise));
    c->t = t;
    return LG_OK;
}

uint32_t lg_continual_steps(const lg_continual_t *c)
{
    return c->t;
}

size_t lg_continual_cells(const lg_continual_t *c)
{
    return c->n_cells;
}

const int64_t *lg_continual_open(const lg_continual_t *c)
{
    return c->open;
}

const int64_t *lg_continual_closed(const lg_continual_t *c)
{
    return c->closed;
}

int lg_continual_restore(lg_continual_t *c, uint32_t t, const int64_t *open, const int64_t *closed)
{
    if (t > c->cfg.horizon_steps || c->t != 0 || c->is_restored)
        return LG_ERR;
    memcpy(c->open, open, c->n_cells * c->levels * sizeof(*c->open));
    memcpy(c->closed, closed, c->n_cells * c->levels * sizeof(*c->closed));
    c->t = t;
    c->is_restored = true;
    return LG_OK;
}

/* ---- the contribution bound ---- */

void lg_continual_device_init(lg_continual_device_t *dev)
{
    memset(dev, 0, sizeof(*dev));
    dev->cell = LG_CONTINUAL_NONE;
    dev->day = INT64_MIN;
}

lg_continual_change_t lg_continual_admit(const lg_continual_config_t *cfg,
                                         lg_continual_device_t *dev, int32_t observed, int64_t day,
                                         int32_t *from, int32_t *to)
{
    const uint32_t units = lg_continual_units(cfg);

    *from = *to = LG_CONTINUAL_NONE;
    if (observed < 0)
        observed = LG_CONTINUAL_NONE;
    if (day != dev->day) {
        dev->day = day;
        dev->moves_today = 0;
    }
    if (observed == dev->cell)
        return LG_CONTINUAL_KEPT;
    if (observed == LG_CONTINUAL_NONE) {
        /* Leaving: its unit was reserved at arrival. */
        *from = dev->cell;
        dev->cell = LG_CONTINUAL_NONE;
        dev->units_spent += 1;
        return LG_CONTINUAL_LEFT;
    }
    if (dev->moves_today >= cfg->moves_per_day)
        return LG_CONTINUAL_HELD;
    if (dev->cell == LG_CONTINUAL_NONE) {
        /* Arriving: 1 unit now, 1 kept for leaving. */
        if (dev->units_spent + 2 > units)
            return LG_CONTINUAL_HELD;
        *to = observed;
        dev->cell = observed;
        dev->units_spent += 1;
        dev->moves_today++;
        return LG_CONTINUAL_ARRIVED;
    }
    /* Moving: 2 units now, 1 kept for leaving. */
    if (dev->moves_released >= cfg->moves_lifetime || dev->units_spent + 3 > units)
        return LG_CONTINUAL_HELD;
    *from = dev->cell;
    *to = observed;
    dev->cell = observed;
    dev->units_spent += 2;
    dev->moves_released++;
    dev->moves_today++;
    return LG_CONTINUAL_MOVED;
}

const char *lg_continual_change_name(lg_continual_change_t change)
{
    switch (change) {
    case LG_CONTINUAL_KEPT:
        return "kept";
    case LG_CONTINUAL_ARRIVED:
        return "arrived";
    case LG_CONTINUAL_MOVED:
        return "moved";
    case LG_CONTINUAL_LEFT:
        return "left";
    case LG_CONTINUAL_HELD:
        return "held";
    }
    return "unknown";
}
