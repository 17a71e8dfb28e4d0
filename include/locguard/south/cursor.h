/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the southbound parser is in a batch, and the invalidParams it
 * records there. report.c (the envelope and each report) and location.c
 * (one report's location) read members through a cursor, so that every
 * problem is recorded once, bounded, at its JSON pointer
 * ("/reportList/3/location/eutraLocation/ecgi/eutraCellId"), whichever of
 * them found it. Pure: no I/O, no allocation.
 */
#ifndef LOCGUARD_SOUTH_CURSOR_H
#define LOCGUARD_SOUTH_CURSOR_H

#include "locguard/south/report.h"

#include <cjson/cJSON.h>

/* Member names kept below a report; the deepest is location/eutraLocation/ecgi/plmnId. */
#define LG_CURSOR_SEGS_MAX 6

/*
 * A position in the batch being parsed. Embedded by the parser: initialise
 * with {.out = batch}; push and pop member names as the parse goes down and
 * up. The names are borrowed, and must outlive their push.
 */
typedef struct lg_cursor {
    lg_batch_t *out;                     /* receives the invalidParams */
    bool in_report;                      /* true while reading reportList[report_idx] */
    size_t report_idx;                   /* index of the report being read */
    const char *seg[LG_CURSOR_SEGS_MAX]; /* member names from the report down */
    size_t n_seg;                        /* names pushed (past LG_CURSOR_SEGS_MAX: not kept) */
} lg_cursor_t;

/* Goes down into member seg of the current object (inline: called for every member read). */
static inline void lg_cursor_push(lg_cursor_t *c, const char *seg)
{
    if (c->n_seg < LG_CURSOR_SEGS_MAX)
        c->seg[c->n_seg] = seg;
    c->n_seg++;
}

/* Goes back up to the object the last lg_cursor_push went down from. */
static inline void lg_cursor_pop(lg_cursor_t *c)
{
    c->n_seg--;
}

/*
 * Records one invalid parameter at the cursor, with leaf (a member name, or
 * NULL for the current object itself) appended to its pointer; "body" when
 * that names the document. Only the first LG_INVALID_MAX are kept in
 * c->out; all are counted in c->out->n_invalid.
 */
void lg_cursor_invalid(lg_cursor_t *c, const char *leaf, const char *reason);

/* Records one invalid parameter at pointer, a JSON pointer ("" for the document), as above. */
void lg_cursor_invalid_at(lg_cursor_t *c, const char *pointer, const char *reason);

/*
 * Finds the string member key of obj: sets *s to its value (owned by obj)
 * and *n to its length and returns true, or records "required" or "must be
 * a string" at the cursor and returns false.
 */
bool lg_cursor_need_string(lg_cursor_t *c, const cJSON *obj, const char *key, const char **s,
                           size_t *n);

/* Finds the object member key of obj, or records "required" or "must be an object" and returns
 * NULL. */
const cJSON *lg_cursor_need_object(lg_cursor_t *c, const cJSON *obj, const char *key);

#endif
