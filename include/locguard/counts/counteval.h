/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory count evaluator: answers a CAMARA region device count from
 * the noisy releases held in process memory, computing exactly what
 * sql/counts.sql lg_counts_query documents (the same 64-point circle, planar
 * shares in billionths, exact integer sum and rounding half away from zero,
 * k suppression, the same statuses in the same order, the same refusals; a
 * polygon's validity decided by GEOS, as PostGIS's ST_IsValidDetail in
 * lg_counts_area decides it).
 *
 * Two kinds of object over a geometry (countgeo.h):
 *   - releases (lg_counteval_rel_t): one per count_release, the noisy count
 *     of each cell of one geometry, plus per-square sums;
 *   - snapshots (lg_counteval_snap_t): a geometry and the releases kept,
 *     with the horizon from which the kept releases are complete. Immutable
 *     once made; lg_counteval_answer is pure: no I/O, no state kept.
 * The loader (countmap.c) builds them from the database and keeps one
 * current.
 */
#ifndef LOCGUARD_COUNTEVAL_H
#define LOCGUARD_COUNTEVAL_H

#include "locguard/core/common.h"
#include "locguard/counts/countgeo.h"
#include "locguard/counts/planar.h"

#define LG_COUNTEVAL_SHARE_ONE INT64_C(1000000000) /* a whole cell, in billionths */

typedef struct lg_counteval_rel lg_counteval_rel_t;
typedef struct lg_counteval_snap lg_counteval_snap_t;

/* ---- releases ---- */

/*
 * A release of geometry g (finished): id, bucket [start_us, end_us), and
 * noisy[i] for cell i (n must equal lg_countgeo_cells(g)); takes ownership
 * of noisy (malloc'd). Holds a reference to g. NULL (noisy freed) when g is
 * not finished or n does not match.
 */
lg_counteval_rel_t *lg_counteval_rel_new(lg_countgeo_t *g, int64_t id, int64_t start_us,
                                         int64_t end_us, int64_t *noisy, size_t n);

/* The release's count_release id. */
int64_t lg_counteval_rel_id(const lg_counteval_rel_t *r);

/* Takes one more reference; returns r. */
lg_counteval_rel_t *lg_counteval_rel_ref(lg_counteval_rel_t *r);

/* Drops one reference. Accepts NULL. */
void lg_counteval_rel_unref(lg_counteval_rel_t *r);

/* ---- snapshots ---- */

/*
 * A snapshot of geometry g and the n releases rels (each of g), complete
 * for buckets starting at or after horizon_us (the latest release may be
 * older). Takes a reference to g and to each release.
 */
lg_counteval_snap_t *lg_counteval_snap_new(lg_countgeo_t *g, lg_counteval_rel_t *const *rels,
                                           size_t n, int64_t horizon_us);

/* The snapshot's geometry (borrowed). */
lg_countgeo_t *lg_counteval_snap_geo(const lg_counteval_snap_t *s);

/* Number of releases held. */
size_t lg_counteval_snap_releases(const lg_counteval_snap_t *s);

/* Release i of the snapshot, in ascending id order (borrowed). */
lg_counteval_rel_t *lg_counteval_snap_release(const lg_counteval_snap_t *s, size_t i);

/* Drops one reference. Accepts NULL. */
void lg_counteval_snap_unref(lg_counteval_snap_t *s);

/* ---- answers ---- */

/* The settings a query is checked against. */
typedef struct lg_counteval_params {
    int k;              /* answers below k are suppressed */
    double min_area_m2; /* size bounds of the area */
    double max_area_m2;
} lg_counteval_params_t;

typedef enum lg_counteval_outcome {
    LG_COUNTEVAL_ANSWERED = 1, /* status (and count) set */
    LG_COUNTEVAL_REFUSED,      /* code and message set: 400, as lg_counts_query's 22023 */
    LG_COUNTEVAL_FALLBACK,     /* not answerable from memory: ask lg_counts_query */
} lg_counteval_outcome_t;

/* What lg_counteval_answer decided. */
typedef struct lg_counteval_answer {
    lg_counteval_outcome_t outcome;
    const char *status; /* ANSWERED: "SUPPORTED_AREA", ... (constant) */
    bool has_count;     /* ANSWERED: the status carries a count */
    int64_t count;
    double area_m2;    /* the area's size on the sphere (audit) */
    double covered;    /* the covered share as decided (tests) */
    const char *code;  /* REFUSED: the CAMARA ErrorInfo code (constant) */
    char message[160]; /* REFUSED: lg_counts_area's message */
    int64_t *releases; /* ANSWERED: the ids of the releases used, ascending */
    size_t n_releases;
} lg_counteval_answer_t;

/*
 * Answers area (camara.c's) over the releases of s: the latest when
 * !has_interval, else those whose bucket lies in [start_us, end_us].
 * FALLBACK when the snapshot holds no release, when the interval starts
 * before its horizon, or when the area's polygon is one the evaluator does
 * not handle (a circle whose lon/lat polygon is not convex, a polygon the
 * ear clipper cannot split). Free with lg_counteval_answer_cleanup.
 */
void lg_counteval_answer(const lg_counteval_snap_t *s, const lg_planar_area_t *area,
                         bool has_interval, int64_t start_us, int64_t end_us,
                         const lg_counteval_params_t *p, lg_counteval_answer_t *out);

/* The answer as lg_counts_query's jsonb text ({"count": n, "status": "..."}). */
void lg_counteval_answer_json(const lg_counteval_answer_t *a, char *buf, size_t size);

/* Frees what an answer holds. */
void lg_counteval_answer_cleanup(lg_counteval_answer_t *a);

#endif
