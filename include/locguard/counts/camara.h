/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CAMARA Region Device Count request validator: the body of
 * POST .../count (shared/specs/camara/region-device-count.yaml,
 * RegionDeviceCountRequestBody) checked member by member and turned into a
 * normalised JSON object for sql/counts.sql lg_counts_query and the same
 * request as C data for the in-memory evaluator (parsed once, here), or refused with
 * an ErrorInfo-ready error (status, code, message). Pure: no I/O, no global
 * state, so the unit tests and the libFuzzer driver call it directly.
 *
 * What is checked here: JSON syntax (duplicate members refused), area
 * present, areaType CIRCLE or POLYGON, a circle's center and radius (radius
 * >= 1 m, the YAML's minimum), 3 to 15 boundary points, latitudes -90..90 and
 * longitudes -180..180, starttime/endtime RFC 3339 with an offset, both or
 * neither, start <= end, start not in the future, and no filter (the newer
 * versions' roamingStatus / deviceType: refused with 400, as locguard
 * cannot apply it; absent, null or {} is no filter). The asynchronous mode's
 * sink and sinkCredential are those of population-density-data.yaml (the
 * region-device-count YAML has none): sink an https URL that
 * lg_webhook_check_url accepts (else INVALID_SINK), sinkCredential only
 * with a sink, of credentialType ACCESSTOKEN (else INVALID_CREDENTIAL) and
 * accessTokenType bearer (else INVALID_TOKEN), its accessToken visible
 * ASCII and its accessTokenExpiresUtc in the future. Other unknown members are
 * ignored (the YAML sets no additionalProperties) and dropped from the
 * normalised object. What needs geometry (self-intersection, size bounds,
 * coverage) is checked by the database.
 */
#ifndef LOCGUARD_CAMARA_H
#define LOCGUARD_CAMARA_H

#include "locguard/core/common.h"
#include "locguard/counts/planar.h"

#include <jansson.h>

#define LG_CAMARA_POLYGON_MIN  3  /* PointList minItems */
#define LG_CAMARA_POLYGON_MAX  15 /* PointList maxItems */
#define LG_CAMARA_RADIUS_MIN_M 1  /* Circle.radius minimum */

/* ErrorInfo codes (CAMARA). Compare by pointer or by string. */
extern const char lg_camara_invalid_argument[];   /* "INVALID_ARGUMENT" */
extern const char lg_camara_invalid_circle[];     /* "REGION_DEVICE_COUNT.INVALID_CIRCLE_AREA" */
extern const char lg_camara_invalid_polygon[];    /* "REGION_DEVICE_COUNT.INVALID_POLYGON_AREA" */
extern const char lg_camara_time_invalid[];       /* "REGION_DEVICE_COUNT.TIME_INVALID_ARGUMENT" */
extern const char lg_camara_invalid_end_date[];   /* "REGION_DEVICE_COUNT.INVALID_END_DATE" */
extern const char lg_camara_invalid_sink[];       /* "INVALID_SINK" */
extern const char lg_camara_invalid_credential[]; /* "INVALID_CREDENTIAL" */
extern const char lg_camara_invalid_token[];      /* "INVALID_TOKEN" */

#define LG_CAMARA_SINK_MAX  2048 /* longest sink URL accepted, in bytes */
#define LG_CAMARA_TOKEN_MAX 4096 /* longest sinkCredential.accessToken accepted */
/* The CloudEvent type of an asynchronous count's result. */
#define LG_CAMARA_COUNT_EVENT_TYPE "org.camaraproject.region-device-count.v0.count-result"

/* A refusal, ready to be written as an ErrorInfo {status, code, message}. */
typedef struct lg_camara_error {
    int status;        /* HTTP status, 400 */
    const char *code;  /* one of the lg_camara_* codes above */
    char message[160]; /* a sentence for the client; never echoes the input */
} lg_camara_error_t;

/* The request as C data, for the in-memory evaluator (counteval.c). */
typedef struct lg_camara_count {
    lg_planar_area_t area;    /* the area, with the values of the normalised object */
    bool has_interval;        /* starttime and endtime given */
    int64_t start_us, end_us; /* the interval, when has_interval */
    bool is_async;            /* a sink was given: answer 202, deliver the result there */
    bool is_sink_private;     /* the sink's host is an address webhooks may not reach */
    bool has_token;           /* a sinkCredential (access token) was given */
} lg_camara_count_t;

/*
 * Validates the len bytes of body (no NUL needed) at time now_us. On success
 * returns LG_OK and sets *normalised to a new object the caller owns:
 *   {"area": {"areaType": "CIRCLE", "center": {"latitude", "longitude"},
 *             "radius"} | {"areaType": "POLYGON", "boundary": [...]},
 *    "starttime": "YYYY-MM-DDThh:mm:ss.ffffffZ", "endtime": ...}
 * (the times only when given, in UTC with microseconds), plus, in the
 * asynchronous mode, "sink": the URL as given, and with a credential
 * "sinkCredential": {"credentialType": "ACCESSTOKEN", "accessToken",
 * "accessTokenExpiresUtc" (UTC), "accessTokenType": "bearer"}; it
 * fills *count
 * with the same request. On failure returns LG_ERR, leaves *normalised NULL
 * and fills *err (*count is then unspecified).
 */
LG_MUST_CHECK int lg_camara_validate_count(const char *body, size_t len, int64_t now_us,
                                           json_t **normalised, lg_camara_count_t *count,
                                           lg_camara_error_t *err);

/*
 * The count operation's paths: the YAML's {apiRoot}/regionDeviceCount/vwip
 * + /count, the newest versions' /region-device-count/vwip/count, and
 * /region-device-count/v0/count (an earlier alias). All answer the same.
 */
#define LG_CAMARA_COUNT_PATH      "/regionDeviceCount/vwip/count"
#define LG_CAMARA_COUNT_PATH_VWIP "/region-device-count/vwip/count"
#define LG_CAMARA_COUNT_PATH_V0   "/region-device-count/v0/count"

/* The scopes that allow a count: the newest versions' name, and the YAML's. */
#define LG_CAMARA_SCOPE_COUNT "region-device-count:count"
#define LG_CAMARA_SCOPE       "region-device-count"

/* True when path (no query) is one of the count operation's paths. */
bool lg_camara_is_count_path(const char *path);

/* True when the space-separated scopes hold either count scope. */
bool lg_camara_scope_allows_count(const char *scopes);

/*
 * True when value matches the CAMARA XCorrelator pattern
 * ^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$ (from the DeviceLocation r3.2 files; the
 * region-device-count YAML only says "string"). A value that does not is
 * refused with 400 and never echoed.
 */
bool lg_camara_correlator_is_valid(const char *value);

#endif
