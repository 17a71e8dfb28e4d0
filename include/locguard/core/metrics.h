/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counters, gauges and histograms, rendered in the Prometheus text format
 * for the admin zone's /metrics. Each metric is an enum value; its name,
 * labels and help text live in one table in metrics.c. Single-threaded like
 * the rest of the daemon: no atomics.
 */
#ifndef LOCGUARD_METRICS_H
#define LOCGUARD_METRICS_H

#include "locguard/core/common.h"
#include "locguard/core/zone.h"

#include <event2/buffer.h>

typedef struct lg_metrics lg_metrics_t;

/* Monotonic counters. */
typedef enum lg_counter {
    LG_C_REPORTS_ACCEPTED,      /* reports in batches acknowledged with 2xx (once per batch) */
    LG_C_BATCHES_ACCEPTED,      /* batches acknowledged */
    LG_C_BATCHES_DUPLICATE,     /* resent batches answered as accepted, not stored again */
    LG_C_REFUSED_INVALID,       /* reports refused: batch failed validation (400) */
    LG_C_REFUSED_UNKNOWN_NODE,  /* ... node unknown, disabled or not the certificate's (403) */
    LG_C_REFUSED_STALE,         /* ... sequence number below the replay window (409) */
    LG_C_REFUSED_NOT_FRESH,     /* ... Locguard-Sent-At outside the freshness window (400) */
    LG_C_REFUSED_UNAVAILABLE,   /* ... database unreachable (503) */
    LG_C_REFUSED_QUEUE_FULL,    /* ... ingest queue full (503) */
    LG_C_REFUSED_SCEF_REFERENCE,/* ... a Diameter report's SCEF-Reference-ID unknown (5515) */
    LG_C_DECISION_INSIDE,       /* decisions by outcome */
    LG_C_DECISION_OUTSIDE,
    LG_C_DECISION_AMBIGUOUS,
    LG_C_DECISION_UNKNOWN_CELL,
    LG_C_DECISION_UNCHECKED,
    LG_C_UNKNOWN_DEVICES,       /* reports for SUPIs that are not provisioned */
    LG_C_ALERTS,                /* movement alerts written */
    LG_C_REPORTS_COALESCED,     /* accepted reports that changed nothing but the time */
    LG_C_REPORTS_CACHED,        /* ... of which the daemon coalesced from its cache, unsent */
    LG_C_INGEST_CACHE_RESETS,   /* times the daemon's cache was emptied (generation moved) */
    LG_C_DB_ERRORS,             /* database failures: lost or failed connections, server
                                   errors that are not the caller's data (lg_db_is_failure) */
    LG_C_INGEST_RETRIES,        /* group commits rolled back by a deadlock and sent again */
    LG_C_TLS_HANDSHAKE_FAILURES,/* connections dropped during the TLS handshake */
    LG_C_DELIVERIES_SUCCEEDED,  /* notifications delivered to an SCS (2xx) */
    LG_C_DELIVERIES_FAILED,     /* notifications given up (refused destination, final status,
                                   too old) */
    LG_C_DELIVERIES_RETRIED,    /* delivery attempts that failed and were rescheduled */
    LG_C_DELIVERIES_GONE,       /* notifications answered 410 Gone: their subscription ends */
    LG_C_DELIVERIES_REQUEUED,   /* leased notifications put back unsent (destination on hold
                                   or busy): not an attempt */
    LG_C_DEAD_ENDS_UNRESOLVABLE,/* notifications given up because their destination's name
                                   does not resolve or is a numeric non-standard address */
    LG_C_DEAD_ENDS_REDIRECT,    /* notifications given up because their destination kept
                                   answering 3xx */
    LG_C_AMF_REQUESTS_FAILED,   /* requests to an AMF (subscribe, update, renew, unsubscribe)
                                   that failed and are tried again later */
    LG_C_S6T_CONFIGURED,        /* S6t configurations the HSS accepted (2001) */
    LG_C_S6T_CONFIGURE_FAILED,  /* ... it refused, or that got no answer */
    LG_C_S6T_DELETED,           /* S6t deletions done (2001, 5514, 5001) */
    LG_C_S6T_DELETE_FAILED,     /* ... refused or unanswered, to be sent again */
    LG_COUNTER_COUNT
} lg_counter_t;

/* Gauges: set to the current value by their owner. */
typedef enum lg_gauge {
    LG_G_QUEUE_REPORTS,   /* reports waiting for the group commit */
    LG_G_INFLIGHT_REPORTS,/* reports in database round trips under way */
    LG_G_DB_CONNECTIONS,  /* database connections up */
    LG_G_OUTBOX_DEPTH,    /* notifications waiting for delivery */
    LG_G_OUTBOX_OLDEST_AGE, /* seconds since the oldest undelivered notification was made */
    LG_G_INGEST_CACHE_DEVICES, /* entries in the daemon's cache of coalescable rows */
    LG_G_DESTINATIONS_ON_HOLD, /* SCS destinations the notifier's breaker holds now */
    LG_G_AMF_SUBSCRIPTIONS,    /* configured AMFs at which locguard holds a subscription */
    LG_G_SCEF_REFERENCES,      /* SCEF-Reference-IDs reports may name (s6t.c's map) */
    LG_GAUGE_COUNT
} lg_gauge_t;

/* Histograms. */
typedef enum lg_histogram {
    LG_H_BATCH_REPORTS,     /* reports per database round trip (group commit size) */
    LG_H_DB_ROUNDTRIP,      /* seconds per ingest round trip */
    LG_H_ACK_LATENCY,       /* seconds from request received to acknowledgement */
    LG_H_DELIVERY_LATENCY,  /* seconds from an outbox row's creation to the SCS's 2xx */
    LG_H_COUNT_DURATION,    /* seconds from a CAMARA count request to its answer */
    LG_HISTOGRAM_COUNT
} lg_histogram_t;

/* Allocates a zeroed metrics set; free with lg_metrics_free (accepts NULL). */
lg_metrics_t *lg_metrics_new(void);
void lg_metrics_free(lg_metrics_t *m);

/* Adds n to a counter. */
void lg_metrics_add(lg_metrics_t *m, lg_counter_t c, uint64_t n);

/* Sets a gauge. */
void lg_metrics_set(lg_metrics_t *m, lg_gauge_t g, int64_t value);

/*
 * Counts one answered HTTP request of a zone by its status class
 * (locguard_http_requests_total{zone,code}). Statuses outside 100..599 are
 * counted as 5xx.
 */
void lg_metrics_count_request(lg_metrics_t *m, lg_zone_kind_t zone, int status);

/* Answered requests of a zone in a status class (1..5), for tests. */
uint64_t lg_metrics_get_requests(const lg_metrics_t *m, lg_zone_kind_t zone, int status_class);

/* Records one observation in a histogram. */
void lg_metrics_observe(lg_metrics_t *m, lg_histogram_t h, double value);

/* Current value of a counter (for tests and logs). */
uint64_t lg_metrics_get(const lg_metrics_t *m, lg_counter_t c);

/* Current value of a gauge (for tests). */
int64_t lg_metrics_get_gauge(const lg_metrics_t *m, lg_gauge_t g);

/* Observations recorded in a histogram (for tests). */
uint64_t lg_metrics_histogram_count(const lg_metrics_t *m, lg_histogram_t h);

/*
 * Appends the Prometheus text exposition of every metric to out, starting
 * with locguard_build_info{version="LG_VERSION"} 1.
 */
void lg_metrics_render(const lg_metrics_t *m, struct evbuffer *out);

#endif
