/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the Prometheus exposition (service/metrics.c). */
#include "locguard/metrics.h"

#include <event2/buffer.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_render_with_labels),
        cmocka_unit_test(test_family_header_written_once),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_gauge_shows_last_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
