/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit queue of the in-memory count answers: a group commit for
 * audit_log. The exposure zone queues one row per answered query (client,
 * request, answer) and answers only when the row's statement has completed;
 * rows queued while a statement is under way go together in the next one
 * (sql/counts.sql lg_counts_audit: one multi-row INSERT per round trip,
 * committed without waiting for the WAL flush). When the queue is full or
 * the database is unreachable a row is refused, and the caller answers 503
 * rather than answer unaudited.
 */
#ifndef LOCGUARD_AUDITQ_H
#define LOCGUARD_AUDITQ_H

#include "locguard/common.h"
#include "locguard/db.h"

#include <jansson.h>

typedef struct lg_auditq lg_auditq_t;

/* Completion of a queued row: err NULL when the row is in audit_log. */
typedef void (*lg_auditq_cb)(void *arg, const char *err);

/*
 * Creates the queue: at most max_rows rows waiting or under way, at most
 * batch_rows per statement. db must outlive it.
 */
lg_auditq_t *lg_auditq_new(lg_db_t *db, size_t max_rows, size_t batch_rows);

/*
 * Frees it. Rows not yet sent get their callback with err "shutting down";
 * free the pool first so that the statement under way completes. Accepts
 * NULL.
 */
void lg_auditq_free(lg_auditq_t *q);

/*
 * Queues the audit row {actor, request, answer} (request and answer are
 * taken: the queue owns their references). cb runs once, from the event
 * loop, when the row is written or failed. Returns LG_ERR (cb never runs,
 * request and answer released) when the queue is full or no database
 * connection is up.
 */
LG_MUST_CHECK int lg_auditq_add(lg_auditq_t *q, const char *actor, json_t *request, json_t *answer,
                                lg_auditq_cb cb, void *arg);

/* Rows waiting or under way. */
size_t lg_auditq_depth(const lg_auditq_t *q);

#endif
