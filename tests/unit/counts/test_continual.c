/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/counts/continual.c, the continual counter with a
 * per-device bound over the horizon: the tree's arithmetic (levels, units,
 * the epsilon per node, the nodes per released count), exactness (two
 * counters fed the same random bytes differ by exactly the difference of
 * the true counts, at every bucket), the noise of a released count (the sum
 * of digit-sum(t) independent discrete Laplace draws: its variance checked
 * against the exact value), whole-or-nothing steps, the end of the horizon,
 * and the contribution bound (a device that stays put pays once; moves per
 * day and per horizon; no device ever spends more than U units, checked
 * over random trajectories).
 *
 * Noise from a ChaCha20 keystream with a fixed key: reproducible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <openssl/evp.h>

#include "locguard/counts/continual.h"

/* ---- the random source ---- */

static EVP_CIPHER_CTX *chacha;
static int fail_after = -1; /* calls before the source fails; -1 = never */

static int chacha_bytes(unsigned char *buf, int n)
{
    int len = 0;
    if (fail_after == 0)
        return 0;
    if (fail_after > 0)
        fail_after--;
    memset(buf, 0, (size_t)n);
    return EVP_EncryptUpdate(chacha, buf, &len, buf, n) == 1 && len == n ? 1 : 0;
}

/* Restarts the keystream at key `seed`. */
static void reseed(unsigned seed)
{
    unsigned char key[32] = {0}, iv[16] = {0};
    key[0] = (unsigned char)seed;
    key[1] = (unsigned char)(seed >> 8);
    if (chacha == NULL)
        chacha = EVP_CIPHER_CTX_new();
    assert_non_null(chacha);
    assert_int_equal(EVP_EncryptInit_ex(chacha, EVP_chacha20(), NULL, key, iv), 1);
    fail_after = -1;
}

static uint64_t rng_state = 42;

/* splitmix64, for the test's data (not the noise). */
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static lg_continual_config_t config(uint32_t horizon, uint32_t k, uint32_t eps_num,
                                    uint32_t eps_den, uint32_t per_day, uint32_t lifetime)
{
    lg_continual_config_t cfg = {horizon, k, eps_num, eps_den, per_day, lifetime};
    return cfg;
}

/* ---- arithmetic ---- */

static void test_levels_units_and_node_epsilon(void **state)
{
    lg_continual_config_t cfg = config(8760, 2, 1, 1, 2, 4);
    uint32_t num, den;

    (void)state;
    assert_int_equal(lg_continual_levels(&cfg), 14); /* 2^13 <= 8760 < 2^14 */
    assert_int_equal(lg_continual_units(&cfg), 10);
    assert_int_equal(lg_continual_node_eps(&cfg, &num, &den), LG_OK);
    assert_int_equal(num, 1);
    assert_int_equal(den, 140);
    cfg.branching = 8;
    assert_int_equal(lg_continual_levels(&cfg), 5); /* 8^4 <= 8760 < 8^5 */
    cfg.eps_num = 10;
    assert_int_equal(lg_continual_node_eps(&cfg, &num, &den), LG_OK);
    assert_int_equal(num, 1); /* 10 / 50 */
    assert_int_equal(den, 5);
    cfg.horizon_steps = 8;
    assert_int_equal(lg_continual_levels(&cfg), 2); /* 8 = "10" in base 8 */
    cfg.horizon_steps = 7;
    assert_int_equal(lg_continual_levels(&cfg), 1);
    assert_int_equal(lg_continual_prefix_nodes(&cfg, 7), 7);
    cfg.horizon_steps = 8760;
    assert_int_equal(lg_continual_prefix_nodes(&cfg, 8), 1);
    assert_int_equal(lg_continual_prefix_nodes(&cfg, 8760), 2 + 1 + 0 + 7 + 0); /* 21070 octal */
    cfg.branching = 2;
    assert_int_equal(lg_continual_prefix_nodes(&cfg, 8760), 5); /* 10001000111000 */
}

static void test_invalid_configs_are_refused(void **state)
{
    static const lg_continual_config_t bad[] = {
        {0, 2, 1, 1, 1, 0},           {8760, 1, 1, 1, 1, 0},           {8760, 65, 1, 1, 1, 0},
        {8760, 2, 0, 1, 1, 0},        {8760, 2, 1, 0, 1, 0},           {8760, 2, 1, 1, 0, 0},
        {8760, 2, 1, 1, 1, 1u << 21}, {8760, 2, 1, 1u << 30, 1, 1000}, /* node den > 2^31 */
    };
    lg_continual_config_t good = lg_continual_config_default();

    (void)state;
    assert_true(lg_continual_config_is_valid(&good));
    lg_continual_free(NULL);
    lg_continual_free(lg_continual_new(&good, 1, NULL));
    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++) {
        assert_false(lg_continual_config_is_valid(&bad[i]));
        assert_null(lg_continual_new(&bad[i], 4, NULL));
    }
    assert_null(lg_continual_new(&good, 0, NULL));
}

/* ---- the counter ---- */

/*
 * Two counters started on the same keystream draw the same noise (one draw
 * per cell per bucket, in cell order): what they release differs by exactly
 * the difference of their true counts, at every bucket. Run one after the
 * other, keeping the first one's outputs.
 */
static void check_exact_by_difference(uint32_t k, uint32_t horizon, size_t n_cells)
{
    lg_continual_config_t cfg = config(horizon, k, 1, 1, 1, 0);
    size_t n_all = (size_t)horizon * n_cells;
    int64_t *delta = calloc(n_cells, sizeof(int64_t)), *x = calloc(n_cells, sizeof(int64_t));
    int64_t *released = calloc(n_all, sizeof(int64_t)), *exact = calloc(n_all, sizeof(int64_t));
    int64_t noisy = 0;

    for (int run = 0; run < 2; run++) {
        lg_continual_t *c;
        reseed(7);
        c = lg_continual_new(&cfg, n_cells, chacha_bytes);
        assert_non_null(c);
        memset(x, 0, n_cells * sizeof(int64_t));
        for (uint32_t t = 1; t <= horizon; t++) {
            int64_t *out = released + (size_t)(t - 1) * n_cells;
            int64_t first[64];
            assert_true(n_cells <= 64);
            if (run == 1)
                memcpy(first, out, n_cells * sizeof(int64_t));
            for (size_t i = 0; i < n_cells; i++) {
                delta[i] = run == 0 ? (int64_t)(next_u64() % 7) - 3 : (int64_t)(next_u64() % 5) - 2;
                x[i] += delta[i];
            }
            assert_int_equal(lg_continual_step(c, delta, out), LG_OK);
            for (size_t i = 0; i < n_cells; i++) {
                size_t at = (size_t)(t - 1) * n_cells + i;
                if (run == 0) {
                    exact[at] = x[i];
                    noisy += out[i] != x[i];
                } else {
                    assert_true(first[i] - out[i] == exact[at] - x[i]);
                }
            }
        }
        assert_int_equal(lg_continual_steps(c), horizon);
        lg_continual_free(c);
    }
    assert_true(noisy > (int64_t)n_all / 2); /* the counter does add noise */
    free(delta);
    free(x);
    free(released);
    free(exact);
}

static void test_counts_are_exact_up_to_the_same_noise(void **state)
{
    (void)state;
    check_exact_by_difference(2, 300, 5);
    check_exact_by_difference(3, 250, 4);
    check_exact_by_difference(8, 600, 3);
    check_exact_by_difference(64, 70, 2);
}

/* Variance of the discrete Laplace with P(z) proportional to e^(-eps |z|). */
static double dlap_variance(double eps)
{
    double q = exp(-eps);
    return 2 * q / ((1 - q) * (1 - q));
}

/*
 * With no data, the count released after bucket t is the sum of
 * prefix_nodes(t) independent draws: its variance over 40000 cells is that
 * many times the draw's (within 5 %, some 7 standard errors), and its mean
 * is 0. Checked at buckets whose digit sums differ.
 */
static void test_noise_is_the_sum_of_the_prefix_nodes(void **state)
{
    lg_continual_config_t cfg = config(600, 8, 1, 1, 1, 0); /* L 4, U 2: node eps 1/8 */
    const size_t n = 40000;
    int64_t *zero = calloc(n, sizeof(int64_t)), *out = calloc(n, sizeof(int64_t));
    uint32_t num, den;
    lg_continual_t *c;

    (void)state;
    reseed(3);
    c = lg_continual_new(&cfg, n, chacha_bytes);
    assert_int_equal(lg_continual_node_eps(&cfg, &num, &den), LG_OK);
    assert_int_equal(num, 1);
    assert_int_equal(den, 8);
    for (uint32_t t = 1; t <= 80; t++) {
        assert_int_equal(lg_continual_step(c, zero, out), LG_OK);
        if (t == 1 || t == 8 || t == 15 || t == 64 || t == 71 || t == 80) {
            double sum = 0, sq = 0,
                   want = lg_continual_prefix_nodes(&cfg, t) * dlap_variance(0.125);
            for (size_t i = 0; i < n; i++) {
                sum += (double)out[i];
                sq += (double)out[i] * (double)out[i];
            }
            double mean = sum / (double)n, var = sq / (double)n - mean * mean;
            print_message("t %u: %u nodes, variance %.1f, expected %.1f\n", t,
                          lg_continual_prefix_nodes(&cfg, t), var, want);
            assert_true(fabs(var / want - 1) < 0.05);
            assert_true(fabs(mean) < 6 * sqrt(want / (double)n));
        }
    }
    lg_continual_free(c);
    free(zero);
    free(out);
}

static void test_step_is_whole_or_nothing(void **state)
{
    lg_continual_config_t cfg = config(16, 2, 1, 1, 1, 0);
    const size_t n = 5000; /* more draws than one 4 KiB refill gives */
    int64_t *delta = calloc(n, sizeof(int64_t)), *out = calloc(n, sizeof(int64_t));
    lg_continual_t *c;

    (void)state;
    reseed(5);
    c = lg_continual_new(&cfg, n, chacha_bytes);
    for (size_t i = 0; i < n; i++) {
        delta[i] = 1;
        out[i] = -777;
    }
    fail_after = 1; /* the first refill works, a later one fails */
    assert_int_equal(lg_continual_step(c, delta, out), LG_ERR);
    assert_int_equal(lg_continual_steps(c), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i] == -777);
    fail_after = -1;
    for (uint32_t t = 1; t <= 16; t++)
        assert_int_equal(lg_continual_step(c, delta, out), LG_OK);
    assert_int_equal(lg_continual_steps(c), 16);
    /* The horizon is over: nothing more is released. */
    out[0] = -777;
    assert_int_equal(lg_continual_step(c, delta, out), LG_ERR);
    assert_true(out[0] == -777);
    assert_int_equal(lg_continual_steps(c), 16);
    lg_continual_free(c);
    free(delta);
    free(out);
}

/*
 * Runs 100 buckets of data from seed data_seed through a counter stopped
 * every 7 buckets and restored from copies of its state in a new counter
 * (as through the database), noise from keystream 9: fills the released
 * and the exact counts.
 */
static void run_interrupted(uint64_t data_seed, int64_t released[100][3], int64_t exact[100][3])
{
    lg_continual_config_t cfg = config(100, 4, 1, 1, 1, 0);
    const size_t n = 3, len = n * lg_continual_levels(&cfg);
    int64_t delta[3], x[3] = {0, 0, 0};
    lg_continual_t *c;

    assert_true(len <= 12);
    reseed(9);
    rng_state = data_seed;
    c = lg_continual_new(&cfg, n, chacha_bytes);
    for (uint32_t t = 1; t <= 100; t++) {
        if (t % 7 == 0) {
            int64_t open[12], closed[12];
            memcpy(open, lg_continual_open(c), len * sizeof(int64_t));
            memcpy(closed, lg_continual_closed(c), len * sizeof(int64_t));
            lg_continual_t *next = lg_continual_new(&cfg, n, chacha_bytes);
            assert_int_equal(lg_continual_restore(next, t - 1, open, closed), LG_OK);
            assert_int_equal(lg_continual_restore(next, t - 1, open, closed), LG_ERR);
            lg_continual_free(c);
            c = next;
            assert_int_equal(lg_continual_steps(c), t - 1);
        }
        for (size_t i = 0; i < n; i++) {
            delta[i] = (int64_t)(next_u64() % 3) - 1;
            x[i] += delta[i];
            exact[t - 1][i] = x[i];
        }
        assert_int_equal(lg_continual_step(c, delta, released[t - 1]), LG_OK);
    }
    assert_int_equal(lg_continual_cells(c), n);
    lg_continual_free(c);
}

/*
 * A counter carried over restores stays exact up to its noise: two data
 * sets through the same interruptions and the same keystream differ by
 * exactly their true difference at every bucket.
 */
static void test_a_restored_counter_stays_exact(void **state)
{
    static int64_t ra[100][3], xa[100][3], rb[100][3], xb[100][3];
    lg_continual_config_t cfg = config(100, 4, 1, 1, 1, 0);
    int noisy = 0;

    (void)state;
    run_interrupted(5, ra, xa);
    run_interrupted(6, rb, xb);
    for (int t = 0; t < 100; t++)
        for (int i = 0; i < 3; i++) {
            assert_true(ra[t][i] - rb[t][i] == xa[t][i] - xb[t][i]);
            noisy += ra[t][i] != xa[t][i];
        }
    assert_true(noisy > 150);

    /* Past the horizon: refused. */
    lg_continual_t *c = lg_continual_new(&cfg, 3, chacha_bytes);
    int64_t zeros[12] = {0};
    assert_int_equal(lg_continual_restore(c, 101, zeros, zeros), LG_ERR);
    assert_int_equal(lg_continual_steps(c), 0);
    lg_continual_free(c);
}

/* ---- the contribution bound ---- */

static void test_a_device_that_stays_pays_once(void **state)
{
    lg_continual_config_t cfg = config(8760, 8, 1, 1, 2, 4);
    lg_continual_device_t dev;
    int32_t from, to;

    (void)state;
    lg_continual_device_init(&dev);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 17, 100, &from, &to), LG_CONTINUAL_ARRIVED);
    assert_int_equal(from, LG_CONTINUAL_NONE);
    assert_int_equal(to, 17);
    for (int64_t day = 100; day < 465; day++)
        for (int h = 0; h < 24; h++) {
            assert_int_equal(lg_continual_admit(&cfg, &dev, 17, day, &from, &to),
                             LG_CONTINUAL_KEPT);
            assert_int_equal(from, LG_CONTINUAL_NONE);
            assert_int_equal(to, LG_CONTINUAL_NONE);
        }
    assert_int_equal(dev.units_spent, 1);
    assert_int_equal(lg_continual_admit(&cfg, &dev, LG_CONTINUAL_NONE, 465, &from, &to),
                     LG_CONTINUAL_LEFT);
    assert_int_equal(from, 17);
    assert_int_equal(dev.units_spent, 2);
}

static void test_moves_are_bounded_per_day_and_per_horizon(void **state)
{
    lg_continual_config_t cfg = config(8760, 8, 1, 1, 2, 3); /* M 2, R 3, U 8 */
    lg_continual_device_t dev;
    int32_t from, to;

    (void)state;
    lg_continual_device_init(&dev);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 1, 0, &from, &to), LG_CONTINUAL_ARRIVED);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 2, 0, &from, &to), LG_CONTINUAL_MOVED);
    assert_int_equal(from, 1);
    assert_int_equal(to, 2);
    /* Day 0 has had its 2 changes: the third is held, the device stays counted in 2. */
    assert_int_equal(lg_continual_admit(&cfg, &dev, 3, 0, &from, &to), LG_CONTINUAL_HELD);
    assert_int_equal(from, LG_CONTINUAL_NONE);
    assert_int_equal(to, LG_CONTINUAL_NONE);
    assert_int_equal(dev.cell, 2);
    /* The next day it may move again, until its 3 moves of the horizon are used. */
    assert_int_equal(lg_continual_admit(&cfg, &dev, 3, 1, &from, &to), LG_CONTINUAL_MOVED);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 4, 1, &from, &to), LG_CONTINUAL_MOVED);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 5, 2, &from, &to), LG_CONTINUAL_HELD);
    assert_int_equal(lg_continual_admit(&cfg, &dev, 5, 200, &from, &to), LG_CONTINUAL_HELD);
    assert_int_equal(dev.cell, 4);
    /* Back in the released cell: nothing to release. */
    assert_int_equal(lg_continual_admit(&cfg, &dev, 4, 200, &from, &to), LG_CONTINUAL_KEPT);
    /* Leaving is always released; 1 + 2 * 3 + 1 = U units spent. */
    assert_int_equal(lg_continual_admit(&cfg, &dev, LG_CONTINUAL_NONE, 200, &from, &to),
                     LG_CONTINUAL_LEFT);
    assert_int_equal(dev.units_spent, lg_continual_units(&cfg));
    /* No unit left for another arrival. */
    assert_int_equal(lg_continual_admit(&cfg, &dev, 9, 300, &from, &to), LG_CONTINUAL_HELD);
    assert_int_equal(dev.cell, LG_CONTINUAL_NONE);
    assert_string_equal(lg_continual_change_name(LG_CONTINUAL_HELD), "held");
}

/*
 * Random trajectories (arrivals, moves, leaving, several a day): the L1 of
 * the changes released for a device never exceeds U, and the bounded
 * counts follow the released changes.
 */
static void test_no_device_exceeds_its_units(void **state)
{
    (void)state;
    for (uint32_t r = 0; r <= 6; r += 3) {
        lg_continual_config_t cfg = config(8760, 8, 1, 1, 1 + r % 4, r);
        for (int dev_i = 0; dev_i < 2000; dev_i++) {
            lg_continual_device_t dev;
            uint32_t l1 = 0;
            int32_t from, to;
            lg_continual_device_init(&dev);
            for (int step = 0; step < 400; step++) {
                uint64_t v = next_u64();
                int32_t observed = v % 5 == 0 ? LG_CONTINUAL_NONE : (int32_t)(v % 4);
                int64_t day = step / 10;
                int32_t before = dev.cell;
                lg_continual_change_t ch =
                    lg_continual_admit(&cfg, &dev, observed, day, &from, &to);
                l1 += (from != LG_CONTINUAL_NONE) + (to != LG_CONTINUAL_NONE);
                assert_true(ch != LG_CONTINUAL_HELD || dev.cell == before);
                assert_true(from == (ch == LG_CONTINUAL_MOVED || ch == LG_CONTINUAL_LEFT
                                         ? before
                                         : LG_CONTINUAL_NONE));
                assert_true(dev.moves_today <= cfg.moves_per_day);
                assert_true(dev.moves_released <= cfg.moves_lifetime);
            }
            assert_true(l1 == dev.units_spent);
            assert_true(l1 + (dev.cell != LG_CONTINUAL_NONE) <= lg_continual_units(&cfg));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_units_and_node_epsilon),
        cmocka_unit_test(test_invalid_configs_are_refused),
        cmocka_unit_test(test_counts_are_exact_up_to_the_same_noise),
        cmocka_unit_test(test_noise_is_the_sum_of_the_prefix_nodes),
        cmocka_unit_test(test_step_is_whole_or_nothing),
        cmocka_unit_test(test_a_restored_counter_stays_exact),
        cmocka_unit_test(test_a_device_that_stays_pays_once),
        cmocka_unit_test(test_moves_are_bounded_per_day_and_per_horizon),
        cmocka_unit_test(test_no_device_exceeds_its_units),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_CIPHER_CTX_free(chacha);
    return rc;
}
