/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous PostgreSQL pool. Each connection is a small state machine
 * (DOWN -> CONNECTING -> INIT -> IDLE <-> BUSY) whose socket is watched by
 * one libevent event; a failure anywhere sends it back to DOWN and arms a
 * reconnect timer with exponential back-off. Queries wait in one FIFO until a
 * connection is IDLE. When no connection is up, queued queries fail at once
 * (the HTTP layer answers 503) instead of piling up: memory stays bounded.
 * A connection attempt that is not through within connect_timeout_s (a
 * server that accepts and never answers) is abandoned and retried like a
 * failed one: libpq's own connect_timeout covers blocking connects only.
 */
#include "locguard/core/db.h"

#include "locguard/core/log.h"

#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 4096
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

/* Run once on every new connection before it takes queries. */
static const char init_sql[] = "SET synchronous_commit = on; SET application_name = 'locguard'";

typedef struct query {
    struct query *next;
    char *sql;
    int nparams;
    char **values;
    int result_format; /* 0 text, 1 binary */
    lg_db_cb cb;
    void *arg;
    int64_t queued_us;
} query_t;

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_INIT, CONN_IDLE, CONN_BUSY } conn_state_t;

typedef struct conn {
    lg_db_t *db;
    int index;             /* position in the pool, for log lines */
    conn_state_t state;
    PGconn *pg;
    struct event *io;      /* watches PQsocket(pg); re-made when the socket changes */
    int io_fd;
    short io_what;
    struct event *retry;   /* reconnect timer */
    struct event *connect_timer; /* abandons an attempt still CONNECTING after connect_timeout */
    int backoff_ms;
    query_t *current;      /* the query being run (BUSY) */
    PGresult *result;      /* the last result of current */
    bool wants_write;      /* PQflush said more to send */
} conn_t;

struct lg_db {
    struct event_base *base;
    char *conninfo;
    int connect_timeout_s; /* bound on each connection attempt */
    lg_metrics_t *metrics;
    int n_conns;
    conn_t *conns;
    query_t *head, *tail;
    size_t queued;
    void (*on_idle)(void *arg);
    void *on_idle_arg;
    bool is_closing;
};

static void conn_connect(conn_t *c);
static void conn_dispatch(conn_t *c);
static void on_io(evutil_socket_t fd, short what, void *arg);

static void query_free(query_t *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < q->nparams; i++)
        free(q->values[i]);
    free(q->values);
    free(q->sql);
    free(q);
}

static int count_up(const lg_db_t *db)
{
    int n = 0;
    for (int i = 0; i < db->n_conns; i++)
        n += db->conns[i].state == CONN_IDLE || db->conns[i].state == CONN_BUSY;
    return n;
}

static void update_gauge(lg_db_t *db)
{
    if (db->metrics != NULL)
        lg_metrics_set(db->metrics, LG_G_DB_CONNECTIONS, count_up(db));
}

/* Fails every queued query: called when the last connection goes down. */
static void fail_queue(lg_db_t *db, const char *err)
{
    query_t *q = db->head;
    db->head = db->tail = NULL;
    db->queued = 0;
    while (q != NULL) {
        query_t *next = q->next;
        q->cb(q->arg, NULL, err);
        query_free(q);
        q = next;
    }
}

/* (Re)arms the socket event for what libpq waits on. */
static void watch(conn_t *c, short what)
{
    int fd = PQsocket(c->pg);
    if (c->io != NULL && (c->io_fd != fd || c->io_what != what)) {
        event_free(c->io);
        c->io = NULL;
    }
    if (c->io == NULL) {
        c->io = event_new(c->db->base, fd, what | EV_PERSIST, on_io, c);
        c->io_fd = fd;
        c->io_what = what;
        event_add(c->io, NULL);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_connect(arg);
}

/* Drops the connection, fails its query, and schedules a reconnect. */
static void conn_fail(conn_t *c, const char *why)
{
    lg_db_t *db = c->db;
    bool was_up = c->state == CONN_IDLE || c->state == CONN_BUSY;
    if (db->is_closing)
        lg_debug("db[%d]: closed", c->index);
    else if (was_up || c->backoff_ms == BACKOFF_MIN_MS)
        lg_warn("db[%d]: %s", c->index, why);
    if (c->io != NULL) {
        event_free(c->io);
        c->io = NULL;
    }
    evtimer_del(c->connect_timer);
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->state = CONN_DOWN;
    update_gauge(db);
    /* A lost connection or a failed connect is a database failure; our own closing is not. */
    if (db->metrics != NULL && !db->is_closing)
        lg_metrics_add(db->metrics, LG_C_DB_ERRORS, 1);
    query_t *q = c->current;
    c->current = NULL;
    if (c->result != NULL) {
        PQclear(c->result);
        c->result = NULL;
    }
    if (q != NULL) {
        q->cb(q->arg, NULL, "database connection lost");
        query_free(q);
    }
    if (count_up(db) == 0)
        fail_queue(db, "database unavailable");
    if (!db->is_closing) {
        struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
        evtimer_add(c->retry, &tv);
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    }
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    (void)fd;
    (void)what;
    conn_fail(c, "connection attempt timed out");
}

static void conn_connect(conn_t *c)
{
    c->pg = PQconnectStart(c->db->conninfo);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    c->state = CONN_CONNECTING;
    struct timeval tv = {c->db->connect_timeout_s, 0};
    evtimer_add(c->connect_timer, &tv);
    /* libpq asks to start by waiting for the socket to be writable. */
    watch(c, EV_WRITE);
}

/* Sends what libpq has buffered; arms EV_WRITE when the socket is full. */
static bool conn_flush(conn_t *c)
{
    int rc = PQflush(c->pg);
    if (rc < 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return false;
    }
    c->wants_write = rc == 1;
    watch(c, c->wants_write ? (EV_READ | EV_WRITE) : EV_READ);
    return true;
}

static void conn_send(conn_t *c, const char *sql, int nparams, const char *const *values,
                      int result_format)
{
    /* The set-up string holds two statements: only the simple protocol takes that. */
    int ok = c->state == CONN_INIT ? PQsendQuery(c->pg, sql)
                                   : PQsendQueryParams(c->pg, sql, nparams, NULL, values, NULL,
                                                       NULL, result_format);
    if (!ok) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_flush(c);
}

/* Hands the next queued query to an idle connection. */
static void conn_dispatch(conn_t *c)
{
    lg_db_t *db = c->db;
    if (c->state != CONN_IDLE || db->head == NULL)
        return;
    query_t *q = db->head;
    db->head = q->next;
    if (db->head == NULL)
        db->tail = NULL;
    db->queued--;
    c->current = q;
    c->state = CONN_BUSY;
    conn_send(c, q->sql, q->nparams, (const char *const *)q->values, q->result_format);
}

/* The current query (or the INIT statement) has returned all its results. */
static void conn_complete(conn_t *c)
{
    lg_db_t *db = c->db;
    PGresult *res = c->result;
    c->result = NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

    if (c->state == CONN_INIT) {
        PQclear(res);
        if (!ok) {
            conn_fail(c, "session set-up failed");
            return;
        }
        lg_info("db[%d]: connected", c->index);
        c->backoff_ms = BACKOFF_MIN_MS;
        c->state = CONN_IDLE;
        update_gauge(db);
    } else {
        query_t *q = c->current;
        c->current = NULL;
        c->state = CONN_IDLE;
        const char *err = NULL;
        if (!ok) {
            err = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
            if (err == NULL)
                err = "query failed";
            if (db->metrics != NULL &&
                lg_db_is_failure(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL))
                lg_metrics_add(db->metrics, LG_C_DB_ERRORS, 1);
        }
        q->cb(q->arg, res, err);
        query_free(q);
        PQclear(res);
    }
    /* The callback may have freed nothing of ours but may have queued more. */
    if (c->state == CONN_IDLE) {
        conn_dispatch(c);
        if (c->state == CONN_IDLE && db->on_idle != NULL)
            db->on_idle(db->on_idle_arg);
    }
}

static void conn_read(conn_t *c)
{
    if (!PQconsumeInput(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    if (c->state == CONN_IDLE) {
        /* Nothing asked: the server is telling us something, usually that it goes away. */
        PGnotify *n;
        while ((n = PQnotifies(c->pg)) != NULL)
            PQfreemem(n);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (r == NULL) {
            conn_complete(c);
            return;
        }
        /* Keep the first error, else the last result (INIT has two statements). */
        if (c->result != NULL && PQresultStatus(c->result) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(c->result);
            c->result = r;
        }
    }
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    (void)fd;
    if (c->state == CONN_CONNECTING) {
        switch (PQconnectPoll(c->pg)) {
        case PGRES_POLLING_READING:
            watch(c, EV_READ);
            return;
        case PGRES_POLLING_WRITING:
            watch(c, EV_WRITE);
            return;
        case PGRES_POLLING_OK:
            evtimer_del(c->connect_timer);
            if (PQsetnonblocking(c->pg, 1) != 0) {
                conn_fail(c, "cannot make the connection non-blocking");
                return;
            }
            c->state = CONN_INIT;
            conn_send(c, init_sql, 0, NULL, 0);
            return;
        default:
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
    }
    if ((what & EV_WRITE) && c->wants_write) {
        if (!conn_flush(c))
            return;
    }
    if (what & EV_READ)
        conn_read(c);
}

lg_db_t *lg_db_new(struct event_base *base, const lg_db_config_t *cfg, lg_metrics_t *metrics)
{
    int pool_size = cfg->pool_size;
    lg_db_t *db = lg_xcalloc(1, sizeof(*db));
    db->base = base;
    db->conninfo = lg_xstrdup(cfg->conninfo);
    db->connect_timeout_s = cfg->connect_timeout_s;
    db->metrics = metrics;
    db->n_conns = pool_size;
    db->conns = lg_xcalloc((size_t)pool_size, sizeof(conn_t));
    for (int i = 0; i < pool_size; i++) {
        conn_t *c = &db->conns[i];
        c->db = db;
        c->index = i;
        c->backoff_ms = BACKOFF_MIN_MS;
        c->retry = evtimer_new(base, on_retry, c);
        c->connect_timer = evtimer_new(base, on_connect_timeout, c);
        conn_connect(c);
    }
    return db;
}

void lg_db_free(lg_db_t *db)
{
    if (db == NULL)
        return;
    db->is_closing = true;
    for (int i = 0; i < db->n_conns; i++) {
        conn_t *c = &db->conns[i];
        if (c->pg != NULL)
            conn_fail(c, "shutting down");
        event_free(c->retry);
        event_free(c->connect_timer);
    }
    fail_queue(db, "shutting down");
    free(db->conns);
    free(db->conninfo);
    free(db);
}

/* Queues a statement whose result comes in result_format (0 text, 1 binary). */
static int enqueue(lg_db_t *db, const char *sql, int nparams, const char *const *values,
                   int result_format, lg_db_cb cb, void *arg)
{
    if (db->is_closing || count_up(db) == 0 || db->queued >= QUEUE_MAX)
        return LG_ERR;
    query_t *q = lg_xcalloc(1, sizeof(*q));
    q->sql = lg_xstrdup(sql);
    q->nparams = nparams;
    q->result_format = result_format;
    q->values = nparams ? lg_xcalloc((size_t)nparams, sizeof(char *)) : NULL;
    for (int i = 0; i < nparams; i++)
        q->values[i] = values[i] ? lg_xstrdup(values[i]) : NULL;
    q->cb = cb;
    q->arg = arg;
    q->queued_us = lg_mono_us();
    if (db->tail != NULL)
        db->tail->next = q;
    else
        db->head = q;
    db->tail = q;
    db->queued++;
    for (int i = 0; i < db->n_conns && db->head != NULL; i++)
        conn_dispatch(&db->conns[i]);
    return LG_OK;
}

int lg_db_query(lg_db_t *db, const char *sql, int nparams, const char *const *values, lg_db_cb cb,
                void *arg)
{
    return enqueue(db, sql, nparams, values, 0, cb, arg);
}

int lg_db_query_binary(lg_db_t *db, const char *sql, int nparams, const char *const *values,
                       lg_db_cb cb, void *arg)
{
    return enqueue(db, sql, nparams, values, 1, cb, arg);
}

bool lg_db_is_failure(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return true;
    static const char *const callers_classes[] = {"22", "23", "P0", "LG"};
    for (size_t i = 0; i < LG_ARRAY_SIZE(callers_classes); i++)
        if (strncmp(sqlstate, callers_classes[i], 2) == 0)
            return false;
    return strcmp(sqlstate, "42501") != 0 && strcmp(sqlstate, "40001") != 0 &&
           strcmp(sqlstate, "40P01") != 0;
}

int lg_db_columns(const PGresult *res, const char *const *names, int n, int *cols,
                  const char **missing)
{
    *missing = NULL;
    for (int i = 0; i < n; i++) {
        cols[i] = PQfnumber(res, names[i]);
        if (cols[i] < 0) {
            *missing = names[i];
            return LG_ERR;
        }
    }
    return LG_OK;
}

bool lg_db_is_up(const lg_db_t *db)
{
    return count_up(db) > 0;
}

int lg_db_idle(const lg_db_t *db)
{
    int n = 0;
    for (int i = 0; i < db->n_conns; i++)
        n += db->conns[i].state == CONN_IDLE;
    return n;
}

int lg_db_size(const lg_db_t *db)
{
    return db->n_conns;
}

void lg_db_on_idle(lg_db_t *db, void (*cb)(void *arg), void *arg)
{
    db->on_idle = cb;
    db->on_idle_arg = arg;
}
