/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The northbound zone's routes, for SCS/AS application servers: the OAuth2
 * token endpoint (POST /oauth2/token, served by oauth.c) and the TS 29.122
 * T8 MonitoringEvent API under /3gpp-monitoring-event/v1/{scsAsId}/
 * subscriptions[/{subscriptionId}] (POST, GET, PUT, DELETE). Every T8
 * request needs a bearer token for this API whose subject is {scsAsId}, and
 * with mutual TLS a client certificate whose CN is {scsAsId} too. Bodies are
 * checked by t8.c; the subscriptions live in sql/northbound.sql.
 */
#ifndef LOCGUARD_NORTHBOUND_H
#define LOCGUARD_NORTHBOUND_H

#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/north/notifier.h"
#include "locguard/core/oauth.h"
#include "locguard/core/token.h"

#include "locguard/core/httpd_req.h"

/* The audience and scope a T8 request's access token must carry. */
#define LG_NORTHBOUND_AUDIENCE "locguard-northbound"
#define LG_NORTHBOUND_SCOPE    "monitoring-event"

/* The path prefix of the T8 MonitoringEvent API. */
#define LG_NORTHBOUND_API_ROOT "/3gpp-monitoring-event/v1"

typedef struct lg_northbound lg_northbound_t;

/*
 * Creates the route handler state. db, metrics, signer and oauth must
 * outlive it; notifier may be NULL (then nothing is kicked after a create
 * or a replace). public_url (copied; a trailing "/" is dropped) prefixes the
 * relative self links the SQL functions return and the Location header of
 * a created subscription, e.g. "https://locguard.example:8443".
 * requires_client_cert is true when the zone has a client CA: the
 * certificate's CN must then equal {scsAsId}. Returns NULL (and logs why)
 * when public_url is NULL or not an http(s) URL.
 */
lg_northbound_t *lg_northbound_new(lg_db_t *db, lg_metrics_t *metrics,
                                   const lg_token_signer_t *signer, lg_oauth_t *oauth,
                                   lg_notifier_t *notifier, const char *public_url,
                                   bool requires_client_cert);

/*
 * Frees it. Accepts NULL. Queries still under way hold a pointer to it:
 * free the database pool (which completes them) first.
 */
void lg_northbound_free(lg_northbound_t *nb);

/* The zone's handler (an lg_http_handler_cb, HTTP/1.1 and HTTP/2); arg is the lg_northbound_t. */
void lg_northbound_handle(lg_httpd_req_t *req, void *arg);

#endif
