/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outbox protocol's queries (see outbox.h): lg_outbox_lease(),
 * lg_outbox_done() and lg_outbox_stats() of sql/outbox.sql, their
 * parameters written and their results read by column name. The one table
 * of outcome names is here.
 */
#include "locguard/north/outbox.h"

#include "locguard/core/log.h"
#include "locguard/core/pgarray.h"

#include <stdio.h>
#include <stdlib.h>

#define LEASE_ROWS_STACK 100 /* rows decoded without allocating (the notifier's batch) */

static const char lease_sql[] =
    "SELECT id, notif_id, destination, payload, secret, secret_previous, allow_private, "
    "attempts, extract(epoch FROM now() - created_at)::float8 AS age_s, scs_as_id, "
    "content_type, bearer_token, correlator "
    "FROM lg_outbox_lease($1, $2::int, $3::int, $4::text[])";
static const char done_sql[] = "SELECT lg_outbox_done($1::bigint, $2, $3, $4::int, $5, "
                               "now() + $6::float8 * interval '1 second')";
static const char stats_sql[] = "SELECT depth, oldest_age_s FROM lg_outbox_stats()";

/* p_outcome of lg_outbox_done, by outcome. */
static const char *const outcome_names[LG_OUTBOX_N_OUTCOMES] = {
    [LG_OUTBOX_DELIVERED] = "delivered", [LG_OUTBOX_RETRY] = "retry",
    [LG_OUTBOX_FAILED] = "failed",       [LG_OUTBOX_GONE] = "gone",
    [LG_OUTBOX_REQUEUE] = "requeue",
};

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
    L_CONTENT_TYPE,
    L_BEARER_TOKEN,
    L_CORRELATOR,
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
    [L_CONTENT_TYPE] = "content_type",
    [L_BEARER_TOKEN] = "bearer_token",
    [L_CORRELATOR] = "correlator",
};

/* lg_outbox_stats's columns. */
enum stats_column { S_DEPTH, S_OLDEST_AGE_S, N_STATS_COLUMNS };
static const char *const stats_columns[N_STATS_COLUMNS] = {
    [S_DEPTH] = "depth",
    [S_OLDEST_AGE_S] = "oldest_age_s",
};

/* A query's caller: one of the three callbacks and its argument. */
typedef struct call {
    union {
        lg_outbox_lease_cb lease;
        lg_outbox_done_cb done;
        lg_outbox_stats_cb stats;
    } cb;
    void *arg;
} call_t;

const char *lg_outbox_outcome_name(lg_outbox_outcome_t outcome)
{
    return (unsigned)outcome < LG_OUTBOX_N_OUTCOMES ? outcome_names[outcome] : "failed";
}

/* Queues sql for call; frees call when the pool refuses it (the callback never runs then). */
static int query(lg_db_t *db, const char *sql, int nparams, const char *const *values, lg_db_cb cb,
                 call_t *call)
{
    if (lg_db_query(db, sql, nparams, values, cb, call) != LG_OK) {
        free(call);
        return LG_ERR;
    }
    return LG_OK;
}

static const char *value_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void on_leased(void *arg, const PGresult *res, const char *err)
{
    call_t call = *(call_t *)arg;
    free(arg);
    if (err != NULL || res == NULL) {
        call.cb.lease(call.arg, NULL, 0, err != NULL ? err : "no result");
        return;
    }
    int col[N_LEASE_COLUMNS];
    const char *missing;
    if (lg_db_columns(res, lease_columns, N_LEASE_COLUMNS, col, &missing) != LG_OK) {
        lg_warn("notifier: lg_outbox_lease returned no column %s", missing);
        call.cb.lease(call.arg, NULL, 0, "lease result has missing columns");
        return;
    }
    size_t n_rows = (size_t)PQntuples(res);
    lg_outbox_row_t stack_rows[LEASE_ROWS_STACK];
    lg_outbox_row_t *rows =
        n_rows <= LEASE_ROWS_STACK ? stack_rows : lg_xcalloc(n_rows, sizeof(*rows));
    for (size_t i = 0; i < n_rows; i++) {
        int r = (int)i;
        const char *age_s = value_or_null(res, r, col[L_AGE_S]);
        rows[i] = (lg_outbox_row_t){
            .id = PQgetvalue(res, r, col[L_ID]),
            .notif_id = PQgetvalue(res, r, col[L_NOTIF_ID]),
            .destination = PQgetvalue(res, r, col[L_DESTINATION]),
            .payload = PQgetvalue(res, r, col[L_PAYLOAD]),
            .secret = PQgetvalue(res, r, col[L_SECRET]),
            .secret_previous = value_or_null(res, r, col[L_SECRET_PREVIOUS]),
            .scs_as_id = value_or_null(res, r, col[L_SCS_AS_ID]),
            .content_type = PQgetvalue(res, r, col[L_CONTENT_TYPE]),
            .bearer_token = value_or_null(res, r, col[L_BEARER_TOKEN]),
            .correlator = value_or_null(res, r, col[L_CORRELATOR]),
            .allow_private = PQgetvalue(res, r, col[L_ALLOW_PRIVATE])[0] == 't',
            .attempts = atoi(PQgetvalue(res, r, col[L_ATTEMPTS])),
            .age_s = age_s != NULL ? strtod(age_s, NULL) : 0,
        };
    }
    call.cb.lease(call.arg, rows, n_rows, NULL);
    if (rows != stack_rows)
        free(rows);
}

int lg_outbox_lease(lg_db_t *db, const char *owner, size_t limit, int lease_s,
                    const char *const *skip_urls, size_t n_skip, lg_outbox_lease_cb cb, void *arg)
{
    char limit_text[24], lease_text[16];
    snprintf(limit_text, sizeof(limit_text), "%zu", limit);
    snprintf(lease_text, sizeof(lease_text), "%d", lease_s);
    lg_pgarray_t skip;
    lg_pgarray_init(&skip);
    for (size_t i = 0; i < n_skip; i++)
        lg_pgarray_add_str(&skip, skip_urls[i]);
    const char *values[4] = {owner, limit_text, lease_text, lg_pgarray_end(&skip)};
    call_t *call = lg_xcalloc(1, sizeof(*call));
    call->cb.lease = cb;
    call->arg = arg;
    int rc = query(db, lease_sql, 4, values, on_leased, call);
    lg_pgarray_cleanup(&skip);
    return rc;
}

static void on_done(void *arg, const PGresult *res, const char *err)
{
    call_t call = *(call_t *)arg;
    (void)res;
    free(arg);
    call.cb.done(call.arg, err);
}

int lg_outbox_done(lg_db_t *db, const char *row_id, const char *owner, lg_outbox_outcome_t outcome,
                   int http_status, const char *error, double delay_s, lg_outbox_done_cb cb,
                   void *arg)
{
    char status[16], delay[32];
    snprintf(status, sizeof(status), "%d", http_status);
    snprintf(delay, sizeof(delay), "%.3f", delay_s);
    const char *values[6] = {row_id,
                             owner,
                             lg_outbox_outcome_name(outcome),
                             http_status > 0 ? status : NULL,
                             error != NULL && error[0] != '\0' ? error : NULL,
                             delay};
    call_t *call = lg_xcalloc(1, sizeof(*call));
    call->cb.done = cb;
    call->arg = arg;
    return query(db, done_sql, 6, values, on_done, call);
}

static void on_stats(void *arg, const PGresult *res, const char *err)
{
    call_t call = *(call_t *)arg;
    free(arg);
    int col[N_STATS_COLUMNS];
    const char *missing;
    if (err == NULL && (res == NULL || PQntuples(res) != 1))
        err = "no result";
    if (err == NULL && lg_db_columns(res, stats_columns, N_STATS_COLUMNS, col, &missing) != LG_OK)
        err = "stats result has missing columns";
    if (err != NULL) {
        call.cb.stats(call.arg, 0, 0, err);
        return;
    }
    call.cb.stats(call.arg, strtoll(PQgetvalue(res, 0, col[S_DEPTH]), NULL, 10),
                  strtod(PQgetvalue(res, 0, col[S_OLDEST_AGE_S]), NULL), NULL);
}

int lg_outbox_stats(lg_db_t *db, lg_outbox_stats_cb cb, void *arg)
{
    call_t *call = lg_xcalloc(1, sizeof(*call));
    call->cb.stats = cb;
    call->arg = arg;
    return query(db, stats_sql, 0, NULL, on_stats, call);
}
