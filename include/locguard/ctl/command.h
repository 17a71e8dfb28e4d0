/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a locguardctl command is (a row of the command table: words, options,
 * method, path template, body builder, printer), the options commands take,
 * and how one parsed command line is turned into a request, sent and its
 * answer printed. The rows themselves are in provision.c and monitoring.c;
 * the whole table in commands.c.
 */
#ifndef LOCGUARD_CTL_COMMAND_H
#define LOCGUARD_CTL_COMMAND_H

#include "locguard/core/common.h"
#include "locguard/ctl/client.h"
#include "locguard/ctl/exit.h"
#include "locguard/ctl/printer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <event2/http.h>
#include <jansson.h>

#define LG_CTL_MAX_ARGS     2  /* positional arguments of a command */
#define LG_CTL_MAX_CMD_OPTS 6  /* options of a command */
#define LG_CTL_MAX_REPEATS  16 /* values of one repeatable option (--scope) */

typedef struct lg_ctl_command lg_ctl_command_t;

/* A parsed command line: the command, its positionals, its option values. */
typedef struct lg_ctl_invocation {
    const lg_ctl_command_t *cmd;
    const char *args[LG_CTL_MAX_ARGS];
    const char *opt_values[LG_CTL_MAX_CMD_OPTS]; /* indexed like cmd->opts; flags get "" */
    const char *repeats[LG_CTL_MAX_REPEATS];     /* the repeatable option's values, in order */
    size_t n_repeats;
    bool is_json; /* --json: print the daemon's JSON instead of tables */
} lg_ctl_invocation_t;

/* A request body built by a command's body builder; data is owned and wiped after sending. */
typedef struct lg_ctl_body {
    char *data;
    size_t len;
    const char *content_type;
    /*
     * A secret the daemon never sees, shown once with the answer as
     * "clientSecret" (client add makes it and sends only its hash); empty
     * when none. Wiped after printing.
     */
    char client_secret[64];
} lg_ctl_body_t;

/*
 * Builds a request body into out (zeroed by the caller). Returns
 * LG_CTL_EXIT_OK, or the exit status to stop with after printing why.
 */
typedef lg_ctl_exit_t (*lg_ctl_body_cb)(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out);

/* Runs a command that does not fit the one-request pattern; returns the exit status. */
typedef lg_ctl_exit_t (*lg_ctl_run_cb)(lg_ctl_client_t *client, const lg_ctl_invocation_t *inv);

/*
 * One CLI command. opts lists option names without dashes; a trailing '!'
 * marks a required option. In path, "{1}" is the first positional and
 * "{name}" the value of option --name, both percent-encoded as one segment.
 * For GET commands every given value option becomes a query parameter.
 */
struct lg_ctl_command {
    const char *group; /* first word */
    const char *verb;  /* second word ("member add": two words), NULL for one-word commands */
    int nargs;         /* positional arguments after the words */
    const char *opts[LG_CTL_MAX_CMD_OPTS];
    enum evhttp_cmd_type method;
    const char *path;
    lg_ctl_body_cb build;  /* NULL: no body */
    lg_ctl_print_cb print; /* NULL: the answer is text, printed as is */
    lg_ctl_run_cb run;     /* overrides method/path/build/print when set */
    const char *synopsis;
    const char *summary;
};

/* An option of the command line. */
typedef struct lg_ctl_option {
    const char *name;       /* without dashes */
    bool has_value;         /* --name VALUE or --name=VALUE; else a flag */
    const char *choices;    /* '|'-separated allowed values, NULL for any */
    bool is_repeatable;     /* may be given more than once; its values are collected in order */
    const char *query_name; /* its query parameter in a GET, NULL when the option's name */
} lg_ctl_option_t;

/* Returns the option called name (global or a command's), or NULL. */
const lg_ctl_option_t *lg_ctl_command_find_option(const char *name);

/* Returns whether a command's option entry ("kind!") names option name ("kind"). */
bool lg_ctl_command_opt_matches(const char *entry, const char *name);

/* Returns the value of option name in inv (flags: ""), or NULL when not given. */
const char *lg_ctl_command_opt(const lg_ctl_invocation_t *inv, const char *name);

/* Prints a command's synopsis and summary, as --help lists them. */
void lg_ctl_command_print_synopsis(FILE *f, const lg_ctl_command_t *cmd);

/*
 * Reports a usage error (LG_CTL_EXIT_USAGE, see lg_ctl_exit_report) about
 * cmd, then prints cmd's synopsis on stderr. Returns LG_CTL_EXIT_USAGE.
 */
LG_PRINTF(2, 3)
lg_ctl_exit_t lg_ctl_command_usage_error(const lg_ctl_command_t *cmd, const char *fmt, ...);

/*
 * Expands inv's path template into a request path with percent-encoded
 * segments and, for GETs, a query string. Returns a malloc'd string, or NULL
 * after printing a usage error when a segment is empty, "." or "..".
 */
char *lg_ctl_command_path(const lg_ctl_invocation_t *inv);

/* Sets out's data to doc serialized (doc is stolen), as application/json. */
void lg_ctl_command_set_json_body(lg_ctl_body_t *out, json_t *doc);

/*
 * Reads a whole file (or stdin for "-") into a malloc'd NUL-terminated
 * buffer of at most 64 MiB, setting *out_len. Returns NULL after printing why.
 */
char *lg_ctl_command_read_input(const char *file, size_t *out_len);

/*
 * Sets out to {member: geometry} from file ("-" = stdin): a GeoJSON Polygon
 * or MultiPolygon, or a Feature whose geometry is one. Returns
 * LG_CTL_EXIT_OK, or LG_CTL_EXIT_FAIL after printing why.
 */
lg_ctl_exit_t lg_ctl_command_geojson_body(const char *file, const char *member, lg_ctl_body_t *out);

/*
 * Runs inv's command against the daemon: its run callback when it has one;
 * else its path and body, one request, and the answer printed (or the
 * problem, see lg_ctl_print_problem). Returns the exit status.
 */
lg_ctl_exit_t lg_ctl_command_run(lg_ctl_client_t *client, const lg_ctl_invocation_t *inv);

#endif
