/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit queue of the count answers made from memory (counteval.c): a
 * group commit for audit_log. The exposure zone queues one row per answered
 * query (client, request, answer); one statement at a time writes the rows
 * waiting (sql/counts.sql lg_counts_audit: one multi-row INSERT per round
 * trip), the rows queued meanwhile going in the next one. A row is refused
 * when the queue is full or no database connection is up: the caller then
 * answers 503 rather than answer unaudited.
 *
 * Two ways to use it ([counts] audit_wait):
 *   - queued (the default): the caller answers as soon as the row is
 *     queued. The statement commits durably (synchronous_commit on) off the
 *     latency path; a statement that fails is retried, with back-off, until
 *     it succeeds, and a shutdown drains the queue first. A row can be lost
 *     only when the daemon dies (SIGKILL, a crash) with rows queued;
 *   - waiting: the caller gives a callback and answers once the row's
 *     statement has completed (503 when it failed). That statement commits
 *     without waiting for the WAL flush, so that an fsync is not in the
 *     latency path: a crash of the database server itself may lose the last
 *     fraction of a second of rows.
 * One queue is meant for one of the two (the daemon's setting): a waited-for
 * row queued behind failing queued rows waits for their retries.
 */
#ifndef LOCGUARD_AUDITQ_H
#define LOCGUARD_AUDITQ_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"

#include <event2/event.h>
#include <jansson.h>

typedef struct lg_auditq lg_auditq_t;

/* Completion of a queued row: err NULL when the row is in audit_log. */
typedef void (*lg_auditq_cb)(void *arg, const char *err);

/*
 * Creates the queue: at most max_rows rows waiting or under way, at most
 * batch_rows per statement. base and db must outlive it.
 */
lg_auditq_t *lg_auditq_new(struct event_base *base, lg_db_t *db, size_t max_rows,
                           size_t batch_rows);

/*
 * Frees it. Rows not yet written are dropped (their callbacks get "shutting
 * down"; drain first: lg_auditq_depth); free the pool first so that the
 * statement under way completes. Accepts NULL.
 */
void lg_auditq_free(lg_auditq_t *q);

/*
 * Queues the audit row {actor, request, answer} (request and answer are
 * taken: the queue owns their references). With cb, cb runs once from the
 * event loop when the row is written or its statement failed, and the row
 * is written without waiting for the WAL flush; without cb (NULL) the row
 * is written durably, retried until it is. Returns LG_ERR (cb never runs,
 * request and answer released) when the queue is full or no database
 * connection is up.
 */
LG_MUST_CHECK int lg_auditq_add(lg_auditq_t *q, const char *actor, json_t *request, json_t *answer,
                                lg_auditq_cb cb, void *arg);

/* Rows waiting or under way (the shutdown drains them). */
size_t lg_auditq_depth(const lg_auditq_t *q);

#endif
