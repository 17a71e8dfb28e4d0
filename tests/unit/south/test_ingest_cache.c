/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/south/ingest_cache.c: which reports the group commit may
 * coalesce. An entry becomes usable only through lg_icache_sent then
 * lg_icache_put of the same round trip, while no other round trip that sent
 * the device is under way (lg_icache_done ends one); a report matches it only
 * when it is the sole report of its device in its round trip and repeats the
 * row (cell, node, RAT, no position) within the refresh interval from the
 * stored time. Ends with a model check over 100000 devices driven by a
 * fixed-seed PRNG.
 */
#include "locguard/south/ingest_cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define REFRESH_US INT64_C(60000000)         /* one minute */
/* SUPI_A's own interval: it ends in 01, so 1 - 1/400 of the minute. */
#define REFRESH_A  (REFRESH_US - REFRESH_US / 400)
#define T0_US      INT64_C(1714564800000000) /* 2024-05-01T12:00:00Z */
#define SUPI_A     "001010000000001"
#define CELL_A     "ecgi:001-01:0000001"
#define CELL_B     "ecgi:001-01:0000002"

/* A report without a position. */
static lg_report_t report(const char *supi, const char *cell, lg_rat_t rat, int64_t ts_us)
{
    lg_report_t r;

    memset(&r, 0, sizeof r);
    snprintf(r.supi, sizeof r.supi, "%s", supi);
    snprintf(r.cell_key, sizeof r.cell_key, "%s", cell);
    r.rat = rat;
    r.ts_us = ts_us;
    return r;
}

/* Both passes of one round trip for r alone: count, then match. */
static char counted_match(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight)
{
    lg_icache_count(c, r, node, flight, REFRESH_US);
    return lg_icache_match(c, r, node, flight, REFRESH_US);
}

/*
 * r sent alone in round trip flight, which then committed with decision and
 * r's own time as the stored one, and is over.
 */
static void store(lg_icache_t *c, const lg_report_t *r, uint16_t node, uint32_t flight,
                  char decision)
{
    lg_icache_sent(c, r, flight);
    lg_icache_put(c, r, node, flight, r->ts_us, decision);
    lg_icache_done(c, r);
}

/* A cell key of exactly len characters. */
static void cell_of_length(char *out, size_t len)
{
    memset(out, '7', len);
    memcpy(out, "ecgi:", len < 5 ? len : 5);
    out[len] = '\0';
}

static void test_fresh_cache_matches_nothing(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    assert_int_equal(lg_icache_size(c), 0);
    assert_int_equal(counted_match(c, &r, node, 1), 0);
    assert_int_equal(counted_match(c, &r, node, 0), 0);
    assert_int_equal(lg_icache_size(c), 0); /* count and match make no entry */
    lg_icache_free(c);
}

static void test_sent_then_put_makes_a_matching_entry(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    lg_icache_sent(c, &r, 1);
    assert_int_equal(lg_icache_size(c), 1);
    lg_icache_put(c, &r, node, 1, T0_US, 'i');
    assert_int_equal(lg_icache_size(c), 1);
    assert_int_equal(counted_match(c, &r, node, 2), 'i');
    lg_icache_done(c, &r);
    assert_int_equal(lg_icache_size(c), 1);

    /* Matching changes nothing: the same report matches in later round trips. */
    assert_int_equal(counted_match(c, &r, node, 3), 'i');
    assert_int_equal(counted_match(c, &r, node, 4), 'i');
    lg_report_t later = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US + REFRESH_A - 1);
    assert_int_equal(counted_match(c, &later, node, 5), 'i');
    lg_icache_free(c);
}

static void test_each_difference_from_the_row_prevents_a_match(void **state)
{
    static const struct {
        const char *what;
        const char *cell;
        lg_rat_t rat;
        bool has_position;
        int64_t dt_us; /* ts relative to the stored one */
        int node;      /* 0: the stored node, 1: another one, 2: 0 (unknown) */
        char want;
    } cases[] = {
        {"same row, same time", CELL_A, LG_RAT_EUTRA, false, 0, 0, 'i'},
        {"same row, 1 us later", CELL_A, LG_RAT_EUTRA, false, 1, 0, 'i'},
        {"same row, refresh - 1 us later", CELL_A, LG_RAT_EUTRA, false, REFRESH_A - 1, 0, 'i'},
        {"same row, exactly refresh later", CELL_A, LG_RAT_EUTRA, false, REFRESH_A, 0, 0},
        {"same row, refresh + 1 us later", CELL_A, LG_RAT_EUTRA, false, REFRESH_A + 1, 0, 0},
        {"same row, 1 us earlier", CELL_A, LG_RAT_EUTRA, false, -1, 0, 0},
        {"same row, a day earlier", CELL_A, LG_RAT_EUTRA, false, -INT64_C(86400000000), 0, 0},
        {"another cell", CELL_B, LG_RAT_EUTRA, false, 0, 0, 0},
        {"a longer cell with the same prefix", CELL_A "0", LG_RAT_EUTRA, false, 0, 0, 0},
        {"a shorter cell, a prefix", "ecgi:001-01:000000", LG_RAT_EUTRA, false, 0, 0, 0},
        {"another RAT", CELL_A, LG_RAT_NR, false, 0, 0, 0},
        {"another RAT (GERA)", CELL_A, LG_RAT_GERA, false, 0, 0, 0},
        {"with a position", CELL_A, LG_RAT_EUTRA, true, 0, 0, 0},
        {"another node", CELL_A, LG_RAT_EUTRA, false, 0, 1, 0},
        {"node 0", CELL_A, LG_RAT_EUTRA, false, 0, 2, 0},
    };
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    uint16_t other = lg_icache_node(c, "amf-2");
    lg_report_t stored = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &stored, node, 1, 'i');
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t r = report(SUPI_A, cases[i].cell, cases[i].rat, T0_US + cases[i].dt_us);
        uint16_t n = cases[i].node == 0 ? node : cases[i].node == 1 ? other : 0;
        uint32_t flight = 10 + (uint32_t)i;

        r.has_position = cases[i].has_position;
        if (r.has_position) {
            r.lat_deg = 48.85;
            r.lon_deg = 2.35;
            r.uncertainty_m = 50;
        }
        char got = counted_match(c, &r, n, flight);
        if (got != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].want);
        /* The entry is untouched by a mismatch: the stored row still matches. */
        if (counted_match(c, &stored, node, flight + 1000) != 'i')
            fail_msg("%s: the stored row stopped matching", cases[i].what);
    }
    lg_icache_free(c);
}

/* The per-device interval, as sql/ingest.sql lg_refresh_share: 1 - d / 400. */
static void test_refresh_interval_by_the_last_two_digits(void **state)
{
    (void)state;
    assert_int_equal(lg_icache_refresh_us("001010000000000", REFRESH_US), REFRESH_US);
    assert_int_equal(lg_icache_refresh_us("001010000000001", REFRESH_US), 59850000);
    assert_int_equal(lg_icache_refresh_us("001010000000050", REFRESH_US), 52500000);
    assert_int_equal(lg_icache_refresh_us("001010000000099", REFRESH_US), 45150000);
    assert_int_equal(lg_icache_refresh_us("12345", REFRESH_US), 53250000);
    assert_int_equal(lg_icache_refresh_us("001010000000099", 0), 0);
}

static void test_refresh_boundary_follows_the_refresh_argument(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_NR, T0_US);

    store(c, &r, node, 1, 'a');
    /* SUPI_A's share of 4000 us is 3990 us (ends in 01: 1 - 1/400). */
    r.ts_us = T0_US + 3989;
    lg_icache_count(c, &r, node, 2, 4000);
    assert_int_equal(lg_icache_match(c, &r, node, 2, 4000), 'a');
    r.ts_us = T0_US + 3990;
    lg_icache_count(c, &r, node, 3, 4002);
    assert_int_equal(lg_icache_match(c, &r, node, 3, 4000), 0);
    assert_int_equal(lg_icache_match(c, &r, node, 3, 4002), 'a');
    lg_icache_free(c);
}

static void test_report_not_counted_in_its_round_trip_does_not_match(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &r, node, 1, 'i');
    /* Never counted at all. */
    assert_int_equal(lg_icache_match(c, &r, node, 2, REFRESH_US), 0);
    /* Counted in round trip 3, matched in round trip 4. */
    lg_icache_count(c, &r, node, 3, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 3, REFRESH_US), 'i');
    assert_int_equal(lg_icache_match(c, &r, node, 4, REFRESH_US), 0);
    /* Counted in the round trip of its write, which is not this one. */
    assert_int_equal(lg_icache_match(c, &r, node, 1, REFRESH_US), 0);
    lg_icache_free(c);
}

static void test_device_repeated_in_a_round_trip_is_coalesced_only_if_uniform(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    uint16_t node2 = lg_icache_node(c, "amf-2");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t later = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US + 7);
    lg_report_t other_cell = report(SUPI_A, CELL_B, LG_RAT_EUTRA, T0_US + 5);
    lg_report_t older = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US - 1);

    store(c, &r, node, 1, 'i');

    /* The row repeated twice: each would change nothing but the time. */
    lg_icache_count(c, &r, node, 2, REFRESH_US);
    lg_icache_count(c, &later, node, 2, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 2, REFRESH_US), 'i');
    assert_int_equal(lg_icache_match(c, &later, node, 2, REFRESH_US), 'i');

    /* One report of another cell: every report of the device is sent, in
     * whatever order they come (the other cell may be the newest). */
    lg_icache_count(c, &r, node, 3, REFRESH_US);
    lg_icache_count(c, &other_cell, node, 3, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 3, REFRESH_US), 0);
    lg_icache_count(c, &other_cell, node, 4, REFRESH_US);
    lg_icache_count(c, &r, node, 4, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 4, REFRESH_US), 0);

    /* ... from another node, or older than the stored time: the same. */
    lg_icache_count(c, &r, node, 5, REFRESH_US);
    lg_icache_count(c, &r, node2, 5, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 5, REFRESH_US), 0);
    lg_icache_count(c, &older, node, 6, REFRESH_US);
    lg_icache_count(c, &r, node, 6, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 6, REFRESH_US), 0);

    /* Counted once in a later round trip: it matches again. */
    assert_int_equal(counted_match(c, &r, node, 7), 'i');

    /* Many repeats in one round trip (beyond a byte's range), then one
     * other cell: still mixed. */
    for (int i = 0; i < 513; i++)
        lg_icache_count(c, &r, node, 8, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 8, REFRESH_US), 'i');
    lg_icache_count(c, &other_cell, node, 8, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &r, node, 8, REFRESH_US), 0);
    lg_icache_free(c);
}

static void test_pending_entry_matches_only_after_its_put(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &r, node, 1, 'i');
    assert_int_equal(counted_match(c, &r, node, 2), 'i');

    lg_icache_sent(c, &r, 3);
    assert_int_equal(lg_icache_size(c), 1);
    assert_int_equal(counted_match(c, &r, node, 4), 0);
    lg_icache_put(c, &r, node, 3, T0_US, 'c');
    assert_int_equal(counted_match(c, &r, node, 5), 'c');
    lg_icache_done(c, &r);
    assert_int_equal(counted_match(c, &r, node, 6), 'c');
    lg_icache_free(c);
}

static void test_put_of_an_earlier_round_trip_after_a_later_sent_is_ignored(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t moved = report(SUPI_A, CELL_B, LG_RAT_EUTRA, T0_US + 1000);

    /* Round trips 2 and 3 both send the device; 2 answers first. */
    lg_icache_sent(c, &r, 2);
    lg_icache_sent(c, &moved, 3);
    lg_icache_put(c, &r, node, 2, r.ts_us, 'i');
    assert_int_equal(counted_match(c, &r, node, 4), 0);
    lg_icache_done(c, &r);
    assert_int_equal(counted_match(c, &r, node, 5), 0);
    assert_int_equal(counted_match(c, &moved, node, 5), 0);
    /* Then 3, now the only one under way: the two were in flight together,
     * and which committed last is unknown, so 3's answer is not taken either. */
    lg_icache_put(c, &moved, node, 3, moved.ts_us, 'u');
    lg_icache_done(c, &moved);
    assert_int_equal(counted_match(c, &moved, node, 6), 0);
    assert_int_equal(counted_match(c, &r, node, 7), 0);

    /* The next round trip alone makes it usable again; a late repeat of
     * the old answer does not replace it. */
    store(c, &moved, node, 14, 'u');
    assert_int_equal(counted_match(c, &moved, node, 15), 'u');
    lg_icache_put(c, &r, node, 2, r.ts_us, 'i');
    assert_int_equal(counted_match(c, &moved, node, 8), 'u');
    assert_int_equal(counted_match(c, &r, node, 9), 0);

    /* Nor does an answer of a round trip that never sent the device. */
    lg_icache_sent(c, &r, 10);
    lg_icache_put(c, &r, node, 11, r.ts_us, 'i');
    assert_int_equal(counted_match(c, &r, node, 12), 0);
    lg_icache_put(c, &r, node, 10, r.ts_us, 'a');
    lg_icache_done(c, &r);
    assert_int_equal(counted_match(c, &r, node, 13), 'a');
    assert_int_equal(lg_icache_size(c), 1);
    lg_icache_free(c);
}

static void test_put_while_an_earlier_round_trip_is_under_way_is_ignored(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t moved = report(SUPI_A, CELL_B, LG_RAT_EUTRA, T0_US + 1000);

    store(c, &r, node, 1, 'i');
    /* Round trips 2 and 3 both send the device; 3 answers first, 2 may still write. */
    lg_icache_sent(c, &r, 2);
    lg_icache_sent(c, &moved, 3);
    lg_icache_put(c, &moved, node, 3, moved.ts_us, 'u');
    assert_int_equal(counted_match(c, &moved, node, 4), 0);
    assert_int_equal(counted_match(c, &r, node, 4), 0);
    lg_icache_done(c, &moved);
    assert_int_equal(counted_match(c, &moved, node, 5), 0);
    /* 2 answers last: 3 came later, so 2's row is not known to be the last one either. */
    lg_icache_put(c, &r, node, 2, r.ts_us, 'i');
    lg_icache_done(c, &r);
    assert_int_equal(counted_match(c, &r, node, 6), 0);
    assert_int_equal(counted_match(c, &moved, node, 6), 0);

    /* Three under way: only the answer of the last, once the others are over, counts. */
    lg_icache_sent(c, &r, 7);
    lg_icache_sent(c, &r, 8);
    lg_icache_sent(c, &moved, 9);
    lg_icache_put(c, &moved, node, 9, moved.ts_us, 'c');
    assert_int_equal(counted_match(c, &moved, node, 10), 0);
    lg_icache_done(c, &r); /* 7 over */
    lg_icache_put(c, &moved, node, 9, moved.ts_us, 'c');
    assert_int_equal(counted_match(c, &moved, node, 11), 0);
    lg_icache_done(c, &r); /* 8 over */
    lg_icache_put(c, &moved, node, 9, moved.ts_us, 'c');
    assert_int_equal(counted_match(c, &moved, node, 12), 0); /* they overlapped */
    lg_icache_done(c, &moved);

    /* Everything over: the next round trip alone makes the entry usable again. */
    store(c, &r, node, 13, 'a');
    assert_int_equal(counted_match(c, &r, node, 14), 'a');
    assert_int_equal(lg_icache_size(c), 1);
    lg_icache_free(c);
}

static void test_failed_round_trip_leaves_the_entry_pending(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &r, node, 1, 'i');
    lg_icache_sent(c, &r, 2);
    lg_icache_done(c, &r); /* failed: no answer, no put */
    assert_int_equal(counted_match(c, &r, node, 3), 0);
    store(c, &r, node, 4, 'i');
    assert_int_equal(counted_match(c, &r, node, 5), 'i');
    lg_icache_free(c);
}

static void test_done_without_a_round_trip_under_way_changes_nothing(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);

    /* No entry: nothing made. */
    lg_icache_done(c, &r);
    assert_int_equal(lg_icache_size(c), 0);
    assert_int_equal(counted_match(c, &r, node, 1), 0);

    /* More done than sent: neither the usable entry nor the next round trip suffers. */
    store(c, &r, node, 2, 'i');
    for (int i = 0; i < 3; i++)
        lg_icache_done(c, &r);
    assert_int_equal(counted_match(c, &r, node, 3), 'i');
    store(c, &r, node, 4, 'a');
    assert_int_equal(counted_match(c, &r, node, 5), 'a');
    assert_int_equal(lg_icache_size(c), 1);
    lg_icache_free(c);
}

static void test_put_stores_the_time_it_is_given(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    const int64_t stored_us = T0_US - 10000000; /* the row kept an earlier report's time */
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    static const struct {
        int64_t ts_us;
        char want;
    } cases[] = {
        {stored_us - 1, 0},
        {stored_us, 'i'},
        {T0_US, 'i'},
        {stored_us + REFRESH_A - 1, 'i'},
        {stored_us + REFRESH_A, 0},
        {T0_US + REFRESH_A - 1, 0}, /* within the refresh of r's own time only */
    };

    lg_icache_sent(c, &r, 1);
    lg_icache_put(c, &r, node, 1, stored_us, 'i');
    lg_icache_done(c, &r);
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t q = report(SUPI_A, CELL_A, LG_RAT_EUTRA, cases[i].ts_us);
        char got = counted_match(c, &q, node, 2 + (uint32_t)i);
        if (got != cases[i].want)
            fail_msg("ts stored %+lld us: got %d, want %d", (long long)(cases[i].ts_us - stored_us),
                     got, cases[i].want);
    }
    lg_icache_free(c);
}

static void test_put_without_sent_does_nothing(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t other = report("001010000000002", CELL_A, LG_RAT_EUTRA, T0_US);

    lg_icache_put(c, &r, node, 1, T0_US, 'i');
    lg_icache_put(c, &r, node, 0, T0_US, 'i');
    assert_int_equal(lg_icache_size(c), 0);
    assert_int_equal(counted_match(c, &r, node, 1), 0);
    assert_int_equal(counted_match(c, &r, node, 2), 0);

    /* Another device's entry does not make one for this device. */
    lg_icache_sent(c, &other, 3);
    lg_icache_put(c, &r, node, 3, T0_US, 'i');
    assert_int_equal(lg_icache_size(c), 1);
    assert_int_equal(counted_match(c, &r, node, 4), 0);
    assert_int_equal(counted_match(c, &other, node, 5), 0); /* still pending */
    lg_icache_free(c);
}

static void test_put_of_a_row_that_cannot_be_coalesced_leaves_the_entry_pending(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t pos = r;

    pos.has_position = true;
    pos.lat_deg = 1.0;
    store(c, &r, node, 1, 'i');

    /* The device's next write carried a position: nothing may be coalesced into it. */
    store(c, &pos, node, 2, 'i');
    assert_int_equal(counted_match(c, &r, node, 3), 0);

    /* A node without a number: the same. */
    store(c, &r, 0, 4, 'i');
    assert_int_equal(counted_match(c, &r, node, 5), 0);

    store(c, &r, node, 6, 'i');
    assert_int_equal(counted_match(c, &r, node, 7), 'i');
    lg_icache_free(c);
}

static void test_every_known_decision_is_kept(void **state)
{
    static const struct {
        const char *supi;
        char dec;
    } cases[] = {
        {"001010000000011", 'i'},
        {"001010000000012", 'a'},
        {"001010000000013", 'c'},
        {"001010000000014", 'u'},
    };
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "mme-1");

    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t r = report(cases[i].supi, CELL_A, LG_RAT_EUTRA, T0_US);
        store(c, &r, node, 1, cases[i].dec);
    }
    assert_int_equal(lg_icache_size(c), LG_ARRAY_SIZE(cases));
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t r = report(cases[i].supi, CELL_A, LG_RAT_EUTRA, T0_US + 10);
        lg_icache_count(c, &r, node, 2, REFRESH_US);
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_report_t r = report(cases[i].supi, CELL_A, LG_RAT_EUTRA, T0_US + 10);
        char got = lg_icache_match(c, &r, node, 2, REFRESH_US);
        if (got != cases[i].dec)
            fail_msg("%s: got %d, want '%c'", cases[i].supi, got, cases[i].dec);
    }
    lg_icache_free(c);
}

static void test_unknown_decision_is_refused(void **state)
{
    static const char bad[] = {'o', 0, 'I', 'A', 'x', ' ', '\xff'};
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r = report(SUPI_A, CELL_A, LG_RAT_EUTRA, T0_US);
    uint32_t flight = 1;

    for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++) {
        lg_icache_sent(c, &r, flight);
        lg_icache_put(c, &r, node, flight, T0_US, bad[i]);
        if (counted_match(c, &r, node, flight + 1) != 0)
            fail_msg("decision %d was accepted", bad[i]);
        lg_icache_done(c, &r);
        flight += 2;
    }
    /* The refused put left the entry pending, and a valid one still works. */
    lg_icache_sent(c, &r, flight);
    lg_icache_put(c, &r, node, flight, T0_US, 'i');
    assert_int_equal(counted_match(c, &r, node, flight + 1), 'i');
    /* A refused put over a usable entry of the same round trip leaves it as it was. */
    lg_icache_put(c, &r, node, flight, T0_US, 'o');
    assert_int_equal(counted_match(c, &r, node, flight + 2), 'i');
    lg_icache_put(c, &r, node, flight, T0_US, 0);
    assert_int_equal(counted_match(c, &r, node, flight + 3), 'i');
    lg_icache_done(c, &r);
    lg_icache_free(c);
}

static void test_supi_leading_zeros_make_different_devices(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t a = report("00101000000001", CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t b = report("101000000001", CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t b0 = report("0101000000001", CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &a, node, 1, 'i');
    assert_int_equal(lg_icache_size(c), 1);
    assert_int_equal(counted_match(c, &b, node, 2), 0);
    assert_int_equal(counted_match(c, &b0, node, 2), 0);
    assert_int_equal(lg_icache_size(c), 1);

    store(c, &b, node, 3, 'a');
    assert_int_equal(lg_icache_size(c), 2);
    assert_int_equal(counted_match(c, &a, node, 4), 'i');
    assert_int_equal(counted_match(c, &b, node, 4), 'a');
    assert_int_equal(counted_match(c, &b0, node, 4), 0);

    /* Counting one does not count the other. */
    lg_report_t a_other = report(a.supi, CELL_B, a.rat, a.ts_us);
    lg_icache_count(c, &a, node, 5, REFRESH_US);
    lg_icache_count(c, &b, node, 5, REFRESH_US);
    lg_icache_count(c, &a_other, node, 5, REFRESH_US);
    assert_int_equal(lg_icache_match(c, &a, node, 5, REFRESH_US), 0);
    assert_int_equal(lg_icache_match(c, &b, node, 5, REFRESH_US), 'a');

    /* Making one pending leaves the other usable. */
    lg_icache_sent(c, &a, 6);
    assert_int_equal(counted_match(c, &a, node, 7), 0);
    assert_int_equal(counted_match(c, &b, node, 7), 'a');
    lg_icache_free(c);
}

static void test_five_and_fifteen_digit_supis_work(void **state)
{
    static const char *const supis[] = {
        "00101",           "00000",           "99999",
        "10100",           "001010123456789", "999999999999999",
        "000000000000000", "100000000000000", "000000000000001",
    };
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "amf-1");

    for (size_t i = 0; i < LG_ARRAY_SIZE(supis); i++) {
        lg_report_t r = report(supis[i], CELL_A, LG_RAT_NR, T0_US + (int64_t)i);
        store(c, &r, node, 1, i % 2 ? 'a' : 'c');
    }
    assert_int_equal(lg_icache_size(c), LG_ARRAY_SIZE(supis));
    for (size_t i = 0; i < LG_ARRAY_SIZE(supis); i++) {
        lg_report_t r = report(supis[i], CELL_A, LG_RAT_NR, T0_US + (int64_t)i);
        char got = counted_match(c, &r, node, 2);
        if (got != (i % 2 ? 'a' : 'c'))
            fail_msg("%s: got %d", supis[i], got);
    }
    lg_icache_free(c);
}

static void test_cell_key_longer_than_the_maximum_is_never_cached(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(100);
    uint16_t node = lg_icache_node(c, "sgsn-1");
    char fits[LG_CELL_KEY_MAX], too_long[LG_CELL_KEY_MAX], longest[LG_CELL_KEY_MAX];

    cell_of_length(fits, LG_ICACHE_CELL_MAX);
    cell_of_length(too_long, LG_ICACHE_CELL_MAX + 1);
    cell_of_length(longest, LG_CELL_KEY_MAX - 1);
    assert_int_equal(strlen(fits), LG_ICACHE_CELL_MAX);
    assert_int_equal(strlen(too_long), LG_ICACHE_CELL_MAX + 1);

    lg_report_t r_fits = report("001010000000021", fits, LG_RAT_UTRA, T0_US);
    lg_report_t r_long = report("001010000000022", too_long, LG_RAT_UTRA, T0_US);
    lg_report_t r_longest = report("001010000000023", longest, LG_RAT_UTRA, T0_US);

    store(c, &r_fits, node, 1, 'u');
    store(c, &r_long, node, 1, 'u');
    store(c, &r_longest, node, 1, 'u');
    assert_int_equal(counted_match(c, &r_fits, node, 2), 'u');
    assert_int_equal(counted_match(c, &r_long, node, 2), 0);
    assert_int_equal(counted_match(c, &r_longest, node, 2), 0);

    /* The long key of the same device, equal to the stored one for its first 26 chars. */
    lg_report_t r_fits_longer = report("001010000000021", fits, LG_RAT_UTRA, T0_US + 1);
    strcat(r_fits_longer.cell_key, "7");
    assert_int_equal(counted_match(c, &r_fits_longer, node, 3), 0);

    /* The device then moves to a cell with a long key: its old entry must not be used. */
    store(c, &r_fits_longer, node, 4, 'u');
    assert_int_equal(counted_match(c, &r_fits, node, 5), 0);
    assert_int_equal(counted_match(c, &r_fits_longer, node, 5), 0);
    lg_icache_free(c);
}

static void test_node_names_get_stable_distinct_numbers(void **state)
{
    static const char *const names[] = {
        "amf-1", "amf-2", "amf-10", "mme.example.net", "a", "A", "sgsn_3", "amf-1.",
    };
    uint16_t nums[LG_ARRAY_SIZE(names)];
    (void)state;
    lg_icache_t *c = lg_icache_new(10);

    for (size_t i = 0; i < LG_ARRAY_SIZE(names); i++) {
        nums[i] = lg_icache_node(c, names[i]);
        if (nums[i] < 1)
            fail_msg("%s got %u", names[i], nums[i]);
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(names); i++) {
        char copy[LG_NODE_NAME_MAX];
        snprintf(copy, sizeof copy, "%s", names[i]); /* by value, not by pointer */
        assert_int_equal(lg_icache_node(c, copy), nums[i]);
        for (size_t j = 0; j < i; j++)
            if (nums[i] == nums[j])
                fail_msg("%s and %s share %u", names[i], names[j], nums[i]);
    }
    /* Many more names: still distinct and stable (the table grows). */
    uint16_t first = lg_icache_node(c, "node-0");
    for (int i = 1; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "node-%d", i);
        uint16_t n = lg_icache_node(c, name);
        assert_true(n >= 1);
        assert_int_not_equal(n, first);
        assert_int_equal(lg_icache_node(c, name), n);
    }
    assert_int_equal(lg_icache_node(c, "node-0"), first);
    for (size_t i = 0; i < LG_ARRAY_SIZE(names); i++)
        assert_int_equal(lg_icache_node(c, names[i]), nums[i]);
    lg_icache_free(c);
}

static void test_capacity_is_never_exceeded(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(10);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r[12];

    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++) {
        char supi[LG_SUPI_MAX];
        snprintf(supi, sizeof supi, "0010100000%05zu", i);
        r[i] = report(supi, CELL_A, LG_RAT_EUTRA, T0_US);
    }
    for (size_t i = 0; i < 11; i++)
        lg_icache_sent(c, &r[i], 1);
    assert_int_equal(lg_icache_size(c), 10);
    for (size_t i = 0; i < 11; i++)
        lg_icache_put(c, &r[i], node, 1, T0_US, 'i');
    for (size_t i = 0; i < 11; i++)
        lg_icache_done(c, &r[i]);
    assert_int_equal(lg_icache_size(c), 10);
    for (size_t i = 0; i < 10; i++)
        if (counted_match(c, &r[i], node, 2) != 'i')
            fail_msg("device %zu does not match", i);
    assert_int_equal(counted_match(c, &r[10], node, 2), 0);

    /* Trying again, in later round trips, changes nothing for the 11th and 12th. */
    for (uint32_t f = 3; f < 6; f++) {
        store(c, &r[10], node, f, 'i');
        store(c, &r[11], node, f, 'i');
        assert_int_equal(counted_match(c, &r[10], node, 100 + f), 0);
        assert_int_equal(counted_match(c, &r[11], node, 100 + f), 0);
    }
    assert_int_equal(lg_icache_size(c), 10);

    /* Existing entries keep their whole life cycle. */
    lg_icache_sent(c, &r[4], 7);
    assert_int_equal(lg_icache_size(c), 10);
    assert_int_equal(counted_match(c, &r[4], node, 8), 0);
    lg_icache_put(c, &r[4], node, 7, T0_US, 'a');
    lg_icache_done(c, &r[4]);
    for (size_t i = 0; i < 10; i++)
        if (counted_match(c, &r[i], node, 9) != (i == 4 ? 'a' : 'i'))
            fail_msg("device %zu after the update", i);
    lg_icache_free(c);
}

static void test_capacity_of_one(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(1);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t a = report("001010000000001", CELL_A, LG_RAT_EUTRA, T0_US);
    lg_report_t b = report("001010000000002", CELL_A, LG_RAT_EUTRA, T0_US);

    store(c, &a, node, 1, 'i');
    store(c, &b, node, 1, 'i');
    assert_int_equal(lg_icache_size(c), 1);
    assert_int_equal(counted_match(c, &a, node, 2), 'i');
    assert_int_equal(counted_match(c, &b, node, 2), 0);
    lg_icache_free(c);
}

static void test_clear_forgets_everything_and_the_cache_works_afterwards(void **state)
{
    (void)state;
    lg_icache_t *c = lg_icache_new(10);
    uint16_t node = lg_icache_node(c, "amf-1");
    lg_report_t r[10];

    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++) {
        char supi[LG_SUPI_MAX];
        snprintf(supi, sizeof supi, "00101%010zu", i * 7);
        r[i] = report(supi, CELL_A, LG_RAT_EUTRA, T0_US);
        /* Half usable, half pending at the time of the clear. */
        lg_icache_sent(c, &r[i], 1);
        if (i % 2 == 0)
            lg_icache_put(c, &r[i], node, 1, T0_US, 'i');
    }
    assert_int_equal(lg_icache_size(c), 10);
    lg_icache_clear(c);
    assert_int_equal(lg_icache_size(c), 0);
    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++)
        if (counted_match(c, &r[i], node, 2) != 0)
            fail_msg("device %zu matches after the clear", i);

    /* The answer of a round trip sent before the clear finds no entry. */
    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++)
        lg_icache_put(c, &r[i], node, 1, T0_US, 'i');
    assert_int_equal(lg_icache_size(c), 0);
    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++)
        if (counted_match(c, &r[i], node, 3) != 0)
            fail_msg("device %zu matches after a put from before the clear", i);

    /* Full capacity is available again. */
    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++)
        store(c, &r[i], node, 4, 'c');
    assert_int_equal(lg_icache_size(c), 10);
    for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++)
        if (counted_match(c, &r[i], node, 5) != 'c')
            fail_msg("device %zu does not match after the refill", i);

    /* Clearing an empty cache, twice, is fine. */
    lg_icache_clear(c);
    lg_icache_clear(c);
    assert_int_equal(lg_icache_size(c), 0);
    store(c, &r[3], node, 6, 'u');
    assert_int_equal(counted_match(c, &r[3], node, 7), 'u');
    lg_icache_free(c);
}

static void test_free_accepts_null(void **state)
{
    (void)state;
    lg_icache_free(NULL);
}

/* xorshift64*: a fixed sequence, the same on every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

#define MANY     100000
#define PER_TRIP 1000
#define N_CELLS  64
#define N_NODES  8

/* One device of the model check, and what the cache must answer for it. */
typedef struct device {
    char supi[LG_SUPI_MAX];
    char cell[LG_ICACHE_CELL_MAX + 1];
    lg_rat_t rat;
    uint16_t node;
    int64_t ts_us;
    char dec;  /* the decision put for it */
    char want; /* what a repeat of its report matches: dec, or 0 when pending */
} device_t;

static void test_many_devices_match_as_the_model_says(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    lg_icache_t *c = lg_icache_new(MANY);
    device_t *d = calloc(MANY, sizeof *d);
    char cells[N_CELLS][LG_ICACHE_CELL_MAX + 1];
    uint16_t nodes[N_NODES];
    static const char decs[] = "iacu";

    assert_non_null(d);
    for (int i = 0; i < N_NODES; i++) {
        char name[32];
        snprintf(name, sizeof name, "amf-%d.example", i);
        nodes[i] = lg_icache_node(c, name);
    }
    for (int i = 0; i < N_CELLS; i++) {
        size_t len = 5 + (size_t)(next_random(&seed) % (LG_ICACHE_CELL_MAX - 4));
        if (i == 0)
            len = LG_ICACHE_CELL_MAX;
        for (size_t k = 0; k < len; k++)
            cells[i][k] = "0123456789ABCDEF"[next_random(&seed) % 16];
        cells[i][len] = '\0';
    }
    /*
     * Distinct SUPIs of 11 to 15 digits: (i * 2654435761 + offset) mod 10^10 is one-to-one
     * for i < 10^10 (the factor is prime to 10), printed with leading zeros.
     */
    uint64_t offset = next_random(&seed) % UINT64_C(10000000000);
    for (size_t i = 0; i < MANY; i++) {
        uint64_t v = ((uint64_t)i * UINT64_C(2654435761) + offset) % UINT64_C(10000000000);
        snprintf(d[i].supi, sizeof d[i].supi, "%0*llu", 11 + (int)(i % 5), (unsigned long long)v);
        snprintf(d[i].cell, sizeof d[i].cell, "%s", cells[next_random(&seed) % N_CELLS]);
        d[i].rat = (lg_rat_t)(LG_RAT_EUTRA + (int)(next_random(&seed) % 4));
        d[i].node = nodes[next_random(&seed) % N_NODES];
        d[i].ts_us = T0_US + (int64_t)(next_random(&seed) % UINT64_C(1000000000000));
        d[i].dec = decs[next_random(&seed) % 4];
        d[i].want = d[i].dec;
    }

    /* Round trips of PER_TRIP devices: all sent, then the answers in reverse order. */
    for (size_t base = 0; base < MANY; base += PER_TRIP) {
        uint32_t flight = 1 + (uint32_t)(base / PER_TRIP);
        for (size_t i = base; i < base + PER_TRIP; i++) {
            lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
            lg_icache_sent(c, &r, flight);
        }
        for (size_t i = base + PER_TRIP; i-- > base;) {
            lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
            lg_icache_put(c, &r, d[i].node, flight, d[i].ts_us, d[i].dec);
        }
        for (size_t i = base; i < base + PER_TRIP; i++) {
            lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
            lg_icache_done(c, &r);
        }
    }
    assert_int_equal(lg_icache_size(c), MANY);

    /*
     * About a tenth are sent again by round trip 500 whose answer has not come; half of
     * those also get a late, stale answer of their first round trip. They must not match.
     */
    size_t n_pending = 0;
    for (size_t i = 0; i < MANY; i++) {
        if (next_random(&seed) % 10 != 0)
            continue;
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
        lg_icache_sent(c, &r, 500);
        if (next_random(&seed) % 2)
            lg_icache_put(c, &r, d[i].node, 1 + (uint32_t)(i / PER_TRIP), d[i].ts_us, d[i].dec);
        d[i].want = 0;
        n_pending++;
    }
    assert_true(n_pending > MANY / 20);
    assert_int_equal(lg_icache_size(c), MANY);

    /* The cache is full: new devices get no entry. */
    for (size_t i = 0; i < 1000; i++) {
        char supi[LG_SUPI_MAX];
        snprintf(supi, sizeof supi, "%010zu", i); /* 10 digits: no device has those */
        lg_report_t r = report(supi, CELL_A, LG_RAT_EUTRA, T0_US);
        store(c, &r, nodes[0], 600, 'i');
        if (counted_match(c, &r, nodes[0], 601) != 0)
            fail_msg("new device %s matches in a full cache", supi);
    }
    assert_int_equal(lg_icache_size(c), MANY);

    /* Round trip 1000: every device once, repeating its row within the refresh. */
    for (size_t i = 0; i < MANY; i++) {
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
        lg_icache_count(c, &r, d[i].node, 1000, REFRESH_US);
    }
    size_t n_wrong = 0, n_matched = 0;
    for (size_t i = 0; i < MANY; i++) {
        int64_t dt = (int64_t)(next_random(&seed) %
                               (uint64_t)lg_icache_refresh_us(d[i].supi, REFRESH_US));
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us + dt);
        char got = lg_icache_match(c, &r, d[i].node, 1000, REFRESH_US);
        if (got != d[i].want && n_wrong++ < 5)
            print_error("device %zu (%s): got %d, want %d\n", i, d[i].supi, got, d[i].want);
        n_matched += got != 0;
    }
    assert_int_equal(n_wrong, 0);
    assert_int_equal(n_matched, MANY - n_pending);

    /* Round trip 1001: every other device twice, the second time from a cell
     * of its own (other than its row's). */
    for (size_t i = 0; i < MANY; i++) {
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
        lg_icache_count(c, &r, d[i].node, 1001, REFRESH_US);
        if (i % 2) {
            lg_report_t moved = report(d[i].supi, "ecgi:999-99:9999999", d[i].rat, d[i].ts_us);
            lg_icache_count(c, &moved, d[i].node, 1001, REFRESH_US);
        }
    }
    for (size_t i = 0; i < MANY; i++) {
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat, d[i].ts_us);
        char want = i % 2 ? 0 : d[i].want;
        if (lg_icache_match(c, &r, d[i].node, 1001, REFRESH_US) != want && n_wrong++ < 5)
            print_error("device %zu (%s), counted %s\n", i, d[i].supi, i % 2 ? "twice, two cells" : "once");
    }
    /* Round trip 1002: every device once, exactly its own refresh later. */
    for (size_t i = 0; i < MANY; i++) {
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat,
                               d[i].ts_us + lg_icache_refresh_us(d[i].supi, REFRESH_US));
        lg_icache_count(c, &r, d[i].node, 1002, REFRESH_US);
    }
    for (size_t i = 0; i < MANY; i++) {
        lg_report_t r = report(d[i].supi, d[i].cell, d[i].rat,
                               d[i].ts_us + lg_icache_refresh_us(d[i].supi, REFRESH_US));
        if (lg_icache_match(c, &r, d[i].node, 1002, REFRESH_US) != 0 && n_wrong++ < 5)
            print_error("device %zu (%s) matches refresh later\n", i, d[i].supi);
    }
    assert_int_equal(n_wrong, 0);

    free(d);
    lg_icache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_cache_matches_nothing),
        cmocka_unit_test(test_sent_then_put_makes_a_matching_entry),
        cmocka_unit_test(test_each_difference_from_the_row_prevents_a_match),
        cmocka_unit_test(test_refresh_interval_by_the_last_two_digits),
        cmocka_unit_test(test_refresh_boundary_follows_the_refresh_argument),
        cmocka_unit_test(test_report_not_counted_in_its_round_trip_does_not_match),
        cmocka_unit_test(test_device_repeated_in_a_round_trip_is_coalesced_only_if_uniform),
        cmocka_unit_test(test_pending_entry_matches_only_after_its_put),
        cmocka_unit_test(test_put_of_an_earlier_round_trip_after_a_later_sent_is_ignored),
        cmocka_unit_test(test_put_while_an_earlier_round_trip_is_under_way_is_ignored),
        cmocka_unit_test(test_failed_round_trip_leaves_the_entry_pending),
        cmocka_unit_test(test_done_without_a_round_trip_under_way_changes_nothing),
        cmocka_unit_test(test_put_stores_the_time_it_is_given),
        cmocka_unit_test(test_put_without_sent_does_nothing),
        cmocka_unit_test(test_put_of_a_row_that_cannot_be_coalesced_leaves_the_entry_pending),
        cmocka_unit_test(test_every_known_decision_is_kept),
        cmocka_unit_test(test_unknown_decision_is_refused),
        cmocka_unit_test(test_supi_leading_zeros_make_different_devices),
        cmocka_unit_test(test_five_and_fifteen_digit_supis_work),
        cmocka_unit_test(test_cell_key_longer_than_the_maximum_is_never_cached),
        cmocka_unit_test(test_node_names_get_stable_distinct_numbers),
        cmocka_unit_test(test_capacity_is_never_exceeded),
        cmocka_unit_test(test_capacity_of_one),
        cmocka_unit_test(test_clear_forgets_everything_and_the_cache_works_afterwards),
        cmocka_unit_test(test_free_accepts_null),
        cmocka_unit_test(test_many_devices_match_as_the_model_says),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
