/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for locguardctl's modules, through their headers: command-line
 * resolution against the command table (argv.h, commands.h), request path
 * and query building with percent-encoded externalIds and the body builders
 * (command.h), option value checks, the table helpers and the printing of
 * answers and problems (printer.h), exit statuses and local problems
 * (exit.h). The HTTP round trip (client.h) is covered by the integration
 * tests against the daemon.
 */
#include "locguard/core/common.h"
#include "locguard/core/token.h"
#include "locguard/ctl/argv.h"
#include "locguard/ctl/command.h"
#include "locguard/ctl/commands.h"
#include "locguard/ctl/exit.h"
#include "locguard/ctl/monitoring.h"
#include "locguard/ctl/printer.h"
#include "locguard/ctl/provision.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Splits and resolves argv (NULL-terminated, argv[0] included) into inv; returns the status. */
static int parse(char **argv, lg_ctl_cmdline_t *cl, lg_ctl_invocation_t *inv)
{
    int argc = 0;
    int status;

    while (argv[argc] != NULL)
        argc++;
    memset(inv, 0, sizeof(*inv));
    lg_ctl_argv_init(cl, argc);
    status = lg_ctl_argv_split(argc, argv, cl);
    if (status == LG_CTL_EXIT_OK)
        status = cl->nwords > 0 ? lg_ctl_argv_resolve(cl, inv) : LG_CTL_EXIT_USAGE;
    return status;
}

/* Resolves argv and expands the request path; returns NULL on a usage error. */
static char *path_of(char **argv)
{
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    char *path = NULL;

    if (parse(argv, &cl, &inv) == LG_CTL_EXIT_OK)
        path = lg_ctl_command_path(&inv);
    lg_ctl_argv_cleanup(&cl);
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
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;

    (void)state;
    assert_int_equal(parse(argv, &cl, &inv), LG_CTL_EXIT_OK);
    assert_true(cl.is_json);
    assert_string_equal(cl.url, "http://127.0.0.1:1");
    assert_string_equal(inv.cmd->synopsis, "node list");
    lg_ctl_argv_cleanup(&cl);
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
        lg_ctl_cmdline_t cl;
        lg_ctl_invocation_t inv;

        assert_int_equal(parse(cases[i], &cl, &inv), LG_CTL_EXIT_USAGE);
        lg_ctl_argv_cleanup(&cl);
    }
}

static void test_flag_option_is_seen(void **state)
{
    char *argv[] = {"locguardctl",   "device", "add",        "--no-monitoring", "--supi", "imsi-1",
                    "--external-id", "e",      "--mobility", "restricted",      NULL};
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    lg_ctl_body_t body = {0};

    (void)state;
    assert_int_equal(parse(argv, &cl, &inv), LG_CTL_EXIT_OK);
    assert_int_equal(inv.cmd->build(&inv, &body), LG_CTL_EXIT_OK);
    assert_string_equal(body.data, "{\"supi\":\"imsi-1\",\"externalId\":\"e\",\"mobility\":"
                                   "\"restricted\",\"monitoringAllowed\":false}");
    free(body.data);
    lg_ctl_argv_cleanup(&cl);
}

static void test_zone_state_is_dash_when_location_is_null(void **state)
{
    json_t *with = json_pack("{s:{s:s}}", "location", "zoneState", "inside");
    json_t *without = json_pack("{s:n}", "location");
    char *a = lg_ctl_print_value_text(lg_ctl_print_find_value(with, "location.zoneState"));
    char *b = lg_ctl_print_value_text(lg_ctl_print_find_value(without, "location.zoneState"));

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
    char *yes = lg_ctl_print_value_text(t), *clean = lg_ctl_print_value_text(s);

    (void)state;
    assert_string_equal(yes, "yes");
    assert_string_equal(clean, "a?[2Jb");
    free(yes);
    free(clean);
    json_decref(s);
}

static void test_camel_case_key_becomes_header(void **state)
{
    char *h = lg_ctl_print_header("externalId");

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
    assert_ptr_equal(lg_ctl_print_find_list(arr), arr);
    assert_ptr_equal(lg_ctl_print_find_list(items), json_object_get(items, "items"));
    assert_ptr_equal(lg_ctl_print_find_list(named), json_object_get(named, "devices"));
    json_decref(arr);
    json_decref(items);
    json_decref(named);
}

/* Resolves argv and builds the body; returns the builder's status (usage errors included). */
static int body_of(char **argv, char **out_path, char **out_body)
{
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    lg_ctl_body_t body = {0};
    int status;

    *out_path = NULL;
    *out_body = NULL;
    status = parse(argv, &cl, &inv);
    if (status == LG_CTL_EXIT_OK) {
        *out_path = lg_ctl_command_path(&inv);
        if (inv.cmd->build != NULL)
            status = inv.cmd->build(&inv, &body);
    }
    *out_body = body.data;
    lg_ctl_argv_cleanup(&cl);
    return status;
}

/* Resolves argv; returns its command (NULL on a usage error). */
static const lg_ctl_command_t *command_of(char **argv)
{
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    const lg_ctl_command_t *cmd = NULL;

    if (parse(argv, &cl, &inv) == LG_CTL_EXIT_OK)
        cmd = inv.cmd;
    lg_ctl_argv_cleanup(&cl);
    return cmd;
}

static void test_scs_add_puts_every_given_field(void **state)
{
    char *argv[] = {"locguardctl",
                    "scs",
                    "add",
                    "scs.one",
                    "--secret",
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "--previous-secret=whsec_AAAA",
                    "--allow-private",
                    "--cert-cn",
                    "scs.one",
                    "--name",
                    "Fleet app",
                    NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(argv)->method, EVHTTP_REQ_PUT);
    assert_string_equal(path, "/v1/scs/scs.one");
    assert_string_equal(body,
                        "{\"scsAsId\":\"scs.one\",\"webhookSecret\":\"whsec_MfKQ9r8GKYqrTwjUPD8"
                        "ILPZIo2LaLaSw\",\"allowPrivateDestinations\":true,"
                        "\"webhookSecretPrevious\":\"whsec_AAAA\",\"certCn\":\"scs.one\","
                        "\"name\":\"Fleet app\"}");
    free(path);
    free(body);
}

static void test_scs_add_minimal_denies_private_destinations(void **state)
{
    char *argv[] = {"locguardctl", "scs", "add", "s1", "--secret", "whsec_AAAA", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(
        body,
        "{\"scsAsId\":\"s1\",\"webhookSecret\":\"whsec_AAAA\",\"allowPrivateDestinations\":false}");
    free(path);
    free(body);
}

static void test_malformed_webhook_secrets_are_usage_errors(void **state)
{
    static const char *const secrets[] = {
        "AAAA", "whsec_", "whsec_AAA", "whsec_AA=A", "whsec_AAA*", "whsec_====", "whsec_AAAA AAAA",
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(secrets); i++) {
        char *argv[] = {"locguardctl", "scs", "add", "s1", "--secret", (char *)secrets[i], NULL};

        assert_null(command_of(argv));
    }
    assert_null(lg_ctl_argv_check_value("secret", "whsec_AA=="));
    assert_null(lg_ctl_argv_check_value("previous-secret", "whsec_AAA="));
}

static void test_client_add_collects_repeated_scopes_once_each(void **state)
{
    char *argv[] = {"locguardctl", "client", "add",     "c1",    "--scope", "monitoring-event",
                    "--scs",       "s1",     "--scope", "admin", "--scope", "monitoring-event",
                    NULL};
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    lg_ctl_body_t built = {0};
    char *path, *body;

    (void)state;
    assert_int_equal(parse(argv, &cl, &inv), LG_CTL_EXIT_OK);
    assert_int_equal(inv.cmd->method, EVHTTP_REQ_POST);
    path = lg_ctl_command_path(&inv);
    assert_string_equal(path, "/v1/clients");
    assert_int_equal(inv.cmd->build(&inv, &built), LG_CTL_EXIT_OK);
    body = built.data;
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "clientId")), "c1");
    assert_string_equal(json_string_value(json_object_get(doc, "scsAsId")), "s1");
    json_t *scopes = json_object_get(doc, "scopes");
    assert_int_equal(json_array_size(scopes), 2);
    assert_string_equal(json_string_value(json_array_get(scopes, 0)), "monitoring-event");
    assert_string_equal(json_string_value(json_array_get(scopes, 1)), "admin");
    /* Only the hash of the secret the CLI made is sent; the secret itself is not. */
    const char *hash = json_string_value(json_object_get(doc, "secretHash"));
    assert_non_null(hash);
    assert_int_equal(strncmp(hash, "scrypt$", 7), 0);
    assert_true(strlen(built.client_secret) >= 40);
    assert_true(lg_token_secret_matches(built.client_secret, hash));
    assert_false(lg_token_secret_matches("another secret", hash));
    assert_null(strstr(body, built.client_secret));
    assert_null(json_object_get(doc, "clientSecret"));
    json_decref(doc);
    free(path);
    free(body);
    lg_ctl_argv_cleanup(&cl);
}

/*
 * Runs lg_ctl_print_answer for a client add (a secret made here) with stdout
 * sent to a temporary file; returns what it printed.
 */
static char *printed_answer(bool is_json, const char *secret, const char *answer)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    char *out = calloc(1, 4096);

    assert_non_null(tmp);
    fflush(stdout);
    dup2(fileno(tmp), STDOUT_FILENO);
    assert_int_equal(
        lg_ctl_print_answer(is_json, lg_ctl_print_object, secret, 201, answer, strlen(answer)),
        LG_CTL_EXIT_OK);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, 4095, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

static void test_new_client_secret_is_shown_once_in_both_output_modes(void **state)
{
    const char *secret = "s3cr3t-made-by-the-cli-0123456789abcdefghij";

    (void)state;
    const char *answer = "{\"clientId\":\"c1\",\"scopes\":[\"monitoring-event\"]}";
    char *json = printed_answer(true, secret, answer);
    json_t *doc = json_loads(json, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "clientSecret")),
                        "s3cr3t-made-by-the-cli-0123456789abcdefghij");
    assert_string_equal(json_string_value(json_object_get(doc, "clientId")), "c1");
    json_decref(doc);
    char *table = printed_answer(false, secret, answer);
    assert_non_null(strstr(table, "s3cr3t-made-by-the-cli-0123456789abcdefghij"));
    free(json);
    free(table);
}

static void test_area_counts_permission_is_a_put_of_allowed(void **state)
{
    char *allow[] = {"locguardctl", "scs", "allow-area-counts", "scs@1", NULL};
    char *deny[] = {"locguardctl", "scs", "deny-area-counts", "scs-1", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(allow, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(allow)->method, EVHTTP_REQ_PUT);
    assert_string_equal(path, "/v1/scs/scs%401/area-counts");
    assert_string_equal(body, "{\"allowed\":true}");
    free(path);
    free(body);
    assert_int_equal(body_of(deny, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(body, "{\"allowed\":false}");
    free(path);
    free(body);
    char *geo[] = {"locguardctl", "scs", "allow-geo-area", "scs-1", NULL};
    assert_int_equal(body_of(geo, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(geo)->method, EVHTTP_REQ_PUT);
    assert_string_equal(path, "/v1/scs/scs-1/geo-area");
    assert_string_equal(body, "{\"allowed\":true}");
    free(path);
    free(body);
}

static void test_only_scope_may_be_repeated(void **state)
{
    char *twice[] = {"locguardctl", "scs", "add",    "s1", "--secret", "whsec_AAAA",
                     "--name",      "a",   "--name", "b",  NULL};
    char *spaced[] = {"locguardctl", "client", "add", "c1", "--scope", "a b", NULL};
    char *none[] = {"locguardctl", "client", "add", "c1", NULL};

    (void)state;
    assert_null(command_of(twice));
    assert_null(command_of(spaced));
    assert_null(command_of(none));
}

static void test_group_commands_encode_ids_and_take_three_words(void **state)
{
    char *add[] = {"locguardctl", "group", "add", "fleet@example.com", "--local-id", "L-1", NULL};
    char *member[] = {"locguardctl", "group", "member", "add", "fleet@example.com", "d@x", NULL};
    char *unmember[] = {"locguardctl", "group", "member", "remove", "g@x", "d@x", NULL};
    char *members[] = {"locguardctl", "group", "members", "g@x", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(add, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(path, "/v1/groups/fleet%40example.com");
    assert_string_equal(body,
                        "{\"externalGroupId\":\"fleet@example.com\",\"localGroupId\":\"L-1\"}");
    free(path);
    free(body);
    assert_int_equal(body_of(member, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(member)->method, EVHTTP_REQ_PUT);
    assert_string_equal(path, "/v1/groups/fleet%40example.com/members/d%40x");
    assert_null(body);
    free(path);
    assert_int_equal(command_of(unmember)->method, EVHTTP_REQ_DELETE);
    path = path_of(unmember);
    assert_string_equal(path, "/v1/groups/g%40x/members/d%40x");
    free(path);
    path = path_of(members);
    assert_string_equal(path, "/v1/groups/g%40x/members");
    free(path);
    assert_true(lg_ctl_commands_verb_exists("group", "member"));
}

static void test_grant_names_exactly_one_target(void **state)
{
    char *device[] = {"locguardctl", "grant", "s1", "--device", "d@x", NULL};
    char *group[] = {"locguardctl", "revoke-grant", "s1", "--group", "g@x", NULL};
    char *both[] = {"locguardctl", "grant", "s1", "--device", "d", "--group", "g", NULL};
    char *neither[] = {"locguardctl", "grant", "s1", NULL};
    char *service[] = {"locguardctl", "grant", "s1", "--device", "d", "--service", "x", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(device, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(path, "/v1/grants");
    assert_string_equal(body, "{\"scsAsId\":\"s1\",\"service\":\"location-monitoring\","
                              "\"externalId\":\"d@x\"}");
    free(path);
    free(body);
    assert_int_equal(body_of(group, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(group)->method, EVHTTP_REQ_POST);
    assert_string_equal(path, "/v1/grants/remove");
    assert_string_equal(body, "{\"scsAsId\":\"s1\",\"service\":\"location-monitoring\","
                              "\"externalGroupId\":\"g@x\"}");
    free(path);
    free(body);
    assert_int_equal(body_of(both, &path, &body), LG_CTL_EXIT_USAGE);
    free(path);
    assert_int_equal(body_of(neither, &path, &body), LG_CTL_EXIT_USAGE);
    free(path);
    assert_null(command_of(service));
}

static void test_scs_filter_becomes_scs_as_id_query(void **state)
{
    char *grants[] = {"locguardctl", "grants", "--scs", "s 1", NULL};
    char *outbox[] = {"locguardctl", "outbox", "list", "--status", "failed", "--scs", "s1", NULL};
    char *bad[] = {"locguardctl", "outbox", "list", "--status", "lost", NULL};
    char *path;

    (void)state;
    path = path_of(grants);
    assert_string_equal(path, "/v1/grants?scsAsId=s%201");
    free(path);
    path = path_of(outbox);
    assert_string_equal(path, "/v1/outbox?status=failed&scsAsId=s1");
    free(path);
    assert_null(command_of(bad));
}

static void test_consent_commands_put_the_device_in_the_path(void **state)
{
    char *grant[] = {"locguardctl", "consent",
                     "grant",       "d@x",
                     "--purpose",   "location-monitoring",
                     "--scs",       "s1",
                     "--expires",   "2027-01-31T12:00:00Z",
                     NULL};
    char *any[] = {"locguardctl",          "consent", "grant", "d", "--purpose",
                   "anonymous-statistics", NULL};
    char *revoke[] = {"locguardctl",         "consent", "revoke", "d@x", "--purpose",
                      "location-monitoring", NULL};
    char *bad_time[] = {"locguardctl",         "consent",   "grant", "d", "--purpose",
                        "location-monitoring", "--expires", "soon",  NULL};
    char *bad_purpose[] = {"locguardctl", "consent", "grant", "d", "--purpose", "ads", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(grant, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(path, "/v1/devices/d%40x/consents");
    assert_string_equal(body, "{\"purpose\":\"location-monitoring\",\"scsAsId\":\"s1\","
                              "\"expiresAt\":\"2027-01-31T12:00:00Z\"}");
    free(path);
    free(body);
    assert_int_equal(body_of(any, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(body, "{\"purpose\":\"anonymous-statistics\"}");
    free(path);
    free(body);
    assert_int_equal(body_of(revoke, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(revoke)->method, EVHTTP_REQ_POST);
    assert_string_equal(path, "/v1/devices/d%40x/consents/revoke");
    assert_string_equal(body, "{\"purpose\":\"location-monitoring\"}");
    free(path);
    free(body);
    assert_null(command_of(bad_time));
    assert_null(command_of(bad_purpose));
}

static void test_remove_and_list_commands_map_to_their_routes(void **state)
{
    static const struct {
        char *argv[6];
        enum evhttp_cmd_type method;
        const char *path;
    } cases[] = {
        {{"locguardctl", "scs", "list", NULL}, EVHTTP_REQ_GET, "/v1/scs"},
        {{"locguardctl", "scs", "show", "s1", NULL}, EVHTTP_REQ_GET, "/v1/scs/s1"},
        {{"locguardctl", "scs", "remove", "s1", NULL}, EVHTTP_REQ_DELETE, "/v1/scs/s1"},
        {{"locguardctl", "client", "list", NULL}, EVHTTP_REQ_GET, "/v1/clients"},
        {{"locguardctl", "client", "remove", "c/1", NULL}, EVHTTP_REQ_DELETE, "/v1/clients/c%2F1"},
        {{"locguardctl", "group", "list", NULL}, EVHTTP_REQ_GET, "/v1/groups"},
        {{"locguardctl", "group", "remove", "g@x", NULL}, EVHTTP_REQ_DELETE, "/v1/groups/g%40x"},
        {{"locguardctl", "grants", NULL}, EVHTTP_REQ_GET, "/v1/grants"},
        {{"locguardctl", "consent", "list", "d@x", NULL},
         EVHTTP_REQ_GET,
         "/v1/devices/d%40x/consents"},
        {{"locguardctl", "outbox", "list", NULL}, EVHTTP_REQ_GET, "/v1/outbox"},
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        char *path = path_of((char **)cases[i].argv);

        assert_non_null(path);
        assert_int_equal(command_of((char **)cases[i].argv)->method, cases[i].method);
        assert_string_equal(path, cases[i].path);
        free(path);
    }
}

/* Writes text to a fresh temporary file; returns its malloc'd name. */
static char *temp_file(const char *text)
{
    char *name = lg_xstrdup("/tmp/test_locguardctl.XXXXXX");
    int fd = mkstemp(name);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return name;
}

static void test_count_geojson_posts_the_geometry_as_area(void **state)
{
    char *file =
        temp_file("{\"type\":\"Polygon\",\"coordinates\":[[[2,48],[3,48],[3,49],[2,48]]]}");
    char *argv[] = {"locguardctl", "count", "--geojson", file, NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_OK);
    assert_int_equal(command_of(argv)->method, EVHTTP_REQ_POST);
    assert_string_equal(path, "/v1/counts/exact");
    assert_string_equal(body, "{\"area\":{\"type\":\"Polygon\",\"coordinates\":"
                              "[[[2,48],[3,48],[3,49],[2,48]]]}}");
    free(path);
    free(body);
    unlink(file);
    free(file);
}

static void test_count_geojson_takes_a_features_geometry(void **state)
{
    char *file =
        temp_file("{\"type\":\"Feature\",\"properties\":{\"name\":\"x\"},\"geometry\":"
                  "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]]]}}");
    char *argv[] = {"locguardctl", "count", "--geojson", file, NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(body, "{\"area\":{\"type\":\"MultiPolygon\",\"coordinates\":"
                              "[[[[0,0],[1,0],[1,1],[0,0]]]]}}");
    free(path);
    free(body);
    unlink(file);
    free(file);
}

static void test_count_geojson_refuses_other_geometries_and_bad_json(void **state)
{
    char *point = temp_file("{\"type\":\"Point\",\"coordinates\":[2,48]}");
    char *junk = temp_file("{\"type\":");
    char *argv_point[] = {"locguardctl", "count", "--geojson", point, NULL};
    char *argv_junk[] = {"locguardctl", "count", "--geojson", junk, NULL};
    char *argv_missing[] = {"locguardctl", "count", "--geojson", "/nonexistent/area.json", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(argv_point, &path, &body), LG_CTL_EXIT_FAIL);
    assert_null(body);
    free(path);
    assert_int_equal(body_of(argv_junk, &path, &body), LG_CTL_EXIT_FAIL);
    free(path);
    assert_int_equal(body_of(argv_missing, &path, &body), LG_CTL_EXIT_FAIL);
    free(path);
    unlink(point);
    unlink(junk);
    free(point);
    free(junk);
}

static void test_count_circle_becomes_a_camara_circle(void **state)
{
    char *argv[] = {"locguardctl", "count", "--circle", "48.85,-2.5,5000", NULL};
    char *path, *body;
    json_t *doc;

    (void)state;
    assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_OK);
    assert_string_equal(path, "/v1/counts/exact");
    doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "area"), "areaType")), "CIRCLE");
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(doc, "area"), "center"), "latitude")) == 48.85);
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(doc, "area"), "center"), "longitude")) == -2.5);
    assert_true(json_real_value(json_object_get(json_object_get(doc, "area"), "radius")) == 5000);
    assert_int_equal(json_object_size(doc), 1);
    json_decref(doc);
    free(path);
    free(body);
}

static void test_count_needs_exactly_one_well_formed_area(void **state)
{
    static const char *const bad[] = {
        "48.85,2.35", "48.85,2.35,5000,1", "91,2.35,5000", "48,181,5000", "48,2,0",
        "48,2,-5",    "48,2,nan",          "a,b,c",        "48,,5000",    "48, 2,5000",
        "48,2,5000m", "48,2,1e9",          ",2,5000",      "48,2,",       "inf,2,5000",
    };
    char *both[] = {"locguardctl", "count", "--geojson", "-", "--circle", "1,2,3000", NULL};
    char *neither[] = {"locguardctl", "count", NULL};
    char *path, *body;

    (void)state;
    assert_int_equal(body_of(both, &path, &body), LG_CTL_EXIT_USAGE);
    free(path);
    assert_int_equal(body_of(neither, &path, &body), LG_CTL_EXIT_USAGE);
    free(path);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"locguardctl", "count", "--circle", (char *)bad[i], NULL};

        assert_int_equal(body_of(argv, &path, &body), LG_CTL_EXIT_USAGE);
        assert_null(body);
        free(path);
    }
}

/* stdout redirected to a temporary file while a test prints. */
struct capture {
    FILE *tmp;
    int saved_fd;
};

static void capture_begin(struct capture *c)
{
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    fflush(stdout);
    c->saved_fd = dup(STDOUT_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->tmp), STDOUT_FILENO) >= 0);
}

/* Restores stdout; returns what was printed (malloc'd). */
static char *capture_end(struct capture *c)
{
    char *out = calloc(1, 8192);
    size_t n;

    assert_non_null(out);
    fflush(stdout);
    dup2(c->saved_fd, STDOUT_FILENO);
    close(c->saved_fd);
    rewind(c->tmp);
    n = fread(out, 1, 8191, c->tmp);
    out[n] = '\0';
    fclose(c->tmp);
    return out;
}

static void test_http_status_maps_to_exit_status(void **state)
{
    static const struct {
        int http_status;
        lg_ctl_exit_t exit;
    } cases[] = {
        {200, LG_CTL_EXIT_OK},          {201, LG_CTL_EXIT_OK},
        {204, LG_CTL_EXIT_OK},          {404, LG_CTL_EXIT_NOT_FOUND},
        {409, LG_CTL_EXIT_CONFLICT},    {0, LG_CTL_EXIT_UNAVAILABLE},
        {429, LG_CTL_EXIT_UNAVAILABLE}, {502, LG_CTL_EXIT_UNAVAILABLE},
        {503, LG_CTL_EXIT_UNAVAILABLE}, {504, LG_CTL_EXIT_UNAVAILABLE},
        {400, LG_CTL_EXIT_FAIL},        {401, LG_CTL_EXIT_FAIL},
        {403, LG_CTL_EXIT_FAIL},        {413, LG_CTL_EXIT_FAIL},
        {500, LG_CTL_EXIT_FAIL},        {301, LG_CTL_EXIT_FAIL},
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++)
        assert_int_equal(lg_ctl_exit_of_http(cases[i].http_status), cases[i].exit);
}

static void test_exit_statuses_are_distinct_and_listed_in_help(void **state)
{
    struct capture c;
    char *help, line[160];

    (void)state;
    assert_int_equal(LG_CTL_EXIT_OK, 0);
    assert_int_equal(LG_CTL_EXIT_FAIL, 1);
    assert_int_equal(LG_CTL_EXIT_USAGE, 2);
    assert_int_equal(LG_CTL_EXIT_NOT_FOUND, 3);
    assert_int_equal(LG_CTL_EXIT_CONFLICT, 4);
    assert_int_equal(LG_CTL_EXIT_UNAVAILABLE, 5);
    assert_null(lg_ctl_exit_meaning((lg_ctl_exit_t)6));
    capture_begin(&c);
    lg_ctl_commands_print_help(stdout);
    help = capture_end(&c);
    for (int status = LG_CTL_EXIT_OK; status <= LG_CTL_EXIT_UNAVAILABLE; status++) {
        const char *meaning = lg_ctl_exit_meaning((lg_ctl_exit_t)status);

        assert_non_null(meaning);
        for (int other = LG_CTL_EXIT_OK; other < status; other++)
            assert_string_not_equal(lg_ctl_exit_meaning((lg_ctl_exit_t)other), meaning);
        snprintf(line, sizeof(line), "\n  %d  %s\n", status, meaning);
        assert_non_null(strstr(help, line));
    }
    free(help);
}

/* Runs lg_ctl_print_problem with --json on and off; returns stdout, sets *exit. */
static char *printed_problem(bool is_json, int http_status, const char *body, int *exit)
{
    struct capture c;

    capture_begin(&c);
    *exit = (int)lg_ctl_print_problem(is_json, true, http_status, body, strlen(body));
    return capture_end(&c);
}

static void test_daemon_problem_is_printed_as_sent_with_json(void **state)
{
    const char *sent = "{\"title\":\"Not Found\",\"status\":404,\"detail\":\"node n9 not found\","
                       "\"cause\":\"RESOURCE_NOT_FOUND\"}";
    char *body = lg_xmalloc(strlen(sent) + 2);
    char *out;
    int exit;

    (void)state;
    snprintf(body, strlen(sent) + 2, "%s\n", sent);
    out = printed_problem(true, 404, body, &exit);
    assert_int_equal(exit, LG_CTL_EXIT_NOT_FOUND);
    assert_int_equal(strlen(out), strlen(sent) + 1);
    assert_int_equal(strncmp(out, sent, strlen(sent)), 0);
    free(out);
    out = printed_problem(false, 409, body, &exit);
    assert_int_equal(exit, LG_CTL_EXIT_CONFLICT);
    assert_string_equal(out, ""); /* without --json, errors go to stderr only */
    free(out);
    free(body);
}

static void test_non_json_error_body_becomes_a_problem(void **state)
{
    char *out;
    json_t *doc;
    int exit;

    (void)state;
    out = printed_problem(true, 502, "bad gateway\xff", &exit);
    assert_int_equal(exit, LG_CTL_EXIT_UNAVAILABLE);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 502);
    assert_string_equal(json_string_value(json_object_get(doc, "detail")), "bad gateway?");
    assert_non_null(json_object_get(doc, "title"));
    assert_null(json_object_get(doc, "cause"));
    json_decref(doc);
    free(out);
}

static void test_local_errors_are_problems_with_json(void **state)
{
    static const struct {
        lg_ctl_exit_t exit;
        int http_status;
        const char *cause;
    } cases[] = {
        {LG_CTL_EXIT_USAGE, 400, "INVALID_USAGE"},
        {LG_CTL_EXIT_FAIL, 500, "LOCAL_ERROR"},
        {LG_CTL_EXIT_UNAVAILABLE, 503, "DAEMON_UNREACHABLE"},
    };
    struct capture c;
    json_t *doc;
    char *out;

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_ctl_exit_set_json(true);
        capture_begin(&c);
        assert_int_equal(lg_ctl_exit_report(cases[i].exit, "cannot open %s", "caf\xe9.csv"),
                         cases[i].exit);
        out = capture_end(&c);
        doc = json_loads(out, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(json_integer_value(json_object_get(doc, "status")), cases[i].http_status);
        assert_string_equal(json_string_value(json_object_get(doc, "cause")), cases[i].cause);
        assert_string_equal(json_string_value(json_object_get(doc, "detail")),
                            "cannot open caf?.csv");
        json_decref(doc);
        free(out);

        lg_ctl_exit_set_json(false);
        capture_begin(&c);
        lg_ctl_exit_report(cases[i].exit, "quiet");
        out = capture_end(&c);
        assert_string_equal(out, "");
        free(out);
    }
}

/* main's order: --json is looked for first, then the command line is split and resolved. */
static void test_usage_error_exits_2_with_a_problem_on_stdout(void **state)
{
    char *argv[] = {"locguardctl", "--json", "node", "frob", NULL};
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv;
    struct capture c;
    json_t *doc;
    char *out;

    (void)state;
    capture_begin(&c);
    lg_ctl_exit_set_json(lg_ctl_argv_wants_json(4, argv));
    assert_int_equal(parse(argv, &cl, &inv), LG_CTL_EXIT_USAGE);
    out = capture_end(&c);
    lg_ctl_exit_set_json(false);
    lg_ctl_argv_cleanup(&cl);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "cause")), "INVALID_USAGE");
    json_decref(doc);
    free(out);
}

/*
 * A usage error about a command prints that command's synopsis: the same
 * lines --help prints for its words, and no other command's. Every command
 * is found again by its words.
 */
static void test_each_command_has_its_own_synopsis(void **state)
{
    const lg_ctl_command_t *(*const tables[])(size_t *) = {lg_ctl_provision_commands,
                                                           lg_ctl_monitoring_commands};

    (void)state;
    for (size_t t = 0; t < LG_ARRAY_SIZE(tables); t++) {
        size_t n;
        const lg_ctl_command_t *cmds = tables[t](&n);

        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            struct capture c;
            char *own, *listed;

            assert_ptr_equal(lg_ctl_commands_find(cmds[i].group, cmds[i].verb), &cmds[i]);
            capture_begin(&c);
            lg_ctl_command_print_synopsis(stdout, &cmds[i]);
            own = capture_end(&c);
            capture_begin(&c);
            lg_ctl_commands_print_synopses(stdout, cmds[i].group, cmds[i].verb);
            listed = capture_end(&c);
            assert_string_equal(own, listed);
            free(own);
            free(listed);
        }
    }
}

static void test_json_is_seen_before_the_command_line_is_checked(void **state)
{
    static char *yes[][6] = {
        {"locguardctl", "--json", "--bogus", NULL},
        {"locguardctl", "--bogus", "--json", NULL},
        {"locguardctl", "--url", "http://x", "node", "--json", NULL},
    };
    static char *no[][6] = {
        {"locguardctl", "node", "list", NULL},
        {"locguardctl", "--name", "--json", NULL}, /* the value of --name */
        {"locguardctl", "--", "--json", NULL},     /* a word after "--" */
    };

    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(yes); i++) {
        int argc = 0;

        while (yes[i][argc] != NULL)
            argc++;
        assert_true(lg_ctl_argv_wants_json(argc, yes[i]));
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(no); i++) {
        int argc = 0;

        while (no[i][argc] != NULL)
            argc++;
        assert_false(lg_ctl_argv_wants_json(argc, no[i]));
    }
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
        cmocka_unit_test(test_scs_add_puts_every_given_field),
        cmocka_unit_test(test_scs_add_minimal_denies_private_destinations),
        cmocka_unit_test(test_malformed_webhook_secrets_are_usage_errors),
        cmocka_unit_test(test_client_add_collects_repeated_scopes_once_each),
        cmocka_unit_test(test_new_client_secret_is_shown_once_in_both_output_modes),
        cmocka_unit_test(test_area_counts_permission_is_a_put_of_allowed),
        cmocka_unit_test(test_only_scope_may_be_repeated),
        cmocka_unit_test(test_group_commands_encode_ids_and_take_three_words),
        cmocka_unit_test(test_grant_names_exactly_one_target),
        cmocka_unit_test(test_scs_filter_becomes_scs_as_id_query),
        cmocka_unit_test(test_consent_commands_put_the_device_in_the_path),
        cmocka_unit_test(test_remove_and_list_commands_map_to_their_routes),
        cmocka_unit_test(test_count_geojson_posts_the_geometry_as_area),
        cmocka_unit_test(test_count_geojson_takes_a_features_geometry),
        cmocka_unit_test(test_count_geojson_refuses_other_geometries_and_bad_json),
        cmocka_unit_test(test_count_circle_becomes_a_camara_circle),
        cmocka_unit_test(test_count_needs_exactly_one_well_formed_area),
        cmocka_unit_test(test_http_status_maps_to_exit_status),
        cmocka_unit_test(test_exit_statuses_are_distinct_and_listed_in_help),
        cmocka_unit_test(test_daemon_problem_is_printed_as_sent_with_json),
        cmocka_unit_test(test_non_json_error_body_becomes_a_problem),
        cmocka_unit_test(test_local_errors_are_problems_with_json),
        cmocka_unit_test(test_usage_error_exits_2_with_a_problem_on_stdout),
        cmocka_unit_test(test_json_is_seen_before_the_command_line_is_checked),
        cmocka_unit_test(test_each_command_has_its_own_synopsis),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
