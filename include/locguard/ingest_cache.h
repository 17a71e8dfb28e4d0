/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's cache of coalescable rows: for each device whose last report
 * this daemon wrote, the row that write left, when a repeated report would
 * change nothing in it but the time (sql/ingest.sql, "Coalescing"). The
 * group commit (ingest.c) asks it for every report before building a
 * round trip; a report that matches is coalesced here and never sent, only
 * counted. Correctness rests on three rules, kept by ingest.c and
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
 *   - a report whose device appears twice in one round trip is sent, not
 *     coalesced (lg_icache_count first, then lg_icache_match);
 *   - the whole cache is emptied when the database's generation moves
 *     (someone else wrote ue_location, or the reference data changed); the
 *     round trips sent before are not counted in the new one, so ingest.c
 *     makes no entry usable until they are all answered.
 *
 * Open addressing with linear probing over a power-of-two table, at most
 * max_devices entries (load at most 3/4), never deleted one by one: the
 * cache is emptied as a whole. 56 bytes per slot. Everything runs on the
 * loop thread.
 */
#ifndef LOCGUARD_INGEST_CACHE_H
#define LOCGUARD_INGEST_CACHE_H

#include "locguard/common.h"
#include "locguard/report.h"

typedef struct lg_icache lg_icache_t;

/* Longest cell key an entry holds; reports of longer ones are always sent. */
#define LG_ICACHE_CELL_MAX 23

/* Creates a cache of at most max_devices entries (>= 1). */
lg_icache_t *lg_icache_new(size_t max_devices);

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

/* Pass 1 over a round trip's reports: counts the device's reports in it. */
void lg_icache_count(lg_icache_t *c, const lg_report_t *r, uint32_t flight);

/*
 * The device's own refresh interval: refresh_us times 1 - d / 400, d the
 * last two digits of the SUPI (0.7525..1 of it), as sql/ingest.sql's
 * lg_refresh_share: rows written together come due spread out.
 */
int64_t lg_icache_refresh_us(const char *supi, int64_t refresh_us);

/*
 * Pass 2: the cached decision ('i'nside, 'a'mbiguous, 'c' unchecked,
 * 'u'nknown cell) when r may be coalesced: a usable entry of the same cell,
 * node and RAT, r without a position, the only report of its device in
 * this round trip (flight, counted by pass 1), its time in [stored time,
 * stored time + lg_icache_refresh_us(supi, refresh_us)). 0 otherwise.
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

#endif
