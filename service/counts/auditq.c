/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit queue (see auditq.h): a FIFO of rows and at most one statement
 * under way. When it completes, the rows it carried are done (their
 * callbacks run), and the rows queued meanwhile leave in the next statement,
 * so under load one round trip carries many rows. Rows with a callback and
 * rows without never share a statement (they commit differently). A failed
 * statement's rows without callbacks go back to the head of the queue and
 * are sent again after a back-off (RETRY_MIN_MS doubling to RETRY_MAX_MS).
 */
#include "locguard/counts/auditq.h"

#include "locguard/core/log.h"

#include <stdlib.h>

#define RETRY_MIN_MS 200
#define RETRY_MAX_MS 5000

static const char audit_sql[] = "SELECT lg_counts_audit($1::jsonb, $2::boolean)";

/* One row. */
typedef struct row {
    struct row *next;
    json_t *row; /* {"actor", "request", "answer"} */
    lg_auditq_cb cb;
    void *arg;
} row_t;

/* A statement under way and the rows it carries. */
typedef struct batch {
    lg_auditq_t *q; /* NULL once the queue is freed */
    row_t *rows;
    size_t n;
} batch_t;

struct lg_auditq {
    lg_db_t *db;
    struct event *retry; /* the back-off after a failed statement */
    int retry_ms;
    size_t max_rows, batch_rows;
    row_t *head, *tail; /* waiting */
    size_t n_waiting;
    batch_t *flight; /* the statement under way, or NULL */
};

static void flush(lg_auditq_t *q);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

lg_auditq_t *lg_auditq_new(struct event_base *base, lg_db_t *db, size_t max_rows, size_t batch_rows)
{
    lg_auditq_t *q = lg_xcalloc(1, sizeof(*q));
    q->db = db;
    q->retry = evtimer_new(base, on_retry, q);
    q->max_rows = max_rows ? max_rows : 1;
    q->batch_rows = batch_rows ? batch_rows : 1;
    return q;
}

/* Calls back (rows with a callback) and frees a list of rows. */
static void complete(row_t *r, const char *err)
{
    while (r != NULL) {
        row_t *next = r->next;
        json_decref(r->row);
        if (r->cb != NULL)
            r->cb(r->arg, err);
        free(r);
        r = next;
    }
}

/* Puts the rows without a callback back at the head, in order; completes the others. */
static void requeue(lg_auditq_t *q, row_t *rows, const char *err)
{
    row_t *keep = NULL, *last = NULL, *done = NULL;
    size_t n = 0;
    while (rows != NULL) {
        row_t *r = rows;
        rows = r->next;
        r->next = NULL;
        if (r->cb == NULL) {
            if (last != NULL)
                last->next = r;
            else
                keep = r;
            last = r;
            n++;
        } else {
            r->next = done;
            done = r;
        }
    }
    if (keep != NULL) {
        last->next = q->head;
        if (q->head == NULL)
            q->tail = last;
        q->head = keep;
        q->n_waiting += n;
    }
    complete(done, err);
}

static void on_written(void *arg, const PGresult *res, const char *err)
{
    batch_t *b = arg;
    lg_auditq_t *q = b->q;
    (void)res;
    if (q == NULL) {
        complete(b->rows, err);
        free(b);
        return;
    }
    q->flight = NULL;
    if (err == NULL) {
        q->retry_ms = 0;
        complete(b->rows, NULL);
        free(b);
        flush(q);
        return;
    }
    lg_warn("audit: writing %zu count audit rows failed; retrying", b->n);
    lg_debug("audit: %s", err);
    requeue(q, b->rows, err);
    free(b);
    q->retry_ms = q->retry_ms == 0                 ? RETRY_MIN_MS
                  : q->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                   : q->retry_ms * 2;
    struct timeval tv = {q->retry_ms / 1000, (q->retry_ms % 1000) * 1000};
    evtimer_add(q->retry, &tv);
}

/* Sends the waiting rows (up to batch_rows, all with or all without callbacks). */
static void flush(lg_auditq_t *q)
{
    if (q->flight != NULL || q->head == NULL || evtimer_pending(q->retry, NULL))
        return;
    batch_t *b = lg_xcalloc(1, sizeof(*b));
    b->q = q;
    bool is_waited = q->head->cb != NULL;
    json_t *array = json_array();
    row_t **tail = &b->rows;
    while (q->head != NULL && b->n < q->batch_rows && (q->head->cb != NULL) == is_waited) {
        row_t *r = q->head;
        q->head = r->next;
        r->next = NULL;
        json_array_append(array, r->row);
        *tail = r;
        tail = &r->next;
        b->n++;
    }
    if (q->head == NULL)
        q->tail = NULL;
    q->n_waiting -= b->n;
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    q->flight = b;
    /* Waited-for rows commit without the WAL flush; queued ones durably. */
    const char *values[2] = {text, is_waited ? "false" : "true"};
    int rc = text != NULL ? lg_db_query(q->db, audit_sql, 2, values, on_written, b) : LG_ERR;
    free(text);
    if (rc != LG_OK)
        on_written(b, NULL, "database unavailable");
}

int lg_auditq_add(lg_auditq_t *q, const char *actor, json_t *request, json_t *answer,
                  lg_auditq_cb cb, void *arg)
{
    if (lg_auditq_depth(q) >= q->max_rows || !lg_db_is_up(q->db)) {
        json_decref(request);
        json_decref(answer);
        return LG_ERR;
    }
    row_t *r = lg_xcalloc(1, sizeof(*r));
    r->row = json_pack("{s:s,s:o,s:o}", "actor", actor, "request", request, "answer", answer);
    if (r->row == NULL) {
        free(r);
        return LG_ERR;
    }
    r->cb = cb;
    r->arg = arg;
    if (q->tail != NULL)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->n_waiting++;
    flush(q);
    return LG_OK;
}

size_t lg_auditq_depth(const lg_auditq_t *q)
{
    return q->n_waiting + (q->flight != NULL ? q->flight->n : 0);
}

void lg_auditq_free(lg_auditq_t *q)
{
    if (q == NULL)
        return;
    if (q->flight != NULL)
        q->flight->q = NULL; /* its callback completes its rows */
    if (q->n_waiting > 0)
        lg_warn("audit: %zu count audit rows not written at shutdown", q->n_waiting);
    complete(q->head, "shutting down");
    event_free(q->retry);
    free(q);
}
