/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics: fixed arrays indexed by the enums of metrics.h, and one table per
 * kind giving each its Prometheus name, labels and help. Several enum values
 * may share a name with different labels (decisions by outcome); the
 * renderer writes HELP/TYPE once per name.
 */
#include "locguard/core/metrics.h"

#include "locguard/core/version.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_MAX 16

/* A metric's exposition: family name, label set (or ""), help text. */
typedef struct metric_def {
    const char *name;
    const char *labels;
    const char *help;
} metric_def_t;

static const metric_def_t counter_defs[LG_COUNTER_COUNT] = {
    [LG_C_REPORTS_ACCEPTED] = {"locguard_reports_total", "outcome=\"accepted\"",
                               "Location reports acknowledged to network nodes."},
    [LG_C_BATCHES_ACCEPTED] = {"locguard_batches_total", "outcome=\"accepted\"",
                               "Report batches by outcome."},
    [LG_C_BATCHES_DUPLICATE] = {"locguard_batches_total", "outcome=\"duplicate\"", NULL},
    [LG_C_REFUSED_INVALID] = {"locguard_reports_refused_total", "reason=\"invalid\"",
                              "Location reports refused, by reason."},
    [LG_C_REFUSED_UNKNOWN_NODE] = {"locguard_reports_refused_total", "reason=\"unknown_node\"",
                                   NULL},
    [LG_C_REFUSED_STALE] = {"locguard_reports_refused_total", "reason=\"stale_sequence\"", NULL},
    [LG_C_REFUSED_NOT_FRESH] = {"locguard_reports_refused_total", "reason=\"not_fresh\"", NULL},
    [LG_C_REFUSED_UNAVAILABLE] = {"locguard_reports_refused_total", "reason=\"unavailable\"",
                                  NULL},
    [LG_C_REFUSED_QUEUE_FULL] = {"locguard_reports_refused_total", "reason=\"queue_full\"", NULL},
    [LG_C_REFUSED_SCEF_REFERENCE] = {"locguard_reports_refused_total",
                                     "reason=\"unknown_scef_reference\"", NULL},
    [LG_C_DECISION_INSIDE] = {"locguard_decisions_total", "decision=\"inside\"",
                              "Area decisions, by outcome."},
    [LG_C_DECISION_OUTSIDE] = {"locguard_decisions_total", "decision=\"outside\"", NULL},
    [LG_C_DECISION_AMBIGUOUS] = {"locguard_decisions_total", "decision=\"ambiguous\"", NULL},
    [LG_C_DECISION_UNKNOWN_CELL] = {"locguard_decisions_total", "decision=\"unknown_cell\"",
                                    NULL},
    [LG_C_DECISION_UNCHECKED] = {"locguard_decisions_total", "decision=\"unchecked\"", NULL},
    [LG_C_UNKNOWN_DEVICES] = {"locguard_unknown_devices_total", "",
                              "Reports for devices that are not provisioned."},
    [LG_C_ALERTS] = {"locguard_alerts_total", "", "Movement alerts recorded."},
    [LG_C_REPORTS_COALESCED] = {"locguard_reports_coalesced_total", "",
                                "Accepted reports that changed nothing but the time within "
                                "[ingest] refresh_ms, so wrote no row."},
    [LG_C_REPORTS_CACHED] = {"locguard_reports_cached_total", "",
                             "Of the coalesced reports, those the daemon coalesced from its "
                             "cache ([ingest] cache_devices) without sending them."},
    [LG_C_INGEST_CACHE_RESETS] = {"locguard_ingest_cache_resets_total", "",
                                  "Times the daemon emptied its cache: a write or a change of "
                                  "reference data it did not make itself."},
    [LG_C_DB_ERRORS] = {"locguard_db_errors_total", "",
                        "Database failures: connections lost or not made, and server errors "
                        "that are not the request's data (SQLSTATE classes other than 22, 23, "
                        "P0 and LG, 42501, 40001 and 40P01)."},
    [LG_C_INGEST_RETRIES] = {"locguard_ingest_retries_total", "",
                             "Group commits rolled back by a deadlock or serialization "
                             "failure and sent again."},
    [LG_C_TLS_HANDSHAKE_FAILURES] = {"locguard_tls_handshake_failures_total", "",
                                     "Connections that ended before completing the TLS "
                                     "handshake (refused or broken); a finished handshake "
                                     "never counts."},
    [LG_C_DELIVERIES_SUCCEEDED] = {"locguard_deliveries_total", "outcome=\"succeeded\"",
                                   "Notification deliveries to SCSs, by outcome."},
    [LG_C_DELIVERIES_FAILED] = {"locguard_deliveries_total", "outcome=\"failed\"", NULL},
    [LG_C_DELIVERIES_RETRIED] = {"locguard_deliveries_total", "outcome=\"retried\"", NULL},
    [LG_C_DELIVERIES_GONE] = {"locguard_deliveries_total", "outcome=\"gone\"", NULL},
    [LG_C_DELIVERIES_REQUEUED] = {"locguard_deliveries_total", "outcome=\"requeue\"", NULL},
    [LG_C_DEAD_ENDS_UNRESOLVABLE] = {"locguard_delivery_dead_ends_total",
                                     "reason=\"unresolvable\"",
                                     "Notifications given up early (also counted in "
                                     "locguard_deliveries_total{outcome=\"failed\"}): a "
                                     "destination that does not resolve or is a numeric "
                                     "non-standard address, or that keeps answering 3xx."},
    [LG_C_DEAD_ENDS_REDIRECT] = {"locguard_delivery_dead_ends_total", "reason=\"redirect\"",
                                 NULL},
    [LG_C_AMF_REQUESTS_FAILED] = {"locguard_amf_request_failures_total", "",
                                  "Namf_EventExposure requests to an AMF that failed (no answer, "
                                  "or a refusal) and are tried again with back-off."},
    [LG_C_S6T_CONFIGURED] = {"locguard_s6t_answers_total", "action=\"configure\",outcome=\"done\"",
                             "Monitoring configurations and deletions sent to the HSS over S6t, "
                             "by outcome (failed: refused or unanswered, sent again later)."},
    [LG_C_S6T_CONFIGURE_FAILED] = {"locguard_s6t_answers_total",
                                   "action=\"configure\",outcome=\"failed\"", NULL},
    [LG_C_S6T_DELETED] = {"locguard_s6t_answers_total", "action=\"delete\",outcome=\"done\"",
                          NULL},
    [LG_C_S6T_DELETE_FAILED] = {"locguard_s6t_answers_total",
                                "action=\"delete\",outcome=\"failed\"", NULL},
};

static const metric_def_t gauge_defs[LG_GAUGE_COUNT] = {
    [LG_G_QUEUE_REPORTS] = {"locguard_ingest_queue_reports", "",
                            "Reports waiting for the group commit."},
    [LG_G_INFLIGHT_REPORTS] = {"locguard_ingest_inflight_reports", "",
                               "Reports in database round trips under way."},
    [LG_G_DB_CONNECTIONS] = {"locguard_db_connections", "", "Database connections up."},
    [LG_G_OUTBOX_DEPTH] = {"locguard_outbox_depth", "", "Notifications waiting for delivery."},
    [LG_G_OUTBOX_OLDEST_AGE] = {"locguard_outbox_oldest_age_seconds", "",
                                "Age of the oldest undelivered notification."},
    [LG_G_INGEST_CACHE_DEVICES] = {"locguard_ingest_cache_devices", "",
                                   "Devices in the daemon's cache of coalescable rows."},
    [LG_G_DESTINATIONS_ON_HOLD] = {"locguard_delivery_destinations_on_hold", "",
                                   "SCS destinations the notifier holds after repeated failed "
                                   "attempts (its circuit breaker)."},
    [LG_G_AMF_SUBSCRIPTIONS] = {"locguard_amf_subscriptions", "",
                                "LOCATION_REPORT subscriptions locguard holds at the configured "
                                "AMFs (one per AMF and chunk of devices)."},
    [LG_G_SCEF_REFERENCES] = {"locguard_s6t_references", "",
                              "SCEF-Reference-IDs configured at the HSS that reports may name."},
};

static const metric_def_t histogram_defs[LG_HISTOGRAM_COUNT] = {
    [LG_H_BATCH_REPORTS] = {"locguard_batch_reports", "",
                            "Reports per database round trip (group commit size)."},
    [LG_H_DB_ROUNDTRIP] = {"locguard_db_roundtrip_seconds", "",
                           "Duration of ingest database round trips."},
    [LG_H_ACK_LATENCY] = {"locguard_ack_latency_seconds", "",
                          "Time from a batch's arrival to its acknowledgement."},
    [LG_H_DELIVERY_LATENCY] = {"locguard_delivery_latency_seconds", "",
                               "Time from a notification's creation (the alert's commit) to "
                               "the SCS's 2xx, retries included."},
    [LG_H_COUNT_DURATION] = {"locguard_count_request_duration_seconds", "",
                             "Time from a CAMARA count request to its answer (any status)."},
};

/* Upper bounds of each histogram's buckets (+Inf is implicit). */
static const double bucket_bounds[LG_HISTOGRAM_COUNT][BUCKETS_MAX] = {
    [LG_H_BATCH_REPORTS] = {1, 10, 100, 500, 1000, 2000, 4000, 8000, 16000},
    [LG_H_DB_ROUNDTRIP] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
    [LG_H_ACK_LATENCY] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
    /* The target is p99 <= 100 ms: finer around it, up to the 10 s attempt timeout. */
    [LG_H_DELIVERY_LATENCY] = {0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1,
                               2.5, 5, 10},
    [LG_H_COUNT_DURATION] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                             2.5, 5},
};

/* Zone kinds are 1..ZONE_KINDS-1 (lg_zone_kind_t); the label is lg_zone_kind_name. */
#define ZONE_KINDS (LG_ZONE_EXPOSURE + 1)

typedef struct histogram {
    uint64_t buckets[BUCKETS_MAX + 1]; /* non-cumulative counts; last is +Inf */
    uint64_t count;
    double sum;
} histogram_t;

struct lg_metrics {
    uint64_t counters[LG_COUNTER_COUNT];
    int64_t gauges[LG_GAUGE_COUNT];
    histogram_t histograms[LG_HISTOGRAM_COUNT];
    uint64_t requests[ZONE_KINDS][5]; /* by zone kind and status class 1xx..5xx */
};

lg_metrics_t *lg_metrics_new(void)
{
    return lg_xcalloc(1, sizeof(lg_metrics_t));
}

void lg_metrics_free(lg_metrics_t *m)
{
    free(m);
}

void lg_metrics_add(lg_metrics_t *m, lg_counter_t c, uint64_t n)
{
    m->counters[c] += n;
}

void lg_metrics_set(lg_metrics_t *m, lg_gauge_t g, int64_t value)
{
    m->gauges[g] = value;
}

/* The index of a status class: 1xx -> 0 .. 5xx -> 4; anything else counts as 5xx. */
static int status_class_index(int status)
{
    return status >= 100 && status <= 599 ? status / 100 - 1 : 4;
}

void lg_metrics_count_request(lg_metrics_t *m, lg_zone_kind_t zone, int status)
{
    if ((int)zone > 0 && (int)zone < ZONE_KINDS)
        m->requests[zone][status_class_index(status)]++;
}

uint64_t lg_metrics_get_requests(const lg_metrics_t *m, lg_zone_kind_t zone, int status_class)
{
    if ((int)zone <= 0 || (int)zone >= ZONE_KINDS || status_class < 1 || status_class > 5)
        return 0;
    return m->requests[zone][status_class - 1];
}

static size_t bucket_count(lg_histogram_t h)
{
    size_t n = 0;
    while (n < BUCKETS_MAX && bucket_bounds[h][n] > 0)
        n++;
    return n;
}

void lg_metrics_observe(lg_metrics_t *m, lg_histogram_t h, double value)
{
    histogram_t *hist = &m->histograms[h];
    size_t n = bucket_count(h), i = 0;
    while (i < n && value > bucket_bounds[h][i])
        i++;
    hist->buckets[i]++;
    hist->count++;
    hist->sum += value;
}

uint64_t lg_metrics_get(const lg_metrics_t *m, lg_counter_t c)
{
    return m->counters[c];
}

int64_t lg_metrics_get_gauge(const lg_metrics_t *m, lg_gauge_t g)
{
    return m->gauges[g];
}

uint64_t lg_metrics_histogram_count(const lg_metrics_t *m, lg_histogram_t h)
{
    return m->histograms[h].count;
}

/* Writes HELP and TYPE when def starts a new family. */
static void header(struct evbuffer *out, const metric_def_t *def, const char *type)
{
    if (def->help != NULL)
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", def->name, def->help, def->name,
                            type);
}

/* Writes "name{labels} " or "name " (labels may be ""). */
static void sample_name(struct evbuffer *out, const metric_def_t *d)
{
    evbuffer_add_printf(out, "%s%s%s%s ", d->name, *d->labels ? "{" : "", d->labels,
                        *d->labels ? "}" : "");
}

void lg_metrics_render(const lg_metrics_t *m, struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP locguard_build_info The running daemon's version.\n"
                        "# TYPE locguard_build_info gauge\n"
                        "locguard_build_info{version=\"%s\"} 1\n",
                        LG_VERSION);
    evbuffer_add_printf(out, "# HELP locguard_http_requests_total HTTP requests answered, by "
                             "zone and status class.\n"
                             "# TYPE locguard_http_requests_total counter\n");
    for (int z = 1; z < ZONE_KINDS; z++)
        for (int k = 0; k < 5; k++)
            evbuffer_add_printf(out,
                                "locguard_http_requests_total{zone=\"%s\",code=\"%dxx\"} %llu\n",
                                lg_zone_kind_name((lg_zone_kind_t)z), k + 1,
                                (unsigned long long)m->requests[z][k]);
    for (int c = 0; c < LG_COUNTER_COUNT; c++) {
        const metric_def_t *d = &counter_defs[c];
        header(out, d, "counter");
        sample_name(out, d);
        evbuffer_add_printf(out, "%llu\n", (unsigned long long)m->counters[c]);
    }
    for (int g = 0; g < LG_GAUGE_COUNT; g++) {
        const metric_def_t *d = &gauge_defs[g];
        header(out, d, "gauge");
        sample_name(out, d);
        evbuffer_add_printf(out, "%lld\n", (long long)m->gauges[g]);
    }
    for (int h = 0; h < LG_HISTOGRAM_COUNT; h++) {
        const metric_def_t *d = &histogram_defs[h];
        const histogram_t *hist = &m->histograms[h];
        size_t n = bucket_count((lg_histogram_t)h);
        uint64_t cumulative = 0;
        header(out, d, "histogram");
        for (size_t i = 0; i < n; i++) {
            cumulative += hist->buckets[i];
            evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", d->name, bucket_bounds[h][i],
                                (unsigned long long)cumulative);
        }
        evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                            d->name, (unsigned long long)hist->count, d->name, hist->sum, d->name,
                            (unsigned long long)hist->count);
    }
}
