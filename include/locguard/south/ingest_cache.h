/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's cache of coalescable rows: for each device whose last report
 * this daemon wrote, the row that write left, when a repeated report would
 * change nothing in it but the time (sql/ingest.sql, "Coalescing"). The
 * group commit (ingest.c) asks it for every report before building a
 * round trip; a report that matches is coalesced here and never sent, only
 * counted. Two layers: the table (lg_icache_*) and the protocol with
 * lg_ingest that keeps it true (lg_icache_sync_* and lg_icache_trip_*,
 * below). Correctness rests on three rules, kept by the protocol and
 * lg_ingest (migrations/0018_ingest_cache.sql):
 *
 *   - an entry is made usable only from the answer of a committed round
 *     trip that sent a report of the device, and only if that round trip's
 *     report was the device's only one in flight from the time it was sent
 *     to the answer (lg_icache_sent marks the entry pending, with the round
 *     trip's id, counts it in flight and marks the entry contended when
 *     another was; lg_icache_put checks; lg_icache_done uncounts, and
 *     clears the mark when none is left): two round trips writing one row
 *     commit in an order the answers need not show;
 *   - the reports of a device that appears several times in one round trip
 *     are coalesced only when every one of them repeats the row (applied one
 *     by one, they would each change nothing but the time, as
 *     sql/ingest.sql's fast path judges them); otherwise all are sent
 *     (lg_icache_count first, then lg_icache_match);
 *   - the whole cache is emptied when the database's generation moves
 *     (someone else wrote ue_location, or the reference data changed); the
 *     round trips sent before are not counted in the new one, so the
 *     protocol makes no entry usable until they are all answered.
 *
 * Open addressing with linear probing over a power-of-two table, at most
 * max_devices entries (load at most 3/4), never deleted one by one: the
 * cache is emptied as a whole. 56 bytes per slot. Everything runs on the
 * loop thread.
 */
#ifndef LOCGUARD_INGEST_CACHE_H
#define LOCGUARD_INGEST_CACHE_H

#include "locguard/core/common.h"
#include "locguard/south/report.h"

typedef struct lg_icache lg_icache_t;

/* Longest cell key an entry holds; reports of longer ones are always sent. */
#define LG_ICACHE_CELL_MAX 23

/* Creates a cache of at most max_devices entries (>= 1). */
lg_icache_t *lg_icache_new(size_t max_devices);

/*
 * A SUPI of 5..15 digits as a number, with its length above bit 50 so that
 * "00101" and "101" differ; never 0. 0 for anything else.
 */
uint64_t lg_icache_key(const char *supi);

void lg_icache_free(lg_icache_t *c); /* accepts NULL */

/* Forgets every entry (and the slot memory, given back to the system). */
void lg_icache_clear(lg_icache_t *c);

/* Entries held, usable or pending. */
size_t lg_icache_size(const lg_icache_t *c);

/*
 * The small number standing for a node name in entries, 1.., the same for
 * the same name; 0 when 65535 names are known already (such a node's
 * reports are always sent).
 */
uint16_t lg_icache_node(lg_icache_t *c, const char *name);

/*
 * Pass 1 over a round trip's reports: marks the device's entry as counted
 * in round trip flight, and as mixed when r (from node, lg_icache_node)
 * does not repeat the row within refresh_us (lg_icache_match's test).
 */
void lg_icache_count(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                     int64_t refresh_us);

/*
 * The device's own refresh interval: refresh_us times 1 - d / 400, d the
 * last two digits of the SUPI (0.7525..1 of it), as sql/ingest.sql's
 * lg_refresh_share: rows written together come due spread out.
 */
int64_t lg_icache_refresh_us(const char *supi, int64_t refresh_us);

/*
 * Pass 2: the cached decision ('i'nside, 'a'mbiguous, 'c' unchecked,
 * 'u'nknown cell) when r may be coalesced: a usable entry of the same cell,
 * node and RAT, r without a position, its time in [stored time, stored
 * time + lg_icache_refresh_us(supi, refresh_us)), and every report of its
 * device in this round trip (flight, seen by pass 1) the same. 0 otherwise.
 */
char lg_icache_match(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                     int64_t refresh_us);

/* r is sent in round trip flight: its device's entry is pending, and counted in flight. */
void lg_icache_sent(lg_icache_t *c, const lg_report_t *r, uint32_t flight);

/*
 * After round trip flight committed and the database said r left a
 * coalescable row, stored at ts_us with this decision: makes the entry
 * usable, unless another report of the device was in flight at the same
 * time (or the device has no entry). Call before lg_icache_done.
 */
void lg_icache_put(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                   int64_t ts_us, char decision);

/* Round trip flight, which sent r, is over (answered or failed): uncounts it. */
void lg_icache_done(lg_icache_t *c, const lg_report_t *r);

/* ---- The protocol with lg_ingest --------------------------------------------------------------
 *
 * lg_icache_sync_t owns the table above and keeps it true to the database:
 * the daemon's random token, the claim of ingest_cache_owner, the
 * generation the entries hold at, the resets, and which round trips were
 * sent before the last reset. The group commit (ingest.c) begins a trip
 * for every round trip it builds, asks it which reports to send
 * (lg_icache_trip_send), passes on the parameters it gives
 * (lg_icache_trip_token, lg_icache_trip_gen, lg_icache_trip_n_cached) and
 * ends it with what came back (lg_icache_trip_committed or
 * lg_icache_trip_failed). Plain data: no I/O, no database; tests drive it
 * directly.
 */

/* Where the protocol is. One state machine; transitions are listed at each state. */
typedef enum lg_icache_state {
    /* No cache: [ingest] cache_devices is 0, or no random token could be drawn. Final. */
    LG_ICACHE_OFF,
    /* Round trips claim the cache (p_cache_gen NULL) until one is committed:
     * -> OWNER. A failed one empties the table and stays here. */
    LG_ICACHE_CLAIMING,
    /* The owner, the generation unknown (the table was emptied for a failed
     * round trip or LG001): sends generation 0, coalesces nothing.
     * A committed round trip -> OWNER at its generation. */
    LG_ICACHE_SYNCING,
    /* The owner at a known generation: coalesces. A generation that moved
     * empties the table (and stays here, at the new one); a failed round
     * trip or LG001 -> SYNCING. */
    LG_ICACHE_OWNER,
    /* Another daemon claimed the cache (an answer with a NULL generation):
     * the table is freed, every report is sent from now on. Final. */
    LG_ICACHE_LOST,
} lg_icache_state_t;
#define LG_ICACHE_N_STATES 5

/* The state's name, for logs and tests ("off", "claiming", ...). */
const char *lg_icache_state_name(lg_icache_state_t state);

/* The decisions an entry carries, in the order of lg_icache_trip_cached's counts. */
typedef enum lg_icache_decision {
    LG_ICACHE_INSIDE,       /* 'i' */
    LG_ICACHE_AMBIGUOUS,    /* 'a' */
    LG_ICACHE_UNCHECKED,    /* 'c' */
    LG_ICACHE_UNKNOWN_CELL, /* 'u' */
} lg_icache_decision_t;
#define LG_ICACHE_N_DECISIONS 4

/* Why a round trip did not commit, as lg_icache_trip_failed is told. */
typedef enum lg_icache_failure {
    LG_ICACHE_FAIL_STALE,       /* SQLSTATE LG001: coalesced at an older generation */
    LG_ICACHE_FAIL_ROLLED_BACK, /* 40001 / 40P01: nothing written, sent again as it was */
    LG_ICACHE_FAIL_OTHER,       /* anything else: the database may come back as another one */
} lg_icache_failure_t;

/* What an answer did to the cache, for the caller's metrics and logs. */
typedef enum lg_icache_outcome {
    LG_ICACHE_KEPT,    /* the entries stand (and may have been added to) */
    LG_ICACHE_EMPTIED, /* the table was emptied (count it in locguard_ingest_cache_resets_total) */
    LG_ICACHE_DROPPED, /* another daemon owns the cache: LOST now */
} lg_icache_outcome_t;

/* The names of lg_icache_outcome_t ("kept", "emptied", "dropped"). */
const char *lg_icache_outcome_name(lg_icache_outcome_t outcome);

typedef struct lg_icache_sync lg_icache_sync_t;

/* One round trip as the cache sees it, from lg_icache_trip_begin to lg_icache_trip_free. */
typedef struct lg_icache_trip lg_icache_trip_t;

/*
 * Creates the protocol over a table of max_devices entries, with a fresh
 * random token, CLAIMING; OFF when max_devices is 0 or no random bytes
 * could be had (logged). Never NULL.
 */
lg_icache_sync_t *lg_icache_sync_new(size_t max_devices);

/* Frees the protocol and its table; end or free its trips first. Accepts NULL. */
void lg_icache_sync_free(lg_icache_sync_t *s);

lg_icache_state_t lg_icache_sync_state(const lg_icache_sync_t *s);

/* The generation the entries hold at: > 0 only while OWNER. */
int64_t lg_icache_sync_gen(const lg_icache_sync_t *s);

/* Entries held (0 when OFF or LOST). */
size_t lg_icache_sync_size(const lg_icache_sync_t *s);

/* Times the table was emptied. */
uint32_t lg_icache_sync_resets(const lg_icache_sync_t *s);

/* The table, for tests and diagnostics; NULL when OFF or LOST. */
lg_icache_t *lg_icache_sync_table(lg_icache_sync_t *s);

/*
 * Begins a round trip of n_batches batches holding n_reports reports, with
 * the coalescing interval refresh_us (0: coalesce nothing). Returns NULL
 * when OFF or LOST: every lg_icache_trip_* function accepts NULL then and
 * says "send it, no cache parameters". The trip keeps pointers to the
 * reports: they must stay put until lg_icache_trip_free.
 */
lg_icache_trip_t *lg_icache_trip_begin(lg_icache_sync_t *s, size_t n_batches, size_t n_reports,
                                       int64_t refresh_us);

/*
 * Pass 1: the next batch of the round trip (batch indexes follow the calls:
 * 0, 1, ...). Call for every batch before any lg_icache_trip_send.
 */
void lg_icache_trip_add_batch(lg_icache_trip_t *t, const lg_batch_t *b);

/*
 * Pass 2, for each report of batch (in order, all of a batch's reports
 * while building it): true when r is to be sent, the next element of the
 * report arrays (the cache's answer numbers those from 1); false when the
 * cache coalesced it, counted for its batch.
 */
bool lg_icache_trip_send(lg_icache_trip_t *t, size_t batch, const lg_report_t *r);

/* Reports of batch the cache coalesced: its element of p_cached. */
uint32_t lg_icache_trip_n_cached(const lg_icache_trip_t *t, size_t batch);

/* The same by decision (lg_icache_decision_t order), for the metrics of an accepted batch. */
void lg_icache_trip_cached(const lg_icache_trip_t *t, size_t batch,
                           uint32_t out[LG_ICACHE_N_DECISIONS]);

/* p_cache_token: the daemon's token, or NULL (no cache; p_cached is NULL too). */
const char *lg_icache_trip_token(const lg_icache_trip_t *t);

/* p_cache_gen: true and *gen when it has a value; false for NULL (a claim, or no cache). */
bool lg_icache_trip_gen(const lg_icache_trip_t *t, int64_t *gen);

/* What a committed round trip said about the cache (lg_ingest's cache_* columns). */
typedef struct lg_icache_answer {
    bool has_gen;         /* cache_gen is not NULL */
    int64_t gen;          /* cache_gen */
    size_t n;             /* elements of ords and ts_us, letters of dec used */
    const int64_t *ords;  /* cache_ords: 1-based indexes into the reports sent */
    const int64_t *ts_us; /* cache_ts: each row's stored time */
    const char *dec;      /* cache_dec: each row's decision letter ('i', 'a', 'c', 'u') */
} lg_icache_answer_t;

/*
 * The round trip committed with answer a: learns the generation (moving
 * into OWNER, or emptying the table when it moved), then makes the rows
 * named usable unless a round trip sent before the last reset is still
 * under way. A NULL generation means another daemon claimed the cache:
 * LOST. An answer about a table emptied since the trip began is ignored.
 * Ends the trip (its reports are no longer in flight); call once, before
 * lg_icache_trip_free. t NULL: LG_ICACHE_KEPT.
 */
lg_icache_outcome_t lg_icache_trip_committed(lg_icache_trip_t *t, const lg_icache_answer_t *a);

/*
 * The round trip wrote nothing, for why: LG001 and other failures empty the
 * table (unless it was emptied since the trip began) and move OWNER and
 * SYNCING to SYNCING; a rollback changes nothing. Ends the trip, as above.
 */
lg_icache_outcome_t lg_icache_trip_failed(lg_icache_trip_t *t, lg_icache_failure_t why);

/* Frees a trip (ended or not: an unended one is ended as FAIL_ROLLED_BACK). Accepts NULL. */
void lg_icache_trip_free(lg_icache_trip_t *t);

#endif
