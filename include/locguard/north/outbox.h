/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The database half of the outbox protocol (sql/outbox.sql): lease due rows
 * for a delivery (lg_outbox_lease), record each delivery's outcome
 * (lg_outbox_done) and read the outbox's depth and oldest age
 * (lg_outbox_stats). Outcomes are an enum; their text, which the SQL
 * function takes, is written in one table here. Queries go through the
 * asynchronous pool (db.h); rows come back as plain data. Data flow:
 * ingest -> outbox (SQL) -> outbox.c -> notifier -> httpc -> SCS.
 */
#ifndef LOCGUARD_OUTBOX_H
#define LOCGUARD_OUTBOX_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"

/* How one delivery ended, as lg_outbox_done records it. */
typedef enum lg_outbox_outcome {
    LG_OUTBOX_DELIVERED, /* 2xx: the row is delivered */
    LG_OUTBOX_RETRY,     /* an attempt failed: due again after the delay */
    LG_OUTBOX_FAILED,    /* given up: the row fails */
    LG_OUTBOX_GONE,      /* HTTP 410: the row fails and the subscription ends */
    LG_OUTBOX_REQUEUE, /* not attempted (destination busy or on hold): due again after the delay */
    LG_OUTBOX_N_OUTCOMES
} lg_outbox_outcome_t;

/* The outcome's name as sql/outbox.sql spells it ("delivered", "retry", ...). */
const char *lg_outbox_outcome_name(lg_outbox_outcome_t outcome);

/* One leased row. The strings live in the query's result: valid during the callback only. */
typedef struct lg_outbox_row {
    const char *id;              /* the outbox id, decimal */
    const char *notif_id;        /* the webhook-id */
    const char *destination;     /* the SCS's URL, as stored */
    const char *payload;         /* the notification as stored (relative self link) */
    const char *secret;          /* "whsec_..." */
    const char *secret_previous; /* during key rotation, else NULL */
    const char *scs_as_id;       /* the SCS/AS, or NULL */
    const char *content_type;    /* the body's Content-Type */
    const char *bearer_token;    /* the sink's access token (Authorization: Bearer), or NULL */
    const char *correlator;      /* the x-correlator to send, or NULL */
    bool allow_private;          /* the SCS may be reached at private addresses */
    int attempts;                /* earlier failed attempts */
    double age_s;                /* the row's age at lease time */
} lg_outbox_row_t;

/* A lease's end: rows (n_rows of them) or err. */
typedef void (*lg_outbox_lease_cb)(void *arg, const lg_outbox_row_t *rows, size_t n_rows,
                                   const char *err);

/* An outcome recorded, or err. */
typedef void (*lg_outbox_done_cb)(void *arg, const char *err);

/* The outbox's pending rows and the age of the oldest, or err. */
typedef void (*lg_outbox_stats_cb)(void *arg, int64_t depth, double oldest_age_s, const char *err);

/*
 * Leases at most limit due rows to owner for lease_s seconds, skipping rows
 * whose destination URL is one of skip_urls (n_skip of them; the caller's
 * strings are copied). Calls cb with arg once, as lg_db_query does. Returns
 * LG_ERR (cb never runs) when the pool takes no query.
 */
LG_MUST_CHECK int lg_outbox_lease(lg_db_t *db, const char *owner, size_t limit, int lease_s,
                                  const char *const *skip_urls, size_t n_skip,
                                  lg_outbox_lease_cb cb, void *arg);

/*
 * Records the outcome of row_id's delivery by owner: http_status (0 = none),
 * error (NULL = none) and, for LG_OUTBOX_RETRY and LG_OUTBOX_REQUEUE, the
 * delay in seconds before it is due again. Releases the lease. Calls cb
 * with arg once; returns LG_ERR (cb never runs) when the pool takes no query.
 */
LG_MUST_CHECK int lg_outbox_done(lg_db_t *db, const char *row_id, const char *owner,
                                 lg_outbox_outcome_t outcome, int http_status, const char *error,
                                 double delay_s, lg_outbox_done_cb cb, void *arg);

/* Reads the outbox's depth and oldest age; calls cb once. Returns LG_ERR as lg_outbox_lease. */
LG_MUST_CHECK int lg_outbox_stats(lg_db_t *db, lg_outbox_stats_cb cb, void *arg);

#endif
