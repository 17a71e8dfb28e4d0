/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T8 MonitoringEvent request validator (TS 29.122 §5.3): checks a
 * MonitoringEventSubscription body sent by an SCS/AS and turns it into the
 * normalised JSON object that the sql/northbound.sql functions take
 * (lg_t8_sub_create, lg_t8_sub_put). Every problem is reported as a
 * ProblemDetails invalidParam (a JSON pointer with a reason). Pure: no I/O,
 * no global state, so unit tests and the libFuzzer driver call it directly.
 */
#ifndef LOCGUARD_T8_H
#define LOCGUARD_T8_H

#include "locguard/common.h"
#include "locguard/report.h" /* lg_invalid_param_t, LG_INVALID_MAX */

#include <jansson.h>

/* Longest externalId / externalGroupId accepted (the ue.external_id bound). */
#define LG_T8_EXTERNAL_ID_MAX 255

/* Largest maximumNumberOfReports accepted (sql/northbound.sql's bound too). */
#define LG_T8_MAX_REPORTS_MAX 1000000000

/* Longest notificationDestination / revocationNotifUri accepted. */
#define LG_T8_URI_MAX 2048

/*
 * ProblemDetails causes of a refused subscription body (TS 29.500 table
 * 5.2.7.2-1, the common application errors TS 29.122 APIs reuse). Compare by
 * pointer or by content.
 */
extern const char lg_t8_cause_invalid_msg_format[]; /* "INVALID_MSG_FORMAT": not a JSON object */
extern const char lg_t8_cause_ie_missing[];         /* "MANDATORY_IE_MISSING" */
extern const char lg_t8_cause_ie_incorrect[];       /* "MANDATORY_IE_INCORRECT" */
extern const char lg_t8_cause_optional_incorrect[]; /* "OPTIONAL_IE_INCORRECT" */

/*
 * Validates one MonitoringEventSubscription body of len bytes (not
 * necessarily NUL-terminated) at time now_us (microseconds since the epoch).
 *
 * Accepted (everything else listed in TS 29.122 is ignored unless refused
 * below; the read-only "self" is ignored):
 *   - exactly one of externalId / externalGroupId: "<local>@<domain>", at
 *     most LG_T8_EXTERNAL_ID_MAX bytes, local part printable ASCII without
 *     "@", domain dot-separated non-empty labels of [A-Za-z0-9_-];
 *   - monitoringType "LOCATION_REPORTING" (required; the other TS 29.122
 *     MonitoringType values are refused as not supported);
 *   - notificationDestination (required) and revocationNotifUri: absolute
 *     https URIs with a host, no userinfo, no fragment, printable ASCII, at
 *     most LG_T8_URI_MAX bytes;
 *   - maximumNumberOfReports (integer 1..LG_T8_MAX_REPORTS_MAX) and/or monitorExpireTime
 *     (RFC 3339 with offset, after now_us): at least one of them, as the
 *     schema's anyOf requires (one-time reporting is maximumNumberOfReports
 *     = 1, TS 29.122 §4.4.2.2);
 *   - locationType CURRENT_LOCATION | LAST_KNOWN_LOCATION (default
 *     CURRENT_LOCATION), accuracy CGI_ECGI | TA_RA | GEO_AREA (default
 *     CGI_ECGI);
 *   - requestTestNotification, immediateRep: booleans.
 * Refused when present: msisdn (MSISDNs are never taken from outside), the
 * group-modification members addedExternalIds, addedMsisdns,
 * excludedExternalIds, excludedMsisdns, addExtGroupId, the other UE
 * identifications ipv4Addr, ipv6Addr, ueIpAddr, ueMacAddr, and addnMonTypes.
 *
 * On success returns LG_OK and sets *normalised to a new object the caller
 * owns (json_decref) with the keys externalId | externalGroupId,
 * monitoringType, notificationDestination, maximumNumberOfReports?,
 * monitorExpireTime? (re-formatted "YYYY-MM-DDThh:mm:ss.mmmZ", UTC),
 * locationType, accuracy, requestTestNotification?, revocationNotifUri?,
 * immediateRep? (? = only when sent); *n_invalid is 0 and *cause NULL.
 *
 * Otherwise returns LG_ERR with *normalised NULL, *n_invalid the number of
 * problems found (> 0), the first LG_INVALID_MAX of them in invalid (which
 * must have room for LG_INVALID_MAX entries; the root is the pointer ""),
 * and *cause one of the lg_t8_cause_* strings: INVALID_MSG_FORMAT when the
 * body is not a JSON object (malformed, duplicate member, nested deeper than
 * 32 levels), else MANDATORY_IE_MISSING when a required member is absent,
 * else MANDATORY_IE_INCORRECT when a required member is wrong (an
 * unsupported monitoringType included), else OPTIONAL_IE_INCORRECT. Never
 * aborts on bad input.
 */
LG_MUST_CHECK int lg_t8_validate_subscription(const char *body, size_t len, int64_t now_us,
                                              json_t **normalised, lg_invalid_param_t *invalid,
                                              size_t *n_invalid, const char **cause);

/*
 * True when s (len bytes) is an External Identifier or External Group
 * Identifier in the form accepted above.
 */
bool lg_t8_is_external_id(const char *s, size_t len);

/* True when s (len bytes) is a notification URI in the form accepted above. */
bool lg_t8_is_notification_uri(const char *s, size_t len);

#endif
