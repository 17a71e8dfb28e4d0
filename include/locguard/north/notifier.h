/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier: delivers the notification outbox to the SCSs. A timer (and
 * lg_notifier_kick) leases due rows with lg_outbox_lease(); each row's
 * destination is checked (https, no userinfo, no numeric host) and POSTed
 * by the HTTP client (core/httpc.c, libcurl): names resolved off the loop,
 * every address connected to checked against lg_webhook_addr_is_private
 * unless the SCS allows private destinations, the server certificate and
 * host name verified. Connections are kept alive and reused by later
 * notifications to the same destination: HTTP/2 (many notifications
 * multiplexed on one connection) when the SCS offers it in ALPN, HTTP/1.1
 * otherwise; new connections resume the destination's last TLS session.
 * The body carries Standard Webhooks headers (webhook-id = the row's
 * notif_id, webhook-timestamp, webhook-signature), the row's Content-Type
 * (application/cloudevents+json for an asynchronous count's CloudEvent)
 * and, when the row has them, Authorization: Bearer (a sink credential)
 * and x-correlator (the request's, for an asynchronous count). Redirects are never
 * followed. The outcome goes back with lg_outbox_done(): 2xx delivered, 410
 * gone, anything else retried with exponential back-off and full jitter
 * (Retry-After honoured when longer) until the row is retry_max_age_s old,
 * then failed. A per-destination (host:port) limit keeps one slow SCS from
 * holding every slot. Data flow: ingest -> outbox (SQL) -> notifier -> SCS.
 */
#ifndef LOCGUARD_NOTIFIER_H
#define LOCGUARD_NOTIFIER_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"

#include <event2/event.h>

typedef struct lg_notifier lg_notifier_t;

/* Settings ([delivery] and [northbound] public_url); strings are copied by lg_notifier_new. */
typedef struct lg_notifier_config {
    const char *public_url;          /* prefix of relative "subscription" links; NULL keeps them */
    const char *ca_file;             /* trust anchors for SCS certificates; NULL = system store */
    int retry_max_age_s;             /* give up on rows older than this, default 86400 */
    int max_backoff_s;               /* back-off ceiling, default 600 */
    int concurrency_per_destination; /* requests, and connections, per host:port, default 4 */
    int timeout_s;         /* whole exchange (connect, TLS, request, answer), default 10 */
    int lease_s;           /* lease length, default 60; must exceed timeout_s */
    int poll_ms;           /* lease poll period, default 500 */
    int max_inflight;      /* rows leased and not finished, all destinations, default 256 */
    int stats_interval_ms; /* outbox depth / oldest age gauges refresh, default 5000 */
    int idle_s; /* idle kept-alive connections close after this, default 30; 0 = one per request */
} lg_notifier_config_t;

/* Fills cfg with the defaults above (public_url and ca_file NULL). */
void lg_notifier_config_defaults(lg_notifier_config_t *cfg);

/*
 * Creates the notifier and starts its timers: the first lease runs within
 * poll_ms. Returns NULL (after logging why) when the HTTP client cannot be
 * made, e.g. ca_file is unreadable. db and metrics must outlive it.
 */
lg_notifier_t *lg_notifier_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                               const lg_notifier_config_t *cfg);

/*
 * Leases now instead of at the next poll: call it when lg_ingest reported
 * alerts, or a subscription (test notification) or a consent revocation
 * queued rows. Cheap when a lease is already under way (it is repeated once
 * that one returns).
 */
void lg_notifier_kick(lg_notifier_t *n);

/* Rows leased by this notifier and not yet finished (waiting, resolving, sending, recording). */
size_t lg_notifier_inflight(const lg_notifier_t *n);

/*
 * Stops everything: requests under way are abandoned (their leases expire
 * and the rows are delivered again later: at least once). Call it before
 * lg_db_free, which completes this notifier's queries still queued. Accepts
 * NULL.
 */
void lg_notifier_free(lg_notifier_t *n);

#endif
