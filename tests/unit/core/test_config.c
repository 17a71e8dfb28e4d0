/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the configuration parser (service/core/config.c). */
#include "locguard/core/config.h"

#include "locguard/core/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char good[] = "[daemon]\n"
                           "log_level = debug   \n"
                           "log_format = json\n"
                           "# a comment\n"
                           "schema_dir = /srv/locguard\n"
                           "[database]\n"
                           "conninfo = host=/tmp port=5432 dbname=locguard\n"
                           "pool_size = 3\n"
                           "[ingest]\n"
                           "hysteresis = 3\n"
                           "seq_window = 64\n"
                           "refresh_ms = 0\n"
                           "cache_devices = 0\n"
                           "[zone south]\n"
                           "kind = southbound\n"
                           "listen = 0.0.0.0:8443\n"
                           "cert = s.pem\n"
                           "key = s.key\n"
                           "client_ca = ca.pem\n"
                           "[zone admin]\n"
                           "kind = admin\n"
                           "listen = 127.0.0.1:0\n"
                           "token_file = admin.token\n";

static int parse(lg_config_t *cfg, const char *text, char *err, size_t size)
{
    lg_config_defaults(cfg);
    return lg_config_parse(cfg, text, "t.conf", err, size);
}

static void test_full_file_sets_every_value(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    unsetenv("LOCGUARD_DATABASE");
    assert_int_equal(parse(&cfg, good, err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.daemon.log_level, 3);
    assert_int_equal(cfg.daemon.log_format, LG_LOG_JSON);
    assert_string_equal(cfg.daemon.schema_dir, "/srv/locguard");
    assert_string_equal(cfg.db.conninfo, "host=/tmp port=5432 dbname=locguard");
    assert_int_equal(cfg.db.pool_size, 3);
    assert_int_equal(cfg.ingest.hysteresis, 3);
    assert_int_equal(cfg.ingest.seq_window, 64);
    assert_int_equal(cfg.ingest.refresh_ms, 0);    /* 0 is allowed: every report written */
    assert_int_equal(cfg.ingest.cache_devices, 0); /* 0 is allowed: no cache in the daemon */
    assert_int_equal(cfg.southbound.freshness_s, 300); /* default kept */
    assert_int_equal(cfg.n_zones, 2);
    assert_string_equal(cfg.zones[0].name, "south");
    assert_int_equal(cfg.zones[0].kind, LG_ZONE_SOUTHBOUND);
    assert_string_equal(cfg.zones[0].host, "0.0.0.0");
    assert_int_equal(cfg.zones[0].port, 8443);
    assert_string_equal(cfg.zones[0].client_ca_file, "ca.pem");
    assert_int_equal(cfg.zones[1].kind, LG_ZONE_ADMIN);
    assert_int_equal(cfg.zones[1].port, 0);
    assert_string_equal(cfg.zones[1].token_file, "admin.token");
    lg_config_cleanup(&cfg);
}

static void test_environment_overrides_conninfo(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256];
    setenv("LOCGUARD_DATABASE", "host=elsewhere", 1);
    assert_int_equal(parse(&cfg, good, err, sizeof(err)), LG_OK);
    assert_string_equal(cfg.db.conninfo, "host=elsewhere");
    unsetenv("LOCGUARD_DATABASE");
    lg_config_cleanup(&cfg);
}

/* Each bad file, and the words its error message must contain. */
static const struct {
    const char *text;
    const char *expect;
} bad_cases[] = {
    {"[database]\nconninfo = x\npool_size = 0\n", "t.conf:3: \"pool_size\" must be an integer in 1..64"},
    {"[database]\nconninfo = x\npool_size = 2x\n", "t.conf:3:"},
    {"[database]\nconninfo = x\nspeed = 9\n", "unknown key \"speed\" in [database]"},
    {"[nowhere]\n", "unknown section [nowhere]"},
    {"conninfo = x\n", "outside of a section"},
    {"[database]\nconninfo\n", "expected \"key = value\""},
    {"[daemon]\nlog_level = loud\n", "bad value for \"log_level\""},
    {"[daemon]\nlog_format = xml\n", "bad value for \"log_format\""},
    {"[database]\nconninfo = x\n[zone s]\nkind = southbound\nlisten = 127.0.0.1:1\n",
     "needs \"cert\", \"key\" and \"client_ca\""},
    {"[database]\nconninfo = x\n[zone a]\nkind = admin\nlisten = 0.0.0.0:80\n", "loopback"},
    {"[database]\nconninfo = x\n[zone a]\nkind = admin\nlisten = 127.0.0.1:99999\n",
     "bad value for \"listen\""},
    {"[database]\nconninfo = x\n[zone a]\nkind = admin\nlisten = 127.0.0.1:1\n[zone a]\n",
     "defined twice"},
    {"[daemon]\nlog_level = info\n", "no database"},
    {"[database]\nconninfo = x\n[ingest]\nrefresh_ms = -1\n",
     "t.conf:4: \"refresh_ms\" must be an integer in 0..86400000"},
    {"[database]\nconninfo = x\n[ingest]\ncache_devices = -1\n",
     "t.conf:4: \"cache_devices\" must be an integer in 0..100000000"},
    {"[database]\nconninfo = x\n[counts]\nin_memory = 2\n",
     "t.conf:4: \"in_memory\" must be an integer in 0..1"},
    {"[database]\nconninfo = x\n[counts]\naudit_wait = yes\n",
     "t.conf:4: \"audit_wait\" must be an integer in 0..1"},
};

static void test_bad_files_name_line_and_reason(void **state)
{
    (void)state;
    unsetenv("LOCGUARD_DATABASE");
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        lg_config_t cfg;
        char err[256] = "";
        assert_int_equal(parse(&cfg, bad_cases[i].text, err, sizeof(err)), LG_ERR);
        if (strstr(err, bad_cases[i].expect) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad_cases[i].expect);
        lg_config_cleanup(&cfg);
    }
}

static void test_epsilon_is_an_exact_ratio(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    unsetenv("LOCGUARD_DATABASE");
    assert_int_equal(parse(&cfg, "[database]\nconninfo = x\n[counts]\nepsilon = 1/4\n"
                                 "daily_epsilon = 6\nmax_area_m2 = 5000000000\n",
                           err, sizeof(err)),
                     LG_OK);
    assert_int_equal(cfg.release.eps_num, 1);
    assert_int_equal(cfg.release.eps_den, 4);
    assert_int_equal(cfg.release.daily_eps_num, 6);
    assert_int_equal(cfg.release.daily_eps_den, 1);
    assert_true(cfg.exposure.max_area_m2 == 5000000000LL);
    lg_config_cleanup(&cfg);
    static const char *const bad[] = {"0/1", "1/0", "a", "1/2/3", "-1", "1/", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[database]\nconninfo = x\n[counts]\nepsilon = %s\n", bad[i]);
        assert_int_equal(parse(&cfg, text, err, sizeof(err)), LG_ERR);
        lg_config_cleanup(&cfg);
    }
}

static void test_log_format_defaults_to_text(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    static const char text[] = "[daemon]\nlog_format = text\n[database]\nconninfo = x\n";
    assert_int_equal(parse(&cfg, text, err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.daemon.log_format, LG_LOG_TEXT);
    lg_config_cleanup(&cfg);
    lg_config_defaults(&cfg);
    assert_int_equal(cfg.daemon.log_format, LG_LOG_TEXT);
    assert_string_equal(lg_zone_kind_name(LG_ZONE_EXPOSURE), "exposure");
    assert_string_equal(lg_zone_kind_name(LG_ZONE_SOUTHBOUND), "southbound");
    lg_config_cleanup(&cfg);
}

/* A file setting every key but the zones' to a value other than its default. */
static const char every_key[] = "[daemon]\n"
                                "log_level = warn\n"
                                "log_format = json\n"
                                "schema_dir = /srv/schema\n"
                                "pid_file = /run/l.pid\n"
                                "ready_file = /run/l.ready\n"
                                "[database]\n"
                                "conninfo = dbname=x\n"
                                "pool_size = 7\n"
                                "connect_timeout_s = 9\n"
                                "[ingest]\n"
                                "max_batch_reports = 11\n"
                                "max_body_bytes = 2048\n"
                                "flush_max_reports = 12\n"
                                "parallel_min_reports = 0\n"
                                "queue_max_reports = 13\n"
                                "seq_window = 14\n"
                                "freshness_s = 15\n"
                                "report_max_age_s = 16\n"
                                "report_max_skew_s = 17\n"
                                "hysteresis = 18\n"
                                "refresh_ms = 19\n"
                                "cache_devices = 20\n"
                                "retry_after_s = 21\n"
                                "[oauth]\n"
                                "signing_key = k.pem\n"
                                "issuer = https://iss\n"
                                "token_ttl_s = 22\n"
                                "[northbound]\n"
                                "public_url = https://pub\n"
                                "[delivery]\n"
                                "ca_file = ca.pem\n"
                                "retry_max_age_s = 23\n"
                                "max_backoff_s = 24\n"
                                "concurrency_per_destination = 25\n"
                                "timeout_s = 26\n"
                                "lease_s = 27\n"
                                "poll_ms = 28\n"
                                "idle_s = 29\n"
                                "[counts]\n"
                                "bucket_s = 1800\n"
                                "mechanism = per_bucket\n"
                                "lifetime_epsilon = 5/2\n"
                                "branching = 8\n"
                                "changes_per_day = 3\n"
                                "moves_per_horizon = 4\n"
                                "presence_s = 7200\n"
                                "epsilon = 3/7\n"
                                "daily_epsilon = 5/2\n"
                                "k = 31\n"
                                "min_area_m2 = 32\n"
                                "max_area_m2 = 33\n"
                                "rate_per_minute = 34\n"
                                "in_memory = 0\n"
                                "memory_days = 35\n"
                                "memory_poll_ms = 360\n"
                                "audit_wait = 1\n";

static void test_each_key_lands_in_its_modules_struct(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    unsetenv("LOCGUARD_DATABASE");
    assert_int_equal(parse(&cfg, every_key, err, sizeof(err)), LG_OK);

    assert_int_equal(cfg.daemon.log_level, LG_LOG_WARN);
    assert_int_equal(cfg.daemon.log_format, LG_LOG_JSON);
    assert_string_equal(cfg.daemon.schema_dir, "/srv/schema");
    assert_string_equal(cfg.daemon.pid_file, "/run/l.pid");
    assert_string_equal(cfg.daemon.ready_file, "/run/l.ready");
    assert_int_equal(cfg.daemon.max_body_bytes, 2048);

    const lg_db_config_t *db = &cfg.db;
    assert_string_equal(db->conninfo, "dbname=x");
    assert_int_equal(db->pool_size, 7);
    assert_int_equal(db->connect_timeout_s, 9);

    const lg_southbound_config_t *sb = &cfg.southbound;
    assert_int_equal(sb->max_batch_reports, 11);
    assert_int_equal(sb->freshness_s, 15);
    assert_int_equal(sb->report_max_age_s, 16);
    assert_int_equal(sb->report_max_skew_s, 17);
    assert_int_equal(sb->retry_after_s, 21);

    const lg_ingest_config_t *in = &cfg.ingest;
    assert_int_equal(in->flush_max_reports, 12);
    assert_int_equal(in->parallel_min_reports, 0);
    assert_int_equal(in->queue_max_reports, 13);
    assert_int_equal(in->seq_window, 14);
    assert_int_equal(in->hysteresis, 18);
    assert_int_equal(in->refresh_ms, 19);
    assert_int_equal(in->cache_devices, 20);

    const lg_oauth_config_t *oa = &cfg.oauth;
    assert_string_equal(oa->signing_key, "k.pem");
    assert_string_equal(oa->issuer, "https://iss");
    assert_int_equal(oa->token_ttl_s, 22);

    const lg_notifier_config_t *nt = &cfg.delivery;
    assert_string_equal(cfg.public_url, "https://pub");
    assert_ptr_equal(nt->public_url, cfg.public_url); /* the notifier's is the same string */
    assert_string_equal(nt->ca_file, "ca.pem");
    assert_int_equal(nt->retry_max_age_s, 23);
    assert_int_equal(nt->max_backoff_s, 24);
    assert_int_equal(nt->concurrency_per_destination, 25);
    assert_int_equal(nt->timeout_s, 26);
    assert_int_equal(nt->lease_s, 27);
    assert_int_equal(nt->poll_ms, 28);
    assert_int_equal(nt->idle_s, 29);

    const lg_release_config_t *rl = &cfg.release;
    assert_int_equal(rl->bucket_s, 1800);
    assert_int_equal(rl->mechanism, LG_RELEASE_PER_BUCKET);
    assert_int_equal(rl->continual.eps_num, 5);
    assert_int_equal(rl->continual.eps_den, 2);
    assert_int_equal(rl->continual.branching, 8);
    assert_int_equal(rl->continual.moves_per_day, 3);
    assert_int_equal(rl->continual.moves_lifetime, 4);
    assert_int_equal(rl->presence_s, 7200);
    assert_int_equal(rl->eps_num, 3);
    assert_int_equal(rl->eps_den, 7);
    assert_int_equal(rl->daily_eps_num, 5);
    assert_int_equal(rl->daily_eps_den, 2);

    const lg_exposure_config_t *ex = &cfg.exposure;
    assert_int_equal(ex->k, 31);
    assert_int_equal(ex->min_area_m2, 32);
    assert_true(ex->max_area_m2 == 33);
    assert_int_equal(ex->rate_per_minute, 34);
    assert_false(ex->is_in_memory);
    assert_true(ex->is_audit_wait);

    assert_int_equal(cfg.countmap.keep_days, 35);
    assert_int_equal(cfg.countmap.poll_ms, 360);

    /* The periodic reports read the same k and areas as the count queries. */
    assert_int_equal(cfg.periodic.k, 31);
    assert_true(cfg.periodic.min_area_m2 == 32);
    assert_true(cfg.periodic.max_area_m2 == 33);
    lg_config_cleanup(&cfg);
}

/* The defaults README.md "Configuration" lists, wherever each is set. */
static void test_defaults_are_the_documented_ones(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    unsetenv("LOCGUARD_DATABASE");
    assert_int_equal(parse(&cfg, "[database]\nconninfo = x\n", err, sizeof(err)), LG_OK);
    assert_int_equal(cfg.daemon.log_level, LG_LOG_INFO);
    assert_int_equal(cfg.daemon.log_format, LG_LOG_TEXT);
    assert_non_null(cfg.daemon.schema_dir);
    assert_null(cfg.daemon.pid_file);
    assert_null(cfg.daemon.ready_file);
    assert_int_equal(cfg.daemon.max_body_bytes, 1048576);
    assert_int_equal(cfg.db.pool_size, 3);
    assert_int_equal(cfg.db.connect_timeout_s, 5);
    assert_int_equal(cfg.southbound.max_batch_reports, 1000);
    assert_int_equal(cfg.southbound.freshness_s, 300);
    assert_int_equal(cfg.southbound.report_max_age_s, 86400);
    assert_int_equal(cfg.southbound.report_max_skew_s, 300);
    assert_int_equal(cfg.southbound.retry_after_s, 5);
    assert_int_equal(cfg.ingest.flush_max_reports, 8192);
    assert_int_equal(cfg.ingest.parallel_min_reports, 256);
    assert_int_equal(cfg.ingest.queue_max_reports, 65536);
    assert_int_equal(cfg.ingest.seq_window, 1024);
    assert_int_equal(cfg.ingest.hysteresis, 2);
    assert_int_equal(cfg.ingest.refresh_ms, 60000);
    assert_int_equal(cfg.ingest.cache_devices, 1000000);
    assert_int_equal(cfg.ingest.msg_window_s, 600);
    assert_null(cfg.oauth.signing_key);
    assert_null(cfg.oauth.issuer);
    assert_int_equal(cfg.oauth.token_ttl_s, 300);
    assert_null(cfg.public_url);
    assert_null(cfg.delivery.public_url);
    assert_null(cfg.delivery.ca_file);
    assert_int_equal(cfg.delivery.retry_max_age_s, 86400);
    assert_int_equal(cfg.delivery.max_backoff_s, 600);
    assert_int_equal(cfg.delivery.concurrency_per_destination, 4);
    assert_int_equal(cfg.delivery.timeout_s, 10);
    assert_int_equal(cfg.delivery.lease_s, 60);
    assert_int_equal(cfg.delivery.poll_ms, 500);
    assert_int_equal(cfg.delivery.idle_s, 30);
    assert_int_equal(cfg.release.bucket_s, 3600);
    assert_int_equal(cfg.release.delay_s, 5);
    assert_int_equal(cfg.release.mechanism, LG_RELEASE_CONTINUAL);
    assert_int_equal(cfg.release.continual.eps_num, 10);
    assert_int_equal(cfg.release.continual.eps_den, 1);
    assert_int_equal(cfg.release.continual.branching, 32);
    assert_int_equal(cfg.release.continual.moves_per_day, 1);
    assert_int_equal(cfg.release.continual.moves_lifetime, 0);
    assert_int_equal(cfg.release.presence_s, 604800);
    assert_int_equal(cfg.release.eps_num, 1);
    assert_int_equal(cfg.release.eps_den, 2);
    assert_int_equal(cfg.release.daily_eps_num, 12);
    assert_int_equal(cfg.release.daily_eps_den, 1);
    assert_int_equal(cfg.exposure.k, 10);
    assert_int_equal(cfg.exposure.min_area_m2, 1000000);
    assert_true(cfg.exposure.max_area_m2 == 282743338823LL);
    assert_int_equal(cfg.exposure.rate_per_minute, 60);
    assert_true(cfg.exposure.is_in_memory);
    assert_false(cfg.exposure.is_audit_wait);
    assert_int_equal(cfg.countmap.keep_days, 2);
    assert_int_equal(cfg.countmap.poll_ms, 1000);
    assert_int_equal(cfg.periodic.k, 10);
    assert_true(cfg.periodic.min_area_m2 == 1000000);
    assert_true(cfg.periodic.max_area_m2 == 282743338823LL);
    assert_int_equal(cfg.n_zones, 0);
    lg_config_cleanup(&cfg);
}

static void test_missing_file_is_an_error(void **state)
{
    (void)state;
    lg_config_t cfg;
    char err[256] = "";
    lg_config_defaults(&cfg);
    assert_int_equal(lg_config_load(&cfg, "/nonexistent/locguard.conf", err, sizeof(err)), LG_ERR);
    assert_non_null(strstr(err, "/nonexistent/locguard.conf"));
    lg_config_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file_sets_every_value),
        cmocka_unit_test(test_environment_overrides_conninfo),
        cmocka_unit_test(test_bad_files_name_line_and_reason),
        cmocka_unit_test(test_epsilon_is_an_exact_ratio),
        cmocka_unit_test(test_missing_file_is_an_error),
        cmocka_unit_test(test_log_format_defaults_to_text),
        cmocka_unit_test(test_each_key_lands_in_its_modules_struct),
        cmocka_unit_test(test_defaults_are_the_documented_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
