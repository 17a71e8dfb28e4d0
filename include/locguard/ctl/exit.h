/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's exit statuses and how a failure is told: a message for
 * people on stderr and, with --json, a problem object on stdout.
 */
#ifndef LOCGUARD_CTL_EXIT_H
#define LOCGUARD_CTL_EXIT_H

#include "locguard/core/common.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/*
 * Process exit statuses, one per kind of outcome a script may act on
 * differently (README "Admin zone and locguardctl").
 */
typedef enum lg_ctl_exit {
    LG_CTL_EXIT_OK = 0,          /* the daemon did it */
    LG_CTL_EXIT_FAIL = 1,        /* any other error: refused input, authentication, a file */
    LG_CTL_EXIT_USAGE = 2,       /* the command line is wrong; nothing was sent */
    LG_CTL_EXIT_NOT_FOUND = 3,   /* 404: the named node, device, area... does not exist */
    LG_CTL_EXIT_CONFLICT = 4,    /* 409: it exists differently, or something depends on it */
    LG_CTL_EXIT_UNAVAILABLE = 5, /* no answer, or 502/503/504/429: the daemon or database is down */
} lg_ctl_exit_t;

/*
 * Returns the --help line of an exit status ("success", ...), or NULL for a
 * value that is not one.
 */
const char *lg_ctl_exit_meaning(lg_ctl_exit_t status);

/* Prints the "exit status:" part of --help: one "  N  meaning" line per status. */
void lg_ctl_exit_print_list(FILE *f);

/*
 * Maps the HTTP status of the daemon's answer (0: no answer at all) to the
 * exit status: 2xx success, 404 not found, 409 conflict, no answer or a
 * retryable 429/502/503/504 unavailable, anything else a plain failure.
 */
lg_ctl_exit_t lg_ctl_exit_of_http(int http_status);

/*
 * Sets whether failures are also printed as JSON problem objects on stdout
 * (--json). main sets it once, before anything can fail.
 */
void lg_ctl_exit_set_json(bool is_json);

/*
 * Builds the problem object printed with --json for an error found by
 * locguardctl rather than by the daemon: the admin zone's ProblemDetails
 * shape (title, status, detail, cause), with the HTTP status this kind of
 * error stands for and a cause naming the local kind (INVALID_USAGE,
 * LOCAL_ERROR, DAEMON_UNREACHABLE...). detail need not be UTF-8: its other
 * bytes become '?'. Returns a new reference.
 */
json_t *lg_ctl_exit_problem(lg_ctl_exit_t status, const char *detail);

/* Prints doc compactly (ASCII only) on one line of stdout. */
void lg_ctl_exit_put_json_line(const json_t *doc);

/*
 * Prints "locguardctl: MESSAGE" to stderr and, with --json, the problem
 * object of MESSAGE on stdout. Returns status.
 */
lg_ctl_exit_t lg_ctl_exit_vreport(lg_ctl_exit_t status, const char *fmt, va_list ap);

/* lg_ctl_exit_vreport with variable arguments; returns status. */
LG_PRINTF(2, 3) lg_ctl_exit_t lg_ctl_exit_report(lg_ctl_exit_t status, const char *fmt, ...);

/*
 * Reports a bad command line that concerns no command in particular, then
 * points to --help on stderr. Returns LG_CTL_EXIT_USAGE.
 */
LG_PRINTF(1, 2) lg_ctl_exit_t lg_ctl_exit_usage_error(const char *fmt, ...);

/* Shorthands for the two kinds most call sites raise. */
#define lg_ctl_exit_failure(...)     lg_ctl_exit_report(LG_CTL_EXIT_FAIL, __VA_ARGS__)
#define lg_ctl_exit_unavailable(...) lg_ctl_exit_report(LG_CTL_EXIT_UNAVAILABLE, __VA_ARGS__)

#endif
