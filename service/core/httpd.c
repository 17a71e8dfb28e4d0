/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server: an evconnlistener and, per accepted socket, one
 * connection with a bufferevent (bufferevent_openssl with TLS) and a state,
 * as pgbouncer's sbuf does:
 *
 *   HANDSHAKE -> (ALPN h2) -> H2 ------------------------------+
 *             -> (ALPN http/1.1, or none) -> H1 ----------------+-> DRAINING -> closed
 *             -> (no ALPN, is_h2c) -> SNIFF -> H2 or H1         |
 *   plain: SNIFF (is_h2c) or H1 --------------------------------+
 *
 * H1 reads one request at a time (reading stops while its handler works,
 * so replies leave in request order); H2 hands over every complete stream.
 * Replies come back through the request's sink (conn_respond), now or
 * later; the connection continues on the next loop turn (resume_ev), never
 * inside a handler's callback. A connection is never freed inside its own
 * callbacks: conn_close detaches its requests, frees the bufferevent and
 * sessions, and leaves the struct in a graveyard freed on the next loop
 * turn. DRAINING writes the last reply, then discards what the client still
 * sends until it closes or LINGER_S pass, so the client reads the answer
 * rather than a reset (a lingering close, as nginx does).
 */
#include "locguard/core/httpd.h"

#include "locguard/core/httpd_h1.h"
#include "locguard/core/httpd_h2.h"
#include "locguard/core/log.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PEER_MAX     64
#define CN_MAX       256
#define LINGER_S     2            /* how long DRAINING waits for the client to close */
#define OUT_HIGH     (256 * 1024) /* output buffered past this: stop reading until it drains */
#define IN_PIPELINED (64 * 1024)  /* HTTP/1.1 input waiting behind a request: stop reading */
#define BACKLOG      511

/* The HTTP/2 client preface (RFC 9113 3.4). */
static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(PREFACE) - 1)

/* Where a connection is (the file comment draws the transitions). */
typedef enum conn_state {
    CONN_HANDSHAKE = 0, /* TLS handshake under way */
    CONN_SNIFF,         /* no ALPN and h2c allowed: looking for the HTTP/2 preface */
    CONN_H1,            /* HTTP/1.1 */
    CONN_H2,            /* HTTP/2 */
    CONN_DRAINING,      /* the last reply goes out; input is discarded; then closed */
    CONN_CLOSED,        /* in the graveyard */
} conn_state_t;

typedef struct conn {
    struct conn *prev, *next; /* the server's live list, or its graveyard */
    lg_httpd_t *srv;
    struct bufferevent *bev;
    conn_state_t state;
    char peer[PEER_MAX]; /* "ADDR:PORT" */
    char cn[CN_MAX];     /* the verified client certificate's CN */
    bool has_cn;
    lg_h1_t *h1;             /* CONN_H1 */
    lg_httpd_req_t *h1_req;  /* CONN_H1: the request with the handler */
    bool is_h1_last;         /* CONN_H1: close after h1_req's reply */
    lg_h2_t *h2;             /* CONN_H2 */
    bool is_in_session;      /* inside a parse: replies are written, the rest waits */
    bool is_output_full;     /* reading stopped until the output drains */
    bool is_input_ended;     /* HTTP/1.1 client half-closed while a handler worked */
    struct event *resume_ev; /* continues the connection after a reply (next loop turn) */
    struct event *linger_ev; /* ends DRAINING */
} conn_t;

struct lg_httpd {
    struct event_base *base;
    lg_httpd_config_t cfg;
    struct evconnlistener *listener;
    int port;
    conn_t *conns;     /* live connections */
    conn_t *graveyard; /* closed ones, freed by reap_ev */
    struct event *reap_ev;
};

static void process_input(conn_t *c);

/* ---- pure helpers ---- */

bool lg_httpd_alpn_select(const unsigned char *in, unsigned int in_len, const unsigned char **out,
                          unsigned char *out_len)
{
    const unsigned char *h1 = NULL;
    for (unsigned int i = 0; i < in_len;) {
        unsigned int n = in[i];
        if (n == 0 || i + 1 + n > in_len)
            break; /* malformed: OpenSSL checked it, but stay inside */
        const unsigned char *name = in + i + 1;
        if (n == 2 && memcmp(name, "h2", 2) == 0) {
            *out = name;
            *out_len = 2;
            return true;
        }
        if (n == 8 && memcmp(name, "http/1.1", 8) == 0 && h1 == NULL)
            h1 = name;
        i += 1 + n;
    }
    if (h1 == NULL)
        return false;
    *out = h1;
    *out_len = 8;
    return true;
}

lg_httpd_preface_t lg_httpd_sniff_preface(const char *data, size_t len)
{
    size_t n = len < PREFACE_LEN ? len : PREFACE_LEN;
    if (memcmp(data, PREFACE, n) != 0)
        return LG_PREFACE_H1;
    return n == PREFACE_LEN ? LG_PREFACE_H2 : LG_PREFACE_MORE;
}

/* ---- connections ---- */

static void sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    lg_strlcpy(buf, "?", size);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
            snprintf(buf, size, "%s:%d", host, ntohs(sin->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
            snprintf(buf, size, "[%s]:%d", host, ntohs(sin6->sin6_port));
    }
}

/* The subject CN of the verified peer certificate into buf; false when none, several, or too long.
 */
static bool read_cn(SSL *ssl, char *buf, size_t size)
{
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return false;
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL)
        return false;
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
        return false; /* none, or ambiguous */
    ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    int len = ASN1_STRING_length(cn);
    const unsigned char *data = ASN1_STRING_get0_data(cn);
    if (len <= 0 || (size_t)len >= size || memchr(data, '\0', (size_t)len) != NULL)
        return false;
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
    return true;
}

static void list_remove(conn_t **head, conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void list_push(conn_t **head, conn_t *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head != NULL)
        (*head)->prev = c;
    *head = c;
}

/*
 * Ends the connection now: requests with a handler are detached, the
 * sessions and the bufferevent freed; the struct waits in the graveyard.
 */
static void conn_close(conn_t *c)
{
    if (c->state == CONN_CLOSED)
        return;
    lg_httpd_t *srv = c->srv;
    if (c->h1_req != NULL) {
        lg_httpd_req_set_sink(c->h1_req, NULL, NULL);
        c->h1_req = NULL;
    }
    lg_h1_free(c->h1);
    c->h1 = NULL;
    lg_h2_free(c->h2);
    c->h2 = NULL;
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
    event_del(c->resume_ev);
    event_del(c->linger_ev);
    c->state = CONN_CLOSED;
    list_remove(&srv->conns, c);
    list_push(&srv->graveyard, c);
    event_active(srv->reap_ev, EV_TIMEOUT, 0);
}

static void conn_free(conn_t *c)
{
    event_free(c->resume_ev);
    event_free(c->linger_ev);
    free(c);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    lg_httpd_t *srv = arg;
    (void)fd;
    (void)what;
    while (srv->graveyard != NULL) {
        conn_t *c = srv->graveyard;
        list_remove(&srv->graveyard, c);
        conn_free(c);
    }
}

/*
 * Reads unless the output is full, or an HTTP/1.1 client pipelines: while a
 * handler works, the next request is left unparsed in the input, and
 * reading stops once IN_PIPELINED bytes of it wait. A client that waits for
 * each answer (every AMF, every load tool) never gets there, so its
 * connection's read event stays as it is: stopping and restarting it cost
 * two epoll_ctl calls per request.
 */
static void update_reading(conn_t *c)
{
    if (c->bev == NULL)
        return;
    bool is_piled = c->state == CONN_H1 && c->h1_req != NULL &&
                    evbuffer_get_length(bufferevent_get_input(c->bev)) >= IN_PIPELINED;
    bool wants = !c->is_output_full && !is_piled && !c->is_input_ended;
    if (wants)
        bufferevent_enable(c->bev, EV_READ);
    else
        bufferevent_disable(c->bev, EV_READ);
}

/* Writes the last reply, then discards input until the client closes or LINGER_S pass. */
static void begin_draining(conn_t *c)
{
    if (c->state == CONN_DRAINING || c->state == CONN_CLOSED)
        return;
    c->state = CONN_DRAINING;
    if (c->h1_req != NULL) {
        lg_httpd_req_set_sink(c->h1_req, NULL, NULL);
        c->h1_req = NULL;
    }
    c->is_output_full = false;
    struct timeval tv = {LINGER_S, 0};
    event_add(c->linger_ev, &tv);
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    update_reading(c);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_close(arg);
}

/* Sends what the HTTP/2 session has; ends the connection when the session is finished. */
static void h2_flush(conn_t *c)
{
    if (c->state != CONN_H2)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (lg_h2_send(c->h2, out) != LG_OK) {
        conn_close(c);
        return;
    }
    if (lg_h2_is_done(c->h2)) {
        begin_draining(c);
        return;
    }
    if (evbuffer_get_length(out) > OUT_HIGH) {
        c->is_output_full = true;
        update_reading(c);
    }
}

/* The sink of every request of this connection: writes its reply. */
static void conn_respond(void *sink, lg_httpd_req_t *req, int status, const char *body, size_t len)
{
    conn_t *c = sink;
    lg_httpd_t *srv = c->srv;
    if (srv->cfg.on_replied != NULL)
        srv->cfg.on_replied(status, srv->cfg.arg);
    if (c->state == CONN_H1 && c->h1_req == req) {
        bool is_last = c->is_h1_last || lg_httpd_req_wants_close(req);
        lg_h1_write_response(bufferevent_get_output(c->bev), req, status, body, len, is_last);
        c->h1_req = NULL;
        if (is_last)
            begin_draining(c);
    } else if (c->h2 != NULL) {
        /* Also while DRAINING: the stream must let go of req, which is freed after this. */
        lg_h2_respond(c->h2, req, status, body, len);
    }
    /* Go on (parse the next request, send HTTP/2 frames) outside the handler's callback. */
    if (!c->is_in_session && c->state != CONN_CLOSED)
        event_active(c->resume_ev, EV_TIMEOUT, 0);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CONN_H2) {
        h2_flush(c);
        return;
    }
    update_reading(c);
    process_input(c);
}

/* Hands a request (or a refusal) to the zone. */
static void dispatch(conn_t *c, lg_httpd_req_t *req, const lg_httpd_error_t *err)
{
    lg_httpd_t *srv = c->srv;
    lg_httpd_req_set_peer(req, c->peer, c->has_cn ? c->cn : NULL);
    lg_httpd_req_set_sink(req, conn_respond, c);
    if (c->state == CONN_H1)
        c->h1_req = req;
    if (err != NULL)
        srv->cfg.on_error(req, err, srv->cfg.arg);
    else
        srv->cfg.on_request(req, srv->cfg.arg);
}

static void on_h2_request(void *owner, lg_httpd_req_t *req)
{
    dispatch(owner, req, NULL);
}

static void on_h2_error(void *owner, lg_httpd_req_t *req, const lg_httpd_error_t *err)
{
    dispatch(owner, req, err);
}

static const lg_h2_ops_t h2_ops = {.on_request = on_h2_request, .on_error = on_h2_error};

static void start_h1(conn_t *c)
{
    c->h1 = lg_h1_new(c->srv->cfg.max_body_bytes);
    c->state = CONN_H1;
}

static void start_h2(conn_t *c)
{
    c->h2 = lg_h2_new(&h2_ops, c, c->srv->cfg.max_body_bytes);
    if (c->h2 == NULL) {
        lg_error("zone %s: cannot start an HTTP/2 session", c->srv->cfg.name);
        conn_close(c);
        return;
    }
    c->state = CONN_H2;
    h2_flush(c); /* our SETTINGS */
}

/* The TLS handshake is done: the certificate's CN, then ALPN's choice. */
static void on_handshake_done(conn_t *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    c->has_cn = read_cn(ssl, c->cn, sizeof(c->cn));
    const unsigned char *proto = NULL;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (proto_len == 2 && memcmp(proto, "h2", 2) == 0)
        start_h2(c);
    else if (proto_len == 0 && c->srv->cfg.is_h2c)
        c->state = CONN_SNIFF;
    else
        start_h1(c);
}

static void h1_process(conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    c->is_in_session = true;
    while (c->state == CONN_H1 && c->h1_req == NULL) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        size_t consumed;
        lg_httpd_req_t *req;
        const lg_httpd_error_t *err;
        lg_h1_result_t r = lg_h1_parse(c->h1, v.iov_base, v.iov_len, &consumed, out, &req, &err);
        evbuffer_drain(in, consumed);
        if (r == LG_H1_REQUEST) {
            c->is_h1_last = !lg_h1_keep_alive(c->h1);
            dispatch(c, req, NULL);
        } else if (r == LG_H1_ERROR) {
            c->is_h1_last = true;
            dispatch(c, req, err);
        }
    }
    c->is_in_session = false;
    if (c->state == CONN_H1 && c->is_input_ended && c->h1_req == NULL)
        begin_draining(c); /* every request the client sent is answered */
    else if (c->state == CONN_H1)
        update_reading(c);
}

static void h2_process(conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    bool is_broken = false;
    c->is_in_session = true;
    while (c->state == CONN_H2) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        is_broken = lg_h2_recv(c->h2, v.iov_base, v.iov_len) != LG_OK;
        evbuffer_drain(in, v.iov_len);
        if (is_broken)
            break;
    }
    c->is_in_session = false;
    h2_flush(c);
    if (is_broken && c->state == CONN_H2)
        begin_draining(c);
}

static void process_input(conn_t *c)
{
    struct evbuffer *in;
    for (;;) {
        switch (c->state) {
        case CONN_SNIFF: {
            in = bufferevent_get_input(c->bev);
            size_t len = evbuffer_get_length(in);
            if (len == 0)
                return;
            size_t n = len < PREFACE_LEN ? len : PREFACE_LEN;
            lg_httpd_preface_t p =
                lg_httpd_sniff_preface((const char *)evbuffer_pullup(in, (ssize_t)n), n);
            if (p == LG_PREFACE_MORE)
                return;
            if (p == LG_PREFACE_H2)
                start_h2(c);
            else
                start_h1(c);
            break;
        }
        case CONN_H1:
            h1_process(c);
            return;
        case CONN_H2:
            h2_process(c);
            return;
        case CONN_DRAINING:
            in = bufferevent_get_input(c->bev);
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        default:
            return;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    (void)bev;
    /*
     * Data that came with the end of the handshake can be read before
     * BEV_EVENT_CONNECTED is delivered (and TLS 1.3 servers are "in init"
     * again while they send session tickets): it waits for on_event.
     */
    if (c->state == CONN_HANDSHAKE)
        return;
    process_input(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    /* A deferred callback may run after more output was added: act on an empty buffer only. */
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    if (c->state == CONN_DRAINING) {
        /* The last reply is out: a plain socket says so with FIN; TLS waits for the client. */
        if (bufferevent_openssl_get_ssl(c->bev) == NULL)
            shutdown(bufferevent_getfd(c->bev), SHUT_WR);
        return;
    }
    if (c->is_output_full) {
        c->is_output_full = false;
        update_reading(c);
        process_input(c);
    }
}

static bool has_work(const conn_t *c)
{
    return c->h1_req != NULL || (c->h2 != NULL && lg_h2_pending(c->h2) > 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn_t *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == CONN_HANDSHAKE) {
            on_handshake_done(c);
            process_input(c);
        }
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && has_work(c)) {
        /* Idle only while nothing is under way: a handler waiting on the database is not idle. */
        bufferevent_enable(c->bev, (what & BEV_EVENT_READING) ? EV_READ : EV_WRITE);
        update_reading(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->state == CONN_H1 && c->h1_req != NULL) {
        /* The client half-closed after its requests: they still get their
         * replies (h1_process ends the connection once none is left). */
        c->is_input_ended = true;
        update_reading(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && c->state != CONN_DRAINING)
        lg_zdebug(c->srv->cfg.log_zone, c->peer, "connection idle: closed");
    conn_close(c);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    lg_httpd_t *srv = arg;
    (void)listener;
    (void)socklen;
    /* Replies leave as small writes: no Nagle delay on kept-alive connections. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_t *c = lg_xcalloc(1, sizeof(*c));
    c->srv = srv;
    sockaddr_text(sa, c->peer, sizeof(c->peer));
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (srv->cfg.ssl_ctx != NULL) {
        SSL *ssl = SSL_new(srv->cfg.ssl_ctx);
        if (ssl != NULL)
            c->bev =
                bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
        if (c->bev != NULL)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        else
            SSL_free(ssl);
        c->state = CONN_HANDSHAKE;
    } else {
        c->bev = bufferevent_socket_new(srv->base, fd, opts);
        c->state = srv->cfg.is_h2c ? CONN_SNIFF : CONN_H1;
    }
    c->resume_ev = event_new(srv->base, -1, 0, on_resume, c);
    c->linger_ev = event_new(srv->base, -1, 0, on_linger, c);
    if (c->bev == NULL || c->resume_ev == NULL || c->linger_ev == NULL) {
        lg_error("zone %s: cannot set up a connection from %s", srv->cfg.name, c->peer);
        if (c->bev != NULL)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        conn_free(c);
        return;
    }
    list_push(&srv->conns, c);
    if (c->state == CONN_H1)
        start_h1(c);
    struct timeval idle = {srv->cfg.idle_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &idle, &idle);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    lg_httpd_t *srv = arg;
    (void)listener;
    lg_error("zone %s: accept failed: %s", srv->cfg.name,
             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len,
                   const unsigned char *in, unsigned int in_len, void *arg)
{
    (void)ssl;
    (void)arg;
    return lg_httpd_alpn_select(in, in_len, out, out_len) ? SSL_TLSEXT_ERR_OK
                                                          : SSL_TLSEXT_ERR_NOACK;
}

lg_httpd_t *lg_httpd_new(struct event_base *base, const lg_httpd_config_t *cfg)
{
    lg_httpd_t *srv = lg_xcalloc(1, sizeof(*srv));
    struct evutil_addrinfo hints = {0}, *ai = NULL;
    char port[16];
    srv->base = base;
    srv->cfg = *cfg;
    srv->reap_ev = event_new(base, -1, 0, on_reap, srv);
    if (srv->reap_ev == NULL)
        goto failed;
    if (cfg->ssl_ctx != NULL)
        SSL_CTX_set_alpn_select_cb(cfg->ssl_ctx, on_alpn, srv);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    snprintf(port, sizeof(port), "%d", cfg->port);
    if (evutil_getaddrinfo(cfg->host, port, &hints, &ai) != 0 || ai == NULL) {
        lg_error("zone %s: cannot resolve %s", cfg->name, cfg->host);
        goto failed;
    }
    srv->listener = evconnlistener_new_bind(
        base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
        BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    if (srv->listener == NULL) {
        lg_error("zone %s: cannot listen on %s:%d", cfg->name, cfg->host, cfg->port);
        goto failed;
    }
    evconnlistener_set_error_cb(srv->listener, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    return srv;
failed:
    lg_httpd_free(srv);
    return NULL;
}

void lg_httpd_stop_accepting(lg_httpd_t *srv)
{
    if (srv == NULL || srv->listener == NULL)
        return;
    evconnlistener_free(srv->listener);
    srv->listener = NULL;
    for (conn_t *c = srv->conns; c != NULL; c = c->next) {
        if (c->state == CONN_H2) {
            lg_h2_shutdown(c->h2);
            event_active(c->resume_ev, EV_TIMEOUT, 0);
        }
    }
}

void lg_httpd_free(lg_httpd_t *srv)
{
    if (srv == NULL)
        return;
    if (srv->listener != NULL)
        evconnlistener_free(srv->listener);
    while (srv->conns != NULL)
        conn_close(srv->conns);
    while (srv->graveyard != NULL) {
        conn_t *c = srv->graveyard;
        list_remove(&srv->graveyard, c);
        conn_free(c);
    }
    if (srv->reap_ev != NULL)
        event_free(srv->reap_ev);
    free(srv);
}

int lg_httpd_port(const lg_httpd_t *srv)
{
    return srv->port;
}
