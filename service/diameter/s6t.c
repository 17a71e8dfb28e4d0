/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The S6t client. A pass, on the loop: load the references into the map
 * the first time (and until that succeeds), then, while the HSS peer is
 * open, run lg_s6t_plan and send one Configuration-Information-Request per
 * row it returns. A configuration's reference enters the map when it is
 * sent (an MME may report before the HSS has answered us); a deletion's
 * leaves it when it is sent. freeDiameter calls back on its own threads
 * with each answer (or at the answer's timeout): the outcome is queued
 * under a lock and the loop woken through a pipe; the loop stores the
 * outcomes of one wake-up with one lg_s6t_record and drops from the map the
 * references the HSS refused. No libpq call leaves the loop.
 */
#include "locguard/diameter/s6t.h"

#include "locguard/core/log.h"
#include "locguard/core/pgarray.h"
#include "locguard/diameter/refmap.h"
#include "locguard/diameter/rir.h"

#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZONE "s6t"

/* Rows one pass sends at most; a full pass starts the next one at once. */
#define PASS_MAX 1000

/* Auth-Session-State NO_STATE_MAINTAINED (RFC 6733 §8.11). */
#define NO_STATE_MAINTAINED 1u
/* Result-Code 268 (RFC 6733 §7.1), vendor 0. */
#define AVP_RESULT_CODE 268u

typedef enum { ACT_CONFIGURE, ACT_DELETE } action_t;

static const char *const action_names[] = {"configure", "delete"};

/* A CIR in flight: its outcome is filled by freeDiameter's thread. */
typedef struct sent {
    struct sent *prev, *next; /* in s6t->in_flight, then s6t->done */
    lg_s6t_t *s6t;
    uint32_t ref;
    action_t action;
    uint32_t code; /* the answer's (Experimental-)Result-Code; 0: none came */
} sent_t;

struct lg_s6t {
    struct event_base *base;
    const lg_diameter_config_t *cfg;
    const lg_dia_dict_t *d;
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_refmap_t *refs;
    bool is_loaded;
    bool is_busy; /* a load, plan or record statement is under way */
    struct event *timer;

    /* Shared with freeDiameter's threads: guarded by lock. */
    pthread_mutex_t lock;
    sent_t *in_flight; /* sent, no outcome yet */
    size_t n_in_flight;
    sent_t *done; /* outcomes for the loop */
    int wake[2];
    struct event *wake_ev;
};

static void pass(lg_s6t_t *s);
static void drain(lg_s6t_t *s);
static void gauge(lg_s6t_t *s);

/* ---- lists (under the lock) ------------------------------------------------------------------ */

static void unlink_sent(sent_t **head, sent_t *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        *head = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void push_sent(sent_t **head, sent_t *x)
{
    x->prev = NULL;
    x->next = *head;
    if (*head != NULL)
        (*head)->prev = x;
    *head = x;
}

static void free_list(sent_t *x)
{
    while (x != NULL) {
        sent_t *next = x->next;
        free(x);
        x = next;
    }
}

/* ---- freeDiameter's threads ------------------------------------------------------------------ */

/* Moves x from in flight to done with code and wakes the loop. */
static void finish(sent_t *x, uint32_t code)
{
    lg_s6t_t *s = x->s6t;

    pthread_mutex_lock(&s->lock);
    x->code = code;
    unlink_sent(&s->in_flight, x);
    s->n_in_flight--;
    push_sent(&s->done, x);
    pthread_mutex_unlock(&s->lock);
    if (write(s->wake[1], "w", 1) < 0 && errno != EAGAIN)
        lg_zwarn(ZONE, NULL, "cannot wake the loop: %s", strerror(errno));
}

static uint32_t u32_of(struct avp *a)
{
    struct avp_hdr *h;

    return a != NULL && fd_msg_avp_hdr(a, &h) == 0 && h->avp_value != NULL ? h->avp_value->u32 : 0;
}

/* A CIA came (or freeDiameter's own error answer: no route, the peer gone). */
static void on_answer(void *data, struct msg **msg)
{
    sent_t *x = data;
    uint32_t code = u32_of(lg_dia_child(*msg, AVP_RESULT_CODE, 0));
    struct avp *er = lg_dia_child(*msg, LG_AVP_EXPERIMENTAL_RESULT, 0);

    if (er != NULL)
        code = u32_of(lg_dia_child(er, LG_AVP_EXPERIMENTAL_RESULT_CODE, 0));
    fd_msg_free(*msg);
    *msg = NULL;
    finish(x, code);
}

/* No answer before hss_timeout_s. */
static void on_expired(void *data, DiamId_t peer, size_t len, struct msg **req)
{
    (void)peer;
    (void)len;
    if (*req != NULL) {
        fd_msg_free(*req);
        *req = NULL;
    }
    finish(data, 0);
}

/* ---- messages -------------------------------------------------------------------------------- */



/*
 * The CIR of one row (TS 29.336 §5.2.2.1, §7.2.3): to the HSS, for the user
 * imsi, a Monitoring-Event-Configuration that sets up LOCATION_REPORTING
 * under ref, or deletes the configuration of ref. NULL on failure.
 */
static struct msg *build_cir(const lg_s6t_t *s, uint32_t ref, const char *imsi, action_t action)
{
    const lg_dia_dict_t *d = s->d;
    const lg_diameter_config_t *c = s->cfg;
    struct msg *m = NULL;
    struct avp *uid, *mec, *lic;

    if (fd_msg_new(d->cmd_cir, MSGFL_ALLOC_ETEID, &m) != 0)
        return NULL;
    if (fd_msg_new_session(m, (os0_t) "s6t", 3) != 0 ||
        lg_dia_add_u32(d->auth_session_state, m, NO_STATE_MAINTAINED) != LG_OK ||
        fd_msg_add_origin(m, 0) != 0 || lg_dia_add_str(d->destination_host, m, c->hss) != LG_OK ||
        lg_dia_add_str(d->destination_realm, m, c->hss_realm ? c->hss_realm : c->realm) != LG_OK)
        goto failed;
    if ((uid = lg_dia_add_group(d->user_identifier, m)) == NULL ||
        lg_dia_add_str(d->user_name, uid, imsi) != LG_OK)
        goto failed;
    if ((mec = lg_dia_add_group(d->monitoring_event_configuration, m)) == NULL)
        goto failed;
    if (action == ACT_CONFIGURE && lg_dia_add_u32(d->scef_reference_id, mec, ref) != LG_OK)
        goto failed;
    if (lg_dia_add_str(d->scef_id, mec, c->identity) != LG_OK ||
        lg_dia_add_u32(d->monitoring_type, mec, LG_DIA_MONITORING_TYPE_LOCATION_REPORTING) != LG_OK)
        goto failed;
    if (action == ACT_DELETE) {
        if (lg_dia_add_u32(d->scef_reference_id_for_deletion, mec, ref) != LG_OK)
            goto failed;
    } else {
        /* Continuous reports of the current location, to the cell (what a decision needs). */
        if ((lic = lg_dia_add_group(d->location_information_configuration, mec)) == NULL ||
            lg_dia_add_u32(d->monte_location_type, lic, LG_DIA_MONTE_LOCATION_CURRENT) != LG_OK ||
            lg_dia_add_u32(d->accuracy, lic, LG_DIA_ACCURACY_CGI_ECGI) != LG_OK)
            goto failed;
    }
    return m;
failed:
    fd_msg_free(m);
    return NULL;
}

/* Sends the CIR of one row; its outcome comes through finish (at once on failure). */
static void send_cir(lg_s6t_t *s, uint32_t ref, const char *imsi, action_t action)
{
    sent_t *x = lg_xcalloc(1, sizeof(*x));
    struct msg *m = build_cir(s, ref, imsi, action);
    struct timespec until;

    x->s6t = s;
    x->ref = ref;
    x->action = action;
    pthread_mutex_lock(&s->lock);
    push_sent(&s->in_flight, x);
    s->n_in_flight++;
    pthread_mutex_unlock(&s->lock);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->cfg->hss_timeout_s;
    if (m == NULL || fd_msg_send_timeout(&m, on_answer, x, on_expired, &until) != 0) {
        lg_zwarn(ZONE, s->cfg->hss, "cannot send a CIR (reference %u)", ref);
        if (m != NULL)
            fd_msg_free(m);
        finish(x, 0);
    }
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* The next pass in delay_s seconds (0: at once). */
static void schedule(lg_s6t_t *s, int delay_s)
{
    struct timeval tv = {.tv_sec = delay_s, .tv_usec = 0};

    evtimer_add(s->timer, &tv);
}

/* The outcomes stored; the references the HSS refused leave the map. */
static void on_recorded(void *arg, const PGresult *res, const char *err)
{
    lg_s6t_t *s = arg;

    s->is_busy = false;
    if (err != NULL) {
        /* Their rows are due again once hss_timeout_s has passed (lg_s6t_plan's hold): a
         * later pass sends them again, and the HSS's answer is stored then. */
        lg_zwarn(ZONE, s->cfg->hss, "cannot store the HSS's answers: %s", err);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        uint32_t ref = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        lg_refmap_remove(s->refs, ref);
    }
    gauge(s);
    drain(s);
}

/* Counts one outcome (as lg_s6t_record will judge it). */
static void count(lg_s6t_t *s, const sent_t *x)
{
    bool is_done =
        x->code == LG_DIA_SUCCESS ||
        (x->action == ACT_DELETE && (x->code == LG_DIA_ERROR_CONFIGURATION_EVENT_NON_EXISTANT ||
                                     x->code == LG_DIA_ERROR_USER_UNKNOWN));

    if (x->action == ACT_CONFIGURE)
        lg_metrics_add(s->metrics, is_done ? LG_C_S6T_CONFIGURED : LG_C_S6T_CONFIGURE_FAILED, 1);
    else
        lg_metrics_add(s->metrics, is_done ? LG_C_S6T_DELETED : LG_C_S6T_DELETE_FAILED, 1);
}

/* The map's size, as the gauge. */
static void gauge(lg_s6t_t *s)
{
    lg_metrics_set(s->metrics, LG_G_SCEF_REFERENCES, (int64_t)lg_refmap_size(s->refs));
}

/* Stores the outcomes of list (taken) with one statement. */
static void record(lg_s6t_t *s, sent_t *list)
{
    static const char sql[] =
        "SELECT ref_id FROM lg_s6t_record($1::bigint[], $2::text[], $3::int[], $4::int)";
    lg_pgarray_t refs, actions, codes;
    char retry[16];
    size_t n_ok = 0, n = 0;

    lg_pgarray_init(&refs);
    lg_pgarray_init(&actions);
    lg_pgarray_init(&codes);
    for (sent_t *x = list; x != NULL; x = x->next, n++) {
        lg_pgarray_add_int(&refs, x->ref);
        lg_pgarray_add_str(&actions, action_names[x->action]);
        lg_pgarray_add_int(&codes, x->code);
        n_ok += x->code == LG_DIA_SUCCESS;
        count(s, x);
        if (x->code != LG_DIA_SUCCESS)
            lg_zinfo(ZONE, s->cfg->hss, "%s of reference %u answered %u", action_names[x->action],
                     x->ref, x->code);
    }
    lg_zdebug(ZONE, s->cfg->hss, "%zu answers, %zu successful", n, n_ok);
    snprintf(retry, sizeof(retry), "%d", s->cfg->hss_retry_s);
    const char *values[4] = {lg_pgarray_end(&refs), lg_pgarray_end(&actions),
                             lg_pgarray_end(&codes), retry};
    s->is_busy = true;
    if (lg_db_query(s->db, sql, 4, values, on_recorded, s) != LG_OK)
        on_recorded(s, NULL, "the database is unavailable");
    lg_pgarray_cleanup(&refs);
    lg_pgarray_cleanup(&actions);
    lg_pgarray_cleanup(&codes);
    free_list(list);
}

/*
 * Stores the outcomes waiting, unless a statement is under way: each
 * completion calls this again.
 */
static void drain(lg_s6t_t *s)
{
    if (s->is_busy)
        return;
    pthread_mutex_lock(&s->lock);
    sent_t *list = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->lock);
    if (list != NULL)
        record(s, list);
}

/* The pipe was written: outcomes to store. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    char buf[256];
    (void)what;

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    drain(arg);
}

/* lg_s6t_plan's rows: each sent, the map changed first. */
static void on_plan(void *arg, const PGresult *res, const char *err)
{
    lg_s6t_t *s = arg;

    s->is_busy = false;
    if (err != NULL) {
        lg_zwarn(ZONE, s->cfg->hss, "a pass failed: %s", err);
        schedule(s, s->cfg->hss_sync_s);
        drain(s);
        return;
    }
    int n = 0;
    bool is_more = false;
    for (int i = 0; i < PQntuples(res); i++) {
        uint32_t ref = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        const char *imsi = PQgetvalue(res, i, 1);
        const char *what = PQgetvalue(res, i, 2);
        if (strcmp(what, "more") == 0) {
            is_more = true;
            continue;
        }
        action_t action = strcmp(what, "delete") == 0 ? ACT_DELETE : ACT_CONFIGURE;
        n++;
        if (action == ACT_CONFIGURE) {
            if (lg_refmap_put(s->refs, ref, imsi) != LG_OK)
                continue; /* the table's checks make this impossible */
        } else {
            lg_refmap_remove(s->refs, ref);
        }
        send_cir(s, ref, imsi, action);
    }
    gauge(s);
    if (n > 0)
        lg_zinfo(ZONE, s->cfg->hss, "%d configuration requests sent", n);
    /* More to do: the next pass at once, or in a second while a pass's worth awaits answers. */
    pthread_mutex_lock(&s->lock);
    bool is_flooded = s->n_in_flight > PASS_MAX;
    pthread_mutex_unlock(&s->lock);
    if (is_more || n == PASS_MAX)
        schedule(s, is_flooded ? 1 : 0);
    else
        schedule(s, s->cfg->hss_sync_s);
    drain(s);
}

/* The live references, into the map. */
static void on_loaded(void *arg, const PGresult *res, const char *err)
{
    lg_s6t_t *s = arg;

    s->is_busy = false;
    if (err != NULL) {
        lg_zwarn(ZONE, s->cfg->hss, "cannot load the SCEF-Reference-IDs: %s", err);
        schedule(s, s->cfg->hss_sync_s);
        drain(s);
        return;
    }
    lg_refmap_clear(s->refs);
    for (int i = 0; i < PQntuples(res); i++) {
        uint32_t ref = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        if (lg_refmap_put(s->refs, ref, PQgetvalue(res, i, 1)) != LG_OK)
            lg_zwarn(ZONE, NULL, "reference %u cannot be kept", ref);
    }
    s->is_loaded = true;
    gauge(s);
    lg_zinfo(ZONE, s->cfg->hss, "%zu SCEF-Reference-IDs loaded", lg_refmap_size(s->refs));
    pass(s);
}

/* True when the HSS peer's connection is open. */
static bool hss_is_open(const lg_s6t_t *s)
{
    struct peer_hdr *p = NULL;

    return fd_peer_getbyid((DiamId_t)s->cfg->hss, strlen(s->cfg->hss), 0, &p) == 0 && p != NULL &&
           fd_peer_get_state(p) == STATE_OPEN;
}

static void pass(lg_s6t_t *s)
{
    static const char load_sql[] =
        "SELECT ref_id, imsi FROM scef_reference WHERE state IN ('configuring', 'active')";
    static const char plan_sql[] = "SELECT ref_id, imsi, action FROM lg_s6t_plan($1::int, $2::int)";
    char max[16], hold[16];

    if (s->is_busy) {
        schedule(s, 1);
        return;
    }
    if (!lg_db_is_up(s->db)) {
        schedule(s, s->cfg->hss_sync_s);
        return;
    }
    s->is_busy = true;
    if (!s->is_loaded) {
        if (lg_db_query(s->db, load_sql, 0, NULL, on_loaded, s) != LG_OK)
            on_loaded(s, NULL, "the database is unavailable");
        return;
    }
    if (!hss_is_open(s)) {
        s->is_busy = false;
        lg_zdebug(ZONE, s->cfg->hss, "the HSS is not connected: no pass");
        schedule(s, s->cfg->hss_sync_s);
        return;
    }
    /* A row sent is due again once its answer's timeout has passed without its outcome stored. */
    snprintf(max, sizeof(max), "%d", PASS_MAX);
    snprintf(hold, sizeof(hold), "%d", s->cfg->hss_timeout_s + 1);
    const char *values[2] = {max, hold};
    if (lg_db_query(s->db, plan_sql, 2, values, on_plan, s) != LG_OK)
        on_plan(s, NULL, "the database is unavailable");
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pass(arg);
}

/* ---- the API --------------------------------------------------------------------------------- */

lg_s6t_t *lg_s6t_new(struct event_base *base, const lg_diameter_config_t *cfg,
                     const lg_dia_dict_t *dict, lg_db_t *db, lg_metrics_t *metrics)
{
    lg_s6t_t *s = lg_xcalloc(1, sizeof(*s));

    s->base = base;
    s->cfg = cfg;
    s->d = dict;
    s->db = db;
    s->metrics = metrics;
    s->refs = lg_refmap_new();
    s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    if (pipe(s->wake) != 0 || fcntl(s->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(s->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        lg_error("s6t: pipe: %s", strerror(errno));
        lg_s6t_free(s);
        return NULL;
    }
    s->wake_ev = event_new(base, s->wake[0], EV_READ | EV_PERSIST, on_wake, s);
    s->timer = evtimer_new(base, on_timer, s);
    event_add(s->wake_ev, NULL);
    schedule(s, 0);
    lg_info("s6t: monitoring configured at %s (%s:%d), a pass every %d s", cfg->hss, cfg->hss_host,
            cfg->hss_port, cfg->hss_sync_s);
    return s;
}

bool lg_s6t_is_loaded(const lg_s6t_t *s6t)
{
    return s6t->is_loaded;
}

bool lg_s6t_ref_is_users(const lg_s6t_t *s6t, uint32_t ref, const char *imsi)
{
    const char *owner = lg_refmap_get(s6t->refs, ref);

    return owner != NULL && strcmp(owner, imsi) == 0;
}

void lg_s6t_free(lg_s6t_t *s6t)
{
    if (s6t == NULL)
        return;
    if (s6t->timer != NULL)
        event_free(s6t->timer);
    if (s6t->wake_ev != NULL)
        event_free(s6t->wake_ev);
    if (s6t->wake[0] >= 0)
        close(s6t->wake[0]);
    if (s6t->wake[1] >= 0)
        close(s6t->wake[1]);
    free_list(s6t->in_flight);
    free_list(s6t->done);
    pthread_mutex_destroy(&s6t->lock);
    lg_refmap_free(s6t->refs);
    free(s6t);
}
