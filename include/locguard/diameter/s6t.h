/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monitoring configuration at the HSS over S6t (TS 29.336). For each device
 * whose location the MMEs and SGSNs must report (sql/s6t.sql:
 * lg_s6t_wanted), locguard sends the HSS a Configuration-Information-
 * Request with a Monitoring-Event-Configuration: Monitoring-Type
 * LOCATION_REPORTING, an SCEF-Reference-ID it allocates, its SCEF-ID and a
 * Location-Information-Configuration (current location, CGI/ECGI
 * accuracy). The reference is kept in scef_reference with its device; when
 * the device no longer needs reporting, a CIR with SCEF-Reference-ID-for-
 * Deletion removes the configuration. The HSS relays the configuration to
 * the serving MME or SGSN, which then names the reference in each
 * Monitoring-Event-Report of its RIRs (diameter.h checks it here).
 *
 * All of it runs on the libevent loop: a timer starts a pass every
 * [diameter] hss_sync_s (one statement, lg_s6t_plan, says what to send);
 * freeDiameter's threads hand the answers back through a locked list and a
 * pipe, and one statement per wake-up (lg_s6t_record) stores them. The
 * live references are also kept in memory (refmap.h), loaded at start and
 * changed as the passes change the table, so checking a report costs no
 * statement. One daemon owns the table's changes (the passes of several
 * are serialised, but their maps are not shared).
 */
#ifndef LOCGUARD_DIAMETER_S6T_H
#define LOCGUARD_DIAMETER_S6T_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/diameter/dict.h"
#include "locguard/diameter/peers.h"

#include <event2/event.h>

typedef struct lg_s6t lg_s6t_t;

/*
 * The S6t client of cfg (its hss, hss_realm, timers; borrowed: must outlive
 * it), building messages with dict (borrowed), storing in db, counting in
 * metrics (the loop's). Its first pass starts at once. NULL on failure
 * (logged). Call after freeDiameter started.
 */
lg_s6t_t *lg_s6t_new(struct event_base *base, const lg_diameter_config_t *cfg,
                     const lg_dia_dict_t *dict, lg_db_t *db, lg_metrics_t *metrics);

/* Whether the references are loaded from the database (before that no report can be checked). */
bool lg_s6t_is_loaded(const lg_s6t_t *s6t);

/* Whether ref is a live SCEF-Reference-ID of the user imsi (configuring or active). */
bool lg_s6t_ref_is_users(const lg_s6t_t *s6t, uint32_t ref, const char *imsi);

/*
 * Frees s6t. Call once freeDiameter has stopped (no answer callback can
 * run) and after lg_db_free (its completions have run). Answers that did
 * not come are not recorded: their rows are sent again by a later pass.
 * Accepts NULL.
 */
void lg_s6t_free(lg_s6t_t *s6t);

#endif
