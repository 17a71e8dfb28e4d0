/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T8 MonitoringEvent subscription validator. northbound.c hands it the
 * body of a POST or PUT on .../subscriptions; it answers with the
 * normalised subscription that sql/northbound.sql stores, or with the
 * invalidParams of the 400 answer (t8_problems.c). Every member is checked
 * and every problem collected, so an SCS sees all of them at once.
 *
 * Which rules live here. One owner per rule: this file owns everything
 * decidable from the request alone, and the SQL functions do not check it
 * again: which members are required, refused or go together (exactly one
 * of externalId / externalGroupId, or neither for NUMBER_OF_UES_IN_AN_AREA;
 * maximumNumberOfReports and/or monitorExpireTime; locationArea or
 * locationArea5G; repPeriod and/or immediateRep), each member's type,
 * format and range (External Ids, https URIs, monitorExpireTime in the
 * future, the points and radius of a GeographicArea, repPeriod), the
 * enumerations and their defaults (monitoringType, locationType,
 * accuracy), and supportedFeatures. Not here, because they need the
 * database (sql/northbound.sql, sql/area_reports.sql): the SCS, the
 * device or group and whether the SCS may monitor it (grant, consent, "do
 * not monitor", GEO_AREA permission), which must look the same for every
 * refusal; the area-counts permission; the area as a surface (simple,
 * within the configured size) and its coverage. The PATCH body is
 * t8_patch.c's.
 */
#include "locguard/north/t8.h"

#include "locguard/north/webhook.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "locguard/core/timefmt.h"

/* TS 29.122 MonitoringType values other than the two we serve. */
static const char *const OTHER_MONITORING_TYPES[] = {
    "LOSS_OF_CONNECTIVITY",
    "UE_REACHABILITY",
    "CHANGE_OF_IMSI_IMEI_ASSOCIATION",
    "ROAMING_STATUS",
    "COMMUNICATION_FAILURE",
    "AVAILABILITY_AFTER_DDN_FAILURE",
    "PDN_CONNECTIVITY_STATUS",
    "DOWNLINK_DATA_DELIVERY_STATUS",
    "API_SUPPORT_CAPABILITY",
    "NUM_OF_REGD_UES",
    "NUM_OF_ESTD_PDU_SESSIONS",
    "AREA_OF_INTEREST",
    "GROUP_MEMBER_LIST_CHANGE",
    "APPLICATION_START",
    "APPLICATION STOP", /* sic, as the TS 29.122 V18.4.0 enumeration spells it */
};

/* Members we refuse rather than ignore, with the reason given. */
static const struct refused {
    const char *name;
    const char *reason;
} REFUSED[] = {
    {"msisdn", "not accepted: identify the UE by externalId"},
    {"addedExternalIds", "group modification is not supported"},
    {"addedMsisdns", "group modification is not supported"},
    {"excludedExternalIds", "group modification is not supported"},
    {"excludedMsisdns", "group modification is not supported"},
    {"addExtGroupId", "only one externalGroupId is supported"},
    {"ipv4Addr", "not supported: identify the UE by externalId"},
    {"ipv6Addr", "not supported: identify the UE by externalId"},
    {"ueIpAddr", "not supported: identify the UE by externalId"},
    {"ueMacAddr", "not supported: identify the UE by externalId"},
    {"addnMonTypes", "additional monitoring types are not supported"},
};

/* ---- character checks ---- */

static bool is_alnum(unsigned char ch)
{
    return (unsigned)(ch - '0') <= 9 || (unsigned)((ch | 0x20) - 'a') <= 25;
}

static bool is_hex(unsigned char ch)
{
    return (unsigned)(ch - '0') <= 9 || (unsigned)((ch | 0x20) - 'a') <= 5;
}

/* Dot-separated non-empty labels of [A-Za-z0-9_-]. */
static bool is_domain(const char *s, size_t len)
{
    size_t label = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (is_alnum(ch) || ch == '-' || ch == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

bool lg_t8_is_external_id(const char *s, size_t len)
{
    const char *at;

    if (len < 3 || len > LG_T8_EXTERNAL_ID_MAX)
        return false;
    at = memchr(s, '@', len);
    if (at == NULL || at == s)
        return false;
    for (const char *p = s; p < at; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    return is_domain(at + 1, len - (size_t)(at + 1 - s));
}

/* The host[:port] of a URI: a reg-name or IPv4 address, or an [IPv6] literal. */
static bool is_authority(const char *s, size_t len)
{
    size_t host_len;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (close == NULL || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!is_hex((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
        host_len = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', len);

        char v4[INET_ADDRSTRLEN];
        struct in_addr a4;

        host_len = colon ? (size_t)(colon - s) : len;
        if (!is_domain(s, host_len))
            return false;
        /* An IPv4 address only in dotted-decimal form: "2130706433" resolves nowhere. */
        if (lg_webhook_host_is_numeric(s, host_len) &&
            (host_len >= sizeof v4 ||
             (memcpy(v4, s, host_len), v4[host_len] = '\0', inet_pton(AF_INET, v4, &a4) != 1)))
            return false;
    }
    if (host_len == len)
        return true;
    if (s[host_len] != ':')
        return false;
    /* A port of 1..65535, decimal. */
    size_t digits = len - host_len - 1;
    unsigned long port = 0;
    if (digits < 1 || digits > 5)
        return false;
    for (size_t i = host_len + 1; i < len; i++) {
        if ((unsigned)((unsigned char)s[i] - '0') > 9)
            return false;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* RFC 3986 path and query characters: unreserved, sub-delims, ":@/?" and %XX. */
static bool is_path_query(const char *s, size_t len)
{
    static const char OTHER[] = "-._~!$&'()*+,;=:@/?";

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '%') {
            if (i + 2 >= len || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2]))
                return false;
            i += 2;
        } else if (!is_alnum(ch) && (ch == '\0' || strchr(OTHER, ch) == NULL)) {
            return false;
        }
    }
    return true;
}

bool lg_t8_is_notification_uri(const char *s, size_t len)
{
    size_t auth_len;

    if (len > LG_T8_URI_MAX || len < 9 || strncasecmp(s, "https://", 8) != 0)
        return false;
    s += 8;
    len -= 8;
    for (auth_len = 0; auth_len < len; auth_len++)
        if (s[auth_len] == '/' || s[auth_len] == '?' || s[auth_len] == '#')
            break;
    /* "@" in the authority would be userinfo: refused, it may carry a password. */
    if (auth_len == 0 || memchr(s, '@', auth_len) != NULL || !is_authority(s, auth_len))
        return false;
    return is_path_query(s + auth_len, len - auth_len);
}

/* ---- members ---- */

/* Reads member name of root as a string; records a problem when it is not one. */
static bool get_string(lg_t8_problems_t *c, json_t *root, const char *name, lg_t8_severity_t sev,
                       const char **s, size_t *len)
{
    json_t *v = json_object_get(root, name);

    if (v == NULL)
        return false;
    if (!json_is_string(v)) {
        lg_t8_problem(c, sev, name, "must be a string");
        return false;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

/* Exactly one of externalId / externalGroupId. */
static void check_target(lg_t8_problems_t *c, json_t *root, json_t *out)
{
    static const char *const NAMES[2] = {"externalId", "externalGroupId"};
    bool is_present[2];
    const char *s;
    size_t len;

    for (int i = 0; i < 2; i++)
        is_present[i] = json_object_get(root, NAMES[i]) != NULL;
    if (!is_present[0] && !is_present[1]) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, "externalId",
                      "externalId or externalGroupId is required");
        return;
    }
    if (is_present[0] && is_present[1]) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "externalGroupId",
                      "give either externalId or externalGroupId, not both");
        return;
    }
    const char *name = NAMES[is_present[0] ? 0 : 1];
    if (!get_string(c, root, name, LG_T8_MANDATORY_INCORRECT, &s, &len))
        return;
    if (!lg_t8_is_external_id(s, len)) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, name,
                      "must be <local id>@<domain>, at most 255 bytes");
        return;
    }
    json_object_set_new(out, name, json_stringn(s, len));
}

#define NOT_SUPPORTED "not supported: only LOCATION_REPORTING and NUMBER_OF_UES_IN_AN_AREA are"

/* monitoringType: one of the two served (is_area_count already chose how the rest is checked). */
static void check_monitoring_type(lg_t8_problems_t *c, json_t *root, json_t *out)
{
    static const char *const SERVED[] = {"LOCATION_REPORTING", "NUMBER_OF_UES_IN_AN_AREA"};
    const char *s;
    size_t len;

    if (json_object_get(root, "monitoringType") == NULL) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, "monitoringType", "required");
        return;
    }
    if (!get_string(c, root, "monitoringType", LG_T8_MANDATORY_INCORRECT, &s, &len))
        return;
    for (size_t i = 0; i < LG_ARRAY_SIZE(SERVED); i++) {
        if (strlen(SERVED[i]) == len && memcmp(s, SERVED[i], len) == 0) {
            json_object_set_new(out, "monitoringType", json_string(SERVED[i]));
            return;
        }
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(OTHER_MONITORING_TYPES); i++) {
        if (strlen(OTHER_MONITORING_TYPES[i]) == len &&
            memcmp(s, OTHER_MONITORING_TYPES[i], len) == 0) {
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "monitoringType", NOT_SUPPORTED);
            return;
        }
    }
    lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "monitoringType", "unknown monitoring type");
}

static void check_uri(lg_t8_problems_t *c, json_t *root, json_t *out, const char *name,
                      bool is_required)
{
    lg_t8_severity_t sev = is_required ? LG_T8_MANDATORY_INCORRECT : LG_T8_OPTIONAL_INCORRECT;
    const char *s;
    size_t len;

    if (json_object_get(root, name) == NULL) {
        if (is_required)
            lg_t8_problem(c, LG_T8_MANDATORY_MISSING, name, "required");
        return;
    }
    if (!get_string(c, root, name, sev, &s, &len))
        return;
    if (!lg_t8_is_notification_uri(s, len)) {
        lg_t8_problem(c, sev, name,
                      "must be an https URI with a host, no userinfo, at most 2048 bytes");
        return;
    }
    json_object_set_new(out, name, json_stringn(s, len));
}

/* maximumNumberOfReports and/or monitorExpireTime: the schema's anyOf. */
static void check_limits(lg_t8_problems_t *c, json_t *root, json_t *out, int64_t now_us)
{
    json_t *max = json_object_get(root, "maximumNumberOfReports");
    json_t *expiry = json_object_get(root, "monitorExpireTime");
    const char *s;
    size_t len;

    if (max == NULL && expiry == NULL) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, "maximumNumberOfReports",
                      "maximumNumberOfReports or monitorExpireTime is required");
        return;
    }
    if (max != NULL) {
        if (!json_is_integer(max) || json_integer_value(max) < 1 ||
            json_integer_value(max) > LG_T8_MAX_REPORTS_MAX)
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "maximumNumberOfReports",
                          "must be an integer from 1 to 1000000000");
        else
            json_object_set_new(out, "maximumNumberOfReports",
                                json_integer(json_integer_value(max)));
    }
    if (expiry != NULL &&
        get_string(c, root, "monitorExpireTime", LG_T8_MANDATORY_INCORRECT, &s, &len)) {
        int64_t us;
        char buf[32];

        if (lg_time_parse(s, len, &us) != LG_OK)
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "monitorExpireTime",
                          "must be an RFC 3339 date-time with offset");
        else if (us <= now_us)
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "monitorExpireTime",
                          "must be in the future");
        else
            json_object_set_new(out, "monitorExpireTime",
                                json_string(lg_time_format(us, buf, sizeof buf)));
    }
}

/* An optional enumeration member: one of allowed (the first is the default). */
static void check_enum(lg_t8_problems_t *c, json_t *root, json_t *out, const char *name,
                       const char *const *allowed, size_t n_allowed, const char *reason)
{
    const char *s;
    size_t len;

    if (json_object_get(root, name) == NULL) {
        json_object_set_new(out, name, json_string(allowed[0]));
        return;
    }
    if (!get_string(c, root, name, LG_T8_OPTIONAL_INCORRECT, &s, &len))
        return;
    for (size_t i = 0; i < n_allowed; i++) {
        if (strlen(allowed[i]) == len && memcmp(s, allowed[i], len) == 0) {
            json_object_set_new(out, name, json_string(allowed[i]));
            return;
        }
    }
    lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, name, reason);
}

static void check_bool(lg_t8_problems_t *c, json_t *root, json_t *out, const char *name)
{
    json_t *v = json_object_get(root, name);

    if (v == NULL)
        return;
    if (!json_is_boolean(v))
        lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, name, "must be true or false");
    else
        json_object_set_new(out, name, json_boolean(json_is_true(v)));
}

/* ---- NUMBER_OF_UES_IN_AN_AREA ---- */

/* Whether the body asks for NUMBER_OF_UES_IN_AN_AREA (decides which members are checked). */
static bool is_area_count(json_t *root)
{
    json_t *v = json_object_get(root, "monitoringType");

    return json_is_string(v) && json_string_length(v) == 24 &&
           memcmp(json_string_value(v), "NUMBER_OF_UES_IN_AN_AREA", 24) == 0;
}

/*
 * A count names no device: externalId and externalGroupId are refused (a
 * group would let an SCS count the few devices it already knows).
 */
static void check_no_target(lg_t8_problems_t *c, json_t *root)
{
    static const char *const NAMES[] = {"externalId", "externalGroupId"};

    for (size_t i = 0; i < LG_ARRAY_SIZE(NAMES); i++)
        if (json_object_get(root, NAMES[i]) != NULL)
            lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, NAMES[i],
                          "not allowed with NUMBER_OF_UES_IN_AN_AREA: a count names no device");
}

/*
 * A TS 29.572 GeographicalCoordinates object at pointer ptr: lon -180..180,
 * lat -90..90, finite numbers. Returns the normalised copy, or NULL after
 * recording the problem.
 */
static json_t *take_coordinates(lg_t8_problems_t *c, json_t *v, const char *ptr)
{
    json_t *lon = json_object_get(v, "lon"), *lat = json_object_get(v, "lat");

    if (!json_is_object(v) || !json_is_number(lon) || !json_is_number(lat) ||
        !(json_number_value(lon) >= -180 && json_number_value(lon) <= 180) ||
        !(json_number_value(lat) >= -90 && json_number_value(lat) <= 90)) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr,
                      "must be an object with lon (-180..180) and lat (-90..90)");
        return NULL;
    }
    return json_pack("{s:f,s:f}", "lon", json_number_value(lon), "lat", json_number_value(lat));
}

/*
 * One TS 29.572 GeographicArea at <name>/geographicAreas/0: a
 * POINT_UNCERTAINTY_CIRCLE (point, uncertainty in metres) or a POLYGON
 * (pointList of 3 to 15 points). Returns the normalised copy or NULL. The
 * shape as a surface (self-intersection, size) is checked by SQL.
 */
static json_t *take_geographic_area(lg_t8_problems_t *c, json_t *area, const char *name)
{
    json_t *shape = json_object_get(area, "shape"), *out = NULL;
    char base[48], ptr[80];

    snprintf(base, sizeof base, "%s/geographicAreas/0", name);
    if (!json_is_object(area)) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, base, "must be a GeographicArea object");
        return NULL;
    }
    if (json_is_string(shape) && json_string_length(shape) == 24 &&
        strcmp(json_string_value(shape), "POINT_UNCERTAINTY_CIRCLE") == 0) {
        snprintf(ptr, sizeof ptr, "%s/point", base);
        json_t *point = take_coordinates(c, json_object_get(area, "point"), ptr);
        json_t *unc = json_object_get(area, "uncertainty");
        bool is_unc_ok = json_is_number(unc) && json_number_value(unc) >= LG_T8_AREA_RADIUS_MIN_M &&
                         json_number_value(unc) <= LG_T8_AREA_RADIUS_MAX_M;

        if (!is_unc_ok) {
            snprintf(ptr, sizeof ptr, "%s/uncertainty", base);
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr,
                          "must be a radius in metres from 1 to 20000000");
        }
        if (point != NULL && is_unc_ok)
            out = json_pack("{s:s,s:O,s:f}", "shape", "POINT_UNCERTAINTY_CIRCLE", "point", point,
                            "uncertainty", json_number_value(unc));
        json_decref(point);
        return out;
    }
    if (json_is_string(shape) && json_string_length(shape) == 7 &&
        strcmp(json_string_value(shape), "POLYGON") == 0) {
        json_t *list = json_object_get(area, "pointList"), *points, *v;
        size_t i;

        if (!json_is_array(list) || json_array_size(list) < 3 || json_array_size(list) > 15) {
            snprintf(ptr, sizeof ptr, "%s/pointList", base);
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr, "must hold 3 to 15 points");
            return NULL;
        }
        points = json_array();
        json_array_foreach(list, i, v)
        {
            snprintf(ptr, sizeof ptr, "%s/pointList/%zu", base, i);
            json_t *p = take_coordinates(c, v, ptr);
            if (p == NULL) {
                json_decref(points);
                return NULL;
            }
            json_array_append_new(points, p);
        }
        return json_pack("{s:s,s:o}", "shape", "POLYGON", "pointList", points);
    }
    snprintf(ptr, sizeof ptr, "%s/shape", base);
    lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr, "must be POINT_UNCERTAINTY_CIRCLE or POLYGON");
    return NULL;
}

/*
 * The area: locationArea or (5G) locationArea5G, not both, with exactly one
 * geographic area and nothing else naming places. The member keeps the
 * name the SCS used.
 */
static void check_location_area(lg_t8_problems_t *c, json_t *root, json_t *out)
{
    static const char *const OTHER_AREAS[] = {"cellIds",         "enodeBIds",      "routingAreaIds",
                                              "trackingAreaIds", "civicAddresses", "nwAreaInfo"};
    json_t *la4 = json_object_get(root, "locationArea");
    json_t *la5 = json_object_get(root, "locationArea5G");
    const char *name = la4 != NULL || la5 == NULL ? "locationArea" : "locationArea5G";
    json_t *la = la4 != NULL ? la4 : la5;
    char ptr[48];

    if (la4 != NULL && la5 != NULL) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, "locationArea5G",
                      "give either locationArea or locationArea5G, not both");
        return;
    }
    if (la == NULL) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, "locationArea",
                      "required with NUMBER_OF_UES_IN_AN_AREA");
        return;
    }
    if (!json_is_object(la)) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, name, "must be a LocationArea object");
        return;
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(OTHER_AREAS); i++) {
        if (json_object_get(la, OTHER_AREAS[i]) != NULL) {
            snprintf(ptr, sizeof ptr, "%s/%s", name, OTHER_AREAS[i]);
            lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr,
                          "not supported: give the area as geographicAreas");
        }
    }
    json_t *areas = json_object_get(la, "geographicAreas");
    snprintf(ptr, sizeof ptr, "%s/geographicAreas", name);
    if (areas == NULL) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, ptr, "required: the area is one GeographicArea");
        return;
    }
    if (!json_is_array(areas) || json_array_size(areas) != 1) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr, "must hold exactly one GeographicArea");
        return;
    }
    json_t *area = take_geographic_area(c, json_array_get(areas, 0), name);
    if (area != NULL)
        json_object_set_new(out, name, json_pack("{s:[o]}", "geographicAreas", area));
}

/* repPeriod (60 s and up) and/or immediateRep true: a count is reported at once or periodically. */
static void check_reporting(lg_t8_problems_t *c, json_t *root, json_t *out)
{
    json_t *period = json_object_get(root, "repPeriod");
    json_t *immediate = json_object_get(root, "immediateRep");

    if (period != NULL) {
        if (!json_is_integer(period) || json_integer_value(period) < LG_T8_REP_PERIOD_MIN_S ||
            json_integer_value(period) > LG_T8_REP_PERIOD_MAX_S)
            lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, "repPeriod",
                          "must be an integer number of seconds from 60 to 31536000");
        else
            json_object_set_new(out, "repPeriod", json_integer(json_integer_value(period)));
    } else if (!json_is_true(immediate) && (immediate == NULL || json_is_boolean(immediate))) {
        lg_t8_problem(c, LG_T8_MANDATORY_MISSING, "repPeriod",
                      "repPeriod or immediateRep true is required with NUMBER_OF_UES_IN_AN_AREA");
    }
}

/* ---- supportedFeatures ---- */

/* The value of hex digit ch (checked by the caller). */
static unsigned hex_value(char ch)
{
    return (unsigned)ch <= '9' ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
}

void lg_t8_negotiate_features(const char *requested, size_t len, char *out)
{
    static const char OURS[] = LG_T8_FEATURES;
    static const char HEX[] = "0123456789abcdef";
    size_t n_ours = sizeof OURS - 1;

    /* Digit i from the right holds features 4i+1 .. 4i+4 on both sides. */
    for (size_t i = 0; i < len; i++) {
        unsigned ours = i < n_ours ? hex_value(OURS[n_ours - 1 - i]) : 0;
        out[len - 1 - i] = HEX[hex_value(requested[len - 1 - i]) & ours];
    }
    out[len] = '\0';
}

/* supportedFeatures: a SupportedFeatures string; the answer carries the negotiated one. */
static void check_features(lg_t8_problems_t *c, json_t *root, json_t *out)
{
    char negotiated[LG_T8_FEATURES_MAX + 1];
    const char *s;
    size_t len;

    if (!get_string(c, root, "supportedFeatures", LG_T8_OPTIONAL_INCORRECT, &s, &len))
        return;
    for (size_t i = 0; i < len; i++) {
        if (!is_hex((unsigned char)s[i])) {
            lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, "supportedFeatures",
                          "must be hexadecimal digits");
            return;
        }
    }
    if (len > LG_T8_FEATURES_MAX) {
        lg_t8_problem(c, LG_T8_OPTIONAL_INCORRECT, "supportedFeatures",
                      "at most 256 hexadecimal digits");
        return;
    }
    lg_t8_negotiate_features(s, len, negotiated);
    json_object_set_new(out, "supportedFeatures", json_stringn(negotiated, len));
}

int lg_t8_validate_subscription(const char *body, size_t len, int64_t now_us, json_t **normalised,
                                lg_invalid_param_t *invalid_params, size_t *n_invalid,
                                const char **cause)
{
    static const char *const LOCATION_TYPES[] = {"CURRENT_LOCATION", "LAST_KNOWN_LOCATION"};
    static const char *const ACCURACIES[] = {"CGI_ECGI", "TA_RA", "GEO_AREA"};
    lg_t8_problems_t c = {.invalid = invalid_params};
    json_t *out = NULL;
    json_t *root = lg_t8_problems_parse(&c, body, len);

    if (root == NULL)
        goto done;
    if (!json_is_object(root)) {
        lg_t8_problem(&c, LG_T8_MSG_FORMAT, NULL, "must be a JSON object");
        goto done;
    }

    out = json_object();
    bool is_area = is_area_count(root);
    if (is_area)
        check_no_target(&c, root);
    else
        check_target(&c, root, out);
    check_monitoring_type(&c, root, out);
    check_uri(&c, root, out, "notificationDestination", true);
    check_limits(&c, root, out, now_us);
    if (is_area) {
        check_location_area(&c, root, out);
        check_reporting(&c, root, out);
    } else {
        check_enum(&c, root, out, "locationType", LOCATION_TYPES, LG_ARRAY_SIZE(LOCATION_TYPES),
                   "must be CURRENT_LOCATION or LAST_KNOWN_LOCATION");
        check_enum(&c, root, out, "accuracy", ACCURACIES, LG_ARRAY_SIZE(ACCURACIES),
                   "must be CGI_ECGI, TA_RA or GEO_AREA");
    }
    check_bool(&c, root, out, "requestTestNotification");
    check_uri(&c, root, out, "revocationNotifUri", false);
    check_features(&c, root, out);
    check_bool(&c, root, out, "immediateRep");
    for (size_t i = 0; i < LG_ARRAY_SIZE(REFUSED); i++)
        if (json_object_get(root, REFUSED[i].name) != NULL)
            lg_t8_problem(&c, LG_T8_OPTIONAL_INCORRECT, REFUSED[i].name, REFUSED[i].reason);

done:
    json_decref(root);
    return lg_t8_problems_finish(&c, out, normalised, n_invalid, cause);
}
