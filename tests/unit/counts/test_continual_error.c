/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The measurement that chose the continual counter's settings (continual.h):
 * the error of 5 km and 50 km area answers at 1M devices, for today's
 * per-release noise and for the continual counter at several settings, and
 * each one's privacy loss per device over a year. Prints the table that
 * tests/bench/README.md keeps; asserts that the measured noise is the one
 * the mechanism claims (so a broken sampler or a mechanism that stopped
 * adding noise fails here).
 *
 * The population, as `make bench` provisions it: 100,000 square cells on a
 * 317 x 317 grid over lon 2..8, lat 44..50 (about 1.4 x 2.1 km each), and
 * 1,000,000 devices, device i at home in cell i mod 100,000. A year of
 * hourly buckets (8,760). 90 % never move; 5 % commute every day to a cell
 * up to 5 cells away (there from 08:00 to 18:00); 5 % move for good once,
 * on a random day, to a cell up to 20 cells away. Every device is counted
 * from the first bucket.
 *
 * An answer is the sum of the released counts of the cells whose centre
 * lies in the circle, measured against the exact count of devices in those
 * cells, at the 12:00 bucket of days 30, 210 and 364 and the 03:00 bucket
 * of days 120 and 300, over
 * circles centred on random cells. Today's release: the exact count plus a
 * fresh discrete Laplace draw of epsilon 1/2 per cell (release.c). The
 * continual counter: the bounded count (lg_continual_admit run over every
 * device's year: a move beyond the bound leaves the device counted where it
 * was) plus, per cell, the sum of lg_continual_prefix_nodes(t) draws of the
 * node epsilon, which is the distribution of what lg_continual_step
 * releases after bucket t (test_continual.c checks that equality); drawing
 * the nodes of the answered buckets only keeps the run to seconds instead
 * of 876 million draws.
 *
 * LG_CONTINUAL_TABLE=1 measures every row of the table; by default only
 * today's and the chosen settings are measured (a few seconds).
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

#define SIDE      317
#define N_CELLS   100000
#define N_DEVICES 1000000
#define STEP_DEG  (6.0 / SIDE)
#define DAYS      365
#define N_EVAL    5

/* The evaluated buckets: day and hour (commuters are at work from 08:00 to 18:00). */
static const int eval_days[N_EVAL] = {30, 120, 210, 300, 364};
static const int eval_hours[N_EVAL] = {12, 3, 12, 3, 12};

static bool is_at_work(int hour)
{
    return hour >= 8 && hour < 18;
}

/* ---- random sources ---- */

static EVP_CIPHER_CTX *chacha;

static int chacha_bytes(unsigned char *buf, int n)
{
    int len = 0;
    memset(buf, 0, (size_t)n);
    return EVP_EncryptUpdate(chacha, buf, &len, buf, n) == 1 && len == n ? 1 : 0;
}

static void reseed(unsigned seed)
{
    unsigned char key[32] = {0}, iv[16] = {0};
    key[0] = (unsigned char)seed;
    if (chacha == NULL)
        chacha = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(chacha, EVP_chacha20(), NULL, key, iv), 1);
}

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ---- the population ---- */

/* The cell (x, y) clipped to the grid and to the N_CELLS cells provisioned. */
static int32_t cell_at(int x, int y)
{
    x = x < 0 ? 0 : x >= SIDE ? SIDE - 1 : x;
    y = y < 0 ? 0 : y >= SIDE ? SIDE - 1 : y;
    int32_t c = (int32_t)(y * SIDE + x);
    return c < N_CELLS ? c : N_CELLS - 1;
}

/* A cell within `reach` cells of home, not home. */
static int32_t nearby(int32_t home, int reach)
{
    for (;;) {
        int dx = (int)(next_u64() % (2 * (uint64_t)reach + 1)) - reach;
        int dy = (int)(next_u64() % (2 * (uint64_t)reach + 1)) - reach;
        int32_t c = cell_at(home % SIDE + dx, home / SIDE + dy);
        if (c != home)
            return c;
    }
}

typedef enum kind { STAYS, COMMUTES, RELOCATES } kind_t;

typedef struct device {
    kind_t kind;
    int32_t home, other; /* other: work, or the new home */
    int day;             /* the day of the move (RELOCATES) */
} device_t;

static device_t *devices;

/* Exact counts at the evaluated buckets: exact[e * N_CELLS + cell]. */
static int32_t *exact;

static int64_t bucket_of(int day, int hour)
{
    return (int64_t)day * 24 + hour + 1;
}

static void make_population(void)
{
    if (devices != NULL)
        return;
    rng_state = 2026;
    devices = calloc(N_DEVICES, sizeof(*devices));
    exact = calloc((size_t)N_EVAL * N_CELLS, sizeof(*exact));
    assert_non_null(devices);
    assert_non_null(exact);
    for (int32_t i = 0; i < N_DEVICES; i++) {
        device_t *d = &devices[i];
        d->home = i % N_CELLS;
        d->kind = i % 20 == 0 ? COMMUTES : i % 20 == 1 ? RELOCATES : STAYS;
        if (d->kind == COMMUTES)
            d->other = nearby(d->home, 5);
        if (d->kind == RELOCATES) {
            d->other = nearby(d->home, 20);
            d->day = (int)(next_u64() % DAYS);
        }
        for (int e = 0; e < N_EVAL; e++) {
            int32_t at = d->home;
            if ((d->kind == COMMUTES && is_at_work(eval_hours[e])) ||
                (d->kind == RELOCATES && eval_days[e] >= d->day))
                at = d->other;
            exact[e * N_CELLS + at]++;
        }
    }
}

/* Adds the device where it is counted to the bounded counts of evaluated bucket e. */
static void count_at(int32_t *out, int e, const lg_continual_device_t *dev)
{
    if (dev->cell != LG_CONTINUAL_NONE)
        out[e * N_CELLS + dev->cell]++;
}

/*
 * The bounded counts at the evaluated buckets under cfg: every device's
 * year through lg_continual_admit, in bucket order.
 */
static void bounded_counts(const lg_continual_config_t *cfg, int32_t *out)
{
    memset(out, 0, (size_t)N_EVAL * N_CELLS * sizeof(*out));
    for (int32_t i = 0; i < N_DEVICES; i++) {
        const device_t *d = &devices[i];
        lg_continual_device_t dev;
        int32_t from, to;
        int e = 0;
        lg_continual_device_init(&dev);
        (void)lg_continual_admit(cfg, &dev, d->home, 0, &from, &to);
        for (int day = 0; day < DAYS && e < N_EVAL; day++) {
            bool is_eval = day == eval_days[e];
            /* 03:00: at home */
            if (is_eval && !is_at_work(eval_hours[e]))
                count_at(out, e++, &dev);
            if (d->kind == COMMUTES)
                (void)lg_continual_admit(cfg, &dev, d->other, day, &from, &to); /* 08:00 */
            if (d->kind == RELOCATES && day == d->day)
                (void)lg_continual_admit(cfg, &dev, d->other, day, &from, &to); /* 10:00 */
            if (is_eval && is_at_work(eval_hours[e]))
                count_at(out, e++, &dev); /* 12:00 */
            if (d->kind == COMMUTES)
                (void)lg_continual_admit(cfg, &dev, d->home, day, &from, &to); /* 18:00 */
        }
    }
}

/* ---- the areas ---- */

typedef struct area {
    int32_t *cells;
    size_t n;
} area_t;

/* The cells whose centre is within radius_km of cell centre's centre. */
static area_t circle(int32_t centre, double radius_km)
{
    const double lat0 = 44.0 + (centre / SIDE + 0.5) * STEP_DEG;
    const double kx = STEP_DEG * 111.32 * cos(lat0 * M_PI / 180), ky = STEP_DEG * 110.57;
    int rx = (int)(radius_km / kx) + 1, ry = (int)(radius_km / ky) + 1;
    area_t a = {calloc((size_t)(2 * rx + 1) * (2 * ry + 1), sizeof(int32_t)), 0};
    for (int dy = -ry; dy <= ry; dy++)
        for (int dx = -rx; dx <= rx; dx++) {
            int x = centre % SIDE + dx, y = centre / SIDE + dy;
            if (hypot(dx * kx, dy * ky) <= radius_km && x >= 0 && x < SIDE && y >= 0 &&
                y * SIDE + x < N_CELLS)
                a.cells[a.n++] = y * SIDE + x;
        }
    return a;
}

/* A random cell at least margin cells from the grid's edges. */
static int32_t random_centre(int margin)
{
    int x = margin + (int)(next_u64() % (uint64_t)(SIDE - 2 * margin));
    int y = margin + (int)(next_u64() % (uint64_t)(N_CELLS / SIDE - 2 * margin));
    return y * SIDE + x;
}

/* ---- one row of the table ---- */

typedef struct row {
    const char *name;
    bool is_today;
    lg_continual_config_t cfg;
} row_t;

typedef struct result {
    double mean[2], p95[2], bias[2]; /* [0] 5 km, [1] 50 km */
    double noise_sd[2];              /* the noise's standard deviation, from the mechanism */
    double eps_year;
} result_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double dlap_variance(double eps)
{
    double q = exp(-eps);
    return 2 * q / ((1 - q) * (1 - q));
}

static const double radius_km[2] = {5, 50};
static const int n_areas[2] = {100, 10};
static const int trials[2] = {8, 4}; /* per area and evaluated bucket */

static result_t measure(const row_t *row)
{
    result_t res = {0};
    int32_t *counts = row->is_today ? exact : calloc((size_t)N_EVAL * N_CELLS, sizeof(int32_t));
    uint32_t num = 1, den = 2;
    lg_dp_t *dp;

    if (!row->is_today) {
        bounded_counts(&row->cfg, counts);
        assert_int_equal(lg_continual_node_eps(&row->cfg, &num, &den), LG_OK);
        res.eps_year = (double)row->cfg.eps_num / row->cfg.eps_den;
    } else {
        res.eps_year = 0.5 * 24 * DAYS; /* every hourly release of a device counted all year */
    }
    reseed(11);
    dp = lg_dp_new(num, den, chacha_bytes);
    rng_state = 99; /* the same areas for every row */
    for (int s = 0; s < 2; s++) {
        size_t n = (size_t)n_areas[s] * N_EVAL * (size_t)trials[s], at = 0;
        double *err = calloc(n, sizeof(double)), bias_sum = 0, nodes_cells = 0;
        for (int a = 0; a < n_areas[s]; a++) {
            area_t area = circle(random_centre(s == 0 ? 6 : 40), radius_km[s]);
            for (int e = 0; e < N_EVAL; e++) {
                int64_t truth = 0, released = 0;
                uint32_t t = (uint32_t)bucket_of(eval_days[e], eval_hours[e]);
                uint32_t nodes = row->is_today ? 1 : lg_continual_prefix_nodes(&row->cfg, t);
                for (size_t i = 0; i < area.n; i++) {
                    truth += exact[e * N_CELLS + area.cells[i]];
                    released += counts[e * N_CELLS + area.cells[i]];
                }
                nodes_cells += (double)nodes * (double)area.n * trials[s];
                for (int r = 0; r < trials[s]; r++) {
                    int64_t noise = 0;
                    for (size_t i = 0; i < area.n * nodes; i++) {
                        int64_t z;
                        assert_int_equal(lg_dp_laplace(dp, &z), LG_OK);
                        noise += z;
                    }
                    bias_sum += fabs((double)(released - truth));
                    err[at++] = fabs((double)(released + noise - truth));
                }
            }
            free(area.cells);
        }
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += err[i];
        qsort(err, n, sizeof(double), cmp_double);
        res.mean[s] = sum / (double)n;
        res.p95[s] = err[(size_t)(0.95 * (double)(n - 1))];
        res.bias[s] = bias_sum / (double)n;
        res.noise_sd[s] = sqrt(nodes_cells / (double)n * dlap_variance((double)num / den));
        free(err);
    }
    lg_dp_free(dp);
    if (!row->is_today)
        free(counts);
    return res;
}

static lg_continual_config_t cfg_of(uint32_t k, uint32_t eps, uint32_t per_day, uint32_t lifetime)
{
    lg_continual_config_t cfg = {8760, k, eps, 1, per_day, lifetime};
    return cfg;
}

static void print_result(const row_t *row, const result_t *r)
{
    print_message("| %-38s | %8.0f | %7.1f | %7.1f | %7.1f | %7.1f | %6.1f | %6.1f |\n", row->name,
                  r->eps_year, r->mean[0], r->p95[0], r->mean[1], r->p95[1], r->bias[0],
                  r->bias[1]);
}

/*
 * Without bias, the mean absolute error of a sum of many independent draws
 * is close to sqrt(2/pi) times its standard deviation: the measured one
 * must be within 15 % of that, so the noise measured is the noise the
 * mechanism claims (a row whose noise went missing or grew fails).
 */
static void check_noise(const result_t *r)
{
    for (int s = 0; s < 2; s++) {
        double want = sqrt(2 / M_PI) * r->noise_sd[s];
        assert_true(r->mean[s] >= 0.85 * want);
        assert_true(r->mean[s] <= 1.15 * want + r->bias[s]);
    }
}

static void print_header(void)
{
    print_message("| %-38s | %8s | %7s | %7s | %7s | %7s | %6s | %6s |\n", "mechanism", "eps/year",
                  "5km mae", "5km p95", "50km mae", "50km p95", "bias5", "bias50");
}

static void test_error_of_today_and_of_the_chosen_counter(void **state)
{
    const row_t today = {"today: eps 1/2 per hourly release", true, {0}};
    row_t chosen = {"continual, the defaults", false, lg_continual_config_default()};
    result_t r;

    (void)state;
    make_population();
    print_header();
    r = measure(&today);
    print_result(&today, &r);
    check_noise(&r);
    assert_true(r.bias[0] == 0 && r.bias[1] == 0);
    r = measure(&chosen);
    print_result(&chosen, &r);
    check_noise(&r);
    assert_true(r.eps_year == (double)LG_CONTINUAL_DEFAULT_EPS_NUM / LG_CONTINUAL_DEFAULT_EPS_DEN);
}

static void test_the_table(void **state)
{
    static const struct {
        const char *name;
        uint32_t k, eps, per_day, lifetime;
    } rows[] = {
        {"binary tree k 2, eps 10, R 0", 2, 10, 1, 0},
        {"tree k 4, eps 10, R 0", 4, 10, 1, 0},
        {"tree k 8, eps 10, R 0", 8, 10, 1, 0},
        {"tree k 16, eps 10, R 0", 16, 10, 1, 0},
        {"tree k 32, eps 10, R 0 (the defaults)", 32, 10, 1, 0},
        {"tree k 64, eps 10, R 0", 64, 10, 1, 0},
        {"tree k 32, eps 10, M 1, R 1", 32, 10, 1, 1},
        {"tree k 32, eps 10, M 1, R 2", 32, 10, 1, 2},
        {"tree k 32, eps 10, M 2, R 4", 32, 10, 2, 4},
        {"tree k 32, eps 1, R 0", 32, 1, 1, 0},
        {"tree k 32, eps 4, R 0", 32, 4, 1, 0},
        {"tree k 32, eps 10, M 2, R 730 (M/day)", 32, 10, 2, 730},
    };

    (void)state;
    if (getenv("LG_CONTINUAL_TABLE") == NULL) {
        print_message("LG_CONTINUAL_TABLE=1 measures the whole table\n");
        return;
    }
    make_population();
    print_header();
    for (size_t i = 0; i < LG_ARRAY_SIZE(rows); i++) {
        row_t row = {rows[i].name, false,
                     cfg_of(rows[i].k, rows[i].eps, rows[i].per_day, rows[i].lifetime)};
        result_t r = measure(&row);
        print_result(&row, &r);
        check_noise(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_of_today_and_of_the_chosen_counter),
        cmocka_unit_test(test_the_table),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_CIPHER_CTX_free(chacha);
    free(devices);
    free(exact);
    return rc;
}
