/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl: the operator CLI over the daemon's admin zone. It turns one
 * command line into one (or, for `health`, two) plain HTTP/1.1 requests to
 * the admin API on loopback, authenticated with the bearer token read from
 * --token-file, and prints the answer as an aligned table (or the raw JSON
 * with --json). main only wires the modules: the command line (argv.c)
 * resolved against the command table (commands.c), the client to the admin
 * zone (client.c), the command run (command.c) and printed (printer.c). Its
 * return value is the exit status (exit.h): 0 success, 1 any other error,
 * 2 a bad command line, 3 not found, 4 conflict, 5 unavailable.
 */
#include "locguard/core/version.h"
#include "locguard/ctl/argv.h"
#include "locguard/ctl/client.h"
#include "locguard/ctl/command.h"
#include "locguard/ctl/commands.h"
#include "locguard/ctl/exit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    lg_ctl_client_t *client = NULL;
    lg_ctl_cmdline_t cl;
    lg_ctl_invocation_t inv = {0};
    const char *url, *token_file;
    lg_ctl_exit_t status;

    /* The same version as the daemon's: include/locguard/core/version.h. */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("locguardctl " LG_VERSION);
        return 0;
    }
    /* A closed pipe (locguardctl ... | head) must not kill us mid-write. */
    signal(SIGPIPE, SIG_IGN);
    lg_ctl_argv_init(&cl, argc);
    lg_ctl_exit_set_json(lg_ctl_argv_wants_json(argc, argv));
    status = lg_ctl_argv_split(argc, argv, &cl);
    if (status != LG_CTL_EXIT_OK)
        goto done;
    if (cl.nwords > 0 && strcmp(cl.words[0], "help") == 0) {
        status = lg_ctl_commands_help(cl.words + 1, cl.nwords - 1);
        goto done;
    }
    if (cl.wants_help) {
        status = lg_ctl_commands_help(cl.words, cl.nwords);
        goto done;
    }
    if (cl.nwords == 0) {
        lg_ctl_commands_print_help(stderr);
        status = lg_ctl_exit_report(LG_CTL_EXIT_USAGE, "no command given");
        goto done;
    }
    status = lg_ctl_argv_resolve(&cl, &inv);
    if (status != LG_CTL_EXIT_OK)
        goto done;

    url = cl.url != NULL ? cl.url : getenv("LOCGUARD_ADMIN_URL");
    if (url == NULL || url[0] == '\0')
        url = LG_CTL_DEFAULT_URL;
    token_file = cl.token_file != NULL ? cl.token_file : getenv("LOCGUARD_ADMIN_TOKEN_FILE");
    status = lg_ctl_client_open(url, token_file, &client);
    if (status != LG_CTL_EXIT_OK)
        goto done;
    status = lg_ctl_command_run(client, &inv);
    if (fflush(stdout) != 0 && status == LG_CTL_EXIT_OK)
        status = LG_CTL_EXIT_FAIL;
done:
    lg_ctl_client_free(client);
    lg_ctl_argv_cleanup(&cl);
    return (int)status;
}
