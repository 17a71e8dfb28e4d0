/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the Prometheus exposition (service/core/metrics.c). */
#include "locguard/core/metrics.h"

#include "locguard/core/version.h"

#include <event2/buffer.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *render(const lg_metrics_t *m)
{
    struct evbuffer *b = evbuffer_new();
    lg_metrics_render(m, b);
    size_t len = evbuffer_get_length(b);
    char *text = malloc(len + 1);
    evbuffer_remove(b, text, len);
    text[len] = '\0';
    evbuffer_free(b);
    return text;
}

static void test_counters_render_with_labels(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_add(m, LG_C_DECISION_OUTSIDE, 3);
    lg_metrics_add(m, LG_C_DECISION_OUTSIDE, 2);
    lg_metrics_add(m, LG_C_REFUSED_STALE, 7);
    char *t = render(m);
    assert_non_null(strstr(t, "locguard_decisions_total{decision=\"outside\"} 5\n"));
    assert_non_null(strstr(t, "locguard_decisions_total{decision=\"inside\"} 0\n"));
    assert_non_null(strstr(t, "locguard_reports_refused_total{reason=\"stale_sequence\"} 7\n"));
    assert_int_equal(lg_metrics_get(m, LG_C_DECISION_OUTSIDE), 5);
    free(t);
    lg_metrics_free(m);
}

static void test_family_header_written_once(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    char *t = render(m);
    const char *first = strstr(t, "# TYPE locguard_decisions_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE locguard_decisions_total counter"));
    free(t);
    lg_metrics_free(m);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, 0.0005); /* le 0.001 */
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, 0.003);  /* le 0.005 */
    lg_metrics_observe(m, LG_H_DB_ROUNDTRIP, 99.0);   /* +Inf only */
    char *t = render(m);
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_bucket{le=\"0.002\"} 1\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_bucket{le=\"2.5\"} 2\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_count 3\n"));
    assert_non_null(strstr(t, "locguard_db_roundtrip_seconds_sum 99.003500\n"));
    free(t);
    lg_metrics_free(m);
}

static void test_gauge_shows_last_value(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_set(m, LG_G_QUEUE_REPORTS, 40);
    lg_metrics_set(m, LG_G_QUEUE_REPORTS, 12);
    char *t = render(m);
    assert_non_null(strstr(t, "locguard_ingest_queue_reports 12\n"));
    free(t);
    lg_metrics_free(m);
}

static void test_build_info_comes_first_with_the_version(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    char *t = render(m);
    assert_true(strncmp(t, "# HELP locguard_build_info ", 27) == 0);
    assert_non_null(strstr(t, "# TYPE locguard_build_info gauge\n"
                              "locguard_build_info{version=\"" LG_VERSION "\"} 1\n"));
    free(t);
    lg_metrics_free(m);
}

static void test_requests_by_zone_and_status_class(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_count_request(m, LG_ZONE_SOUTHBOUND, 204);
    lg_metrics_count_request(m, LG_ZONE_SOUTHBOUND, 204);
    lg_metrics_count_request(m, LG_ZONE_SOUTHBOUND, 503);
    lg_metrics_count_request(m, LG_ZONE_ADMIN, 409);
    lg_metrics_count_request(m, LG_ZONE_EXPOSURE, 0);   /* no status: counted as 5xx */
    lg_metrics_count_request(m, LG_ZONE_NORTHBOUND, 101);
    char *t = render(m);
#define REQS "locguard_http_requests_total"
    assert_non_null(strstr(t, REQS "{zone=\"southbound\",code=\"2xx\"} 2\n"));
    assert_non_null(strstr(t, REQS "{zone=\"southbound\",code=\"5xx\"} 1\n"));
    assert_non_null(strstr(t, REQS "{zone=\"southbound\",code=\"4xx\"} 0\n"));
    assert_non_null(strstr(t, REQS "{zone=\"admin\",code=\"4xx\"} 1\n"));
    assert_non_null(strstr(t, REQS "{zone=\"exposure\",code=\"5xx\"} 1\n"));
    assert_non_null(strstr(t, REQS "{zone=\"northbound\",code=\"1xx\"} 1\n"));
    assert_int_equal(lg_metrics_get_requests(m, LG_ZONE_SOUTHBOUND, 2), 2);
    assert_int_equal(lg_metrics_get_requests(m, LG_ZONE_ADMIN, 4), 1);
    /* 4 zones x 5 classes, one TYPE line. */
    size_t samples = 0;
    for (const char *p = t; (p = strstr(p, "\nlocguard_http_requests_total{")) != NULL; p++)
        samples++;
    assert_int_equal(samples, 20);
    const char *type = strstr(t, "# TYPE locguard_http_requests_total counter\n");
    assert_non_null(type);
    assert_null(strstr(type + 1, "# TYPE locguard_http_requests_total"));
    free(t);
    lg_metrics_free(m);
}

static void test_delivery_latency_buckets_resolve_the_100ms_target(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_observe(m, LG_H_DELIVERY_LATENCY, 0.004);  /* le 0.005 */
    lg_metrics_observe(m, LG_H_DELIVERY_LATENCY, 0.062);  /* le 0.075 */
    lg_metrics_observe(m, LG_H_DELIVERY_LATENCY, 0.1);    /* le 0.1: bounds are inclusive */
    lg_metrics_observe(m, LG_H_DELIVERY_LATENCY, 0.12);   /* le 0.15 */
    lg_metrics_observe(m, LG_H_DELIVERY_LATENCY, 30.0);   /* +Inf only */
    char *t = render(m);
    static const char *const expected[] = {
        "# TYPE locguard_delivery_latency_seconds histogram\n",
        "locguard_delivery_latency_seconds_bucket{le=\"0.005\"} 1\n",
        "locguard_delivery_latency_seconds_bucket{le=\"0.05\"} 1\n",
        "locguard_delivery_latency_seconds_bucket{le=\"0.075\"} 2\n",
        "locguard_delivery_latency_seconds_bucket{le=\"0.1\"} 3\n",
        "locguard_delivery_latency_seconds_bucket{le=\"0.15\"} 4\n",
        "locguard_delivery_latency_seconds_bucket{le=\"10\"} 4\n",
        "locguard_delivery_latency_seconds_bucket{le=\"+Inf\"} 5\n",
        "locguard_delivery_latency_seconds_sum 30.286000\n",
        "locguard_delivery_latency_seconds_count 5\n",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (strstr(t, expected[i]) == NULL)
            fail_msg("missing: %s", expected[i]);
    assert_int_equal(lg_metrics_histogram_count(m, LG_H_DELIVERY_LATENCY), 5);
    /* The count-API histogram starts below a millisecond. */
    assert_non_null(strstr(t, "locguard_count_request_duration_seconds_bucket{le=\"0.0005\"} 0\n"));
    free(t);
    lg_metrics_free(m);
}

static void test_delivery_outcomes_and_held_destinations(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    lg_metrics_add(m, LG_C_DELIVERIES_GONE, 2);
    lg_metrics_add(m, LG_C_DELIVERIES_REQUEUED, 5);
    lg_metrics_set(m, LG_G_DESTINATIONS_ON_HOLD, 1);
    char *t = render(m);
    assert_non_null(strstr(t, "locguard_deliveries_total{outcome=\"gone\"} 2\n"));
    assert_non_null(strstr(t, "locguard_deliveries_total{outcome=\"requeue\"} 5\n"));
    assert_non_null(strstr(t, "locguard_deliveries_total{outcome=\"failed\"} 0\n"));
    assert_non_null(strstr(t, "# TYPE locguard_delivery_destinations_on_hold gauge\n"
                              "locguard_delivery_destinations_on_hold 1\n"));
    assert_int_equal(lg_metrics_get_gauge(m, LG_G_DESTINATIONS_ON_HOLD), 1);
    free(t);
    lg_metrics_free(m);
}

/*
 * The exposition format's rules that a scraper enforces: every sample's
 * family has one HELP and one TYPE line before its first sample, the
 * families are not interleaved, histogram buckets are cumulative and end
 * with +Inf equal to _count, and each line is "name{labels} value".
 */
static void test_exposition_is_well_formed(void **state)
{
    (void)state;
    lg_metrics_t *m = lg_metrics_new();
    for (int h = 0; h < LG_HISTOGRAM_COUNT; h++)
        lg_metrics_observe(m, (lg_histogram_t)h, 0.03 * (h + 1));
    lg_metrics_count_request(m, LG_ZONE_ADMIN, 200);
    char *t = render(m);
    char family[128] = "", seen[64][128];
    size_t n_seen = 0;
    unsigned long long last_bucket = 0;
    bool in_buckets = false;
    for (char *save = NULL, *l = strtok_r(t, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save)) {
        char name[128], rest[256];
        if (sscanf(l, "# TYPE %127s %255s", name, rest) == 2) {
            for (size_t i = 0; i < n_seen; i++)
                if (strcmp(seen[i], name) == 0)
                    fail_msg("family %s typed twice (interleaved?)", name);
            assert_true(n_seen < 64);
            strcpy(seen[n_seen++], name);
            strcpy(family, name);
            in_buckets = false;
            continue;
        }
        if (strncmp(l, "# HELP ", 7) == 0)
            continue;
        /* A sample: its name starts with the current family's. */
        size_t len = strcspn(l, "{ ");
        if (strncmp(l, family, strlen(family)) != 0 || len < strlen(family))
            fail_msg("sample outside its family %s: %s", family, l);
        const char *suffix = l + strlen(family);
        if (!(suffix[0] == ' ' || suffix[0] == '{' || strncmp(suffix, "_bucket{", 8) == 0 ||
              strncmp(suffix, "_sum ", 5) == 0 || strncmp(suffix, "_count ", 7) == 0))
            fail_msg("bad sample name: %s", l);
        const char *value = strrchr(l, ' ');
        assert_non_null(value);
        char *end;
        double v = strtod(value + 1, &end);
        if (*end != '\0' || v < 0)
            fail_msg("bad value: %s", l);
        if (strncmp(suffix, "_bucket{", 8) == 0) {
            unsigned long long b = strtoull(value + 1, NULL, 10);
            if (in_buckets && b < last_bucket)
                fail_msg("buckets not cumulative: %s", l);
            last_bucket = b;
            in_buckets = true;
        } else if (strncmp(suffix, "_count ", 7) == 0) {
            if (strtoull(value + 1, NULL, 10) != last_bucket)
                fail_msg("_count is not the +Inf bucket: %s", l);
            in_buckets = false;
        }
    }
    free(t);
    lg_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_render_with_labels),
        cmocka_unit_test(test_family_header_written_once),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_gauge_shows_last_value),
        cmocka_unit_test(test_build_info_comes_first_with_the_version),
        cmocka_unit_test(test_requests_by_zone_and_status_class),
        cmocka_unit_test(test_delivery_latency_buckets_resolve_the_100ms_target),
        cmocka_unit_test(test_delivery_outcomes_and_held_destinations),
        cmocka_unit_test(test_exposition_is_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
