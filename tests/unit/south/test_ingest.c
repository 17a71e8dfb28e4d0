/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/south/ingest.c and the cache protocol it drives
 * (service/south/ingest_cache.c), without a database: the limits of the queue
 * and of a round trip, the lg_ingest() parameters a round trip's batches
 * become (arrays in FIFO order), how its answer is read (columns by name)
 * and applied to the batches, and the cache's states through claims,
 * answers, stale generations (LG001), rollbacks and failures.
 * The results are built with libpq's own PQmakeEmptyPGresult/PQsetvalue.
 */
#include "locguard/south/ingest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0_US      INT64_C(1714564800000000)
#define REFRESH_US INT64_C(60000000)

static lg_ingest_config_t config(void)
{
    lg_ingest_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flush_max_reports = 10;
    cfg.queue_max_reports = 100;
    cfg.seq_window = 1024;
    cfg.hysteresis = 2;
    cfg.refresh_ms = 60000;
    cfg.msg_window_s = 600;
    cfg.cache_devices = 1000;
    return cfg;
}

static lg_report_t report(const char *supi, const char *cell, int64_t ts_us)
{
    lg_report_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.supi, sizeof r.supi, "%s", supi);
    snprintf(r.cell_key, sizeof r.cell_key, "%s", cell);
    r.rat = LG_RAT_EUTRA;
    r.ts_us = ts_us;
    return r;
}

static lg_batch_t batch(const char *node, lg_report_t *reports, size_t n)
{
    lg_batch_t b;
    memset(&b, 0, sizeof b);
    snprintf(b.node, sizeof b.node, "%s", node);
    b.reports = reports;
    b.n_reports = n;
    return b;
}

/* ---- statuses and limits ---- */

static void test_status_words_map_both_ways(void **state)
{
    (void)state;
    static const lg_ingest_status_t answered[] = {LG_INGEST_ACCEPTED, LG_INGEST_DUPLICATE,
                                                  LG_INGEST_STALE, LG_INGEST_UNKNOWN_NODE};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(lg_ingest_status_from_word(lg_ingest_status_name(answered[i])),
                         answered[i]);
    assert_string_equal(lg_ingest_status_name(LG_INGEST_UNKNOWN_NODE), "unknown_node");
    assert_string_equal(lg_ingest_status_name(LG_INGEST_QUEUE_FULL), "queue_full");
    assert_int_equal(lg_ingest_status_from_word("queued"), LG_INGEST_UNAVAILABLE);
    assert_int_equal(lg_ingest_status_from_word("Accepted"), LG_INGEST_UNAVAILABLE);
    assert_int_equal(lg_ingest_status_from_word(""), LG_INGEST_UNAVAILABLE);
    assert_int_equal(lg_ingest_status_from_word(NULL), LG_INGEST_UNAVAILABLE);
    assert_string_equal(lg_ingest_status_name((lg_ingest_status_t)42), "?");
}

static void test_queue_takes_batches_up_to_queue_max_reports(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    assert_true(lg_ingest_admits(&cfg, 0, 100));
    assert_false(lg_ingest_admits(&cfg, 0, 101));
    assert_true(lg_ingest_admits(&cfg, 90, 10));
    assert_false(lg_ingest_admits(&cfg, 91, 10));
}

static void test_round_trip_takes_whole_batches_up_to_flush_max_reports(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    /* The first batch always goes, even above the limit. */
    assert_true(lg_ingest_fits(&cfg, 0, 0, 50));
    assert_true(lg_ingest_fits(&cfg, 1, 4, 6));
    assert_false(lg_ingest_fits(&cfg, 1, 4, 7));
    assert_false(lg_ingest_fits(&cfg, 1, 50, 1));
    /* Batches of 4, 4, 4 with a limit of 10: two go, the third waits. */
    size_t sizes[] = {4, 4, 4}, n = 0, reports = 0;
    while (n < 3 && lg_ingest_fits(&cfg, n, reports, sizes[n]))
        reports += sizes[n++];
    assert_int_equal(n, 2);
}

/* ---- the parameters ---- */

static void test_a_round_trip_starts_beside_another_only_when_enough_wait(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = {.parallel_min_reports = 3};
    /* None under way: even one report goes at once. */
    assert_true(lg_ingest_may_start(&cfg, 0, 1));
    /* One under way: a trickle waits for it, three reports start beside it. */
    assert_false(lg_ingest_may_start(&cfg, 1, 1));
    assert_false(lg_ingest_may_start(&cfg, 1, 2));
    assert_true(lg_ingest_may_start(&cfg, 1, 3));
    assert_true(lg_ingest_may_start(&cfg, 2, 500));
    /* 0: whenever a connection is idle, as before the rule. */
    cfg.parallel_min_reports = 0;
    assert_true(lg_ingest_may_start(&cfg, 1, 1));
}

static void test_batches_become_arrays_in_their_order_without_a_cache(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r1[2] = {report("001010000000001", "ecgi:001-01:0000001", T0_US),
                         report("001010000000002", "ecgi:001-01:0000002", T0_US + 1)};
    r1[1].has_position = true;
    r1[1].lon_deg = 2.35;
    r1[1].lat_deg = 48.85;
    r1[1].uncertainty_m = 25.25;
    lg_report_t r2[1] = {report("001010000000003", "ncgi:001-01:000000001", T0_US + 2)};
    r2[0].rat = LG_RAT_NR;
    lg_batch_t b1 = batch("amf-\"1\"", r1, 2), b2 = batch("mme-2", r2, 1);

    lg_ingest_call_t c;
    lg_ingest_call_init(&c);
    lg_ingest_call_add(&c, &b1, 7, NULL);
    lg_ingest_call_add(&c, &b2, 3, NULL);
    const char *const *v = lg_ingest_call_end(&c, &cfg, NULL);
    assert_string_equal(v[0], "{\"amf-\\\"1\\\"\",\"mme-2\"}");
    assert_string_equal(v[1], "{7,3}");
    assert_string_equal(v[2], "1024");
    assert_string_equal(v[3], "2");
    assert_string_equal(v[4], "{1,1,2}");
    assert_string_equal(v[5], "{\"001010000000001\",\"001010000000002\",\"001010000000003\"}");
    assert_string_equal(v[6], "{1714564800000000,1714564800000001,1714564800000002}");
    assert_string_equal(v[7], "{\"EUTRA\",\"EUTRA\",\"NR\"}");
    assert_string_equal(
        v[8], "{\"ecgi:001-01:0000001\",\"ecgi:001-01:0000002\",\"ncgi:001-01:000000001\"}");
    assert_string_equal(v[9], "{NULL,2.3500000,NULL}");
    assert_string_equal(v[10], "{NULL,48.8500000,NULL}");
    assert_string_equal(v[11], "{NULL,25.2,NULL}");
    assert_string_equal(v[12], "60000");
    assert_null(v[13]);
    assert_null(v[14]);
    assert_null(v[15]);
    assert_null(v[16]); /* no message keys */
    assert_string_equal(v[17], "600");
    assert_int_equal(c.n_sent, 3);
    assert_non_null(strstr(lg_ingest_sql(), "lg_ingest($1::text[]"));
    assert_non_null(strstr(lg_ingest_sql(), "$17::text[], $18::int)"));
    lg_ingest_call_cleanup(&c);
}

/* A batch with a message key (a Diameter request) has a NULL seq and its key in $17. */
static void test_a_keyed_batch_sends_its_key_instead_of_a_seq(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r1[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_report_t r2[1] = {report("001010000000002", "ecgi:001-01:0000002", T0_US)};
    lg_batch_t b1 = batch("mme-1", r1, 1), b2 = batch("mme-2", r2, 1);
    lg_strlcpy(b1.msg_key, "mme1.epc.example 0000abcd", sizeof(b1.msg_key));

    lg_ingest_call_t c;
    lg_ingest_call_init(&c);
    lg_ingest_call_add(&c, &b1, 99, NULL);
    lg_ingest_call_add(&c, &b2, 5, NULL);
    const char *const *v = lg_ingest_call_end(&c, &cfg, NULL);
    assert_string_equal(v[1], "{NULL,5}");
    assert_string_equal(v[16], "{\"mme1.epc.example 0000abcd\",NULL}");
    assert_string_equal(v[17], "600");
    lg_ingest_call_cleanup(&c);
}

/* ---- the answer ---- */

/* The columns of lg_ingest's row, deliberately not in the statement's order. */
static const char *const answer_columns[] = {
    "cache_dec",   "n_alerts",       "batch_status",     "n_inside",    "n_outside",
    "n_ambiguous", "n_unknown_cell", "n_unknown_device", "n_unchecked", "n_coalesced",
    "cache_gen",   "cache_ords",     "cache_ts"};
#define N_ANSWER_COLUMNS 13

/* A one-row result with values[i] for answer_columns[i] (NULL: SQL NULL); skip: a column left out.
 */
static PGresult *answer_result(const char *const *values, int skip)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[N_ANSWER_COLUMNS];
    int n = 0;
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < N_ANSWER_COLUMNS; i++)
        if (i != skip) {
            attrs[n].name = (char *)answer_columns[i];
            attrs[n].format = 0;
            attrs[n].typlen = -1;
            attrs[n].atttypmod = -1;
            n++;
        }
    assert_int_equal(PQsetResultAttrs(res, n, attrs), 1);
    for (int i = 0, col = 0; i < N_ANSWER_COLUMNS; i++) {
        if (i == skip)
            continue;
        assert_int_equal(PQsetvalue(res, 0, col, (char *)values[i],
                                    values[i] != NULL ? (int)strlen(values[i]) : -1),
                         1);
        col++;
    }
    return res;
}

static void test_answer_is_read_by_column_name(void **state)
{
    (void)state;
    const char *values[N_ANSWER_COLUMNS] = {"ia",
                                            "3",
                                            "{accepted,duplicate,stale,unknown_node,bogus}",
                                            "10",
                                            "2",
                                            "1",
                                            "4",
                                            "5",
                                            "6",
                                            NULL,
                                            "77",
                                            "{2,1}",
                                            "{1714564800000000,1714564800000001}"};
    PGresult *res = answer_result(values, -1);
    lg_ingest_answer_t a;
    const char *err;

    assert_int_equal(lg_ingest_answer_parse(res, 5, 2, &a, &err), LG_OK);
    assert_int_equal(a.n_batches, 5);
    assert_int_equal(a.status[0], LG_INGEST_ACCEPTED);
    assert_int_equal(a.status[1], LG_INGEST_DUPLICATE);
    assert_int_equal(a.status[2], LG_INGEST_STALE);
    assert_int_equal(a.status[3], LG_INGEST_UNKNOWN_NODE);
    assert_int_equal(a.status[4], LG_INGEST_UNAVAILABLE);
    assert_int_equal(a.n_inside, 10);
    assert_int_equal(a.n_outside, 2);
    assert_int_equal(a.n_ambiguous, 1);
    assert_int_equal(a.n_unknown_cell, 4);
    assert_int_equal(a.n_unknown_device, 5);
    assert_int_equal(a.n_unchecked, 6);
    assert_int_equal(a.n_alerts, 3);
    assert_int_equal(a.n_coalesced, 0); /* NULL */
    assert_true(a.cache.has_gen);
    assert_int_equal(a.cache.gen, 77);
    assert_int_equal(a.cache.n, 2);
    assert_int_equal(a.cache.ords[0], 2);
    assert_int_equal(a.cache.ts_us[1], T0_US + 1);
    assert_string_equal(a.cache.dec, "ia");
    lg_ingest_answer_cleanup(&a);
    PQclear(res);
}

static void test_answer_without_a_column_is_refused(void **state)
{
    (void)state;
    const char *values[N_ANSWER_COLUMNS] = {"",  "0", "{accepted}", "0",  "0",  "0", "0",
                                            "0", "0", "0",          NULL, NULL, NULL};
    lg_ingest_answer_t a;
    const char *err;
    for (int skip = 0; skip < N_ANSWER_COLUMNS; skip++) {
        PGresult *res = answer_result(values, skip);
        if (lg_ingest_answer_parse(res, 1, 0, &a, &err) != LG_ERR)
            fail_msg("accepted without %s", answer_columns[skip]);
        assert_non_null(err);
        lg_ingest_answer_cleanup(&a);
        PQclear(res);
    }
}

static void test_malformed_answers_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *status, *gen, *ords, *ts, *dec, *inside;
        size_t n_batches;
    } cases[] = {
        {"{accepted}", NULL, NULL, NULL, "", "0", 2},             /* a status short */
        {"{accepted,accepted}", NULL, NULL, NULL, "", "0", 1},    /* a status too many */
        {"accepted", NULL, NULL, NULL, "", "0", 1},               /* not an array */
        {"{accepted", NULL, NULL, NULL, "", "0", 1},              /* cut */
        {"{accepted}", "x", "{}", "{}", "", "0", 1},              /* generation not a number */
        {"{accepted}", "5", "{1,2}", "{1}", "ii", "0", 1},        /* lengths differ */
        {"{accepted}", "5", "{1}", "{1}", "", "0", 1},            /* a decision short */
        {"{accepted}", "5", "{1,2,3}", "{1,2,3}", "iii", "0", 1}, /* more rows than sent (2) */
        {"{accepted}", "5", "{1,NULL}", "{1,2}", "ii", "0", 1},   /* a NULL ord */
        {"{accepted}", NULL, NULL, NULL, "", "-1", 1},            /* a negative counter */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *values[N_ANSWER_COLUMNS] = {
            cases[i].dec, "0", cases[i].status, cases[i].inside, "0",        "0", "0", "0",
            "0",          "0", cases[i].gen,    cases[i].ords,   cases[i].ts};
        PGresult *res = answer_result(values, -1);
        lg_ingest_answer_t a;
        const char *err;
        if (lg_ingest_answer_parse(res, cases[i].n_batches, 2, &a, &err) != LG_ERR)
            fail_msg("case %zu accepted", i);
        lg_ingest_answer_cleanup(&a);
        PQclear(res);
    }
    lg_ingest_answer_t a;
    const char *err;
    assert_int_equal(lg_ingest_answer_parse(NULL, 1, 0, &a, &err), LG_ERR);
    lg_ingest_answer_cleanup(&a);
}

/* ---- the cache protocol ---- */

/*
 * One round trip of the given batches through the cache: begin, both
 * passes, the parameters. Returns the trip; *call holds the parameters.
 */
static lg_icache_trip_t *build(lg_icache_sync_t *s, lg_ingest_call_t *call, lg_batch_t *b, size_t n,
                               const lg_ingest_config_t *cfg)
{
    size_t reports = 0;
    for (size_t i = 0; i < n; i++)
        reports += b[i].n_reports;
    lg_icache_trip_t *t = lg_icache_trip_begin(s, n, reports, (int64_t)cfg->refresh_ms * 1000);
    for (size_t i = 0; i < n; i++)
        lg_icache_trip_add_batch(t, &b[i]);
    lg_ingest_call_init(call);
    for (size_t i = 0; i < n; i++)
        lg_ingest_call_add(call, &b[i], (int64_t)i + 1, t);
    (void)lg_ingest_call_end(call, cfg, t);
    return t;
}

/* A committed answer at gen: each report sent left a coalescable row with decision dec. */
static lg_icache_outcome_t commit_all(lg_icache_trip_t *t, int64_t gen, size_t n_sent, char dec,
                                      int64_t ts_us)
{
    int64_t ords[8], ts[8];
    char decs[9];
    for (size_t i = 0; i < n_sent; i++) {
        ords[i] = (int64_t)i + 1;
        ts[i] = ts_us;
        decs[i] = dec;
    }
    decs[n_sent] = '\0';
    lg_icache_answer_t a = {
        .has_gen = true, .gen = gen, .n = n_sent, .ords = ords, .ts_us = ts, .dec = decs};
    return lg_icache_trip_committed(t, &a);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(lg_icache_state_name(LG_ICACHE_OFF), "off");
    assert_string_equal(lg_icache_state_name(LG_ICACHE_CLAIMING), "claiming");
    assert_string_equal(lg_icache_state_name(LG_ICACHE_SYNCING), "syncing");
    assert_string_equal(lg_icache_state_name(LG_ICACHE_OWNER), "owner");
    assert_string_equal(lg_icache_state_name(LG_ICACHE_LOST), "lost");
    assert_string_equal(lg_icache_state_name((lg_icache_state_t)9), "?");
    assert_string_equal(lg_icache_outcome_name(LG_ICACHE_EMPTIED), "emptied");
}

static void test_no_cache_sends_everything_and_no_cache_parameters(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_icache_sync_t *s = lg_icache_sync_new(0);
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_ingest_call_t c;

    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OFF);
    lg_icache_trip_t *t = build(s, &c, &b, 1, &cfg);
    assert_null(t);
    assert_null(c.values[13]);
    assert_null(c.values[14]);
    assert_null(c.values[15]);
    assert_int_equal(c.n_sent, 1);
    assert_int_equal(lg_icache_trip_committed(t, NULL), LG_ICACHE_KEPT);
    lg_ingest_call_cleanup(&c);
    lg_icache_sync_free(s);
}

static void test_claim_then_owner_then_coalesces_a_repeat(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_icache_sync_t *s = lg_icache_sync_new(100);
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_ingest_call_t c;

    /* First round trip: a claim (token, NULL generation), sent whole. */
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_CLAIMING);
    lg_icache_trip_t *t = build(s, &c, &b, 1, &cfg);
    assert_non_null(c.values[13]);
    assert_int_equal(strlen(c.values[13]), 32);
    assert_null(c.values[14]);
    assert_string_equal(c.values[15], "{0}");
    assert_int_equal(c.n_sent, 1);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 5, 1, 'i', T0_US), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    assert_int_equal(lg_icache_sync_gen(s), 5);
    assert_int_equal(lg_icache_sync_size(s), 1);

    /* The same report again, a second later: coalesced, counted as inside, not sent. */
    r[0].ts_us = T0_US + 1000000;
    t = build(s, &c, &b, 1, &cfg);
    assert_string_equal(c.values[14], "5");
    assert_string_equal(c.values[15], "{1}");
    assert_string_equal(c.values[5], "{}");
    assert_int_equal(c.n_sent, 0);
    uint32_t by_dec[LG_ICACHE_N_DECISIONS];
    lg_icache_trip_cached(t, 0, by_dec);
    assert_int_equal(by_dec[LG_ICACHE_INSIDE], 1);
    assert_int_equal(by_dec[LG_ICACHE_AMBIGUOUS], 0);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 5, 0, 'i', 0), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    lg_icache_sync_free(s);
}

/* A sync in OWNER at gen 5 holding a usable entry for r[0]. */
static lg_icache_sync_t *owner_with_entry(lg_report_t *r, lg_batch_t *b,
                                          const lg_ingest_config_t *cfg)
{
    lg_icache_sync_t *s = lg_icache_sync_new(100);
    lg_ingest_call_t c;
    lg_icache_trip_t *t = build(s, &c, b, 1, cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 5, 1, 'i', r[0].ts_us), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    return s;
}

static void test_moved_generation_empties_the_cache(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    lg_report_t other[1] = {report("001010000000002", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t ob = batch("amf-1", other, 1);
    lg_ingest_call_t c;

    lg_icache_trip_t *t = build(s, &c, &ob, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 6, 1, 'i', T0_US), LG_ICACHE_EMPTIED);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    assert_int_equal(lg_icache_sync_gen(s), 6);
    assert_int_equal(lg_icache_sync_size(s), 0);
    assert_int_equal(lg_icache_sync_resets(s), 1);

    /* r is sent again, whole. */
    r[0].ts_us += 1000;
    t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 1);
    assert_string_equal(c.values[14], "6");
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_free(t);
    lg_icache_sync_free(s);
}

static void test_stale_generation_lg001_resyncs(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    lg_ingest_call_t c;

    r[0].ts_us += 1000;
    lg_icache_trip_t *t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 0); /* coalesced */
    lg_ingest_call_cleanup(&c);
    assert_int_equal(lg_icache_trip_failed(t, LG_ICACHE_FAIL_STALE), LG_ICACHE_EMPTIED);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_SYNCING);
    assert_int_equal(lg_icache_sync_size(s), 0);

    /* Sent again, whole, at generation 0; the next answer says the generation. */
    t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 1);
    assert_string_equal(c.values[14], "0");
    assert_string_equal(c.values[15], "{0}");
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 9, 1, 'a', r[0].ts_us), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    assert_int_equal(lg_icache_sync_gen(s), 9);
    assert_int_equal(lg_icache_sync_size(s), 1);
    lg_icache_sync_free(s);
}

static void test_failed_round_trip_resyncs_and_rollback_keeps(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    lg_ingest_call_t c;

    r[0].ts_us += 1000;
    lg_icache_trip_t *t = build(s, &c, &b, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(lg_icache_trip_failed(t, LG_ICACHE_FAIL_ROLLED_BACK), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    assert_int_equal(lg_icache_sync_size(s), 1);

    t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 0); /* still coalesced after the rollback */
    lg_ingest_call_cleanup(&c);
    assert_int_equal(lg_icache_trip_failed(t, LG_ICACHE_FAIL_OTHER), LG_ICACHE_EMPTIED);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_SYNCING);
    assert_int_equal(lg_icache_sync_size(s), 0);
    lg_icache_sync_free(s);
}

static void test_failed_claim_claims_again(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = lg_icache_sync_new(100);
    lg_ingest_call_t c;

    lg_icache_trip_t *t = build(s, &c, &b, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(lg_icache_trip_failed(t, LG_ICACHE_FAIL_OTHER), LG_ICACHE_EMPTIED);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_CLAIMING);
    t = build(s, &c, &b, 1, &cfg);
    assert_null(c.values[14]); /* a claim again, not generation 0 (not the owner yet) */
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_free(t);
    lg_icache_sync_free(s);
}

static void test_null_generation_means_another_daemon_took_over(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    lg_ingest_call_t c;
    lg_report_t other[1] = {report("001010000000002", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t ob = batch("amf-1", other, 1);

    lg_icache_trip_t *t = build(s, &c, &ob, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    lg_icache_answer_t a = {.has_gen = false, .dec = ""};
    assert_int_equal(lg_icache_trip_committed(t, &a), LG_ICACHE_DROPPED);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_LOST);
    assert_int_equal(lg_icache_sync_size(s), 0);
    assert_null(lg_icache_sync_table(s));

    r[0].ts_us += 1000;
    t = build(s, &c, &b, 1, &cfg);
    assert_null(t);
    assert_int_equal(c.n_sent, 1);
    assert_null(c.values[13]);
    lg_ingest_call_cleanup(&c);
    lg_icache_sync_free(s);
}

static void test_no_entry_is_made_usable_while_a_trip_from_before_a_reset_runs(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_report_t o[1] = {report("001010000000002", "ecgi:001-01:0000002", T0_US)};
    lg_batch_t ob = batch("amf-2", o, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    lg_ingest_call_t c;

    lg_icache_trip_t *old = build(s, &c, &ob, 1, &cfg); /* under way across the reset */
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_t *t = build(s, &c, &ob, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(lg_icache_trip_failed(t, LG_ICACHE_FAIL_OTHER), LG_ICACHE_EMPTIED);
    lg_icache_trip_free(t);

    t = build(s, &c, &b, 1, &cfg);
    lg_ingest_call_cleanup(&c);
    assert_int_equal(commit_all(t, 5, 1, 'i', T0_US), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);
    assert_int_equal(lg_icache_sync_state(s), LG_ICACHE_OWNER);
    r[0].ts_us += 1000;
    t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 1); /* not usable: old may still commit after */
    lg_ingest_call_cleanup(&c);
    assert_int_equal(
        lg_icache_trip_committed(old, &(lg_icache_answer_t){.has_gen = true, .gen = 5, .dec = ""}),
        LG_ICACHE_KEPT);
    lg_icache_trip_free(old);
    assert_int_equal(commit_all(t, 5, 1, 'i', r[0].ts_us), LG_ICACHE_KEPT);
    lg_icache_trip_free(t);

    r[0].ts_us += 1000;
    t = build(s, &c, &b, 1, &cfg);
    assert_int_equal(c.n_sent, 0); /* now it is */
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_free(t);
    lg_icache_sync_free(s);
}

static void test_a_device_twice_in_a_round_trip_is_coalesced_only_if_uniform(void **state)
{
    (void)state;
    lg_ingest_config_t cfg = config();
    lg_report_t r[1] = {report("001010000000001", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b = batch("amf-1", r, 1);
    lg_icache_sync_t *s = owner_with_entry(r, &b, &cfg);
    /* Twice the row: both coalesced, nothing sent. */
    lg_report_t two[2] = {report("001010000000001", "ecgi:001-01:0000001", T0_US + 10),
                          report("001010000000001", "ecgi:001-01:0000001", T0_US + 20)};
    lg_batch_t bs[2] = {batch("amf-1", two, 1), batch("amf-1", two + 1, 1)};
    lg_ingest_call_t c;

    lg_icache_trip_t *t = build(s, &c, bs, 2, &cfg);
    assert_int_equal(c.n_sent, 0);
    assert_string_equal(c.values[15], "{1,1}");
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_free(t);

    /* The row, then another cell: both sent, in their order. */
    lg_report_t mixed[2] = {report("001010000000001", "ecgi:001-01:0000001", T0_US + 30),
                            report("001010000000001", "ecgi:001-01:0000002", T0_US + 40)};
    lg_batch_t bm[2] = {batch("amf-1", mixed, 1), batch("amf-1", mixed + 1, 1)};
    t = build(s, &c, bm, 2, &cfg);
    assert_int_equal(c.n_sent, 2);
    assert_string_equal(c.values[4], "{1,2}");
    assert_string_equal(c.values[15], "{0,0}");
    lg_ingest_call_cleanup(&c);
    lg_icache_trip_free(t);
    lg_icache_sync_free(s);
}

static void test_a_round_trip_records_the_devices_it_sends(void **state)
{
    (void)state;
    lg_report_t r1[2] = {report("001010000000001", "ecgi:001-01:0000001", T0_US),
                         report("00101", "ecgi:001-01:0000002", T0_US + 1)};
    lg_report_t r2[1] = {report("101", "ecgi:001-01:0000003", T0_US + 2)};
    lg_batch_t b1 = batch("mme-1", r1, 2), b2 = batch("mme-2", r2, 1);
    lg_ingest_call_t c;
    lg_ingest_call_init(&c);
    lg_ingest_call_add(&c, &b1, 1, NULL);
    lg_ingest_call_add(&c, &b2, 2, NULL);
    assert_int_equal(c.n_sent, 3);
    assert_int_equal(c.keys[0], lg_icache_key("001010000000001"));
    assert_int_equal(c.keys[1], lg_icache_key("00101"));
    assert_int_equal(c.keys[2], 0); /* "101" is no SUPI: a key of none */
    /* "00101" and "101" differ; "001010000000001" is not "1010000000001". */
    assert_int_not_equal(lg_icache_key("00101"), lg_icache_key("101"));
    assert_int_not_equal(lg_icache_key("001010000000001"), lg_icache_key("1010000000001"));
    lg_ingest_call_cleanup(&c);
    assert_null(c.keys);
}

static void test_busy_devices_are_counted_per_batch(void **state)
{
    (void)state;
    lg_ingest_busy_t b = {0};
    lg_report_t one[1] = {report("001010000000007", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t probe = batch("mme-1", one, 1);
    assert_int_equal(lg_ingest_busy_shared(&b, &probe, 10), 0); /* nothing under way */

    /* Two round trips under way: 1000 devices of even numbers, then 3 more. */
    uint64_t a[1000], c[3];
    char supi[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(supi, sizeof supi, "00101%010d", 2 * i);
        a[i] = lg_icache_key(supi);
    }
    c[0] = lg_icache_key("001019999999999");
    c[1] = 0;
    c[2] = a[5];
    lg_ingest_busy_reset(&b, 1003);
    lg_ingest_busy_add(&b, a, 1000);
    lg_ingest_busy_add(&b, c, 3);
    int shared = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(one[0].supi, sizeof one[0].supi, "00101%010d", i);
        size_t n = lg_ingest_busy_shared(&b, &probe, 10);
        assert_int_equal(n, i % 2 == 0 ? 1 : 0);
        shared += (int)n;
    }
    assert_int_equal(shared, 1000);
    /* Each report of a batch that names a busy device counts, once. */
    lg_report_t three[3] = {report("001010000000001", "ecgi:001-01:0000001", T0_US),
                            report("001010000000002", "ecgi:001-01:0000001", T0_US),
                            report("001019999999999", "ecgi:001-01:0000001", T0_US)};
    lg_batch_t b3 = batch("mme-1", three, 3);
    assert_int_equal(lg_ingest_busy_shared(&b, &b3, 3), 2);
    /* Counting stops once past the limit. */
    assert_int_equal(lg_ingest_busy_shared(&b, &b3, 0), 1);
    b3.n_reports = 1;
    assert_int_equal(lg_ingest_busy_shared(&b, &b3, 3), 0);

    /* The round trips ended: a reset to fewer keys forgets them all. */
    lg_ingest_busy_reset(&b, 0);
    b3.n_reports = 3;
    assert_int_equal(lg_ingest_busy_shared(&b, &b3, 3), 0);
    lg_ingest_busy_cleanup(&b);
    assert_int_equal(lg_ingest_busy_shared(&b, &b3, 3), 0);
}

static void test_a_batch_goes_beside_a_round_trip_when_it_shares_few_devices(void **state)
{
    (void)state;
    /* One report: none may be shared. */
    assert_int_equal(lg_ingest_share_limit(1), 0);
    assert_int_equal(lg_ingest_share_limit(LG_INGEST_SHARE_DIVISOR - 1), 0);
    assert_int_equal(lg_ingest_share_limit(LG_INGEST_SHARE_DIVISOR), 1);
    /* A 500-report batch beside 2000 random devices of a million shares one
     * on average: it goes; one of the same 200 devices again shares all. */
    assert_int_equal(lg_ingest_share_limit(500), 31);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_words_map_both_ways),
        cmocka_unit_test(test_queue_takes_batches_up_to_queue_max_reports),
        cmocka_unit_test(test_round_trip_takes_whole_batches_up_to_flush_max_reports),
        cmocka_unit_test(test_a_round_trip_starts_beside_another_only_when_enough_wait),
        cmocka_unit_test(test_batches_become_arrays_in_their_order_without_a_cache),
        cmocka_unit_test(test_a_round_trip_records_the_devices_it_sends),
        cmocka_unit_test(test_busy_devices_are_counted_per_batch),
        cmocka_unit_test(test_a_batch_goes_beside_a_round_trip_when_it_shares_few_devices),
        cmocka_unit_test(test_a_keyed_batch_sends_its_key_instead_of_a_seq),
        cmocka_unit_test(test_answer_is_read_by_column_name),
        cmocka_unit_test(test_answer_without_a_column_is_refused),
        cmocka_unit_test(test_malformed_answers_are_refused),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_no_cache_sends_everything_and_no_cache_parameters),
        cmocka_unit_test(test_claim_then_owner_then_coalesces_a_repeat),
        cmocka_unit_test(test_moved_generation_empties_the_cache),
        cmocka_unit_test(test_stale_generation_lg001_resyncs),
        cmocka_unit_test(test_failed_round_trip_resyncs_and_rollback_keeps),
        cmocka_unit_test(test_failed_claim_claims_again),
        cmocka_unit_test(test_null_generation_means_another_daemon_took_over),
        cmocka_unit_test(test_no_entry_is_made_usable_while_a_trip_from_before_a_reset_runs),
        cmocka_unit_test(test_a_device_twice_in_a_round_trip_is_coalesced_only_if_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
