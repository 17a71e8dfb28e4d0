/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CAMARA Region Device Count request validator (see camara.h). It sits
 * between the exposure zone's routing (exposure.c) and the database query
 * (sql/counts.sql lg_counts_query): everything that can be decided from the
 * request alone is decided here, so malformed input never costs a database
 * round trip. The error codes and, where the YAML gives one, the messages
 * are those of shared/specs/camara/region-device-count.yaml.
 */
#include "locguard/counts/camara.h"

#include "locguard/core/token.h"

#include "locguard/core/jsonutil.h"

#include "locguard/core/timefmt.h"

#include "locguard/north/webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char lg_camara_invalid_argument[] = "INVALID_ARGUMENT";
const char lg_camara_invalid_circle[] = "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA";
const char lg_camara_invalid_polygon[] = "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA";
const char lg_camara_time_invalid[] = "REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT";
const char lg_camara_invalid_end_date[] = "REGION_DEVICE_COUNT.INVALID_END_DATE";
const char lg_camara_invalid_sink[] = "INVALID_SINK";
const char lg_camara_invalid_credential[] = "INVALID_CREDENTIAL";
const char lg_camara_invalid_token[] = "INVALID_TOKEN";

#define CORRELATOR_MAX 256

_Static_assert(sizeof(((lg_planar_area_t *)0)->boundary) / sizeof(lg_pt_t) >= LG_CAMARA_POLYGON_MAX,
               "lg_planar_area_t holds every boundary point");

/* Fills err with a 400 of the given code; returns LG_ERR for one-line refusals. */
LG_PRINTF(3, 4)
static int refuse(lg_camara_error_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    err->status = 400;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return LG_ERR;
}

/*
 * Reads the number member key of point (an object, else shape_code) into
 * *out: missing or not a number -> shape_code; outside [-limit, limit] ->
 * INVALID_ARGUMENT. what names the point in messages.
 */
static int read_coord(const json_t *point, const char *key, double limit, const char *shape_code,
                      const char *what, lg_camara_error_t *err, double *out)
{
    if (!json_is_object(point))
        return refuse(err, shape_code, "%s must be an object with latitude and longitude.", what);
    const json_t *v = json_object_get(point, key);
    if (!json_is_number(v))
        return refuse(err, shape_code, "%s.%s must be a number.", what, key);
    double d = json_number_value(v);
    if (!(d >= -limit && d <= limit))
        return refuse(err, lg_camara_invalid_argument, "%s.%s must be between %g and %g.", what,
                      key, -limit, limit);
    *out = d;
    return LG_OK;
}

/*
 * A normalised Point {"latitude", "longitude"} from point, or NULL (err
 * set); *pt gets the same values (x = longitude).
 */
static json_t *read_point(const json_t *point, const char *shape_code, const char *what,
                          lg_camara_error_t *err, lg_pt_t *pt)
{
    double lat, lon;
    if (read_coord(point, "latitude", 90, shape_code, what, err, &lat) != LG_OK ||
        read_coord(point, "longitude", 180, shape_code, what, err, &lon) != LG_OK)
        return NULL;
    *pt = (lg_pt_t){lon, lat};
    return json_pack("{s:f,s:f}", "latitude", lat, "longitude", lon);
}

static json_t *read_circle(const json_t *area, lg_planar_area_t *out, lg_camara_error_t *err)
{
    const json_t *center = json_object_get(area, "center");
    const json_t *radius = json_object_get(area, "radius");
    if (center == NULL || radius == NULL) {
        refuse(err, lg_camara_invalid_circle, "Missing circle center or radius.");
        return NULL;
    }
    if (!json_is_number(radius)) {
        refuse(err, lg_camara_invalid_circle, "area.radius must be a number.");
        return NULL;
    }
    double r = json_number_value(radius);
    if (!(r >= LG_CAMARA_RADIUS_MIN_M)) {
        refuse(err, lg_camara_invalid_argument, "area.radius must be at least %d metre.",
               LG_CAMARA_RADIUS_MIN_M);
        return NULL;
    }
    lg_pt_t at;
    json_t *c = read_point(center, lg_camara_invalid_circle, "area.center", err, &at);
    if (c == NULL)
        return NULL;
    *out = (lg_planar_area_t){.is_circle = true, .lat = at.y, .lon = at.x, .radius_m = r};
    return json_pack("{s:s,s:o,s:f}", "areaType", "CIRCLE", "center", c, "radius", r);
}

static json_t *read_polygon(const json_t *area, lg_planar_area_t *out, lg_camara_error_t *err)
{
    const json_t *boundary = json_object_get(area, "boundary");
    if (!json_is_array(boundary)) {
        refuse(err, lg_camara_invalid_polygon, "Missing polygon boundary.");
        return NULL;
    }
    size_t n = json_array_size(boundary);
    if (n < LG_CAMARA_POLYGON_MIN || n > LG_CAMARA_POLYGON_MAX) {
        refuse(err, lg_camara_invalid_polygon, "The polygon boundary must have %d to %d points.",
               LG_CAMARA_POLYGON_MIN, LG_CAMARA_POLYGON_MAX);
        return NULL;
    }
    json_t *points = json_array();
    *out = (lg_planar_area_t){.n_boundary = n};
    for (size_t i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof(what), "area.boundary[%zu]", i);
        json_t *p = read_point(json_array_get(boundary, i), lg_camara_invalid_polygon, what, err,
                               &out->boundary[i]);
        if (p == NULL) {
            json_decref(points);
            return NULL;
        }
        json_array_append_new(points, p);
    }
    return json_pack("{s:s,s:o}", "areaType", "POLYGON", "boundary", points);
}

static json_t *read_area(const json_t *area, lg_planar_area_t *out, lg_camara_error_t *err)
{
    if (area == NULL || json_is_null(area)) {
        refuse(err, lg_camara_invalid_argument, "area is required.");
        return NULL;
    }
    if (!json_is_object(area)) {
        refuse(err, lg_camara_invalid_argument, "area must be an object.");
        return NULL;
    }
    const char *type = json_string_value(json_object_get(area, "areaType"));
    if (type != NULL && strcmp(type, "CIRCLE") == 0)
        return read_circle(area, out, err);
    if (type != NULL && strcmp(type, "POLYGON") == 0)
        return read_polygon(area, out, err);
    refuse(err, lg_camara_invalid_argument, "area.areaType must be CIRCLE or POLYGON.");
    return NULL;
}

/*
 * Reads the optional date-time member key: *has false when absent or null;
 * else *us is set. Returns LG_ERR (err set) when it is not an RFC 3339
 * date-time with an offset.
 */
static int read_time(const json_t *body, const char *key, bool *has, int64_t *us,
                     lg_camara_error_t *err)
{
    const json_t *v = json_object_get(body, key);
    *has = false;
    if (v == NULL || json_is_null(v))
        return LG_OK;
    if (!json_is_string(v) ||
        lg_time_parse(json_string_value(v), json_string_length(v), us) != LG_OK)
        return refuse(err, lg_camara_invalid_argument,
                      "%s must be an RFC 3339 date-time with a time zone.", key);
    *has = true;
    return LG_OK;
}

/* "YYYY-MM-DDThh:mm:ss.ffffffZ" of us (UTC). */
static json_t *format_time(int64_t us)
{
    int64_t sec = us / 1000000, frac = us % 1000000;
    if (frac < 0) { /* lg_time_parse allows 1970-01-01T00:30:00+01:00: before the epoch */
        frac += 1000000;
        sec -= 1;
    }
    time_t s = (time_t)sec;
    struct tm tm;
    char buf[96];
    if (gmtime_r(&s, &tm) == NULL)
        return NULL;
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return json_string(buf);
}

/*
 * The newer versions' filter (roamingStatus, deviceType): locguard knows
 * neither for the devices it counts, so a filter that selects anything is
 * refused, never ignored. Absent, null or {} (no criterion): every device.
 */
static int read_filter(const json_t *filter, lg_camara_error_t *err)
{
    if (filter == NULL || json_is_null(filter) ||
        (json_is_object(filter) && json_object_size(filter) == 0))
        return LG_OK;
    if (!json_is_object(filter))
        refuse(err, lg_camara_invalid_argument, "filter must be an object.");
    else
        refuse(err, lg_camara_invalid_argument,
               "filter is not supported: the roaming status and device type of counted devices "
               "are not known. Send no filter to count every device.");
    return LG_ERR;
}

/* Whether host, an IPv4 or IPv6 literal, is an address webhooks may not reach. */
static bool literal_is_private(const char *host)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1)
        return lg_webhook_addr_is_private((const struct sockaddr *)&v4);
    if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1)
        return lg_webhook_addr_is_private((const struct sockaddr *)&v6);
    return true;
}

/* True when s (len bytes) is a non-empty run of visible ASCII (a header-safe token). */
static bool is_visible_ascii(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

/*
 * The asynchronous mode's sinkCredential (an object, given with a sink):
 * an ACCESSTOKEN of type bearer that expires after now_us. On success sets
 * out's "sinkCredential" and count->has_token.
 */
static int read_credential(const json_t *cred, int64_t now_us, json_t *out,
                           lg_camara_count_t *count, lg_camara_error_t *err)
{
    if (!json_is_object(cred))
        return refuse(err, lg_camara_invalid_argument, "sinkCredential must be an object.");
    const char *type = json_string_value(json_object_get(cred, "credentialType"));
    if (type == NULL)
        return refuse(err, lg_camara_invalid_argument,
                      "sinkCredential.credentialType is required.");
    if (strcmp(type, "ACCESSTOKEN") != 0)
        return refuse(err, lg_camara_invalid_credential, "Only Access token is supported");
    const char *token_type = json_string_value(json_object_get(cred, "accessTokenType"));
    if (token_type == NULL || strcasecmp(token_type, "bearer") != 0)
        return refuse(err, lg_camara_invalid_token, "Only bearer token is supported");
    const json_t *token = json_object_get(cred, "accessToken");
    if (!json_is_string(token) || json_string_length(token) > LG_CAMARA_TOKEN_MAX ||
        !is_visible_ascii(json_string_value(token), json_string_length(token)))
        return refuse(err, lg_camara_invalid_argument,
                      "sinkCredential.accessToken must be 1 to %d visible ASCII characters.",
                      LG_CAMARA_TOKEN_MAX);
    bool has_expiry;
    int64_t expires_us;
    if (read_time(cred, "accessTokenExpiresUtc", &has_expiry, &expires_us, err) != LG_OK)
        return LG_ERR;
    if (!has_expiry)
        return refuse(err, lg_camara_invalid_argument,
                      "sinkCredential.accessTokenExpiresUtc is required.");
    if (expires_us <= now_us)
        return refuse(err, lg_camara_invalid_argument,
                      "sinkCredential.accessTokenExpiresUtc is in the past.");
    json_t *expires = format_time(expires_us);
    if (expires == NULL)
        return refuse(err, lg_camara_invalid_argument,
                      "sinkCredential.accessTokenExpiresUtc is out of range.");
    json_object_set_new(out, "sinkCredential",
                        json_pack("{s:s,s:O,s:o,s:s}", "credentialType", "ACCESSTOKEN",
                                  "accessToken", token, "accessTokenExpiresUtc", expires,
                                  "accessTokenType", "bearer"));
    count->has_token = true;
    return LG_OK;
}

/*
 * The asynchronous mode: sink (an https URL the notifier can deliver to)
 * and its optional sinkCredential. Absent or null sink: the synchronous
 * mode, and no credential may be given. On success with a sink sets out's
 * "sink" and count->is_async, count->is_sink_private.
 */
static int read_sink(const json_t *root, int64_t now_us, json_t *out, lg_camara_count_t *count,
                     lg_camara_error_t *err)
{
    const json_t *sink = json_object_get(root, "sink");
    const json_t *cred = json_object_get(root, "sinkCredential");
    bool has_cred = cred != NULL && !json_is_null(cred);
    if (sink == NULL || json_is_null(sink)) {
        if (has_cred)
            return refuse(err, lg_camara_invalid_argument,
                          "sinkCredential is only accepted with a sink.");
        return LG_OK;
    }
    const char *url = json_string_value(sink);
    lg_webhook_dest_t dest;
    const char *why = NULL;
    if (url == NULL || json_string_length(sink) > LG_CAMARA_SINK_MAX ||
        strlen(url) != json_string_length(sink) || strncmp(url, "https://", 8) != 0 ||
        lg_webhook_check_url(url, &dest, &why) != LG_OK)
        return refuse(err, lg_camara_invalid_sink,
                      "sink not valid for the specified protocol: an https URL with a host and "
                      "no user information is required.");
    if (has_cred && read_credential(cred, now_us, out, count, err) != LG_OK)
        return LG_ERR;
    json_object_set_new(out, "sink", json_string(url));
    count->is_async = true;
    count->is_sink_private = dest.is_ip_literal && literal_is_private(dest.host);
    return LG_OK;
}

int lg_camara_validate_count(const char *body, size_t len, int64_t now_us, json_t **normalised,
                             lg_camara_count_t *count, lg_camara_error_t *err)
{
    json_t *root = NULL, *area = NULL, *out = NULL;
    bool has_start, has_end;
    int64_t start_us = 0, end_us = 0;

    *normalised = NULL;
    memset(count, 0, sizeof(*count));
    memset(err, 0, sizeof(*err));
    /* A valid request nests 4 deep (area.boundary[].point); 16 leaves room. */
    if (lg_json_depth_ok(body, len, 16))
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        refuse(err, lg_camara_invalid_argument,
               "Client specified an invalid argument, request body or query param.");
        goto failed;
    }
    area = read_area(json_object_get(root, "area"), &count->area, err);
    if (area == NULL)
        goto failed;
    if (read_time(root, "starttime", &has_start, &start_us, err) != LG_OK ||
        read_time(root, "endtime", &has_end, &end_us, err) != LG_OK)
        goto failed;
    if (has_start != has_end) {
        refuse(err, lg_camara_time_invalid,
               "starttime and endtime cannot be passed separately. Either both are passed or "
               "neither is passed.");
        goto failed;
    }
    if (has_start && end_us < start_us) {
        refuse(err, lg_camara_invalid_end_date, "Indicated endTime is earlier than the startTime.");
        goto failed;
    }
    if (has_start && start_us > now_us) {
        refuse(err, lg_camara_invalid_argument, "starttime must not be in the future.");
        goto failed;
    }
    if (read_filter(json_object_get(root, "filter"), err) != LG_OK)
        goto failed;
    out = json_object();
    json_object_set_new(out, "area", area);
    area = NULL;
    if (read_sink(root, now_us, out, count, err) != LG_OK)
        goto failed;
    if (has_start) {
        json_t *s = format_time(start_us), *e = format_time(end_us);
        if (s == NULL || e == NULL) {
            json_decref(s);
            json_decref(e);
            refuse(err, lg_camara_invalid_argument, "starttime or endtime is out of range.");
            goto failed;
        }
        json_object_set_new(out, "starttime", s);
        json_object_set_new(out, "endtime", e);
    }
    json_decref(root);
    *normalised = out;
    count->has_interval = has_start;
    count->start_us = start_us;
    count->end_us = end_us;
    return LG_OK;

failed:
    json_decref(out);
    json_decref(area);
    json_decref(root);
    return LG_ERR;
}

bool lg_camara_is_count_path(const char *path)
{
    return path != NULL && (strcmp(path, LG_CAMARA_COUNT_PATH) == 0 ||
                            strcmp(path, LG_CAMARA_COUNT_PATH_VWIP) == 0 ||
                            strcmp(path, LG_CAMARA_COUNT_PATH_V0) == 0);
}

bool lg_camara_scope_allows_count(const char *scopes)
{
    return scopes != NULL && (lg_token_scope_contains(scopes, LG_CAMARA_SCOPE_COUNT) ||
                              lg_token_scope_contains(scopes, LG_CAMARA_SCOPE));
}

bool lg_camara_correlator_is_valid(const char *value)
{
    if (value == NULL)
        return false;
    size_t n = 0;
    for (const char *p = value; *p != '\0'; p++, n++) {
        char c = *p;
        bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("-_:;./<>{}", c) != NULL;
        if (!is_ok || n >= CORRELATOR_MAX)
            return false;
    }
    return true;
}
