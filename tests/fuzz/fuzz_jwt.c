/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the bearer-token verifier (service/core/token.c). Feeds
 * the input to lg_token_verify with a fixed ES256 key (a throwaway test key
 * embedded below, never used anywhere else), issuer, audience and "now",
 * and aborts when a result breaks the verifier's contract: an accepted
 * token must carry bounded, NUL-terminated sub and scope and an unexpired
 * exp; a refused one must say why and leave the claims empty. The input
 * also goes through the strict base64url decoder, which must round-trip
 * what it accepts, and through the token endpoint's request parser
 * (service/core/oauth.c) as a form body and as an Authorization header, which
 * must fill only bounded, valid fields. `make check` replays tests/fuzz/corpus/jwt/ (a valid
 * token for this key and time, and damaged variants) through replay_main.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/core/oauth.h"
#include "locguard/core/base64.h"
#include "locguard/core/token.h"

/* 2024-05-01T12:00:00Z: the corpus tokens are valid from then for 300 s. */
#define FUZZ_NOW_S INT64_C(1714564800)
#define FUZZ_ISS   "https://locguard.example"
#define FUZZ_AUD   "locguard-northbound"

/* A throwaway P-256 key for this driver only. */
static const char fuzz_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgk7oot0rvkljOywfA\n"
    "AD04c/mY5UGRw0v3rdkyKn10yiihRANCAARZjG6bfSPbhLE3F8W/lUdwoIV0NQD1\n"
    "oZzGv/DogkDEcVU22vtSGyHbN76aGT40sVXpuwuH5Nx2M+8DRvbaVaw+\n"
    "-----END PRIVATE KEY-----\n";

/* Built on the first input and kept for the process: a fuzz driver has no other place for it. */
static lg_token_signer_t *signer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lg_token_claims_t c;

    if (signer == NULL) {
        signer = lg_token_signer_new_pem(fuzz_key_pem, sizeof(fuzz_key_pem) - 1, FUZZ_ISS);
        CHECK(signer != NULL);
    }
    memset(&c, 0x5a, sizeof(c));
    if (lg_token_verify(signer, (const char *)data, size, FUZZ_AUD, FUZZ_NOW_S, &c) == LG_OK) {
        CHECK(c.err == NULL);
        CHECK(size <= LG_TOKEN_MAX_BYTES);
        CHECK(c.sub[0] != '\0' && memchr(c.sub, '\0', sizeof(c.sub)) != NULL);
        CHECK(memchr(c.scope, '\0', sizeof(c.scope)) != NULL);
        CHECK(c.exp > FUZZ_NOW_S - LG_TOKEN_LEEWAY_S);
        (void)lg_token_has_scope(&c, "monitoring-event");
    } else {
        CHECK(c.err == lg_token_err_malformed || c.err == lg_token_err_algorithm ||
              c.err == lg_token_err_key || c.err == lg_token_err_signature ||
              c.err == lg_token_err_issuer || c.err == lg_token_err_audience ||
              c.err == lg_token_err_expired || c.err == lg_token_err_not_yet ||
              c.err == lg_token_err_claims);
        CHECK(c.sub[0] == '\0' && c.scope[0] == '\0' && c.exp == 0);
    }

    /* What the strict decoder accepts re-encodes to exactly the input. */
    if (size <= 1024) {
        uint8_t bin[768];
        char text[1030];
        size_t n;
        for (int is_url = 0; is_url <= 1; is_url++) {
            if (lg_base64_decode((const char *)data, size, is_url, bin, sizeof(bin), &n) != LG_OK)
                continue;
            CHECK(n == 0 || lg_base64_encode(bin, n, is_url, text, sizeof(text)) == size);
            CHECK(memcmp(text, data, size) == 0 || n == 0);
        }
    }

    /* The same bytes as a token request body, and as a Basic or Bearer header. */
    lg_oauth_request_t r;
    const char *err = lg_oauth_parse_request("application/x-www-form-urlencoded", NULL,
                                             (const char *)data, size, &r);
    if (err == NULL) {
        CHECK(r.client_id[0] != '\0' && memchr(r.client_id, '\0', sizeof(r.client_id)));
        CHECK(memchr(r.client_secret, '\0', sizeof(r.client_secret)) != NULL);
        CHECK(!r.has_scope || (r.scope[0] != '\0' && r.scope[0] != ' '));
    }
    if (size < 1024) {
        char header[1024];
        int status;
        memcpy(header, data, size);
        header[size] = '\0';
        err = lg_oauth_parse_request("application/x-www-form-urlencoded", header,
                                     "grant_type=client_credentials", 29, &r);
        CHECK(err == NULL || err == lg_oauth_err_invalid_client ||
              err == lg_oauth_err_invalid_request);
        if (lg_oauth_check_bearer(signer, header, FUZZ_AUD, "monitoring-event", FUZZ_NOW_S, &c,
                                  &status) == LG_OK)
            CHECK(status == 200 && c.err == NULL);
        else
            CHECK((status == 401 || status == 403) && c.err != NULL);
    }
    return 0;
}
