/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SCEF-Reference-IDs locguard has configured at the HSS (s6t.h), in
 * memory: reference -> the IMSI of its device. A Reporting-Information-
 * Request's Monitoring-Event-Reports are checked against it on the loop,
 * without a statement per report: a reference that is not here, or that
 * belongs to another user, is refused. Loaded from scef_reference at
 * start and kept by the S6t client as it changes the table. An
 * open-addressing hash table (linear probing, backward-shift deletion);
 * plain data, no I/O.
 */
#ifndef LOCGUARD_DIAMETER_REFMAP_H
#define LOCGUARD_DIAMETER_REFMAP_H

#include "locguard/core/common.h"

typedef struct lg_refmap lg_refmap_t;

/* An empty map. */
lg_refmap_t *lg_refmap_new(void);

/* Frees map. Accepts NULL. */
void lg_refmap_free(lg_refmap_t *map);

/* Empties map (before a reload). */
void lg_refmap_clear(lg_refmap_t *map);

/*
 * Sets ref (not 0) to the user imsi (copied; 5..15 digits). Replaces what ref
 * named. LG_ERR for ref 0 or an IMSI that does not fit.
 */
LG_MUST_CHECK int lg_refmap_put(lg_refmap_t *map, uint32_t ref, const char *imsi);

/* Removes ref; nothing when absent. */
void lg_refmap_remove(lg_refmap_t *map, uint32_t ref);

/* The IMSI ref names (valid until ref is changed or removed), or NULL. */
const char *lg_refmap_get(const lg_refmap_t *map, uint32_t ref);

/* How many references map holds. */
size_t lg_refmap_size(const lg_refmap_t *map);

#endif
