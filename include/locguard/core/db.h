/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous PostgreSQL pool: a few non-blocking libpq connections
 * driven by the event loop (PQconnectStart/PQconnectPoll, PQsendQueryParams,
 * PQflush, PQconsumeInput, PQisBusy, PQgetResult), a FIFO of queries waiting
 * for a free connection, and reconnection with back-off. Nothing here blocks.
 */
#ifndef LOCGUARD_DB_H
#define LOCGUARD_DB_H

#include "locguard/core/common.h"
#include "locguard/core/metrics.h"

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct lg_db lg_db_t;

/*
 * Completion of a query. On success err is NULL and res is the statement's
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK). On failure err says why in a
 * constant or short string; res is the error result when the server answered
 * (read PG_DIAG_SQLSTATE from it) or NULL when the connection failed. res
 * belongs to the pool and is valid only during the call.
 */
typedef void (*lg_db_cb)(void *arg, const PGresult *res, const char *err);

/* The pool's settings ("[database]" in the config; defaults in config.c's table). */
typedef struct lg_db_config {
    const char *conninfo;  /* libpq connection string */
    int pool_size;         /* connections, >= 1 */
    int connect_timeout_s; /* a connection attempt not through after this is retried */
} lg_db_config_t;

/*
 * Creates the pool and starts connecting cfg->pool_size connections.
 * Connections that fail, or whose attempt is not through within
 * cfg->connect_timeout_s, are retried with back-off for as long as the pool
 * lives. cfg is copied (conninfo too).
 */
lg_db_t *lg_db_new(struct event_base *base, const lg_db_config_t *cfg, lg_metrics_t *metrics);

/*
 * Closes every connection. Queries not yet completed get their callback with
 * err "shutting down". Accepts NULL.
 */
void lg_db_free(lg_db_t *db);

/*
 * Queues a statement with nparams text-format parameters (NULL values are SQL
 * NULLs); the pool copies sql and the values. The callback runs once, from
 * the event loop; only when a connection breaks as the query is handed to it
 * may it run before this returns, so set up the caller's state first.
 * Returns LG_ERR (and the callback never runs) when no connection is up or
 * the queue is full.
 */
LG_MUST_CHECK int lg_db_query(lg_db_t *db, const char *sql, int nparams,
                              const char *const *values, lg_db_cb cb, void *arg);

/*
 * lg_db_query asking for every column of the result in binary format
 * (PQsendQueryParams resultFormat 1): PQgetvalue then gives each type's
 * send format (a bytea's bytes as they are, a bigint as 8 big-endian
 * bytes) and PQgetlength its length. For large bytea results, where the
 * text format would double the bytes in hex.
 */
LG_MUST_CHECK int lg_db_query_binary(lg_db_t *db, const char *sql, int nparams,
                                     const char *const *values, lg_db_cb cb, void *arg);

/*
 * Finds the n columns named names[i] (lower case, as PQfnumber folds) in res's
 * shape: cols[i] their numbers, for PQgetvalue. Once per result, not per
 * row. Returns LG_ERR with *missing the first name not there (a function
 * of another version answered).
 */
LG_MUST_CHECK int lg_db_columns(const PGresult *res, const char *const *names, int n, int *cols,
                                const char **missing);

/* True when at least one connection is ready for queries. */
bool lg_db_is_up(const lg_db_t *db);

/*
 * True when a failed query's SQLSTATE is a database failure, counted in
 * locguard_db_errors_total: anything but the request's own data and our
 * functions' refusals, which the HTTP layer answers 4xx: data exceptions
 * (22), integrity constraints (23), PL/pgSQL raises (P0), our own class LG,
 * the T8 refusal 42501, and the serialization failures and deadlocks
 * (40001, 40P01) the group commit sends again. NULL (no SQLSTATE: an error
 * of libpq itself) is a failure.
 */
bool lg_db_is_failure(const char *sqlstate);

/* Number of connections ready and not running a query. */
int lg_db_idle(const lg_db_t *db);

/* Number of connections in the pool (up or not). */
int lg_db_size(const lg_db_t *db);

/* Calls cb(arg) each time a connection becomes idle (used by the group commit). */
void lg_db_on_idle(lg_db_t *db, void (*cb)(void *arg), void *arg);

#endif
