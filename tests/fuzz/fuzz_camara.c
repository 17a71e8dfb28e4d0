/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the CAMARA Region Device Count request validator
 * (service/counts/camara.c). Feeds the input to lg_camara_validate_count with a
 * fixed "now" and aborts when a result breaks the validator's contract: an
 * accepted body must normalise to an area of the right shape with bounded
 * coordinates and ordered times, and validate again to the same object; a
 * refusal must carry a 400, a known code and a message. The input also
 * doubles as an x-correlator. `make check` replays tests/fuzz/corpus/camara/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/counts/camara.h"
#include "locguard/core/timefmt.h"

static void check_point(const json_t *p)
{
    double lat = json_real_value(json_object_get(p, "latitude"));
    double lon = json_real_value(json_object_get(p, "longitude"));
    CHECK(json_object_size(p) == 2);
    CHECK(lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0);
}

static void check_accepted(const json_t *out)
{
    const json_t *area = json_object_get(out, "area");
    const char *type = json_string_value(json_object_get(area, "areaType"));
    CHECK(type != NULL);
    if (strcmp(type, "CIRCLE") == 0) {
        CHECK(json_real_value(json_object_get(area, "radius")) >= LG_CAMARA_RADIUS_MIN_M);
        check_point(json_object_get(area, "center"));
    } else {
        const json_t *b = json_object_get(area, "boundary");
        CHECK(strcmp(type, "POLYGON") == 0);
        CHECK(json_array_size(b) >= LG_CAMARA_POLYGON_MIN &&
              json_array_size(b) <= LG_CAMARA_POLYGON_MAX);
        for (size_t i = 0; i < json_array_size(b); i++)
            check_point(json_array_get(b, i));
    }
    const json_t *s = json_object_get(out, "starttime"), *e = json_object_get(out, "endtime");
    CHECK((s == NULL) == (e == NULL));
    if (s != NULL) {
        int64_t s_us, e_us;
        CHECK(lg_time_parse(json_string_value(s), json_string_length(s), &s_us) == LG_OK);
        CHECK(lg_time_parse(json_string_value(e), json_string_length(e), &e_us) == LG_OK);
        CHECK(s_us <= e_us && s_us <= FUZZ_NOW_US);
    }

    /* The asynchronous mode: an https sink, and a credential only with one. */
    const json_t *sink = json_object_get(out, "sink");
    CHECK(sink == NULL || strncmp(json_string_value(sink), "https://", 8) == 0);
    CHECK(sink != NULL || json_object_get(out, "sinkCredential") == NULL);

    /* The normalised form is itself a valid request that normalises to itself. */
    char *text = json_dumps(out, JSON_COMPACT);
    json_t *again = NULL;
    lg_camara_count_t count;
    lg_camara_error_t err;
    CHECK(text != NULL);
    CHECK(lg_camara_validate_count(text, strlen(text), FUZZ_NOW_US, &again, &count, &err) == LG_OK);
    CHECK(json_equal(again, out));
    json_decref(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    lg_camara_count_t count;
    lg_camara_error_t err;

    if (lg_camara_validate_count((const char *)data, size, FUZZ_NOW_US, &out, &count, &err) ==
        LG_OK) {
        CHECK(out != NULL);
        check_accepted(out);
        json_decref(out);
    } else {
        CHECK(out == NULL && err.status == 400 && err.code != NULL);
        CHECK(err.code == lg_camara_invalid_argument || err.code == lg_camara_invalid_circle ||
              err.code == lg_camara_invalid_polygon || err.code == lg_camara_time_invalid ||
              err.code == lg_camara_invalid_end_date || err.code == lg_camara_invalid_sink ||
              err.code == lg_camara_invalid_credential || err.code == lg_camara_invalid_token);
        CHECK(err.message[0] != '\0' && strlen(err.message) < sizeof(err.message));
    }

    char correlator[300];
    if (size < sizeof(correlator)) {
        memcpy(correlator, data, size);
        correlator[size] = '\0';
        if (lg_camara_correlator_is_valid(correlator))
            CHECK(strlen(correlator) <= 256 && strpbrk(correlator, " \r\n\"\\") == NULL);
    }
    return 0;
}
