/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's exit statuses and how a failure is told. Every layer of the
 * CLI (option checks, body builders, the HTTP client, the printer) ends a
 * failure here: a "locguardctl: ..." line for people on stderr and, with
 * --json, one problem object on stdout in the shape of the daemon's
 * ProblemDetails, whose cause names the local kind of error. The table below
 * is the one place an exit status gets its --help line, its title and cause,
 * and the HTTP status it stands for.
 */
#include "locguard/ctl/exit.h"

#include <stdlib.h>
#include <string.h>

/* How each exit status is shown: in --help, and in --json problems made here. */
static const struct {
    lg_ctl_exit_t status;
    int http_status; /* the HTTP status a local error of this kind stands for */
    const char *title;
    const char *cause;   /* "cause" of a problem object made locally */
    const char *meaning; /* the --help line */
} exit_statuses[] = {
    {LG_CTL_EXIT_OK, 200, "OK", NULL, "success"},
    {LG_CTL_EXIT_FAIL, 500, "Error", "LOCAL_ERROR",
     "other error (invalid input, authentication, an unreadable file)"},
    {LG_CTL_EXIT_USAGE, 400, "Bad Request", "INVALID_USAGE", "bad command line; nothing was sent"},
    {LG_CTL_EXIT_NOT_FOUND, 404, "Not Found", "RESOURCE_NOT_FOUND", "not found (HTTP 404)"},
    {LG_CTL_EXIT_CONFLICT, 409, "Conflict", "RESOURCE_CONFLICT",
     "conflict (HTTP 409: exists with other values, or in use)"},
    {LG_CTL_EXIT_UNAVAILABLE, 503, "Service Unavailable", "DAEMON_UNREACHABLE",
     "unavailable: daemon unreachable, HTTP 502/503/504/429, database down"},
};

/*
 * Whether errors are also printed as JSON problem objects on stdout (--json).
 * Set once by main before anything can fail; read by the error printers,
 * which every layer calls (option checks, body builders, the HTTP call)
 * without a context to carry it.
 */
static bool errors_as_json;

/* Returns the row of exit_statuses describing status (LG_CTL_EXIT_FAIL's for an unknown one). */
static size_t exit_row(lg_ctl_exit_t status)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(exit_statuses); i++)
        if (exit_statuses[i].status == status)
            return i;
    return 1;
}

const char *lg_ctl_exit_meaning(lg_ctl_exit_t status)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(exit_statuses); i++)
        if (exit_statuses[i].status == status)
            return exit_statuses[i].meaning;
    return NULL;
}

void lg_ctl_exit_print_list(FILE *f)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(exit_statuses); i++)
        fprintf(f, "  %d  %s\n", (int)exit_statuses[i].status, exit_statuses[i].meaning);
}

lg_ctl_exit_t lg_ctl_exit_of_http(int http_status)
{
    if (http_status >= 200 && http_status <= 299)
        return LG_CTL_EXIT_OK;
    switch (http_status) {
    case 0:
    case 429:
    case 502:
    case 503:
    case 504:
        return LG_CTL_EXIT_UNAVAILABLE;
    case 404:
        return LG_CTL_EXIT_NOT_FOUND;
    case 409:
        return LG_CTL_EXIT_CONFLICT;
    default:
        return LG_CTL_EXIT_FAIL;
    }
}

void lg_ctl_exit_set_json(bool is_json)
{
    errors_as_json = is_json;
}

json_t *lg_ctl_exit_problem(lg_ctl_exit_t status, const char *detail)
{
    size_t row = exit_row(status);
    json_t *doc = json_object();
    json_t *text = json_string(detail);

    if (text == NULL) {
        /* Not UTF-8 (a file name from the command line): keep its ASCII part. */
        char *ascii = lg_xstrdup(detail);

        for (char *c = ascii; *c != '\0'; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
        text = json_string(ascii);
        free(ascii);
    }
    if (doc == NULL || text == NULL)
        abort();
    json_object_set_new(doc, "title", json_string(exit_statuses[row].title));
    json_object_set_new(doc, "status", json_integer(exit_statuses[row].http_status));
    json_object_set_new(doc, "detail", text);
    if (exit_statuses[row].cause != NULL)
        json_object_set_new(doc, "cause", json_string(exit_statuses[row].cause));
    return doc;
}

void lg_ctl_exit_put_json_line(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);

    if (text == NULL)
        abort();
    puts(text);
    free(text);
}

lg_ctl_exit_t lg_ctl_exit_vreport(lg_ctl_exit_t status, const char *fmt, va_list ap)
{
    char msg[1024];
    json_t *doc;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "locguardctl: %s\n", msg);
    if (errors_as_json) {
        doc = lg_ctl_exit_problem(status, msg);
        lg_ctl_exit_put_json_line(doc);
        json_decref(doc);
    }
    return status;
}

lg_ctl_exit_t lg_ctl_exit_report(lg_ctl_exit_t status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lg_ctl_exit_vreport(status, fmt, ap);
    va_end(ap);
    return status;
}

lg_ctl_exit_t lg_ctl_exit_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lg_ctl_exit_vreport(LG_CTL_EXIT_USAGE, fmt, ap);
    va_end(ap);
    fputs("try 'locguardctl --help'\n", stderr);
    return LG_CTL_EXIT_USAGE;
}
