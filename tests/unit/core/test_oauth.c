/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the decision logic of service/core/oauth.c: parsing token
 * requests (content type, form decoding, duplicate and empty parameters,
 * grant type, scope syntax, HTTP Basic with form-urlencoded parts per RFC
 * 6749 §2.3.1, one authentication method only), choosing the granted
 * scope, and the bearer check (401 for any token problem, each after one
 * signature check, 403 for a valid token without the scope).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "locguard/core/oauth.h"
#include "locguard/core/base64.h"

#define FORM "application/x-www-form-urlencoded"
#define CC   "grant_type=client_credentials"
#define NOW  INT64_C(1714564800)

static const char *parse(const char *ct, const char *auth, const char *body, lg_oauth_request_t *r)
{
    return lg_oauth_parse_request(ct, auth, body, strlen(body), r);
}

/* "Basic " + base64(text), in a static buffer. */
static const char *basic(const char *text)
{
    static char h[512];

    memcpy(h, "Basic ", 6);
    assert_true(lg_base64_encode((const uint8_t *)text, strlen(text), false, h + 6, sizeof(h) - 6) >
                0);
    return h;
}

static void test_body_credentials_are_accepted(void **state)
{
    lg_oauth_request_t r;

    (void)state;
    assert_null(parse(FORM, NULL, CC "&client_id=scs-1.app&client_secret=s3cr%2Bt+x", &r));
    assert_string_equal(r.client_id, "scs-1.app");
    assert_string_equal(r.client_secret, "s3cr+t x");
    assert_false(r.has_scope);
    assert_false(r.used_basic);
    /* Parameters in any order, a charset, unknown parameters ignored. */
    assert_null(parse(FORM "; charset=UTF-8", NULL,
                      "scope=monitoring-event+other&foo=bar&client_secret=x&" CC "&client_id=c",
                      &r));
    assert_true(r.has_scope);
    assert_string_equal(r.scope, "monitoring-event other");
    assert_string_equal(r.client_id, "c");
    assert_null(
        parse("Application/X-WWW-Form-Urlencoded", NULL, CC "&client_id=c&client_secret=x", &r));
}

static void test_basic_credentials_are_form_urlencoded(void **state)
{
    lg_oauth_request_t r;

    (void)state;
    assert_null(parse(FORM, basic("scs-1:s%3Acr%2Bt+x"), CC, &r));
    assert_string_equal(r.client_id, "scs-1");
    assert_string_equal(r.client_secret, "s:cr+t x");
    assert_true(r.used_basic);
    /* Scheme case-insensitive; a client_id beside it naming the same client is fine. */
    char h[512];
    snprintf(h, sizeof(h), "basic %s", basic("c:x") + 6);
    assert_null(parse(FORM, h, CC "&client_id=c", &r));
    assert_true(r.used_basic);
}

static void test_bad_requests_are_invalid_request(void **state)
{
    static const struct {
        const char *ct, *body;
    } cases[] = {
        {NULL, CC "&client_id=c&client_secret=x"},
        {"application/json", "{\"grant_type\":\"client_credentials\"}"},
        {"application/x-www-form-urlencodedx", CC "&client_id=c&client_secret=x"},
        {FORM, "client_id=c&client_secret=x"},                     /* no grant_type */
        {FORM, "grant_type=&client_id=c&client_secret=x"},         /* empty = omitted */
        {FORM, CC "&" CC "&client_id=c&client_secret=x"},          /* duplicate */
        {FORM, CC "&client_id=c&client_id=c&client_secret=x"},     /* duplicate */
        {FORM, CC "&scope=a&scope=a&client_id=c&client_secret=x"}, /* duplicate */
        {FORM, CC "&client_id=c&client_secret=x&client_secret="},  /* duplicate, empty */
    };
    lg_oauth_request_t r;

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        if (parse(cases[i].ct, NULL, cases[i].body, &r) != lg_oauth_err_invalid_request)
            fail_msg("case %zu not an invalid_request", i);
    /* A NUL inside the body, and a body over the limit. */
    assert_ptr_equal(lg_oauth_parse_request(FORM, NULL, CC "\0&client_id=c&client_secret=x",
                                            sizeof(CC "\0&client_id=c&client_secret=x") - 1, &r),
                     lg_oauth_err_invalid_request);
    char *big = malloc(LG_OAUTH_BODY_MAX + 2);
    memset(big, 'a', LG_OAUTH_BODY_MAX + 1);
    big[LG_OAUTH_BODY_MAX + 1] = '\0';
    memcpy(big,
           CC "&client_id=c&client_secret=x&pad=", strlen(CC "&client_id=c&client_secret=x&pad="));
    assert_ptr_equal(parse(FORM, NULL, big, &r), lg_oauth_err_invalid_request);
    free(big);
}

static void test_two_authentication_methods_are_invalid_request(void **state)
{
    lg_oauth_request_t r;

    (void)state;
    assert_ptr_equal(parse(FORM, basic("c:x"), CC "&client_id=c&client_secret=x", &r),
                     lg_oauth_err_invalid_request);
    assert_true(r.used_basic);
    assert_string_equal(r.client_secret, "");
    assert_ptr_equal(parse(FORM, basic("c:x"), CC "&client_secret=x", &r),
                     lg_oauth_err_invalid_request);
    assert_ptr_equal(parse(FORM, basic("c:x"), CC "&client_id=d", &r),
                     lg_oauth_err_invalid_request);
}

static void test_other_grant_types_are_unsupported(void **state)
{
    lg_oauth_request_t r;

    (void)state;
    assert_ptr_equal(parse(FORM, NULL, "grant_type=password&client_id=c&client_secret=x", &r),
                     lg_oauth_err_unsupported_grant_type);
    assert_ptr_equal(
        parse(FORM, NULL, "grant_type=client_credentialsx&client_id=c&client_secret=x", &r),
        lg_oauth_err_unsupported_grant_type);
    assert_ptr_equal(parse(FORM, NULL,
                           "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                           "xxxxxxxxxxxxxxxxxxxxxx&client_id=c&client_secret=x",
                           &r),
                     lg_oauth_err_unsupported_grant_type);
}

static void test_bad_scope_syntax_is_invalid_scope(void **state)
{
    static const char *const scopes[] = {"a%20%20b", "+a",    "a+",   "a%22b",
                                         "a%5Cb",    "a%7Fb", "a%09b"};
    lg_oauth_request_t r;

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(scopes); i++) {
        char body[256];
        snprintf(body, sizeof(body), CC "&scope=%s&client_id=c&client_secret=x", scopes[i]);
        if (parse(FORM, NULL, body, &r) != lg_oauth_err_invalid_scope)
            fail_msg("scope %s not an invalid_scope", scopes[i]);
    }
    /* scope= without a value is as if omitted. */
    assert_null(parse(FORM, NULL, CC "&scope=&client_id=c&client_secret=x", &r));
    assert_false(r.has_scope);
}

static void test_missing_or_impossible_credentials_are_invalid_client(void **state)
{
    static const char *const bodies[] = {
        CC,
        CC "&client_id=c",
        CC "&client_secret=x",
        CC "&client_id=&client_secret=x",
        CC "&client_id=a%2Fb&client_secret=x", /* not a possible client_id */
        CC "&client_id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&client_"
           "secret=x",
        CC "&client_id=c&client_secret=%zz",
        CC "&client_id=c&client_secret=%00",
    };
    lg_oauth_request_t r;

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(bodies); i++)
        if (parse(FORM, NULL, bodies[i], &r) != lg_oauth_err_invalid_client)
            fail_msg("body %zu not an invalid_client", i);
    assert_false(r.used_basic);

    static const char *const headers[] = {
        "Bearer abc", "Basic", "Basic !!!!", "Basic Yzp4=", /* bad padding */
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(headers); i++)
        if (parse(FORM, headers[i], CC, &r) != lg_oauth_err_invalid_client)
            fail_msg("header %zu not an invalid_client", i);
    assert_ptr_equal(parse(FORM, basic("no-colon"), CC, &r), lg_oauth_err_invalid_client);
    assert_true(r.used_basic);
    assert_ptr_equal(parse(FORM, basic(":x"), CC, &r), lg_oauth_err_invalid_client);
    assert_ptr_equal(parse(FORM, basic("c:%zz"), CC, &r), lg_oauth_err_invalid_client);
}

static void test_granted_scope_is_a_subset_of_the_clients(void **state)
{
    char out[LG_TOKEN_SCOPE_MAX];

    (void)state;
    assert_null(lg_oauth_grant_scope("", false, "monitoring-event stats", out, sizeof(out)));
    assert_string_equal(out, "monitoring-event stats");
    assert_null(lg_oauth_grant_scope("stats", true, "monitoring-event stats", out, sizeof(out)));
    assert_string_equal(out, "stats");
    assert_null(lg_oauth_grant_scope("stats monitoring-event", true, "monitoring-event stats", out,
                                     sizeof(out)));
    assert_string_equal(out, "stats monitoring-event");
    assert_ptr_equal(lg_oauth_grant_scope("admin", true, "monitoring-event", out, sizeof(out)),
                     lg_oauth_err_invalid_scope);
    assert_string_equal(out, "");
    assert_ptr_equal(
        lg_oauth_grant_scope("monitoring-event admin", true, "monitoring-event", out, sizeof(out)),
        lg_oauth_err_invalid_scope);
    assert_ptr_equal(lg_oauth_grant_scope("monitoring", true, "monitoring-event", out, sizeof(out)),
                     lg_oauth_err_invalid_scope);
    assert_null(lg_oauth_grant_scope("", false, "", out, sizeof(out)));
    assert_string_equal(out, "");
}

/* ---- the bearer check ------------------------------------------------------------------ */

static int setup_signer(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long len;

    assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &pem);
    *state = lg_token_signer_new_pem(pem, (size_t)len, "https://locguard.test");
    BIO_free(bio);
    EVP_PKEY_free(key);
    return *state == NULL;
}

static int teardown_signer(void **state)
{
    lg_token_signer_free(*state);
    return 0;
}

static void test_bearer_check_gives_401_403_or_the_claims(void **state)
{
    lg_token_signer_t *s = *state;
    char *good = NULL, *other = NULL, h[LG_TOKEN_MAX_BYTES + 64];
    lg_token_claims_t c;
    int status = 0;

    assert_int_equal(lg_token_issue(s, "scs-1", "nb", "monitoring-event", 300, NOW, &good), LG_OK);
    assert_int_equal(lg_token_issue(s, "scs-1", "nb", "stats", 300, NOW, &other), LG_OK);

    snprintf(h, sizeof(h), "Bearer %s", good);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", "monitoring-event", NOW, &c, &status),
                     LG_OK);
    assert_int_equal(status, 200);
    assert_string_equal(c.sub, "scs-1");
    snprintf(h, sizeof(h), "bearer   %s ", good);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", NULL, NOW, &c, &status), LG_OK);

    /* Valid, but without the scope: 403. */
    snprintf(h, sizeof(h), "Bearer %s", other);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", "monitoring-event", NOW, &c, &status),
                     LG_ERR);
    assert_int_equal(status, 403);
    assert_ptr_equal(c.err, lg_oauth_err_insufficient_scope);

    /* Every token problem: 401. */
    static const char *const bad[] = {NULL,         "",          "Bearer",      "Bearer ",
                                      "Basic Yzp4", "Token abc", "Bearer a.b.c"};
    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++) {
        status = 0;
        assert_int_equal(lg_oauth_check_bearer(s, bad[i], "nb", NULL, NOW, &c, &status), LG_ERR);
        assert_int_equal(status, 401);
        assert_non_null(c.err);
    }
    snprintf(h, sizeof(h), "Bearer %s", good);
    assert_int_equal(lg_oauth_check_bearer(s, h, "other-aud", NULL, NOW, &c, &status), LG_ERR);
    assert_int_equal(status, 401);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", NULL, NOW + 3600, &c, &status), LG_ERR);
    assert_int_equal(status, 401);
    assert_ptr_equal(c.err, lg_token_err_expired);
    free(good);
    free(other);
}

/* Every 401 costs one signature check: no header and other schemes included. */
static void test_every_401_costs_one_signature_check(void **state)
{
    lg_token_signer_t *s = *state;
    char *good = NULL, h[LG_TOKEN_MAX_BYTES + 64];
    lg_token_claims_t c;
    int status = 0;
    static const char *const bad[] = {NULL,         "",          "Bearer",       "Bearer ",
                                      "Basic Yzp4", "Token abc", "Bearer a.b.c", "Bearer abc"};

    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++) {
        uint64_t before = lg_token_signer_signature_checks(s);
        assert_int_equal(lg_oauth_check_bearer(s, bad[i], "nb", NULL, NOW, &c, &status), LG_ERR);
        assert_int_equal(status, 401);
        assert_ptr_equal(c.err, lg_token_err_malformed);
        if (lg_token_signer_signature_checks(s) != before + 1)
            fail_msg("\"%s\" did not cost one signature check", bad[i] ? bad[i] : "(null)");
    }
    /* A good token costs one the first time, none after (it is remembered). */
    assert_int_equal(lg_token_issue(s, "scs-1", "nb", "monitoring-event", 300, NOW, &good), LG_OK);
    snprintf(h, sizeof(h), "Bearer %s", good);
    uint64_t before = lg_token_signer_signature_checks(s);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", NULL, NOW, &c, &status), LG_OK);
    assert_int_equal(lg_oauth_check_bearer(s, h, "nb", NULL, NOW, &c, &status), LG_OK);
    assert_int_equal(lg_token_signer_signature_checks(s), before + 1);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_credentials_are_accepted),
        cmocka_unit_test(test_basic_credentials_are_form_urlencoded),
        cmocka_unit_test(test_bad_requests_are_invalid_request),
        cmocka_unit_test(test_two_authentication_methods_are_invalid_request),
        cmocka_unit_test(test_other_grant_types_are_unsupported),
        cmocka_unit_test(test_bad_scope_syntax_is_invalid_scope),
        cmocka_unit_test(test_missing_or_impossible_credentials_are_invalid_client),
        cmocka_unit_test(test_granted_scope_is_a_subset_of_the_clients),
        cmocka_unit_test_setup_teardown(test_bearer_check_gives_401_403_or_the_claims, setup_signer,
                                        teardown_signer),
        cmocka_unit_test_setup_teardown(test_every_401_costs_one_signature_check, setup_signer,
                                        teardown_signer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
