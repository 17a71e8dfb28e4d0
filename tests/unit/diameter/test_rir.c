/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the RIR reader (service/diameter/rir.c) and the dictionary
 * (service/diameter/dict.c): TS 23.003 identities into canonical cell keys,
 * and Reporting-Information-Requests built with freeDiameter's message API,
 * put on the wire and parsed back against the dictionary as the stack does
 * for a received one, read into report batches or refused with the answer
 * the zone sends. freeDiameter's core is initialized (its dictionary with
 * the base protocol), never started: no thread, no socket.
 */
#include "locguard/diameter/dict.h"
#include "locguard/diameter/rir.h"

#include <freeDiameter/libfdcore.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static lg_dia_dict_t D;

#define NOW_US (1800000000LL * 1000000)

static const lg_report_limits_t LIM = {
    .max_reports = 3, .now_us = NOW_US, .max_age_us = 3600LL * 1000000};

static int setup(void **state)
{
    (void)state;
    fd_g_debug_lvl = FD_LOG_FATAL;
    if (fd_core_initialize() != 0 || lg_dia_dict_load(fd_g_config->cnf_dict, &D) != LG_OK)
        return -1;
    /* A second load finds what the first defined. */
    lg_dia_dict_t again;
    if (lg_dia_dict_load(fd_g_config->cnf_dict, &again) != LG_OK || again.cmd_rir != D.cmd_rir ||
        again.ecgi != D.ecgi)
        return -1;
    return 0;
}

/* ---- building requests ---- */

static void add_os(struct dict_object *model, msg_or_avp *parent, const void *p, size_t len)
{
    struct avp *a;
    union avp_value v;
    memset(&v, 0, sizeof(v));
    v.os.data = (uint8_t *)(uintptr_t)p;
    v.os.len = len;
    assert_int_equal(fd_msg_avp_new(model, 0, &a), 0);
    assert_int_equal(fd_msg_avp_setvalue(a, &v), 0);
    assert_int_equal(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a), 0);
}

static void add_u32(struct dict_object *model, msg_or_avp *parent, uint32_t x)
{
    struct avp *a;
    union avp_value v = {.u32 = x};
    assert_int_equal(fd_msg_avp_new(model, 0, &a), 0);
    assert_int_equal(fd_msg_avp_setvalue(a, &v), 0);
    assert_int_equal(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a), 0);
}

static struct avp *add_group(struct dict_object *model, msg_or_avp *parent)
{
    struct avp *a;
    assert_int_equal(fd_msg_avp_new(model, 0, &a), 0);
    assert_int_equal(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a), 0);
    return a;
}

/* A RIR with the envelope and, unless imsi is NULL, a User-Identifier. */
static struct msg *rir(const char *imsi)
{
    struct msg *m;
    assert_int_equal(fd_msg_new(D.cmd_rir, MSGFL_ALLOC_ETEID, &m), 0);
    add_os(D.session_id, m, "mme.test;1;2", 12);
    add_u32(D.auth_session_state, m, 1);
    add_os(D.origin_host, m, "mme.test", 8);
    add_os(D.origin_realm, m, "test", 4);
    add_os(D.destination_realm, m, "test", 4);
    if (imsi != NULL)
        add_os(D.user_name, add_group(D.user_identifier, m), imsi, strlen(imsi));
    return m;
}

/* A Monitoring-Event-Report with an EPS-Location-Information; returns the MME or SGSN group. */
static struct avp *mer(struct msg *m, bool is_mme)
{
    struct avp *r = add_group(D.monitoring_event_report, m);
    add_u32(D.scef_reference_id, r, 7);
    add_u32(D.monitoring_type, r, LG_DIA_MONITORING_TYPE_LOCATION_REPORTING);
    struct avp *eli = add_group(D.eps_location_information, r);
    return add_group(is_mme ? D.mme_location_information : D.sgsn_location_information, eli);
}

static const uint8_t ECGI[7] = {0x00, 0xF1, 0x10, 0x00, 0x00, 0xAB, 0x01}; /* 001-01, 000AB01 */
static const uint8_t TAI[5] = {0x00, 0xF1, 0x10, 0x00, 0x01};
static const uint8_t CGI[7] = {0x13, 0x00, 0x14, 0x0A, 0x01, 0x00, 0x02}; /* 310-410 */
static const uint8_t SAI[7] = {0x00, 0xF1, 0x10, 0x0A, 0x01, 0x00, 0x03};
static const uint8_t RAI[6] = {0x00, 0xF1, 0x10, 0x0A, 0x01, 0x05};

/* What the stack does to a received request: bytes on the wire, parsed against the dictionary. */
static struct msg *received(struct msg *m)
{
    uint8_t *buf;
    size_t len;
    struct msg *r;
    struct fd_pei pei;

    assert_int_equal(fd_msg_bufferize(m, &buf, &len), 0);
    fd_msg_free(m);
    assert_int_equal(fd_msg_parse_buffer(&buf, len, &r), 0);
    memset(&pei, 0, sizeof(pei));
    assert_int_equal(fd_msg_parse_dict(r, D.dict, &pei), 0);
    assert_int_equal(fd_msg_parse_rules(r, D.dict, &pei), 0);
    return r;
}

/* The code of an AVP. */
static uint32_t code_of(struct avp *a)
{
    struct avp_hdr *h;
    assert_non_null(a);
    assert_int_equal(fd_msg_avp_hdr(a, &h), 0);
    return h->avp_code;
}

/* ---- identities ---- */

static void test_cell_keys_from_identities(void **state)
{
    (void)state;
    char key[LG_CELL_KEY_MAX];
    uint8_t plmn[3];

    assert_int_equal(lg_rir_ecgi_key(ECGI, 7, key), LG_OK);
    assert_string_equal(key, "ecgi:001-01:000AB01");
    assert_int_equal(lg_rir_cgi_key("cgi", CGI, 7, key), LG_OK);
    assert_string_equal(key, "cgi:310-410:0A01:0002");
    assert_int_equal(lg_rir_cgi_key("sai", SAI, 7, key), LG_OK);
    assert_string_equal(key, "sai:001-01:0A01:0003");
    assert_int_equal(lg_rir_rai_key(RAI, 6, key), LG_OK);
    assert_string_equal(key, "rai:001-01:0A01:05");

    assert_int_equal(lg_rir_plmn_encode("001-01", plmn), LG_OK);
    assert_memory_equal(plmn, ECGI, 3);
    assert_int_equal(lg_rir_plmn_encode("310-410", plmn), LG_OK);
    assert_memory_equal(plmn, CGI, 3);
    assert_int_equal(lg_rir_plmn_encode("31-410", plmn), LG_ERR);
    assert_int_equal(lg_rir_plmn_encode("310-4a0", plmn), LG_ERR);
}

static void test_malformed_identities_are_refused(void **state)
{
    (void)state;
    char key[LG_CELL_KEY_MAX];
    uint8_t bad[7];

    assert_int_equal(lg_rir_ecgi_key(ECGI, 6, key), LG_ERR); /* length */
    assert_int_equal(lg_rir_ecgi_key(ECGI, 8, key), LG_ERR);
    memcpy(bad, ECGI, 7);
    bad[3] = 0x10; /* a spare bit set: the ECI is 28 bits */
    assert_int_equal(lg_rir_ecgi_key(bad, 7, key), LG_ERR);
    memcpy(bad, ECGI, 7);
    bad[0] = 0x0A; /* MCC digit 1 = 0xA: not BCD */
    assert_int_equal(lg_rir_ecgi_key(bad, 7, key), LG_ERR);
    memcpy(bad, ECGI, 7);
    bad[2] = 0xF0; /* MNC digit 2 = 0xF: only digit 3 may be filler */
    assert_int_equal(lg_rir_ecgi_key(bad, 7, key), LG_ERR);
    assert_int_equal(lg_rir_cgi_key("cgi", CGI, 6, key), LG_ERR);
    assert_int_equal(lg_rir_rai_key(RAI, 7, key), LG_ERR);
}

/* ---- whole requests ---- */

static void test_mme_report_becomes_a_eutra_report(void **state)
{
    (void)state;
    struct msg *m = rir("001010000000001");
    struct avp *mli = mer(m, true);
    add_os(D.ecgi, mli, ECGI, 7);
    add_os(D.tai, mli, TAI, 5);
    add_u32(D.age_of_location_information, mli, 2);
    m = received(m);

    lg_batch_t b;
    lg_rir_error_t err;
    assert_int_equal(lg_rir_read(m, &LIM, &b, &err), LG_OK);
    assert_int_equal(b.n_reports, 1);
    assert_string_equal(b.reports[0].supi, "001010000000001");
    assert_string_equal(b.reports[0].cell_key, "ecgi:001-01:000AB01");
    assert_int_equal(b.reports[0].rat, LG_RAT_EUTRA);
    assert_true(b.reports[0].ts_us == NOW_US - 120LL * 1000000);
    assert_false(b.reports[0].has_position);
    assert_string_equal(b.node, ""); /* the caller's to fill */
    lg_batch_cleanup(&b);
    fd_msg_free(m);
}

/* Each report's SCEF-Reference-ID, in order, with the AVP that holds it. */
static void test_each_reports_reference_is_read_in_order(void **state)
{
    (void)state;
    struct msg *m = rir("001010000000001");
    for (uint32_t ref = 11; ref <= 13; ref++) {
        struct avp *r = add_group(D.monitoring_event_report, m);
        add_u32(D.scef_reference_id, r, ref);
        struct avp *eli = add_group(D.eps_location_information, r);
        add_os(D.ecgi, add_group(D.mme_location_information, eli), ECGI, 7);
    }
    m = received(m);

    lg_batch_t b;
    lg_rir_error_t err;
    uint32_t refs[3];
    struct avp *avps[3];
    assert_int_equal(lg_rir_read(m, &LIM, &b, &err), LG_OK);
    assert_int_equal(b.n_reports, 3);
    assert_int_equal(lg_rir_refs(m, refs, avps, 3), LG_OK);
    for (int i = 0; i < 3; i++) {
        struct avp_hdr *h;
        assert_int_equal(refs[i], 11 + i);
        assert_int_equal(fd_msg_avp_hdr(avps[i], &h), 0);
        assert_int_equal(h->avp_code, LG_AVP_SCEF_REFERENCE_ID);
    }
    lg_batch_cleanup(&b);
    fd_msg_free(m);
}

static void test_sgsn_report_takes_the_cgi_before_sai_and_rai(void **state)
{
    (void)state;
    struct msg *m = rir("310410000000002");
    struct avp *sli = mer(m, false);
    add_os(D.rai, sli, RAI, 6);
    add_os(D.sai, sli, SAI, 7);
    add_os(D.cgi, sli, CGI, 7);
    sli = mer(m, false); /* a second report: SAI and RAI */
    add_os(D.rai, sli, RAI, 6);
    add_os(D.sai, sli, SAI, 7);
    sli = mer(m, false); /* a third: RAI only */
    add_os(D.rai, sli, RAI, 6);
    m = received(m);

    lg_batch_t b;
    lg_rir_error_t err;
    assert_int_equal(lg_rir_read(m, &LIM, &b, &err), LG_OK);
    assert_int_equal(b.n_reports, 3);
    assert_string_equal(b.reports[0].cell_key, "cgi:310-410:0A01:0002");
    assert_string_equal(b.reports[1].cell_key, "sai:001-01:0A01:0003");
    assert_string_equal(b.reports[2].cell_key, "rai:001-01:0A01:05");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(b.reports[i].rat, LG_RAT_UTRA);
        assert_string_equal(b.reports[i].supi, "310410000000002");
        assert_true(b.reports[i].ts_us == NOW_US);
    }
    lg_batch_cleanup(&b);
    fd_msg_free(m);
}

static void test_geographical_information_is_the_position(void **state)
{
    (void)state;
    /* TS 23.032 point with uncertainty circle: 48.85 N 2.35 E, k = 10. */
    static const uint8_t gad[8] = {0x10, 0x45, 0x7A, 0xE1, 0x01, 0xAB, 0x85, 0x0A};
    struct msg *m = rir("001010000000001");
    struct avp *mli = mer(m, true);
    add_os(D.ecgi, mli, ECGI, 7);
    add_os(D.geographical_information, mli, gad, 8);
    m = received(m);

    lg_batch_t b;
    lg_rir_error_t err;
    assert_int_equal(lg_rir_read(m, &LIM, &b, &err), LG_OK);
    assert_true(b.reports[0].has_position);
    assert_true(b.reports[0].lat_deg > 48.84 && b.reports[0].lat_deg < 48.86);
    assert_true(b.reports[0].lon_deg > 2.34 && b.reports[0].lon_deg < 2.36);
    assert_true(b.reports[0].uncertainty_m > 15 && b.reports[0].uncertainty_m < 16);
    lg_batch_cleanup(&b);
    fd_msg_free(m);
}

/* One refusal case: how the request is broken, and the answer it must get. */
typedef struct refusal {
    const char *name;
    void (*build)(struct msg *m);
    const char *imsi;
    uint32_t result_code;
    uint32_t failed_code; /* the AVP in Failed-AVP: bad's, or the missing one's */
} refusal_t;

static void build_nothing(struct msg *m)
{
    (void)m;
}

static void build_good(struct msg *m)
{
    add_os(D.ecgi, mer(m, true), ECGI, 7);
}

static void build_no_location(struct msg *m)
{
    struct avp *r = add_group(D.monitoring_event_report, m);
    add_u32(D.scef_reference_id, r, 7);
}

static void build_empty_eps_location(struct msg *m)
{
    struct avp *r = add_group(D.monitoring_event_report, m);
    add_u32(D.scef_reference_id, r, 7);
    add_group(D.eps_location_information, r);
}

static void build_mme_without_ecgi(struct msg *m)
{
    add_os(D.tai, mer(m, true), TAI, 5);
}

static void build_short_ecgi(struct msg *m)
{
    add_os(D.ecgi, mer(m, true), ECGI, 6);
}

static void build_huge_ecgi(struct msg *m)
{
    static uint8_t big[5000];
    add_os(D.ecgi, mer(m, true), big, sizeof big);
}

static void build_bad_tai(struct msg *m)
{
    struct avp *mli = mer(m, true);
    add_os(D.ecgi, mli, ECGI, 7);
    add_os(D.tai, mli, TAI, 4);
}

static void build_sgsn_lai_only(struct msg *m)
{
    add_os(D.lai, mer(m, false), RAI, 5);
}

static void build_both_locations(struct msg *m)
{
    struct avp *r = add_group(D.monitoring_event_report, m);
    add_u32(D.scef_reference_id, r, 7);
    struct avp *eli = add_group(D.eps_location_information, r);
    add_os(D.ecgi, add_group(D.mme_location_information, eli), ECGI, 7);
    add_os(D.cgi, add_group(D.sgsn_location_information, eli), CGI, 7);
}

static void build_too_old(struct msg *m)
{
    struct avp *mli = mer(m, true);
    add_os(D.ecgi, mli, ECGI, 7);
    add_u32(D.age_of_location_information, mli, 61);
}

static void build_other_monitoring_type(struct msg *m)
{
    struct avp *r = add_group(D.monitoring_event_report, m);
    add_u32(D.scef_reference_id, r, 7);
    add_u32(D.monitoring_type, r, 1); /* UE_REACHABILITY */
}

static void build_four_reports(struct msg *m)
{
    for (int i = 0; i < 4; i++)
        build_good(m);
}

static void build_bad_gad(struct msg *m)
{
    static const uint8_t not_a_circle[8] = {0x90, 0, 0, 0, 0, 0, 0, 0};
    struct avp *mli = mer(m, true);
    add_os(D.ecgi, mli, ECGI, 7);
    add_os(D.geographical_information, mli, not_a_circle, 8);
}

static void test_refusals_name_their_avp(void **state)
{
    (void)state;
    static const refusal_t cases[] = {
        {"no User-Identifier", build_good, NULL, LG_DIA_MISSING_AVP, LG_AVP_USER_IDENTIFIER},
        {"no Monitoring-Event-Report", build_nothing, "001010000000001", LG_DIA_MISSING_AVP,
         LG_AVP_MONITORING_EVENT_REPORT},
        {"no EPS-Location-Information", build_no_location, "001010000000001", LG_DIA_MISSING_AVP,
         LG_AVP_EPS_LOCATION_INFORMATION},
        {"empty EPS-Location-Information", build_empty_eps_location, "001010000000001",
         LG_DIA_MISSING_AVP, LG_AVP_MME_LOCATION_INFORMATION},
        {"MME location without ECGI", build_mme_without_ecgi, "001010000000001", LG_DIA_MISSING_AVP,
         LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY},
        {"SGSN location with a lone LAI", build_sgsn_lai_only, "001010000000001",
         LG_DIA_MISSING_AVP, LG_AVP_CELL_GLOBAL_IDENTITY},
        {"IMSI of 4 digits", build_good, "0010", LG_DIA_INVALID_AVP_VALUE, LG_AVP_USER_NAME},
        {"IMSI of 16 digits", build_good, "0010100000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_USER_NAME},
        {"IMSI with a letter", build_good, "00101000000000a", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_USER_NAME},
        {"ECGI of 6 octets", build_short_ecgi, "001010000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY},
        {"ECGI of 5000 octets", build_huge_ecgi, "001010000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY},
        {"TAI of 4 octets", build_bad_tai, "001010000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_TRACKING_AREA_IDENTITY},
        {"an MME and an SGSN location", build_both_locations, "001010000000001",
         LG_DIA_INVALID_AVP_VALUE, LG_AVP_SGSN_LOCATION_INFORMATION},
        {"61 minutes old (limit 60)", build_too_old, "001010000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_AGE_OF_LOCATION_INFORMATION},
        {"UE_REACHABILITY", build_other_monitoring_type, "001010000000001",
         LG_DIA_INVALID_AVP_VALUE, LG_AVP_MONITORING_TYPE},
        {"4 reports (limit 3)", build_four_reports, "001010000000001",
         LG_DIA_AVP_OCCURS_TOO_MANY_TIMES, LG_AVP_MONITORING_EVENT_REPORT},
        {"not an uncertainty circle", build_bad_gad, "001010000000001", LG_DIA_INVALID_AVP_VALUE,
         LG_AVP_GEOGRAPHICAL_INFORMATION},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const refusal_t *c = &cases[i];
        struct msg *m = rir(c->imsi);
        c->build(m);
        m = received(m);
        lg_batch_t b;
        lg_rir_error_t err;
        if (lg_rir_read(m, &LIM, &b, &err) != LG_ERR)
            fail_msg("%s: read", c->name);
        assert_int_equal(b.n_reports, 0);
        assert_null(b.reports);
        assert_non_null(err.reason);
        if (err.result_code != c->result_code)
            fail_msg("%s: result %u, expected %u", c->name, err.result_code, c->result_code);
        uint32_t failed = err.bad != NULL ? code_of(err.bad) : err.missing_code;
        if (failed != c->failed_code)
            fail_msg("%s: Failed-AVP %u, expected %u", c->name, failed, c->failed_code);
        if (err.result_code == LG_DIA_MISSING_AVP)
            assert_null(err.bad);
        fd_msg_free(m);
    }
}

/* What the stack refuses before the zone sees it: the dictionary's rules. */
static void test_dictionary_rules_refuse_a_report_without_scef_reference_id(void **state)
{
    (void)state;
    struct msg *m = rir("001010000000001");
    struct avp *r = add_group(D.monitoring_event_report, m);
    struct avp *eli = add_group(D.eps_location_information, r);
    add_os(D.ecgi, add_group(D.mme_location_information, eli), ECGI, 7);
    uint8_t *buf;
    size_t len;
    struct msg *got;
    struct fd_pei pei;
    assert_int_equal(fd_msg_bufferize(m, &buf, &len), 0);
    fd_msg_free(m);
    assert_int_equal(fd_msg_parse_buffer(&buf, len, &got), 0);
    memset(&pei, 0, sizeof(pei));
    assert_int_equal(fd_msg_parse_dict(got, D.dict, &pei), 0);
    assert_int_equal(fd_msg_parse_rules(got, D.dict, &pei), EBADMSG);
    assert_string_equal(pei.pei_errcode, "DIAMETER_MISSING_AVP");
    assert_int_equal(code_of(pei.pei_avp), LG_AVP_SCEF_REFERENCE_ID);
    if (pei.pei_avp_free)
        fd_msg_free(pei.pei_avp);
    fd_msg_free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cell_keys_from_identities),
        cmocka_unit_test(test_malformed_identities_are_refused),
        cmocka_unit_test(test_mme_report_becomes_a_eutra_report),
        cmocka_unit_test(test_each_reports_reference_is_read_in_order),
        cmocka_unit_test(test_sgsn_report_takes_the_cgi_before_sai_and_rai),
        cmocka_unit_test(test_geographical_information_is_the_position),
        cmocka_unit_test(test_refusals_name_their_avp),
        cmocka_unit_test(test_dictionary_rules_refuse_a_report_without_scef_reference_id),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
