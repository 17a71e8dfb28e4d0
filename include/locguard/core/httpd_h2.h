/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/2 for the server (httpd.c): one nghttp2 server session per
 * connection, with locguard's SETTINGS and limits. No I/O: bytes in
 * (lg_h2_recv), bytes out (lg_h2_send into an evbuffer); complete requests
 * go to the owner, which replies on them through lg_h2_respond, at once or
 * later. Flow control is nghttp2's (automatic WINDOW_UPDATE as the body is
 * consumed).
 */
#ifndef LOCGUARD_HTTPD_H2_H
#define LOCGUARD_HTTPD_H2_H

#include "locguard/core/httpd_req.h"

#include <event2/buffer.h>
#include <stdint.h>

/* SETTINGS_MAX_CONCURRENT_STREAMS we announce. */
#define LG_H2_MAX_STREAMS 128

/* SETTINGS_INITIAL_WINDOW_SIZE we announce, and the connection's window. */
#define LG_H2_STREAM_WINDOW     (1 << 20)
#define LG_H2_CONNECTION_WINDOW (16 << 20)

typedef struct lg_h2 lg_h2_t;

/* What the session tells its owner. */
typedef struct lg_h2_ops {
    /* A complete request (the owner's until it replies through lg_h2_respond). */
    void (*on_request)(void *owner, lg_httpd_req_t *req);
    /* A request refused before completion (a body over the limit, too many header bytes): the
     * owner answers it as an error (through lg_h2_respond). */
    void (*on_error)(void *owner, lg_httpd_req_t *req, const lg_httpd_error_t *err);
} lg_h2_ops_t;

/*
 * A server session refusing bodies over max_body_bytes (413) per stream;
 * our SETTINGS are queued for the first lg_h2_send. Returns NULL when
 * nghttp2 cannot make one.
 */
lg_h2_t *lg_h2_new(const lg_h2_ops_t *ops, void *owner, size_t max_body_bytes);

/*
 * Frees the session. Requests not complete are freed; requests the owner
 * holds are detached (their replies will only free them). Accepts NULL.
 */
void lg_h2_free(lg_h2_t *h2);

/*
 * Feeds len received bytes to the session (it may call ops back). Returns
 * LG_ERR when the connection is broken: send what lg_h2_send still gives
 * (a GOAWAY), then close.
 */
LG_MUST_CHECK int lg_h2_recv(lg_h2_t *h2, const uint8_t *data, size_t len);

/* Appends what the session has to send to out. Returns LG_ERR on a fatal session error. */
LG_MUST_CHECK int lg_h2_send(lg_h2_t *h2, struct evbuffer *out);

/* Whether the session is finished (neither wants to read nor to write): close the connection. */
bool lg_h2_is_done(const lg_h2_t *h2);

/* Requests handed to the owner and not yet answered. */
size_t lg_h2_pending(const lg_h2_t *h2);

/*
 * Submits the response to req, one of this session's (status, its added
 * headers, lowercased, content-length and the body). The caller frees req
 * afterwards (lg_httpd_reply does). Call lg_h2_send to write it out.
 */
void lg_h2_respond(lg_h2_t *h2, lg_httpd_req_t *req, int status, const char *body, size_t len);

/* Starts a graceful shutdown: GOAWAY; streams under way still complete. */
void lg_h2_shutdown(lg_h2_t *h2);

#endif
