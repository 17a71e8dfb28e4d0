/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's command table as a whole: finding a command by its words,
 * and the help texts that list them.
 */
#ifndef LOCGUARD_CTL_COMMANDS_H
#define LOCGUARD_CTL_COMMANDS_H

#include "locguard/ctl/command.h"
#include "locguard/ctl/exit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Returns whether some command's first word is group. */
bool lg_ctl_commands_group_exists(const char *group);

/* Returns whether some command has this first word and a verb (a second word). */
bool lg_ctl_commands_group_has_verbs(const char *group);

/*
 * Returns whether some command of group has verb as its verb, or as the
 * first word of its two-word verb ("member" for "member add").
 */
bool lg_ctl_commands_verb_exists(const char *group, const char *verb);

/* Returns the command for group and verb (NULL for one-word commands), or NULL. */
const lg_ctl_command_t *lg_ctl_commands_find(const char *group, const char *verb);

/*
 * Prints the synopses of the commands of group (NULL: all) whose verb is
 * verb or starts with it (NULL: any), in table order.
 */
void lg_ctl_commands_print_synopses(FILE *f, const char *group, const char *verb);

/* Prints the full --help text: usage, global options, commands, exit statuses. */
void lg_ctl_commands_print_help(FILE *f);

/*
 * Handles "help [GROUP [VERB]]" and --help, words being what follows "help"
 * (or the command line's words with --help). Returns LG_CTL_EXIT_OK, or
 * LG_CTL_EXIT_USAGE after printing why when no command has those words.
 */
lg_ctl_exit_t lg_ctl_commands_help(const char *const *words, size_t nwords);

#endif
