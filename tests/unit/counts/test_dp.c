/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/counts/dp.c, the discrete Laplace sampler: chi-square
 * goodness of fit over a million draws against the exact pmf (computed here in
 * long double: floating point is fine in the test, not in the sampler), the
 * first two moments and the symmetry, known sequences from injected bytes
 * (expected values from an independent Python implementation of the same
 * algorithms reading the same bit order), failures of the random source, and
 * a disassembly of the object file showing no floating-point instruction.
 *
 * The distribution tests read a ChaCha20 keystream with a fixed key, so they
 * are reproducible and cannot flake; LG_DP_SEED=N changes the key and
 * LG_DP_SEED=random uses OpenSSL's RAND_bytes (the production source)
 * instead; a chi-square failure at p = 0.001 is then expected once in a
 * thousand runs of each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libgen.h>
#include <math.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "locguard/counts/dp.h"

/* ---- injected sources ---- */

/* splitmix64 bytes, little-endian per word: easy to reproduce in Python. */
static uint64_t splitmix_state;

static int splitmix_bytes(unsigned char *buf, int n)
{
    for (int i = 0; i < n; i += 8) {
        uint64_t z = (splitmix_state += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        z ^= z >> 31;
        for (int j = 0; j < 8 && i + j < n; j++)
            buf[i + j] = (unsigned char)(z >> (8 * j));
    }
    return 1;
}

static int zero_bytes(unsigned char *buf, int n)
{
    memset(buf, 0, (size_t)n);
    return 1;
}

static int ff_bytes(unsigned char *buf, int n)
{
    memset(buf, 0xff, (size_t)n);
    return 1;
}

static int failing_bytes(unsigned char *buf, int n)
{
    (void)buf;
    (void)n;
    return 0;
}

/* Succeeds calls_left times (splitmix bytes), then fails. */
static int calls_left;

static int failing_later_bytes(unsigned char *buf, int n)
{
    if (calls_left-- <= 0)
        return 0;
    return splitmix_bytes(buf, n);
}

/* ChaCha20 keystream with a key from LG_DP_SEED (default 1). */
static EVP_CIPHER_CTX *chacha;

static int chacha_bytes(unsigned char *buf, int n)
{
    int len = 0;
    memset(buf, 0, (size_t)n);
    return EVP_EncryptUpdate(chacha, buf, &len, buf, n) == 1 && len == n ? 1 : 0;
}

/* The source of the distribution tests; NULL means RAND_bytes. */
static lg_dp_rand_bytes_cb stream_source(void)
{
    const char *seed = getenv("LG_DP_SEED");
    unsigned char key[32] = {0}, iv[16] = {0};
    unsigned long long v = 1;

    if (seed != NULL && strcmp(seed, "random") == 0)
        return NULL;
    if (seed != NULL)
        v = strtoull(seed, NULL, 10);
    for (int i = 0; i < 8; i++)
        key[i] = (unsigned char)(v >> (8 * i));
    EVP_CIPHER_CTX_free(chacha);
    chacha = EVP_CIPHER_CTX_new();
    assert_non_null(chacha);
    assert_int_equal(EVP_EncryptInit_ex(chacha, EVP_chacha20(), NULL, key, iv), 1);
    return chacha_bytes;
}

/* ---- distribution ---- */

#define N_DRAWS 1000000

/*
 * Upper 0.001 point of chi-square with df degrees of freedom, by the
 * Wilson-Hilferty cube approximation (relative error well under 1% for
 * df >= 10; z is the upper 0.001 point of the standard normal).
 */
static long double chi2_critical_0001(int df)
{
    const long double z = 3.090232306167813L;
    long double h = 2.0L / (9.0L * df);
    long double c = 1.0L - h + z * sqrtl(h);
    return df * c * c * c;
}

/*
 * Draws N_DRAWS samples for eps = num/den and checks them against the exact
 * pmf P(k) = (1-q)/(1+q) q^|k|, q = e^-eps: chi-square over the values -K..K
 * and the two tails, K as large as keeps every expected count >= 5; the mean
 * and variance within 5 standard errors of the exact ones; as many positive
 * as negative draws within 5 standard errors.
 */
static void check_distribution(uint32_t num, uint32_t den)
{
    const long double q = expl(-(long double)num / (long double)den);
    const long double c = (1 - q) / (1 + q);
    const long double n = N_DRAWS;
    lg_dp_t *dp = lg_dp_new(num, den, stream_source());
    assert_non_null(dp);

    /* P(X = k) for k >= 0, and P(X > k). */
#define PMF(k)  (c * powl(q, (long double)(k)))
#define TAIL(k) (powl(q, (long double)(k) + 1) / (1 + q))
    int K = 0;
    while (n * PMF(K + 1) >= 5 && n * TAIL(K + 1) >= 5)
        K++;
    int n_bins = 2 * K + 3; /* < -K, -K..K, > K */
    uint64_t *observed = calloc((size_t)n_bins, sizeof(*observed));
    assert_non_null(observed);

    long double sum = 0, sum_sq = 0;
    uint64_t n_pos = 0, n_neg = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        int64_t x;
        assert_int_equal(lg_dp_laplace(dp, &x), LG_OK);
        int bin = x < -K ? 0 : x > K ? n_bins - 1 : (int)(x + K + 1);
        observed[bin]++;
        sum += (long double)x;
        sum_sq += (long double)x * (long double)x;
        n_pos += x > 0;
        n_neg += x < 0;
    }

    long double chi2 = 0;
    for (int b = 0; b < n_bins; b++) {
        long double expected = b == 0 || b == n_bins - 1 ? n * TAIL(K) : n * PMF(abs(b - K - 1));
        long double d = (long double)observed[b] - expected;
        assert_true(expected >= 5);
        chi2 += d * d / expected;
    }
    int df = n_bins - 1;
    long double critical = chi2_critical_0001(df);

    /* Exact moments (the odd ones are 0): sum over |k| up to where q^k vanishes. */
    long double m2 = 0, m4 = 0;
    for (int k = 1; k < 100000 && PMF(k) > 1e-40L; k++) {
        m2 += 2 * PMF(k) * k * k;
        m4 += 2 * PMF(k) * k * k * (long double)k * k;
    }
    long double mean = sum / n, var = sum_sq / n - mean * mean;
    long double mean_se = sqrtl(m2 / n), var_se = sqrtl((m4 - m2 * m2) / n);
    long double sign_se = sqrtl((long double)(n_pos + n_neg));

    print_message("eps=%u/%u: chi2=%.1Lf df=%d critical(p=0.001)=%.1Lf; mean=%.5Lf (se %.5Lf); "
                  "var=%.4Lf exact %.4Lf (se %.4Lf); +%llu -%llu; %llu source calls\n",
                  num, den, chi2, df, critical, mean, mean_se, var, m2, var_se,
                  (unsigned long long)n_pos, (unsigned long long)n_neg,
                  (unsigned long long)lg_dp_rand_calls(dp));
    if (chi2 >= critical)
        fail_msg("eps=%u/%u: chi-square %.1Lf >= %.1Lf (df %d)", num, den, chi2, critical, df);
    if (fabsl(mean) >= 5 * mean_se)
        fail_msg("eps=%u/%u: mean %.5Lf beyond 5 standard errors", num, den, mean);
    if (fabsl(var - m2) >= 5 * var_se)
        fail_msg("eps=%u/%u: variance %.4Lf, exact %.4Lf", num, den, var, m2);
    if (fabsl((long double)n_pos - (long double)n_neg) >= 5 * sign_se)
        fail_msg("eps=%u/%u: %llu positive, %llu negative", num, den, (unsigned long long)n_pos,
                 (unsigned long long)n_neg);
    /* 4 KiB per call: a million draws take a few hundred calls, not millions. */
    assert_true(lg_dp_rand_calls(dp) < N_DRAWS / 100);
#undef PMF
#undef TAIL
    free(observed);
    lg_dp_free(dp);
}

static void test_eps_one_half_matches_exact_pmf(void **state)
{
    (void)state;
    check_distribution(1, 2);
}

static void test_eps_one_matches_exact_pmf(void **state)
{
    (void)state;
    check_distribution(1, 1);
}

/* num > 1 exercises Y = floor(X / num), which eps = 1/2 and 1 do not. */
static void test_eps_three_halves_matches_exact_pmf(void **state)
{
    (void)state;
    check_distribution(3, 2);
}

/* ---- known sequences ---- */

static void test_injected_bytes_give_the_reference_sequence(void **state)
{
    /* From an independent Python implementation, splitmix64 seed 42. */
    static const struct {
        uint32_t num, den;
        int64_t want[24];
    } cases[] = {
        {1, 2, {0, 3,  1,  0, -3, -5, -1, 3, 1,  -2, -5, 2,
                1, -2, -1, 0, 2,  -4, 0,  1, -1, -1, -1, -3}},
        {1, 1, {0, 1, 0, -1, 0, 0, 1, 0, -1, -1, -2, 0, 1, 0, 0, 1, -1, 0, 2, 0, 0, 0, -1, 1}},
        {3, 2, {0, 1, 0, 0, -1, -1, 1, 0, -1, 0, 0, 0, 0, -1, 0, 0, -1, 1, 0, 0, 0, 0, -2, 0}},
        {1, 10, {-21, 0, 4,  -1,  -11, 19, -2, 1, -20, -6, 1,  8,
                 2,   6, 28, -14, 7,   -3, 13, 7, 5,   -3, -8, 10}},
    };
    (void)state;
    for (size_t c = 0; c < LG_ARRAY_SIZE(cases); c++) {
        splitmix_state = 42;
        lg_dp_t *dp = lg_dp_new(cases[c].num, cases[c].den, splitmix_bytes);
        for (int i = 0; i < 24; i++) {
            int64_t x;
            assert_int_equal(lg_dp_laplace(dp, &x), LG_OK);
            if (x != cases[c].want[i])
                fail_msg("eps=%u/%u draw %d: %lld, want %lld", cases[c].num, cases[c].den, i,
                         (long long)x, (long long)cases[c].want[i]);
        }
        assert_int_equal(lg_dp_rand_calls(dp), 1);
        lg_dp_free(dp);
    }
}

static void test_uniform_reads_bit_length_words_and_rejects(void **state)
{
    static const struct {
        uint64_t n, want;
    } cases[] = {
        {1, 0},
        {2, 1},
        {3, 2},
        {10, 8},
        {255, 105},
        {256, 146},
        {257, 156},
        {1000003, 235206},
        {(UINT64_C(1) << 40) + 5, UINT64_C(487897420636)},
        {UINT64_MAX, UINT64_C(17379408591433689601)},
    };
    (void)state;
    splitmix_state = 7;
    lg_dp_t *dp = lg_dp_new(1, 1, splitmix_bytes);
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        uint64_t v;
        assert_int_equal(lg_dp_uniform(dp, cases[i].n, &v), LG_OK);
        if (v != cases[i].want)
            fail_msg("uniform(%llu) gave %llu, want %llu", (unsigned long long)cases[i].n,
                     (unsigned long long)v, (unsigned long long)cases[i].want);
    }
    uint64_t v = 99;
    assert_int_equal(lg_dp_uniform(dp, 0, &v), LG_ERR);
    assert_int_equal(v, 99);
    lg_dp_free(dp);
}

/*
 * All one bits, eps = 1/2, worked by hand: U = 1; Bernoulli(e^-1/2) fails
 * its first Bernoulli(1/2) trial (1 is not < 1), K = 1, kept; Bernoulli(e^-1)
 * passes Bernoulli(1/1) and fails Bernoulli(1/2), K = 2, so V = 0; X = 1,
 * Y = 1, sign bit 1: -1, every time.
 */
static void test_all_one_bits_give_minus_one(void **state)
{
    (void)state;
    lg_dp_t *dp = lg_dp_new(1, 2, ff_bytes);
    for (int i = 0; i < 100; i++) {
        int64_t x = 0;
        assert_int_equal(lg_dp_laplace(dp, &x), LG_OK);
        assert_int_equal(x, -1);
    }
    lg_dp_free(dp);
}

/*
 * All zero bits make every Bernoulli(1/k) trial succeed, so Algorithm 1
 * never ends: the sampler gives up with LG_ERR instead of spinning.
 */
static void test_stuck_zero_source_is_an_error_not_a_hang(void **state)
{
    (void)state;
    lg_dp_t *dp = lg_dp_new(1, 2, zero_bytes);
    int64_t x = 12345;
    assert_int_equal(lg_dp_laplace(dp, &x), LG_ERR);
    assert_int_equal(x, 12345);
    lg_dp_free(dp);
}

/* ---- failures and construction ---- */

static void test_rand_failure_gives_err_and_no_value(void **state)
{
    (void)state;
    lg_dp_t *dp = lg_dp_new(1, 2, failing_bytes);
    int64_t x = 777;
    assert_int_equal(lg_dp_laplace(dp, &x), LG_ERR);
    assert_int_equal(x, 777);
    assert_int_equal(lg_dp_laplace(dp, &x), LG_ERR); /* tries the source again */
    assert_int_equal(x, 777);
    assert_int_equal(lg_dp_rand_calls(dp), 2);
    lg_dp_free(dp);
}

static void test_rand_failure_midway_gives_err_on_that_draw(void **state)
{
    (void)state;
    splitmix_state = 3;
    calls_left = 1;
    lg_dp_t *dp = lg_dp_new(1, 2, failing_later_bytes);
    int64_t x = 0;
    int n_ok = 0;
    while (lg_dp_laplace(dp, &x) == LG_OK)
        n_ok++;
    /* The first 4 KiB lasts hundreds of draws; then every draw fails. */
    assert_true(n_ok > 100);
    x = 555;
    assert_int_equal(lg_dp_laplace(dp, &x), LG_ERR);
    assert_int_equal(x, 555);
    lg_dp_free(dp);
}

static void test_default_source_is_rand_bytes_and_buffered(void **state)
{
    (void)state;
    lg_dp_t *dp = lg_dp_new(1, 2, NULL);
    int64_t x, lo = 0, hi = 0;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(lg_dp_laplace(dp, &x), LG_OK);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    assert_true(lo < 0 && hi > 0);
    assert_true(lg_dp_rand_calls(dp) >= 1 && lg_dp_rand_calls(dp) < 100);
    lg_dp_free(dp);
}

static void test_new_refuses_zero_epsilon_parts(void **state)
{
    (void)state;
    assert_null(lg_dp_new(0, 1, NULL));
    assert_null(lg_dp_new(1, 0, NULL));
    lg_dp_t *dp = lg_dp_new(UINT32_MAX, UINT32_MAX, NULL);
    int64_t x;
    assert_int_equal(lg_dp_laplace(dp, &x), LG_OK);
    lg_dp_free(dp);
    lg_dp_free(NULL);
}

/* ---- no floating point ---- */

/*
 * Disassembles dp.o (built beside this binary: BUILD/tests/test_dp and
 * BUILD/service/counts/dp.o) and fails on any x87 instruction (mnemonics starting
 * with f) or SSE/AVX/MMX/x87 register. The compile-time guarantee is the
 * general-regs-only target in dp.c; this checks the object actually built.
 */
static void test_sampler_object_has_no_floating_point(void **state)
{
    (void)state;
#if defined(__x86_64__)
    char exe[4096], obj[4200], cmd[4400], line[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(obj, sizeof(obj), "%s/../service/counts/dp.o", dirname(exe));
    if (access(obj, R_OK) != 0)
        fail_msg("%s not found", obj);
    snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s' 2>/dev/null", obj);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n_insns = 0, n_fp = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        /* Instruction lines: "  addr:\tmnemonic operands". */
        char *tab = strstr(line, ":\t");
        if (tab == NULL)
            continue;
        const char *insn = tab + 2;
        n_insns++;
        if (insn[0] == 'f' || strstr(insn, "%xmm") || strstr(insn, "%ymm") ||
            strstr(insn, "%zmm") || strstr(insn, "%mm") || strstr(insn, "%st")) {
            print_message("floating point in dp.o: %s", insn);
            n_fp++;
        }
    }
    int rc = pclose(p);
    if (rc != 0 || n_insns < 50)
        skip(); /* no objdump here: the compile-time guarantee still holds under GCC */
    assert_int_equal(n_fp, 0);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eps_one_half_matches_exact_pmf),
        cmocka_unit_test(test_eps_one_matches_exact_pmf),
        cmocka_unit_test(test_eps_three_halves_matches_exact_pmf),
        cmocka_unit_test(test_injected_bytes_give_the_reference_sequence),
        cmocka_unit_test(test_uniform_reads_bit_length_words_and_rejects),
        cmocka_unit_test(test_all_one_bits_give_minus_one),
        cmocka_unit_test(test_stuck_zero_source_is_an_error_not_a_hang),
        cmocka_unit_test(test_rand_failure_gives_err_and_no_value),
        cmocka_unit_test(test_rand_failure_midway_gives_err_on_that_draw),
        cmocka_unit_test(test_default_source_is_rand_bytes_and_buffered),
        cmocka_unit_test(test_new_refuses_zero_epsilon_parts),
        cmocka_unit_test(test_sampler_object_has_no_floating_point),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_CIPHER_CTX_free(chacha);
    return rc;
}
