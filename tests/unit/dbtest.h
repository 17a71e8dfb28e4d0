/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unit tests of modules that talk to PostgreSQL (`make dbunit`,
 * tests/tools/run-dbunit.sh) share: a plain blocking connection for the
 * test's own SQL, a libevent loop to run for a while, and the module's
 * asynchronous pool, up before the test starts. Include after cmocka.h.
 */
#ifndef LOCGUARD_TESTS_DBTEST_H
#define LOCGUARD_TESTS_DBTEST_H

#include "locguard/core/db.h"
#include "locguard/core/metrics.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdlib.h>

/* Runs sql on the test's connection; fails the test unless it succeeds. */
static inline void dbtest_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
}

/* The first column of the only row of a query, as a long long. */
static inline long long dbtest_scalar(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long long v = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Runs the loop for ms milliseconds. */
static inline void dbtest_spin(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* The test's own connection, with notices below warning silenced. */
static inline PGconn *dbtest_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    dbtest_exec(c, "SET client_min_messages = warning");
    return c;
}

/* A pool of size connections, once at least one is up (at most 5 s). */
static inline lg_db_t *dbtest_pool(struct event_base *base, const char *conninfo, int size,
                                   lg_metrics_t *metrics)
{
    lg_db_t *db = lg_db_new(base, &(lg_db_config_t){conninfo, size, 5}, metrics);
    for (int i = 0; i < 500 && !lg_db_is_up(db); i++)
        dbtest_spin(base, 10);
    assert_true(lg_db_is_up(db));
    return db;
}

/*
 * What every database-backed test fixture holds, made in one call: the
 * test's connection, a loop, metrics and a pool of pool_size connections.
 */
static inline void dbtest_open(const char *conninfo, int pool_size, PGconn **sql,
                               struct event_base **base, lg_metrics_t **metrics, lg_db_t **db)
{
    *sql = dbtest_connect(conninfo);
    *base = event_base_new();
    *metrics = lg_metrics_new();
    *db = dbtest_pool(*base, conninfo, pool_size, *metrics);
}

/* Frees what dbtest_open made, the pool first. */
static inline void dbtest_close(PGconn *sql, struct event_base *base, lg_metrics_t *metrics,
                                lg_db_t *db)
{
    lg_db_free(db);
    lg_metrics_free(metrics);
    event_base_free(base);
    PQfinish(sql);
}

#endif
