/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound zone's routes: location report batches from MME, SGSN and
 * AMF nodes (POST /v1/location-reports). Authenticates the node by its
 * client certificate, checks the replay headers and the body, hands the
 * batch to the group commit, and answers 204 only after it committed.
 */
#ifndef LOCGUARD_SOUTHBOUND_H
#define LOCGUARD_SOUTHBOUND_H

#include "locguard/south/amfsub.h"
#include "locguard/south/ingest.h"
#include "locguard/core/metrics.h"

#include "locguard/core/httpd_req.h"

typedef struct lg_southbound lg_southbound_t;

/* The checks of the southbound zone ("[ingest]" in the config; defaults in config.c's table). */
typedef struct lg_southbound_config {
    int max_batch_reports; /* reports per request */
    int freshness_s;       /* Locguard-Sent-At must be within +- this of the daemon's clock */
    int report_max_age_s;  /* a report's timeStamp may be at most this old */
    int report_max_skew_s; /* ... and at most this far in the future */
    int retry_after_s;     /* Retry-After of a 503 */
} lg_southbound_config_t;

/* Creates the route handler state with cfg (copied); ingest and metrics must outlive it. */
lg_southbound_t *lg_southbound_new(const lg_southbound_config_t *cfg, lg_ingest_t *ingest,
                                   lg_metrics_t *metrics);

/* Frees it (accepts NULL); requests still waiting are answered by lg_ingest_free. */
void lg_southbound_free(lg_southbound_t *sb);

/*
 * Lets the zone accept notifications whose notifyCorrelationId is one of
 * amfsub's live subscriptions ("<node>.<token>", lg_amfsub_match); amfsub
 * must outlive sb. Without it only the node's own name is accepted.
 */
void lg_southbound_set_amfsub(lg_southbound_t *sb, const lg_amfsub_t *amfsub);

/* The zone's handler (an lg_http_handler_cb, HTTP/1.1 and HTTP/2); arg is the lg_southbound_t. */
void lg_southbound_handle(lg_httpd_req_t *req, void *arg);

#endif
