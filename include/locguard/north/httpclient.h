/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTPS client of webhook delivery: one POST per exchange. The SSRF
 * guard checks the destination first (lg_httpclient_check_destination:
 * https, no userinfo, no private address literal unless allowed); names
 * are resolved without blocking (evdns) and only an address the guard
 * allows is connected to (lg_webhook_addr_is_private unless the request
 * allows private ones), the very address checked. The request goes over a
 * kept-alive connection of connpool.c (certificate and host name verified,
 * TLS sessions resumed, at most max_conns_per_destination per host:port).
 * Redirects are never followed; an answer from a peer whose certificate did
 * not verify is never trusted. Each exchange (connect, TLS, request,
 * answer) is bounded by timeout_s. A request that fails without any answer
 * on a reused connection (the server closed it as we wrote) is sent once
 * more on a new connection, within the same deadline. Data flow: notifier
 * -> httpclient -> connpool -> SCS.
 */
#ifndef LOCGUARD_HTTPCLIENT_H
#define LOCGUARD_HTTPCLIENT_H

#include "locguard/core/common.h"
#include "locguard/north/webhook.h"

#include <event2/event.h>

typedef struct lg_httpclient lg_httpclient_t;

/* Settings; ca_file is copied by lg_httpclient_new. */
typedef struct lg_httpclient_config {
    const char *ca_file;           /* trust anchors for server certificates; NULL = system store */
    int max_conns_per_destination; /* open connections per host:port, at least 1 */
    int timeout_s;                 /* whole exchange from the first send, at least 1 */
    int idle_s;                    /* idle connections close after this; 0 = one per request */
} lg_httpclient_config_t;

/* Why an exchange got no answer the caller may act on. */
typedef enum lg_http_failure {
    LG_HTTP_ANSWERED,     /* status holds a verified server's answer */
    LG_HTTP_UNRESOLVABLE, /* the host name did not resolve */
    LG_HTTP_NOT_ALLOWED,  /* every address of the name is refused by the SSRF guard */
    LG_HTTP_NO_ANSWER,    /* connection, TLS, timeout, unverified peer or a request not sent */
} lg_http_failure_t;

/* The end of one exchange, valid during the completion callback only. */
typedef struct lg_http_result {
    lg_http_failure_t failure;
    int status;            /* the HTTP status when failure is LG_HTTP_ANSWERED, else 0 */
    int64_t retry_after_s; /* the answer's Retry-After in delta-seconds, or -1 */
    const char *error;     /* what went wrong, for logs and the outbox; "" when answered */
} lg_http_result_t;

/* One POST. The client copies every string and the body. */
typedef struct lg_http_post {
    const lg_webhook_dest_t *url; /* checked by lg_httpclient_check_destination */
    bool allow_private;           /* the SSRF guard lets private addresses through */
    const char *peer;             /* the peer named in log lines (the SCS id) */
    const char *tag;              /* what debug lines call the request (the outbox row) */
    const char *body;             /* sent as application/json */
    size_t body_len;
    const char *const *headers; /* extra headers: name, value, name, value, ..., NULL */
} lg_http_post_t;

/*
 * The end of an exchange: called exactly once per lg_httpclient_post, unless
 * the client is freed first. It may run before lg_httpclient_post returns.
 */
typedef void (*lg_httpclient_done_cb)(void *arg, const lg_http_result_t *result);

/*
 * Creates the client: its TLS context (TLS >= 1.2, peer verification, no
 * renegotiation or compression) and its resolver (/etc/resolv.conf, or only
 * the hosts file and address literals when that has no name servers).
 * Returns NULL (after logging why) when the TLS context cannot be made.
 */
lg_httpclient_t *lg_httpclient_new(struct event_base *base, const lg_httpclient_config_t *cfg);

/*
 * The SSRF guard's first half, decided before anything is sent: checks url
 * with lg_webhook_check_url and fills out; when its host is an address
 * literal, refuses it (LG_WEBHOOK_ERR_NOT_ALLOWED) if it is private and
 * allow_private is false. Names are checked after resolution, by
 * lg_httpclient_post. On refusal returns LG_ERR and sets *err to a constant
 * string compared by pointer (webhook.h's errors among them).
 */
LG_MUST_CHECK int lg_httpclient_check_destination(const char *url, bool allow_private,
                                                  lg_webhook_dest_t *out, const char **err);

/*
 * Starts a POST: resolves the host (address literals skip that), takes an
 * idle connection to the resolved address or opens one, sends, and calls cb
 * with arg when the answer, an error or the deadline comes. When the
 * destination already has max_conns_per_destination connections, an idle
 * one to another address closes for the new one; callers keep at most that
 * many requests per destination under way.
 */
void lg_httpclient_post(lg_httpclient_t *c, const lg_http_post_t *post, lg_httpclient_done_cb cb,
                        void *arg);

/*
 * True while the client keeps something for the destination host:port (host
 * compared without regard to case): a connection or a TLS session not yet
 * 300 s old. The notifier keeps its own record of a destination (its
 * breaker) as long as this holds, so a destination's failures are
 * remembered as long as its connections and session are.
 */
bool lg_httpclient_has_state(const lg_httpclient_t *c, const char *host, int port);

/*
 * Closes every connection and abandons every exchange under way (their
 * callbacks are never called). Accepts NULL.
 */
void lg_httpclient_free(lg_httpclient_t *c);

#endif
