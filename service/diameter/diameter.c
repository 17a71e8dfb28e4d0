/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The diameter zone over freeDiameter. Three parts:
 *
 *   - start-up: the [diameter] section becomes a freeDiameter configuration
 *     file (identity, realm, one listening address and port, TLS at once on
 *     that port or plain TCP, no relaying, no SCTP, the HSS as a peer to
 *     connect to), written to a private
 *     temporary file, parsed by fd_core_parseconf and removed; then the
 *     dictionary (dict.c), the T6a/T6b application advertised in CER/CEA,
 *     the RIR handler and the peer validator, and fd_core_start;
 *   - freeDiameter's threads: the validator accepts only configured
 *     identities (and, over TLS, only a certificate naming that identity);
 *     the RIR handler takes the request and queues it for the loop, or
 *     answers DIAMETER_TOO_BUSY itself when the queue is full;
 *   - the loop: each request is checked, read (rir.c), its user looked up
 *     (one statement for the requests of one wake-up), its reports'
 *     SCEF-Reference-IDs checked in memory when an HSS is configured
 *     (s6t.c, which also runs on the loop), its batch submitted to the
 *     group commit, and answered from here.
 *
 * freeDiameter is process-wide (fd_g_config, one core), and its validator
 * callback takes no argument: the zone is a singleton, reached from the
 * validator through `the_zone`, set once before fd_core_start and read-only
 * until freeDiameter has stopped.
 */
#include "locguard/diameter/diameter.h"

#include "locguard/core/log.h"
#include "locguard/core/pgarray.h"
#include "locguard/diameter/dict.h"
#include "locguard/diameter/rir.h"
#include "locguard/diameter/s6t.h"

#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ZONE "diameter"

/* Auth-Session-State NO_STATE_MAINTAINED (RFC 6733 §8.11): T6a keeps no session state. */
#define NO_STATE_MAINTAINED 1u

/* A request waiting for the loop. */
typedef struct inbox {
    struct inbox *next;
    struct msg *msg;
} inbox_t;

/* A request between the loop's first look and its answer. */
typedef struct pending {
    lg_diameter_t *dia;
    struct msg *msg; /* the request (owned until answered) */
    const lg_dia_peer_config_t *peer;
    lg_batch_t batch;      /* read, waiting for the user lookup */
    uint32_t *refs;        /* each report's SCEF-Reference-ID (with an hss) */
    struct avp **ref_avps; /* ... and the AVP holding it (parts of msg) */
    int64_t received_us;
    size_t n_reports;
} pending_t;

struct lg_diameter {
    struct event_base *base;
    lg_diameter_config_t cfg;
    lg_diameter_limits_t lim;
    lg_db_t *db;
    lg_ingest_t *ingest;
    lg_metrics_t *metrics;
    lg_dia_dict_t dict;
    struct disp_hdl *rir_handler;
    bool has_core; /* fd_core_initialize done */
    lg_s6t_t *s6t; /* the S6t client (with [diameter] hss), else NULL */

    /* The hand-off from freeDiameter's threads: guarded by lock. */
    pthread_mutex_t lock;
    inbox_t *head, *tail;
    size_t n_queued;
    uint64_t n_refused_busy; /* refused on freeDiameter's thread (3004), not yet counted */
    int wake[2];             /* a pipe: written by the threads, read by the loop */
    struct event *wake_ev;
};

static lg_diameter_t *the_zone;

/* The configured peer of identity (of len octets, not NUL-terminated), or NULL. */
static const lg_dia_peer_config_t *find_peer(const lg_diameter_t *dia, const char *identity,
                                             size_t len)
{
    return lg_diameter_find_peer(&dia->cfg, identity, len);
}

/* ---- answers -------------------------------------------------------------------------------- */

/* The name freeDiameter's Result-Code dictionary knows code by. */
static char *result_name(uint32_t code)
{
    switch (code) {
    case LG_DIA_SUCCESS:
        return "DIAMETER_SUCCESS";
    case LG_DIA_TOO_BUSY:
        return "DIAMETER_TOO_BUSY";
    case LG_DIA_INVALID_AVP_VALUE:
        return "DIAMETER_INVALID_AVP_VALUE";
    case LG_DIA_MISSING_AVP:
        return "DIAMETER_MISSING_AVP";
    case LG_DIA_AVP_OCCURS_TOO_MANY_TIMES:
        return "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES";
    default:
        return "DIAMETER_UNABLE_TO_COMPLY";
    }
}

/*
 * An AVP standing for a missing one in Failed-AVP (RFC 6733 §7.5: its code
 * and vendor, and a zero-filled value of the minimum length). NULL when the
 * dictionary does not know it.
 */
static struct avp *missing_avp(const lg_dia_dict_t *d, uint32_t code, uint32_t vendor)
{
    struct dict_avp_request req = {.avp_vendor = vendor, .avp_code = code};
    struct dict_object *model;
    struct dict_avp_data data;
    struct avp *a;
    static uint8_t none[1];

    if (fd_dict_search(d->dict, DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, &model, ENOENT) != 0 ||
        fd_dict_getval(model, &data) != 0 || fd_msg_avp_new(model, 0, &a) != 0)
        return NULL;
    if (data.avp_basetype != AVP_TYPE_GROUPED) {
        union avp_value v;
        memset(&v, 0, sizeof(v));
        v.os.data = none;
        v.os.len = 0;
        if (fd_msg_avp_setvalue(a, &v) != 0) {
            fd_msg_free(a);
            return NULL;
        }
    }
    return a;
}

/* Failed-AVP values are echoed up to this many octets; a longer one is sent empty. */
#define FAILED_VALUE_MAX 256

/*
 * A Failed-AVP (RFC 6733 §7.5) holding a copy of bad: its code, vendor and
 * flags, and its value when it is not grouped and at most FAILED_VALUE_MAX
 * octets (else an empty value). NULL when it cannot be made.
 */
static struct avp *failed_avp(const lg_dia_dict_t *d, struct avp *bad)
{
    struct dict_object *model = NULL;
    struct dict_avp_data data;
    struct avp_hdr *h;
    struct avp *fa = NULL, *copy = NULL;
    static uint8_t none[1];

    if (fd_msg_model(bad, &model) != 0 || model == NULL || fd_dict_getval(model, &data) != 0 ||
        fd_msg_avp_hdr(bad, &h) != 0)
        return NULL;
    if (fd_msg_avp_new(d->failed_avp, 0, &fa) != 0 || fd_msg_avp_new(model, 0, &copy) != 0)
        goto failed;
    if (data.avp_basetype != AVP_TYPE_GROUPED) {
        union avp_value v;
        memset(&v, 0, sizeof(v));
        if (h->avp_value != NULL)
            v = *h->avp_value;
        if (data.avp_basetype == AVP_TYPE_OCTETSTRING &&
            (h->avp_value == NULL || v.os.len > FAILED_VALUE_MAX)) {
            v.os.data = none;
            v.os.len = 0;
        }
        if (fd_msg_avp_setvalue(copy, &v) != 0)
            goto failed;
    }
    if (fd_msg_avp_add(fa, MSG_BRW_LAST_CHILD, copy) != 0)
        goto failed;
    return fa;
failed:
    if (copy != NULL)
        fd_msg_free(copy);
    if (fa != NULL)
        fd_msg_free(fa);
    return NULL;
}

/*
 * Answers the request *req (taken: NULL on return) with code: a Result-Code,
 * or for LG_DIA_ERROR_USER_UNKNOWN an Experimental-Result of vendor 3GPP.
 * failed, when not NULL, is copied into Failed-AVP (an AVP of the request,
 * or one standing for a missing AVP). Runs on any thread:
 * freeDiameter's message functions and fd_msg_send are thread-safe.
 */
static void answer(const lg_dia_dict_t *d, struct msg **req, uint32_t code, bool is_experimental,
                   struct avp *failed, const char *why)
{
    struct msg *ans = *req;

    *req = NULL;
    if (fd_msg_new_answer_from_req(d->dict, &ans, 0) != 0) {
        fd_msg_free(ans);
        return;
    }
    if (lg_dia_add_u32(d->auth_session_state, ans, NO_STATE_MAINTAINED) != LG_OK)
        goto failed;
    if (is_experimental) {
        struct avp *er;
        if (fd_msg_add_origin(ans, 0) != 0 || fd_msg_avp_new(d->experimental_result, 0, &er) != 0)
            goto failed;
        if (lg_dia_add_u32(d->vendor_id, er, LG_DIA_VENDOR_3GPP) != LG_OK ||
            lg_dia_add_u32(d->experimental_result_code, er, code) != LG_OK ||
            fd_msg_avp_add(ans, MSG_BRW_LAST_CHILD, er) != 0) {
            fd_msg_free(er);
            goto failed;
        }
    } else if (fd_msg_rescode_set(ans, result_name(code), (char *)why, NULL, 1) != 0) {
        goto failed;
    }
    if (failed != NULL) {
        struct avp *fa = failed_avp(d, failed);
        if (fa == NULL || fd_msg_avp_add(ans, MSG_BRW_LAST_CHILD, fa) != 0) {
            if (fa != NULL)
                fd_msg_free(fa);
            goto failed;
        }
    }
    if (fd_msg_send(&ans, NULL, NULL) != 0)
        goto failed;
    return;
failed:
    lg_zwarn(ZONE, NULL, "cannot build or send an answer (%u)", code);
    if (ans != NULL)
        fd_msg_free(ans);
}

/* Answers a refusal and counts it; the log line names the peer and why, never the user. */
static void refuse(lg_diameter_t *dia, struct msg **req, const char *peer, lg_counter_t reason,
                   size_t n_reports, uint32_t code, bool is_experimental, struct avp *failed,
                   const char *why)
{
    lg_metrics_add(dia->metrics, reason, n_reports ? n_reports : 1);
    lg_zinfo(ZONE, peer, "RIR refused with %u: %s", code, why);
    answer(&dia->dict, req, code, is_experimental, failed, why);
}

/* ---- the loop: a request's way through ------------------------------------------------------- */

static void pending_free(pending_t *p)
{
    if (p->msg != NULL)
        fd_msg_free(p->msg);
    lg_batch_cleanup(&p->batch);
    free(p->refs);
    free(p->ref_avps);
    free(p);
}

static void on_ingested(void *arg, lg_ingest_status_t status)
{
    pending_t *p = arg;
    lg_diameter_t *dia = p->dia;
    const char *peer = p->peer->node;

    switch (status) {
    case LG_INGEST_ACCEPTED:
    case LG_INGEST_DUPLICATE:
        lg_ingest_count_committed(dia->metrics, status, p->n_reports);
        answer(&dia->dict, &p->msg, LG_DIA_SUCCESS, false, NULL, NULL);
        break;
    case LG_INGEST_UNKNOWN_NODE:
        refuse(dia, &p->msg, peer, LG_C_REFUSED_UNKNOWN_NODE, p->n_reports, LG_DIA_UNABLE_TO_COMPLY,
               false, NULL, "the peer's network node is not provisioned or is disabled");
        break;
    case LG_INGEST_STALE:
        refuse(dia, &p->msg, peer, LG_C_REFUSED_STALE, p->n_reports, LG_DIA_UNABLE_TO_COMPLY, false,
               NULL, "below the node's replay window");
        break;
    default:
        refuse(dia, &p->msg, peer, LG_C_REFUSED_UNAVAILABLE, p->n_reports, LG_DIA_TOO_BUSY, false,
               NULL, "the database is unavailable");
        break;
    }
    lg_metrics_observe(dia->metrics, LG_H_ACK_LATENCY,
                       (double)(lg_mono_us() - p->received_us) / 1e6);
    pending_free(p);
}

/*
 * The batch's message key: the request's Origin-Host (the peer's identity,
 * checked) and End-to-End-Identifier, together what detects a duplicate
 * (RFC 6733 §3 and Appendix C). The group commit keeps the keys it stored for
 * [ingest] message_window_s, in the transaction of the reports: a
 * retransmission (T flag) or a repeated request is answered as the
 * original was and stored once, also after a restart.
 */
static void set_msg_key(lg_batch_t *b, const lg_dia_peer_config_t *peer, struct msg *msg)
{
    struct msg_hdr *h;
    uint32_t e2e = fd_msg_hdr(msg, &h) == 0 ? h->msg_eteid : 0;

    snprintf(b->msg_key, sizeof(b->msg_key), "%s %08x", peer->identity, (unsigned)e2e);
}

static void submit(pending_t *p)
{
    lg_diameter_t *dia = p->dia;
    const char *peer = p->peer->node;

    lg_strlcpy(p->batch.node, p->peer->node, sizeof(p->batch.node));
    set_msg_key(&p->batch, p->peer, p->msg);
    switch (lg_ingest_submit(dia->ingest, &p->batch, 0, on_ingested, p)) {
    case LG_INGEST_QUEUED:
        return;
    case LG_INGEST_QUEUE_FULL:
        refuse(dia, &p->msg, peer, LG_C_REFUSED_QUEUE_FULL, p->n_reports, LG_DIA_TOO_BUSY, false,
               NULL, "the ingest queue is full");
        break;
    default:
        refuse(dia, &p->msg, peer, LG_C_REFUSED_UNAVAILABLE, p->n_reports, LG_DIA_TOO_BUSY, false,
               NULL, "the database is unavailable");
        break;
    }
    pending_free(p);
}

/*
 * With an HSS configured: each report must name a SCEF-Reference-ID that
 * locguard configured for this user (s6t.h, in memory). A reference that is
 * unknown or another user's gets DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN
 * with the reference in Failed-AVP; before the references are loaded, 3004.
 * True when p may go on; else it was answered and freed.
 */
static bool check_refs(lg_diameter_t *dia, pending_t *p)
{
    const char *supi = p->batch.reports[0].supi;

    if (dia->s6t == NULL)
        return true;
    if (!lg_s6t_is_loaded(dia->s6t)) {
        refuse(dia, &p->msg, p->peer->node, LG_C_REFUSED_UNAVAILABLE, p->n_reports, LG_DIA_TOO_BUSY,
               false, NULL, "the SCEF-Reference-IDs are not loaded yet");
        pending_free(p);
        return false;
    }
    for (size_t i = 0; i < p->n_reports; i++) {
        if (!lg_s6t_ref_is_users(dia->s6t, p->refs[i], supi)) {
            refuse(dia, &p->msg, p->peer->node, LG_C_REFUSED_SCEF_REFERENCE, p->n_reports,
                   LG_DIA_ERROR_SCEF_REFERENCE_ID_UNKNOWN, true, p->ref_avps[i],
                   "a report names a SCEF-Reference-ID not configured for this user");
            pending_free(p);
            return false;
        }
    }
    return true;
}

/*
 * One lookup of the users of the requests one wake-up of the loop took:
 * one statement for all of them, `imsi = ANY($1)`, whatever their number.
 */
typedef struct lookup {
    lg_diameter_t *dia;
    pending_t **items;
    size_t n_items;
} lookup_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The lookup's answer: one row per provisioned IMSI among those asked. */
static void on_users(void *arg, const PGresult *res, const char *err)
{
    lookup_t *l = arg;
    lg_diameter_t *dia = l->dia;
    size_t n_known = err == NULL ? (size_t)PQntuples(res) : 0;
    const char **known = lg_xcalloc(n_known ? n_known : 1, sizeof(*known));

    for (size_t i = 0; i < n_known; i++)
        known[i] = PQgetvalue(res, (int)i, 0);
    qsort(known, n_known, sizeof(*known), cmp_str);
    for (size_t i = 0; i < l->n_items; i++) {
        pending_t *p = l->items[i];
        const char *supi = p->batch.reports[0].supi;
        if (err != NULL) {
            refuse(dia, &p->msg, p->peer->node, LG_C_REFUSED_UNAVAILABLE, p->n_reports,
                   LG_DIA_TOO_BUSY, false, NULL, "the database is unavailable");
            pending_free(p);
        } else if (bsearch(&supi, known, n_known, sizeof(*known), cmp_str) == NULL) {
            lg_metrics_add(dia->metrics, LG_C_UNKNOWN_DEVICES, p->n_reports);
            refuse(dia, &p->msg, p->peer->node, LG_C_REFUSED_INVALID, p->n_reports,
                   LG_DIA_ERROR_USER_UNKNOWN, true, NULL, "the user is not provisioned");
            pending_free(p);
        } else if (check_refs(dia, p)) {
            submit(p);
        }
    }
    free(known);
    free(l->items);
    free(l);
}

/* Sends the lookup of l's users (taken: freed by on_users, or here). */
static void look_up(lookup_t *l)
{
    static const char sql[] = "SELECT imsi FROM ue WHERE imsi = ANY($1::text[])";
    lg_pgarray_t imsis;

    lg_pgarray_init(&imsis);
    for (size_t i = 0; i < l->n_items; i++)
        lg_pgarray_add_str(&imsis, l->items[i]->batch.reports[0].supi);
    const char *values[1] = {lg_pgarray_end(&imsis)};
    int rc =
        lg_db_is_up(l->dia->db) ? lg_db_query(l->dia->db, sql, 1, values, on_users, l) : LG_ERR;
    lg_pgarray_cleanup(&imsis);
    if (rc != LG_OK)
        on_users(l, NULL, "the database is unavailable");
}

/* The Origin-Host AVP of msg, or NULL. */
static struct avp *origin_host(const lg_dia_dict_t *d, struct msg *msg, const char **s, size_t *len)
{
    struct avp *a;
    struct avp_hdr *h;

    if (fd_msg_search_avp(msg, d->origin_host, &a) != 0 || a == NULL ||
        fd_msg_avp_hdr(a, &h) != 0 || h->avp_value == NULL)
        return NULL;
    *s = (const char *)h->avp_value->os.data;
    *len = h->avp_value->os.len;
    return a;
}

/*
 * One request, taken from the queue: its peer, its Origin-Host, its
 * contents. Returns it as a pending request whose user must be looked up,
 * or NULL when it was answered here.
 */
static pending_t *handle(lg_diameter_t *dia, struct msg *msg)
{
    DiamId_t src = NULL;
    size_t src_len = 0;
    const char *oh;
    size_t oh_len;
    char addr[LG_DIA_IDENTITY_MAX];

    if (fd_msg_source_get(msg, &src, &src_len) != 0 || src == NULL) {
        answer(&dia->dict, &msg, LG_DIA_UNABLE_TO_COMPLY, false, NULL, "no source peer");
        return NULL;
    }
    const lg_dia_peer_config_t *peer = find_peer(dia, (const char *)src, src_len);
    if (peer == NULL) { /* the validator let it in: cannot happen, refused all the same */
        snprintf(addr, sizeof(addr), "%.*s", (int)src_len, (const char *)src);
        refuse(dia, &msg, addr, LG_C_REFUSED_UNKNOWN_NODE, 0, LG_DIA_UNABLE_TO_COMPLY, false, NULL,
               "the peer is not configured");
        return NULL;
    }
    struct avp *oh_avp = origin_host(&dia->dict, msg, &oh, &oh_len);
    if (oh_avp == NULL || oh_len != src_len || strncasecmp(oh, (const char *)src, src_len) != 0) {
        refuse(dia, &msg, peer->node, LG_C_REFUSED_UNKNOWN_NODE, 0, LG_DIA_INVALID_AVP_VALUE, false,
               oh_avp, "Origin-Host is not the peer the request came from");
        return NULL;
    }

    pending_t *p = lg_xcalloc(1, sizeof(*p));
    p->dia = dia;
    p->msg = msg;
    p->peer = peer;
    p->received_us = lg_mono_us();
    lg_report_limits_t lim = {
        .max_reports = (size_t)dia->lim.max_batch_reports,
        .now_us = lg_now_us(),
        .max_age_us = (int64_t)dia->lim.report_max_age_s * 1000000,
    };
    lg_rir_error_t err;
    if (lg_rir_read(msg, &lim, &p->batch, &err) != LG_OK) {
        struct avp *failed = err.bad;
        struct avp *made = NULL;
        if (failed == NULL && err.result_code == LG_DIA_MISSING_AVP)
            failed = made = missing_avp(&dia->dict, err.missing_code, err.missing_vendor);
        refuse(dia, &p->msg, peer->node, LG_C_REFUSED_INVALID, 0, err.result_code, false, failed,
               err.reason);
        if (made != NULL)
            fd_msg_free(made);
        pending_free(p);
        return NULL;
    }
    p->n_reports = p->batch.n_reports;
    if (dia->s6t != NULL) {
        p->refs = lg_xcalloc(p->n_reports, sizeof(*p->refs));
        p->ref_avps = lg_xcalloc(p->n_reports, sizeof(*p->ref_avps));
        if (lg_rir_refs(msg, p->refs, p->ref_avps, p->n_reports) != LG_OK) {
            refuse(dia, &p->msg, peer->node, LG_C_REFUSED_INVALID, 0, LG_DIA_MISSING_AVP, false,
                   NULL, "a Monitoring-Event-Report without a SCEF-Reference-ID");
            pending_free(p);
            return NULL;
        }
    }
    return p;
}

/* The pipe was written: take every queued request and handle it. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    lg_diameter_t *dia = arg;
    char buf[256];
    (void)what;

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&dia->lock);
    inbox_t *list = dia->head;
    dia->head = dia->tail = NULL;
    dia->n_queued = 0;
    uint64_t n_busy = dia->n_refused_busy;
    dia->n_refused_busy = 0;
    pthread_mutex_unlock(&dia->lock);
    /* The refusals of freeDiameter's threads, counted here (one per request: unread). */
    if (n_busy > 0)
        lg_metrics_add(dia->metrics, LG_C_REFUSED_QUEUE_FULL, n_busy);

    /* Every report of a RIR is about its one user: are they provisioned? */
    lookup_t *l = lg_xcalloc(1, sizeof(*l));
    size_t cap = 0;
    l->dia = dia;
    while (list != NULL) {
        inbox_t *next = list->next;
        pending_t *p = handle(dia, list->msg);
        if (p != NULL) {
            if (l->n_items == cap) {
                cap = cap ? 2 * cap : 16;
                l->items = lg_xrealloc(l->items, cap * sizeof(*l->items));
            }
            l->items[l->n_items++] = p;
        }
        free(list);
        list = next;
    }
    if (l->n_items > 0) {
        look_up(l);
    } else {
        free(l->items);
        free(l);
    }
}

/* ---- freeDiameter's threads ----------------------------------------------------------------- */

/* The RIR handler (a dispatch thread): queue the request for the loop, or answer 3004 now. */
static int on_rir(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    lg_diameter_t *dia = opaque;
    (void)avp;
    (void)sess;

    *act = DISP_ACT_CONT;
    pthread_mutex_lock(&dia->lock);
    if (dia->n_queued >= (size_t)dia->cfg.queue_max) {
        /* Counted by the loop at its next wake-up: the metrics are the loop's. */
        dia->n_refused_busy++;
        pthread_mutex_unlock(&dia->lock);
        lg_zdebug(ZONE, NULL, "RIR refused with 3004: too many requests waiting for the loop");
        answer(&dia->dict, msg, LG_DIA_TOO_BUSY, false, NULL, "too many requests waiting");
        return 0;
    }
    inbox_t *it = lg_xcalloc(1, sizeof(*it));
    it->msg = *msg;
    *msg = NULL;
    if (dia->tail != NULL)
        dia->tail->next = it;
    else
        dia->head = it;
    dia->tail = it;
    dia->n_queued++;
    pthread_mutex_unlock(&dia->lock);
    /* A full pipe already holds a wake-up: EAGAIN is fine. */
    if (write(dia->wake[1], "w", 1) < 0 && errno != EAGAIN)
        lg_zwarn(ZONE, NULL, "cannot wake the loop: %s", strerror(errno));
    return 0;
}

/* True when the peer's certificate (the first of its chain) names its identity. */
static bool cert_names(const struct peer_info *info)
{
    if (info->runtime.pir_cert_list == NULL || info->runtime.pir_cert_list_size == 0)
        return false;
    return lg_diameter_cert_names(info->runtime.pir_cert_list[0].data,
                                  info->runtime.pir_cert_list[0].size, info->pi_diamid);
}

/* After the TLS handshake of an in-band TLS peer: the certificate must name it. */
static int on_validated_tls(struct peer_info *info)
{
    if (cert_names(info))
        return 0;
    lg_zwarn(ZONE, info->pi_diamid, "peer refused: its certificate does not name it");
    return EINVAL;
}

/*
 * The peer validator (freeDiameter's thread, after the CER): a configured
 * identity is accepted, anything else refused. Over TLS the certificate,
 * which freeDiameter has verified against the CA, must also name the
 * identity the CER claims.
 */
static int on_validate(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
    const lg_diameter_t *dia = the_zone;

    if (dia == NULL || find_peer(dia, info->pi_diamid, info->pi_diamidlen) == NULL) {
        lg_zinfo(ZONE, info->pi_diamid, "peer refused: not configured");
        *auth = -1;
        return 0;
    }
    if (!dia->cfg.is_plain_tcp) {
        info->config.pic_flags.sec = PI_SEC_DEFAULT; /* TLS, never Inband-Security NONE */
        if (info->runtime.pir_cert_list != NULL && !cert_names(info)) {
            lg_zwarn(ZONE, info->pi_diamid, "peer refused: its certificate does not name it");
            *auth = -1;
            return 0;
        }
        if (info->runtime.pir_cert_list == NULL)
            *cb2 = on_validated_tls;
    } else {
        info->config.pic_flags.sec = PI_SEC_NONE;
    }
    lg_zinfo(ZONE, info->pi_diamid, "peer accepted");
    *auth = 1;
    return 0;
}

/* freeDiameter's log lines, into ours: its errors as warnings, the rest at debug. */
static void on_fd_log(int level, const char *format, va_list args)
{
    int ours = level >= FD_LOG_ERROR ? LG_LOG_WARN : LG_LOG_DEBUG;
    char line[512];

    if (ours > lg_log_level)
        return;
    vsnprintf(line, sizeof(line), format, args);
    LG_LOG(ours, ZONE, "freeDiameter", "%s", line);
}

/* ---- start and stop ------------------------------------------------------------------------- */

/* Writes a freeDiameter configuration for cfg into a new temporary file; its path in path. */
static int write_fd_conf(const lg_diameter_config_t *cfg, char *path, size_t size)
{
    const char *dir = cfg->work_dir ? cfg->work_dir : getenv("TMPDIR");
    snprintf(path, size, "%s/locguard-fd-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        lg_error("diameter: cannot create %s: %s", path, strerror(errno));
        return LG_ERR;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        return LG_ERR;
    }
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\n", cfg->identity, cfg->realm);
    fprintf(f, "TcTimer = %d;\nTwTimer = %d;\n", cfg->tc_timer_s, cfg->tw_timer_s);
    /* One port: TLS from the first byte (RFC 6733 §2.1, freeDiameter's SecPort), or plain. */
    fprintf(f, "Port = %d;\nSecPort = %d;\n", cfg->is_plain_tcp ? cfg->port : 0,
            cfg->is_plain_tcp ? 0 : cfg->port);
    fprintf(f, "ListenOn = \"%s\";\nNo_SCTP;\nNoRelay;\n", cfg->host);
    if (!cfg->is_plain_tcp) {
        fprintf(f, "TLS_Cred = \"%s\", \"%s\";\nTLS_CA = \"%s\";\n", cfg->cert_file, cfg->key_file,
                cfg->ca_file);
    }
    /* The HSS is connected to (S6t): a known peer, freeDiameter keeps the connection up. */
    if (cfg->hss != NULL) {
        fprintf(f, "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %d; No_SCTP; %s};\n",
                cfg->hss, cfg->hss_host, cfg->hss_port, cfg->is_plain_tcp ? "No_TLS; " : "");
    }
    if (fclose(f) != 0) {
        unlink(path);
        return LG_ERR;
    }
    return LG_OK;
}

lg_diameter_t *lg_diameter_new(struct event_base *base, const lg_diameter_config_t *cfg,
                               const lg_diameter_limits_t *lim, lg_db_t *db, lg_ingest_t *ingest,
                               lg_metrics_t *metrics)
{
    char conf[4096];
    int rc;

    if (the_zone != NULL) {
        lg_error("diameter: one zone per process");
        return NULL;
    }
    lg_diameter_t *dia = lg_xcalloc(1, sizeof(*dia));
    dia->base = base;
    dia->cfg = *cfg;
    dia->lim = *lim;
    dia->db = db;
    dia->ingest = ingest;
    dia->metrics = metrics;
    dia->wake[0] = dia->wake[1] = -1;
    pthread_mutex_init(&dia->lock, NULL);
    if (pipe(dia->wake) != 0 || fcntl(dia->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(dia->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        lg_error("diameter: pipe: %s", strerror(errno));
        goto failed;
    }
    dia->wake_ev = event_new(base, dia->wake[0], EV_READ | EV_PERSIST, on_wake, dia);
    event_add(dia->wake_ev, NULL);

    fd_g_debug_lvl = lg_log_level >= LG_LOG_DEBUG ? FD_LOG_NOTICE : FD_LOG_ERROR;
    if (fd_log_handler_register(on_fd_log) != 0 || (rc = fd_core_initialize()) != 0) {
        lg_error("diameter: freeDiameter does not initialize");
        goto failed;
    }
    dia->has_core = true;
    if (write_fd_conf(cfg, conf, sizeof(conf)) != LG_OK)
        goto failed;
    rc = fd_core_parseconf(conf);
    unlink(conf);
    if (rc != 0) {
        lg_error("diameter: freeDiameter refuses the [diameter] settings (certificates?)");
        goto failed;
    }
    if (lg_dia_dict_load(fd_g_config->cnf_dict, &dia->dict) != LG_OK)
        goto failed;
    struct disp_when when = {.app = dia->dict.app_t6a, .command = dia->dict.cmd_rir};
    if (fd_disp_app_support(dia->dict.app_t6a, dia->dict.vendor_3gpp, 1, 0) != 0 ||
        (cfg->hss != NULL &&
         fd_disp_app_support(dia->dict.app_s6t, dia->dict.vendor_3gpp, 1, 0) != 0) ||
        fd_disp_register(on_rir, DISP_HOW_CC, &when, dia, &dia->rir_handler) != 0 ||
        fd_peer_validate_register(on_validate) != 0) {
        lg_error("diameter: cannot register the T6a/T6b handlers");
        goto failed;
    }
    the_zone = dia;
    if (fd_core_start() != 0 || fd_core_waitstartcomplete() != 0) {
        lg_error("diameter: freeDiameter does not start (is %s:%d free?)", cfg->host, cfg->port);
        goto failed;
    }
    lg_info("diameter: %s listening on %s:%d (%s), %zu peers", cfg->identity, cfg->host, cfg->port,
            cfg->is_plain_tcp ? "plain TCP, NDS/IP" : "TLS", cfg->n_peers);
    if (cfg->hss != NULL &&
        (dia->s6t = lg_s6t_new(base, &dia->cfg, &dia->dict, db, metrics)) == NULL)
        goto failed;
    return dia;
failed:
    lg_diameter_free(dia);
    return NULL;
}

int lg_diameter_port(const lg_diameter_t *dia)
{
    return dia->cfg.port;
}

void lg_diameter_free(lg_diameter_t *dia)
{
    if (dia == NULL)
        return;
    if (dia->has_core) {
        (void)fd_core_shutdown();
        (void)fd_core_wait_shutdown_complete();
    }
    the_zone = NULL;
    /* No answer callback runs any more: the S6t client's outstanding requests are ours. */
    lg_s6t_free(dia->s6t);
    /* freeDiameter's threads are gone: what they queued is ours, unanswered. */
    for (inbox_t *it = dia->head, *next; it != NULL; it = next) {
        next = it->next;
        fd_msg_free(it->msg);
        free(it);
    }
    if (dia->wake_ev != NULL)
        event_free(dia->wake_ev);
    if (dia->wake[0] >= 0)
        close(dia->wake[0]);
    if (dia->wake[1] >= 0)
        close(dia->wake[1]);
    pthread_mutex_destroy(&dia->lock);
    free(dia);
}
