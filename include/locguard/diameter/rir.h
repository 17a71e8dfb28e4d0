/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Reporting-Information-Request (TS 29.128 over T6a from an MME, T6b from
 * an SGSN) read into the report batch the group commit takes (lg_batch_t,
 * the shape the HTTP southbound builds): the user from User-Identifier's
 * User-Name (the IMSI), one report per Monitoring-Event-Report from its
 * EPS-Location-Information (TS 29.272: MME-Location-Information's
 * E-UTRAN-Cell-Global-Identity, or SGSN-Location-Information's
 * Cell-Global-Identity, Service-Area-Identity or Routing-Area-Identity;
 * Geographical-Information; Age-Of-Location-Information for its time).
 * What is wrong is said as the Diameter answer should: a result code and
 * the AVP for Failed-AVP. Reads a message freeDiameter has parsed against
 * the dictionary (dict.h); no I/O, no global state.
 */
#ifndef LOCGUARD_DIAMETER_RIR_H
#define LOCGUARD_DIAMETER_RIR_H

#include "locguard/diameter/dict.h"
#include "locguard/south/report.h"

/* Result codes of RFC 6733 §7.1 that a RIR can earn here. */
#define LG_DIA_SUCCESS                   2001u
#define LG_DIA_TOO_BUSY                  3004u
#define LG_DIA_INVALID_AVP_VALUE         5004u
#define LG_DIA_MISSING_AVP               5005u
#define LG_DIA_AVP_OCCURS_TOO_MANY_TIMES 5009u
#define LG_DIA_UNABLE_TO_COMPLY          5012u

/* Why a RIR is refused: the answer's result code and its Failed-AVP. */
typedef struct lg_rir_error {
    uint32_t result_code;    /* LG_DIA_MISSING_AVP, LG_DIA_INVALID_AVP_VALUE, ... */
    struct avp *bad;         /* the offending AVP of the request (not owned), or NULL */
    uint32_t missing_code;   /* for LG_DIA_MISSING_AVP: the missing AVP's code */
    uint32_t missing_vendor; /* ... and vendor (0 for the base protocol's) */
    const char *reason;      /* a constant phrase for the log and the Error-Message */
} lg_rir_error_t;

/*
 * Reads rir into out (zeroed here; out->node is left empty: the caller
 * knows the peer). lim bounds the reports (max_reports Monitoring-Event-
 * Reports) and their age (now_us - Age-Of-Location-Information minutes must
 * be within max_age_us). Returns LG_OK with out->reports filled, or LG_ERR
 * with err saying why and out empty. Release out with lg_batch_cleanup.
 */
LG_MUST_CHECK int lg_rir_read(struct msg *rir, const lg_report_limits_t *lim, lg_batch_t *out,
                              lg_rir_error_t *err);

/*
 * The SCEF-Reference-ID of each of rir's Monitoring-Event-Reports, in order,
 * into refs[0..n) and (when avps is not NULL) the AVP holding it into
 * avps[0..n) (not owned: parts of rir). n is the number of reports
 * lg_rir_read found. LG_ERR when a report has none or its value is not
 * understood (the stack's dictionary rules answer that first).
 */
LG_MUST_CHECK int lg_rir_refs(struct msg *rir, uint32_t *refs, struct avp **avps, size_t n);

/*
 * Canonical cell keys (report.h) from TS 29.272 / TS 23.003 octets: a PLMN
 * (3 BCD octets) followed by the identity. Each returns LG_ERR for a wrong
 * length or a non-BCD digit. Also used by the simulator's tests.
 */
LG_MUST_CHECK int lg_rir_ecgi_key(const uint8_t *v, size_t len, char key[LG_CELL_KEY_MAX]);
LG_MUST_CHECK int lg_rir_cgi_key(const char *prefix, const uint8_t *v, size_t len,
                                 char key[LG_CELL_KEY_MAX]); /* "cgi" (7 octets) or "sai" */
LG_MUST_CHECK int lg_rir_rai_key(const uint8_t *v, size_t len, char key[LG_CELL_KEY_MAX]);

/* Encodes "<mcc>-<mnc>" (3 + 2 or 3 digits) as the 3 BCD octets of TS 24.008 / TS 23.003. */
LG_MUST_CHECK int lg_rir_plmn_encode(const char *plmn, uint8_t out[3]);

#endif
