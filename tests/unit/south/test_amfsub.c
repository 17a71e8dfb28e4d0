/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Namf_EventExposure client's pure parts
 * (service/south/amfsub.c): the [amf] settings and their keys in the
 * configuration parser, the next step of a subscription, the bodies sent,
 * and the correlation match without a client. The bodies are validated
 * against the YAML by tests/integration/test_amf.sh.
 */
#include "locguard/core/config.h"
#include "locguard/south/amfsub.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#define DB "[database]\nconninfo = x\n"
#define AMF                                                                                        \
    "[amf]\n"                                                                                      \
    "peer = amf-1 https://amf1.example:8443/\n"                                                    \
    "peer = amf-2   https://amf2.example/root\n"                                                   \
    "notify_uri = https://locguard.example:7443/v1/location-reports\n"                             \
    "nf_id = 3fa85f64-5717-4562-b3fc-2c963f66afa6\n"                                               \
    "cert = nef.pem\n"

#define S(x) ((int64_t)(x)*1000000)

static int parse(lg_config_t *cfg, const char *text, char *err, size_t size)
{
    unsetenv("LOCGUARD_DATABASE");
    lg_config_defaults(cfg);
    return lg_config_parse(cfg, text, "test.conf", err, size);
}

static void test_peer_line_is_a_node_and_an_https_api_root(void **state)
{
    (void)state;
    lg_amf_peer_t p;
    assert_int_equal(lg_amfsub_parse_peer("amf-1 https://amf1.example:8443/", &p), LG_OK);
    assert_string_equal(p.node, "amf-1");
    assert_string_equal(p.api_root, "https://amf1.example:8443");
    static const char *const bad[] = {
        "amf-1",                         /* no apiRoot */
        "amf-1 http://amf1.example",     /* not TLS */
        "amf/1 https://amf1.example",    /* not a node name */
        "amf-1 https://",                /* no host */
        "amf-1 https://a.example/x?y=1", /* a query */
        "a234567890123456789012345678901234567890123456789012345 https://a.example", /* 55 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(lg_amfsub_parse_peer(bad[i], &p), LG_ERR);
}

static void test_amf_section_fills_the_settings_with_defaults(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    assert_int_equal(parse(&cfg, DB AMF, err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.amf.n_peers, 2);
    assert_string_equal(cfg.amf.peers[1].api_root, "https://amf2.example/root");
    assert_int_equal(cfg.amf.expiry_s, 86400);
    assert_int_equal(cfg.amf.renew_before_s, 3600);
    assert_int_equal(cfg.amf.max_reports, 0);
    assert_int_equal(cfg.amf.poll_ms, 2000);
    assert_int_equal(cfg.amf.timeout_s, 10);
    assert_int_equal(cfg.amf.supis_per_subscription, 10000);
    lg_config_cleanup(&cfg);

    assert_int_equal(parse(&cfg, DB AMF "supis_per_subscription = 2\n", err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.amf.supis_per_subscription, 2);
    lg_config_cleanup(&cfg);

    assert_int_equal(parse(&cfg, DB, err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.amf.n_peers, 0);
    lg_config_cleanup(&cfg);
}

static void test_amf_section_without_what_a_peer_needs_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        DB "[amf]\npeer = amf-1 https://a.example\nnf_id = 3fa85f64-5717-4562-b3fc-2c963f66afa6\n"
           "cert = c.pem\n", /* no notify_uri */
        DB "[amf]\npeer = amf-1 https://a.example\nnotify_uri = https://l/x\ncert = c.pem\n",
        DB AMF "nf_id = not-a-uuid\n",
        DB "[amf]\npeer = amf-1 https://a.example\nnotify_uri = https://l/x\n"
           "nf_id = 3fa85f64-5717-4562-b3fc-2c963f66afa6\n", /* no cert */
        DB AMF "expiry_s = 600\nrenew_before_s = 600\n",
        DB AMF "peer = amf-1 https://other.example\n", /* named twice */
        DB AMF "notify_uri = http://locguard.example/v1/location-reports\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lg_config_t cfg;
        char err[256] = "";
        assert_int_equal(parse(&cfg, bad[i], err, sizeof(err)), LG_ERR);
        assert_non_null(strstr(err, "test.conf:"));
        lg_config_cleanup(&cfg);
    }
}

static void test_supis_per_subscription_out_of_range_is_refused(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    assert_int_equal(parse(&cfg, DB AMF "supis_per_subscription = 0\n", err, sizeof(err)), LG_ERR);
    assert_non_null(strstr(err, "supis_per_subscription"));
    lg_config_cleanup(&cfg);
    assert_int_equal(parse(&cfg, DB AMF "supis_per_subscription = 1000001\n", err, sizeof(err)),
                     LG_ERR);
    lg_config_cleanup(&cfg);
}

static void test_next_step_of_a_chunk_that_emptied_or_appeared(void **state)
{
    (void)state;
    int64_t now = S(1000), renew = S(10);
    /* The chunk is gone (no device in it): its subscription is deleted. */
    assert_int_equal(lg_amfsub_next(true, S(2000), 5, 0, 0, now, renew), LG_AMFSUB_DELETE);
    /* Gone and no subscription: nothing, and the entry stays idle. */
    assert_int_equal(lg_amfsub_next(false, 0, 5, 0, 0, now, renew), LG_AMFSUB_NONE);
    /* A new chunk: created. */
    assert_int_equal(lg_amfsub_next(false, 0, 0, 7, 2, now, renew), LG_AMFSUB_CREATE);
    /* Another chunk changed: this one's version did not, nothing to send. */
    assert_int_equal(lg_amfsub_next(true, S(2000), 7, 7, 2, now, renew), LG_AMFSUB_NONE);
}

static void test_next_step_of_a_subscription(void **state)
{
    (void)state;
    int64_t now = S(1000), renew = S(60);
    /* No subscription: made when a device needs it. */
    assert_int_equal(lg_amfsub_next(false, 0, 0, 5, 3, now, renew), LG_AMFSUB_CREATE);
    assert_int_equal(lg_amfsub_next(false, 0, 0, 5, 0, now, renew), LG_AMFSUB_NONE);
    /* Expired: the AMF dropped it. */
    assert_int_equal(lg_amfsub_next(true, now, 5, 5, 3, now, renew), LG_AMFSUB_CREATE);
    /* No device left. */
    assert_int_equal(lg_amfsub_next(true, now + S(600), 5, 6, 0, now, renew), LG_AMFSUB_DELETE);
    /* Devices changed, then the renewal, in that order. */
    assert_int_equal(lg_amfsub_next(true, now + S(10), 5, 6, 3, now, renew), LG_AMFSUB_PATCH_SUPIS);
    assert_int_equal(lg_amfsub_next(true, now + S(60), 6, 6, 3, now, renew), LG_AMFSUB_RENEW);
    assert_int_equal(lg_amfsub_next(true, now + S(61), 6, 6, 3, now, renew), LG_AMFSUB_NONE);
    assert_string_equal(lg_amfsub_action_name(LG_AMFSUB_PATCH_SUPIS), "patch");
}

static void test_create_body_names_every_device_and_the_options(void **state)
{
    (void)state;
    lg_amfsub_config_t cfg = {.notify_uri = "https://l.example/v1/location-reports",
                              .nf_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                              .max_reports = 7};
    char *body =
        lg_amfsub_create_body(&cfg, "amf-1.0a1b2c3d",
                              "[\"imsi-001010000000001\",\"imsi-001010000000002\"]", S(1796000000));
    cJSON *doc = cJSON_Parse(body);
    assert_non_null(doc);
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(doc, "subscription");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sub, "notifyCorrelationId")->valuestring,
                        "amf-1.0a1b2c3d");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sub, "anyUE")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sub, "includeSupiList")),
                     2);
    const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(sub, "eventList"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring,
                        "LOCATION_REPORT");
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(sub, "options");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(opt, "trigger")->valuestring,
                        "CONTINUOUS");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(opt, "maxReports")->valueint, 7);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(opt, "expiry")->valuestring,
                        "2026-11-30T00:53:20.000Z");
    cJSON_Delete(doc);
    free(body);

    /* maxReports 0: left out. */
    cfg.max_reports = 0;
    body = lg_amfsub_create_body(&cfg, "amf-1.0a1b2c3d", "[\"imsi-001010000000001\"]", 0);
    assert_null(strstr(body, "maxReports"));
    free(body);
}

static void test_patch_bodies_are_json_patch_arrays(void **state)
{
    (void)state;
    char *p = lg_amfsub_supis_patch("[\"imsi-001010000000001\"]");
    assert_string_equal(p, "[{\"op\":\"replace\",\"path\":\"/includeSupiList\","
                           "\"includeSupiList\":[\"imsi-001010000000001\"]}]");
    free(p);
    p = lg_amfsub_expiry_patch(S(1796000000));
    assert_string_equal(p, "[{\"op\":\"replace\",\"path\":\"/options/expiry\","
                           "\"value\":\"2026-11-30T00:53:20.000Z\"}]");
    free(p);
}

static void test_correlation_without_a_client(void **state)
{
    (void)state;
    /* The node's own name is not a subscription's: the southbound checks that first. */
    assert_int_equal(lg_amfsub_match(NULL, "amf-1", "amf-1"), LG_AMFSUB_OTHER);
    assert_int_equal(lg_amfsub_match(NULL, "amf-1", "amf-2.0a1b2c3d"), LG_AMFSUB_OTHER);
    assert_int_equal(lg_amfsub_match(NULL, "amf-1", "amf-10a1b2c3d"), LG_AMFSUB_OTHER);
    /* Shaped as this AMF's, but no subscription is live: gone. */
    assert_int_equal(lg_amfsub_match(NULL, "amf-1", "amf-1.0a1b2c3d"), LG_AMFSUB_GONE);
}

static void test_created_uri_is_the_location_or_the_subscription_id(void **state)
{
    (void)state;
    const char *root = "https://amf1.example:8443";
    const char *id_body = "{\"subscriptionId\":\"sub-1\"}";
    char *u = lg_amfsub_created_uri(root, "https://amf1.example:8443/namf-evts/v1/subscriptions/x9",
                                    id_body, strlen(id_body));
    assert_string_equal(u, "https://amf1.example:8443/namf-evts/v1/subscriptions/x9");
    free(u);
    /* No usable Location (none, not https, a space, a control character): the body's id. */
    const char *bad_locations[] = {NULL, "http://amf1.example/namf-evts/v1/subscriptions/x9",
                                   "https://amf1.example/a b", "https://amf1.example/a\x7f",
                                   "https://amf1.example/a\tb"};
    for (size_t i = 0; i < sizeof bad_locations / sizeof bad_locations[0]; i++) {
        u = lg_amfsub_created_uri(root, bad_locations[i], id_body, strlen(id_body));
        assert_non_null(u);
        assert_string_equal(u, "https://amf1.example:8443/namf-evts/v1/subscriptions/sub-1");
        free(u);
    }
    /* An id that is not one path segment, or none: no URI at all. */
    char long_id[300];
    memset(long_id, 'a', sizeof long_id);
    long_id[LG_AMFSUB_ID_MAX + 1] = '\0';
    char long_body[400];
    snprintf(long_body, sizeof long_body, "{\"subscriptionId\":\"%s\"}", long_id);
    const char *bad_bodies[] = {"{\"subscriptionId\":\"a/b\"}",
                                "{\"subscriptionId\":\"a%2Fb\"}",
                                "{\"subscriptionId\":\"a?b\"}",
                                "{\"subscriptionId\":\"a\\u0001\"}",
                                "{\"subscriptionId\":\"\u00e9\"}",
                                "{\"subscriptionId\":\"\"}",
                                "{\"subscriptionId\":7}",
                                "{}",
                                "not json",
                                "",
                                long_body};
    for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++)
        assert_null(lg_amfsub_created_uri(root, NULL, bad_bodies[i], strlen(bad_bodies[i])));
    /* At the limit: LG_AMFSUB_ID_MAX characters are taken. */
    long_id[LG_AMFSUB_ID_MAX] = '\0';
    snprintf(long_body, sizeof long_body, "{\"subscriptionId\":\"%s\"}", long_id);
    u = lg_amfsub_created_uri(root, NULL, long_body, strlen(long_body));
    assert_non_null(u);
    assert_int_equal(strlen(u),
                     strlen(root) + strlen("/namf-evts/v1/subscriptions/") + LG_AMFSUB_ID_MAX);
    free(u);
}

static void test_granted_expiry_or_the_fallback(void **state)
{
    (void)state;
    const char *ok = "{\"subscription\":{\"options\":{\"trigger\":\"CONTINUOUS\","
                     "\"expiry\":\"2026-11-30T00:53:20.000Z\"}}}";
    assert_int_equal(lg_amfsub_granted_expiry(ok, strlen(ok), 42), S(1796000000));
    /* The body is not NUL-terminated: only body_len bytes are read. */
    char cut[256];
    memcpy(cut, ok, strlen(ok));
    memset(cut + strlen(ok), '}', sizeof cut - strlen(ok));
    assert_int_equal(lg_amfsub_granted_expiry(cut, strlen(ok), 42), S(1796000000));
    const char *bad[] = {"{\"subscription\":{\"options\":{\"expiry\":\"soon\"}}}",
                         "{\"subscription\":{\"options\":{\"expiry\":1796000000}}}",
                         "{\"options\":{\"expiry\":\"2026-11-30T00:53:20.000Z\"}}",
                         "[]",
                         "nul",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lg_amfsub_granted_expiry(bad[i], strlen(bad[i]), 42), 42);
    assert_int_equal(lg_amfsub_granted_expiry(NULL, 0, 42), 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_line_is_a_node_and_an_https_api_root),
        cmocka_unit_test(test_amf_section_fills_the_settings_with_defaults),
        cmocka_unit_test(test_amf_section_without_what_a_peer_needs_is_refused),
        cmocka_unit_test(test_supis_per_subscription_out_of_range_is_refused),
        cmocka_unit_test(test_next_step_of_a_chunk_that_emptied_or_appeared),
        cmocka_unit_test(test_next_step_of_a_subscription),
        cmocka_unit_test(test_create_body_names_every_device_and_the_options),
        cmocka_unit_test(test_patch_bodies_are_json_patch_arrays),
        cmocka_unit_test(test_correlation_without_a_client),
        cmocka_unit_test(test_created_uri_is_the_location_or_the_subscription_id),
        cmocka_unit_test(test_granted_expiry_or_the_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
