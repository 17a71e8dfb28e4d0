/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The discrete Laplace sampler of the privacy filter (Canonne, Kamath,
 * Steinke 2020, Algorithms 1 and 2), in integer arithmetic only. Random bytes
 * come 4 KiB at a time from RAND_bytes (or the injected source) into a buffer
 * that is consumed bit by bit; uniform integers in [0, n) are drawn by
 * rejection of bit-length-wide words, so every sample is exact, with no
 * modulo bias and no rounding. Callers: release.c, once per cell per bucket.
 *
 * No floating point: on GCC for x86 and AArch64 the code after the includes
 * is compiled with target("general-regs-only"), so any float, double or long
 * double operation, even one the optimiser would introduce, is a compile
 * error. tests/unit/counts/test_dp.c also disassembles the object and looks for
 * SSE/x87 instructions.
 *
 * Loops that end with probability one are still bounded, so a broken source
 * (all zero bytes, say) gives LG_ERR instead of spinning: the bounds are
 * reached with probability below 2^-1000 from a working source, far below
 * anything that could bias a release.
 */
#include "locguard/counts/dp.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>

#if defined(__GNUC__) && !defined(__clang__) &&                                                    \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
#pragma GCC target("general-regs-only")
#endif

/* Bytes asked of the random source per call. */
#define POOL_BYTES 4096

/* Bounds on loops that end with probability one (see the file comment). */
#define MAX_REJECTIONS 2048       /* uniform: each try is rejected with probability < 1/2 */
#define MAX_K          1000       /* Algorithm 1: P(K > k) = gamma^k / k! with gamma <= 1 */
#define MAX_V          (1u << 16) /* geometric: P(V >= v) = e^-v */
#define MAX_ATTEMPTS   4096       /* Algorithm 2: each attempt is accepted with probability > 1/6 */

struct lg_dp {
    uint32_t eps_num; /* eps = eps_num / eps_den */
    uint32_t eps_den;
    lg_dp_rand_bytes_cb rand_bytes; /* the source, RAND_bytes by default */
    uint64_t rand_calls;            /* calls made to the source */
    uint64_t acc;                   /* bits read from the pool, not yet used: the low n_acc */
    unsigned n_acc;
    size_t pos; /* next unread byte of pool */
    size_t len; /* bytes of pool filled by the last call */
    unsigned char pool[POOL_BYTES];
};

/* Forgets every buffered random bit. */
static void wipe(lg_dp_t *dp)
{
    OPENSSL_cleanse(dp->pool, sizeof(dp->pool));
    OPENSSL_cleanse(&dp->acc, sizeof(dp->acc));
    dp->n_acc = 0;
    dp->pos = dp->len = 0;
}

/* Reads the next byte of the stream, refilling the pool when it is empty. */
static int next_byte(lg_dp_t *dp, unsigned *out)
{
    if (dp->pos == dp->len) {
        dp->rand_calls++;
        if (dp->rand_bytes(dp->pool, (int)sizeof(dp->pool)) != 1) {
            wipe(dp);
            return LG_ERR;
        }
        dp->pos = 0;
        dp->len = sizeof(dp->pool);
    }
    *out = dp->pool[dp->pos];
    dp->pool[dp->pos++] = 0;
    return LG_OK;
}

/*
 * The next k (1..32) bits of the stream as an integer, most significant
 * first: byte by byte, and within a byte from its top bit down.
 */
static int take_bits(lg_dp_t *dp, unsigned k, uint64_t *out)
{
    while (dp->n_acc < k) {
        unsigned byte;
        if (next_byte(dp, &byte) != LG_OK)
            return LG_ERR;
        dp->acc = (dp->acc << 8) | byte;
        dp->n_acc += 8;
    }
    dp->n_acc -= k;
    *out = (dp->acc >> dp->n_acc) & ((UINT64_C(1) << k) - 1);
    dp->acc &= (UINT64_C(1) << dp->n_acc) - 1;
    return LG_OK;
}

/* Number of bits needed to write v (0 for 0). */
static unsigned bit_length(uint64_t v)
{
    unsigned n = 0;
    while (v != 0) {
        n++;
        v >>= 1;
    }
    return n;
}

int lg_dp_uniform(lg_dp_t *dp, uint64_t n, uint64_t *out)
{
    if (n == 0)
        return LG_ERR;
    if (n == 1) {
        *out = 0;
        return LG_OK;
    }
    unsigned k = bit_length(n - 1);
    for (int i = 0; i < MAX_REJECTIONS; i++) {
        uint64_t v = 0, part;
        /* Words wider than 32 bits are read as a high and a low part. */
        if (k > 32) {
            if (take_bits(dp, k - 32, &part) != LG_OK)
                return LG_ERR;
            v = part << 32;
        }
        if (take_bits(dp, k > 32 ? 32 : k, &part) != LG_OK)
            return LG_ERR;
        v |= part;
        if (v < n) {
            *out = v;
            return LG_OK;
        }
    }
    return LG_ERR;
}

/* Bernoulli(num / den), 0 <= num <= den, den >= 1. */
static int bernoulli(lg_dp_t *dp, uint64_t num, uint64_t den, bool *out)
{
    uint64_t u;
    if (lg_dp_uniform(dp, den, &u) != LG_OK)
        return LG_ERR;
    *out = u < num;
    return LG_OK;
}

/*
 * Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (Algorithm 1, first case):
 * K is the first k with a failed Bernoulli(gamma/k) trial; P(K odd) = e^-gamma.
 */
static int bernoulli_exp_le1(lg_dp_t *dp, uint64_t num, uint64_t den, bool *out)
{
    uint64_t k = 1;
    for (;;) {
        bool a;
        if (num == 0)
            break; /* Bernoulli(0) fails without using randomness */
        if (bernoulli(dp, num, den * k, &a) != LG_OK)
            return LG_ERR;
        if (!a)
            break;
        if (++k > MAX_K)
            return LG_ERR;
    }
    *out = (k & 1) != 0;
    return LG_OK;
}

/*
 * Bernoulli(exp(-num/den)) for any num/den >= 0 (Algorithm 1): one
 * Bernoulli(e^-1) per whole unit of gamma, then the fractional rest.
 */
static int bernoulli_exp(lg_dp_t *dp, uint64_t num, uint64_t den, bool *out)
{
    while (num > den) {
        bool b;
        if (bernoulli_exp_le1(dp, 1, 1, &b) != LG_OK)
            return LG_ERR;
        if (!b) {
            *out = false;
            return LG_OK;
        }
        num -= den;
    }
    return bernoulli_exp_le1(dp, num, den, out);
}

/*
 * Algorithm 2 with scale t/s = eps_den/eps_num: X = U + t*V is geometric with
 * P(X = x) proportional to e^(-x/t) (U uniform below t, kept with probability
 * e^(-U/t); V geometric counting Bernoulli(e^-1) successes), Y = floor(X/s) is
 * geometric with ratio e^(-s/t), and a random sign with the draw "minus zero"
 * rejected gives P(Z = z) proportional to e^(-eps|z|).
 */
int lg_dp_laplace(lg_dp_t *dp, int64_t *out)
{
    const uint64_t s = dp->eps_num, t = dp->eps_den;

    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        uint64_t u, v = 0, sign;
        bool d, a;

        if (lg_dp_uniform(dp, t, &u) != LG_OK)
            return LG_ERR;
        if (bernoulli_exp(dp, u, t, &d) != LG_OK)
            return LG_ERR;
        if (!d)
            continue;
        for (;;) {
            if (bernoulli_exp_le1(dp, 1, 1, &a) != LG_OK)
                return LG_ERR;
            if (!a)
                break;
            if (++v >= MAX_V)
                return LG_ERR;
        }
        /* t < 2^32 and v < 2^16: no overflow, and y fits in an int64_t. */
        uint64_t x = u + t * v;
        uint64_t y = x / s;
        if (lg_dp_uniform(dp, 2, &sign) != LG_OK)
            return LG_ERR;
        if (sign == 1 && y == 0)
            continue;
        *out = sign == 1 ? -(int64_t)y : (int64_t)y;
        return LG_OK;
    }
    return LG_ERR;
}

lg_dp_t *lg_dp_new(uint32_t eps_num, uint32_t eps_den, lg_dp_rand_bytes_cb rand_bytes)
{
    if (eps_num == 0 || eps_den == 0)
        return NULL;
    lg_dp_t *dp = lg_xcalloc(1, sizeof(*dp));
    dp->eps_num = eps_num;
    dp->eps_den = eps_den;
    dp->rand_bytes = rand_bytes != NULL ? rand_bytes : RAND_bytes;
    return dp;
}

void lg_dp_free(lg_dp_t *dp)
{
    if (dp == NULL)
        return;
    wipe(dp);
    free(dp);
}

uint64_t lg_dp_rand_calls(const lg_dp_t *dp)
{
    return dp->rand_calls;
}
