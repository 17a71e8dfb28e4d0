/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin zone's routes, for operator staff and locguardctl: /healthz,
 * /readyz, /metrics and the provisioning API under /v1 (network nodes,
 * devices, areas, authorizations, cells, alerts). Every request but /healthz
 * needs the admin bearer token when one is configured.
 */
#ifndef LOCGUARD_ADMIN_H
#define LOCGUARD_ADMIN_H

#include "locguard/core/db.h"
#include "locguard/core/metrics.h"

#include "locguard/core/httpd_req.h"

typedef struct lg_admin lg_admin_t;

/*
 * Creates the handler state. token_file (may be NULL) holds the bearer token;
 * schema_version is the latest migration the files define (for /readyz).
 * Returns NULL when the token file cannot be read or is empty.
 */
lg_admin_t *lg_admin_new(lg_db_t *db, lg_metrics_t *metrics, const char *token_file,
                         int schema_version);

/* Frees it, wiping the token. Accepts NULL. */
void lg_admin_free(lg_admin_t *admin);

/* The zone's handler (an lg_http_handler_cb, HTTP/1.1 and HTTP/2); arg is the lg_admin_t. */
void lg_admin_handle(lg_httpd_req_t *req, void *arg);

#endif
