/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/base64.c: the RFC 4648 vectors in both
 * alphabets, and strictness (wrong padding, non-zero spare bits, foreign
 * characters, an output that does not fit), on which the JWT checks and the
 * Standard Webhooks signatures rely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/core/base64.h"

static void test_base64_follows_rfc4648_vectors(void **state)
{
    static const struct {
        const char *plain, *std, *url;
    } v[] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
        {"\xfb\xff", "+/8=", "-_8"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(v); i++) {
        char out[32];
        uint8_t bin[32];
        size_t n, plen = strlen(v[i].plain);

        assert_int_equal(
            lg_base64_encode((const uint8_t *)v[i].plain, plen, false, out, sizeof(out)),
            strlen(v[i].std));
        assert_string_equal(out, v[i].std);
        assert_int_equal(
            lg_base64_encode((const uint8_t *)v[i].plain, plen, true, out, sizeof(out)),
            strlen(v[i].url));
        assert_string_equal(out, v[i].url);
        assert_int_equal(lg_base64_decode(v[i].std, strlen(v[i].std), false, bin, sizeof(bin), &n),
                         LG_OK);
        assert_int_equal(n, plen);
        assert_memory_equal(bin, v[i].plain, plen);
        assert_int_equal(lg_base64_decode(v[i].url, strlen(v[i].url), true, bin, sizeof(bin), &n),
                         LG_OK);
        assert_int_equal(n, plen);
        assert_memory_equal(bin, v[i].plain, plen);
    }
}

static void test_base64_decoding_is_strict(void **state)
{
    static const struct {
        const char *text;
        bool is_url;
    } bad[] = {
        {"Zh==", false},  {"Zm9=", false}, /* non-zero spare bits */
        {"Zh", true},     {"Zg=", false},    {"Zg", false},   {"Z===", false},
        {"Z", true},      {"Zg==", true},    {"+/8=", true},  {"-_8=", false},
        {"Zm 9v", false}, {"Zm9v\n", false}, {"=Zm9", false}, {"Zm=v", false},
    };
    uint8_t out[8];
    size_t n;

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++)
        if (lg_base64_decode(bad[i].text, strlen(bad[i].text), bad[i].is_url, out, sizeof(out),
                             &n) != LG_ERR)
            fail_msg("accepted \"%s\" (%s)", bad[i].text, bad[i].is_url ? "url" : "std");
    /* Too small an output buffer. */
    assert_int_equal(lg_base64_decode("Zm9vYmFy", 8, false, out, 5, &n), LG_ERR);
    char small[4];
    assert_int_equal(lg_base64_encode((const uint8_t *)"foo", 3, false, small, sizeof(small)), 0);
}

/* A webhook secret of 32 random bytes, as `openssl rand -base64 32` writes it, round trips. */
static void test_32_byte_secret_round_trips(void **state)
{
    uint8_t raw[32], back[64];
    char text[64];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(lg_base64_encode(raw, sizeof(raw), false, text, sizeof(text)), 44);
    assert_int_equal(text[43], '=');
    assert_int_equal(lg_base64_decode(text, 44, false, back, sizeof(back), &n), LG_OK);
    assert_int_equal(n, sizeof(raw));
    assert_memory_equal(back, raw, sizeof(raw));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_follows_rfc4648_vectors),
        cmocka_unit_test(test_base64_decoding_is_strict),
        cmocka_unit_test(test_32_byte_secret_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
