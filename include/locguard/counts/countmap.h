/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory count evaluator: answers a CAMARA region device count from
 * the noisy releases held in process memory, computing exactly what
 * sql/counts.sql lg_counts_query documents (the same 64-point circle, planar
 * shares in billionths, exact integer sum and rounding half away from zero,
 * k suppression, the same statuses in the same order, the same refusals).
 *
 * Three layers:
 *   - a geometry (lg_countgeo_t): every cell of count_cell with its coverage
 *     rings and planar area, indexed on a grid of squares by the centre of
 *     each cell's bounding box, and the coverage pieces of
 *     count_coverage_piece; built from WKB (the loader) or from rings
 *     (tests), then frozen by lg_countgeo_finish;
 *   - releases (lg_countrel_t): one per count_release, the noisy count of
 *     each cell of one geometry, plus per-square sums;
 *   - a snapshot (lg_countsnap_t): a geometry and the releases kept, with
 *     the horizon from which the kept releases are complete. Immutable once
 *     made; lg_countsnap_answer is pure and allocation-light.
 *
 * And the live map (lg_countmap_t), which keeps a snapshot current from the
 * database through the asynchronous pool: a poll every poll_ms
 * (lg_counts_releases_since: the cell table's version and the ids of the
 * releases to keep), a geometry load when the cell table changed
 * (lg_counts_geo), one round trip per new release (lg_counts_release_noisy),
 * then a new snapshot swapped in, on the loop thread. Releases whose bucket
 * starts more than keep_days before now are dropped, except the latest.
 */
#ifndef LOCGUARD_COUNTMAP_H
#define LOCGUARD_COUNTMAP_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/counts/planar.h"

#include <event2/event.h>
#include <jansson.h>

#define LG_COUNT_SHARE_ONE INT64_C(1000000000) /* a whole cell, in billionths */

typedef struct lg_countgeo lg_countgeo_t;
typedef struct lg_countrel lg_countrel_t;
typedef struct lg_countsnap lg_countsnap_t;
typedef struct lg_countmap lg_countmap_t;

/* ---- geometry ---- */

/* A new, empty geometry of cell table version version. */
lg_countgeo_t *lg_countgeo_new(int64_t version);

/*
 * Adds the next cell (cells must come in cell_key order, as count_cell and
 * lg_counts_release_noisy order them) or, when is_piece, a coverage piece,
 * from its rings: ring i has ring_len[i] points (no closing repeat) taken in
 * turn from pts, a hole when is_hole[i].
 */
void lg_countgeo_add_rings(lg_countgeo_t *g, bool is_piece, const lg_pt_t *pts,
                           const size_t *ring_len, const bool *is_hole, size_t n_rings);

/*
 * Adds the next cell or piece from its WKB (Polygon, MultiPolygon, or a
 * GeometryCollection of those; 2D). Returns LG_ERR, adding nothing, for
 * anything else or a truncated buffer.
 */
LG_MUST_CHECK int lg_countgeo_add_wkb(lg_countgeo_t *g, bool is_piece, const unsigned char *wkb,
                                      size_t len);

/* Builds the grid index; call once, after the last add. */
void lg_countgeo_finish(lg_countgeo_t *g);

/* Number of cells. */
size_t lg_countgeo_cells(const lg_countgeo_t *g);

/* Drops one reference (the creator holds the first). Accepts NULL. */
void lg_countgeo_unref(lg_countgeo_t *g);

/* ---- releases ---- */

/*
 * A release of geometry g (finished): id, bucket [start_us, end_us), and
 * noisy[i] for cell i (n must equal lg_countgeo_cells(g)); takes ownership
 * of noisy (malloc'd). Holds a reference to g.
 */
lg_countrel_t *lg_countrel_new(lg_countgeo_t *g, int64_t id, int64_t start_us, int64_t end_us,
                               int64_t *noisy, size_t n);

/* Drops one reference. Accepts NULL. */
void lg_countrel_unref(lg_countrel_t *r);

/* ---- snapshots ---- */

/*
 * A snapshot of geometry g and the n releases rels (each of g), complete
 * for buckets starting at or after horizon_us (the latest release may be
 * older). Takes a reference to g and to each release.
 */
lg_countsnap_t *lg_countsnap_new(lg_countgeo_t *g, lg_countrel_t *const *rels, size_t n,
                                 int64_t horizon_us);

/* Drops one reference. Accepts NULL. */
void lg_countsnap_unref(lg_countsnap_t *s);

/* A CAMARA area, as camara.c normalises it. */
typedef struct lg_count_area {
    bool is_circle;
    double lat, lon, radius_m; /* CIRCLE */
    lg_pt_t boundary[16];      /* POLYGON: x = longitude, y = latitude */
    size_t n_boundary;
} lg_count_area_t;

/* Reads a normalised area (camara.c's output); LG_ERR when it is not one. */
LG_MUST_CHECK int lg_count_area_from_json(const json_t *area, lg_count_area_t *out);

/* The settings a query is checked against. */
typedef struct lg_count_params {
    int k;              /* answers below k are suppressed */
    double min_area_m2; /* size bounds of the area */
    double max_area_m2;
} lg_count_params_t;

typedef enum lg_count_outcome {
    LG_COUNT_ANSWERED = 1, /* status (and count) set */
    LG_COUNT_REFUSED,      /* code and message set: 400, as lg_counts_query's 22023 */
    LG_COUNT_FALLBACK,     /* not answerable from memory: ask lg_counts_query */
} lg_count_outcome_t;

/* What lg_countsnap_answer decided. */
typedef struct lg_count_answer {
    lg_count_outcome_t outcome;
    const char *status; /* ANSWERED: "SUPPORTED_AREA", ... (constant) */
    bool has_count;     /* ANSWERED: the status carries a count */
    int64_t count;
    double area_m2;    /* the area's size on the sphere (audit) */
    double covered;    /* the covered share as decided (tests) */
    const char *code;  /* REFUSED: the CAMARA ErrorInfo code (constant) */
    char message[160]; /* REFUSED: lg_counts_area's message */
    int64_t *releases; /* ANSWERED: the ids of the releases used, ascending */
    size_t n_releases;
} lg_count_answer_t;

/*
 * Answers area over the releases of s: the latest when !has_interval, else
 * those whose bucket lies in [start_us, end_us]. FALLBACK when the snapshot
 * holds no release, when the interval starts before its horizon, or when the area's polygon is one
 * the evaluator does not handle (a circle whose lon/lat polygon is not convex, a polygon the ear
 * clipper cannot split). Free with lg_count_answer_cleanup.
 */
void lg_countsnap_answer(const lg_countsnap_t *s, const lg_count_area_t *area, bool has_interval,
                         int64_t start_us, int64_t end_us, const lg_count_params_t *p,
                         lg_count_answer_t *out);

/* The answer as lg_counts_query's jsonb text ({"count": n, "status": "..."}). */
void lg_count_answer_json(const lg_count_answer_t *a, char *buf, size_t size);

/* Frees what an answer holds. */
void lg_count_answer_cleanup(lg_count_answer_t *a);

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
const lg_countsnap_t *lg_countmap_snapshot(const lg_countmap_t *m);

/* Number of snapshots swapped in so far (tests wait on it). */
uint64_t lg_countmap_generation(const lg_countmap_t *m);

#endif
