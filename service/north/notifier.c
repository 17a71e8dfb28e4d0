/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier (see notifier.h). Each leased row becomes a delivery, a small
 * state machine:
 *
 *   WAITING (its destination is at its concurrency limit)
 *     -> RESOLVING (evdns; skipped for address literals)
 *     -> SENDING (evhttp request over bufferevent_openssl, under a deadline)
 *     -> FINISHING (lg_outbox_done under way; the delivery is freed by its result)
 *
 * Connections are kept alive (HTTP/1.1, one request at a time) in a pool per
 * destination (host:port): a delivery takes an idle connection to the very
 * address it resolved, with the same allow_private, or opens a new one (full
 * certificate and host name verification; a TLS session of the destination
 * is offered for resumption). A destination never has more connections than
 * its concurrency limit. Idle connections close after idle_s or when the
 * server closes them. A request that fails without any answer on a reused
 * connection (the server closed it as we wrote) is sent once more on a new
 * connection, within the same deadline: at least once allows it.
 *
 * Nothing is freed inside its own callback: finished connections go to a
 * graveyard emptied by a zero timer, and the outcome query is sent from the
 * delivery's own timer, so no call chain ever sees its delivery vanish.
 * Queries hold a pointer that lg_notifier_free clears ("orphans"), so their
 * late completions are harmless.
 */
#include "locguard/north/notifier.h"

#include "locguard/core/log.h"
#include "locguard/core/pgarray.h"
#include "locguard/north/webhook.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEASE_BATCH_MAX      100   /* rows per lease query */
#define WAITING_PER_SLOT     8     /* rows queued locally per concurrency slot of a destination */
#define BUSY_RETRY_MS        250   /* a row released for a busy destination is due again after */
#define BREAKER_FAILS        5     /* failed attempts in a row that put a destination on hold */
#define BREAKER_FIRST_MS     1000  /* the first hold; each next one doubles, up to max_backoff_s */
#define DEST_URLS_MAX        4     /* row URLs remembered per destination, for the skip list */
#define MAX_RESPONSE_BODY    65536 /* we read the status only; bigger answers are errors */
#define MAX_RESPONSE_HEADERS 16384

/* Deliveries go to the SCS/ASs of the northbound zone: their log lines name it and the SCS. */
#define ZONE "northbound"
#define LEASE_MARGIN_S       2    /* a waiting row must start this long before its lease ends */
#define SWEEP_MS             1000 /* idle connections are checked for age this often */
#define SESSION_KEEP_S       300  /* a destination's TLS session is offered for this long */

static const char lease_sql[] =
    "SELECT id, notif_id, destination, payload, secret, secret_previous, allow_private, "
    "attempts, extract(epoch FROM now() - created_at)::float8 AS age_s, scs_as_id "
    "FROM lg_outbox_lease($1, $2::int, $3::int, $4::text[])";
static const char done_sql[] = "SELECT lg_outbox_done($1::bigint, $2, $3, $4::int, $5, "
                               "now() + $6::float8 * interval '1 second')";
static const char stats_sql[] = "SELECT depth, oldest_age_s FROM lg_outbox_stats()";

/* The lease's result columns, found by name once per result (lg_db_columns). */
enum lease_column {
    L_ID,
    L_NOTIF_ID,
    L_DESTINATION,
    L_PAYLOAD,
    L_SECRET,
    L_SECRET_PREVIOUS,
    L_ALLOW_PRIVATE,
    L_ATTEMPTS,
    L_AGE_S,
    L_SCS_AS_ID,
    N_LEASE_COLUMNS
};
static const char *const lease_columns[N_LEASE_COLUMNS] = {
    [L_ID] = "id",
    [L_NOTIF_ID] = "notif_id",
    [L_DESTINATION] = "destination",
    [L_PAYLOAD] = "payload",
    [L_SECRET] = "secret",
    [L_SECRET_PREVIOUS] = "secret_previous",
    [L_ALLOW_PRIVATE] = "allow_private",
    [L_ATTEMPTS] = "attempts",
    [L_AGE_S] = "age_s",
    [L_SCS_AS_ID] = "scs_as_id",
};

/* lg_outbox_stats's columns. */
enum stats_column { S_DEPTH, S_OLDEST_AGE_S, N_STATS_COLUMNS };
static const char *const stats_columns[N_STATS_COLUMNS] = {
    [S_DEPTH] = "depth",
    [S_OLDEST_AGE_S] = "oldest_age_s",
};

typedef enum { D_WAITING, D_RESOLVING, D_SENDING, D_FINISHING } delivery_state_t;

typedef struct delivery delivery_t;
typedef struct conn conn_t;

/*
 * One destination (host:port): its slots in use, the rows waiting for one, its
 * connections (busy and idle) and the TLS session offered to new connections.
 */
typedef struct dest {
    struct dest *next;
    char key[LG_WEBHOOK_HOST_MAX + 8];
    int active; /* deliveries holding a slot */
    delivery_t *wait_head, *wait_tail;
    size_t n_waiting;
    bool is_draining; /* release_slot is starting waiters: keep it alive */
    conn_t *conns;    /* every open connection, busy or idle */
    size_t n_conns;
    SSL_SESSION *session;    /* the latest session of a verified connection, or NULL */
    int64_t session_mono_us; /* when session was stored */
    /* The breaker: after BREAKER_FAILS failed attempts in a row, no row for this
       destination is attempted (or leased) until hold_until_us. */
    int fail_streak;
    int holds;                 /* holds in a row; reset by an answered attempt */
    int64_t hold_until_us;     /* monotonic; 0 when not on hold */
    char *urls[DEST_URLS_MAX]; /* row URLs seen failing here, for the lease's skip list */
    size_t n_urls;
} dest_t;

/* A connection to one address of a destination, reused while it stays healthy. */
struct conn {
    conn_t *next; /* in dest->conns */
    lg_notifier_t *n;
    dest_t *dest; /* the owner; outlives the connection */
    struct evhttp_connection *evcon;
    struct sockaddr_storage addr; /* the address connected to (port not set) */
    bool allow_private;           /* the policy the address was checked with */
    bool is_closed;               /* evhttp reset it (server closed, error): never reuse */
    delivery_t *d;                /* the delivery whose request is under way; NULL when idle */
    unsigned requests;            /* requests answered on it so far */
    int64_t idle_since_us;        /* monotonic time it became idle */
};

/* A query's completion target; lg_notifier_free sets n to NULL. */
typedef struct ticket {
    lg_notifier_t *n;
} ticket_t;

struct delivery {
    delivery_t *prev, *next; /* in n->deliveries */
    delivery_t *wait_next;   /* in dest->wait_* while WAITING */
    lg_notifier_t *n;        /* NULL once orphaned by lg_notifier_free */
    delivery_state_t state;
    char row_id[24]; /* outbox id, for lg_outbox_done and debug lines */
    char scs_id[64]; /* the destination's SCS/AS id: the peer of its log lines */
    char *notif_id;
    char *destination; /* the row's URL, as stored (for the lease's skip list) */
    char *payload;     /* the body as sent (absolute self link) */
    char *secret, *secret_previous;
    bool allow_private;
    int attempts; /* earlier failed attempts */
    double age_s; /* row age at lease time */
    int64_t leased_mono_us;
    lg_webhook_dest_t url;
    dest_t *dest;
    bool has_slot;
    struct evdns_getaddrinfo_request *dns_req;
    struct sockaddr_storage addr;
    conn_t *conn;        /* the connection carrying the request while SENDING */
    struct event *timer; /* the deadline while SENDING, then the outcome query's start */
    int64_t deadline_us; /* monotonic end of the exchange, set by the first send */
    bool is_resent;      /* already sent again after a reused connection failed */
    bool has_req_error;
    enum evhttp_request_error req_error;
    /* the outcome */
    const char *outcome;
    int http_status;
    char error[160];
    double delay_s;
};

struct lg_notifier {
    struct event_base *base;
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_notifier_config_t cfg;
    char *public_url, *ca_file; /* owned copies of cfg's strings */
    char owner[128];
    SSL_CTX *ssl_ctx;
    struct evdns_base *dns;
    struct event *poll_timer, *stats_timer, *reaper, *sweeper;
    delivery_t *deliveries;
    size_t n_deliveries;
    dest_t *dests;
    ticket_t *lease_ticket, *stats_ticket;
    bool is_kicked;
    struct evhttp_connection **graveyard;
    size_t n_graveyard, graveyard_cap;
};

static void start_delivery(delivery_t *d);
static void finish(delivery_t *d, const char *outcome, int http_status, const char *error,
                   int64_t retry_after_s);
static void lease(lg_notifier_t *n);

static uint32_t random_u32(void)
{
    uint32_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint32_t)lg_mono_us();
    return r;
}

static void free_secret(char **s)
{
    if (*s != NULL) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* ---- connections: freed at a safe time ---------------------------------------------------- */

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    lg_notifier_t *n = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < n->n_graveyard; i++)
        evhttp_connection_free(n->graveyard[i]);
    n->n_graveyard = 0;
}

/* Frees evcon once the current callbacks have returned. */
static void bury(lg_notifier_t *n, struct evhttp_connection *evcon)
{
    if (n->n_graveyard == n->graveyard_cap) {
        n->graveyard_cap = n->graveyard_cap ? n->graveyard_cap * 2 : 16;
        n->graveyard = lg_xrealloc(n->graveyard, n->graveyard_cap * sizeof(*n->graveyard));
    }
    n->graveyard[n->n_graveyard++] = evcon;
    struct timeval zero = {0, 0};
    evtimer_add(n->reaper, &zero);
}

/* ---- destinations -------------------------------------------------------------------------- */

static dest_t *dest_get(lg_notifier_t *n, const lg_webhook_dest_t *url)
{
    char key[sizeof(((dest_t *)0)->key)];
    snprintf(key, sizeof(key), "%s:%d", url->host, url->port);
    for (char *p = key; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    for (dest_t *dst = n->dests; dst != NULL; dst = dst->next)
        if (strcmp(dst->key, key) == 0)
            return dst;
    dest_t *dst = lg_xcalloc(1, sizeof(*dst));
    memcpy(dst->key, key, sizeof(key));
    dst->next = n->dests;
    n->dests = dst;
    return dst;
}

static bool dest_on_hold(const dest_t *dst)
{
    return dst->hold_until_us != 0 && lg_mono_us() < dst->hold_until_us;
}

/* Sets the gauge of destinations on hold: when a hold starts, and at every lease. */
static void update_held_gauge(lg_notifier_t *n)
{
    int64_t held = 0;
    for (const dest_t *dst = n->dests; dst != NULL; dst = dst->next)
        held += dest_on_hold(dst);
    lg_metrics_set(n->metrics, LG_G_DESTINATIONS_ON_HOLD, held);
}

static void dest_free(dest_t *dst)
{
    SSL_SESSION_free(dst->session);
    for (size_t i = 0; i < dst->n_urls; i++)
        free(dst->urls[i]);
    free(dst);
}

/*
 * Drops a destination nobody uses any more (keeps the list short). One with a
 * TLS session stays until the session is SESSION_KEEP_S old, one on hold
 * until the hold ends (the sweeper).
 */
static void dest_maybe_free(lg_notifier_t *n, dest_t *dst)
{
    if (dst->active > 0 || dst->n_waiting > 0 || dst->is_draining || dst->n_conns > 0)
        return;
    if (dest_on_hold(dst))
        return;
    if (dst->session != NULL &&
        lg_mono_us() - dst->session_mono_us < (int64_t)SESSION_KEEP_S * 1000000)
        return;
    for (dest_t **pp = &n->dests; *pp != NULL; pp = &(*pp)->next)
        if (*pp == dst) {
            *pp = dst->next;
            dest_free(dst);
            return;
        }
}

/* ---- connections: kept alive per destination ------------------------------------------------ */

static SSL *conn_ssl(const conn_t *c)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
    return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

/*
 * Closes c and frees it: now when no callback of its evcon can be under way
 * (our own timers, lg_notifier_free), otherwise at a safe time (bury). Its
 * request, if any, dies silently. The caller calls dest_maybe_free after.
 */
static void conn_close(conn_t *c, bool is_now)
{
    dest_t *dst = c->dest;
    evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    SSL *ssl = conn_ssl(c);
    if (ssl != NULL)
        SSL_set_app_data(ssl, NULL); /* a late session ticket must not find c */
    for (conn_t **pp = &dst->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            dst->n_conns--;
            break;
        }
    if (c->d != NULL)
        c->d->conn = NULL;
    if (is_now)
        evhttp_connection_free(c->evcon);
    else
        bury(c->n, c->evcon);
    free(c);
}

/* evhttp reset the connection (server closed it, read error, idle read timeout). */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    conn_t *c = arg;
    (void)evcon;
    c->is_closed = true;
    if (c->d != NULL)
        return; /* its request's callback follows and closes it */
    lg_notifier_t *n = c->n;
    dest_t *dst = c->dest;
    lg_debug("notifier: %s: idle connection closed by the server after %u requests", dst->key,
             c->requests);
    conn_close(c, false);
    dest_maybe_free(n, dst);
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

/* An idle, healthy connection of d's destination to d's address and policy, or NULL. */
static conn_t *conn_take_idle(delivery_t *d)
{
    for (conn_t *c = d->dest->conns; c != NULL; c = c->next)
        if (c->d == NULL && !c->is_closed && c->allow_private == d->allow_private &&
            same_addr(&c->addr, &d->addr))
            return c;
    return NULL;
}

/* Sweeper: closes connections idle for idle_s and forgets unused destinations' old sessions. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    lg_notifier_t *n = arg;
    (void)fd;
    (void)what;
    int64_t now_us = lg_mono_us();
    dest_t *dst = n->dests;
    while (dst != NULL) {
        dest_t *next_dst = dst->next;
        conn_t *c = dst->conns;
        while (c != NULL) {
            conn_t *next = c->next;
            if (c->d == NULL && now_us - c->idle_since_us >= (int64_t)n->cfg.idle_s * 1000000) {
                lg_debug("notifier: %s: closing a connection idle for %d s after %u requests",
                         dst->key, n->cfg.idle_s, c->requests);
                conn_close(c, false);
            }
            c = next;
        }
        dest_maybe_free(n, dst);
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
    conn_t *c = SSL_get_app_data(ssl);
    SSL_SESSION *copy = c != NULL ? SSL_SESSION_dup(session) : NULL;
    if (copy == NULL)
        return 0; /* OpenSSL keeps or frees its own */
    SSL_SESSION_free(c->dest->session);
    c->dest->session = copy;
    c->dest->session_mono_us = lg_mono_us();
    return 0;
}

/*
 * Opens a connection of d's destination to d->addr: TLS with certificate and
 * host name verification, the destination's session offered for resumption.
 * When the destination already has as many connections as it has slots, an
 * idle one (to another address) gives way. Returns NULL on failure.
 */
static conn_t *conn_open(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    dest_t *dst = d->dest;
    char addr_text[INET6_ADDRSTRLEN];
    int family = d->addr.ss_family;
    const void *raw = family == AF_INET
                          ? (const void *)&((struct sockaddr_in *)&d->addr)->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)&d->addr)->sin6_addr;
    if (evutil_inet_ntop(family, raw, addr_text, sizeof(addr_text)) == NULL)
        return NULL;
    if (dst->n_conns >= (size_t)n->cfg.concurrency_per_destination)
        for (conn_t *c = dst->conns; c != NULL; c = c->next)
            if (c->d == NULL) {
                conn_close(c, false);
                break;
            }

    SSL *ssl = SSL_new(n->ssl_ctx);
    if (ssl == NULL)
        return NULL;
    if (d->url.is_ip_literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), d->url.host);
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set_tlsext_host_name(ssl, d->url.host) != 1 ||
            SSL_set1_host(ssl, d->url.host) != 1) {
            SSL_free(ssl);
            return NULL;
        }
    }
    /* Sessions come only from verified handshakes with this same host name and port. */
    if (dst->session != NULL && SSL_SESSION_is_resumable(dst->session) &&
        lg_mono_us() - dst->session_mono_us < (int64_t)SESSION_KEEP_S * 1000000)
        (void)SSL_set_session(ssl, dst->session);
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(n->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    /* A numeric host: evhttp "resolves" it without a lookup, so we reach the checked address. */
    struct evhttp_connection *evcon = evhttp_connection_base_bufferevent_new(
        n->base, NULL, bev, addr_text, (unsigned short)d->url.port);
    if (evcon == NULL) {
        bufferevent_free(bev);
        return NULL;
    }
    evhttp_connection_set_family(evcon, family);
    /*
     * evhttp's timeout is per read or write and also ends idle connections:
     * keep it above idle_s and let the delivery's deadline bound the exchange.
     */
    evhttp_connection_set_timeout(evcon, n->cfg.timeout_s > n->cfg.idle_s + 2 ? n->cfg.timeout_s
                                                                              : n->cfg.idle_s + 2);
    evhttp_connection_set_retries(evcon, 0);
    evhttp_connection_set_max_body_size(evcon, MAX_RESPONSE_BODY);
    evhttp_connection_set_max_headers_size(evcon, MAX_RESPONSE_HEADERS);

    conn_t *c = lg_xcalloc(1, sizeof(*c));
    c->n = n;
    c->dest = dst;
    c->evcon = evcon;
    c->addr = d->addr;
    c->allow_private = d->allow_private;
    c->next = dst->conns;
    dst->conns = c;
    dst->n_conns++;
    SSL_set_app_data(ssl, c);
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    lg_debug("notifier: %s: new connection to %s (%zu open)%s", dst->key, addr_text, dst->n_conns,
             SSL_get_session(ssl) != NULL ? ", resuming a session" : "");
    return c;
}

/* ---- delivery lifecycle -------------------------------------------------------------------- */

static void delivery_unlink(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        n->deliveries = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    n->n_deliveries--;
}

static void delivery_free(delivery_t *d)
{
    if (d->timer != NULL)
        event_free(d->timer);
    free(d->notif_id);
    free(d->destination);
    free(d->payload);
    free_secret(&d->secret);
    free_secret(&d->secret_previous);
    free(d);
}

/* Gives the slot back and starts the next row waiting for this destination. */
static void release_slot(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    dest_t *dst = d->dest;
    if (!d->has_slot)
        return;
    d->has_slot = false;
    dst->active--;
    /* Starting a waiter may finish it at once, which comes back here: keep dst alive. */
    bool was_draining = dst->is_draining;
    dst->is_draining = true;
    while (dst->wait_head != NULL && dst->active < n->cfg.concurrency_per_destination) {
        delivery_t *next = dst->wait_head;
        dst->wait_head = next->wait_next;
        if (dst->wait_head == NULL)
            dst->wait_tail = NULL;
        dst->n_waiting--;
        next->wait_next = NULL;
        if (dest_on_hold(dst)) {
            /* On hold since it queued: back to the outbox until the hold ends. */
            finish(next, "requeue", 0, "destination on hold", -1);
            next->dest = NULL;
            continue;
        }
        int64_t lease_left_us =
            (int64_t)n->cfg.lease_s * 1000000 - (lg_mono_us() - next->leased_mono_us);
        if (lease_left_us < ((int64_t)n->cfg.timeout_s + LEASE_MARGIN_S) * 1000000) {
            /*
             * Too late to send within our lease: another notifier could take the row
             * meanwhile. Forget it; the lease expires and the row is due again, unchanged.
             */
            lg_zdebug(ZONE, next->scs_id, "row %s waited out its lease; left for the next lease",
                      next->row_id);
            delivery_unlink(next);
            delivery_free(next);
            continue;
        }
        start_delivery(next);
    }
    dst->is_draining = was_draining;
    d->dest = NULL;
    dest_maybe_free(n, dst);
}

static void on_done(void *arg, const PGresult *res, const char *err)
{
    delivery_t *d = arg;
    (void)res;
    if (err != NULL)
        lg_zwarn(ZONE, d->scs_id, "recording a delivery outcome failed: %s", err);
    if (d->n != NULL)
        delivery_unlink(d);
    delivery_free(d);
}

/* The delivery's timer in FINISHING: sends lg_outbox_done. */
static void on_send_outcome(evutil_socket_t fd, short what, void *arg)
{
    delivery_t *d = arg;
    lg_notifier_t *n = d->n;
    (void)fd;
    (void)what;
    char status[16], delay[32];
    snprintf(status, sizeof(status), "%d", d->http_status);
    snprintf(delay, sizeof(delay), "%.3f", d->delay_s);
    const char *values[6] = {d->row_id,
                             n->owner,
                             d->outcome,
                             d->http_status > 0 ? status : NULL,
                             d->error[0] != '\0' ? d->error : NULL,
                             delay};
    if (lg_db_query(n->db, done_sql, 6, values, on_done, d) != LG_OK) {
        /* The lease runs out and the row is tried again: at least once still holds. */
        lg_zwarn(ZONE, d->scs_id, "cannot record a delivery outcome: database unavailable");
        delivery_unlink(d);
        delivery_free(d);
    }
}

/*
 * The breaker of a destination, after an outcome there: BREAKER_FAILS failed
 * attempts in a row put it on hold (1 s, then twice as long each time in a
 * row, at most max_backoff_s). On hold, its rows are not attempted: the
 * lease skips them and the ones already here go back (requeue, not an
 * attempt). After the hold, one more failure holds again; any answer from
 * the SCS (delivered, 410, another final status) ends it. Without it, a
 * dead SCS saw every new notification retried about seven times in its
 * first minute, each a lease and an outcome query: more database time
 * than the ingest at 1000 reports/s.
 */
static void breaker_note(lg_notifier_t *n, dest_t *dst, const delivery_t *d, const char *outcome,
                         int http_status)
{
    if (strcmp(outcome, "retry") != 0) {
        if (strcmp(outcome, "delivered") == 0 || http_status > 0) {
            dst->fail_streak = 0;
            dst->holds = 0;
            dst->hold_until_us = 0;
        }
        return;
    }
    size_t i = 0;
    while (i < dst->n_urls && strcmp(dst->urls[i], d->destination) != 0)
        i++;
    if (i == dst->n_urls && dst->n_urls < DEST_URLS_MAX)
        dst->urls[dst->n_urls++] = lg_xstrdup(d->destination);
    int64_t now_us = lg_mono_us();
    if (++dst->fail_streak < BREAKER_FAILS || dst->hold_until_us > now_us)
        return;
    int64_t max_ms = (int64_t)n->cfg.max_backoff_s * 1000, ms = BREAKER_FIRST_MS;
    for (int k = 0; k < dst->holds && ms < max_ms; k++)
        ms *= 2;
    if (ms > max_ms)
        ms = max_ms;
    dst->holds++;
    dst->hold_until_us = now_us + ms * 1000;
    dst->fail_streak = BREAKER_FAILS - 1;
    update_held_gauge(n);
    lg_zinfo(ZONE, d->scs_id,
             "a destination failed %d attempts in a row: its notifications wait %.1f s (hold %d)",
             BREAKER_FAILS, (double)ms / 1000.0, dst->holds);
    lg_zdebug(ZONE, d->scs_id, "%s on hold for %lld ms", dst->key, (long long)ms);
}

/* The deliveries counter of an outcome of lg_outbox_done. */
static lg_counter_t outcome_counter(const char *outcome)
{
    static const struct {
        const char *name;
        lg_counter_t counter;
    } table[] = {
        {"delivered", LG_C_DELIVERIES_SUCCEEDED}, {"retry", LG_C_DELIVERIES_RETRIED},
        {"gone", LG_C_DELIVERIES_GONE},           {"requeue", LG_C_DELIVERIES_REQUEUED},
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(table); i++)
        if (strcmp(outcome, table[i].name) == 0)
            return table[i].counter;
    return LG_C_DELIVERIES_FAILED;
}

/*
 * Ends the attempt: decides the outcome ("retry" may become "failed" when the
 * row is too old), counts it, frees the slot, and schedules the outcome
 * query. error may be NULL. retry_after_s < 0 when absent.
 */
static void finish(delivery_t *d, const char *outcome, int http_status, const char *error,
                   int64_t retry_after_s)
{
    lg_notifier_t *n = d->n;
    double age_s = d->age_s + (double)(lg_mono_us() - d->leased_mono_us) / 1e6;
    d->http_status = http_status;
    lg_strlcpy(d->error, error != NULL ? error : "", sizeof(d->error));
    d->delay_s = 0;
    if (strcmp(outcome, "retry") == 0) {
        if (age_s >= n->cfg.retry_max_age_s) {
            outcome = "failed";
        } else {
            int64_t ms = lg_webhook_backoff_ms(d->attempts, (int64_t)n->cfg.max_backoff_s * 1000,
                                               random_u32());
            if (retry_after_s >= 0 && retry_after_s * 1000 > ms)
                ms = retry_after_s * 1000;
            d->delay_s = (double)ms / 1000.0;
            /* One last attempt at the deadline rather than after it. */
            if (age_s + d->delay_s > n->cfg.retry_max_age_s)
                d->delay_s = n->cfg.retry_max_age_s - age_s;
        }
    }
    if (d->dest != NULL)
        breaker_note(n, d->dest, d, outcome, http_status);
    if (strcmp(outcome, "requeue") == 0) {
        if (d->dest != NULL && dest_on_hold(d->dest))
            d->delay_s = (double)(d->dest->hold_until_us - lg_mono_us()) / 1e6 +
                         (double)(random_u32() % 1000) / 1000.0;
        else
            d->delay_s = (BUSY_RETRY_MS + random_u32() % (3 * BUSY_RETRY_MS)) / 1000.0;
    }
    d->outcome = outcome;
    lg_metrics_add(n->metrics, outcome_counter(outcome), 1);
    if (strcmp(outcome, "delivered") == 0)
        lg_metrics_observe(n->metrics, LG_H_DELIVERY_LATENCY, age_s);
    lg_zdebug(ZONE, d->scs_id, "row %s to %s%s%s:%d: %s (HTTP %d%s%s), next in %.1f s", d->row_id,
             strchr(d->url.host, ':') != NULL ? "[" : "", d->url.host,
             strchr(d->url.host, ':') != NULL ? "]" : "", d->url.port, outcome, http_status,
             d->error[0] ? ", " : "", d->error, d->delay_s);

    d->state = D_FINISHING;
    /* The payload and secrets are no longer needed: wipe them now. */
    free(d->payload);
    d->payload = NULL;
    free_secret(&d->secret);
    free_secret(&d->secret_previous);
    release_slot(d);
    if (d->timer != NULL)
        event_free(d->timer);
    d->timer = evtimer_new(n->base, on_send_outcome, d);
    struct timeval zero = {0, 0};
    evtimer_add(d->timer, &zero);
}

/*
 * Ends an attempt that failed where retrying seldom helps (a name that does
 * not resolve, a 3xx answer): a retry like any other, except that the
 * LG_WEBHOOK_DEAD_END_ATTEMPTS-th attempt of the row gives it up, counted
 * in counter.
 */
static void finish_dead_end(delivery_t *d, lg_counter_t counter, int http_status,
                            const char *error, int64_t retry_after_s)
{
    if (d->attempts + 1 >= LG_WEBHOOK_DEAD_END_ATTEMPTS) {
        lg_metrics_add(d->n->metrics, counter, 1);
        finish(d, "failed", http_status, error, -1);
    } else {
        finish(d, "retry", http_status, error, retry_after_s);
    }
}

/* ---- sending ------------------------------------------------------------------------------- */

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

/* Describes why a connection failed: the certificate or TLS error when there is one. */
static void connection_error(delivery_t *d, char *out, size_t out_size)
{
    unsigned long e = 0, last;
    struct bufferevent *bev =
        d->conn != NULL ? evhttp_connection_get_bufferevent(d->conn->evcon) : NULL;
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    const char *what = d->has_req_error ? request_error_text(d->req_error) : "connection failed";
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

static void on_request_error(enum evhttp_request_error error, void *arg)
{
    delivery_t *d = arg;
    d->has_req_error = true;
    d->req_error = error;
}

static void send_request(delivery_t *d);

static void on_response(struct evhttp_request *req, void *arg)
{
    delivery_t *d = arg;
    lg_notifier_t *n = d->n;
    conn_t *c = d->conn;
    int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
    int64_t retry_after_s = -1;
    bool is_verified = false;
    char error[160] = "";

    if (d->state != D_SENDING || c == NULL)
        return; /* not ours any more (cannot happen: its connection was freed with it) */
    evtimer_del(d->timer);
    if (status > 0) {
        SSL *ssl = conn_ssl(c);
        is_verified = ssl != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
        if (!is_verified) {
            status = 0; /* never trust an answer from an unverified peer */
            snprintf(error, sizeof(error), "server certificate not verified");
        }
        retry_after_s = lg_webhook_retry_after_s(
            evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After"));
    } else {
        connection_error(d, error, sizeof(error));
    }
    /*
     * No answer at all on a connection that answered before: the server most
     * likely closed it as we wrote. Send again once, on a new connection.
     */
    bool is_stale = status == 0 && !is_verified && c->requests > 0 && !d->is_resent &&
                    d->has_req_error &&
                    (d->req_error == EVREQ_HTTP_EOF || d->req_error == EVREQ_HTTP_BUFFER_ERROR);
    c->d = NULL;
    d->conn = NULL;
    if (status > 0) {
        c->requests++;
        if (c->requests == 1) {
            /*
             * A request leaves as a header write and a body write. On a fresh
             * connection the peer acknowledges at once (TCP quick ACKs); on a
             * kept-alive one it delays its ACK, and with Nagle on our body would
             * wait for it: 40 ms per notification. The socket exists only now.
             */
            struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
            evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
            int one = 1;
            if (fd >= 0)
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
    }
    /* Back to the pool before finish(): the next row waiting for a slot can take it. */
    if (status > 0 && !c->is_closed && n->cfg.idle_s > 0) {
        c->idle_since_us = lg_mono_us();
    } else {
        conn_close(c, false); /* inside its own callback: freed at a safe time */
    }

    if (is_stale) {
        lg_zdebug(ZONE, d->scs_id,
                  "row %s: reused connection to %s failed (%s); sending again on a new one",
                  d->row_id, d->dest->key, error);
        d->is_resent = true;
        send_request(d);
    } else if (status >= 200 && status < 300)
        finish(d, "delivered", status, NULL, -1);
    else if (status == 410)
        finish(d, "gone", status, "HTTP 410 Gone", -1);
    else if (status > 0) {
        bool is_redirect = status >= 300 && status < 400;
        snprintf(error, sizeof(error), "HTTP %d%s", status,
                 is_redirect ? " (redirects are not followed)" : "");
        if (is_redirect)
            finish_dead_end(d, LG_C_DEAD_ENDS_REDIRECT, status, error, retry_after_s);
        else
            finish(d, "retry", status, error, retry_after_s);
    } else {
        finish(d, "retry", 0, error, -1);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    delivery_t *d = arg;
    lg_notifier_t *n = d->n;
    (void)fd;
    (void)what;
    /* Not the connection's callback: freeing it here is safe, and its request dies silently. */
    if (d->conn != NULL) {
        dest_t *dst = d->dest;
        conn_close(d->conn, true);
        dest_maybe_free(n, dst); /* d still holds a slot: dst stays */
    }
    finish(d, "retry", 0, "timeout", -1);
}

/* Sends the request to d->addr: over an idle kept-alive connection when there is one. */
static void send_request(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    struct evhttp_request *req = NULL;
    char timestamp[24];
    char signature[LG_WEBHOOK_SIGNATURE_MAX];
    int64_t now_us = lg_mono_us();

    snprintf(timestamp, sizeof(timestamp), "%lld", (long long)(lg_now_us() / 1000000));
    if (lg_webhook_sign(d->secret, d->secret_previous, d->notif_id, timestamp, d->payload,
                        strlen(d->payload), signature, sizeof(signature)) != LG_OK) {
        /* A secret that does not decode will not decode on the next attempt either. */
        finish(d, "failed", 0, "webhook secret unusable", -1);
        return;
    }
    if (d->timer == NULL) {
        d->timer = evtimer_new(n->base, on_deadline, d);
        d->deadline_us = now_us + (int64_t)n->cfg.timeout_s * 1000000;
    }
    if (d->deadline_us <= now_us) {
        finish(d, "retry", 0, "timeout", -1);
        return;
    }
    conn_t *c = d->is_resent ? NULL : conn_take_idle(d);
    bool is_reused = c != NULL;
    if (c == NULL)
        c = conn_open(d);
    if (c == NULL)
        goto failed;
    c->d = d;
    d->conn = c;
    d->has_req_error = false;

    req = evhttp_request_new(on_response, d);
    evhttp_request_set_error_cb(req, on_request_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", d->url.host_header);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "User-Agent", "locguard");
    if (n->cfg.idle_s <= 0)
        evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "webhook-id", d->notif_id);
    evhttp_add_header(h, "webhook-timestamp", timestamp);
    evhttp_add_header(h, "webhook-signature", signature);
    evbuffer_add(evhttp_request_get_output_buffer(req), d->payload, strlen(d->payload));

    d->state = D_SENDING;
    int64_t left_us = d->deadline_us - now_us;
    struct timeval tv = {(time_t)(left_us / 1000000), (suseconds_t)(left_us % 1000000)};
    evtimer_add(d->timer, &tv);
    if (is_reused)
        lg_zdebug(ZONE, d->scs_id, "row %s: reusing a connection to %s (%u requests so far)",
                  d->row_id, d->dest->key, c->requests);
    if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST, d->url.target) != 0) {
        /* evhttp_make_request frees the request when it fails (http.h). */
        evtimer_del(d->timer);
        if (d->state != D_SENDING || d->conn != c)
            return; /* its callback already ran and took care of the attempt */
        goto failed;
    }
    return;
failed:
    if (d->conn != NULL) {
        dest_t *dst = d->dest;
        d->conn->d = NULL;
        conn_close(d->conn, false); /* we may be inside one of its callbacks */
        dest_maybe_free(n, dst);
    }
    finish(d, "retry", 0, "cannot start the request", -1);
}

/* ---- resolution ---------------------------------------------------------------------------- */

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    delivery_t *d = arg;
    if (result == EVUTIL_EAI_CANCEL) {
        /* lg_notifier_free cancelled us: it frees d itself. */
        if (res != NULL)
            evutil_freeaddrinfo(res);
        return;
    }
    d->dns_req = NULL;
    if (result != 0 || res == NULL) {
        char error[128];
        snprintf(error, sizeof(error), "name resolution failed: %s", evutil_gai_strerror(result));
        if (res != NULL)
            evutil_freeaddrinfo(res);
        finish_dead_end(d, LG_C_DEAD_ENDS_UNRESOLVABLE, 0, error, -1);
        return;
    }
    bool is_found = false;
    /* Connect only to an allowed address, the very one checked (no second lookup). */
    for (struct evutil_addrinfo *ai = res; ai != NULL && !is_found; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(d->addr))
            continue;
        if (!d->allow_private && lg_webhook_addr_is_private(ai->ai_addr))
            continue;
        memcpy(&d->addr, ai->ai_addr, ai->ai_addrlen);
        is_found = true;
    }
    evutil_freeaddrinfo(res);
    if (!is_found) {
        finish(d, "failed", 0, LG_WEBHOOK_ERR_NOT_ALLOWED, -1);
        return;
    }
    send_request(d);
}

/* Holds a slot: resolve (or take the literal address) and send. */
static void start_delivery(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    d->has_slot = true;
    d->dest->active++;
    d->state = D_RESOLVING;
    if (d->url.is_ip_literal) {
        send_request(d); /* the address was checked when the row arrived */
        return;
    }
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    /* Returns NULL when it answered at once (hosts file, cache): on_resolved has run then. */
    d->dns_req = evdns_getaddrinfo(n->dns, d->url.host, NULL, &hints, on_resolved, d);
}

/* Takes a leased row (its columns at col[], by lease_column): checks its destination, then
 * starts or queues it. */
static void accept_row(lg_notifier_t *n, const PGresult *res, int row, const int *col)
{
    delivery_t *d = lg_xcalloc(1, sizeof(*d));
    d->n = n;
    d->next = n->deliveries;
    if (n->deliveries != NULL)
        n->deliveries->prev = d;
    n->deliveries = d;
    n->n_deliveries++;
    d->leased_mono_us = lg_mono_us();
    lg_strlcpy(d->row_id, PQgetvalue(res, row, col[L_ID]), sizeof(d->row_id));
    d->notif_id = lg_xstrdup(PQgetvalue(res, row, col[L_NOTIF_ID]));
    const char *destination = PQgetvalue(res, row, col[L_DESTINATION]);
    d->destination = lg_xstrdup(destination);
    d->secret = lg_xstrdup(PQgetvalue(res, row, col[L_SECRET]));
    d->secret_previous = PQgetisnull(res, row, col[L_SECRET_PREVIOUS])
                             ? NULL
                             : lg_xstrdup(PQgetvalue(res, row, col[L_SECRET_PREVIOUS]));
    d->allow_private = PQgetvalue(res, row, col[L_ALLOW_PRIVATE])[0] == 't';
    d->attempts = atoi(PQgetvalue(res, row, col[L_ATTEMPTS]));
    d->age_s =
        PQgetisnull(res, row, col[L_AGE_S]) ? 0 : strtod(PQgetvalue(res, row, col[L_AGE_S]), NULL);
    lg_strlcpy(d->scs_id,
               PQgetisnull(res, row, col[L_SCS_AS_ID]) ? "?"
                                                       : PQgetvalue(res, row, col[L_SCS_AS_ID]),
               sizeof(d->scs_id));

    const char *err = NULL;
    if (lg_webhook_check_url(destination, &d->url, &err) != LG_OK) {
        if (err == LG_WEBHOOK_ERR_NUMERIC_HOST)
            lg_metrics_add(n->metrics, LG_C_DEAD_ENDS_UNRESOLVABLE, 1);
        finish(d, "failed", 0, err, -1);
        return;
    }
    if (d->url.is_ip_literal) {
        memset(&d->addr, 0, sizeof(d->addr));
        struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->addr;
        if (inet_pton(AF_INET, d->url.host, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
        } else {
            (void)inet_pton(AF_INET6, d->url.host, &sin6->sin6_addr);
            sin6->sin6_family = AF_INET6;
        }
        if (!d->allow_private && lg_webhook_addr_is_private((struct sockaddr *)&d->addr)) {
            finish(d, "failed", 0, LG_WEBHOOK_ERR_NOT_ALLOWED, -1);
            return;
        }
    }
    d->payload = lg_webhook_prepare_payload(PQgetvalue(res, row, col[L_PAYLOAD]), n->public_url);
    if (d->payload == NULL) {
        finish(d, "failed", 0, "payload is not JSON", -1);
        return;
    }
    d->dest = dest_get(n, &d->url);
    dest_t *dst = d->dest;
    if (dest_on_hold(dst)) {
        /* Not an attempt: due again when the hold ends. */
        finish(d, "requeue", 0, "destination on hold", -1);
        d->dest = NULL;
        dest_maybe_free(n, dst);
    } else if (dst->active < n->cfg.concurrency_per_destination) {
        start_delivery(d);
    } else if (dst->n_waiting < (size_t)n->cfg.concurrency_per_destination * WAITING_PER_SLOT) {
        d->state = D_WAITING;
        if (dst->wait_tail != NULL)
            dst->wait_tail->wait_next = d;
        else
            dst->wait_head = d;
        dst->wait_tail = d;
        dst->n_waiting++;
    } else {
        /* Not an attempt: due again shortly, when a slot may be free. Rare:
           the next lease skips this destination while it stays full. */
        finish(d, "requeue", 0, "destination busy", -1);
        d->dest = NULL;
        dest_maybe_free(n, dst);
    }
}

/* ---- leases and stats ---------------------------------------------------------------------- */

static void on_leased(void *arg, const PGresult *res, const char *err)
{
    ticket_t *t = arg;
    lg_notifier_t *n = t->n;
    free(t);
    if (n == NULL)
        return;
    n->lease_ticket = NULL;
    if (err != NULL || res == NULL) {
        lg_debug("notifier: lease failed: %s", err ? err : "no result");
        return;
    }
    int rows = PQntuples(res);
    int col[N_LEASE_COLUMNS];
    const char *missing;
    if (lg_db_columns(res, lease_columns, N_LEASE_COLUMNS, col, &missing) != LG_OK) {
        lg_warn("notifier: lg_outbox_lease returned no column %s", missing);
        return;
    }
    for (int i = 0; i < rows; i++)
        accept_row(n, res, i, col);
    if (rows > 0)
        lg_debug("notifier: leased %d rows; %zu in flight", rows, n->n_deliveries);
    /* A full batch means more may be due; a kick during the lease asked for another look. */
    if (rows == LEASE_BATCH_MAX || n->is_kicked) {
        n->is_kicked = false;
        lease(n);
    }
}

/*
 * The lease's p_skip, as a text[] literal: the row URLs waiting at the
 * destinations whose slots and waiting places are all taken. Their other
 * rows, leased now, could only be handed back (requeue), one outcome query
 * each, again every 0.25-1 s while the backlog lasts. The URLs of
 * destinations on hold (breaker_note) are added too. At most SKIP_MAX URLs;
 * the rest of such a destination's rows may still be leased and requeued.
 */
#define SKIP_MAX 64
static char *skip_list(const lg_notifier_t *n)
{
    const char *urls[SKIP_MAX];
    size_t n_urls = 0;
    size_t cap_waiting = (size_t)n->cfg.concurrency_per_destination * WAITING_PER_SLOT;
    for (const dest_t *dst = n->dests; dst != NULL; dst = dst->next) {
        if (dest_on_hold(dst)) {
            for (size_t k = 0; k < dst->n_urls && n_urls < SKIP_MAX; k++)
                urls[n_urls++] = dst->urls[k];
            continue;
        }
        if (dst->active < n->cfg.concurrency_per_destination || dst->n_waiting < cap_waiting)
            continue;
        for (const delivery_t *d = dst->wait_head; d != NULL && n_urls < SKIP_MAX;
             d = d->wait_next) {
            size_t i = 0;
            while (i < n_urls && strcmp(urls[i], d->destination) != 0)
                i++;
            if (i == n_urls)
                urls[n_urls++] = d->destination;
        }
    }
    lg_pgarray_t arr;
    lg_pgarray_init(&arr);
    for (size_t i = 0; i < n_urls; i++)
        lg_pgarray_add_str(&arr, urls[i]);
    char *out = lg_xstrdup(lg_pgarray_end(&arr));
    lg_pgarray_cleanup(&arr);
    return out;
}

static void lease(lg_notifier_t *n)
{
    if (n->lease_ticket != NULL) {
        n->is_kicked = true;
        return;
    }
    update_held_gauge(n);
    if ((size_t)n->cfg.max_inflight <= n->n_deliveries || !lg_db_is_up(n->db))
        return;
    size_t room = (size_t)n->cfg.max_inflight - n->n_deliveries;
    char limit[16], lease_s[16];
    snprintf(limit, sizeof(limit), "%zu", room < LEASE_BATCH_MAX ? room : LEASE_BATCH_MAX);
    snprintf(lease_s, sizeof(lease_s), "%d", n->cfg.lease_s);
    char *skip = skip_list(n);
    const char *values[4] = {n->owner, limit, lease_s, skip};
    ticket_t *t = lg_xcalloc(1, sizeof(*t));
    t->n = n;
    n->lease_ticket = t;
    if (lg_db_query(n->db, lease_sql, 4, values, on_leased, t) != LG_OK) {
        if (n->lease_ticket == t) {
            n->lease_ticket = NULL;
            free(t);
        }
    }
    free(skip);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lease(arg);
}

static void on_stats(void *arg, const PGresult *res, const char *err)
{
    ticket_t *t = arg;
    lg_notifier_t *n = t->n;
    free(t);
    if (n == NULL)
        return;
    n->stats_ticket = NULL;
    int col[N_STATS_COLUMNS];
    const char *missing;
    if (err != NULL || res == NULL || PQntuples(res) != 1 ||
        lg_db_columns(res, stats_columns, N_STATS_COLUMNS, col, &missing) != LG_OK)
        return;
    lg_metrics_set(n->metrics, LG_G_OUTBOX_DEPTH,
                   strtoll(PQgetvalue(res, 0, col[S_DEPTH]), NULL, 10));
    lg_metrics_set(n->metrics, LG_G_OUTBOX_OLDEST_AGE,
                   (int64_t)strtod(PQgetvalue(res, 0, col[S_OLDEST_AGE_S]), NULL));
}

static void on_stats_tick(evutil_socket_t fd, short what, void *arg)
{
    lg_notifier_t *n = arg;
    (void)fd;
    (void)what;
    if (n->stats_ticket != NULL || !lg_db_is_up(n->db))
        return;
    ticket_t *t = lg_xcalloc(1, sizeof(*t));
    t->n = n;
    n->stats_ticket = t;
    if (lg_db_query(n->db, stats_sql, 0, NULL, on_stats, t) != LG_OK && n->stats_ticket == t) {
        n->stats_ticket = NULL;
        free(t);
    }
}

/* ---- public -------------------------------------------------------------------------------- */

void lg_notifier_config_defaults(lg_notifier_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->retry_max_age_s = 86400;
    cfg->max_backoff_s = 600;
    cfg->concurrency_per_destination = 4;
    cfg->timeout_s = 10;
    cfg->lease_s = 60;
    cfg->poll_ms = 500;
    cfg->max_inflight = 256;
    cfg->stats_interval_ms = 5000;
    cfg->idle_s = 30;
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

lg_notifier_t *lg_notifier_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                               const lg_notifier_config_t *cfg)
{
    lg_notifier_t *n = lg_xcalloc(1, sizeof(*n));
    n->base = base;
    n->db = db;
    n->metrics = metrics;
    n->cfg = *cfg;
    n->public_url = cfg->public_url ? lg_xstrdup(cfg->public_url) : NULL;
    n->ca_file = cfg->ca_file ? lg_xstrdup(cfg->ca_file) : NULL;
    n->cfg.public_url = n->public_url;
    n->cfg.ca_file = n->ca_file;
    if (n->cfg.concurrency_per_destination < 1)
        n->cfg.concurrency_per_destination = 1;
    if (n->cfg.timeout_s < 1)
        n->cfg.timeout_s = 1;
    if (n->cfg.lease_s < n->cfg.timeout_s + 2 * LEASE_MARGIN_S) {
        lg_warn("notifier: lease_s %d is too short for timeout_s %d; using %d", n->cfg.lease_s,
                n->cfg.timeout_s, n->cfg.timeout_s + 2 * LEASE_MARGIN_S);
        n->cfg.lease_s = n->cfg.timeout_s + 2 * LEASE_MARGIN_S;
    }
    if (n->cfg.poll_ms < 10)
        n->cfg.poll_ms = 10;
    if (n->cfg.max_inflight < 1)
        n->cfg.max_inflight = 1;
    if (n->cfg.stats_interval_ms < 100)
        n->cfg.stats_interval_ms = 100;
    if (n->cfg.idle_s < 0)
        n->cfg.idle_s = 0;

    char host[64] = "locguard";
    if (gethostname(host, sizeof(host)) != 0)
        lg_strlcpy(host, "locguard", sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(n->owner, sizeof(n->owner), "%s:%ld:%08x", host, (long)getpid(), random_u32());

    n->ssl_ctx = make_ssl_ctx(n->ca_file);
    if (n->ssl_ctx == NULL)
        goto failed;
    n->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (n->dns == NULL) {
        lg_warn("notifier: no name servers from /etc/resolv.conf; only the hosts file and "
                "address literals resolve");
        n->dns = evdns_base_new(base, 0);
        if (n->dns == NULL)
            goto failed;
        (void)evdns_base_load_hosts(n->dns, NULL);
    }
    n->reaper = evtimer_new(base, on_reap, n);
    n->poll_timer = event_new(base, -1, EV_PERSIST, on_poll, n);
    n->stats_timer = event_new(base, -1, EV_PERSIST, on_stats_tick, n);
    struct timeval poll = {n->cfg.poll_ms / 1000, (n->cfg.poll_ms % 1000) * 1000};
    struct timeval stats = {n->cfg.stats_interval_ms / 1000,
                            (n->cfg.stats_interval_ms % 1000) * 1000};
    event_add(n->poll_timer, &poll);
    event_add(n->stats_timer, &stats);
    n->sweeper = event_new(base, -1, EV_PERSIST, on_sweep, n);
    struct timeval sweep = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    event_add(n->sweeper, &sweep);
    lg_info("notifier: started as %s (lease %d s, timeout %d s, %d per destination, idle "
            "connections kept %d s)",
            n->owner, n->cfg.lease_s, n->cfg.timeout_s, n->cfg.concurrency_per_destination,
            n->cfg.idle_s);
    return n;
failed:
    lg_notifier_free(n);
    return NULL;
}

void lg_notifier_kick(lg_notifier_t *n)
{
    if (n != NULL)
        lease(n);
}

size_t lg_notifier_inflight(const lg_notifier_t *n)
{
    return n != NULL ? n->n_deliveries : 0;
}

void lg_notifier_free(lg_notifier_t *n)
{
    if (n == NULL)
        return;
    if (n->lease_ticket != NULL)
        n->lease_ticket->n = NULL;
    if (n->stats_ticket != NULL)
        n->stats_ticket->n = NULL;
    /* Connections first: none of their callbacks may run once deliveries are gone. */
    for (dest_t *dst = n->dests; dst != NULL; dst = dst->next)
        while (dst->conns != NULL)
            conn_close(dst->conns, true);
    delivery_t *d = n->deliveries;
    while (d != NULL) {
        delivery_t *next = d->next;
        if (d->dns_req != NULL) {
            struct evdns_getaddrinfo_request *r = d->dns_req;
            d->dns_req = NULL;
            evdns_getaddrinfo_cancel(r);
        }
        if (d->state == D_FINISHING && d->timer != NULL && !evtimer_pending(d->timer, NULL)) {
            /* Its outcome query is queued in the pool: lg_db_free completes and frees it. */
            event_free(d->timer);
            d->timer = NULL;
            d->n = NULL;
        } else {
            delivery_free(d);
        }
        d = next;
    }
    n->deliveries = NULL;
    while (n->dests != NULL) {
        dest_t *next = n->dests->next;
        dest_free(n->dests);
        n->dests = next;
    }
    on_reap(-1, 0, n);
    free(n->graveyard);
    if (n->reaper != NULL)
        event_free(n->reaper);
    if (n->sweeper != NULL)
        event_free(n->sweeper);
    if (n->poll_timer != NULL)
        event_free(n->poll_timer);
    if (n->stats_timer != NULL)
        event_free(n->stats_timer);
    if (n->dns != NULL)
        evdns_base_free(n->dns, 0);
    SSL_CTX_free(n->ssl_ctx);
    free(n->public_url);
    free(n->ca_file);
    free(n);
}
