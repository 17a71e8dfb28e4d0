/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kept-alive HTTPS connections of webhook delivery, pooled per
 * destination (host:port). A connection carries one request at a time
 * (HTTP/1.1 keep-alive) and is reused by later requests to the very address
 * it was opened to, under the same address policy (allow_private). New
 * connections verify the server certificate and host name (TLS >= 1.2) and
 * offer the destination's last TLS session for resumption (kept 300 s). A
 * destination never has more connections than max_conns: an idle one gives
 * way to a new one. Idle connections close after idle_s, or when the server
 * closes them. Answers over 64 KiB of body or 16 KiB of headers are errors.
 * Closed connections are freed at a safe time, never inside their own
 * callbacks. service/north/httpclient.c sends requests over them.
 */
#ifndef LOCGUARD_CONNPOOL_H
#define LOCGUARD_CONNPOOL_H

#include "locguard/core/common.h"
#include "locguard/north/webhook.h"

#include <event2/event.h>
#include <event2/http.h>
#include <sys/socket.h>

typedef struct lg_connpool lg_connpool_t;
typedef struct lg_conn lg_conn_t;

/* Settings; ca_file is copied by lg_connpool_new. */
typedef struct lg_connpool_config {
    const char *ca_file; /* trust anchors for server certificates; NULL = system store */
    int max_conns;       /* open connections per destination, at least 1 */
    int timeout_s;       /* evhttp's read/write timeout is the larger of this and idle_s + 2 */
    int idle_s;          /* idle connections close after this; 0 = none is kept */
} lg_connpool_config_t;

/*
 * Creates the pool and its TLS context (peer verification, no renegotiation
 * or compression). Returns NULL (after logging why) when the context cannot
 * be made, e.g. ca_file is unreadable.
 */
lg_connpool_t *lg_connpool_new(struct event_base *base, const lg_connpool_config_t *cfg);

/*
 * A connection for one request to url's destination at addr (port not set;
 * url's port is used): an idle one to that address opened under the same
 * allow_private when is_fresh is false and there is one (*is_reused set),
 * else a new one. The connection is busy until lg_connpool_put or
 * lg_connpool_close. Returns NULL when a new connection cannot be made.
 */
lg_conn_t *lg_connpool_get(lg_connpool_t *p, const lg_webhook_dest_t *url,
                           const struct sockaddr_storage *addr, bool allow_private, bool is_fresh,
                           bool *is_reused);

/* The evhttp connection to send a request on. */
struct evhttp_connection *lg_connpool_evcon(const lg_conn_t *k);

/* The destination's "host:port" key, for log lines. */
const char *lg_connpool_key(const lg_conn_t *k);

/* Requests answered on k so far. */
unsigned lg_connpool_requests(const lg_conn_t *k);

/* True when the server's certificate and name were verified. */
bool lg_connpool_is_verified(const lg_conn_t *k);

/*
 * Writes why k's request failed into out: "what", followed by the
 * certificate or TLS error when there is one.
 */
void lg_connpool_describe_error(const lg_conn_t *k, const char *what, char *out, size_t out_size);

/*
 * Gives back a busy connection after its request: when is_answered (a
 * verified answer came), counts it, and keeps it idle for the next request
 * unless the server closed it or idle_s is 0; otherwise closes it. Call it
 * from the request's callback: closing is deferred.
 */
void lg_connpool_put(lg_conn_t *k, bool is_answered);

/*
 * Closes k, busy or not; its request, if any, dies silently. is_now frees it
 * at once (only outside k's own callbacks), otherwise at a safe time.
 */
void lg_connpool_close(lg_conn_t *k, bool is_now);

/*
 * True while the pool keeps something for host:port (host compared without
 * regard to case): a connection or a TLS session not yet 300 s old.
 */
bool lg_connpool_has_state(const lg_connpool_t *p, const char *host, int port);

/* Closes every connection at once (no callback runs after) and frees p. Accepts NULL. */
void lg_connpool_free(lg_connpool_t *p);

#endif
