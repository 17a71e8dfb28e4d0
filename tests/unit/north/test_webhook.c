/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/north/webhook.c: the Standard Webhooks test vector,
 * verification with two secrets during rotation, destination URL checks, the
 * private address table (IPv4 and IPv6), back-off bounds, Retry-After and
 * the payload rewrite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/north/webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

/* From the Standard Webhooks specification's reference test. */
static const char spec_secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char spec_msg_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char spec_timestamp[] = "1614265330";
static const char spec_payload[] = "{\"test\": 2432232314}";
static const char spec_signature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

static const char other_secret[] = "whsec_c2VjcmV0LXR3by1mb3Itcm90YXRpb24tdGVzdHM=";
static const char third_secret[] = "whsec_dGhpcmQtc2VjcmV0LW5ldmVyLXVzZWQ=";

static void test_signature_matches_the_spec_vector(void **state)
{
    char sig[LG_WEBHOOK_SIGNATURE_MAX];
    (void)state;
    assert_int_equal(lg_webhook_sign(spec_secret, NULL, spec_msg_id, spec_timestamp, spec_payload,
                                     strlen(spec_payload), sig, sizeof(sig)),
                     LG_OK);
    assert_string_equal(sig, spec_signature);
    /* An empty previous secret is no previous secret. */
    assert_int_equal(lg_webhook_sign(spec_secret, "", spec_msg_id, spec_timestamp, spec_payload,
                                     strlen(spec_payload), sig, sizeof(sig)),
                     LG_OK);
    assert_string_equal(sig, spec_signature);
}

static void test_spec_vector_verifies_and_tampering_does_not(void **state)
{
    const char *p = spec_payload;
    size_t n = strlen(p);
    (void)state;
    assert_true(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n, spec_signature));
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, "1614265331", p, n, spec_signature));
    assert_false(lg_webhook_verify(spec_secret, "msg_other", spec_timestamp, p, n, spec_signature));
    assert_false(
        lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n - 1, spec_signature));
    assert_false(
        lg_webhook_verify(other_secret, spec_msg_id, spec_timestamp, p, n, spec_signature));
    /* Other versions, truncation and garbage are skipped, not matched. */
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n,
                                   "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n,
                                   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"));
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n, ""));
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n, "v1,"));
    assert_false(
        lg_webhook_verify("whsec_!!!!", spec_msg_id, spec_timestamp, p, n, spec_signature));
    assert_false(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n, NULL));
    /* The match may be anywhere in the list. */
    assert_true(lg_webhook_verify(spec_secret, spec_msg_id, spec_timestamp, p, n,
                                  "v1a,xyz v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
                                  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
}

static void test_rotation_signs_twice_and_either_secret_verifies(void **state)
{
    char sig[LG_WEBHOOK_SIGNATURE_MAX];
    const char *body = "{\"subscription\":\"https://x/y\"}";
    (void)state;
    assert_int_equal(lg_webhook_sign(other_secret, spec_secret, "msg_1", "1700000000", body,
                                     strlen(body), sig, sizeof(sig)),
                     LG_OK);
    const char *space = strchr(sig, ' ');
    assert_non_null(space);
    assert_int_equal(space - sig, 47);
    assert_int_equal(strlen(sig), 95);
    assert_true(lg_webhook_verify(other_secret, "msg_1", "1700000000", body, strlen(body), sig));
    assert_true(lg_webhook_verify(spec_secret, "msg_1", "1700000000", body, strlen(body), sig));
    assert_false(lg_webhook_verify(third_secret, "msg_1", "1700000000", body, strlen(body), sig));
    /* Secrets without the prefix are the same key. */
    assert_true(lg_webhook_verify(spec_secret + 6, "msg_1", "1700000000", body, strlen(body), sig));
}

static void test_sign_refuses_bad_secrets_and_small_buffers(void **state)
{
    char sig[LG_WEBHOOK_SIGNATURE_MAX];
    (void)state;
    assert_int_equal(lg_webhook_sign("whsec_not base64", NULL, "m", "1", "{}", 2, sig, sizeof(sig)),
                     LG_ERR);
    assert_int_equal(lg_webhook_sign("whsec_", NULL, "m", "1", "{}", 2, sig, sizeof(sig)), LG_ERR);
    assert_int_equal(lg_webhook_sign(NULL, NULL, "m", "1", "{}", 2, sig, sizeof(sig)), LG_ERR);
    assert_int_equal(lg_webhook_sign(spec_secret, "whsec_abc", "m", "1", "{}", 2, sig, sizeof(sig)),
                     LG_ERR);
    assert_int_equal(lg_webhook_sign(spec_secret, NULL, "m", "1", "{}", 2, sig, 47), LG_ERR);
    assert_int_equal(lg_webhook_sign(spec_secret, NULL, "m", "1", "{}", 2, sig, 48), LG_OK);
    assert_int_equal(lg_webhook_sign(spec_secret, other_secret, "m", "1", "{}", 2, sig, 95),
                     LG_ERR);
}

static void test_good_urls_are_taken_apart(void **state)
{
    static const struct {
        const char *url;
        const char *host;
        int port;
        bool is_ip;
        const char *target;
        const char *host_header;
    } cases[] = {
        {"https://scs.example.com/notify", "scs.example.com", 443, false, "/notify",
         "scs.example.com"},
        {"HTTPS://scs.example.com", "scs.example.com", 443, false, "/", "scs.example.com"},
        {"https://scs.example.com:8443/a/b?x=1&y=2", "scs.example.com", 8443, false, "/a/b?x=1&y=2",
         "scs.example.com:8443"},
        {"https://127.0.0.1:9000/hook", "127.0.0.1", 9000, true, "/hook", "127.0.0.1:9000"},
        {"https://[::1]:9000/hook", "::1", 9000, true, "/hook", "[::1]:9000"},
        {"https://[2001:db8::5]/", "2001:db8::5", 443, true, "/", "[2001:db8::5]"},
        {"https://scs.example.com/n#frag", "scs.example.com", 443, false, "/n", "scs.example.com"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_webhook_dest_t d;
        const char *err = "unset";
        if (lg_webhook_check_url(cases[i].url, &d, &err) != LG_OK)
            fail_msg("%s refused: %s", cases[i].url, err);
        assert_null(err);
        assert_string_equal(d.host, cases[i].host);
        assert_int_equal(d.port, cases[i].port);
        assert_int_equal(d.is_ip_literal, cases[i].is_ip);
        assert_string_equal(d.target, cases[i].target);
        assert_string_equal(d.host_header, cases[i].host_header);
    }
}

static void test_bad_urls_are_refused(void **state)
{
    static const char *const cases[] = {
        "http://scs.example.com/notify",
        "ftp://scs.example.com/",
        "https://user:pw@scs.example.com/",
        "https://user@scs.example.com/",
        "https:///path",
        "https://",
        "scs.example.com/notify",
        "/relative",
        "",
        "https://scs.example.com:0/",
        "https://scs.example.com:70000/",
        "https://[::1/",
        "https://[not-v6]/",
        "https://scs.example.com/a b",
        "javascript:alert(1)",
        "https://2130706433/",
        "https://0x7f000001:8443/n",
        "https://127.1/",
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_webhook_dest_t d;
        const char *err = NULL;
        if (lg_webhook_check_url(cases[i], &d, &err) != LG_ERR)
            fail_msg("%s accepted", cases[i]);
        assert_non_null(err);
        assert_null(strstr(err, "example"));
    }
    lg_webhook_dest_t d;
    const char *err = NULL;
    assert_int_equal(lg_webhook_check_url(NULL, &d, &err), LG_ERR);
    char *longurl = malloc(LG_WEBHOOK_TARGET_MAX + 32);
    strcpy(longurl, "https://scs.example.com/");
    memset(longurl + strlen(longurl), 'a', LG_WEBHOOK_TARGET_MAX);
    longurl[LG_WEBHOOK_TARGET_MAX + 20] = '\0';
    assert_int_equal(lg_webhook_check_url(longurl, &d, &err), LG_ERR);
    free(longurl);
}

static void test_numeric_hosts_are_refused_as_such(void **state)
{
    static const char *const numeric[] = {"2130706433", "0x7f000001", "0X",       "127.1",
                                          "a.b.017",    "h.0x1f.",    "127.0.0.1"};
    static const char *const names[] = {"scs.example", "123.example", "h.0x1g", "x0x1", "h.", ""};
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(numeric); i++)
        if (!lg_webhook_host_is_numeric(numeric[i], strlen(numeric[i])))
            fail_msg("%s: not taken for a number", numeric[i]);
    for (size_t i = 0; i < LG_ARRAY_SIZE(names); i++)
        if (lg_webhook_host_is_numeric(names[i], strlen(names[i])))
            fail_msg("%s: taken for a number", names[i]);
    lg_webhook_dest_t d;
    const char *err = NULL;
    assert_int_equal(lg_webhook_check_url("https://2130706433:8443/n", &d, &err), LG_ERR);
    assert_ptr_equal(err, LG_WEBHOOK_ERR_NUMERIC_HOST);
    assert_int_equal(lg_webhook_check_url("https://127.0.0.1:8443/n", &d, &err), LG_OK);
    assert_true(d.is_ip_literal);
}

static bool is_private(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
        sin->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
        sin6->sin6_family = AF_INET6;
    else
        fail_msg("bad test address %s", text);
    return lg_webhook_addr_is_private((const struct sockaddr *)&ss);
}

static void test_private_address_table(void **state)
{
    static const struct {
        const char *addr;
        bool is_private;
    } cases[] = {
        {"0.0.0.0", true},
        {"0.1.2.3", true},
        {"127.0.0.1", true},
        {"127.255.255.254", true},
        {"10.0.0.1", true},
        {"10.255.255.255", true},
        {"172.16.0.1", true},
        {"172.31.255.255", true},
        {"172.15.255.255", false},
        {"172.32.0.0", false},
        {"192.168.1.1", true},
        {"192.167.255.255", false},
        {"169.254.169.254", true},
        {"169.253.0.1", false},
        {"100.64.0.1", true},
        {"100.127.255.255", true},
        {"100.63.255.255", false},
        {"100.128.0.0", false},
        {"192.0.0.8", true},
        {"198.18.0.1", true},
        {"198.19.255.255", true},
        {"198.20.0.0", false},
        {"224.0.0.1", true},
        {"239.255.255.250", true},
        {"240.0.0.1", true},
        {"255.255.255.255", true},
        {"8.8.8.8", false},
        {"93.184.216.34", false},
        {"1.1.1.1", false},
        {"223.255.255.255", false},
        {"::", true},
        {"::1", true},
        {"fe80::1", true},
        {"febf::1", true},
        {"fec0::1", true},
        {"fc00::1", true},
        {"fdff:ffff::1", true},
        {"ff02::1", true},
        {"ff05::2", true},
        {"::ffff:127.0.0.1", true},
        {"::ffff:10.1.2.3", true},
        {"::ffff:169.254.169.254", true},
        {"::ffff:8.8.8.8", false},
        {"::127.0.0.1", true},
        {"64:ff9b::10.0.0.1", true},
        {"64:ff9b::8.8.8.8", false},
        {"2001:db8::1", false},
        {"2606:4700:4700::1111", false},
        {"fbff::1", false},
        {"fe7f::1", false},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        if (is_private(cases[i].addr) != cases[i].is_private)
            fail_msg("%s: want %s", cases[i].addr, cases[i].is_private ? "private" : "public");
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_true(lg_webhook_addr_is_private(&unix_sa));
    assert_true(lg_webhook_addr_is_private(NULL));
}

static void test_backoff_has_full_jitter_within_bounds(void **state)
{
    (void)state;
    for (int attempts = 0; attempts < 40; attempts++) {
        int64_t ceiling = attempts < 10 ? (INT64_C(1000) << attempts) : 600000;
        if (ceiling > 600000)
            ceiling = 600000;
        assert_int_equal(lg_webhook_backoff_ms(attempts, 600000, 0), 0);
        assert_int_equal(lg_webhook_backoff_ms(attempts, 600000, UINT32_MAX), ceiling);
        int64_t mid = lg_webhook_backoff_ms(attempts, 600000, UINT32_C(1) << 31);
        assert_true(mid >= ceiling / 2 - 1 && mid <= ceiling / 2 + 1);
        for (uint32_t r = 1; r != 0 && r < UINT32_MAX / 2; r *= 7) {
            int64_t ms = lg_webhook_backoff_ms(attempts, 600000, r);
            assert_true(ms >= 0 && ms <= ceiling);
        }
    }
    assert_int_equal(lg_webhook_backoff_ms(0, 600000, UINT32_MAX), 1000);
    assert_int_equal(lg_webhook_backoff_ms(1, 600000, UINT32_MAX), 2000);
    assert_int_equal(lg_webhook_backoff_ms(-5, 600000, UINT32_MAX), 1000);
    assert_int_equal(lg_webhook_backoff_ms(3, 0, UINT32_MAX), 0);
    assert_int_equal(lg_webhook_backoff_ms(3, -1, UINT32_MAX), 0);
    assert_int_equal(lg_webhook_backoff_ms(100, INT64_MAX, UINT32_MAX), INT64_C(1) << 31);
    assert_int_equal(lg_webhook_backoff_ms(INT32_MAX, 600000, UINT32_MAX), 600000);
}

static void test_retry_after_takes_delta_seconds_only(void **state)
{
    (void)state;
    assert_int_equal(lg_webhook_retry_after_s("120"), 120);
    assert_int_equal(lg_webhook_retry_after_s(" 0 "), 0);
    assert_int_equal(lg_webhook_retry_after_s("99999999999999999999"), 1000000000);
    assert_int_equal(lg_webhook_retry_after_s(NULL), -1);
    assert_int_equal(lg_webhook_retry_after_s(""), -1);
    assert_int_equal(lg_webhook_retry_after_s("-5"), -1);
    assert_int_equal(lg_webhook_retry_after_s("1.5"), -1);
    assert_int_equal(lg_webhook_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
}

static void test_payload_subscription_link_is_made_absolute(void **state)
{
    (void)state;
    char *out = lg_webhook_prepare_payload(
        "{\"subscription\": \"/3gpp-monitoring-event/v1/scs1/subscriptions/ab12\", "
        "\"monitoringEventReports\": [{\"monitoringType\": \"LOCATION_REPORTING\"}]}",
        "https://locguard.example:8443//");
    assert_non_null(out);
    assert_string_equal(out, "{\"subscription\":\"https://locguard.example:8443"
                             "/3gpp-monitoring-event/v1/scs1/subscriptions/ab12\","
                             "\"monitoringEventReports\":[{\"monitoringType\":"
                             "\"LOCATION_REPORTING\"}]}");
    free(out);

    /* Absolute links, other payloads and a missing public URL pass unchanged. */
    static const char *const same[] = {
        "{\"subscription\": \"https://elsewhere/x\"}",
        "{\"subscriptionId\": \"ab12\", \"consentsRevoked\": []}",
        "[1, 2]",
        "{\"subscription\": 5}",
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(same); i++) {
        out = lg_webhook_prepare_payload(same[i], "https://h");
        assert_string_equal(out, same[i]);
        free(out);
    }
    out = lg_webhook_prepare_payload("{\"subscription\": \"/a\"}", NULL);
    assert_string_equal(out, "{\"subscription\": \"/a\"}");
    free(out);
    assert_null(lg_webhook_prepare_payload("{\"subscription\": ", "https://h"));
    assert_null(lg_webhook_prepare_payload("{\"a\": 1, \"a\": 2}", "https://h"));
}

/* The one definition of a usable secret, which locguardctl checks with too. */
static void test_secret_validity_matches_what_the_signer_reads(void **state)
{
    char big[200] = "whsec_";
    (void)state;
    assert_true(lg_webhook_secret_is_valid("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_true(lg_webhook_secret_is_valid("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_false(lg_webhook_secret_is_valid("whsec_"));
    assert_false(lg_webhook_secret_is_valid("whsec_Zh==")); /* non-zero spare bits */
    assert_false(lg_webhook_secret_is_valid("whsec_abc"));  /* not padded */
    assert_false(lg_webhook_secret_is_valid(NULL));
    /* 132 bytes decoded (176 characters) is over the signer's 128. */
    for (size_t i = 6; i < 6 + 176; i++)
        big[i] = 'A';
    big[6 + 176] = '\0';
    assert_false(lg_webhook_secret_is_valid(big));
    /* 170 characters and "==": 127 bytes, within. */
    big[6 + 172] = '\0';
    big[6 + 171] = '=';
    big[6 + 170] = '=';
    assert_true(lg_webhook_secret_is_valid(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_matches_the_spec_vector),
        cmocka_unit_test(test_numeric_hosts_are_refused_as_such),
        cmocka_unit_test(test_spec_vector_verifies_and_tampering_does_not),
        cmocka_unit_test(test_rotation_signs_twice_and_either_secret_verifies),
        cmocka_unit_test(test_sign_refuses_bad_secrets_and_small_buffers),
        cmocka_unit_test(test_good_urls_are_taken_apart),
        cmocka_unit_test(test_bad_urls_are_refused),
        cmocka_unit_test(test_private_address_table),
        cmocka_unit_test(test_backoff_has_full_jitter_within_bounds),
        cmocka_unit_test(test_retry_after_takes_delta_seconds_only),
        cmocka_unit_test(test_payload_subscription_link_is_made_absolute),
        cmocka_unit_test(test_secret_validity_matches_what_the_signer_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
