/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's command line: options and words out of argv, the command
 * they name, its arguments, and the option values checked before anything
 * is sent.
 */
#ifndef LOCGUARD_CTL_ARGV_H
#define LOCGUARD_CTL_ARGV_H

#include "locguard/ctl/command.h"
#include "locguard/ctl/exit.h"

#include <stdbool.h>
#include <stddef.h>

/* Options and words pulled out of argv before the command is known. */
typedef struct lg_ctl_cmdline {
    const char *url;        /* --url, NULL when not given */
    const char *token_file; /* --token-file, NULL when not given */
    bool is_json;           /* --json */
    bool wants_help;        /* --help or -h */
    const char **words;     /* positionals, in order (argc entries) */
    size_t nwords;
    const char **opt_names; /* command options in order (argc entries) */
    const char **opt_vals;  /* their values; flags get "" */
    size_t nopts;
} lg_ctl_cmdline_t;

/* Sets up cl (zeroed) for a command line of argc words; lg_ctl_argv_cleanup frees it. */
void lg_ctl_argv_init(lg_ctl_cmdline_t *cl, int argc);

/* Frees what lg_ctl_argv_init allocated; the strings are argv's. */
void lg_ctl_argv_cleanup(lg_ctl_cmdline_t *cl);

/*
 * Returns whether argv asks for --json, looking at it the way
 * lg_ctl_argv_split will (a value option's value is skipped; "--" ends
 * options), so that the errors lg_ctl_argv_split itself finds are printed
 * in the right form.
 */
bool lg_ctl_argv_wants_json(int argc, char **argv);

/*
 * Splits argv (argv[0] the program) into global options, command options
 * and words, into cl (see lg_ctl_argv_init). Options may come anywhere;
 * "--" ends them. Returns LG_CTL_EXIT_OK, or LG_CTL_EXIT_USAGE after
 * printing why (an unknown option, a missing or unexpected value).
 */
lg_ctl_exit_t lg_ctl_argv_split(int argc, char **argv, lg_ctl_cmdline_t *cl);

/*
 * Resolves the words and options of cl (at least one word) into inv
 * (zeroed by the caller): the command, its arguments, its option values,
 * each checked (see lg_ctl_argv_check_value), and --json. Returns
 * LG_CTL_EXIT_OK, or LG_CTL_EXIT_USAGE after printing why.
 */
lg_ctl_exit_t lg_ctl_argv_resolve(const lg_ctl_cmdline_t *cl, lg_ctl_invocation_t *inv);

/*
 * Checks the value of option name against the rules that need no daemon:
 * its choices, a positive --limit, RFC 3339 times, webhook secrets
 * ("whsec_" and padded base64), OAuth2 scope tokens, no empty value.
 * Returns NULL when it passes, else what the value must be.
 */
const char *lg_ctl_argv_check_value(const char *name, const char *value);

#endif
