/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/token.c: ES256 tokens issued and verified round
 * trip, checked against an independent JOSE signer written here (so the
 * r||s <-> DER conversion is tested both ways), the refusal matrix (expiry,
 * nbf, audience, issuer, tampering, "alg":"none", HS256 keyed with the
 * public key, malformed and oversized tokens), one signature check for
 * every refusal whatever its reason, scope lists and scrypt
 * secret hashes (base64 has its own tests, test_base64.c). The key is
 * made at test time with EVP_EC_gen("P-256") and written to a temp file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "locguard/core/token.h"
#include "locguard/core/base64.h"

#define ISS "https://locguard.test"
#define AUD "locguard-northbound"
#define NOW INT64_C(1714564800) /* 2024-05-01T12:00:00Z */

typedef struct fixture {
    EVP_PKEY *key;             /* the signer's key pair */
    char *pub_pem;             /* its public key in PEM (the HS256 confusion "secret") */
    lg_token_signer_t *signer; /* loaded from a temp PEM file */
} fixture_t;

static char *pem_of(EVP_PKEY *key, bool is_private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *copy;
    long len;

    assert_non_null(bio);
    assert_int_equal(is_private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                                : PEM_write_bio_PUBKEY(bio, key),
                     1);
    len = BIO_get_mem_data(bio, &data);
    copy = malloc((size_t)len + 1);
    memcpy(copy, data, (size_t)len);
    copy[len] = '\0';
    BIO_free(bio);
    return copy;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char path[] = "/tmp/lg-test-token-XXXXXX";
    int fd = mkstemp(path);
    char *pem;

    f->key = EVP_EC_gen("P-256");
    assert_non_null(f->key);
    assert_true(fd >= 0);
    pem = pem_of(f->key, true);
    assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
    close(fd);
    free(pem);
    f->signer = lg_token_signer_new(path, ISS);
    unlink(path);
    assert_non_null(f->signer);
    f->pub_pem = pem_of(f->key, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    lg_token_signer_free(f->signer);
    EVP_PKEY_free(f->key);
    free(f->pub_pem);
    free(f);
    return 0;
}

/* base64url of a string, into a static-free malloc'ed buffer. */
static char *b64url(const void *data, size_t len)
{
    size_t size = len * 4 / 3 + 4;
    char *out = malloc(size);

    assert_int_not_equal(lg_base64_encode(data, len, true, out, size), len > 0 ? 0 : 1);
    return out;
}

/* header.payload as base64url, malloc'ed. */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    size_t size = strlen(h) + strlen(p) + 2;
    char *in = malloc(size);

    snprintf(in, size, "%s.%s", h, p);
    free(h);
    free(p);
    return in;
}

static char *join(const char *input, const char *sig64)
{
    size_t size = strlen(input) + strlen(sig64) + 2;
    char *jwt = malloc(size);

    snprintf(jwt, size, "%s.%s", input, sig64);
    return jwt;
}

/* An independent ES256 signer: EVP DER signature -> JOSE r||s. */
static char *forge_es256(EVP_PKEY *key, const char *header, const char *payload)
{
    char *input = signing_input(header, payload), *sig64, *jwt;
    unsigned char der[80], jose[64];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const unsigned char *p = der;
    ECDSA_SIG *sig;

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &der_len, (unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), jose, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), jose + 32, 32), 32);
    ECDSA_SIG_free(sig);
    sig64 = b64url(jose, sizeof(jose));
    jwt = join(input, sig64);
    free(sig64);
    free(input);
    return jwt;
}

/* An independent ES256 check of a JOSE signature, the other way round: r||s -> DER. */
static bool check_es256(EVP_PKEY *key, const char *jwt)
{
    const char *dot2 = strrchr(jwt, '.');
    uint8_t jose[64];
    size_t n;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok;

    assert_int_equal(lg_base64_decode(dot2 + 1, strlen(dot2 + 1), true, jose, 64, &n), LG_OK);
    assert_int_equal(n, 64);
    ECDSA_SIG_set0(sig, BN_bin2bn(jose, 32, NULL), BN_bin2bn(jose + 32, 32, NULL));
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)jwt,
                          (size_t)(dot2 - jwt)) == 1;
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return ok;
}

static const char *claims_json(void)
{
    return "{\"iss\":\"" ISS "\",\"sub\":\"scs-1\",\"aud\":\"" AUD
           "\",\"scope\":\"monitoring-event\","
           "\"iat\":1714564800,\"nbf\":1714564800,\"exp\":1714565100,\"jti\":\"00\"}";
}

static char *header_json(const fixture_t *f)
{
    static char h[128];

    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             lg_token_signer_kid(f->signer));
    return h;
}

static const char *verify(const fixture_t *f, const char *jwt, int64_t now)
{
    lg_token_claims_t c;
    int rc = lg_token_verify(f->signer, jwt, strlen(jwt), AUD, now, &c);

    if (rc == LG_OK) {
        assert_null(c.err);
        return NULL;
    }
    assert_non_null(c.err);
    assert_string_equal(c.sub, "");
    return c.err;
}

static char *issue(fixture_t *f, const char *sub, const char *aud, const char *scope)
{
    char *jwt = NULL;

    assert_int_equal(lg_token_issue(f->signer, sub, aud, scope, 300, NOW, &jwt), LG_OK);
    assert_non_null(jwt);
    return jwt;
}

/* ---- issue and verify ------------------------------------------------------------------ */

static void test_issued_token_verifies_and_gives_its_claims(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event other");
    lg_token_claims_t c;

    assert_int_equal(lg_token_verify(f->signer, jwt, strlen(jwt), AUD, NOW + 10, &c), LG_OK);
    assert_null(c.err);
    assert_string_equal(c.sub, "scs-1");
    assert_string_equal(c.scope, "monitoring-event other");
    assert_int_equal(c.exp, NOW + 300);
    assert_true(lg_token_has_scope(&c, "monitoring-event"));
    assert_true(lg_token_has_scope(&c, "other"));
    assert_false(lg_token_has_scope(&c, "monitoring"));
    free(jwt);
}

static void test_issued_token_has_the_documented_header_and_claims(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event");
    const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
    uint8_t buf[1024];
    size_t n;
    unsigned char *der = NULL, digest[32];
    unsigned int dlen;
    char kid[17];

    /* kid: the first 16 hex digits of SHA-256 over the SubjectPublicKeyInfo DER. */
    int der_len = i2d_PUBKEY(f->key, &der);
    EVP_Digest(der, (size_t)der_len, digest, &dlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    for (int i = 0; i < 8; i++)
        snprintf(kid + 2 * i, 3, "%02x", digest[i]);
    assert_string_equal(lg_token_signer_kid(f->signer), kid);

    assert_int_equal(lg_base64_decode(jwt, (size_t)(dot1 - jwt), true, buf, sizeof(buf), &n),
                     LG_OK);
    buf[n] = '\0';
    assert_string_equal((char *)buf, header_json(f));

    assert_int_equal(
        lg_base64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), true, buf, sizeof(buf), &n), LG_OK);
    buf[n] = '\0';
    const char *want_prefix = "{\"iss\":\"" ISS "\",\"sub\":\"scs-1\",\"aud\":\"" AUD
                              "\",\"scope\":\"monitoring-event\",\"iat\":1714564800,"
                              "\"nbf\":1714564800,\"exp\":1714565100,\"jti\":\"";
    assert_int_equal(strncmp((char *)buf, want_prefix, strlen(want_prefix)), 0);
    const char *jti = (char *)buf + strlen(want_prefix);
    assert_int_equal(strspn(jti, "0123456789abcdef"), 32);
    assert_string_equal(jti + 32, "\"}");

    /* The signature is the 64-byte JOSE form, checked here independently. */
    assert_int_equal(strlen(dot2 + 1), 86);
    assert_true(check_es256(f->key, jwt));
    free(jwt);
}

static void test_two_tokens_have_different_jti(void **state)
{
    fixture_t *f = *state;
    char *a = issue(f, "scs-1", AUD, ""), *b = issue(f, "scs-1", AUD, "");

    assert_string_not_equal(strchr(a, '.'), strchr(b, '.'));
    assert_null(verify(f, a, NOW));
    free(a);
    free(b);
}

static void test_independently_signed_token_verifies(void **state)
{
    fixture_t *f = *state;
    char *jwt = forge_es256(f->key, header_json(f), claims_json());

    assert_null(verify(f, jwt, NOW));
    free(jwt);
    /* No kid, audience in an array: still ours. */
    jwt = forge_es256(f->key, "{\"alg\":\"ES256\"}",
                      "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":[\"x\",\"" AUD "\"],"
                      "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    assert_null(verify(f, jwt, NOW));
    free(jwt);
}

static void test_issue_refuses_out_of_bounds_arguments(void **state)
{
    fixture_t *f = *state;
    char long_sub[LG_TOKEN_SUB_MAX + 1], long_scope[LG_TOKEN_SCOPE_MAX + 1];
    char *jwt = (char *)"untouched";

    memset(long_sub, 'a', sizeof(long_sub) - 1);
    long_sub[sizeof(long_sub) - 1] = '\0';
    memset(long_scope, 'a', sizeof(long_scope) - 1);
    long_scope[sizeof(long_scope) - 1] = '\0';
    assert_int_equal(lg_token_issue(f->signer, "", AUD, "", 300, NOW, &jwt), LG_ERR);
    assert_null(jwt);
    assert_int_equal(lg_token_issue(f->signer, long_sub, AUD, "", 300, NOW, &jwt), LG_ERR);
    assert_int_equal(lg_token_issue(f->signer, "s", AUD, long_scope, 300, NOW, &jwt), LG_ERR);
    assert_int_equal(lg_token_issue(f->signer, "s", "", "", 300, NOW, &jwt), LG_ERR);
    assert_int_equal(lg_token_issue(f->signer, "s", AUD, "", 0, NOW, &jwt), LG_ERR);
    assert_int_equal(lg_token_issue(f->signer, "s\n", AUD, "", 300, NOW, &jwt), LG_ERR);
    assert_null(jwt);
    /* The longest sub and scope that fit are issued and come back whole. */
    long_sub[LG_TOKEN_SUB_MAX - 1] = '\0';
    long_scope[LG_TOKEN_SCOPE_MAX - 1] = '\0';
    assert_int_equal(lg_token_issue(f->signer, long_sub, AUD, long_scope, 300, NOW, &jwt), LG_OK);
    lg_token_claims_t c;
    assert_int_equal(lg_token_verify(f->signer, jwt, strlen(jwt), AUD, NOW, &c), LG_OK);
    assert_string_equal(c.sub, long_sub);
    assert_string_equal(c.scope, long_scope);
    free(jwt);
}

/* ---- the refusal matrix ---------------------------------------------------------------- */

static void test_expiry_and_not_before_honour_the_leeway(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event"); /* nbf NOW, exp NOW+300 */

    assert_null(verify(f, jwt, NOW + 300 + LG_TOKEN_LEEWAY_S - 1));
    assert_ptr_equal(verify(f, jwt, NOW + 300 + LG_TOKEN_LEEWAY_S), lg_token_err_expired);
    assert_ptr_equal(verify(f, jwt, NOW + 100000), lg_token_err_expired);
    assert_null(verify(f, jwt, NOW - LG_TOKEN_LEEWAY_S));
    assert_ptr_equal(verify(f, jwt, NOW - LG_TOKEN_LEEWAY_S - 1), lg_token_err_not_yet);
    free(jwt);
}

static void test_wrong_audience_is_refused(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", "locguard-admin", "monitoring-event");
    char *arr = forge_es256(f->key, header_json(f),
                            "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":[\"a\",\"b\"],"
                            "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    char *num = forge_es256(f->key, header_json(f),
                            "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":7,"
                            "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    char *prefix = issue(f, "scs-1", AUD "x", "monitoring-event");

    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_audience);
    assert_ptr_equal(verify(f, arr, NOW), lg_token_err_audience);
    assert_ptr_equal(verify(f, num, NOW), lg_token_err_audience);
    assert_ptr_equal(verify(f, prefix, NOW), lg_token_err_audience);
    free(jwt);
    free(arr);
    free(num);
    free(prefix);
}

static void test_wrong_issuer_is_refused(void **state)
{
    fixture_t *f = *state;
    char *pem = pem_of(f->key, true);
    lg_token_signer_t *other = lg_token_signer_new_pem(pem, strlen(pem), "https://evil.test");
    char *jwt = NULL;

    assert_non_null(other);
    /* Same key, so the signature verifies: only iss differs. */
    assert_int_equal(lg_token_issue(other, "scs-1", AUD, "monitoring-event", 300, NOW, &jwt),
                     LG_OK);
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_issuer);
    lg_token_signer_free(other);
    free(pem);
    free(jwt);
}

static void test_tampered_payload_is_refused(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event");
    const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
    uint8_t buf[1024];
    size_t n;

    assert_int_equal(
        lg_base64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), true, buf, sizeof(buf), &n), LG_OK);
    buf[n] = '\0';
    char *where = strstr((char *)buf, "scs-1");
    where[4] = '2'; /* become scs-2 */
    char *p64 = b64url(buf, n);
    size_t size = strlen(jwt) + 8;
    char *forged = malloc(size);
    snprintf(forged, size, "%.*s.%s%s", (int)(dot1 - jwt), jwt, p64, dot2);
    assert_ptr_equal(verify(f, forged, NOW), lg_token_err_signature);
    free(p64);
    free(forged);
    free(jwt);
}

static void test_tampered_signature_is_refused(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event");
    char *sig = strrchr(jwt, '.') + 1;

    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_signature);
    /* All-zero r and s. */
    memset(sig, 'A', 86);
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_signature);
    /* A signature of 63 bytes. */
    sig[84] = '\0';
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_signature);
    free(jwt);
}

/*
 * The verified-token cache: a token seen before gives the same claims, is
 * still refused by the clock, and is remembered only for its audience and
 * its exact bytes.
 */
static void test_remembered_token_is_still_checked(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event"); /* nbf NOW, exp NOW+300 */
    lg_token_claims_t c1, c2;

    assert_int_equal(lg_token_verify(f->signer, jwt, strlen(jwt), AUD, NOW, &c1), LG_OK);
    assert_int_equal(lg_token_verify(f->signer, jwt, strlen(jwt), AUD, NOW + 1, &c2), LG_OK);
    assert_string_equal(c2.sub, "scs-1");
    assert_string_equal(c2.scope, "monitoring-event");
    assert_int_equal(c2.exp, c1.exp);
    assert_int_equal(c2.nbf, NOW);
    /* Another audience is not served from the first check. */
    assert_int_equal(lg_token_verify(f->signer, jwt, strlen(jwt), "locguard-admin", NOW, &c2),
                     LG_ERR);
    assert_ptr_equal(c2.err, lg_token_err_audience);
    assert_string_equal(c2.sub, "");
    /* Expiry and not-before still apply. */
    assert_ptr_equal(verify(f, jwt, NOW + 300 + LG_TOKEN_LEEWAY_S), lg_token_err_expired);
    assert_ptr_equal(verify(f, jwt, NOW - LG_TOKEN_LEEWAY_S - 1), lg_token_err_not_yet);
    assert_null(verify(f, jwt, NOW + 2));
    /* One character changed, in the signature or the payload: checked afresh. */
    char *sig = strrchr(jwt, '.') + 1, kept = sig[10];
    sig[10] = kept == 'A' ? 'B' : 'A';
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_signature);
    sig[10] = kept;
    assert_null(verify(f, jwt, NOW));
    char *dot = strchr(jwt, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_non_null(verify(f, jwt, NOW));
    free(jwt);
}

static void test_token_signed_by_another_key_is_refused(void **state)
{
    fixture_t *f = *state;
    EVP_PKEY *evil = EVP_EC_gen("P-256");
    char *jwt = forge_es256(evil, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", claims_json());
    char *kid =
        forge_es256(evil, "{\"alg\":\"ES256\",\"kid\":\"0123456789abcdef\"}", claims_json());

    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_signature);
    assert_ptr_equal(verify(f, kid, NOW), lg_token_err_key);
    EVP_PKEY_free(evil);
    free(jwt);
    free(kid);
}

static void test_alg_none_is_refused(void **state)
{
    fixture_t *f = *state;
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"None\"}",
        "{\"alg\":\"NONE\"}",
        "{\"typ\":\"JWT\"}", /* alg missing */
        "{\"alg\":null}",
        "{\"alg\":[\"ES256\"]}",
        "{\"alg\":\"es256\"}",
        "{\"alg\":\"ES256 \"}",
        "{\"alg\":\"ES384\"}",
        "{\"alg\":\"RS256\"}",
        "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}",
    };

    for (size_t i = 0; i < LG_ARRAY_SIZE(headers); i++) {
        char *input = signing_input(headers[i], claims_json());
        /* Unsigned (empty third part), and with a real ES256 signature over it. */
        char *unsigned_jwt = join(input, "");
        char *signed_jwt = forge_es256(f->key, headers[i], claims_json());

        if (verify(f, unsigned_jwt, NOW) != lg_token_err_algorithm)
            fail_msg("unsigned %s not refused for its algorithm", headers[i]);
        if (verify(f, signed_jwt, NOW) != lg_token_err_algorithm)
            fail_msg("signed %s not refused for its algorithm", headers[i]);
        free(input);
        free(unsigned_jwt);
        free(signed_jwt);
    }
}

static void test_hs256_keyed_with_the_public_key_is_refused(void **state)
{
    fixture_t *f = *state;
    char *input = signing_input("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims_json());
    unsigned char mac[32];
    unsigned int mac_len = 0;

    /* The classic confusion attack: HMAC keyed with the verifier's public key bytes. */
    assert_non_null(HMAC(EVP_sha256(), f->pub_pem, (int)strlen(f->pub_pem), (unsigned char *)input,
                         strlen(input), mac, &mac_len));
    char *mac64 = b64url(mac, mac_len);
    char *jwt = join(input, mac64);
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_algorithm);
    /* Same with the kid of our key, as an attacker would copy it. */
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\"}",
             lg_token_signer_kid(f->signer));
    char *input2 = signing_input(hdr, claims_json());
    HMAC(EVP_sha256(), f->pub_pem, (int)strlen(f->pub_pem), (unsigned char *)input2, strlen(input2),
         mac, &mac_len);
    char *jwt2 = join(input2, mac64);
    assert_ptr_equal(verify(f, jwt2, NOW), lg_token_err_algorithm);
    free(input);
    free(input2);
    free(mac64);
    free(jwt);
    free(jwt2);
}

static void test_malformed_tokens_are_refused(void **state)
{
    fixture_t *f = *state;
    char *good = issue(f, "scs-1", AUD, "monitoring-event");
    char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    size_t size = strlen(good) + 16;
    char *t = malloc(size);
    lg_token_claims_t c;

    /* Two parts only. */
    snprintf(t, size, "%.*s", (int)(dot2 - good), good);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    /* No dot at all, an empty string, four parts, empty header, empty payload. */
    assert_ptr_equal(verify(f, "eyJhbGciOiJFUzI1NiJ9", NOW), lg_token_err_malformed);
    assert_int_equal(lg_token_verify(f->signer, "", 0, AUD, NOW, &c), LG_ERR);
    assert_ptr_equal(c.err, lg_token_err_malformed);
    snprintf(t, size, "%s.x", good);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    snprintf(t, size, "%s", dot1);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    snprintf(t, size, "%.*s.%s", (int)(dot1 - good), good, dot2);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    /* Bad base64url: standard alphabet, padding, a stray character, non-zero spare bits. */
    snprintf(t, size, "%s", good);
    t[1] = '+';
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    snprintf(t, size, "%.*s=%s", (int)(dot1 - good), good, dot1);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    snprintf(t, size, "%s", good);
    t[dot1 - good + 3] = ' ';
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_malformed);
    snprintf(t, size, "%s==", good);
    assert_ptr_equal(verify(f, t, NOW), lg_token_err_signature);
    /* A NUL inside the given length. */
    snprintf(t, size, "%s", good);
    assert_int_equal(lg_token_verify(f->signer, t, strlen(t) + 1, AUD, NOW, &c), LG_ERR);
    assert_ptr_equal(c.err, lg_token_err_malformed);
    /* The header and the payload are not JSON objects. */
    char *h = forge_es256(f->key, "[\"ES256\"]", claims_json());
    assert_ptr_equal(verify(f, h, NOW), lg_token_err_malformed);
    char *p = forge_es256(f->key, header_json(f), "\"claims\"");
    assert_ptr_equal(verify(f, p, NOW), lg_token_err_malformed);
    char *dup = forge_es256(f->key, header_json(f),
                            "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"sub\":\"t\",\"aud\":\"" AUD "\","
                            "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    assert_ptr_equal(verify(f, dup, NOW), lg_token_err_malformed);
    char *typ = forge_es256(f->key, "{\"alg\":\"ES256\",\"typ\":\"JWE\"}", claims_json());
    assert_ptr_equal(verify(f, typ, NOW), lg_token_err_malformed);
    free(h);
    free(p);
    free(dup);
    free(typ);
    free(t);
    free(good);
}

static void test_oversized_token_is_refused(void **state)
{
    fixture_t *f = *state;
    char *good = issue(f, "scs-1", AUD, "monitoring-event");
    size_t len = LG_TOKEN_MAX_BYTES + 1;
    char *big = malloc(len + 1);
    lg_token_claims_t c;

    /* A valid token followed by junk beyond the limit: refused on length alone. */
    memset(big, 'A', len);
    memcpy(big, good, strlen(good));
    big[len] = '\0';
    assert_ptr_equal(verify(f, big, NOW), lg_token_err_malformed);
    /* The same valid token inside a longer buffer is judged by len only. */
    assert_int_equal(lg_token_verify(f->signer, big, strlen(good), AUD, NOW, &c), LG_OK);
    free(big);
    free(good);
}

static void test_missing_or_mistyped_claims_are_refused(void **state)
{
    fixture_t *f = *state;
    static const char *const payloads[] = {
        /* no exp */
        "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800}",
        /* no nbf */
        "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"" AUD "\",\"scope\":\"\",\"exp\":1714565100}",
        /* exp as a string */
        "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800,"
        "\"exp\":\"1714565100\"}",
        /* no sub */
        "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800,"
        "\"exp\":1714565100}",
        /* empty sub */
        "{\"iss\":\"" ISS "\",\"sub\":\"\",\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800,"
        "\"exp\":1714565100}",
        /* sub of 65 bytes */
        "{\"iss\":\"" ISS
        "\",\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}",
        /* scope not a string */
        "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"" AUD "\",\"scope\":[\"a\"],"
        "\"nbf\":1714564800,\"exp\":1714565100}",
    };

    for (size_t i = 0; i < LG_ARRAY_SIZE(payloads); i++) {
        char *jwt = forge_es256(f->key, header_json(f), payloads[i]);
        if (verify(f, jwt, NOW) != lg_token_err_claims)
            fail_msg("payload %zu not refused for its claims", i);
        free(jwt);
    }
    /* NULs smuggled into strings (jansson refuses \u0000 outright), iss missing. */
    char *jwt = forge_es256(f->key, header_json(f),
                            "{\"iss\":\"" ISS "\\u0000\",\"sub\":\"s\",\"aud\":\"" AUD "\","
                            "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_malformed);
    free(jwt);
    jwt = forge_es256(f->key, header_json(f),
                      "{\"iss\":\"" ISS "\",\"sub\":\"a\\u0000b\",\"aud\":\"" AUD "\","
                      "\"scope\":\"\",\"nbf\":1714564800,\"exp\":1714565100}");
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_malformed);
    free(jwt);
    jwt = forge_es256(f->key, "{\"alg\":\"ES256\\u0000\"}", claims_json());
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_malformed);
    free(jwt);
    jwt = forge_es256(f->key, header_json(f),
                      "{\"sub\":\"s\",\"aud\":\"" AUD "\",\"scope\":\"\",\"nbf\":1714564800,"
                      "\"exp\":1714565100}");
    assert_ptr_equal(verify(f, jwt, NOW), lg_token_err_issuer);
    free(jwt);
}

/* ---- the same work for every refusal ---------------------------------------------------- */

/* verify(), checking that the call ran exactly checks ES256 signature checks. */
static const char *verify_counted(const fixture_t *f, const char *jwt, size_t len, int64_t now,
                                  uint64_t checks)
{
    lg_token_claims_t c;
    uint64_t before = lg_token_signer_signature_checks(f->signer);
    int rc = lg_token_verify(f->signer, jwt, len, AUD, now, &c);

    if (lg_token_signer_signature_checks(f->signer) != before + checks)
        fail_msg("%.40s... ran %llu signature checks, not %llu", jwt,
                 (unsigned long long)(lg_token_signer_signature_checks(f->signer) - before),
                 (unsigned long long)checks);
    assert_int_equal(rc == LG_OK, c.err == NULL);
    return c.err;
}

/*
 * Whatever is wrong with a token, and however early that shows, its refusal
 * runs one signature check (and keeps its reason). Refused tokens are not
 * remembered: refused again, they cost one again.
 */
static void test_every_refusal_runs_one_signature_check(void **state)
{
    fixture_t *f = *state;
    EVP_PKEY *evil = EVP_EC_gen("P-256");
    char *good = issue(f, "scs-1", AUD, "monitoring-event");
    char *badsig = issue(f, "scs-1", AUD, "monitoring-event");
    char *wrong_aud = issue(f, "scs-1", "locguard-exposure", "region-device-count");
    char *other_kid =
        forge_es256(evil, "{\"alg\":\"ES256\",\"kid\":\"0123456789abcdef\"}", claims_json());
    char *other_key = forge_es256(evil, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", claims_json());
    char *none = signing_input("{\"alg\":\"none\"}", claims_json());
    char *unsigned_jwt = join(none, "");
    char *short_sig = malloc(strlen(good) + 1);
    char *big = malloc(LG_TOKEN_MAX_BYTES + 2);
    char *sig = strrchr(badsig, '.') + 1;

    sig[40] = sig[40] == 'A' ? 'B' : 'A';
    memcpy(short_sig, good, strlen(good) + 1);
    short_sig[strlen(short_sig) - 2] = '\0';
    memset(big, 'A', LG_TOKEN_MAX_BYTES + 1);
    memcpy(big, good, strlen(good));
    big[LG_TOKEN_MAX_BYTES + 1] = '\0';
    const struct {
        const char *jwt;
        size_t len;
        int64_t now;
        const char *err;
    } cases[] = {
        {"", 0, NOW, lg_token_err_malformed},
        {"abc", 3, NOW, lg_token_err_malformed},
        {"a.b", 3, NOW, lg_token_err_malformed},
        {"a.b.c.d", 7, NOW, lg_token_err_malformed},
        {"!!.!!.!!", 8, NOW, lg_token_err_malformed},
        {good, strlen(good) + 1, NOW, lg_token_err_malformed}, /* a NUL within len */
        {big, LG_TOKEN_MAX_BYTES + 1, NOW, lg_token_err_malformed},
        {unsigned_jwt, strlen(unsigned_jwt), NOW, lg_token_err_algorithm},
        {other_kid, strlen(other_kid), NOW, lg_token_err_key},
        {other_key, strlen(other_key), NOW, lg_token_err_signature},
        {badsig, strlen(badsig), NOW, lg_token_err_signature},
        {short_sig, strlen(short_sig), NOW, lg_token_err_signature},
        {wrong_aud, strlen(wrong_aud), NOW, lg_token_err_audience},
        {good, strlen(good), NOW + 3600, lg_token_err_expired},
        {good, strlen(good), NOW - 3600, lg_token_err_not_yet},
    };

    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
            const char *err = verify_counted(f, cases[i].jwt, cases[i].len, cases[i].now, 1);
            if (err != cases[i].err)
                fail_msg("case %zu refused as \"%s\", not \"%s\"", i, err ? err : "(accepted)",
                         cases[i].err);
        }
    }
    EVP_PKEY_free(evil);
    free(good);
    free(badsig);
    free(wrong_aud);
    free(other_kid);
    free(other_key);
    free(none);
    free(unsigned_jwt);
    free(short_sig);
    free(big);
}

/*
 * A remembered token is answered without a signature check while it is
 * valid; once the clock refuses it, it is forgotten and checked again like
 * any other, so even that refusal costs one check.
 */
static void test_only_a_valid_remembered_token_skips_the_signature_check(void **state)
{
    fixture_t *f = *state;
    char *jwt = issue(f, "scs-1", AUD, "monitoring-event"); /* nbf NOW, exp NOW+300 */
    size_t len = strlen(jwt);

    assert_null(verify_counted(f, jwt, len, NOW, 1));
    assert_null(verify_counted(f, jwt, len, NOW + 10, 0));
    assert_null(verify_counted(f, jwt, len, NOW + 20, 0));
    assert_ptr_equal(verify_counted(f, jwt, len, NOW + 400, 1), lg_token_err_expired);
    assert_ptr_equal(verify_counted(f, jwt, len, NOW + 400, 1), lg_token_err_expired);
    /* Valid again (the clock set back): checked, then remembered once more. */
    assert_null(verify_counted(f, jwt, len, NOW + 30, 1));
    assert_null(verify_counted(f, jwt, len, NOW + 40, 0));
    assert_ptr_equal(verify_counted(f, jwt, len, NOW - 3600, 1), lg_token_err_not_yet);
    free(jwt);
}

static void test_signer_refuses_keys_that_are_not_p256(void **state)
{
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    EVP_PKEY *rsa = EVP_RSA_gen(1024);
    char *pem384 = pem_of(p384, true), *pemrsa = pem_of(rsa, true);

    (void)state;
    assert_null(lg_token_signer_new_pem(pem384, strlen(pem384), ISS));
    assert_null(lg_token_signer_new_pem(pemrsa, strlen(pemrsa), ISS));
    assert_null(lg_token_signer_new_pem("not a key", 9, ISS));
    assert_null(lg_token_signer_new("/nonexistent/key.pem", ISS));
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
    free(pem384);
    free(pemrsa);
}

/* ---- scopes and base64 ----------------------------------------------------------------- */

static void test_scope_lists_match_whole_tokens(void **state)
{
    (void)state;
    assert_true(lg_token_scope_contains("a b c", "b"));
    assert_true(lg_token_scope_contains("a  b", "b"));
    assert_true(lg_token_scope_contains("monitoring-event", "monitoring-event"));
    assert_false(lg_token_scope_contains("monitoring-event", "monitoring"));
    assert_false(lg_token_scope_contains("monitoring", "monitoring-event"));
    assert_false(lg_token_scope_contains("a b", "a b"));
    assert_false(lg_token_scope_contains("a b", ""));
    assert_false(lg_token_scope_contains("", "a"));
    assert_false(lg_token_scope_contains("ab", "b"));
}

/* ---- secrets --------------------------------------------------------------------------- */

static void test_secret_hash_round_trip(void **state)
{
    char a[LG_TOKEN_HASH_MAX], b[LG_TOKEN_HASH_MAX];
    const char *secret = "Gq3yY9QmXo0bS2k1cE4x_Zr-AT7wP5nLhV8dJf6uBsI";

    (void)state;
    assert_int_equal(lg_token_hash_secret(secret, a, sizeof(a)), LG_OK);
    assert_int_equal(strncmp(a, "scrypt$16384$8$1$", 17), 0);
    const char *salt = a + 17, *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    assert_int_equal(dollar - salt, 24);      /* 16 bytes */
    assert_int_equal(strlen(dollar + 1), 44); /* 32 bytes */
    assert_true(lg_token_secret_matches(secret, a));
    assert_false(lg_token_secret_matches("Gq3yY9QmXo0bS2k1cE4x_Zr-AT7wP5nLhV8dJf6uBsJ", a));
    assert_false(lg_token_secret_matches("", a));
    /* A fresh salt each time. */
    assert_int_equal(lg_token_hash_secret(secret, b, sizeof(b)), LG_OK);
    assert_string_not_equal(a, b);
    /* Too small an output buffer. */
    assert_int_equal(lg_token_hash_secret(secret, b, 32), LG_ERR);
    assert_string_equal(b, "");
}

static void test_secret_matches_a_hash_made_elsewhere(void **state)
{
    /* scrypt("pleaseletmein", "SodiumChloride", N=16384, r=8, p=1), RFC 7914 §12, first 32 bytes.
     */
    const char *stored =
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=";

    (void)state;
    assert_true(lg_token_secret_matches("pleaseletmein", stored));
    assert_false(lg_token_secret_matches("pleaseletmeout", stored));
}

static void test_malformed_stored_hashes_never_match(void **state)
{
    static const char *const bad[] = {
        "",
        "scrypt$",
        "pleaseletmein",
        "bcrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16383$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$016384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$2097152$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$0$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$8$0$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$8$99$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$-16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=$",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=",
        "scrypt$16384$8$1$$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
        "scrypt$16384$8$1$U29kaXVt$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=", /* 6-byte salt */
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0g=",                     /* 8-byte hash */
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdof I=",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o-7qQT44-qbVD9lRdofI=",
        "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/"
        "2o+7qQT44+qbVD9lRdofI="
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AA",
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++)
        if (lg_token_secret_matches("pleaseletmein", bad[i]))
            fail_msg("matched malformed stored hash %zu", i);
    assert_false(lg_token_secret_matches("pleaseletmein", NULL));
}

static void test_new_secrets_are_32_random_bytes_in_base64url(void **state)
{
    char a[LG_TOKEN_SECRET_SIZE], b[LG_TOKEN_SECRET_SIZE], small[LG_TOKEN_SECRET_SIZE - 1];
    uint8_t raw[40];
    size_t n;

    (void)state;
    assert_int_equal(lg_token_new_secret(a, sizeof(a)), LG_OK);
    assert_int_equal(lg_token_new_secret(b, sizeof(b)), LG_OK);
    assert_int_equal(strlen(a), 43);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     43);
    assert_int_equal(lg_base64_decode(a, 43, true, raw, sizeof(raw), &n), LG_OK);
    assert_int_equal(n, 32);
    assert_string_not_equal(a, b);
    assert_int_equal(lg_token_new_secret(small, sizeof(small)), LG_ERR);
    assert_string_equal(small, "");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    /* Each test gets a fresh key, so none depends on another. */
    const struct CMUnitTest tests[] = {
        T(test_issued_token_verifies_and_gives_its_claims),
        T(test_issued_token_has_the_documented_header_and_claims),
        T(test_two_tokens_have_different_jti),
        T(test_independently_signed_token_verifies),
        T(test_issue_refuses_out_of_bounds_arguments),
        T(test_expiry_and_not_before_honour_the_leeway),
        T(test_wrong_audience_is_refused),
        T(test_wrong_issuer_is_refused),
        T(test_tampered_payload_is_refused),
        T(test_tampered_signature_is_refused),
        T(test_remembered_token_is_still_checked),
        T(test_token_signed_by_another_key_is_refused),
        T(test_alg_none_is_refused),
        T(test_hs256_keyed_with_the_public_key_is_refused),
        T(test_malformed_tokens_are_refused),
        T(test_oversized_token_is_refused),
        T(test_missing_or_mistyped_claims_are_refused),
        T(test_every_refusal_runs_one_signature_check),
        T(test_only_a_valid_remembered_token_skips_the_signature_check),
        cmocka_unit_test(test_signer_refuses_keys_that_are_not_p256),
        cmocka_unit_test(test_scope_lists_match_whole_tokens),
        cmocka_unit_test(test_secret_hash_round_trip),
        cmocka_unit_test(test_secret_matches_a_hash_made_elsewhere),
        cmocka_unit_test(test_malformed_stored_hashes_never_match),
        cmocka_unit_test(test_new_secrets_are_32_random_bytes_in_base64url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
