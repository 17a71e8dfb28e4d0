/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the T8 subscription validator (service/north/t8.c). Feeds
 * the input to lg_t8_validate_subscription at a fixed "now" and aborts when
 * a result breaks the validator's contract: an accepted body must yield a
 * normalised object whose members are exactly the ones sql/northbound.sql
 * expects, each in its checked form, and which validates again unchanged; a
 * refused one must name a cause and at least one invalidParam with a reason.
 * The same input also exercises the externalId and URI checks on their own.
 * `make check` replays tests/fuzz/corpus/t8/ through replay_main.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/north/t8.h"
#include "locguard/north/t8_patch.h"
#include "locguard/core/timefmt.h"

/* 2024-05-01T12:00:00Z, the time the corpus samples were written for. */
#define FUZZ_NOW_US INT64_C(1714564800000000)

/* Aborts with a visible reason when an invariant does not hold. */
static bool is_one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* A normalised NUMBER_OF_UES_IN_AN_AREA subscription: an area, no device, no location members. */
static void check_area_count(json_t *out)
{
    json_t *la = json_object_get(out, "locationArea");
    json_t *la5 = json_object_get(out, "locationArea5G");
    json_t *v;

    CHECK(json_object_get(out, "externalId") == NULL &&
          json_object_get(out, "externalGroupId") == NULL &&
          json_object_get(out, "locationType") == NULL && json_object_get(out, "accuracy") == NULL);
    CHECK((la == NULL) != (la5 == NULL));
    json_t *areas = json_object_get(la ? la : la5, "geographicAreas");
    CHECK(json_object_size(la ? la : la5) == 1 && json_array_size(areas) == 1);
    json_t *area = json_array_get(areas, 0);
    const char *shape = json_string_value(json_object_get(area, "shape"));
    CHECK(shape != NULL);
    if (strcmp(shape, "POLYGON") == 0) {
        json_t *list = json_object_get(area, "pointList");
        CHECK(json_array_size(list) >= 3 && json_array_size(list) <= 15);
    } else {
        CHECK(strcmp(shape, "POINT_UNCERTAINTY_CIRCLE") == 0);
        v = json_object_get(area, "uncertainty");
        CHECK(json_is_real(v) && json_real_value(v) >= LG_T8_AREA_RADIUS_MIN_M &&
              json_real_value(v) <= LG_T8_AREA_RADIUS_MAX_M);
    }
    v = json_object_get(out, "repPeriod");
    CHECK(v == NULL || (json_integer_value(v) >= LG_T8_REP_PERIOD_MIN_S &&
                        json_integer_value(v) <= LG_T8_REP_PERIOD_MAX_S));
    CHECK(v != NULL || json_is_true(json_object_get(out, "immediateRep")));
}

static void check_normalised(json_t *out)
{
    static const char *const KEYS[] = {"externalId",
                                       "externalGroupId",
                                       "monitoringType",
                                       "notificationDestination",
                                       "maximumNumberOfReports",
                                       "monitorExpireTime",
                                       "locationType",
                                       "accuracy",
                                       "requestTestNotification",
                                       "revocationNotifUri",
                                       "immediateRep",
                                       "locationArea",
                                       "locationArea5G",
                                       "repPeriod"};
    static const char *const LOCATION_TYPES[] = {"CURRENT_LOCATION", "LAST_KNOWN_LOCATION"};
    static const char *const ACCURACIES[] = {"CGI_ECGI", "TA_RA", "GEO_AREA"};
    const char *key;
    json_t *v;

    CHECK(json_is_object(out));
    json_object_foreach(out, key, v) CHECK(is_one_of(key, KEYS, sizeof KEYS / sizeof KEYS[0]));

    const char *type = json_string_value(json_object_get(out, "monitoringType"));
    CHECK(type != NULL);
    if (strcmp(type, "NUMBER_OF_UES_IN_AN_AREA") == 0) {
        check_area_count(out);
        goto common;
    }
    CHECK(strcmp(type, "LOCATION_REPORTING") == 0);
    CHECK(json_object_get(out, "locationArea") == NULL &&
          json_object_get(out, "locationArea5G") == NULL &&
          json_object_get(out, "repPeriod") == NULL);
    json_t *ext = json_object_get(out, "externalId");
    json_t *grp = json_object_get(out, "externalGroupId");
    CHECK((ext == NULL) != (grp == NULL));
    v = ext ? ext : grp;
    CHECK(lg_t8_is_external_id(json_string_value(v), json_string_length(v)));
    CHECK(is_one_of(json_string_value(json_object_get(out, "locationType")), LOCATION_TYPES, 2));
    CHECK(is_one_of(json_string_value(json_object_get(out, "accuracy")), ACCURACIES, 3));
common:
    v = json_object_get(out, "notificationDestination");
    CHECK(lg_t8_is_notification_uri(json_string_value(v), json_string_length(v)));
    v = json_object_get(out, "revocationNotifUri");
    CHECK(v == NULL || lg_t8_is_notification_uri(json_string_value(v), json_string_length(v)));

    json_t *max = json_object_get(out, "maximumNumberOfReports");
    json_t *exp = json_object_get(out, "monitorExpireTime");
    CHECK(max != NULL || exp != NULL);
    CHECK(max == NULL ||
          (json_integer_value(max) >= 1 && json_integer_value(max) <= LG_T8_MAX_REPORTS_MAX));
    if (exp != NULL) {
        int64_t us;
        CHECK(lg_time_parse(json_string_value(exp), json_string_length(exp), &us) == LG_OK);
        CHECK(us > FUZZ_NOW_US - 1000); /* formatting truncates to milliseconds */
    }
    v = json_object_get(out, "requestTestNotification");
    CHECK(v == NULL || json_is_boolean(v));
    v = json_object_get(out, "immediateRep");
    CHECK(v == NULL || json_is_boolean(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lg_invalid_param_t invalid[LG_INVALID_MAX];
    size_t n_invalid;
    const char *cause;
    json_t *out;

    if (lg_t8_validate_subscription((const char *)data, size, FUZZ_NOW_US, &out, invalid,
                                    &n_invalid, &cause) == LG_OK) {
        CHECK(out != NULL && n_invalid == 0 && cause == NULL);
        check_normalised(out);
        /* The normalised form is itself a valid request that normalises to itself. */
        char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *again;
        CHECK(text != NULL);
        CHECK(lg_t8_validate_subscription(text, strlen(text), FUZZ_NOW_US - 1000, &again, invalid,
                                          &n_invalid, &cause) == LG_OK);
        CHECK(json_equal(out, again));
        json_decref(again);
        free(text);
        json_decref(out);
    } else {
        CHECK(out == NULL && n_invalid > 0 && cause != NULL);
        for (size_t i = 0; i < n_invalid && i < LG_INVALID_MAX; i++) {
            CHECK(invalid[i].reason[0] != '\0');
            CHECK(invalid[i].param[0] == '\0' || invalid[i].param[0] == '/');
        }
    }

    /* The same bytes as a PATCH body: only the two members, each a non-empty id list. */
    if (lg_t8_validate_patch((const char *)data, size, &out, invalid, &n_invalid, &cause) ==
        LG_OK) {
        const char *key;
        json_t *list;
        CHECK(out != NULL && n_invalid == 0 && json_object_size(out) >= 1);
        json_object_foreach(out, key, list)
        {
            CHECK(strcmp(key, "excludedExternalIds") == 0 || strcmp(key, "addedExternalIds") == 0);
            CHECK(json_array_size(list) >= 1 && json_array_size(list) <= LG_T8_PATCH_IDS_MAX);
        }
        json_decref(out);
    } else {
        CHECK(out == NULL && n_invalid > 0 && cause != NULL);
    }

    (void)lg_t8_is_external_id((const char *)data, size);
    (void)lg_t8_is_notification_uri((const char *)data, size);
    return 0;
}
