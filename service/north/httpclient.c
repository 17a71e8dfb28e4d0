/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The webhook HTTPS client (see httpclient.h). Each POST is an exchange, a
 * small state machine:
 *
 *   RESOLVING (evdns; skipped for address literals)
 *     -> SENDING (evhttp request on a connection of the pool, under a deadline)
 *     -> DONE (its callback has run; freed at a safe time)
 *
 * The connections are connpool.c's: an exchange takes an idle one to the
 * very address it resolved (and checked), or a new one. A request that
 * fails without any answer on a reused connection (the server closed it as
 * we wrote) is sent once more on a new connection, within the same
 * deadline: the notifier delivers at least once. Finished exchanges are
 * freed by a zero timer, so no call chain ever sees its exchange vanish.
 */
#include "locguard/north/httpclient.h"

#include "locguard/core/log.h"
#include "locguard/north/connpool.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests go to the SCS/ASs of the northbound zone: their log lines name it and the SCS. */
#define ZONE "northbound"

typedef struct exchange exchange_t;

typedef enum { X_RESOLVING, X_SENDING, X_DONE } exchange_state_t;

/* One POST, from resolution to its callback. */
struct exchange {
    exchange_t *prev, *next; /* in c->exchanges, or c->finished once DONE */
    lg_httpclient_t *c;
    exchange_state_t state;
    lg_httpclient_done_cb cb;
    void *arg;
    char peer[64]; /* the SCS id, the peer of log lines */
    char tag[24];  /* the outbox row, in debug lines */
    lg_webhook_dest_t url;
    bool allow_private;
    char *body;
    size_t body_len;
    char **headers; /* name, value, ..., NULL: owned copies */
    struct evdns_getaddrinfo_request *dns_req;
    struct sockaddr_storage addr;
    lg_conn_t *conn;     /* the connection carrying the request while SENDING */
    struct event *timer; /* the deadline while SENDING */
    int64_t deadline_us; /* monotonic end of the exchange, set by the first send */
    bool is_resent;      /* already sent again after a reused connection failed */
    bool has_req_error;
    enum evhttp_request_error req_error;
};

struct lg_httpclient {
    struct event_base *base;
    lg_httpclient_config_t cfg;
    lg_connpool_t *pool;
    struct evdns_base *dns;
    struct event *reaper;
    exchange_t *exchanges; /* resolving or sending */
    exchange_t *finished;  /* done, freed by the reaper */
};

static void send_request(exchange_t *x);

static void exchange_free(exchange_t *x)
{
    if (x->timer != NULL)
        event_free(x->timer);
    free(x->body);
    if (x->headers != NULL)
        for (char **h = x->headers; *h != NULL; h++)
            free(*h);
    free(x->headers);
    free(x);
}

/* The reaper: frees the exchanges finished since it last ran. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    lg_httpclient_t *c = arg;
    (void)fd;
    (void)what;
    while (c->finished != NULL) {
        exchange_t *next = c->finished->next;
        exchange_free(c->finished);
        c->finished = next;
    }
}

/*
 * Ends x: calls its callback (which may start other exchanges, on the
 * connection x just gave back among others), then leaves x to the reaper.
 */
static void complete(exchange_t *x, lg_http_failure_t failure, int status, int64_t retry_after_s,
                     const char *error)
{
    lg_httpclient_t *c = x->c;
    if (x->timer != NULL)
        evtimer_del(x->timer);
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        c->exchanges = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = NULL;
    x->next = c->finished;
    c->finished = x;
    x->state = X_DONE;
    struct timeval zero = {0, 0};
    evtimer_add(c->reaper, &zero);
    lg_http_result_t result = {.failure = failure,
                               .status = status,
                               .retry_after_s = retry_after_s,
                               .error = error != NULL ? error : ""};
    x->cb(x->arg, &result);
}

static const char *request_error_text(enum evhttp_request_error e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timeout";
    case EVREQ_HTTP_EOF:
        return "connection closed";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid response header";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection error";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response too long";
    }
    return "connection error";
}

static void on_request_error(enum evhttp_request_error error, void *arg)
{
    exchange_t *x = arg;
    x->has_req_error = true;
    x->req_error = error;
}

static void on_response(struct evhttp_request *req, void *arg)
{
    exchange_t *x = arg;
    lg_conn_t *k = x->conn;
    int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
    int64_t retry_after_s = -1;
    bool is_verified = false;
    char error[160] = "";

    if (x->state != X_SENDING || k == NULL)
        return; /* not ours any more (cannot happen: its connection was freed with it) */
    evtimer_del(x->timer);
    if (status > 0) {
        is_verified = lg_connpool_is_verified(k);
        if (!is_verified) {
            status = 0; /* never trust an answer from an unverified peer */
            snprintf(error, sizeof(error), "server certificate not verified");
        }
        retry_after_s = lg_webhook_retry_after_s(
            evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After"));
    } else {
        lg_connpool_describe_error(
            k, x->has_req_error ? request_error_text(x->req_error) : "connection failed", error,
            sizeof(error));
    }
    /*
     * No answer at all on a connection that answered before: the server most
     * likely closed it as we wrote. Send again once, on a new connection.
     */
    bool is_stale = status == 0 && !is_verified && lg_connpool_requests(k) > 0 && !x->is_resent &&
                    x->has_req_error &&
                    (x->req_error == EVREQ_HTTP_EOF || x->req_error == EVREQ_HTTP_BUFFER_ERROR);
    char key[LG_WEBHOOK_HOST_MAX + 8];
    lg_strlcpy(key, lg_connpool_key(k), sizeof(key));
    x->conn = NULL;
    /* Back to the pool before the callback: the caller's next request can take it. */
    lg_connpool_put(k, status > 0);

    if (is_stale) {
        lg_zdebug(ZONE, x->peer,
                  "row %s: reused connection to %s failed (%s); sending again on a new one", x->tag,
                  key, error);
        x->is_resent = true;
        send_request(x);
    } else if (status > 0) {
        complete(x, LG_HTTP_ANSWERED, status, retry_after_s, NULL);
    } else {
        complete(x, LG_HTTP_NO_ANSWER, 0, -1, error);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    exchange_t *x = arg;
    (void)fd;
    (void)what;
    /* Not the connection's callback: freeing it here is safe, and its request dies silently. */
    if (x->conn != NULL) {
        lg_connpool_close(x->conn, true);
        x->conn = NULL;
    }
    complete(x, LG_HTTP_NO_ANSWER, 0, -1, "timeout");
}

/* Sends the request to x->addr: over an idle kept-alive connection when there is one. */
static void send_request(exchange_t *x)
{
    lg_httpclient_t *c = x->c;
    struct evhttp_request *req = NULL;
    int64_t now_us = lg_mono_us();

    if (x->timer == NULL) {
        x->timer = evtimer_new(c->base, on_deadline, x);
        x->deadline_us = now_us + (int64_t)c->cfg.timeout_s * 1000000;
    }
    if (x->deadline_us <= now_us) {
        complete(x, LG_HTTP_NO_ANSWER, 0, -1, "timeout");
        return;
    }
    bool is_reused = false;
    lg_conn_t *k =
        lg_connpool_get(c->pool, &x->url, &x->addr, x->allow_private, x->is_resent, &is_reused);
    if (k == NULL)
        goto failed;
    x->conn = k;
    x->has_req_error = false;

    req = evhttp_request_new(on_response, x);
    evhttp_request_set_error_cb(req, on_request_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", x->url.host_header);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "User-Agent", "locguard");
    if (c->cfg.idle_s <= 0)
        evhttp_add_header(h, "Connection", "close");
    for (char **hv = x->headers; hv[0] != NULL && hv[1] != NULL; hv += 2)
        evhttp_add_header(h, hv[0], hv[1]);
    evbuffer_add(evhttp_request_get_output_buffer(req), x->body, x->body_len);

    x->state = X_SENDING;
    int64_t left_us = x->deadline_us - now_us;
    struct timeval tv = {(time_t)(left_us / 1000000), (suseconds_t)(left_us % 1000000)};
    evtimer_add(x->timer, &tv);
    if (is_reused)
        lg_zdebug(ZONE, x->peer, "row %s: reusing a connection to %s (%u requests so far)", x->tag,
                  lg_connpool_key(k), lg_connpool_requests(k));
    if (evhttp_make_request(lg_connpool_evcon(k), req, EVHTTP_REQ_POST, x->url.target) != 0) {
        /* evhttp_make_request frees the request when it fails (http.h). */
        if (x->state != X_SENDING || x->conn != k)
            return; /* its callback already ran and took care of the exchange */
        evtimer_del(x->timer);
        goto failed;
    }
    return;
failed:
    if (x->conn != NULL) {
        lg_connpool_close(x->conn, false); /* we may be inside one of its callbacks */
        x->conn = NULL;
    }
    complete(x, LG_HTTP_NO_ANSWER, 0, -1, "cannot start the request");
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    exchange_t *x = arg;
    if (result == EVUTIL_EAI_CANCEL) {
        /* lg_httpclient_free cancelled us: it frees x itself. */
        if (res != NULL)
            evutil_freeaddrinfo(res);
        return;
    }
    x->dns_req = NULL;
    if (result != 0 || res == NULL) {
        char error[128];
        snprintf(error, sizeof(error), "name resolution failed: %s", evutil_gai_strerror(result));
        if (res != NULL)
            evutil_freeaddrinfo(res);
        complete(x, LG_HTTP_UNRESOLVABLE, 0, -1, error);
        return;
    }
    bool is_found = false;
    /* Connect only to an allowed address, the very one checked (no second lookup). */
    for (struct evutil_addrinfo *ai = res; ai != NULL && !is_found; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(x->addr))
            continue;
        if (!x->allow_private && lg_webhook_addr_is_private(ai->ai_addr))
            continue;
        memcpy(&x->addr, ai->ai_addr, ai->ai_addrlen);
        is_found = true;
    }
    evutil_freeaddrinfo(res);
    if (!is_found) {
        complete(x, LG_HTTP_NOT_ALLOWED, 0, -1, LG_WEBHOOK_ERR_NOT_ALLOWED);
        return;
    }
    send_request(x);
}

/* The address of an address-literal host (IPv4 or IPv6, no brackets), port not set. */
static bool literal_addr(const char *host, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

/* ---- public -------------------------------------------------------------------------------- */

int lg_httpclient_check_destination(const char *url, bool allow_private, lg_webhook_dest_t *out,
                                    const char **err)
{
    if (lg_webhook_check_url(url, out, err) != LG_OK)
        return LG_ERR;
    if (out->is_ip_literal) {
        struct sockaddr_storage addr;
        if (!literal_addr(out->host, &addr) ||
            (!allow_private && lg_webhook_addr_is_private((struct sockaddr *)&addr))) {
            *err = LG_WEBHOOK_ERR_NOT_ALLOWED;
            return LG_ERR;
        }
    }
    return LG_OK;
}

void lg_httpclient_post(lg_httpclient_t *c, const lg_http_post_t *post, lg_httpclient_done_cb cb,
                        void *arg)
{
    exchange_t *x = lg_xcalloc(1, sizeof(*x));
    x->c = c;
    x->cb = cb;
    x->arg = arg;
    x->state = X_RESOLVING;
    lg_strlcpy(x->peer, post->peer != NULL ? post->peer : "?", sizeof(x->peer));
    lg_strlcpy(x->tag, post->tag != NULL ? post->tag : "", sizeof(x->tag));
    x->url = *post->url;
    x->allow_private = post->allow_private;
    x->body = lg_xmalloc(post->body_len + 1);
    memcpy(x->body, post->body, post->body_len);
    x->body[post->body_len] = '\0';
    x->body_len = post->body_len;
    size_t n_headers = 0;
    while (post->headers != NULL && post->headers[n_headers] != NULL)
        n_headers++;
    x->headers = lg_xcalloc(n_headers + 1, sizeof(*x->headers));
    for (size_t i = 0; i < n_headers; i++)
        x->headers[i] = lg_xstrdup(post->headers[i]);
    x->next = c->exchanges;
    if (c->exchanges != NULL)
        c->exchanges->prev = x;
    c->exchanges = x;

    if (x->url.is_ip_literal) {
        /* The address was checked by lg_httpclient_check_destination. */
        if (!literal_addr(x->url.host, &x->addr)) {
            complete(x, LG_HTTP_NOT_ALLOWED, 0, -1, LG_WEBHOOK_ERR_NOT_ALLOWED);
            return;
        }
        send_request(x);
        return;
    }
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    /* Returns NULL when it answered at once (hosts file, cache): on_resolved has run then. */
    struct evdns_getaddrinfo_request *r =
        evdns_getaddrinfo(c->dns, x->url.host, NULL, &hints, on_resolved, x);
    if (r != NULL)
        x->dns_req = r;
}

lg_httpclient_t *lg_httpclient_new(struct event_base *base, const lg_httpclient_config_t *cfg)
{
    lg_httpclient_t *c = lg_xcalloc(1, sizeof(*c));
    c->base = base;
    c->cfg = *cfg;
    c->cfg.ca_file = NULL; /* the pool keeps its copy */
    if (c->cfg.timeout_s < 1)
        c->cfg.timeout_s = 1;
    if (c->cfg.idle_s < 0)
        c->cfg.idle_s = 0;
    lg_connpool_config_t pool_cfg = {.ca_file = cfg->ca_file,
                                     .max_conns = cfg->max_conns_per_destination,
                                     .timeout_s = c->cfg.timeout_s,
                                     .idle_s = c->cfg.idle_s};
    c->pool = lg_connpool_new(base, &pool_cfg);
    if (c->pool == NULL)
        goto failed;
    c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (c->dns == NULL) {
        lg_warn("notifier: no name servers from /etc/resolv.conf; only the hosts file and "
                "address literals resolve");
        c->dns = evdns_base_new(base, 0);
        if (c->dns == NULL)
            goto failed;
        (void)evdns_base_load_hosts(c->dns, NULL);
    }
    c->reaper = evtimer_new(base, on_reap, c);
    return c;
failed:
    lg_httpclient_free(c);
    return NULL;
}

bool lg_httpclient_has_state(const lg_httpclient_t *c, const char *host, int port)
{
    return lg_connpool_has_state(c->pool, host, port);
}

void lg_httpclient_free(lg_httpclient_t *c)
{
    if (c == NULL)
        return;
    /* Connections first: none of their callbacks may run once exchanges are gone. */
    lg_connpool_free(c->pool);
    while (c->exchanges != NULL) {
        exchange_t *x = c->exchanges;
        c->exchanges = x->next;
        if (x->dns_req != NULL) {
            struct evdns_getaddrinfo_request *r = x->dns_req;
            x->dns_req = NULL;
            evdns_getaddrinfo_cancel(r);
        }
        exchange_free(x);
    }
    on_reap(-1, 0, c);
    if (c->reaper != NULL)
        event_free(c->reaper);
    if (c->dns != NULL)
        evdns_base_free(c->dns, 0);
    free(c);
}
