/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the southbound batch parser (service/south/report.c). Feeds
 * the input to lg_report_parse_batch with fixed limits and a fixed "now", and
 * aborts when a result breaks the parser's contract (a report without a cell
 * key, a position out of range, an error without invalidParams or with one
 * that names no parameter). The same
 * input also exercises the Locguard-Seq and GAD helpers. `make check`
 * replays tests/fuzz/corpus/report/ through replay_main.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/south/location.h"
#include "locguard/south/report.h"

/* 2024-05-01T12:00:00Z, the time the corpus samples were written for. */
#define FUZZ_NOW_US INT64_C(1714564800000000)

/* Aborts with a visible reason when an invariant does not hold. */
static void check_report(const lg_report_t *r, const lg_report_limits_t *lim)
{
    size_t n = strnlen(r->supi, sizeof r->supi);

    CHECK(n >= 5 && n <= 15);
    CHECK(r->rat >= LG_RAT_EUTRA && r->rat <= LG_RAT_GERA);
    CHECK(r->cell_key[0] != '\0' && strnlen(r->cell_key, LG_CELL_KEY_MAX) < LG_CELL_KEY_MAX);
    CHECK(r->ts_us >= lim->now_us - lim->max_age_us && r->ts_us <= lim->now_us + lim->max_skew_us);
    if (r->has_position) {
        char hex[17];
        double lat, lon, unc;

        CHECK(r->lat_deg >= -90.0 && r->lat_deg <= 90.0);
        CHECK(r->lon_deg >= -180.0 && r->lon_deg < 180.0);
        CHECK(r->uncertainty_m >= 0.0 && isfinite(r->uncertainty_m));
        /* Decoded values are representable, so re-encoding must give them back exactly. */
        lg_location_encode_gad(r->lat_deg, r->lon_deg, r->uncertainty_m, hex);
        CHECK(lg_location_decode_gad(hex, &lat, &lon, &unc) == LG_OK);
        CHECK(lat == r->lat_deg && lon == r->lon_deg && unc == r->uncertainty_m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lg_report_limits_t lim = {
        .max_reports = 64,
        .now_us = FUZZ_NOW_US,
        .max_age_us = INT64_C(86400) * 1000000,
        .max_skew_us = INT64_C(300) * 1000000,
    };
    lg_batch_t batch = {0};
    char str[32];
    int64_t seq;

    if (lg_report_parse_batch((const char *)data, size, &lim, &batch) == LG_OK) {
        CHECK(batch.n_invalid == 0 && batch.reports != NULL);
        CHECK(batch.n_reports >= 1 && batch.n_reports <= lim.max_reports);
        CHECK(batch.node[0] != '\0');
        for (size_t i = 0; i < batch.n_reports; i++)
            check_report(&batch.reports[i], &lim);
    } else {
        CHECK(batch.n_invalid > 0 && batch.reports == NULL && batch.n_reports == 0);
        /* Every problem names its parameter: a JSON pointer, or "body" for the document. */
        for (size_t i = 0; i < batch.n_invalid && i < LG_INVALID_MAX; i++)
            CHECK(batch.invalid[i].reason[0] != '\0' &&
                  (batch.invalid[i].param[0] == '/' || strcmp(batch.invalid[i].param, "body") == 0));
    }
    lg_batch_cleanup(&batch);

    /* Short inputs double as a Locguard-Seq header and a GAD string. */
    if (size < sizeof str) {
        memcpy(str, data, size);
        str[size] = '\0';
        if (lg_report_parse_seq(str, &seq) == LG_OK)
            CHECK(seq >= 1);
        double lat, lon, unc;
        if (lg_location_decode_gad(str, &lat, &lon, &unc) == LG_OK)
            CHECK(fabs(lat) < 90.0 && lon >= -180.0 && lon < 180.0 && unc >= 0.0);
    }
    return 0;
}
