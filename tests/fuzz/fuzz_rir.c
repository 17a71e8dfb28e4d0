/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the RIR reader (service/diameter/rir.c) behind
 * freeDiameter's own message parser: the input is a Diameter message as it
 * comes off the wire; it is parsed (fd_msg_parse_buffer), checked against
 * the dictionary (dict.c) and its rules as the stack does before the zone
 * sees a request, then read by lg_rir_read with fixed limits and a fixed
 * "now". Aborts when a result breaks the reader's contract: a batch of 1..3
 * reports with an IMSI, a cell key and a time within the limits, or a
 * refusal with a result code and the AVP it names. `make check` replays
 * tests/fuzz/corpus/rir/ (RIRs written by `dia-sim --dump`).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/diameter/dict.h"
#include "locguard/diameter/rir.h"

#include <freeDiameter/libfdcore.h>

static lg_dia_dict_t dict;

static void init_once(void)
{
    static int is_done;

    if (is_done)
        return;
    fd_g_debug_lvl = FD_LOG_FATAL;
    if (fd_core_initialize() != 0 || lg_dia_dict_load(fd_g_config->cnf_dict, &dict) != LG_OK)
        abort();
    is_done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lg_report_limits_t lim = {
        .max_reports = 3, .now_us = FUZZ_NOW_US, .max_age_us = INT64_C(86400000000)};
    struct msg *m = NULL;
    struct fd_pei pei;

    init_once();
    if (size < 20 || size > 65536)
        return 0;
    uint8_t *buf = malloc(size); /* fd_msg_parse_buffer takes it over */
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    if (fd_msg_parse_buffer(&buf, size, &m) != 0) {
        free(buf);
        return 0;
    }
    memset(&pei, 0, sizeof(pei));
    if (fd_msg_parse_dict(m, dict.dict, &pei) != 0 || fd_msg_parse_rules(m, dict.dict, &pei) != 0) {
        if (pei.pei_avp_free && pei.pei_avp != NULL)
            fd_msg_free(pei.pei_avp);
        fd_msg_free(m);
        return 0;
    }

    lg_batch_t b;
    lg_rir_error_t err;
    if (lg_rir_read(m, &lim, &b, &err) == LG_OK) {
        CHECK(b.n_reports >= 1 && b.n_reports <= lim.max_reports && b.reports != NULL);
        for (size_t i = 0; i < b.n_reports; i++) {
            const lg_report_t *r = &b.reports[i];
            size_t n = strnlen(r->supi, sizeof r->supi);
            CHECK(n >= 5 && n <= 15 && strspn(r->supi, "0123456789") == n);
            CHECK(r->cell_key[0] != '\0');
            CHECK(r->rat == LG_RAT_EUTRA || r->rat == LG_RAT_UTRA);
            CHECK(r->ts_us <= lim.now_us && r->ts_us >= lim.now_us - lim.max_age_us);
            if (r->has_position)
                CHECK(r->lat_deg >= -90.0 && r->lat_deg <= 90.0 && r->lon_deg >= -180.0 &&
                      r->lon_deg <= 180.0);
        }
        /* Each report's SCEF-Reference-ID (the dictionary's rules require one). */
        uint32_t *refs = lg_xcalloc(b.n_reports, sizeof(*refs));
        struct avp **avps = lg_xcalloc(b.n_reports, sizeof(*avps));
        CHECK(lg_rir_refs(m, refs, avps, b.n_reports) == LG_OK);
        for (size_t i = 0; i < b.n_reports; i++)
            CHECK(avps[i] != NULL);
        free(refs);
        free(avps);
        lg_batch_cleanup(&b);
    } else {
        CHECK(b.n_reports == 0 && b.reports == NULL);
        CHECK(err.reason != NULL);
        CHECK(err.result_code == LG_DIA_MISSING_AVP ||
              err.result_code == LG_DIA_INVALID_AVP_VALUE ||
              err.result_code == LG_DIA_AVP_OCCURS_TOO_MANY_TIMES);
        CHECK((err.bad != NULL) != (err.result_code == LG_DIA_MISSING_AVP));
        CHECK(err.result_code != LG_DIA_MISSING_AVP || err.missing_code != 0);
    }
    fd_msg_free(m);
    return 0;
}
