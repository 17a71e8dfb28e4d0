/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The webhook connection pool (see connpool.h): per destination (host:port)
 * its connections, busy and idle, and the TLS session offered to new ones.
 * A connection goes busy (lg_connpool_get), then idle again or closed
 * (lg_connpool_put, lg_connpool_close). A sweeper closes connections idle
 * for idle_s and forgets destinations with nothing left. Closed evhttp
 * connections go to a graveyard emptied by a zero timer: nothing is freed
 * inside its own callback.
 */
#include "locguard/north/connpool.h"

#include "locguard/core/log.h"

#include <ctype.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE_BODY    65536 /* we read the status only; bigger answers are errors */
#define MAX_RESPONSE_HEADERS 16384
#define SWEEP_MS             1000 /* idle connections are checked for age this often */
#define SESSION_KEEP_S       300  /* a destination's TLS session is offered for this long */

/* One destination (host:port): its connections (busy and idle) and the TLS session offered. */
typedef struct dest {
    struct dest *next;
    char key[LG_WEBHOOK_HOST_MAX + 8]; /* "host:port", the host in lower case */
    lg_conn_t *conns;                  /* every open connection, busy or idle */
    size_t n_conns;
    SSL_SESSION *session;    /* the latest session of a verified connection, or NULL */
    int64_t session_mono_us; /* when session was stored */
} dest_t;

/* A connection to one address of a destination, reused while it stays healthy. */
struct lg_conn {
    lg_conn_t *next; /* in dest->conns */
    lg_connpool_t *p;
    dest_t *dest; /* the owner; outlives the connection */
    struct evhttp_connection *evcon;
    struct sockaddr_storage addr; /* the address connected to (port not set) */
    bool allow_private;           /* the policy the address was checked with */
    bool is_closed;               /* evhttp reset it (server closed, error): never reuse */
    bool is_busy;                 /* a request is under way on it */
    unsigned requests;            /* requests answered on it so far */
    int64_t idle_since_us;        /* monotonic time it became idle */
};

struct lg_connpool {
    struct event_base *base;
    lg_connpool_config_t cfg;
    char *ca_file; /* owned copy of cfg.ca_file */
    SSL_CTX *ssl_ctx;
    struct event *reaper, *sweeper;
    dest_t *dests;
    struct evhttp_connection **graveyard;
    size_t n_graveyard, graveyard_cap;
};

/* ---- freed at a safe time ------------------------------------------------------------------ */

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    lg_connpool_t *p = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < p->n_graveyard; i++)
        evhttp_connection_free(p->graveyard[i]);
    p->n_graveyard = 0;
}

/* Frees evcon once the current callbacks have returned. */
static void bury(lg_connpool_t *p, struct evhttp_connection *evcon)
{
    if (p->n_graveyard == p->graveyard_cap) {
        p->graveyard_cap = p->graveyard_cap ? p->graveyard_cap * 2 : 16;
        p->graveyard = lg_xrealloc(p->graveyard, p->graveyard_cap * sizeof(*p->graveyard));
    }
    p->graveyard[p->n_graveyard++] = evcon;
    struct timeval zero = {0, 0};
    evtimer_add(p->reaper, &zero);
}

/* ---- destinations -------------------------------------------------------------------------- */

static void dest_key(const char *host, int port, char *key, size_t key_size)
{
    snprintf(key, key_size, "%s:%d", host, port);
    for (char *c = key; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
}

static dest_t *dest_find(const lg_connpool_t *p, const char *key)
{
    for (dest_t *dst = p->dests; dst != NULL; dst = dst->next)
        if (strcmp(dst->key, key) == 0)
            return dst;
    return NULL;
}

static dest_t *dest_get(lg_connpool_t *p, const lg_webhook_dest_t *url)
{
    char key[sizeof(((dest_t *)0)->key)];
    dest_key(url->host, url->port, key, sizeof(key));
    dest_t *dst = dest_find(p, key);
    if (dst != NULL)
        return dst;
    dst = lg_xcalloc(1, sizeof(*dst));
    memcpy(dst->key, key, sizeof(key));
    dst->next = p->dests;
    p->dests = dst;
    return dst;
}

static bool session_is_young(const dest_t *dst)
{
    return dst->session != NULL &&
           lg_mono_us() - dst->session_mono_us < (int64_t)SESSION_KEEP_S * 1000000;
}

/* Drops a destination without connections once its TLS session, if any, is SESSION_KEEP_S
 * old (the sweeper). */
static void dest_maybe_free(lg_connpool_t *p, dest_t *dst)
{
    if (dst->n_conns > 0 || session_is_young(dst))
        return;
    for (dest_t **pp = &p->dests; *pp != NULL; pp = &(*pp)->next)
        if (*pp == dst) {
            *pp = dst->next;
            SSL_SESSION_free(dst->session);
            free(dst);
            return;
        }
}

/* ---- connections --------------------------------------------------------------------------- */

static SSL *conn_ssl(const lg_conn_t *k)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(k->evcon);
    return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/*
 * Closes k and frees it: now when no callback of its evcon can be under way
 * (our own timers, lg_connpool_free), otherwise at a safe time (bury). Its
 * request, if any, dies silently. Its destination stays: the caller calls
 * dest_maybe_free after.
 */
static void conn_close(lg_conn_t *k, bool is_now)
{
    dest_t *dst = k->dest;
    evhttp_connection_set_closecb(k->evcon, NULL, NULL);
    SSL *ssl = conn_ssl(k);
    if (ssl != NULL)
        SSL_set_app_data(ssl, NULL); /* a late session ticket must not find k */
    for (lg_conn_t **pp = &dst->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            dst->n_conns--;
            break;
        }
    if (is_now)
        evhttp_connection_free(k->evcon);
    else
        bury(k->p, k->evcon);
    free(k);
}

/* evhttp reset the connection (server closed it, read error, idle read timeout). */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    lg_conn_t *k = arg;
    (void)evcon;
    k->is_closed = true;
    if (k->is_busy)
        return; /* its request's callback follows and closes it */
    lg_connpool_t *p = k->p;
    dest_t *dst = k->dest;
    lg_debug("notifier: %s: idle connection closed by the server after %u requests", dst->key,
             k->requests);
    conn_close(k, false);
    dest_maybe_free(p, dst);
}

/* Same address (family and bytes; the port is the destination's). */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* Sweeper: closes connections idle for idle_s and forgets unused destinations' old sessions. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    lg_connpool_t *p = arg;
    (void)fd;
    (void)what;
    int64_t now_us = lg_mono_us();
    dest_t *dst = p->dests;
    while (dst != NULL) {
        dest_t *next_dst = dst->next;
        lg_conn_t *k = dst->conns;
        while (k != NULL) {
            lg_conn_t *next = k->next;
            if (!k->is_busy && now_us - k->idle_since_us >= (int64_t)p->cfg.idle_s * 1000000) {
                lg_debug("notifier: %s: closing a connection idle for %d s after %u requests",
                         dst->key, p->cfg.idle_s, k->requests);
                conn_close(k, false);
            }
            k = next;
        }
        dest_maybe_free(p, dst);
        dst = next_dst;
    }
}

/*
 * OpenSSL hands us a session of a verified connection (after the handshake,
 * or a TLS 1.3 ticket). We keep a copy: OpenSSL marks the connection's own
 * object not resumable when the connection is freed without close_notify,
 * which is how evhttp closes every connection.
 */
static int on_new_session(SSL *ssl, SSL_SESSION *session)
{
    lg_conn_t *k = SSL_get_app_data(ssl);
    SSL_SESSION *copy = k != NULL ? SSL_SESSION_dup(session) : NULL;
    if (copy == NULL)
        return 0; /* OpenSSL keeps or frees its own */
    SSL_SESSION_free(k->dest->session);
    k->dest->session = copy;
    k->dest->session_mono_us = lg_mono_us();
    return 0;
}

/*
 * Opens a connection of dst to addr: TLS with certificate and host name
 * verification, the destination's session offered for resumption. When dst
 * already has max_conns connections, an idle one (to another address) gives
 * way. Returns NULL on failure.
 */
static lg_conn_t *conn_open(lg_connpool_t *p, dest_t *dst, const lg_webhook_dest_t *url,
                            const struct sockaddr_storage *addr, bool allow_private)
{
    char addr_text[INET6_ADDRSTRLEN];
    int family = addr->ss_family;
    const void *raw = family == AF_INET
                          ? (const void *)&((const struct sockaddr_in *)addr)->sin_addr
                          : (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (evutil_inet_ntop(family, raw, addr_text, sizeof(addr_text)) == NULL)
        return NULL;
    if (dst->n_conns >= (size_t)p->cfg.max_conns)
        for (lg_conn_t *k = dst->conns; k != NULL; k = k->next)
            if (!k->is_busy) {
                conn_close(k, false);
                break;
            }

    SSL *ssl = SSL_new(p->ssl_ctx);
    if (ssl == NULL)
        return NULL;
    if (url->is_ip_literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url->host);
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set_tlsext_host_name(ssl, url->host) != 1 || SSL_set1_host(ssl, url->host) != 1) {
            SSL_free(ssl);
            return NULL;
        }
    }
    /* Sessions come only from verified handshakes with this same host name and port. */
    if (session_is_young(dst) && SSL_SESSION_is_resumable(dst->session))
        (void)SSL_set_session(ssl, dst->session);
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    /* A numeric host: evhttp "resolves" it without a lookup, so we reach the checked address. */
    struct evhttp_connection *evcon = evhttp_connection_base_bufferevent_new(
        p->base, NULL, bev, addr_text, (unsigned short)url->port);
    if (evcon == NULL) {
        bufferevent_free(bev);
        return NULL;
    }
    evhttp_connection_set_family(evcon, family);
    /*
     * evhttp's timeout is per read or write and also ends idle connections:
     * keep it above idle_s and let the exchange's deadline bound it.
     */
    evhttp_connection_set_timeout(evcon, p->cfg.timeout_s > p->cfg.idle_s + 2 ? p->cfg.timeout_s
                                                                              : p->cfg.idle_s + 2);
    evhttp_connection_set_retries(evcon, 0);
    evhttp_connection_set_max_body_size(evcon, MAX_RESPONSE_BODY);
    evhttp_connection_set_max_headers_size(evcon, MAX_RESPONSE_HEADERS);

    lg_conn_t *k = lg_xcalloc(1, sizeof(*k));
    k->p = p;
    k->dest = dst;
    k->evcon = evcon;
    k->addr = *addr;
    k->allow_private = allow_private;
    k->next = dst->conns;
    dst->conns = k;
    dst->n_conns++;
    SSL_set_app_data(ssl, k);
    evhttp_connection_set_closecb(evcon, on_conn_close, k);
    lg_debug("notifier: %s: new connection to %s (%zu open)%s", dst->key, addr_text, dst->n_conns,
             SSL_get_session(ssl) != NULL ? ", resuming a session" : "");
    return k;
}

/* ---- public -------------------------------------------------------------------------------- */

lg_conn_t *lg_connpool_get(lg_connpool_t *p, const lg_webhook_dest_t *url,
                           const struct sockaddr_storage *addr, bool allow_private, bool is_fresh,
                           bool *is_reused)
{
    dest_t *dst = dest_get(p, url);
    lg_conn_t *k = NULL;
    if (!is_fresh)
        for (k = dst->conns; k != NULL; k = k->next)
            if (!k->is_busy && !k->is_closed && k->allow_private == allow_private &&
                same_addr(&k->addr, addr))
                break;
    *is_reused = k != NULL;
    if (k == NULL)
        k = conn_open(p, dst, url, addr, allow_private);
    if (k == NULL) {
        dest_maybe_free(p, dst);
        return NULL;
    }
    k->is_busy = true;
    return k;
}

struct evhttp_connection *lg_connpool_evcon(const lg_conn_t *k)
{
    return k->evcon;
}

const char *lg_connpool_key(const lg_conn_t *k)
{
    return k->dest->key;
}

unsigned lg_connpool_requests(const lg_conn_t *k)
{
    return k->requests;
}

bool lg_connpool_is_verified(const lg_conn_t *k)
{
    SSL *ssl = conn_ssl(k);
    return ssl != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

void lg_connpool_describe_error(const lg_conn_t *k, const char *what, char *out, size_t out_size)
{
    unsigned long e = 0, last;
    struct bufferevent *bev = k != NULL ? evhttp_connection_get_bufferevent(k->evcon) : NULL;
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (bev != NULL)
        while ((last = bufferevent_get_openssl_error(bev)) != 0)
            if (ERR_GET_LIB(last) != 0) /* libevent also queues bare SSL_get_error codes */
                e = last;
    while ((last = ERR_get_error()) != 0)
        e = e ? e : last;
    if (verify != X509_V_OK) {
        snprintf(out, out_size, "%s: TLS: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(verify));
    } else if (e != 0) {
        char tls[120];
        ERR_error_string_n(e, tls, sizeof(tls));
        snprintf(out, out_size, "%s: TLS: %s", what, tls);
    } else {
        snprintf(out, out_size, "%s", what);
    }
}

void lg_connpool_put(lg_conn_t *k, bool is_answered)
{
    k->is_busy = false;
    if (is_answered) {
        k->requests++;
        if (k->requests == 1) {
            /*
             * A request leaves as a header write and a body write. On a fresh
             * connection the peer acknowledges at once (TCP quick ACKs); on a
             * kept-alive one it delays its ACK, and with Nagle on our body would
             * wait for it: 40 ms per notification. The socket exists only now.
             */
            struct bufferevent *bev = evhttp_connection_get_bufferevent(k->evcon);
            evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
            int one = 1;
            if (fd >= 0)
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
    }
    if (is_answered && !k->is_closed && k->p->cfg.idle_s > 0) {
        k->idle_since_us = lg_mono_us();
        return;
    }
    lg_connpool_close(k, false); /* inside its own callback: freed at a safe time */
}

void lg_connpool_close(lg_conn_t *k, bool is_now)
{
    lg_connpool_t *p = k->p;
    dest_t *dst = k->dest;
    conn_close(k, is_now);
    dest_maybe_free(p, dst);
}

bool lg_connpool_has_state(const lg_connpool_t *p, const char *host, int port)
{
    char key[sizeof(((dest_t *)0)->key)];
    dest_key(host, port, key, sizeof(key));
    return dest_find(p, key) != NULL;
}

static SSL_CTX *make_ssl_ctx(const char *ca_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        goto failed;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, 8);
    /* Sessions are kept per destination by on_new_session, not in OpenSSL's cache. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1)
        goto failed;
    return ctx;
failed:;
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        lg_error("notifier: TLS client context (%s): %s", ca_file ? ca_file : "system store", buf);
    }
    SSL_CTX_free(ctx);
    return NULL;
}

lg_connpool_t *lg_connpool_new(struct event_base *base, const lg_connpool_config_t *cfg)
{
    lg_connpool_t *p = lg_xcalloc(1, sizeof(*p));
    p->base = base;
    p->cfg = *cfg;
    p->ca_file = cfg->ca_file != NULL ? lg_xstrdup(cfg->ca_file) : NULL;
    p->cfg.ca_file = p->ca_file;
    if (p->cfg.max_conns < 1)
        p->cfg.max_conns = 1;
    if (p->cfg.idle_s < 0)
        p->cfg.idle_s = 0;
    p->ssl_ctx = make_ssl_ctx(p->ca_file);
    if (p->ssl_ctx == NULL)
        goto failed;
    p->reaper = evtimer_new(base, on_reap, p);
    p->sweeper = event_new(base, -1, EV_PERSIST, on_sweep, p);
    struct timeval sweep = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    event_add(p->sweeper, &sweep);
    return p;
failed:
    lg_connpool_free(p);
    return NULL;
}

void lg_connpool_free(lg_connpool_t *p)
{
    if (p == NULL)
        return;
    while (p->dests != NULL) {
        dest_t *dst = p->dests;
        while (dst->conns != NULL)
            conn_close(dst->conns, true);
        p->dests = dst->next;
        SSL_SESSION_free(dst->session);
        free(dst);
    }
    on_reap(-1, 0, p);
    free(p->graveyard);
    if (p->reaper != NULL)
        event_free(p->reaper);
    if (p->sweeper != NULL)
        event_free(p->sweeper);
    SSL_CTX_free(p->ssl_ctx);
    free(p->ca_file);
    free(p);
}
