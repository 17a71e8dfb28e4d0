/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The noise of the privacy filter: exact samples of the discrete Laplace
 * (two-sided geometric) distribution P(k) = (1-e^-eps)/(1+e^-eps) * e^(-eps|k|)
 * for a rational eps = num/den, in integer arithmetic only (Canonne, Kamath,
 * Steinke 2020, "The Discrete Gaussian for Differential Privacy", Algorithms
 * 1 and 2), fed by uniform bits from OpenSSL's RAND_bytes (or an injected
 * source). No floating point, so none of the holes of floating-point Laplace
 * samplers (Mironov 2012). Pure: no I/O beyond the random source; the
 * release (release.h) adds the samples to the per-cell counts.
 */
#ifndef LOCGUARD_DP_H
#define LOCGUARD_DP_H

#include "locguard/core/common.h"

typedef struct lg_dp lg_dp_t;

/*
 * The random source: fills buf with n bytes and returns 1, or returns
 * anything else on failure (the contract of OpenSSL's RAND_bytes).
 */
typedef int (*lg_dp_rand_bytes_cb)(unsigned char *buf, int n);

/*
 * Creates a sampler for eps = eps_num / eps_den (both at least 1; scale of
 * the noise 1/eps = eps_den / eps_num). rand_bytes is the source of
 * randomness; NULL means OpenSSL's RAND_bytes. Random bytes are read 4 KiB at
 * a time and consumed bit by bit. Returns NULL when either argument is 0.
 */
lg_dp_t *lg_dp_new(uint32_t eps_num, uint32_t eps_den, lg_dp_rand_bytes_cb rand_bytes);

/* Wipes the buffered random bytes and frees the sampler. Accepts NULL. */
void lg_dp_free(lg_dp_t *dp);

/*
 * Draws one sample into *out. Returns LG_ERR, leaving *out untouched, when
 * the random source fails (or yields a stream so degenerate that a sample
 * would take more than about 2^-1000 probability to finish): the caller must
 * then release nothing built from this sampler's earlier draws for the same
 * release. The buffered bytes are wiped on failure; later calls try the
 * source again.
 */
LG_MUST_CHECK int lg_dp_laplace(lg_dp_t *dp, int64_t *out);

/*
 * Draws a uniform integer in [0, n) (n >= 1) by rejection from the bit
 * stream; exposed for tests. Returns LG_ERR when the random source fails.
 */
LG_MUST_CHECK int lg_dp_uniform(lg_dp_t *dp, uint64_t n, uint64_t *out);

/* Calls made to the random source so far (to check the buffering). */
uint64_t lg_dp_rand_calls(const lg_dp_t *dp);

#endif
