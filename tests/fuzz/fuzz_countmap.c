/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the in-memory count evaluator (service/counts/counteval.c)
 * on network input: the body goes through the CAMARA validator (camara.c)
 * as in the exposure zone, and the accepted area, as camara.c's C struct, is answered from a small
 * fixed snapshot (a 4 x 4 grid of cells, one with a hole, one release)
 * with and without an interval. Aborts when an answer breaks the
 * evaluator's contract: an outcome, a status among the five with a count
 * exactly for the two that carry one, refusals with a CAMARA code and a
 * message, and the same answer when asked twice. `make check` replays
 * tests/fuzz/corpus/countmap/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/counts/camara.h"
#include "locguard/counts/counteval.h"

static lg_counteval_snap_t *snap;

static lg_counteval_snap_t *make_snapshot(void)
{
    lg_countgeo_t *g = lg_countgeo_new(1);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double x = 2.3 + 0.02 * i, y = 48.8 + 0.02 * j;
            lg_pt_t pts[8] = {{x, y},
                              {x + 0.02, y},
                              {x + 0.02, y + 0.02},
                              {x, y + 0.02},
                              {x + 0.005, y + 0.005},
                              {x + 0.005, y + 0.015},
                              {x + 0.015, y + 0.015},
                              {x + 0.015, y + 0.005}};
            size_t len[2] = {4, 4};
            bool hole[2] = {false, true};
            lg_countgeo_add_rings(g, false, pts, len, hole, i == 1 && j == 2 ? 2 : 1);
        }
    lg_pt_t piece[4] = {{2.3, 48.8}, {2.38, 48.8}, {2.38, 48.88}, {2.3, 48.88}};
    size_t len = 4;
    bool hole = false;
    lg_countgeo_add_rings(g, true, piece, &len, &hole, 1);
    lg_countgeo_finish(g);
    int64_t *noisy = malloc(16 * sizeof(int64_t));
    for (int i = 0; i < 16; i++)
        noisy[i] = i * 7 - 20;
    lg_counteval_rel_t *r = lg_counteval_rel_new(g, 1, FUZZ_NOW_US - INT64_C(7200000000),
                                                 FUZZ_NOW_US - INT64_C(3600000000), noisy, 16);
    lg_counteval_snap_t *s = lg_counteval_snap_new(g, &r, 1, FUZZ_NOW_US - INT64_C(86400000000));
    lg_counteval_rel_unref(r);
    lg_countgeo_unref(g);
    return s;
}

static void check_answer(const lg_counteval_answer_t *a)
{
    static const char *const with_count[] = {"SUPPORTED_AREA", "PART_OF_AREA_NOT_SUPPORTED"};
    static const char *const without[] = {"AREA_NOT_SUPPORTED", "TIME_INTERVAL_NO_DATA_FOUND",
                                          "DENSITY_BELOW_PRIVACY_THRESHOLD"};
    switch (a->outcome) {
    case LG_COUNTEVAL_ANSWERED: {
        bool is_known = false;
        for (size_t i = 0; i < 2; i++)
            if (strcmp(a->status, with_count[i]) == 0) {
                CHECK(a->has_count && a->count >= 10);
                is_known = true;
            }
        for (size_t i = 0; i < 3; i++)
            if (strcmp(a->status, without[i]) == 0) {
                CHECK(!a->has_count);
                is_known = true;
            }
        CHECK(is_known);
        CHECK(a->covered >= 0 && a->covered <= 1);
        break;
    }
    case LG_COUNTEVAL_REFUSED:
        CHECK(a->code == lg_camara_invalid_argument || a->code == lg_camara_invalid_circle ||
              a->code == lg_camara_invalid_polygon);
        CHECK(a->message[0] != '\0');
        break;
    case LG_COUNTEVAL_FALLBACK:
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    lg_camara_count_t req;
    lg_camara_error_t err;
    if (snap == NULL)
        snap = make_snapshot();
    if (lg_camara_validate_count((const char *)data, size, FUZZ_NOW_US, &out, &req, &err) != LG_OK)
        return 0;
    lg_counteval_params_t p = {10, 1e4, 1e12};
    lg_counteval_answer_t a, b;
    lg_counteval_answer(snap, &req.area, req.has_interval, req.start_us, req.end_us, &p, &a);
    check_answer(&a);
    lg_counteval_answer(snap, &req.area, req.has_interval, req.start_us, req.end_us, &p, &b);
    CHECK(a.outcome == b.outcome && a.has_count == b.has_count && a.count == b.count);
    CHECK((a.status == NULL) == (b.status == NULL));
    CHECK(a.status == NULL || strcmp(a.status, b.status) == 0);
    lg_counteval_answer_cleanup(&a);
    lg_counteval_answer_cleanup(&b);
    json_decref(out);
    return 0;
}
