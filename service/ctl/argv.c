/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's command line. argv is split first into global options
 * (--url, --token-file, --json, --help), the command's options and words,
 * options anywhere; then the words are resolved against the command table
 * (commands.c) into an invocation: the command, its positional arguments
 * and the values of its options. Every rule that needs no daemon is checked
 * here, so a bad command line exits 2 and sends nothing.
 */
#include "locguard/ctl/argv.h"

#include "locguard/core/common.h"
#include "locguard/core/timefmt.h"
#include "locguard/ctl/commands.h"
#include "locguard/north/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lg_ctl_argv_init(lg_ctl_cmdline_t *cl, int argc)
{
    memset(cl, 0, sizeof(*cl));
    cl->words = lg_xcalloc((size_t)argc + 1, sizeof(*cl->words));
    cl->opt_names = lg_xcalloc((size_t)argc + 1, sizeof(*cl->opt_names));
    cl->opt_vals = lg_xcalloc((size_t)argc + 1, sizeof(*cl->opt_vals));
}

void lg_ctl_argv_cleanup(lg_ctl_cmdline_t *cl)
{
    free(cl->words);
    free(cl->opt_names);
    free(cl->opt_vals);
}

/* Returns whether word is one of the '|'-separated choices. */
static bool is_choice(const char *choices, const char *word)
{
    size_t n = strlen(word);
    const char *p = choices;

    while (*p != '\0') {
        const char *end = strchr(p, '|');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (len == n && strncmp(p, word, n) == 0)
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

/* Parses a positive decimal integer that fits an int. */
static bool parse_positive(const char *s, long *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > INT_MAX)
        return false;
    *out = v;
    return true;
}

/*
 * Returns whether s is "whsec_" followed by a secret the daemon's signer
 * can use (lg_webhook_secret_is_valid: the one definition).
 */
static bool is_webhook_secret(const char *s)
{
    static const char prefix[] = "whsec_";

    return strncmp(s, prefix, sizeof(prefix) - 1) == 0 && lg_webhook_secret_is_valid(s);
}

/* Returns whether s is one RFC 6749 scope-token: printable ASCII but space, '"' and '\\'. */
static bool is_scope_token(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

const char *lg_ctl_argv_check_value(const char *name, const char *value)
{
    const lg_ctl_option_t *option = lg_ctl_command_find_option(name);
    long n;
    int64_t us;

    if (option != NULL && option->choices != NULL && !is_choice(option->choices, value))
        return option->choices;
    if (strcmp(name, "limit") == 0 && !parse_positive(value, &n))
        return "a positive integer";
    if ((strcmp(name, "since") == 0 || strcmp(name, "until") == 0) &&
        lg_time_parse(value, strlen(value), &us) != LG_OK)
        return "an RFC 3339 date-time such as 2026-01-31T12:00:00Z";
    if (strcmp(name, "expires") == 0 && lg_time_parse(value, strlen(value), &us) != LG_OK)
        return "an RFC 3339 date-time such as 2027-01-31T12:00:00Z";
    if ((strcmp(name, "secret") == 0 || strcmp(name, "previous-secret") == 0) &&
        !is_webhook_secret(value))
        return "whsec_ followed by base64 (Standard Webhooks), e.g. from "
               "'echo whsec_$(openssl rand -base64 32)'";
    if (strcmp(name, "scope") == 0 && !is_scope_token(value))
        return "one OAuth2 scope (no spaces or quotes)";
    if (value[0] == '\0')
        return "a non-empty value";
    return NULL;
}

lg_ctl_exit_t lg_ctl_argv_split(int argc, char **argv, lg_ctl_cmdline_t *cl)
{
    bool is_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const lg_ctl_option_t *option;
        const char *value = NULL;
        char name[32];
        const char *eq;
        size_t nlen;

        if (is_done || a[0] != '-' || strcmp(a, "-") == 0) {
            cl->words[cl->nwords++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            is_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            cl->wants_help = true;
            continue;
        }
        if (a[1] != '-')
            return lg_ctl_exit_usage_error("unknown option %s", a);
        eq = strchr(a + 2, '=');
        nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nlen >= sizeof(name))
            return lg_ctl_exit_usage_error("unknown option %s", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        option = lg_ctl_command_find_option(name);
        if (option == NULL)
            return lg_ctl_exit_usage_error("unknown option --%s", name);
        if (option->has_value) {
            if (eq != NULL)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return lg_ctl_exit_usage_error("--%s needs a value", name);
        } else if (eq != NULL) {
            return lg_ctl_exit_usage_error("--%s takes no value", name);
        }
        if (strcmp(name, "url") == 0)
            cl->url = value;
        else if (strcmp(name, "token-file") == 0)
            cl->token_file = value;
        else if (strcmp(name, "json") == 0)
            cl->is_json = true;
        else if (strcmp(name, "help") == 0)
            cl->wants_help = true;
        else {
            cl->opt_names[cl->nopts] = option->name;
            cl->opt_vals[cl->nopts++] = value != NULL ? value : "";
        }
    }
    return LG_CTL_EXIT_OK;
}

bool lg_ctl_argv_wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const lg_ctl_option_t *option;

        if (strcmp(a, "--") == 0)
            return false;
        if (strncmp(a, "--", 2) != 0 || strchr(a, '=') != NULL)
            continue;
        if (strcmp(a, "--json") == 0)
            return true;
        option = lg_ctl_command_find_option(a + 2);
        if (option != NULL && option->has_value)
            i++;
    }
    return false;
}

/* Finds the command cl's words name; sets *first_arg to the index of its first argument. */
static lg_ctl_exit_t find_command(const lg_ctl_cmdline_t *cl, const lg_ctl_command_t **out,
                                  size_t *first_arg)
{
    const char *group = cl->words[0];
    const char *verb = NULL;
    char long_verb[64];

    *first_arg = 1;
    if (!lg_ctl_commands_group_exists(group))
        return lg_ctl_exit_usage_error("unknown command '%s'", group);
    if (lg_ctl_commands_group_has_verbs(group)) {
        if (cl->nwords < 2) {
            lg_ctl_exit_report(LG_CTL_EXIT_USAGE, "'%s' needs a subcommand", group);
            lg_ctl_commands_print_synopses(stderr, group, NULL);
            return LG_CTL_EXIT_USAGE;
        }
        verb = cl->words[1];
        *first_arg = 2;
        if (cl->nwords >= 3) {
            /* Three-word commands ("group member add") have a two-word verb. */
            int n = snprintf(long_verb, sizeof(long_verb), "%s %s", cl->words[1], cl->words[2]);

            if (n > 0 && (size_t)n < sizeof(long_verb) &&
                lg_ctl_commands_find(group, long_verb) != NULL) {
                *first_arg = 3;
                *out = lg_ctl_commands_find(group, long_verb);
                return LG_CTL_EXIT_OK;
            }
        }
    }
    *out = lg_ctl_commands_find(group, verb);
    if (*out == NULL) {
        lg_ctl_exit_report(LG_CTL_EXIT_USAGE, "unknown command '%s %s'", group, verb);
        lg_ctl_commands_print_synopses(stderr, group, NULL);
        return LG_CTL_EXIT_USAGE;
    }
    return LG_CTL_EXIT_OK;
}

/* Sets inv's option values from cl's, each checked; the command is inv->cmd. */
static lg_ctl_exit_t take_options(const lg_ctl_cmdline_t *cl, lg_ctl_invocation_t *inv)
{
    const lg_ctl_command_t *cmd = inv->cmd;

    for (size_t o = 0; o < cl->nopts; o++) {
        const lg_ctl_option_t *option = lg_ctl_command_find_option(cl->opt_names[o]);
        const char *why;
        int idx = -1;

        for (int i = 0; i < LG_CTL_MAX_CMD_OPTS && cmd->opts[i] != NULL; i++)
            if (lg_ctl_command_opt_matches(cmd->opts[i], cl->opt_names[o]))
                idx = i;
        if (idx < 0)
            return lg_ctl_command_usage_error(cmd, "--%s does not apply here", cl->opt_names[o]);
        if (inv->opt_values[idx] != NULL && !option->is_repeatable)
            return lg_ctl_command_usage_error(cmd, "--%s given twice", cl->opt_names[o]);
        why = option->has_value ? lg_ctl_argv_check_value(cl->opt_names[o], cl->opt_vals[o]) : NULL;
        if (why != NULL)
            return lg_ctl_command_usage_error(cmd, "--%s must be %s", cl->opt_names[o], why);
        if (option->is_repeatable) {
            if (inv->n_repeats == LG_CTL_MAX_REPEATS)
                return lg_ctl_command_usage_error(cmd, "--%s given more than %d times",
                                                  cl->opt_names[o], LG_CTL_MAX_REPEATS);
            inv->repeats[inv->n_repeats++] = cl->opt_vals[o];
        }
        if (inv->opt_values[idx] == NULL)
            inv->opt_values[idx] = cl->opt_vals[o];
    }
    for (int i = 0; i < LG_CTL_MAX_CMD_OPTS && cmd->opts[i] != NULL; i++) {
        const char *entry = cmd->opts[i];
        size_t n = strlen(entry);

        if (entry[n - 1] == '!' && inv->opt_values[i] == NULL)
            return lg_ctl_command_usage_error(cmd, "--%.*s is required", (int)(n - 1), entry);
    }
    return LG_CTL_EXIT_OK;
}

lg_ctl_exit_t lg_ctl_argv_resolve(const lg_ctl_cmdline_t *cl, lg_ctl_invocation_t *inv)
{
    const lg_ctl_command_t *cmd = NULL;
    size_t first_arg, nargs;
    lg_ctl_exit_t status;

    status = find_command(cl, &cmd, &first_arg);
    if (status != LG_CTL_EXIT_OK)
        return status;
    inv->cmd = cmd;
    inv->is_json = cl->is_json;
    nargs = cl->nwords - first_arg;
    if (nargs != (size_t)cmd->nargs)
        return lg_ctl_command_usage_error(
            cmd, "'%s%s%s' takes %d argument%s, got %zu", cmd->group, cmd->verb != NULL ? " " : "",
            cmd->verb != NULL ? cmd->verb : "", cmd->nargs, cmd->nargs == 1 ? "" : "s", nargs);
    for (size_t i = 0; i < nargs; i++)
        inv->args[i] = cl->words[first_arg + i];
    return take_options(cl, inv);
}
