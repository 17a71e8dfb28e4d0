/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client of every zone that calls out (the notifier's webhooks,
 * the Namf_EventExposure client): libcurl's multi interface driven by the
 * daemon's event loop (libcurl's sockets and timer watched by libevent, as
 * curl's hiperfifo.c does). HTTP/2 over TLS when the server offers it in
 * ALPN (many requests multiplexed on one connection), HTTP/1.1 kept-alive
 * connections otherwise; at most max_conns_per_host connections per host
 * and port; TLS sessions resumed across connections; names resolved off
 * the loop (libcurl's threaded resolver, its DNS cache). Redirects are
 * never followed: a 3xx is an answer like any other.
 *
 * The address guard: a client made with an is_refused policy (the
 * notifier's lg_webhook_addr_is_private) refuses, for requests that do not
 * allow private addresses, every address the policy refuses. It is checked
 * on the address about to be connected (libcurl's open-socket callback: an
 * address literal, each address a name resolved to, a name that resolves
 * differently from one lookup to the next) and again on the peer address
 * of the connection a request is about to be sent over (new or reused),
 * before a byte of the request leaves. A request whose every address was
 * refused ends with LG_HTTPC_ERR_REFUSED.
 *
 * A request sent on a reused connection that the server had closed (no
 * byte of an answer came back) is sent once more on a new connection,
 * within the same deadline (libcurl's own rule, the only resend). Data
 * flow: caller -> lg_httpc_submit -> libcurl -> server -> callback.
 */
#ifndef LOCGUARD_HTTPC_H
#define LOCGUARD_HTTPC_H

#include "locguard/core/common.h"

#include <event2/event.h>
#include <sys/socket.h>

typedef struct lg_httpc lg_httpc_t;

/* Why a request got no answer; LG_HTTPC_OK when it got one (any status). */
typedef enum lg_httpc_error {
    LG_HTTPC_OK,          /* status holds a verified server's answer */
    LG_HTTPC_ERR_DNS,     /* the host name did not resolve */
    LG_HTTPC_ERR_REFUSED, /* the address guard refused every address of the destination */
    LG_HTTPC_ERR_CONNECT, /* no TCP connection: refused, unreachable, reset while connecting */
    LG_HTTPC_ERR_TLS,     /* TLS handshake failed, or the server's certificate did not verify */
    LG_HTTPC_ERR_TIMEOUT, /* the deadline passed */
    /* connected, then no usable answer: closed, reset, malformed, too long; also a TLS 1.3
       server refusing our certificate after the handshake (its alert comes as the answer) */
    LG_HTTPC_ERR_PROTOCOL,
    LG_HTTPC_ERR_REQUEST, /* the request could not be made (bad URL, out of resources) */
    LG_HTTPC_N_ERRORS
} lg_httpc_error_t;

/* An address policy: true when sa must not be connected to (unless the request allows it). */
typedef bool (*lg_httpc_refuse_cb)(const struct sockaddr *sa);

/* Settings; strings are copied by lg_httpc_new. */
typedef struct lg_httpc_config {
    const char *zone;       /* the zone named in log lines ("northbound") */
    const char *ca_file;    /* trust anchors for server certificates; NULL = system store */
    const char *cert_file;  /* client certificate (PEM) for mutual TLS; NULL = none */
    const char *key_file;   /* its private key (PEM); NULL = in cert_file */
    int max_conns_per_host; /* open connections per host:port, at least 1 */
    int idle_s;             /* idle connections are not reused after this; 0 = one per request */
    size_t max_body;        /* answers with a longer body fail (PROTOCOL); 0 = 64 KiB */
    lg_httpc_refuse_cb is_refused; /* the address guard's policy; NULL = every address allowed */
} lg_httpc_config_t;

/* One request. The client copies every string and the body. */
typedef struct lg_httpc_request {
    const char *method;         /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *url;            /* https://host[:port]/path?query (http:// only with allow_http) */
    const char *const *headers; /* name, value, name, value, ..., NULL; may be NULL */
    const char *body;           /* sent as is; NULL = none */
    size_t body_len;
    int timeout_ms;     /* the whole exchange: resolve, connect, TLS, send, answer */
    bool allow_private; /* the address guard lets every address through */
    bool allow_http;    /* cleartext http:// URLs are accepted (HTTP/1.1 only) */
    const char *peer;   /* the peer named in log lines (an SCS id); may be NULL */
    const char *tag;    /* what debug lines call the request (an outbox row); may be NULL */
} lg_httpc_request_t;

typedef struct lg_httpc_xfer lg_httpc_xfer_t;

/* The end of one request, valid during the completion callback only. */
typedef struct lg_httpc_result {
    lg_httpc_error_t error; /* LG_HTTPC_OK when answered */
    int status;             /* the HTTP status when answered, else 0 */
    int http_version;       /* 2 (HTTP/2) or 1 (HTTP/1.x) when answered, else 0 */
    const char *body;       /* the answer's body (NUL-terminated), "" when none */
    size_t body_len;
    const char *detail;          /* what went wrong, for logs and records; "" when answered */
    const lg_httpc_xfer_t *xfer; /* for lg_httpc_header; NULL in results made by hand */
} lg_httpc_result_t;

/*
 * The end of a request: called exactly once per lg_httpc_submit, from the
 * event loop and never before lg_httpc_submit returns, unless the client
 * is freed first. It must not free the client.
 */
typedef void (*lg_httpc_done_cb)(void *arg, const lg_httpc_result_t *result);

/*
 * Creates the client on base. The process must ignore SIGPIPE (main.c
 * does): libcurl is told not to touch signals. Returns NULL (after logging why) when libcurl
 * cannot be initialised or lacks what the client needs (TLS).
 */
lg_httpc_t *lg_httpc_new(struct event_base *base, const lg_httpc_config_t *cfg);

/*
 * Starts a request; cb(arg, result) follows from the loop. Fails (LG_ERR,
 * *err a constant string, cb never called) only when the request is not
 * well formed: no method or URL, or a header name or value with a line break.
 */
LG_MUST_CHECK int lg_httpc_submit(lg_httpc_t *c, const lg_httpc_request_t *req, lg_httpc_done_cb cb,
                                  void *arg, const char **err);

/*
 * The value of the answer's header name (case-insensitive; the last one when
 * repeated), or NULL. Valid during the completion callback only.
 */
const char *lg_httpc_header(const lg_httpc_result_t *result, const char *name);

/* Requests submitted and not yet completed. */
size_t lg_httpc_pending(const lg_httpc_t *c);

/* The error's name ("dns", "refused", ...), for logs and metrics labels. */
const char *lg_httpc_error_name(lg_httpc_error_t e);

/*
 * The class of a libcurl result code (a CURLcode) of a request that ended
 * without an answer; is_guard_refused tells that the address guard refused
 * an address and no connection was made. Pure: the unit tests call it.
 */
lg_httpc_error_t lg_httpc_classify(int curl_code, bool is_guard_refused);

/*
 * True when the address in text form (IPv4 dotted decimal or IPv6, as
 * libcurl reports a connection's peer) is refused by is_refused; text that
 * is not an address is refused too. Pure.
 */
bool lg_httpc_ip_is_refused(const char *ip, lg_httpc_refuse_cb is_refused);

/*
 * Abandons every request under way (their callbacks are never called),
 * closes every connection and frees c. Accepts NULL.
 */
void lg_httpc_free(lg_httpc_t *c);

#endif
