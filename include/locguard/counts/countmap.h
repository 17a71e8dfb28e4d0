/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader of the in-memory count evaluator: keeps a snapshot
 * (counteval.h) current from the database through the asynchronous pool,
 * one state machine (idle, poll, geometry, release): a poll every poll_ms
 * (lg_counts_releases_since: the cell table's version and the ids of the
 * releases to keep), a geometry load when the cell table changed
 * (lg_counts_geo, in binary: its WKB read as it comes), one round trip per
 * new release (lg_counts_release_noisy), then a new snapshot swapped in, on
 * the loop thread. Releases whose bucket starts more than keep_days before
 * now are dropped, except the latest.
 */
#ifndef LOCGUARD_COUNTMAP_H
#define LOCGUARD_COUNTMAP_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/counts/counteval.h"

#include <event2/event.h>

typedef struct lg_countmap lg_countmap_t;

/* ---- the live map ---- */

typedef struct lg_countmap_config {
    int poll_ms;   /* how often to look for new releases and cell changes */
    int keep_days; /* releases kept: buckets starting in the last keep_days days */
} lg_countmap_config_t;

/*
 * Creates the map and starts loading. base and db must outlive it. Until
 * the first snapshot is loaded lg_countmap_snapshot returns NULL.
 */
lg_countmap_t *lg_countmap_new(struct event_base *base, lg_db_t *db,
                               const lg_countmap_config_t *cfg);

/* Frees it. A load in flight is abandoned. Accepts NULL. */
void lg_countmap_free(lg_countmap_t *m);

/* Looks for changes now (a release was just stored). */
void lg_countmap_poke(lg_countmap_t *m);

/* The current snapshot, or NULL. Valid until control returns to the loop. */
const lg_counteval_snap_t *lg_countmap_snapshot(const lg_countmap_t *m);

/* Number of snapshots swapped in so far (tests wait on it). */
uint64_t lg_countmap_generation(const lg_countmap_t *m);

#endif
