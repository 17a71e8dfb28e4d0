/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exposure zone's routes, for third-party applications: the CAMARA
 * Region Device Count API (POST {apiRoot}/regionDeviceCount/vwip/count, as
 * the servers and paths of shared/specs/camara/region-device-count.yaml
 * say, POST /region-device-count/vwip/count, the newest versions' path, and
 * POST /region-device-count/v0/count: camara.h lg_camara_is_count_path)
 * and the OAuth2 token endpoint (POST /oauth2/token, served by oauth.c).
 *
 * A count request passes, in this order: the x-correlator header (checked,
 * then echoed on every answer), the bearer token (audience
 * LG_EXPOSURE_AUDIENCE, scope region-device-count:count or
 * region-device-count: 401 UNAUTHENTICATED for any token problem, 403
 * PERMISSION_DENIED for a missing scope), the client's
 * token bucket (429 TOO_MANY_REQUESTS with Retry-After), the body
 * (camara.c: 400 with the CAMARA codes), then the count: from the in-memory
 * evaluator (counteval.c) when it can answer, with the audit row queued to
 * the group commit of auditq.c (503 when it cannot be), else
 * sql/counts.sql lg_counts_query, which computes the same
 * answer from the noisy releases and audits the query. A request with a
 * sink (the asynchronous mode) always goes to sql/counts.sql
 * lg_counts_query_async, which computes and audits the same answer and
 * queues it in the notification outbox as a CloudEvent in one transaction:
 * the answer is then 202 {"operationId"}, and the notifier delivers the
 * result (signed with the webhook secret of the client's SCS/AS, retried,
 * its addresses checked). Every error is a CAMARA ErrorInfo {status, code,
 * message}.
 */
#ifndef LOCGUARD_EXPOSURE_H
#define LOCGUARD_EXPOSURE_H

#include "locguard/counts/auditq.h"
#include "locguard/counts/countmap.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/counts/release.h"
#include "locguard/core/oauth.h"
#include "locguard/core/token.h"

#include "locguard/core/httpd_req.h"

/* The audience a count request's access token must carry (the scopes: camara.h). */
#define LG_EXPOSURE_AUDIENCE "locguard-exposure"

typedef struct lg_exposure lg_exposure_t;

/*
 * The count queries' settings ("[counts]" in the config; defaults in
 * config.c's table). The release's, the in-memory map's and the periodic
 * reports' are in their own structs.
 */
typedef struct lg_exposure_config {
    int k;               /* counts below k are not given */
    int min_area_m2;     /* smallest area a query may ask about */
    int64_t max_area_m2; /* largest area a query may ask about */
    int rate_per_minute; /* count queries per client per minute */
    bool is_in_memory;   /* answered from the in-memory releases (countmap.h), else by SQL */
    bool is_audit_wait;  /* an answer from memory waits until its audit row is written */
} lg_exposure_config_t;

/*
 * Creates the route handler state. db, metrics and signer must outlive it;
 * oauth (may be NULL: then /oauth2/token is 404 here) serves the token
 * endpoint and should issue tokens for LG_EXPOSURE_AUDIENCE. From cfg it
 * reads k, min_area_m2, max_area_m2 and rate_per_minute (each client may
 * make rate_per_minute requests per minute, in bursts of up to
 * rate_per_minute); is_in_memory and is_audit_wait are for the caller,
 * which passes them on with lg_exposure_set_countmap.
 */
lg_exposure_t *lg_exposure_new(lg_db_t *db, lg_metrics_t *metrics, const lg_token_signer_t *signer,
                               lg_oauth_t *oauth, const lg_exposure_config_t *cfg);

/*
 * Gives the zone the daemon's release (may be NULL): while its random source
 * is failing (lg_release_noise_failing), count requests get 503 UNAVAILABLE.
 */
void lg_exposure_set_release(lg_exposure_t *ex, const lg_release_t *release);

/*
 * Gives the zone the in-memory evaluator (may be NULL: every count is asked
 * of lg_counts_query) and the audit queue of its answers; with
 * is_audit_wait an answer waits until its audit row is written, else it is
 * sent once the row is queued. Both must outlive the zone's requests.
 */
void lg_exposure_set_countmap(lg_exposure_t *ex, const lg_countmap_t *countmap, lg_auditq_t *auditq,
                              bool is_audit_wait);

/* Told when an asynchronous count's result was queued in the outbox (arg is the caller's). */
typedef void (*lg_exposure_queued_cb)(void *arg);

/*
 * Sets the callback told after each asynchronous count's result is
 * committed to the outbox (the daemon kicks the notifier with it); cb NULL:
 * none, the notifier's poll finds the row.
 */
void lg_exposure_on_queued(lg_exposure_t *ex, lg_exposure_queued_cb cb, void *arg);

/*
 * Frees it. Accepts NULL. Queries still under way hold a pointer to it:
 * free the database pool (which completes them) first.
 */
void lg_exposure_free(lg_exposure_t *ex);

/* The zone's handler (an lg_http_handler_cb, HTTP/1.1 and HTTP/2); arg is the lg_exposure_t. */
void lg_exposure_handle(lg_httpd_req_t *req, void *arg);

#endif
