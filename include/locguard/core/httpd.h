/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server under every zone: a listener, one bufferevent per
 * connection (bufferevent_openssl with TLS), and on it HTTP/1.1
 * (httpd_h1.c) or HTTP/2 (httpd_h2.c). With TLS, ALPN chooses: "h2" when
 * the client offers it, else "http/1.1". With is_h2c, a connection that
 * opens with the HTTP/2 preface and no ALPN speaks HTTP/2 ("prior
 * knowledge", RFC 9113 3.3): cleartext h2c on a plain zone, for a trusted
 * network. Either way the zone's handler gets lg_httpd_req_t requests and
 * replies through httpd_req.h.
 */
#ifndef LOCGUARD_HTTPD_H
#define LOCGUARD_HTTPD_H

#include "locguard/core/common.h"
#include "locguard/core/httpd_req.h"

#include <event2/event.h>
#include <openssl/ssl.h>

typedef struct lg_httpd lg_httpd_t;

/* Handles one complete request; it owes one lg_httpd_reply, now or later. */
typedef void (*lg_httpd_handler_cb)(lg_httpd_req_t *req, void *arg);

/* Answers a request the protocol layer refused (err says how); it owes one lg_httpd_reply. */
typedef void (*lg_httpd_error_cb)(lg_httpd_req_t *req, const lg_httpd_error_t *err, void *arg);

/* Told the status of every reply sent (for metrics). */
typedef void (*lg_httpd_replied_cb)(int status, void *arg);

/* A listener's settings. Strings and ssl_ctx are borrowed for the server's life. */
typedef struct lg_httpd_config {
    const char *name;      /* for log lines ("zone NAME") */
    const char *log_zone;  /* the zone prefix of log lines ("southbound") */
    const char *host;      /* address to bind */
    int port;              /* 0 = any free port */
    SSL_CTX *ssl_ctx;      /* TLS when not NULL (the server adds its ALPN choice); else plain */
    bool is_h2c;           /* accept HTTP/2 with prior knowledge (no ALPN) */
    size_t max_body_bytes; /* larger request bodies get 413 */
    int idle_timeout_s;    /* a connection idle this long (no request under way) is closed */
    lg_httpd_handler_cb on_request;
    lg_httpd_error_cb on_error;
    lg_httpd_replied_cb on_replied; /* may be NULL */
    void *arg;                      /* the callbacks' argument */
} lg_httpd_config_t;

/*
 * Binds host:port and serves it. Returns NULL (and logs why) when the
 * address cannot be bound.
 */
lg_httpd_t *lg_httpd_new(struct event_base *base, const lg_httpd_config_t *cfg);

/*
 * Closes the listener and every connection. Requests with a handler are
 * detached (their replies only free them). Accepts NULL.
 */
void lg_httpd_free(lg_httpd_t *srv);

/* Stops accepting; connections under way go on (HTTP/2 ones get a GOAWAY). */
void lg_httpd_stop_accepting(lg_httpd_t *srv);

/* The port actually bound. */
int lg_httpd_port(const lg_httpd_t *srv);

/*
 * The ALPN choice (the SSL_CTX select callback's logic): "h2" when the
 * client's list (wire format: length-prefixed names) offers it, else
 * "http/1.1" when it offers that; *out and *out_len point into in. Returns
 * false when neither is offered (the handshake goes on without ALPN).
 */
bool lg_httpd_alpn_select(const unsigned char *in, unsigned int in_len, const unsigned char **out,
                          unsigned char *out_len);

/* How the first bytes of a connection without ALPN compare with the HTTP/2 client preface. */
typedef enum lg_httpd_preface {
    LG_PREFACE_MORE = 0, /* a prefix of it so far: wait for more */
    LG_PREFACE_H2,       /* the whole preface */
    LG_PREFACE_H1,       /* not it: HTTP/1.1 */
} lg_httpd_preface_t;

/* Classifies the first len bytes of a connection. */
lg_httpd_preface_t lg_httpd_sniff_preface(const char *data, size_t len);

#endif
