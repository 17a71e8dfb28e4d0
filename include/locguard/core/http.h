/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) listeners ("zones") on locguard's server (httpd.h: HTTP/1.1 and
 * HTTP/2, ALPN, optional h2c), with TLS 1.2 and later and optional mandatory
 * client certificates, plus the reply helpers every route uses: JSON bodies
 * and ProblemDetails errors. Each zone module (southbound, admin, ...)
 * installs one handler that routes its own paths; what the server refuses
 * before a handler sees it (413, 431, broken framing) is answered here as
 * ProblemDetails too.
 */
#ifndef LOCGUARD_HTTP_H
#define LOCGUARD_HTTP_H

#include "locguard/core/common.h"
#include "locguard/core/zone.h"
#include "locguard/core/metrics.h"
#include "locguard/south/report.h"

#include "locguard/core/httpd.h"

#include <event2/event.h>
#include <jansson.h>

typedef struct lg_http_zone lg_http_zone_t;

/* Handles one request; it owes one reply, now or later (httpd_req.h: the request stays valid). */
typedef lg_httpd_handler_cb lg_http_handler_cb;

/*
 * Binds the zone's listener (TLS when cfg has a certificate; client
 * certificates required when it has client_ca; HTTP/2 by ALPN, or by prior
 * knowledge when cfg->is_h2c) and routes every request to handler.
 * max_body_bytes larger bodies get 413. Returns NULL (and logs why)
 * when the certificates cannot be loaded or the address cannot be bound.
 */
lg_http_zone_t *lg_http_zone_new(struct event_base *base, const lg_zone_config_t *cfg,
                                 int max_body_bytes, lg_metrics_t *metrics,
                                 lg_http_handler_cb handler, void *arg);

/* Closes the listener and every connection. Accepts NULL. */
void lg_http_zone_free(lg_http_zone_t *zone);

/* Stops accepting new connections; requests under way still complete. */
void lg_http_zone_stop_accepting(lg_http_zone_t *zone);

/* The port actually bound (useful with "listen = host:0"). */
int lg_http_zone_port(const lg_http_zone_t *zone);

/* The zone's name from the config. */
const char *lg_http_zone_name(const lg_http_zone_t *zone);

/*
 * Writes the request's peer address ("ADDR:PORT", "[ADDR]:PORT" for IPv6,
 * "?" when unknown) into buf: the peer named in log lines until the
 * request says who it is.
 */
void lg_http_peer_addr(lg_httpd_req_t *req, char *buf, size_t size);

/*
 * Copies the subject CN of the request's verified client certificate into
 * buf. Returns LG_ERR when there is no verified certificate or no CN, or it
 * does not fit.
 */
LG_MUST_CHECK int lg_http_peer_cn(lg_httpd_req_t *req, char *buf, size_t size);

/* The request body as one contiguous block (pulled up in place); *len gets its size. */
const char *lg_http_body(lg_httpd_req_t *req, size_t *len);

/* Replies with status and body serialised as JSON (compact). Steals body; NULL = no body. */
void lg_http_reply_json(lg_httpd_req_t *req, int status, json_t *body);

/* Replies with status and a text body of the given content type. */
void lg_http_reply_text(lg_httpd_req_t *req, int status, const char *content_type,
                        const char *text, size_t len);

/*
 * Replies with a TS 29.122/29.571 ProblemDetails (application/problem+json):
 * title, status, detail, and cause when not NULL, and invalidParams when
 * n_invalid > 0 (listing at most LG_INVALID_MAX). retry_after_s > 0 adds a
 * Retry-After header.
 */
void lg_http_reply_problem(lg_httpd_req_t *req, int status, const char *title,
                           const char *detail, const char *cause, const lg_invalid_param_t *invalid,
                           size_t n_invalid, int retry_after_s);

/*
 * The 503 ProblemDetails every 3GPP zone sends when the database or a queue
 * cannot take the request: cause SYSTEM_FAILURE, the detail given (NULL:
 * "the database is unavailable") and Retry-After retry_after_s.
 */
void lg_http_reply_unavailable(lg_httpd_req_t *req, const char *detail, int retry_after_s);

/*
 * Whether a Content-Type header value is the media type want (compared
 * without case, parameters such as "; charset=utf-8" ignored); NULL is not.
 */
bool lg_http_is_media_type(const char *content_type, const char *want);

#endif
