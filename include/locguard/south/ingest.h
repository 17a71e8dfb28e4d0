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

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/south/ingest_cache.h"
#include "locguard/core/metrics.h"
#include "locguard/core/pgarray.h"
#include "locguard/south/report.h"

typedef struct lg_ingest lg_ingest_t;

/* What became of a batch. */
typedef enum lg_ingest_status {
    LG_INGEST_QUEUED,       /* lg_ingest_submit: taken; the callback will tell the rest */
    LG_INGEST_ACCEPTED,     /* committed */
    LG_INGEST_DUPLICATE,    /* this (node, seq) or (node, msg_key) was committed before:
                               nothing stored again */
    LG_INGEST_STALE,        /* seq below the node's replay window: refused */
    LG_INGEST_UNKNOWN_NODE, /* node unknown or disabled: refused, nothing stored */
    LG_INGEST_UNAVAILABLE,  /* database unreachable or the round trip failed: nothing stored */
    LG_INGEST_QUEUE_FULL,   /* lg_ingest_submit: too many reports waiting */
} lg_ingest_status_t;
#define LG_INGEST_N_STATUSES 7

/* The status's name: batch_status's words ("accepted", ...) and "queued", "unavailable",
 * "queue_full". */
const char *lg_ingest_status_name(lg_ingest_status_t status);

/* The status a batch_status word names; LG_INGEST_UNAVAILABLE for any other word (or NULL). */
lg_ingest_status_t lg_ingest_status_from_word(const char *word);

/*
 * Counts a committed batch of n_reports reports (status LG_INGEST_ACCEPTED or
 * LG_INGEST_DUPLICATE) in m: its reports when accepted, and the batch as
 * accepted or duplicate. The one accounting of every southbound protocol.
 */
void lg_ingest_count_committed(lg_metrics_t *m, lg_ingest_status_t status, size_t n_reports);

/* Completion of a submitted batch; runs from the event loop. */
typedef void (*lg_ingest_cb)(void *arg, lg_ingest_status_t status);

/* The group commit's settings ("[ingest]" in the config; defaults in config.c's table). */
typedef struct lg_ingest_config {
    int flush_max_reports;    /* reports per database round trip (whole batches, at least one) */
    int parallel_min_reports; /* reports that must wait before a round trip starts beside one
                                 under way (fewer wait for it to end); 0 = whenever a
                                 connection is idle */
    int queue_max_reports;    /* reports waiting before new batches get LG_INGEST_QUEUE_FULL */
    int seq_window;           /* replay window, in sequence numbers per node */
    int hysteresis;           /* consecutive outside decisions before a "left" alert */
    int refresh_ms;           /* a report changing nothing but the time is coalesced when the
                                 stored one is younger than this; 0 = write every report */
    int cache_devices;        /* devices in the cache of coalescable rows; 0 = no cache */
    int msg_window_s;         /* a batch's message key (lg_batch_t.msg_key) is remembered this
                                 long: its duplicates are answered as such, stored once */
} lg_ingest_config_t;

/* Creates the group commit over db, with cfg's limits (copied). */
lg_ingest_t *lg_ingest_new(lg_db_t *db, lg_metrics_t *metrics, const lg_ingest_config_t *cfg);

/*
 * Fails every batch still waiting with LG_INGEST_UNAVAILABLE, then frees.
 * Free the pool first: its completions of round trips under way still
 * point here. Accepts NULL.
 */
void lg_ingest_free(lg_ingest_t *ing);

/*
 * Queues batch (whose contents this takes over: the caller's struct is left
 * zeroed) with the node's sequence number, or, when batch->msg_key is set,
 * with that key instead (seq is then not used). Neither (seq 0, no key): a
 * notification as an AMF sends it, claimed by nothing; a retry of it is
 * recognised report by report, as the device's stored report again
 * (sql/ingest.sql, lg_ingest_claim). Returns LG_INGEST_QUEUED and calls
 * cb later, or returns LG_INGEST_UNAVAILABLE / LG_INGEST_QUEUE_FULL at once
 * (cb is then never called and the batch is released).
 */
lg_ingest_status_t lg_ingest_submit(lg_ingest_t *ing, lg_batch_t *batch, int64_t seq,
                                    lg_ingest_cb cb, void *arg);

/* Calls cb(arg) after each round trip that wrote movement alerts (to wake the notifier). */
void lg_ingest_on_alerts(lg_ingest_t *ing, void (*cb)(void *arg), void *arg);

/* Batches queued or in a round trip: zero once everything is answered. */
size_t lg_ingest_pending(const lg_ingest_t *ing);

/* State of the daemon's cache protocol (LG_ICACHE_OFF without one), for tests and logs. */
lg_icache_state_t lg_ingest_cache_state(const lg_ingest_t *ing);

/* ---- The group commit's decisions, as plain functions over plain data ------------------------ */

/* True when a queue holding queued_reports takes a batch of n_reports (queue_max_reports). */
bool lg_ingest_admits(const lg_ingest_config_t *cfg, size_t queued_reports, size_t n_reports);

/*
 * True when a round trip holding n_batches batches of n_reports reports in
 * all takes the next batch of next_reports: whole batches, always at least
 * one, at most flush_max_reports reports otherwise.
 */
bool lg_ingest_fits(const lg_ingest_config_t *cfg, size_t n_batches, size_t n_reports,
                    size_t next_reports);

/*
 * True when a round trip may start with queued_reports waiting while
 * n_flights others are under way: always when none is, else only when at
 * least parallel_min_reports wait. A call of lg_ingest() has a fixed cost
 * besides its reports' (about 0.4 ms of database time: tests/bench/README.md,
 * "One report per request: parallel_min_reports"), so a trickle of
 * one-report batches (as AMFs and Diameter nodes send them) goes with the
 * next round trip instead of in one of its own beside the one under way.
 */
bool lg_ingest_may_start(const lg_ingest_config_t *cfg, int n_flights, size_t queued_reports);

/* ---- One call of lg_ingest(): its parameters and its answer ---------------------------------- */

#define LG_INGEST_N_PARAMS 18

/* The statement: SELECT <the result columns> FROM lg_ingest($1 .. $18). */
const char *lg_ingest_sql(void);

/*
 * The parameters of one call being built. Embedded by the caller:
 * lg_ingest_call_init, lg_ingest_call_add per batch in order,
 * lg_ingest_call_end, then lg_ingest_call_cleanup.
 */
typedef struct lg_ingest_call {
    lg_pgarray_t arrays[LG_INGEST_N_PARAMS]; /* the array parameters ($1, $2, $5..$12, $16,
                                                $17) */
    char window[16], hysteresis[16], refresh[16], gen[24], msg_window[16]; /* the scalar ones */
    bool has_msg_keys;                      /* a batch has a message key: $17 is sent */
    const char *values[LG_INGEST_N_PARAMS]; /* after lg_ingest_call_end: for lg_db_query */
    size_t n_batches;                       /* batches added */
    size_t n_sent;                          /* reports in the report arrays */
    uint64_t *keys;                         /* their devices (lg_icache_key), n_sent of them */
    size_t cap_keys;
} lg_ingest_call_t;

void lg_ingest_call_init(lg_ingest_call_t *c);

/*
 * Adds batch b with its sequence number seq: the node and seq to p_nodes
 * and p_seqs (or, for a batch with a message key, NULL and the key to
 * p_msg_keys), and each report the cache trip t says to send (all of them
 * when t is NULL) to the report arrays, in order. Pass 1 of the trip
 * (lg_icache_trip_add_batch for every batch) must be over.
 */
void lg_ingest_call_add(lg_ingest_call_t *c, const lg_batch_t *b, int64_t seq, lg_icache_trip_t *t);

/*
 * Closes the call with cfg's scalars and t's cache parameters (token,
 * generation, p_cached; NULLs when t is NULL) and returns the
 * LG_INGEST_N_PARAMS values, owned by c.
 */
const char *const *lg_ingest_call_end(lg_ingest_call_t *c, const lg_ingest_config_t *cfg,
                                      const lg_icache_trip_t *t);

void lg_ingest_call_cleanup(lg_ingest_call_t *c);

/*
 * The devices of the round trips under way (lg_icache_key of each report
 * they sent: lg_ingest_call_t.keys). While one is under way, the flusher
 * stops a new round trip at the first batch that shares more than a few
 * devices with it (lg_ingest_share_limit). Zeroed is empty.
 */
typedef struct lg_ingest_busy {
    uint64_t *slots; /* open addressing, 0: free */
    size_t mask;     /* slots - 1 */
} lg_ingest_busy_t;

/* Empties b, sized for n_keys keys (at least 64 slots, twice the keys). */
void lg_ingest_busy_reset(lg_ingest_busy_t *b, size_t n_keys);

/* Adds n keys (0s skipped); at most the n_keys of the last reset in all. */
void lg_ingest_busy_add(lg_ingest_busy_t *b, const uint64_t *keys, size_t n);

/* How many reports of batch name a device of b; counting stops once it passes limit. */
size_t lg_ingest_busy_shared(const lg_ingest_busy_t *b, const lg_batch_t *batch, size_t limit);

/*
 * At most how many of a batch's n_reports may name a device of a round trip
 * under way for the batch to go beside it: one in LG_INGEST_SHARE_DIVISOR,
 * rounded down (so none of a batch of fewer).
 */
#define LG_INGEST_SHARE_DIVISOR 16
size_t lg_ingest_share_limit(size_t n_reports);

void lg_ingest_busy_cleanup(lg_ingest_busy_t *b);

/* What lg_ingest's one row said. */
typedef struct lg_ingest_answer {
    size_t n_batches;           /* statuses */
    lg_ingest_status_t *status; /* per batch, in the order they were added */
    uint64_t n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device, n_unchecked,
        n_alerts, n_coalesced; /* the call's counters (NULL read as 0) */
    lg_icache_answer_t cache;  /* cache_gen, cache_ords, cache_ts, cache_dec (pointing below) */
    int64_t *ords, *ts_us;     /* owned */
} lg_ingest_answer_t;

/*
 * Reads the answer of a call of n_batches batches that sent n_sent reports,
 * its columns found by name. LG_ERR with *err a constant reason when the
 * result is not one row of the expected columns, batch_status does not hold
 * n_batches elements, or the cache columns are malformed (more elements
 * than reports sent, lengths that differ). Free with
 * lg_ingest_answer_cleanup either way.
 */
LG_MUST_CHECK int lg_ingest_answer_parse(const PGresult *res, size_t n_batches, size_t n_sent,
                                         lg_ingest_answer_t *out, const char **err);

void lg_ingest_answer_cleanup(lg_ingest_answer_t *a);

#endif
