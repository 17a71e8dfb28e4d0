/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for locguardctl's pure parts: command-line resolution against
 * the command table, request path and query building (percent-encoding of
 * externalIds), option value checks, and the table helpers. The CLI keeps
 * its helpers static, so the test includes the source with main renamed;
 * the HTTP round trip is covered by the integration tests against the daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

int locguardctl_main(int argc, char **argv);
#define main locguardctl_main
#include "../../service/locguardctl.c"
#undef main

/* Splits and resolves argv (NULL-terminated, argv[0] included) into inv; returns the status. */
static int parse(char **argv, struct cmdline *cl, struct invocation *inv)
{
    int argc = 0;
    int status;

    while (argv[argc] != NULL)
        argc++;
    memset(cl, 0, sizeof(*cl));
    memset(inv, 0, sizeof(*inv));
    cl->words = lg_xcalloc((size_t)argc + 1, sizeof(*cl->words));
    cl->opt_names = lg_xcalloc((size_t)argc + 1, sizeof(*cl->opt_names));
    cl->opt_vals = lg_xcalloc((size_t)argc + 1, sizeof(*cl->opt_vals));
    status = split_argv(argc, argv, cl);
    if (status == EXIT_OK)
        status = cl->nwords > 0 ? resolve(cl, inv) : EXIT_USAGE;
    return status;
}

static void free_cmdline(struct cmdline *cl)
{
    free(cl->words);
    free(cl->opt_names);
    free(cl->opt_vals);
}

/* Resolves argv and expands the request path; returns NULL on a usage error. */
static char *path_of(char **argv)
{
    struct cmdline cl;
    struct invocation inv;
    char *path = NULL;

    if (parse(argv, &cl, &inv) == EXIT_OK)
        path = expand_path(&inv);
    free_cmdline(&cl);
    return path;
}

static void test_external_id_with_at_sign_is_percent_encoded(void **state)
{
    char *argv[] = {"locguardctl", "device", "show", "dev1@example.com", NULL};
    char *path = path_of(argv);

    (void)state;
    assert_string_equal(path, "/v1/devices/dev1%40example.com");
    free(path);
}

static void test_authorize_encodes_both_segments(void **state)
{
    char *argv[] = {"locguardctl", "authorize", "a@b", "depot north/2", NULL};
    char *path = path_of(argv);

    (void)state;
    assert_string_equal(path, "/v1/devices/a%40b/areas/depot%20north%2F2");
    free(path);
}

static void test_device_add_path_comes_from_external_id_option(void **state)
{
    char *argv[] = {"locguardctl",       "device",     "add",   "--supi", "imsi-001010000000001",
                    "--external-id=x@y", "--mobility", "fixed", NULL};
    char *path = path_of(argv);

    (void)state;
    assert_string_equal(path, "/v1/devices/x%40y");
    free(path);
}

static void test_alert_list_options_become_encoded_query(void **state)
{
    char *argv[] = {
        "locguardctl", "alert", "list", "--device", "d@x", "--since", "2026-01-01T00:00:00+01:00",
        "--limit",     "5",     NULL};
    char *path = path_of(argv);

    (void)state;
    assert_string_equal(path,
                        "/v1/alerts?device=d%40x&since=2026-01-01T00%3A00%3A00%2B01%3A00&limit=5");
    free(path);
}

static void test_dot_dot_segment_is_a_usage_error(void **state)
{
    char *argv[] = {"locguardctl", "area", "show", "..", NULL};

    (void)state;
    assert_null(path_of(argv));
}

static void test_global_options_may_follow_the_command(void **state)
{
    char *argv[] = {"locguardctl", "node", "list", "--json", "--url", "http://127.0.0.1:1", NULL};
    struct cmdline cl;
    struct invocation inv;

    (void)state;
    assert_int_equal(parse(argv, &cl, &inv), EXIT_OK);
    assert_true(cl.is_json);
    assert_string_equal(cl.url, "http://127.0.0.1:1");
    assert_string_equal(inv.cmd->synopsis, "node list");
    free_cmdline(&cl);
}

static void test_usage_errors_exit_2(void **state)
{
    static char *cases[][8] = {
        {"locguardctl", "node", "add", "n1", NULL},                    /* --kind missing */
        {"locguardctl", "node", "add", "n1", "--kind", "GGSN", NULL},  /* bad kind */
        {"locguardctl", "node", "list", "extra", NULL},                /* too many args */
        {"locguardctl", "node", "frob", NULL},                         /* unknown verb */
        {"locguardctl", "device", "list", "--limit", "0", NULL},       /* limit < 1 */
        {"locguardctl", "alert", "list", "--until", "tomorrow", NULL}, /* not RFC 3339 */
        {"locguardctl", "node", "list", "--kind", "MME", NULL},        /* foreign option */
        {"locguardctl", "node", "list", "--nope", NULL},               /* unknown option */
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        struct cmdline cl;
        struct invocation inv;

        assert_int_equal(parse(cases[i], &cl, &inv), EXIT_USAGE);
        free_cmdline(&cl);
    }
}

static void test_flag_option_is_seen(void **state)
{
    char *argv[] = {"locguardctl",   "device", "add",        "--no-monitoring", "--supi", "imsi-1",
                    "--external-id", "e",      "--mobility", "restricted",      NULL};
    struct cmdline cl;
    struct invocation inv;
    struct body body = {NULL, 0, NULL};

    (void)state;
    assert_int_equal(parse(argv, &cl, &inv), EXIT_OK);
    assert_int_equal(body_device_add(&inv, &body), EXIT_OK);
    assert_string_equal(body.data, "{\"supi\":\"imsi-1\",\"externalId\":\"e\",\"mobility\":"
                                   "\"restricted\",\"monitoringAllowed\":false}");
    free(body.data);
    free_cmdline(&cl);
}

static void test_zone_state_is_dash_when_location_is_null(void **state)
{
    json_t *with = json_pack("{s:{s:s}}", "location", "zoneState", "inside");
    json_t *without = json_pack("{s:n}", "location");
    char *a = value_text(get_any(with, "location.zoneState"));
    char *b = value_text(get_any(without, "location.zoneState"));

    (void)state;
    assert_string_equal(a, "inside");
    assert_string_equal(b, "-");
    free(a);
    free(b);
    json_decref(with);
    json_decref(without);
}

static void test_value_text_renders_booleans_and_hides_control_chars(void **state)
{
    json_t *t = json_true(), *s = json_string("a\x1b[2Jb");
    char *yes = value_text(t), *clean = value_text(s);

    (void)state;
    assert_string_equal(yes, "yes");
    assert_string_equal(clean, "a?[2Jb");
    free(yes);
    free(clean);
    json_decref(s);
}

static void test_camel_case_key_becomes_header(void **state)
{
    char *h = header_of("externalId");

    (void)state;
    assert_string_equal(h, "EXTERNAL ID");
    free(h);
}

static void test_list_found_in_array_items_or_first_array_member(void **state)
{
    json_t *arr = json_array();
    json_t *items = json_pack("{s:[i], s:[]}", "items", 1, "other");
    json_t *named = json_pack("{s:i, s:[i]}", "count", 1, "devices", 2);

    (void)state;
    assert_ptr_equal(list_of(arr), arr);
    assert_ptr_equal(list_of(items), json_object_get(items, "items"));
    assert_ptr_equal(list_of(named), json_object_get(named, "devices"));
    json_decref(arr);
    json_decref(items);
    json_decref(named);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_external_id_with_at_sign_is_percent_encoded),
        cmocka_unit_test(test_authorize_encodes_both_segments),
        cmocka_unit_test(test_device_add_path_comes_from_external_id_option),
        cmocka_unit_test(test_alert_list_options_become_encoded_query),
        cmocka_unit_test(test_dot_dot_segment_is_a_usage_error),
        cmocka_unit_test(test_global_options_may_follow_the_command),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_flag_option_is_seen),
        cmocka_unit_test(test_zone_state_is_dash_when_location_is_null),
        cmocka_unit_test(test_value_text_renders_booleans_and_hides_control_chars),
        cmocka_unit_test(test_camel_case_key_becomes_header),
        cmocka_unit_test(test_list_found_in_array_items_or_first_array_member),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
