/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound batch parser: a TS 29.518 AmfEventNotification carrying
 * LOCATION_REPORT AmfEventReports with a TS 29.571 UserLocation, turned into
 * plain bounded structs ready for the group commit. Every field is checked;
 * a bad batch yields a list of invalid parameters (JSON pointers with a
 * reason) for the ProblemDetails answer. Each report's location is decoded
 * by locguard/south/location.h (which also has the TS 23.032 position
 * codec); problems are recorded through locguard/south/cursor.h. Pure: no
 * I/O, no global state beyond a per-thread arena for cJSON, so unit tests
 * and the libFuzzer driver call it directly.
 */
#ifndef LOCGUARD_REPORT_H
#define LOCGUARD_REPORT_H

#include "locguard/core/common.h"

/* Radio access technology of the reported location. */
typedef enum lg_rat {
    LG_RAT_EUTRA = 1, /* eutraLocation: ECGI (+TAI), from an MME */
    LG_RAT_NR,        /* nrLocation: NCGI (+TAI), from an AMF */
    LG_RAT_UTRA,      /* utraLocation: CGI, SAI or RAI, from an SGSN */
    LG_RAT_GERA,      /* geraLocation: CGI, SAI or RAI, from an SGSN */
} lg_rat_t;

/* "EUTRA", "NR", "UTRA" or "GERA". */
const char *lg_rat_name(lg_rat_t rat);

#define LG_SUPI_MAX 16      /* 15 IMSI digits + NUL */
#define LG_CELL_KEY_MAX 40  /* longest canonical key + NUL */
#define LG_NODE_NAME_MAX 64 /* node names: [A-Za-z0-9._-]{1,63} */
#define LG_MSG_KEY_MAX 272  /* a message key: a DiameterIdentity, a space, 8 hex digits + NUL */

/*
 * One location report.
 *
 * cell_key is the canonical identifier of the reported cell or area, used as
 * the primary key of the `cell` table:
 *   ecgi:<mcc>-<mnc>:<eutraCellId, 7 upper-case hex>     (E-UTRA)
 *   ncgi:<mcc>-<mnc>:<nrCellId, 9 upper-case hex>        (NR)
 *   cgi:<mcc>-<mnc>:<lac 4 hex>:<cellId 4 hex>           (UTRA/GERA CGI)
 *   sai:<mcc>-<mnc>:<lac 4 hex>:<sac 4 hex>              (UTRA/GERA SAI)
 *   rai:<mcc>-<mnc>:<lac 4 hex>:<rac 2 hex>              (UTRA/GERA RAI)
 * mnc keeps its 2 or 3 digits as sent. For UTRA/GERA the most precise of
 * cgi, sai, rai present is used.
 *
 * A position is present when the location carries geographicalInformation
 * (TS 23.032 §7.3.2 "ellipsoid point with uncertainty circle", 16 hex digits:
 * shape 0x10, 24-bit latitude with sign bit, 24-bit two's complement
 * longitude, uncertainty code k giving r = 10 * (1.1^k - 1) metres;
 * lg_location_decode_gad).
 */
typedef struct lg_report {
    char supi[LG_SUPI_MAX];          /* IMSI digits only ("imsi-" stripped), 5..15 digits */
    int64_t ts_us;                   /* report timeStamp, microseconds since the epoch */
    lg_rat_t rat;                    /* which location member was present */
    char cell_key[LG_CELL_KEY_MAX];  /* canonical cell key, see above */
    bool has_position;               /* true when lat/lon/uncertainty are set */
    double lat_deg;                  /* WGS84 latitude, -90..90 */
    double lon_deg;                  /* WGS84 longitude, -180..180 */
    double uncertainty_m;            /* radius of the uncertainty circle, metres */
} lg_report_t;

/* One entry of ProblemDetails.invalidParams. */
typedef struct lg_invalid_param {
    char param[96];  /* JSON pointer of the offending member ("/reportList/3/supi"), "body",
                        or "header <Name>" */
    char reason[96]; /* short reason, e.g. "must match imsi-<5..15 digits>" */
} lg_invalid_param_t;

#define LG_INVALID_MAX 16 /* invalidParams listed at most; the rest are counted */

/* Bounds applied while parsing. */
typedef struct lg_report_limits {
    size_t max_reports;   /* reports per batch, e.g. 1000 */
    int64_t now_us;       /* the present, for timestamp bounds */
    int64_t max_age_us;   /* a report's timeStamp may be at most this old */
    int64_t max_skew_us;  /* ... and at most this far in the future */
} lg_report_limits_t;

/* A parsed batch. Initialise with {0}; release with lg_batch_cleanup. */
typedef struct lg_batch {
    char node[LG_NODE_NAME_MAX];        /* notifyCorrelationId: the node's own name */
    char msg_key[LG_MSG_KEY_MAX];       /* empty, or the message's key instead of a sequence
                                           number: a Diameter request's "Origin-Host E2E-id"
                                           (the group commit's duplicate window) */
    size_t n_reports;                   /* number of entries in reports */
    lg_report_t *reports;               /* owned, n_reports entries */
    size_t n_invalid;                   /* total invalid parameters found */
    lg_invalid_param_t invalid[LG_INVALID_MAX]; /* the first LG_INVALID_MAX of them */
} lg_batch_t;

/*
 * Parses and validates one AmfEventNotification body of len bytes (not
 * necessarily NUL-terminated). First every member the TS 29.518 / TS 29.571
 * YAML constrains is checked against it (types, patterns, ranges, formats,
 * required members, oneOf/anyOf; members locguard does not use included;
 * members the YAML does not name are ignored). Then, in the reports the YAML
 * accepts, locguard's own rules: notifyCorrelationId (a node name) and a
 * reportList of 1..lim->max_reports entries are required, each with type
 * "LOCATION_REPORT", supi "imsi-<5..15 digits>", timeStamp within the limits,
 * and location with exactly one of eutraLocation, nrLocation, utraLocation,
 * geraLocation naming a cell or area (not a lone lai, not an ignored cell).
 * Numbers beyond a double (1e400) are refused wherever the YAML types them.
 *
 * Returns LG_OK with out->reports filled, or LG_ERR with out->n_invalid > 0
 * and out->invalid describing the problems (out->reports is then NULL):
 * each names a JSON pointer, or "body" for the document as a whole. Never
 * aborts on bad input. The caller releases out with lg_batch_cleanup.
 */
LG_MUST_CHECK int lg_report_parse_batch(const char *body, size_t len,
                                        const lg_report_limits_t *lim, lg_batch_t *out);

/* Frees what lg_report_parse_batch allocated; accepts a zeroed batch. */
void lg_batch_cleanup(lg_batch_t *batch);

/*
 * Parses the Locguard-Seq header: a decimal integer 1..2^63-1 with no sign,
 * no leading zeros, no spaces. Returns LG_ERR otherwise.
 */
LG_MUST_CHECK int lg_report_parse_seq(const char *s, int64_t *out);

#endif
