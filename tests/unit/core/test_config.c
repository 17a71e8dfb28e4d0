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
    assert_int_equal(cfg.log_level, 3);
    assert_int_equal(cfg.log_format, LG_LOG_JSON);
    assert_string_equal(cfg.schema_dir, "/srv/locguard");
    assert_string_equal(cfg.db_conninfo, "host=/tmp port=5432 dbname=locguard");
    assert_int_equal(cfg.db_pool_size, 3);
    assert_int_equal(cfg.hysteresis, 3);
    assert_int_equal(cfg.seq_window, 64);
    assert_int_equal(cfg.refresh_ms, 0);    /* 0 is allowed: every report written */
    assert_int_equal(cfg.cache_devices, 0); /* 0 is allowed: no cache in the daemon */
    assert_int_equal(cfg.freshness_s, 300); /* default kept */
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
    assert_string_equal(cfg.db_conninfo, "host=elsewhere");
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
    assert_int_equal(cfg.counts_eps_num, 1);
    assert_int_equal(cfg.counts_eps_den, 4);
    assert_int_equal(cfg.counts_daily_eps_num, 6);
    assert_int_equal(cfg.counts_daily_eps_den, 1);
    assert_true(cfg.counts_max_area_m2 == 5000000000LL);
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
    assert_int_equal(cfg.log_format, LG_LOG_TEXT);
    lg_config_cleanup(&cfg);
    lg_config_defaults(&cfg);
    assert_int_equal(cfg.log_format, LG_LOG_TEXT);
    assert_string_equal(lg_zone_kind_name(LG_ZONE_EXPOSURE), "exposure");
    assert_string_equal(lg_zone_kind_name(LG_ZONE_SOUTHBOUND), "southbound");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
