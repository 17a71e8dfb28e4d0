/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group commit (service/south/ingest.c) against a real, migrated database
 * (`make dbunit`): batches are answered in the order they were queued, with
 * the database's verdict; the queue refuses what passes queue_max_reports;
 * a round trip takes whole batches up to flush_max_reports; one starts
 * beside another under way only when parallel_min_reports wait; and the cache
 * protocol runs as the database answers: claimed, coalescing a repeat,
 * emptied and resent whole on a stale generation (LG001), given up when
 * another daemon claims the cache. Skipped without LG_TEST_DATABASE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../dbtest.h"
#include "locguard/core/config.h"
#include "locguard/south/ingest.h"
#include "locguard/core/log.h"

static const char *conninfo;

static const char fixture_sql[] =
    "INSERT INTO network_node (name, kind) VALUES ('mme-t', 'MME') ON CONFLICT DO NOTHING;"
    "INSERT INTO area (name, geom) SELECT 'home-t', "
    "  ST_Multi(ST_MakeEnvelope(2.0, 48.0, 2.1, 48.1, 4326)) "
    "  WHERE NOT EXISTS (SELECT 1 FROM area WHERE name = 'home-t');"
    "INSERT INTO cell (cell_key, rat, coverage) VALUES ('ecgi:001-01:0000001', 'EUTRA', "
    "  ST_Multi(ST_MakeEnvelope(2.04, 48.04, 2.06, 48.06, 4326))) ON CONFLICT DO NOTHING;"
    "INSERT INTO ue (imsi, external_id, mobility, ambiguous_policy) "
    "  SELECT '0010100000000' || lpad(i::text, 2, '0'), 'meter' || i || '@test', 'fixed', "
    "         'inside' FROM generate_series(1, 99) i ON CONFLICT DO NOTHING;"
    "INSERT INTO ue_area (ue_id, area_id) SELECT u.id, a.id FROM ue u, area a "
    "  WHERE a.name = 'home-t' ON CONFLICT DO NOTHING;";

typedef struct fixture {
    PGconn *sql;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
    lg_config_t cfg;
    lg_ingest_t *ing;
} fixture_t;

/* The answers of submitted batches, in the order the callbacks ran. */
typedef struct answers {
    int n;
    int tag[32];
    lg_ingest_status_t status[32];
} answers_t;

typedef struct slot {
    answers_t *answers;
    int tag;
} slot_t;

static void on_done(void *arg, lg_ingest_status_t status)
{
    slot_t *s = arg;
    answers_t *a = s->answers;
    a->tag[a->n] = s->tag;
    a->status[a->n] = status;
    a->n++;
}

static int group_setup(void **state)
{
    (void)state;
    if (conninfo == NULL)
        return 0;
    PGconn *c = dbtest_connect(conninfo);
    dbtest_exec(c, fixture_sql);
    PQfinish(c);
    return 0;
}

/*
 * A fixture with a pool of pool_size and a group commit over it with these
 * limits; parallel_min reports must wait before a round trip starts beside
 * another.
 */
static fixture_t *open_fixture_parallel(int pool_size, int flush_max, int queue_max,
                                        int cache_devices, int parallel_min)
{
    fixture_t *f = calloc(1, sizeof(*f));
    dbtest_open(conninfo, pool_size, &f->sql, &f->base, &f->metrics, &f->db);
    for (int i = 0; i < 500 && lg_db_idle(f->db) < pool_size; i++)
        dbtest_spin(f->base, 10);
    lg_config_defaults(&f->cfg);
    f->cfg.ingest.flush_max_reports = flush_max;
    f->cfg.ingest.queue_max_reports = queue_max;
    f->cfg.ingest.cache_devices = cache_devices;
    f->cfg.ingest.refresh_ms = 60000;
    f->cfg.ingest.parallel_min_reports = parallel_min;
    f->ing = lg_ingest_new(f->db, f->metrics, &f->cfg.ingest);
    return f;
}

/* The same with every round trip free to start beside another. */
static fixture_t *open_fixture(int pool_size, int flush_max, int queue_max, int cache_devices)
{
    return open_fixture_parallel(pool_size, flush_max, queue_max, cache_devices, 0);
}

static void wait_idle(fixture_t *f)
{
    for (int i = 0; i < 1000 && lg_ingest_pending(f->ing) > 0; i++)
        dbtest_spin(f->base, 5);
    assert_int_equal(lg_ingest_pending(f->ing), 0);
}

static void close_fixture(fixture_t *f)
{
    wait_idle(f);
    lg_db_free(f->db);
    lg_ingest_free(f->ing);
    lg_metrics_free(f->metrics);
    event_base_free(f->base);
    PQfinish(f->sql);
    lg_config_cleanup(&f->cfg);
    free(f);
}

/* Submits a batch from node of n reports of devices first.. in cell 1, at ts_s. */
static lg_ingest_status_t submit(fixture_t *f, const char *node, int64_t seq, int first, int n,
                                 int64_t ts_s, slot_t *slot)
{
    lg_batch_t b;
    memset(&b, 0, sizeof b);
    snprintf(b.node, sizeof b.node, "%s", node);
    b.n_reports = (size_t)n;
    b.reports = calloc((size_t)n, sizeof(*b.reports));
    for (int i = 0; i < n; i++) {
        lg_report_t *r = &b.reports[i];
        snprintf(r->supi, sizeof r->supi, "0010100000000%02d", first + i);
        snprintf(r->cell_key, sizeof r->cell_key, "ecgi:001-01:0000001");
        r->rat = LG_RAT_EUTRA;
        r->ts_us = ts_s * 1000000;
    }
    return lg_ingest_submit(f->ing, &b, seq, on_done, slot);
}

/* Seconds since the epoch, now: reports must be recent. */
static int64_t now_s(void)
{
    return lg_now_us() / 1000000;
}

static void test_batches_are_answered_in_order_with_the_databases_verdict(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    fixture_t *f = open_fixture(2, 8192, 65536, 0);
    answers_t a = {0};
    slot_t s[4] = {{&a, 0}, {&a, 1}, {&a, 2}, {&a, 3}};
    int64_t t = now_s();

    assert_int_equal(submit(f, "mme-t", 1001, 1, 2, t, &s[0]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 1002, 3, 1, t, &s[1]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 1001, 1, 2, t, &s[2]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-nobody", 1, 4, 1, t, &s[3]), LG_INGEST_QUEUED);
    wait_idle(f);
    assert_int_equal(a.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a.tag[i], i);
    assert_int_equal(a.status[0], LG_INGEST_ACCEPTED);
    assert_int_equal(a.status[1], LG_INGEST_ACCEPTED);
    assert_int_equal(a.status[2], LG_INGEST_DUPLICATE);
    assert_int_equal(a.status[3], LG_INGEST_UNKNOWN_NODE);
    assert_int_equal(dbtest_scalar(f->sql,
                                   "SELECT count(*) FROM ue_location l JOIN ue u "
                                   "ON u.id = l.ue_id WHERE u.imsi IN "
                                   "('001010000000001','001010000000002','001010000000003')"),
                     3);
    close_fixture(f);
}

static void test_queue_refuses_past_queue_max_and_flushes_whole_batches(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    /* Two connections: one round trip at a time. Batches of 2, flush_max 3, queue_max 4. */
    fixture_t *f = open_fixture(2, 3, 4, 0);
    answers_t a = {0};
    slot_t s[4] = {{&a, 0}, {&a, 1}, {&a, 2}, {&a, 3}};
    int64_t t = now_s();

    assert_int_equal(submit(f, "mme-t", 2001, 5, 2, t, &s[0]), LG_INGEST_QUEUED); /* in flight */
    assert_int_equal(submit(f, "mme-t", 2002, 7, 2, t, &s[1]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 2003, 9, 2, t, &s[2]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 2004, 11, 2, t, &s[3]), LG_INGEST_QUEUE_FULL);
    assert_int_equal(lg_ingest_pending(f->ing), 3);
    wait_idle(f);
    assert_int_equal(a.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a.tag[i], i);
        assert_int_equal(a.status[i], LG_INGEST_ACCEPTED);
    }
    /* Three round trips of two reports each: 2 + 2 > flush_max. */
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_BATCH_REPORTS), 3);
    close_fixture(f);
}

static void test_a_trickle_waits_for_the_round_trip_under_way(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    /* Three connections: two round trips may be under way. Three reports must wait before
     * the second starts. */
    fixture_t *f = open_fixture_parallel(3, 8192, 65536, 0, 3);
    answers_t a = {0};
    slot_t s[4] = {{&a, 0}, {&a, 1}, {&a, 2}, {&a, 3}};
    int64_t t = now_s();

    assert_int_equal(submit(f, "mme-t", 2501, 32, 1, t, &s[0]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 1);
    /* One and two reports waiting: they wait for the round trip under way. */
    assert_int_equal(submit(f, "mme-t", 2502, 33, 1, t, &s[1]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 2503, 34, 1, t, &s[2]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 1);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_QUEUE_REPORTS), 2);
    /* Three: the second round trip starts beside the first, with all three. */
    assert_int_equal(submit(f, "mme-t", 2504, 35, 1, t, &s[3]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 4);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_QUEUE_REPORTS), 0);
    wait_idle(f);
    assert_int_equal(a.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a.status[i], LG_INGEST_ACCEPTED);
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_BATCH_REPORTS), 2);
    close_fixture(f);

    /* Without the rule the second report starts a round trip of its own. */
    f = open_fixture(3, 8192, 65536, 0);
    answers_t b = {0};
    slot_t u[2] = {{&b, 0}, {&b, 1}};
    assert_int_equal(submit(f, "mme-t", 2505, 32, 1, t + 1, &u[0]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 2506, 33, 1, t + 1, &u[1]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 2);
    close_fixture(f);
}

static void test_a_batch_sharing_few_devices_goes_beside_one_sharing_many_waits(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    /* Four connections: three round trips may be under way. */
    fixture_t *f = open_fixture(4, 8192, 65536, 0);
    answers_t a = {0};
    slot_t s[3] = {{&a, 0}, {&a, 1}, {&a, 2}};
    int64_t t = now_s();

    /* Devices 41..56, then 56..71: one shared of 16 (the limit is one), so the second
     * round trip starts at once. */
    assert_int_equal(submit(f, "mme-t", 2601, 41, 16, t, &s[0]), LG_INGEST_QUEUED);
    assert_int_equal(submit(f, "mme-t", 2602, 56, 16, t, &s[1]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 32);
    /* Devices 64..79: 8 shared with the second; it waits for both to end, with a
     * connection idle. */
    assert_int_equal(submit(f, "mme-t", 2603, 64, 16, t, &s[2]), LG_INGEST_QUEUED);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_INFLIGHT_REPORTS), 32);
    assert_int_equal(lg_metrics_get_gauge(f->metrics, LG_G_QUEUE_REPORTS), 16);
    wait_idle(f);
    assert_int_equal(a.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(a.status[i], LG_INGEST_ACCEPTED);
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_BATCH_REPORTS), 3);
    /* Every device is stored. */
    assert_int_equal(dbtest_scalar(f->sql, "SELECT count(*) FROM ue_location l JOIN ue u"
                                           " ON u.id = l.ue_id WHERE u.imsi BETWEEN"
                                           " '001010000000041' AND '001010000000079'"),
                     39);
    close_fixture(f);
}

/* Submits one report of device dev at ts_s and waits for its answer. */
static lg_ingest_status_t one(fixture_t *f, int64_t seq, int dev, int64_t ts_s)
{
    answers_t a = {0};
    slot_t s = {&a, 0};
    assert_int_equal(submit(f, "mme-t", seq, dev, 1, ts_s, &s), LG_INGEST_QUEUED);
    wait_idle(f);
    assert_int_equal(a.n, 1);
    return a.status[0];
}

static void test_cache_claims_coalesces_and_resends_on_a_stale_generation(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    fixture_t *f = open_fixture(2, 8192, 65536, 100);
    int64_t t = now_s();

    assert_int_equal(lg_ingest_cache_state(f->ing), LG_ICACHE_CLAIMING);
    assert_int_equal(one(f, 3001, 20, t), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_ingest_cache_state(f->ing), LG_ICACHE_OWNER);
    assert_int_equal(one(f, 3002, 20, t + 1), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_REPORTS_CACHED), 1);
    /* Coalesced: the stored time is the first report's. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT extract(epoch FROM reported_at)::bigint FROM ue_location l JOIN ue u "
             "ON u.id = l.ue_id WHERE u.imsi = '001010000000020'");
    assert_int_equal(dbtest_scalar(f->sql, sql), t);

    /* Someone else moves the generation: the next coalesced report meets LG001, the cache is
     * emptied and the batch sent whole, and accepted. */
    dbtest_exec(f->sql, "SELECT nextval('lg_ingest_cache_gen')");
    assert_int_equal(one(f, 3003, 20, t + 2), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_INGEST_CACHE_RESETS), 1);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_REPORTS_CACHED), 1);
    assert_int_equal(lg_ingest_cache_state(f->ing), LG_ICACHE_OWNER);
    close_fixture(f);
}

static void test_another_daemons_claim_loses_the_cache(void **state)
{
    (void)state;
    if (conninfo == NULL)
        skip();
    fixture_t *f = open_fixture(2, 8192, 65536, 100);
    int64_t t = now_s();

    assert_int_equal(one(f, 4001, 30, t), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_ingest_cache_state(f->ing), LG_ICACHE_OWNER);
    dbtest_exec(f->sql, "SELECT * FROM lg_ingest('{}'::text[], '{}'::bigint[], 1024, 2, '{}', "
                        "'{}', '{}', '{}', '{}', '{}', '{}', '{}', 0, 'another-daemon', NULL, "
                        "NULL)");
    assert_int_equal(one(f, 4002, 31, t), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_ingest_cache_state(f->ing), LG_ICACHE_LOST);
    assert_int_equal(one(f, 4003, 30, t + 1), LG_INGEST_ACCEPTED);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_REPORTS_CACHED), 0);
    close_fixture(f);
}

int main(void)
{
    conninfo = getenv("LG_TEST_DATABASE");
    if (conninfo == NULL)
        fprintf(stderr, "test_ingest_commit: LG_TEST_DATABASE not set, database tests skipped\n");
    lg_log_level = LG_LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_are_answered_in_order_with_the_databases_verdict),
        cmocka_unit_test(test_queue_refuses_past_queue_max_and_flushes_whole_batches),
        cmocka_unit_test(test_a_trickle_waits_for_the_round_trip_under_way),
        cmocka_unit_test(test_a_batch_sharing_few_devices_goes_beside_one_sharing_many_waits),
        cmocka_unit_test(test_cache_claims_coalesces_and_resends_on_a_stale_generation),
        cmocka_unit_test(test_another_daemons_claim_loses_the_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
