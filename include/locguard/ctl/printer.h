/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's output: the daemon's answers as aligned tables or key/value
 * lines, as they were sent with --json, and its errors (ProblemDetails) on
 * stderr and, with --json, on stdout.
 */
#ifndef LOCGUARD_CTL_PRINTER_H
#define LOCGUARD_CTL_PRINTER_H

#include "locguard/ctl/exit.h"

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

/* Prints a successful JSON answer in human form. */
typedef void (*lg_ctl_print_cb)(json_t *doc);

/* A table column: its header and '|'-separated alternative keys, each a dotted path. */
typedef struct lg_ctl_column {
    const char *header;
    const char *keys;
} lg_ctl_column_t;

/* Takes the contents of b (left empty) as a malloc'd NUL-terminated string. */
char *lg_ctl_print_drain_text(struct evbuffer *b);

/*
 * Renders a JSON value as table text: "-" for missing or null, yes/no for
 * booleans, a list of scalars joined by ", ", control characters replaced by
 * '?' so the daemon cannot drive the terminal. Returns a malloc'd string.
 */
char *lg_ctl_print_value_text(const json_t *v);

/*
 * Returns the first of keys ("a|b.c": alternatives, each a dotted path)
 * present and non-null in obj, or NULL. The value is borrowed from obj.
 */
json_t *lg_ctl_print_find_value(json_t *obj, const char *keys);

/*
 * Finds the list in an answer: the answer itself when it is an array, else
 * its "items", else its first array-valued member. Returns NULL when there is
 * none; the list is borrowed from doc.
 */
json_t *lg_ctl_print_find_list(json_t *doc);

/* Turns a JSON key into a column header ("externalId" -> "EXTERNAL ID"); malloc'd. */
char *lg_ctl_print_header(const char *key);

/*
 * Prints a left-aligned table on stdout; cells is nrows x ncols (row 0 =
 * headers), all owned by the caller.
 */
void lg_ctl_print_cells(char **cells, size_t nrows, size_t ncols);

/* Prints items (an array of objects) as a table with the given columns. */
void lg_ctl_print_table(json_t *items, const lg_ctl_column_t *cols, size_t ncols);

/*
 * The print callbacks of the commands whose answer has no fixed shape:
 * lg_ctl_print_list prints a list with one column per scalar member, in
 * order of first appearance ("(none)" when empty); lg_ctl_print_object one
 * object as aligned "key  value" lines, nested objects flattened to dotted
 * keys ("ok" when empty); lg_ctl_print_geojson an area's geometry (or the
 * answer) as one line of GeoJSON, fit for `area add --geojson -`;
 * lg_ctl_print_compact the answer as one line of JSON.
 */
void lg_ctl_print_list(json_t *doc);
void lg_ctl_print_object(json_t *doc);
void lg_ctl_print_geojson(json_t *doc);
void lg_ctl_print_compact(json_t *doc);

/*
 * Prints the daemon's error answer (a ProblemDetails, or any body) to
 * stderr: its detail (or title, or a short text body) with the HTTP status,
 * then its invalidParams, and a hint when a 401 came without a token
 * (has_token false). With is_json, the body also goes to stdout on one line:
 * a JSON object as sent, anything else as a problem object whose detail is
 * the text. Returns the exit status of http_status.
 */
lg_ctl_exit_t lg_ctl_print_problem(bool is_json, bool has_token, int http_status, const char *text,
                                   size_t len);

/*
 * Prints a successful answer: "ok" when it is empty (or 204); with is_json,
 * or without a print callback, the text as sent; else what print makes of
 * the parsed JSON (the text as sent when it is not JSON). client_secret,
 * when not empty, is a secret the daemon never saw (a new OAuth2 client's):
 * it is added to an object answer as "clientSecret" in both forms, and
 * stderr says to store it now. Returns LG_CTL_EXIT_OK.
 */
lg_ctl_exit_t lg_ctl_print_answer(bool is_json, lg_ctl_print_cb print, const char *client_secret,
                                  int http_status, const char *text, size_t len);

#endif
