/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The diameter zone: MMEs (T6a) and SGSNs (T6b) report monitoring events
 * with Reporting-Information-Requests (TS 29.128), as real ones do. Built on
 * freeDiameter (libfdcore), which runs its own threads: it accepts only the
 * configured peers over TLS (or plain TCP inside an NDS/IP domain), does the
 * capabilities exchange and the watchdog, checks each message against the
 * dictionary (dict.h), and hands each RIR to this module. The request
 * crosses to the libevent loop through a locked queue and a pipe; there it
 * is checked (Origin-Host must be the peer it came from, rir.h reads it),
 * its user looked up, and the batch submitted to the group commit like an
 * HTTP batch. The answer is sent from the loop: DIAMETER_SUCCESS only after
 * COMMIT; 5005/5004 with Failed-AVP, DIAMETER_ERROR_USER_UNKNOWN or 3004
 * otherwise, with nothing of the request stored. With an HSS configured
 * ([diameter] hss), the zone also runs the S6t client (s6t.h) that
 * configures location reporting there, and each report's SCEF-Reference-ID
 * must be one it configured for the user (else
 * DIAMETER_ERROR_SCEF_REFERENCE_ID_UNKNOWN, 5515).
 */
#ifndef LOCGUARD_DIAMETER_H
#define LOCGUARD_DIAMETER_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/south/ingest.h"
#include "locguard/diameter/peers.h"
#include "locguard/south/report.h"

#include <event2/event.h>

typedef struct lg_diameter lg_diameter_t;

/* The checks a RIR's reports get (from "[ingest]", as the southbound zone's). */
typedef struct lg_diameter_limits {
    int max_batch_reports; /* Monitoring-Event-Reports per request */
    int report_max_age_s;  /* Age-Of-Location-Information at most this */
} lg_diameter_limits_t;

/*
 * Starts freeDiameter with cfg (copied) and the dictionary, and listens.
 * Requests are handed to base's loop; batches go to ingest, users are
 * looked up in db. NULL on failure (logged). freeDiameter is process-wide:
 * one zone per process.
 */
lg_diameter_t *lg_diameter_new(struct event_base *base, const lg_diameter_config_t *cfg,
                               const lg_diameter_limits_t *lim, lg_db_t *db, lg_ingest_t *ingest,
                               lg_metrics_t *metrics);

/* The port bound (the configured one). */
int lg_diameter_port(const lg_diameter_t *dia);

/*
 * Stops freeDiameter (its threads joined) and frees. Call after lg_db_free
 * and lg_ingest_free: their completions answer the requests waiting for a
 * lookup or a commit (3004 when the database went away), and those answers
 * still go out. Requests the loop has not taken yet are dropped unanswered
 * (the peer resends them). Accepts NULL.
 */
void lg_diameter_free(lg_diameter_t *dia);

#endif
