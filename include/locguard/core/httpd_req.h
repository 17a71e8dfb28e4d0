/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP request as the zones see it, whatever the version it came in
 * (an HTTP/1.1 message or an HTTP/2 stream): method, target, headers, body,
 * the peer, and the reply. The first half of this header is what handlers
 * call; the second half is how the protocol sessions (httpd_h1.c,
 * httpd_h2.c) and the server (httpd.c) build a request and route its reply.
 *
 * Lifetime: the server hands a complete request to the zone's handler, which
 * owes it exactly one lg_httpd_reply, now or later (after a database COMMIT,
 * from a callback). The reply frees the request. If the connection or the
 * stream ends first, the request is only detached from it: it stays valid,
 * lg_httpd_is_gone says so, and the late reply just frees it.
 */
#ifndef LOCGUARD_HTTPD_REQ_H
#define LOCGUARD_HTTPD_REQ_H

#include "locguard/core/common.h"

#include <stddef.h>

typedef struct lg_httpd_req lg_httpd_req_t;

/* The request methods the zones tell apart; LG_HTTP_OTHER for any other token. */
typedef enum lg_http_method {
    LG_HTTP_OTHER = 0,
    LG_HTTP_GET,
    LG_HTTP_HEAD,
    LG_HTTP_POST,
    LG_HTTP_PUT,
    LG_HTTP_DELETE,
    LG_HTTP_PATCH,
    LG_HTTP_OPTIONS,
} lg_http_method_t;

/* The method a token names ("POST"), compared exactly; LG_HTTP_OTHER when none. */
lg_http_method_t lg_http_method_parse(const char *token, size_t len);

/* ---- What handlers call ---- */

/* The request's method. */
lg_http_method_t lg_httpd_method(const lg_httpd_req_t *req);

/* The protocol it came in: 1 (HTTP/1.x) or 2 (HTTP/2). */
int lg_httpd_version(const lg_httpd_req_t *req);

/* The path of the target as received (percent-encoding kept), never NULL ("/" at least). */
const char *lg_httpd_path(const lg_httpd_req_t *req);

/* The query string after '?', as received; NULL when the target has none. */
const char *lg_httpd_query(const lg_httpd_req_t *req);

/* The first value of the header name (compared without case); NULL when absent. */
const char *lg_httpd_header(const lg_httpd_req_t *req, const char *name);

/* How many times the request carries the header name (0 when absent, >1 when repeated). */
size_t lg_httpd_header_count(const lg_httpd_req_t *req, const char *name);

/* The body as one block ("" when empty), owned by the request; *len gets its size. */
const char *lg_httpd_body(lg_httpd_req_t *req, size_t *len);

/* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of the peer, "?" when unknown; owned by the request. */
const char *lg_httpd_peer(const lg_httpd_req_t *req);

/*
 * The subject CN of the peer's verified client certificate, NULL when there
 * is none (plain connection, no certificate, no CN or several). Owned by the
 * request.
 */
const char *lg_httpd_peer_cn(const lg_httpd_req_t *req);

/*
 * Adds a response header. "Connection: close" is not a header but asks
 * HTTP/1.1 to close the connection after this reply (HTTP/2 ignores it).
 */
void lg_httpd_add_header(lg_httpd_req_t *req, const char *name, const char *value);

/*
 * Sends the reply (status, the headers added, body of len bytes; HEAD, 204
 * and 304 replies carry none) and frees the request. Safe when the peer is
 * gone: then it only frees.
 */
void lg_httpd_reply(lg_httpd_req_t *req, int status, const char *body, size_t len);

/* Whether the connection or stream of the request has ended (a reply would go nowhere). */
bool lg_httpd_is_gone(const lg_httpd_req_t *req);

/* ---- What the server and the protocol sessions call ---- */

/* Where a reply goes: the session's writer, called by lg_httpd_reply before it frees req. */
typedef void (*lg_httpd_respond_cb)(void *sink, lg_httpd_req_t *req, int status, const char *body,
                                    size_t len);

/* One response header, as handlers added it. */
typedef struct lg_httpd_header {
    char *name;
    char *value;
} lg_httpd_header_t;

/* A new empty request of HTTP version (1 or 2). */
lg_httpd_req_t *lg_httpd_req_new(int version);

/* Frees a request without replying (a session dropping one it never dispatched). Accepts NULL. */
void lg_httpd_req_free(lg_httpd_req_t *req);

/* Sets the method from its token. */
void lg_httpd_req_set_method(lg_httpd_req_t *req, const char *token, size_t len);

/*
 * Sets the target ("/path?query", or an absolute URI whose path and query
 * are taken). Returns LG_ERR when it is neither.
 */
LG_MUST_CHECK int lg_httpd_req_set_target(lg_httpd_req_t *req, const char *target, size_t len);

/* Adds a request header (copied). */
void lg_httpd_req_add_in_header(lg_httpd_req_t *req, const char *name, size_t name_len,
                                const char *value, size_t value_len);

/* Appends len bytes to the body. */
void lg_httpd_req_append_body(lg_httpd_req_t *req, const char *data, size_t len);

/* The body's size so far. */
size_t lg_httpd_req_body_len(const lg_httpd_req_t *req);

/* Sets the peer's address and certificate CN (NULL: none), copied. */
void lg_httpd_req_set_peer(lg_httpd_req_t *req, const char *addr, const char *cn);

/* Routes the reply to respond(sink, ...); respond NULL detaches the request (peer gone). */
void lg_httpd_req_set_sink(lg_httpd_req_t *req, lg_httpd_respond_cb respond, void *sink);

/* The session's tag (an HTTP/2 stream), kept for the session. */
void lg_httpd_req_set_tag(lg_httpd_req_t *req, void *tag);
void *lg_httpd_req_tag(const lg_httpd_req_t *req);

/* The response headers added so far, and their number. */
const lg_httpd_header_t *lg_httpd_req_out_headers(const lg_httpd_req_t *req, size_t *n);

/* Whether a handler asked to close the connection after the reply. */
bool lg_httpd_req_wants_close(const lg_httpd_req_t *req);

/*
 * A request the protocol layer refused before any handler saw it (a body over
 * the limit, a header block too large, broken framing): what the answer says.
 * The strings are constants; the server hands the error to the zone, which
 * answers in its API's format (ProblemDetails).
 */
typedef struct lg_httpd_error {
    int status;         /* 400, 413 or 431 */
    const char *title;  /* "Bad Request" */
    const char *detail; /* one sentence for the client */
    const char *param;  /* the invalidParams entry's param ("header Content-Length"), or NULL */
    const char *reason; /* and its reason */
} lg_httpd_error_t;

/* The standard reason phrase of an HTTP status ("Not Found"), "Unknown" when none. */
const char *lg_http_status_text(int status);

#endif
