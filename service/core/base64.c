/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict base64 (RFC 4648), both alphabets: the one codec of the tree, used
 * by the JWTs (base64url), the OAuth2 Basic credentials, client secrets and
 * the Standard Webhooks secrets and signatures (standard, padded).
 */
#include "locguard/core/base64.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in the chosen alphabet, or -1. */
static int b64_value(char c, bool is_url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (is_url ? '-' : '+'))
        return 62;
    if (c == (is_url ? '_' : '/'))
        return 63;
    return -1;
}

int lg_base64_decode(const char *in, size_t len, bool is_url, uint8_t *out, size_t out_size,
                     size_t *out_len)
{
    size_t n = len;
    *out_len = 0;
    if (!is_url) {
        if (len % 4 != 0)
            return LG_ERR;
        size_t pad = 0;
        while (pad < 2 && n > 0 && in[n - 1] == '=') {
            n--;
            pad++;
        }
        if ((pad == 1 && n % 4 != 3) || (pad == 2 && n % 4 != 2))
            return LG_ERR;
    }
    if (n % 4 == 1)
        return LG_ERR;
    size_t need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > out_size)
        return LG_ERR;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i], is_url);
        if (v < 0)
            return LG_ERR;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Non-zero leftover bits would let two strings decode alike (malleable tokens). */
    if (acc != 0)
        return LG_ERR;
    *out_len = o;
    return LG_OK;
}

size_t lg_base64_encode(const uint8_t *in, size_t len, bool is_url, char *out, size_t out_size)
{
    const char *alphabet = is_url ? b64_url : b64_std;
    size_t full = len / 3, rest = len % 3;
    size_t need = full * 4 + (rest == 0 ? 0 : is_url ? rest + 1 : 4);
    if (need + 1 > out_size)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < full * 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (rest > 0) {
        uint32_t v = (uint32_t)in[full * 3] << 16;
        if (rest == 2)
            v |= (uint32_t)in[full * 3 + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (rest == 2)
            out[o++] = alphabet[(v >> 6) & 63];
        else if (!is_url)
            out[o++] = '=';
        if (!is_url)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}
