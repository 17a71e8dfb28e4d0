/* SPDX-License-Identifier: Apache-2.0 */
/* Strict base64 codecs (RFC 4648 §4 and §5). */
#ifndef LOCGUARD_CORE_BASE64_H
#define LOCGUARD_CORE_BASE64_H

#include "locguard/core/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strict base64 codecs: standard alphabet with padding (is_url false, RFC
 * 4648 §4) or base64url without padding (is_url true, §5). Decoding refuses
 * any other character, wrong padding and non-zero unused bits, and returns
 * LG_ERR when the result would not fit in out_size bytes. Encoding returns
 * the length written (plus a NUL), or 0 when out is too small.
 */
LG_MUST_CHECK int lg_base64_decode(const char *in, size_t len, bool is_url, uint8_t *out,
                                   size_t out_size, size_t *out_len);
size_t lg_base64_encode(const uint8_t *in, size_t len, bool is_url, char *out, size_t out_size);

#endif
