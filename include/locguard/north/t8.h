/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T8 MonitoringEvent request validator (TS 29.122 §5.3): checks a
 * MonitoringEventSubscription body sent by an SCS/AS and turns it into the
 * normalised JSON object that the sql/northbound.sql functions take
 * (lg_t8_sub_create, lg_t8_sub_put); the PATCH body is t8_patch.h's.
 * Every problem is reported as a ProblemDetails invalidParam (a JSON
 * pointer with a reason). Pure: no I/O, no global state, so unit tests and
 * the libFuzzer driver call it directly.
 */
#ifndef LOCGUARD_T8_H
#define LOCGUARD_T8_H

#include "locguard/core/common.h"
#include "locguard/north/t8_problems.h" /* the causes, lg_invalid_param_t */

#include <jansson.h>

/* Longest externalId / externalGroupId accepted (the ue.external_id bound). */
#define LG_T8_EXTERNAL_ID_MAX 255

/* Largest maximumNumberOfReports accepted (sql/northbound.sql's bound too). */
#define LG_T8_MAX_REPORTS_MAX 1000000000

/* Longest notificationDestination / revocationNotifUri accepted. */
#define LG_T8_URI_MAX 2048

/* Bounds of repPeriod (seconds) for NUMBER_OF_UES_IN_AN_AREA. */
#define LG_T8_REP_PERIOD_MIN_S 60
#define LG_T8_REP_PERIOD_MAX_S 31536000

/*
 * The MonitoringEvent API features this SCEF supports, as a TS 29.500
 * §6.6 SupportedFeatures bitmask (hex, the last character holding features
 * 1 to 4). None of the optional features of TS 29.122 table 5.3.4-1 is
 * supported yet: negotiation answers zeros.
 */
#define LG_T8_FEATURES ""

/* Longest supportedFeatures string accepted (1024 features). */
#define LG_T8_FEATURES_MAX 256

/* Bounds of a POINT_UNCERTAINTY_CIRCLE's uncertainty (its radius, metres). */
#define LG_T8_AREA_RADIUS_MIN_M 1
#define LG_T8_AREA_RADIUS_MAX_M 20000000

/*
 * Validates one MonitoringEventSubscription body of len bytes (not
 * necessarily NUL-terminated) at time now_us (microseconds since the epoch).
 *
 * Accepted (everything else listed in TS 29.122 is ignored unless refused
 * below; the read-only "self" is ignored):
 *   - monitoringType (required) "LOCATION_REPORTING" or
 *     "NUMBER_OF_UES_IN_AN_AREA"; the other TS 29.122 MonitoringType values
 *     are refused as not supported;
 *   - LOCATION_REPORTING: exactly one of externalId / externalGroupId:
 *     "<local>@<domain>", at most LG_T8_EXTERNAL_ID_MAX bytes, local part
 *     printable ASCII without "@", domain dot-separated non-empty labels of
 *     [A-Za-z0-9_-];
 *   - NUMBER_OF_UES_IN_AN_AREA: neither externalId nor externalGroupId (a
 *     count names no device; both are refused); locationArea or (5G)
 *     locationArea5G (one of them is required, not both; the name sent is
 *     kept) with geographicAreas holding exactly one TS 29.572 GeographicArea,
 *     shape POINT_UNCERTAINTY_CIRCLE (point {lon -180..180, lat -90..90},
 *     uncertainty = radius in metres, LG_T8_AREA_RADIUS_MIN_M..MAX_M) or
 *     POLYGON (pointList of 3 to 15 points); the other LocationArea members
 *     (cellIds, enodeBIds, routingAreaIds, trackingAreaIds, civicAddresses,
 *     nwAreaInfo) and the other shapes are refused; repPeriod (integer
 *     seconds, LG_T8_REP_PERIOD_MIN_S..MAX_S) and/or immediateRep true
 *     (one of them is required: counts are reported at once or
 *     periodically, never on events); locationType and accuracy are
 *     ignored. Whether the polygon is simple and the area's size within
 *     the configured bounds is checked by sql/area_reports.sql;
 *   - notificationDestination (required) and revocationNotifUri: absolute
 *     https URIs with a host, no userinfo, no fragment, printable ASCII, at
 *     most LG_T8_URI_MAX bytes;
 *   - maximumNumberOfReports (integer 1..LG_T8_MAX_REPORTS_MAX) and/or monitorExpireTime
 *     (RFC 3339 with offset, after now_us): at least one of them, as the
 *     schema's anyOf requires (one-time reporting is maximumNumberOfReports
 *     = 1, TS 29.122 §4.4.2.2);
 *   - LOCATION_REPORTING: locationType CURRENT_LOCATION |
 *     LAST_KNOWN_LOCATION (default CURRENT_LOCATION), accuracy CGI_ECGI |
 *     TA_RA | GEO_AREA (default CGI_ECGI); locationArea and repPeriod are
 *     ignored;
 *   - requestTestNotification, immediateRep: booleans.
 * Refused when present: msisdn (MSISDNs are never taken from outside), the
 * group-modification members addedExternalIds, addedMsisdns,
 * excludedExternalIds, excludedMsisdns, addExtGroupId, the other UE
 * identifications ipv4Addr, ipv6Addr, ueIpAddr, ueMacAddr, and addnMonTypes.
 *
 * On success returns LG_OK and sets *normalised to a new object the caller
 * owns (json_decref) with the keys monitoringType, notificationDestination,
 * maximumNumberOfReports?, monitorExpireTime? (re-formatted
 * "YYYY-MM-DDThh:mm:ss.mmmZ", UTC), requestTestNotification?,
 * revocationNotifUri?, immediateRep? (? = only when sent), and
 *   LOCATION_REPORTING:        externalId | externalGroupId, locationType,
 *                              accuracy;
 *   NUMBER_OF_UES_IN_AN_AREA:  locationArea | locationArea5G
 *                              {geographicAreas: [one area:
 *                              shape, point {lon, lat} and uncertainty, or
 *                              shape and pointList; numbers as reals]},
 *                              repPeriod?;
 * supportedFeatures? (the features both sides support, see
 * lg_t8_negotiate_features); *n_invalid is 0 and *cause NULL.
 *
 * Otherwise returns LG_ERR with *normalised NULL, *n_invalid the number of
 * problems found (> 0), the first LG_INVALID_MAX of them in invalid (which
 * must have room for LG_INVALID_MAX entries; the root is the pointer ""),
 * and *cause one of the lg_t8_cause_* strings (t8_problems.h): INVALID_MSG_FORMAT when the
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
 * TS 29.500 §6.6.2 feature negotiation: writes to out (room for len + 1
 * bytes) the SupportedFeatures the answer carries: the requested string
 * (len hex digits, checked by the caller) with every feature this SCEF
 * does not support (LG_T8_FEATURES) cleared, as long as the request's.
 */
void lg_t8_negotiate_features(const char *requested, size_t len, char *out);

/*
 * True when s (len bytes) is an External Identifier or External Group
 * Identifier in the form accepted above.
 */
bool lg_t8_is_external_id(const char *s, size_t len);

/* True when s (len bytes) is a notification URI in the form accepted above. */
bool lg_t8_is_notification_uri(const char *s, size_t len);

#endif
