/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group commit. Parsed batches from every southbound connection wait in
 * one queue; whenever a database connection is idle, the queue is drained
 * into one call of the set-based sql/ function lg_ingest (arrays in, one row
 * out), up to flush_max_reports reports per round trip. Each batch's
 * completion callback runs only after that statement has committed.
 */
#ifndef LOCGUARD_INGEST_H
#define LOCGUARD_INGEST_H

#include "locguard/common.h"
#include "locguard/config.h"
#include "locguard/db.h"
#include "locguard/metrics.h"
#include "locguard/report.h"

typedef struct lg_ingest lg_ingest_t;

/* What became of a batch. */
typedef enum lg_ingest_status {
    LG_INGEST_QUEUED,       /* lg_ingest_submit: taken; the callback will tell the rest */
    LG_INGEST_ACCEPTED,     /* committed */
    LG_INGEST_DUPLICATE,    /* this (node, seq) was committed before: nothing stored again */
    LG_INGEST_STALE,        /* seq below the node's replay window: refused */
    LG_INGEST_UNKNOWN_NODE, /* node unknown or disabled: refused, nothing stored */
    LG_INGEST_UNAVAILABLE,  /* database unreachable or the round trip failed: nothing stored */
    LG_INGEST_QUEUE_FULL,   /* lg_ingest_submit: too many reports waiting */
} lg_ingest_status_t;

/* Completion of a submitted batch; runs from the event loop. */
typedef void (*lg_ingest_cb)(void *arg, lg_ingest_status_t status);

/* Creates the group commit over db, with cfg's limits (cfg must outlive it). */
lg_ingest_t *lg_ingest_new(lg_db_t *db, lg_metrics_t *metrics, const lg_config_t *cfg);

/*
 * Fails every batch still waiting with LG_INGEST_UNAVAILABLE, then frees.
 * Free the pool first: its completions of round trips under way still
 * point here. Accepts NULL.
 */
void lg_ingest_free(lg_ingest_t *ing);

/*
 * Queues batch (whose contents this takes over: the caller's struct is left
 * zeroed) with the node's sequence number. Returns LG_INGEST_QUEUED and calls
 * cb later, or returns LG_INGEST_UNAVAILABLE / LG_INGEST_QUEUE_FULL at once
 * (cb is then never called and the batch is released).
 */
lg_ingest_status_t lg_ingest_submit(lg_ingest_t *ing, lg_batch_t *batch, int64_t seq,
                                    lg_ingest_cb cb, void *arg);

/* Calls cb(arg) after each round trip that wrote movement alerts (to wake the notifier). */
void lg_ingest_on_alerts(lg_ingest_t *ing, void (*cb)(void *arg), void *arg);

/* Batches queued or in a round trip: zero once everything is answered. */
size_t lg_ingest_pending(const lg_ingest_t *ing);

#endif
