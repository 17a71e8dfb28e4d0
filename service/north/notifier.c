/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier (see notifier.h): the outbox protocol's driver. A lease
 * (outbox.c) brings due rows; each becomes a delivery, a small state
 * machine:
 *
 *   WAITING (its destination is at its concurrency limit)
 *     -> SENDING (signed, then POSTed by core/httpc.c: resolve, connect, answer)
 *     -> FINISHING (lg_outbox_done under way; the delivery is freed by its result)
 *
 * The outcome (an lg_outbox_outcome_t) is decided here from the exchange's
 * result, the row's age and attempts, and goes back with lg_outbox_done.
 * Per destination (host:port) the notifier keeps its slots (at most
 * concurrency_per_destination deliveries under way, a bounded queue behind
 * them) and its circuit breaker (breaker.c): a destination on hold gets no
 * attempts and its rows are skipped by the lease. The HTTP client is
 * core/httpc.c (libcurl): kept-alive connections, HTTP/2 when the SCS
 * offers it, TLS sessions resumed, the address guard with
 * lg_webhook_addr_is_private as its policy.
 *
 * Nothing is freed inside its own call chain: the outcome query is sent
 * from the delivery's own zero timer. Queries hold a pointer that
 * lg_notifier_free clears ("orphans"), so their late completions are
 * harmless.
 */
#include "locguard/north/notifier.h"

#include "locguard/core/httpc.h"
#include "locguard/core/log.h"
#include "locguard/north/breaker.h"
#include "locguard/north/outbox.h"
#include "locguard/north/outcome.h"
#include "locguard/north/webhook.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEASE_BATCH_MAX  100  /* rows per lease query */
#define WAITING_PER_SLOT 8    /* rows queued locally per concurrency slot of a destination */
#define DEST_URLS_MAX    4    /* row URLs remembered per destination, for the skip list */
#define LEASE_MARGIN_S   2    /* a waiting row must start this long before its lease ends */
#define SKIP_MAX         64   /* URLs in one lease's skip list */
#define SWEEP_MS         1000 /* unused destinations are dropped this often */
#define DEST_KEEP_S      300  /* an unused destination (its breaker) is remembered this long */

/* Deliveries go to the SCS/ASs of the northbound zone: their log lines name it and the SCS. */
#define ZONE "northbound"

typedef enum { D_WAITING, D_SENDING, D_FINISHING } delivery_state_t;

typedef struct delivery delivery_t;

/*
 * One destination (host:port): its slots in use, the rows waiting for one,
 * and its breaker. It lives while it has any of those, and DEST_KEEP_S
 * after its last delivery (as long as the HTTP client keeps its TLS
 * session), so a destination's failures are remembered between leases.
 */
typedef struct dest {
    struct dest *next;
    char key[LG_WEBHOOK_HOST_MAX + 8]; /* "host:port", lower case, for log lines */
    char host[LG_WEBHOOK_HOST_MAX];
    int port;
    int active; /* deliveries holding a slot */
    delivery_t *wait_head, *wait_tail;
    size_t n_waiting;
    bool is_draining;          /* release_slot is starting waiters: keep it alive */
    lg_breaker_t breaker;      /* holds the destination after failures in a row */
    char *urls[DEST_URLS_MAX]; /* row URLs seen failing here, for the lease's skip list */
    size_t n_urls;
    int64_t last_used_us; /* monotonic time of its last delivery's end */
} dest_t;

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
    char content_type[48]; /* the row's Content-Type */
    char *authorization;   /* "Bearer <token>" the sink asked for, or NULL */
    char *correlator;      /* the x-correlator of the request it answers, or NULL */
    bool allow_private;
    int attempts; /* earlier failed attempts */
    double age_s; /* row age at lease time */
    int64_t leased_mono_us;
    lg_webhook_dest_t url;
    dest_t *dest;
    bool has_slot;
    struct event *timer; /* in FINISHING: starts the outcome query */
    /* the outcome */
    lg_outbox_outcome_t outcome;
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
    lg_httpc_t *http;
    struct event *poll_timer, *stats_timer, *sweeper;
    delivery_t *deliveries;
    size_t n_deliveries;
    dest_t *dests;
    ticket_t *lease_ticket, *stats_ticket;
    bool is_kicked;
};

/* The deliveries counter of each outcome. */
static const lg_counter_t outcome_counters[LG_OUTBOX_N_OUTCOMES] = {
    [LG_OUTBOX_DELIVERED] = LG_C_DELIVERIES_SUCCEEDED, [LG_OUTBOX_RETRY] = LG_C_DELIVERIES_RETRIED,
    [LG_OUTBOX_FAILED] = LG_C_DELIVERIES_FAILED,       [LG_OUTBOX_GONE] = LG_C_DELIVERIES_GONE,
    [LG_OUTBOX_REQUEUE] = LG_C_DELIVERIES_REQUEUED,
};

static void start_delivery(delivery_t *d);
static void finish(delivery_t *d, lg_outbox_outcome_t outcome, int http_status, const char *error,
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
    lg_strlcpy(dst->host, url->host, sizeof(dst->host));
    dst->port = url->port;
    lg_breaker_init(&dst->breaker);
    dst->next = n->dests;
    n->dests = dst;
    return dst;
}

static bool dest_on_hold(const dest_t *dst)
{
    return lg_breaker_is_holding(&dst->breaker, lg_mono_us());
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
    for (size_t i = 0; i < dst->n_urls; i++)
        free(dst->urls[i]);
    free(dst);
}

static bool dest_is_unused(const dest_t *dst)
{
    return dst->active == 0 && dst->n_waiting == 0 && !dst->is_draining && !dest_on_hold(dst) &&
           lg_mono_us() - dst->last_used_us >= (int64_t)DEST_KEEP_S * 1000000;
}

/*
 * Drops a destination nobody uses any more (keeps the list short). One on
 * hold stays until the hold ends, one used lately for DEST_KEEP_S
 * (on_sweep).
 */
static void dest_maybe_free(lg_notifier_t *n, dest_t *dst)
{
    if (!dest_is_unused(dst))
        return;
    for (dest_t **pp = &n->dests; *pp != NULL; pp = &(*pp)->next)
        if (*pp == dst) {
            *pp = dst->next;
            dest_free(dst);
            return;
        }
}

/* The sweeper (every SWEEP_MS, outside any delivery's call chain): drops unused destinations. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    lg_notifier_t *n = arg;
    (void)fd;
    (void)what;
    dest_t **pp = &n->dests;
    while (*pp != NULL) {
        dest_t *dst = *pp;
        if (dest_is_unused(dst)) {
            *pp = dst->next;
            dest_free(dst);
        } else {
            pp = &dst->next;
        }
    }
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
    free(d->correlator);
    free_secret(&d->secret);
    free_secret(&d->secret_previous);
    free_secret(&d->authorization);
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
    dst->last_used_us = lg_mono_us();
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
            finish(next, LG_OUTBOX_REQUEUE, 0, "destination on hold", -1);
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

static void on_done(void *arg, const char *err)
{
    delivery_t *d = arg;
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
    if (lg_outbox_done(n->db, d->row_id, n->owner, d->outcome, d->http_status, d->error, d->delay_s,
                       on_done, d) != LG_OK) {
        /* The lease runs out and the row is tried again: at least once still holds. */
        lg_zwarn(ZONE, d->scs_id, "cannot record a delivery outcome: database unavailable");
        delivery_unlink(d);
        delivery_free(d);
    }
}

/*
 * Tells d's destination's breaker about the outcome. A failure also
 * remembers the row's URL there, for the lease's skip list while on hold.
 * Without the breaker, a dead SCS saw every new notification retried about
 * seven times in its first minute, each a lease and an outcome query: more
 * database time than the ingest at 1000 reports/s.
 */
static void breaker_note(lg_notifier_t *n, dest_t *dst, const delivery_t *d,
                         lg_outbox_outcome_t outcome, int http_status)
{
    lg_breaker_signal_t signal = lg_outcome_breaker_signal(outcome, http_status);
    if (signal == LG_BREAKER_FAILURE) {
        size_t i = 0;
        while (i < dst->n_urls && strcmp(dst->urls[i], d->destination) != 0)
            i++;
        if (i == dst->n_urls && dst->n_urls < DEST_URLS_MAX)
            dst->urls[dst->n_urls++] = lg_xstrdup(d->destination);
    }
    int64_t ms;
    if (!lg_breaker_note(&dst->breaker, signal, lg_mono_us(), (int64_t)n->cfg.max_backoff_s * 1000,
                         &ms))
        return;
    update_held_gauge(n);
    lg_zinfo(ZONE, d->scs_id,
             "a destination failed %d attempts in a row: its notifications wait %.1f s (hold %d)",
             LG_BREAKER_FAILS, (double)ms / 1000.0, dst->breaker.holds);
    lg_zdebug(ZONE, d->scs_id, "%s on hold for %lld ms", dst->key, (long long)ms);
}

/*
 * Ends the attempt: decides the outcome (LG_OUTBOX_RETRY may become
 * LG_OUTBOX_FAILED when the row is too old) and its delay (outcome.c),
 * tells the breaker, counts it, frees the slot, and schedules the outcome
 * query. error may be NULL. retry_after_s < 0 when absent.
 */
static void finish(delivery_t *d, lg_outbox_outcome_t outcome, int http_status, const char *error,
                   int64_t retry_after_s)
{
    lg_notifier_t *n = d->n;
    double age_s = d->age_s + (double)(lg_mono_us() - d->leased_mono_us) / 1e6;
    d->http_status = http_status;
    lg_strlcpy(d->error, error != NULL ? error : "", sizeof(d->error));
    d->delay_s = 0;
    if (outcome == LG_OUTBOX_RETRY) {
        double delay_s =
            lg_outcome_retry_delay_s(age_s, d->attempts, n->cfg.retry_max_age_s,
                                     n->cfg.max_backoff_s, retry_after_s, random_u32());
        if (delay_s < 0)
            outcome = LG_OUTBOX_FAILED;
        else
            d->delay_s = delay_s;
    }
    if (d->dest != NULL)
        breaker_note(n, d->dest, d, outcome, http_status);
    if (outcome == LG_OUTBOX_REQUEUE) {
        bool is_held = d->dest != NULL && dest_on_hold(d->dest);
        d->delay_s = lg_outcome_requeue_delay_s(
            is_held ? d->dest->breaker.hold_until_us - lg_mono_us() : 0, random_u32());
    }
    d->outcome = outcome;
    lg_metrics_add(n->metrics, outcome_counters[outcome], 1);
    if (outcome == LG_OUTBOX_DELIVERED)
        lg_metrics_observe(n->metrics, LG_H_DELIVERY_LATENCY, age_s);
    lg_zdebug(ZONE, d->scs_id, "row %s to %s%s%s:%d: %s (HTTP %d%s%s), next in %.1f s", d->row_id,
              strchr(d->url.host, ':') != NULL ? "[" : "", d->url.host,
              strchr(d->url.host, ':') != NULL ? "]" : "", d->url.port,
              lg_outbox_outcome_name(outcome), http_status, d->error[0] ? ", " : "", d->error,
              d->delay_s);

    d->state = D_FINISHING;
    /* The payload and secrets are no longer needed: wipe them now. */
    free(d->payload);
    d->payload = NULL;
    free_secret(&d->secret);
    free_secret(&d->secret_previous);
    free_secret(&d->authorization);
    release_slot(d);
    if (d->timer != NULL)
        event_free(d->timer);
    d->timer = evtimer_new(n->base, on_send_outcome, d);
    struct timeval zero = {0, 0};
    evtimer_add(d->timer, &zero);
}

/* ---- sending ------------------------------------------------------------------------------- */

/* The exchange's end: the outcome of the attempt. */
static void on_http_done(void *arg, const lg_httpc_result_t *result)
{
    delivery_t *d = arg;
    lg_attempt_end_t end;
    int64_t retry_after_s = lg_webhook_retry_after_s(lg_httpc_header(result, "Retry-After"));
    lg_outcome_of_result(result, retry_after_s, d->attempts, &end);
    if (end.dead_end == LG_DEAD_END_UNRESOLVABLE)
        lg_metrics_add(d->n->metrics, LG_C_DEAD_ENDS_UNRESOLVABLE, 1);
    else if (end.dead_end == LG_DEAD_END_REDIRECT)
        lg_metrics_add(d->n->metrics, LG_C_DEAD_ENDS_REDIRECT, 1);
    finish(d, end.outcome, end.http_status, end.error, end.retry_after_s);
}

/* Holds a slot: signs the payload (Standard Webhooks headers) and hands it to the HTTP client. */
static void start_delivery(delivery_t *d)
{
    lg_notifier_t *n = d->n;
    char timestamp[24];
    char signature[LG_WEBHOOK_SIGNATURE_MAX];
    d->has_slot = true;
    d->dest->active++;
    d->state = D_SENDING;
    snprintf(timestamp, sizeof(timestamp), "%lld", (long long)(lg_now_us() / 1000000));
    if (lg_webhook_sign(d->secret, d->secret_previous, d->notif_id, timestamp, d->payload,
                        strlen(d->payload), signature, sizeof(signature)) != LG_OK) {
        /* A secret that does not decode will not decode on the next attempt either. */
        finish(d, LG_OUTBOX_FAILED, 0, "webhook secret unusable", -1);
        return;
    }
    /* clang-format off */
    const char *headers[13] = {
        "Content-Type",      d->content_type,
        "webhook-id",        d->notif_id,
        "webhook-timestamp", timestamp,
        "webhook-signature", signature,
    };
    /* clang-format on */
    size_t n_headers = 8;
    if (d->authorization != NULL) {
        headers[n_headers++] = "Authorization";
        headers[n_headers++] = d->authorization;
    }
    if (d->correlator != NULL) {
        headers[n_headers++] = "x-correlator";
        headers[n_headers++] = d->correlator;
    }
    headers[n_headers] = NULL;
    /* The URL as the destination check understood it, never the stored text again. */
    char url[sizeof(d->url.host_header) + sizeof(d->url.target) + 8];
    snprintf(url, sizeof(url), "https://%s%s", d->url.host_header, d->url.target);
    char tag[32];
    snprintf(tag, sizeof(tag), "row %s", d->row_id);
    lg_httpc_request_t req = {.method = "POST",
                              .url = url,
                              .headers = headers,
                              .body = d->payload,
                              .body_len = strlen(d->payload),
                              .timeout_ms = n->cfg.timeout_s * 1000,
                              .allow_private = d->allow_private,
                              .peer = d->scs_id,
                              .tag = tag};
    const char *err = NULL;
    if (lg_httpc_submit(n->http, &req, on_http_done, d, &err) != LG_OK)
        finish(d, LG_OUTBOX_RETRY, 0, err, -1);
}

/* Takes a leased row: checks its destination, then starts or queues it. */
static void accept_row(lg_notifier_t *n, const lg_outbox_row_t *row)
{
    delivery_t *d = lg_xcalloc(1, sizeof(*d));
    d->n = n;
    d->next = n->deliveries;
    if (n->deliveries != NULL)
        n->deliveries->prev = d;
    n->deliveries = d;
    n->n_deliveries++;
    d->leased_mono_us = lg_mono_us();
    lg_strlcpy(d->row_id, row->id, sizeof(d->row_id));
    d->notif_id = lg_xstrdup(row->notif_id);
    d->destination = lg_xstrdup(row->destination);
    d->secret = lg_xstrdup(row->secret);
    d->secret_previous = row->secret_previous != NULL ? lg_xstrdup(row->secret_previous) : NULL;
    d->allow_private = row->allow_private;
    lg_strlcpy(d->content_type, row->content_type != NULL ? row->content_type : "application/json",
               sizeof(d->content_type));
    if (row->bearer_token != NULL) {
        size_t size = strlen(row->bearer_token) + sizeof("Bearer ");
        d->authorization = lg_xcalloc(1, size);
        snprintf(d->authorization, size, "Bearer %s", row->bearer_token);
    }
    d->correlator = row->correlator != NULL ? lg_xstrdup(row->correlator) : NULL;
    d->attempts = row->attempts;
    d->age_s = row->age_s;
    lg_strlcpy(d->scs_id, row->scs_as_id != NULL ? row->scs_as_id : "?", sizeof(d->scs_id));

    const char *err = NULL;
    /* The guard's first half; addresses are checked by the HTTP client as it connects. */
    if (lg_webhook_check_url(row->destination, &d->url, &err) != LG_OK) {
        if (err == LG_WEBHOOK_ERR_NUMERIC_HOST)
            lg_metrics_add(n->metrics, LG_C_DEAD_ENDS_UNRESOLVABLE, 1);
        finish(d, LG_OUTBOX_FAILED, 0, err, -1);
        return;
    }
    d->payload = lg_webhook_prepare_payload(row->payload, n->public_url);
    if (d->payload == NULL) {
        finish(d, LG_OUTBOX_FAILED, 0, "payload is not JSON", -1);
        return;
    }
    d->dest = dest_get(n, &d->url);
    dest_t *dst = d->dest;
    if (dest_on_hold(dst)) {
        /* Not an attempt: due again when the hold ends. */
        finish(d, LG_OUTBOX_REQUEUE, 0, "destination on hold", -1);
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
        finish(d, LG_OUTBOX_REQUEUE, 0, "destination busy", -1);
        d->dest = NULL;
        dest_maybe_free(n, dst);
    }
}

/* ---- leases and stats ---------------------------------------------------------------------- */

static void on_leased(void *arg, const lg_outbox_row_t *rows, size_t n_rows, const char *err)
{
    ticket_t *t = arg;
    lg_notifier_t *n = t->n;
    free(t);
    if (n == NULL)
        return;
    n->lease_ticket = NULL;
    if (err != NULL) {
        lg_debug("notifier: lease failed: %s", err);
        return;
    }
    for (size_t i = 0; i < n_rows; i++)
        accept_row(n, &rows[i]);
    if (n_rows > 0)
        lg_debug("notifier: leased %zu rows; %zu in flight", n_rows, n->n_deliveries);
    /* A full batch means more may be due; a kick during the lease asked for another look. */
    if (n_rows == LEASE_BATCH_MAX || n->is_kicked) {
        n->is_kicked = false;
        lease(n);
    }
}

/*
 * The lease's skip list: the row URLs waiting at the destinations whose
 * slots and waiting places are all taken. Their other rows, leased now,
 * could only be handed back (requeue), one outcome query each, again every
 * 0.25-1 s while the backlog lasts. The URLs of destinations on hold
 * (breaker_note) are added too. At most SKIP_MAX URLs, into urls; returns
 * how many. The rest of such a destination's rows may still be leased and
 * requeued.
 */
static size_t skip_list(const lg_notifier_t *n, const char *urls[SKIP_MAX])
{
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
    return n_urls;
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
    const char *skip[SKIP_MAX];
    size_t n_skip = skip_list(n, skip);
    ticket_t *t = lg_xcalloc(1, sizeof(*t));
    t->n = n;
    n->lease_ticket = t;
    if (lg_outbox_lease(n->db, n->owner, room < LEASE_BATCH_MAX ? room : LEASE_BATCH_MAX,
                        n->cfg.lease_s, skip, n_skip, on_leased, t) != LG_OK) {
        if (n->lease_ticket == t) {
            n->lease_ticket = NULL;
            free(t);
        }
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lease(arg);
}

static void on_stats(void *arg, int64_t depth, double oldest_age_s, const char *err)
{
    ticket_t *t = arg;
    lg_notifier_t *n = t->n;
    free(t);
    if (n == NULL)
        return;
    n->stats_ticket = NULL;
    if (err != NULL)
        return;
    lg_metrics_set(n->metrics, LG_G_OUTBOX_DEPTH, depth);
    lg_metrics_set(n->metrics, LG_G_OUTBOX_OLDEST_AGE, (int64_t)oldest_age_s);
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
    if (lg_outbox_stats(n->db, on_stats, t) != LG_OK && n->stats_ticket == t) {
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

    lg_httpc_config_t http_cfg = {
        .zone = ZONE,
        .ca_file = n->ca_file,
        .max_conns_per_host = n->cfg.concurrency_per_destination,
        .idle_s = n->cfg.idle_s,
        .is_refused = lg_webhook_addr_is_private,
    };
    n->http = lg_httpc_new(base, &http_cfg);
    if (n->http == NULL)
        goto failed;
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
    /* The HTTP client first: none of its callbacks may run once deliveries are gone. */
    lg_httpc_free(n->http);
    n->http = NULL;
    delivery_t *d = n->deliveries;
    while (d != NULL) {
        delivery_t *next = d->next;
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
    if (n->sweeper != NULL)
        event_free(n->sweeper);
    if (n->poll_timer != NULL)
        event_free(n->poll_timer);
    if (n->stats_timer != NULL)
        event_free(n->stats_timer);
    free(n->public_url);
    free(n->ca_file);
    free(n);
}
