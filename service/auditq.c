/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit queue (see auditq.h): a FIFO of rows and at most one statement
 * under way. When it completes, every row it carried gets its callback, and
 * the rows queued meanwhile leave in the next statement, so under load one
 * round trip carries many rows and the latency of one row is at most two
 * round trips.
 */
#include "locguard/auditq.h"

#include "locguard/log.h"

#include <stdlib.h>

static const char audit_sql[] = "SELECT lg_counts_audit($1::jsonb)";

/* One row. */
typedef struct row {
    struct row *next;
    json_t *row; /* {"actor", "request", "answer"} */
    lg_auditq_cb cb;
    void *arg;
} row_t;

/* A statement under way and the rows it carries. */
typedef struct batch {
    lg_auditq_t *q;
    row_t *rows;
} batch_t;

struct lg_auditq {
    lg_db_t *db;
    size_t max_rows, batch_rows;
    row_t *head, *tail; /* waiting */
    size_t n_waiting;
    size_t n_flight; /* rows in the statement under way */
    batch_t *flight; /* the statement under way, or NULL */
};

lg_auditq_t *lg_auditq_new(lg_db_t *db, size_t max_rows, size_t batch_rows)
{
    lg_auditq_t *q = lg_xcalloc(1, sizeof(*q));
    q->db = db;
    q->max_rows = max_rows ? max_rows : 1;
    q->batch_rows = batch_rows ? batch_rows : 1;
    return q;
}

/* Calls back and frees a list of rows. */
static void complete(row_t *r, const char *err)
{
    while (r != NULL) {
        row_t *next = r->next;
        json_decref(r->row);
        r->cb(r->arg, err);
        free(r);
        r = next;
    }
}

static void flush(lg_auditq_t *q);

static void on_written(void *arg, const PGresult *res, const char *err)
{
    batch_t *b = arg;
    lg_auditq_t *q = b->q;
    (void)res;
    if (err != NULL)
        lg_warn("audit: writing %s failed; the answers waiting for it get 503", "count audit rows");
    if (q != NULL) {
        q->flight = NULL;
        q->n_flight = 0;
    }
    complete(b->rows, err);
    free(b);
    if (q != NULL)
        flush(q);
}

/* Sends the waiting rows (up to batch_rows) when no statement is under way. */
static void flush(lg_auditq_t *q)
{
    if (q->flight != NULL || q->head == NULL)
        return;
    batch_t *b = lg_xcalloc(1, sizeof(*b));
    b->q = q;
    json_t *array = json_array();
    row_t **tail = &b->rows;
    size_t n = 0;
    while (q->head != NULL && n < q->batch_rows) {
        row_t *r = q->head;
        q->head = r->next;
        r->next = NULL;
        json_array_append(array, r->row);
        *tail = r;
        tail = &r->next;
        n++;
    }
    if (q->head == NULL)
        q->tail = NULL;
    q->n_waiting -= n;
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    q->flight = b;
    q->n_flight = n;
    const char *values[1] = {text};
    int rc = text != NULL ? lg_db_query(q->db, audit_sql, 1, values, on_written, b) : LG_ERR;
    free(text);
    if (rc != LG_OK) {
        q->flight = NULL;
        q->n_flight = 0;
        complete(b->rows, "database unavailable");
        free(b);
        /* The rest waits for the next add: the pool is down or full now. */
    }
}

int lg_auditq_add(lg_auditq_t *q, const char *actor, json_t *request, json_t *answer,
                  lg_auditq_cb cb, void *arg)
{
    if (q->n_waiting + q->n_flight >= q->max_rows || !lg_db_is_up(q->db)) {
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
    return q->n_waiting + q->n_flight;
}

void lg_auditq_free(lg_auditq_t *q)
{
    if (q == NULL)
        return;
    if (q->flight != NULL)
        q->flight->q = NULL; /* its callback completes its rows */
    complete(q->head, "shutting down");
    free(q);
}
