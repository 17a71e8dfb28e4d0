/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's command table as a whole: the rows of provision.c then those
 * of monitoring.c, in the order --help lists them. A command is found by its
 * words: a group ("node"), a verb ("add") unless the group has none, and for
 * three-word commands a two-word verb ("group member add"). The help texts
 * are made from the rows' synopses, so they cannot drift from the table.
 */
#include "locguard/ctl/commands.h"

#include "locguard/ctl/client.h"
#include "locguard/ctl/monitoring.h"
#include "locguard/ctl/provision.h"

#include <string.h>

/* Returns the i-th command of the whole table, or NULL past its end. */
static const lg_ctl_command_t *command_at(size_t i)
{
    size_t n_provision, n_monitoring;
    const lg_ctl_command_t *provision = lg_ctl_provision_commands(&n_provision);
    const lg_ctl_command_t *monitoring = lg_ctl_monitoring_commands(&n_monitoring);

    if (i < n_provision)
        return &provision[i];
    if (i - n_provision < n_monitoring)
        return &monitoring[i - n_provision];
    return NULL;
}

/*
 * Returns whether a command's verb is verb, or starts with verb and a space
 * ("member" names the "member add" and "member remove" commands).
 */
static bool verb_matches(const char *cmd_verb, const char *verb)
{
    size_t n = strlen(verb);

    return cmd_verb != NULL && strncmp(cmd_verb, verb, n) == 0 &&
           (cmd_verb[n] == '\0' || cmd_verb[n] == ' ');
}

bool lg_ctl_commands_group_exists(const char *group)
{
    const lg_ctl_command_t *c;

    for (size_t i = 0; (c = command_at(i)) != NULL; i++)
        if (strcmp(c->group, group) == 0)
            return true;
    return false;
}

bool lg_ctl_commands_group_has_verbs(const char *group)
{
    const lg_ctl_command_t *c;

    for (size_t i = 0; (c = command_at(i)) != NULL; i++)
        if (strcmp(c->group, group) == 0 && c->verb != NULL)
            return true;
    return false;
}

bool lg_ctl_commands_verb_exists(const char *group, const char *verb)
{
    const lg_ctl_command_t *c;

    for (size_t i = 0; (c = command_at(i)) != NULL; i++)
        if (strcmp(c->group, group) == 0 && verb_matches(c->verb, verb))
            return true;
    return false;
}

const lg_ctl_command_t *lg_ctl_commands_find(const char *group, const char *verb)
{
    const lg_ctl_command_t *c;

    for (size_t i = 0; (c = command_at(i)) != NULL; i++) {
        if (strcmp(c->group, group) != 0)
            continue;
        if ((c->verb == NULL) != (verb == NULL))
            continue;
        if (verb == NULL || strcmp(c->verb, verb) == 0)
            return c;
    }
    return NULL;
}

void lg_ctl_commands_print_synopses(FILE *f, const char *group, const char *verb)
{
    const lg_ctl_command_t *c;

    for (size_t i = 0; (c = command_at(i)) != NULL; i++) {
        if (group != NULL && strcmp(c->group, group) != 0)
            continue;
        if (verb != NULL && !verb_matches(c->verb, verb))
            continue;
        lg_ctl_command_print_synopsis(f, c);
    }
}

void lg_ctl_commands_print_help(FILE *f)
{
    fputs("usage: locguardctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGS]\n"
          "       locguardctl help [COMMAND]\n"
          "\n"
          "Operator CLI over the locguard admin API.\n"
          "\n"
          "  --url URL          admin API (default $LOCGUARD_ADMIN_URL, else " LG_CTL_DEFAULT_URL
          ")\n"
          "  --token-file FILE  file holding the admin bearer token\n"
          "                     (default $LOCGUARD_ADMIN_TOKEN_FILE)\n"
          "  --json             print the daemon's JSON instead of tables\n"
          "  --help             this text\n"
          "\n"
          "commands:\n",
          f);
    lg_ctl_commands_print_synopses(f, NULL, NULL);
    fputs("\nexit status:\n", f);
    lg_ctl_exit_print_list(f);
    fputs("\nWith --json, an error is also printed on stdout as one JSON problem object:\n"
          "the daemon's ProblemDetails as sent, or {title, status, detail, cause} made\n"
          "here (cause INVALID_USAGE, LOCAL_ERROR or DAEMON_UNREACHABLE). The message\n"
          "for people goes to stderr either way.\n",
          f);
}

lg_ctl_exit_t lg_ctl_commands_help(const char *const *words, size_t nwords)
{
    const char *group = nwords > 0 ? words[0] : NULL;
    const char *verb = nwords > 1 ? words[1] : NULL;

    if (group == NULL) {
        lg_ctl_commands_print_help(stdout);
        return LG_CTL_EXIT_OK;
    }
    if (!lg_ctl_commands_group_exists(group) ||
        (verb != NULL && !lg_ctl_commands_verb_exists(group, verb)))
        return lg_ctl_exit_usage_error("no command '%s%s%s'", group, verb != NULL ? " " : "",
                                       verb != NULL ? verb : "");
    printf("usage:\n");
    lg_ctl_commands_print_synopses(stdout, group, verb);
    return LG_CTL_EXIT_OK;
}
