/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The differencing attack on the privacy filter (issue 4, "Must show"),
 * measured over many simulated releases.
 *
 * The attacker asks for area A, then for A plus one cell C that holds a
 * single device (or none), and must tell "device present" from "absent".
 * Every answer of sql/counts.sql lg_counts_query is post-processing of one
 * release (noisy per-cell counts from service/counts/release.c), so the test
 * simulates that release with the real sampler (service/counts/dp.c, lg_dp_laplace
 * added to every cell's count, as release.c does) and then answers both
 * queries exactly as the SQL does: the sum of the noisy counts of the
 * touched cells, partial cells weighted by their overlapped share (here one
 * cell P shared 37/100 by both queries), rounded half away from zero
 * (PostgreSQL's round(numeric)), suppressed below k
 * (DENSITY_BELOW_PRIVACY_THRESHOLD). A release of epsilon-DP noise allows any
 * test an advantage TPR - FPR of at most (e^eps - 1)/(e^eps + 1), which is
 * tanh(eps/2); discrete Laplace noise on a count reaches it exactly with the
 * threshold test on the difference, so the measured advantage must sit at
 * (never above) the bound.
 *
 * Sampling slack. Scenario 1 (A well above k, never suppressed): the attacker
 * takes the best threshold on D = answer(A+C) - answer(A); the advantage of
 * the best threshold is sup_t |F_present(t) - F_absent(t)|, and by the
 * Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant) each empirical
 * CDF is within eta of the true one everywhere with probability at least
 * 1 - 2 exp(-2 n eta^2); with n = 200000 draws per world and eta = 0.0075
 * the empirical supremum exceeds the true one by more than 2 eta = 0.015
 * with probability below 4 exp(-22.5) < 1e-9. Scenario 2 (A near k, answers often
 * suppressed): the attacker's best test over the whole observation (both
 * answers, suppressed or not) is learnt on training draws (say "present"
 * exactly where the training draws saw that observation more often in the
 * present world) and its advantage measured on fresh draws; for one fixed
 * test Hoeffding bounds each rate's error by eta with probability at least
 * 1 - 2 exp(-2 n eta^2), so the same 0.015 slack holds.
 *
 * Each measurement can fail: the same attack against the release without
 * noise has advantage 1, and against noise of a larger epsilon than the one
 * claimed it exceeds the bound of the claimed epsilon.
 *
 * The noise is read from a ChaCha20 keystream with a fixed key, so the test
 * is reproducible; LG_PRIVACY_SEED=N changes the key and
 * LG_PRIVACY_SEED=random uses OpenSSL's RAND_bytes (the production source),
 * where a spurious failure has probability below 1e-8.
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
#include "locguard/counts/dp.h"

#define DRAWS 200000 /* simulated releases per world (and per half in scenario 2) */
#define SLACK 0.015  /* 2 eta, eta = 0.0075: see the file comment */

/* ---- the random source ---- */

static EVP_CIPHER_CTX *chacha;

static int chacha_bytes(unsigned char *buf, int n)
{
    int len = 0;
    memset(buf, 0, (size_t)n);
    return EVP_EncryptUpdate(chacha, buf, &len, buf, n) == 1 && len == n ? 1 : 0;
}

/* The noise source: ChaCha20 keyed by LG_PRIVACY_SEED (default 1), or NULL for RAND_bytes. */
static lg_dp_rand_bytes_cb source(void)
{
    const char *seed = getenv("LG_PRIVACY_SEED");
    unsigned char key[32] = {0}, iv[16] = {0};
    unsigned long long v = 1;

    if (seed != NULL && strcmp(seed, "random") == 0)
        return NULL;
    if (seed != NULL)
        v = strtoull(seed, NULL, 10);
    for (int i = 0; i < 8; i++)
        key[i] = (unsigned char)(v >> (8 * i));
    if (chacha == NULL)
        chacha = EVP_CIPHER_CTX_new();
    assert_non_null(chacha);
    assert_int_equal(EVP_EncryptInit_ex(chacha, EVP_chacha20(), NULL, key, iv), 1);
    return chacha_bytes;
}

/* The source as it is: continued, not restarted (one key for many counters). */
static lg_dp_rand_bytes_cb source_continued(void)
{
    static lg_dp_rand_bytes_cb cb;
    static bool is_set;
    if (!is_set) {
        cb = source();
        is_set = true;
    }
    return cb;
}

/* ---- the release and the query, as release.c and lg_counts_query do them ---- */

/*
 * The world: cells of A (fully inside both queries), the partial cell P
 * (share 37/100 in both queries) and the target cell C (only in the second).
 */
#define A_CELLS     4
#define P_SHARE_NUM 37
#define P_SHARE_DEN 100
#define SUPPRESSED  INT64_MIN /* DENSITY_BELOW_PRIVACY_THRESHOLD: no count */

typedef struct world {
    int64_t a[A_CELLS]; /* exact counts of A's cells */
    int64_t p;          /* exact count of P */
    int64_t c;          /* exact count of C: 1 (present) or 0 (absent) */
    int k;              /* the suppression threshold */
} world_t;

/* What the attacker sees: the answers to A and to A + C. */
typedef struct observation {
    int64_t a, ac;
} observation_t;

/* round(num / den) half away from zero, den > 0: PostgreSQL's round(numeric). */
static int64_t round_half_away(int64_t num, int64_t den)
{
    int64_t q = (llabs(num) * 2 + den) / (2 * den);
    return num < 0 ? -q : q;
}

/* One answer: sum of full cells + share of P, rounded, suppressed below k. */
static int64_t answer(int64_t full_sum, int64_t noisy_p, int k)
{
    int64_t v = round_half_away(full_sum * P_SHARE_DEN + noisy_p * P_SHARE_NUM, P_SHARE_DEN);
    return v < k ? SUPPRESSED : v;
}

/* Noise of one cell: a draw of dp, or 0 when dp is NULL (the release without noise). */
static int64_t noise(lg_dp_t *dp)
{
    int64_t z = 0;
    if (dp != NULL)
        assert_int_equal(lg_dp_laplace(dp, &z), LG_OK);
    return z;
}

/* One release of the world's cells, and the attacker's two queries over it. */
static observation_t observe(lg_dp_t *dp, const world_t *w)
{
    int64_t sum_a = 0, noisy_p, noisy_c;
    observation_t o;

    for (int i = 0; i < A_CELLS; i++)
        sum_a += w->a[i] + noise(dp);
    noisy_p = w->p + noise(dp);
    noisy_c = w->c + noise(dp);
    o.a = answer(sum_a, noisy_p, w->k);
    o.ac = answer(sum_a + noisy_c, noisy_p, w->k);
    return o;
}

/* The bound of an epsilon-DP release on any test's advantage: (e^eps - 1)/(e^eps + 1). */
static double dp_bound(double eps)
{
    return (exp(eps) - 1) / (exp(eps) + 1);
}

/* ---- scenario 1: the best threshold on the difference ---- */

#define D_RANGE 400 /* differences kept in [-D_RANGE, D_RANGE]: far beyond any draw */

/*
 * The empirical advantage of the best threshold test "present when D >= t"
 * (either direction) over DRAWS releases of each world.
 */
static double threshold_advantage(lg_dp_t *dp, world_t w)
{
    static long hist[2][2 * D_RANGE + 2];
    double best = 0, cum[2] = {0, 0};

    memset(hist, 0, sizeof(hist));
    for (int present = 0; present <= 1; present++) {
        w.c = present;
        for (int i = 0; i < DRAWS; i++) {
            observation_t o = observe(dp, &w);
            int64_t d;
            /* A is far above k in this scenario: a suppressed answer would be a bug. */
            assert_true(o.a != SUPPRESSED && o.ac != SUPPRESSED);
            d = o.ac - o.a;
            assert_true(d >= -D_RANGE && d <= D_RANGE);
            hist[present][d + D_RANGE]++;
        }
    }
    /* sup over t of |P_present(D < t) - P_absent(D < t)|, from the top down equally. */
    for (int t = 0; t <= 2 * D_RANGE + 1; t++) {
        double gap;
        cum[0] += (double)hist[0][t] / DRAWS;
        cum[1] += (double)hist[1][t] / DRAWS;
        gap = fabs(cum[0] - cum[1]);
        if (gap > best)
            best = gap;
    }
    return best;
}

/* A with 1000 devices over its four cells, P with 7, k = 10: never suppressed. */
static world_t busy_world(void)
{
    world_t w = {{260, 240, 255, 245}, 7, 0, 10};
    return w;
}

static void test_differencing_attack_stays_within_epsilon(void **state)
{
    static const uint32_t eps[][2] = {{1, 2}, {1, 1}, {1, 10}};

    (void)state;
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        lg_dp_t *dp = lg_dp_new(eps[i][0], eps[i][1], source());
        double e = (double)eps[i][0] / eps[i][1];
        double adv = threshold_advantage(dp, busy_world());
        double bound = dp_bound(e);

        print_message("eps %u/%u: differencing advantage %.4f, bound %.4f (+ slack %.3f)\n",
                      eps[i][0], eps[i][1], adv, bound, SLACK);
        assert_true(adv <= bound + SLACK);
        /* Discrete Laplace noise reaches the bound: a much lower figure would mean the
         * measurement no longer sees the device (and so could not fail). */
        assert_true(adv >= bound - SLACK);
        lg_dp_free(dp);
    }
}

static void test_differencing_attack_without_noise_succeeds(void **state)
{
    (void)state;
    double adv = threshold_advantage(NULL, busy_world());
    print_message("no noise: differencing advantage %.4f, bound for eps 1/2 %.4f\n", adv,
                  dp_bound(0.5));
    assert_true(adv == 1.0);
    assert_true(adv > dp_bound(0.5) + SLACK);
}

static void test_differencing_attack_exceeds_the_bound_of_a_smaller_claimed_epsilon(void **state)
{
    /* Noise for eps = 2 measured against the bound of the configured eps = 1/2. */
    lg_dp_t *dp = lg_dp_new(2, 1, source());
    double adv = threshold_advantage(dp, busy_world());

    (void)state;
    print_message("eps 2 noise: advantage %.4f, bound for eps 1/2 %.4f\n", adv, dp_bound(0.5));
    assert_true(adv > dp_bound(0.5) + SLACK);
    lg_dp_free(dp);
}

/* ---- scenario 2: A near k, the whole observation, a test learnt then measured ---- */

#define V_MAX 200 /* answers kept in [k, V_MAX]; slot 0 = suppressed */

static size_t key_of(observation_t o, int k)
{
    size_t a = o.a == SUPPRESSED ? 0 : (size_t)(o.a - k + 1);
    size_t ac = o.ac == SUPPRESSED ? 0 : (size_t)(o.ac - k + 1);
    assert_true(a <= V_MAX && ac <= V_MAX);
    return a * (V_MAX + 1) + ac;
}

/*
 * Learns on DRAWS releases per world the test "present where the present
 * world produced this observation more often", then returns its advantage
 * on DRAWS fresh releases per world. *suppressed gets the share of fresh
 * answers to A that were suppressed.
 */
static double learnt_advantage(lg_dp_t *dp, world_t w, double *suppressed)
{
    const size_t n_keys = (size_t)(V_MAX + 1) * (V_MAX + 1);
    long *train = calloc(2 * n_keys, sizeof(*train));
    double rate[2] = {0, 0};
    long n_suppressed = 0;

    assert_non_null(train);
    for (int present = 0; present <= 1; present++) {
        w.c = present;
        for (int i = 0; i < DRAWS; i++)
            train[present * n_keys + key_of(observe(dp, &w), w.k)]++;
    }
    for (int present = 0; present <= 1; present++) {
        long says_present = 0;
        w.c = present;
        for (int i = 0; i < DRAWS; i++) {
            observation_t o = observe(dp, &w);
            size_t key = key_of(o, w.k);
            if (o.a == SUPPRESSED)
                n_suppressed++;
            if (train[n_keys + key] > train[key])
                says_present++;
        }
        rate[present] = (double)says_present / DRAWS;
    }
    free(train);
    *suppressed = (double)n_suppressed / (2.0 * DRAWS);
    return fabs(rate[1] - rate[0]);
}

/* A with 12 devices (k = 10): without noise both answers show; with it, often not. */
static world_t sparse_world(void)
{
    world_t w = {{4, 3, 3, 2}, 2, 0, 10};
    return w;
}

static void test_differencing_near_k_stays_within_epsilon(void **state)
{
    lg_dp_t *dp = lg_dp_new(1, 2, source());
    double suppressed, adv = learnt_advantage(dp, sparse_world(), &suppressed);

    (void)state;
    print_message("near k, eps 1/2: advantage %.4f, bound %.4f, A suppressed in %.1f%%\n", adv,
                  dp_bound(0.5), 100 * suppressed);
    assert_true(suppressed > 0.05); /* the scenario exercises suppression */
    assert_true(adv <= dp_bound(0.5) + SLACK);
    lg_dp_free(dp);
}

static void test_differencing_near_k_without_noise_succeeds(void **state)
{
    double suppressed, adv = learnt_advantage(NULL, sparse_world(), &suppressed);

    (void)state;
    assert_true(suppressed == 0);
    assert_true(adv == 1.0);
}

/* ---- over time: a year of hourly releases, every interval length ---- */

/*
 * Issue 16: one release leaks no more than its epsilon, but averaging the
 * releases of an interval did, without limit, under today's per-release
 * noise. The attack here: the world is a cell A with 1000 devices and the
 * target cell C holding one device that never moves (or none), for a year
 * of hourly buckets (8760). After the year the attacker asks for A and for
 * A + C over an interval of every length from 1 hour to the whole year,
 * anchored at either end of the year, each answer being what
 * lg_counts_query answers over the releases in the interval: the mean of
 * their sums, rounded half away from zero, suppressed below k (never here:
 * A is far above k). For each length, the best threshold on D = answer(A +
 * C) - answer(A), clipped to [-YEAR_CLIP, YEAR_CLIP] (post-processing, so
 * no loss to the attacker within the range), must not tell "present" from
 * "absent" with an advantage above (e^eps - 1)/(e^eps + 1) for the
 * configured lifetime epsilon, plus the sampling slack.
 *
 * Slack: YEAR_DRAWS simulated years per world. By the DKW inequality each
 * empirical CDF is within eta of the true one everywhere with probability
 * at least 1 - 2 exp(-2 n eta^2); over 2 anchors x 8760 lengths x 2 worlds
 * a union bound gives a failure probability below 35040 * 2 exp(-2 n eta^2)
 * < 1e-6 with n = 2000 and eta = 0.08, so slack 2 eta = 0.16.
 *
 * The releases are the real mechanisms: continual.c's counter (fed by
 * lg_continual_admit for the target device) with lifetime epsilon 1, and
 * release.c's today's (a fresh lg_dp_laplace draw of epsilon 1/2 per cell
 * per release). The same test must fail against today's, and it does.
 */

#define YEAR       8760
#define YEAR_DRAWS 2000
#define YEAR_SLACK 0.16
#define YEAR_CLIP  64
#define YEAR_BINS  (2 * YEAR_CLIP + 1)

/* Fills the released counts of A and C after each bucket of the year. */
typedef void (*year_release_fn)(void *mech, bool is_present, int64_t *a, int64_t *c);

static void continual_year(void *mech, bool is_present, int64_t *a, int64_t *c)
{
    const lg_continual_config_t *cfg = mech;
    lg_continual_t *counter = lg_continual_new(cfg, 2, source_continued());
    lg_continual_device_t target;
    int64_t delta[2], out[2];
    int32_t from, to;

    assert_non_null(counter);
    lg_continual_device_init(&target);
    for (int t = 1; t <= YEAR; t++) {
        delta[0] = t == 1 ? 1000 : 0; /* A's devices arrive at the first bucket and stay */
        delta[1] = 0;
        if (is_present) {
            lg_continual_change_t ch =
                lg_continual_admit(cfg, &target, 1, (t - 1) / 24, &from, &to);
            assert_true(ch == (t == 1 ? LG_CONTINUAL_ARRIVED : LG_CONTINUAL_KEPT));
            if (to == 1)
                delta[1]++;
        }
        assert_int_equal(lg_continual_step(counter, delta, out), LG_OK);
        a[t - 1] = out[0];
        c[t - 1] = out[1];
    }
    lg_continual_free(counter);
}

static void today_year(void *mech, bool is_present, int64_t *a, int64_t *c)
{
    for (int t = 0; t < YEAR; t++) {
        a[t] = 1000 + noise(mech);
        c[t] = (is_present ? 1 : 0) + noise(mech);
    }
}

/*
 * The largest advantage, over both anchors and every interval length, of
 * the best threshold on D. *at_len gets the length where it was reached.
 */
static double year_advantage(year_release_fn release, void *mech, int *at_len)
{
    const size_t n_hist = (size_t)2 * 2 * YEAR * YEAR_BINS;
    uint32_t *hist = calloc(n_hist, sizeof(*hist));
    int64_t *a = calloc(YEAR, sizeof(int64_t)), *c = calloc(YEAR, sizeof(int64_t));
    int64_t *sa = calloc(YEAR + 1, sizeof(int64_t)), *sc = calloc(YEAR + 1, sizeof(int64_t));
    const int k = 10;
    double best = 0;

    assert_non_null(hist);
    for (int present = 0; present <= 1; present++) {
        for (int n = 0; n < YEAR_DRAWS; n++) {
            release(mech, present == 1, a, c);
            for (int t = 0; t < YEAR; t++) {
                sa[t + 1] = sa[t] + a[t];
                sc[t + 1] = sc[t] + c[t];
            }
            for (int anchor = 0; anchor < 2; anchor++)
                for (int len = 1; len <= YEAR; len++) {
                    int from = anchor == 0 ? 0 : YEAR - len;
                    int64_t sum_a = sa[from + len] - sa[from], sum_c = sc[from + len] - sc[from];
                    int64_t ans_a = round_half_away(sum_a, len);
                    int64_t ans_ac = round_half_away(sum_a + sum_c, len);
                    int64_t d = ans_ac - ans_a;
                    assert_true(ans_a >= k && ans_ac >= k); /* never suppressed here */
                    d = d < -YEAR_CLIP ? -YEAR_CLIP : d > YEAR_CLIP ? YEAR_CLIP : d;
                    hist[(((size_t)anchor * 2 + present) * YEAR + (len - 1)) * YEAR_BINS +
                         (size_t)(d + YEAR_CLIP)]++;
                }
        }
    }
    for (int anchor = 0; anchor < 2; anchor++)
        for (int len = 1; len <= YEAR; len++) {
            const uint32_t *h0 = hist + (((size_t)anchor * 2 + 0) * YEAR + (len - 1)) * YEAR_BINS;
            const uint32_t *h1 = hist + (((size_t)anchor * 2 + 1) * YEAR + (len - 1)) * YEAR_BINS;
            double cum0 = 0, cum1 = 0;
            for (int b = 0; b < YEAR_BINS; b++) {
                cum0 += (double)h0[b] / YEAR_DRAWS;
                cum1 += (double)h1[b] / YEAR_DRAWS;
                if (fabs(cum0 - cum1) > best) {
                    best = fabs(cum0 - cum1);
                    *at_len = anchor == 0 ? len : -len;
                }
            }
        }
    free(hist);
    free(a);
    free(c);
    free(sa);
    free(sc);
    return best;
}

static void test_a_year_of_intervals_stays_within_the_lifetime_epsilon(void **state)
{
    lg_continual_config_t cfg = lg_continual_config_default();
    int at_len = 0;
    double adv, bound;

    (void)state;
    cfg.eps_num = 1; /* lifetime epsilon 1: a bound (0.46) far from the trivial 1 */
    cfg.eps_den = 1;
    bound = dp_bound(1.0);
    adv = year_advantage(continual_year, &cfg, &at_len);
    print_message("continual, lifetime eps 1: best advantage over every interval %.4f "
                  "(length %d h, negative: the last hours), bound %.4f (+ slack %.2f)\n",
                  adv, at_len, bound, YEAR_SLACK);
    assert_true(adv <= bound + YEAR_SLACK);
    /* The measurement sees the device (a stationary device spends half of U: the bound
     * of eps 1/2, 0.245, is what it could reach). */
    assert_true(adv > 0.05);
}

static void test_a_year_of_intervals_breaks_todays_per_release_noise(void **state)
{
    lg_dp_t *dp = lg_dp_new(1, 2, source());
    int at_len = 0;
    double adv = year_advantage(today_year, dp, &at_len);

    (void)state;
    print_message("today's noise (eps 1/2 per release): best advantage %.4f (length %d h), "
                  "bound for lifetime eps 1 %.4f (+ slack %.2f)\n",
                  adv, at_len, dp_bound(1.0), YEAR_SLACK);
    /* The same test, the same bound: today's release fails it. */
    assert_true(adv > dp_bound(1.0) + YEAR_SLACK);
    lg_dp_free(dp);
}

/* ---- the rounding itself ---- */

static void test_rounding_is_half_away_from_zero(void **state)
{
    (void)state;
    assert_int_equal(round_half_away(250, 100), 3);
    assert_int_equal(round_half_away(249, 100), 2);
    assert_int_equal(round_half_away(-250, 100), -3);
    assert_int_equal(round_half_away(-249, 100), -2);
    assert_int_equal(round_half_away(0, 100), 0);
    assert_true(answer(9, 0, 10) == SUPPRESSED);
    assert_int_equal(answer(9, 2, 10), 10);      /* 9 + 0.74 = 9.74 -> 10 */
    assert_true(answer(9, 1, 10) == SUPPRESSED); /* 9.37 -> 9 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_is_half_away_from_zero),
        cmocka_unit_test(test_differencing_attack_stays_within_epsilon),
        cmocka_unit_test(test_differencing_attack_without_noise_succeeds),
        cmocka_unit_test(test_differencing_attack_exceeds_the_bound_of_a_smaller_claimed_epsilon),
        cmocka_unit_test(test_differencing_near_k_stays_within_epsilon),
        cmocka_unit_test(test_differencing_near_k_without_noise_succeeds),
        cmocka_unit_test(test_a_year_of_intervals_stays_within_the_lifetime_epsilon),
        cmocka_unit_test(test_a_year_of_intervals_breaks_todays_per_release_noise),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_CIPHER_CTX_free(chacha);
    return rc;
}
