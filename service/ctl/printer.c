/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's output. A successful answer is printed by the command's
 * print callback (a table with fixed columns, a list with a column per
 * member, an object as key/value lines, GeoJSON) or, with --json, as the
 * daemon sent it. An error answer is told on stderr from its ProblemDetails
 * and, with --json, put on stdout as one JSON object. Every text that came
 * from the daemon has its control characters replaced before it reaches the
 * terminal. Nothing here sends anything: the answers come from the client
 * (client.c), already read.
 */
#include "locguard/ctl/printer.h"

#include "locguard/core/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

char *lg_ctl_print_drain_text(struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    char *s = lg_xmalloc(len + 1);

    evbuffer_remove(b, s, len);
    s[len] = '\0';
    return s;
}

/* Appends s to b, replacing control characters so the daemon cannot drive the terminal. */
static void add_printable(struct evbuffer *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char c = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;

        evbuffer_add(b, &c, 1);
    }
}

/* Returns whether every element of the array v is a string or a number. */
static bool is_scalar_array(const json_t *v)
{
    size_t i;
    json_t *item;

    json_array_foreach(v, i, item) if (!json_is_string(item) && !json_is_number(item)) return false;
    return true;
}

char *lg_ctl_print_value_text(const json_t *v)
{
    struct evbuffer *b;
    char *s;

    if (v == NULL || json_is_null(v))
        return lg_xstrdup("-");
    if (json_is_true(v))
        return lg_xstrdup("yes");
    if (json_is_false(v))
        return lg_xstrdup("no");
    b = evbuffer_new();
    if (b == NULL)
        abort();
    if (json_is_string(v)) {
        add_printable(b, json_string_value(v));
    } else if (json_is_array(v) && is_scalar_array(v)) {
        size_t i;
        json_t *item;

        json_array_foreach(v, i, item)
        {
            char *text = lg_ctl_print_value_text(item);

            if (i > 0)
                evbuffer_add(b, ", ", 2);
            evbuffer_add(b, text, strlen(text));
            free(text);
        }
    } else if (json_is_integer(v)) {
        evbuffer_add_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        evbuffer_add_printf(b, "%.10g", json_real_value(v));
    } else {
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        add_printable(b, dump != NULL ? dump : "?");
        free(dump);
    }
    s = lg_ctl_print_drain_text(b);
    evbuffer_free(b);
    return s;
}

/* Follows a dotted path ("location.zoneState") from obj; NULL when absent. */
static json_t *get_path(json_t *obj, const char *path, size_t path_len)
{
    const char *p = path, *end = path + path_len;

    while (obj != NULL && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);

        obj = json_object_getn(obj, p, len);
        p += len + 1;
    }
    return obj;
}

json_t *lg_ctl_print_find_value(json_t *obj, const char *keys)
{
    const char *p = keys;

    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        json_t *v = get_path(obj, p, len);

        if (v != NULL && !json_is_null(v))
            return v;
        if (bar == NULL)
            return NULL;
        p = bar + 1;
    }
}

/* Display width of UTF-8 text: counts code points, not bytes. */
static size_t text_width(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

void lg_ctl_print_cells(char **cells, size_t nrows, size_t ncols)
{
    size_t *width = lg_xcalloc(ncols, sizeof(*width));

    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = text_width(cells[r * ncols + c]);

            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];

            fputs(s, stdout);
            if (c + 1 < ncols)
                printf("%*s", (int)(width[c] - text_width(s) + 2), "");
        }
        putchar('\n');
    }
    free(width);
}

void lg_ctl_print_table(json_t *items, const lg_ctl_column_t *cols, size_t ncols)
{
    size_t nrows = json_array_size(items) + 1;
    char **cells = lg_xcalloc(nrows * ncols, sizeof(*cells));

    for (size_t c = 0; c < ncols; c++)
        cells[c] = lg_xstrdup(cols[c].header);
    for (size_t r = 1; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            cells[r * ncols + c] = lg_ctl_print_value_text(
                lg_ctl_print_find_value(json_array_get(items, r - 1), cols[c].keys));
    lg_ctl_print_cells(cells, nrows, ncols);
    for (size_t i = 0; i < nrows * ncols; i++)
        free(cells[i]);
    free(cells);
}

char *lg_ctl_print_header(const char *key)
{
    size_t n = strlen(key);
    char *h = lg_xmalloc(2 * n + 1), *q = h;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c == '_' || c == '-') {
            *q++ = ' ';
            continue;
        }
        if (isupper(c) && i > 0 && islower((unsigned char)key[i - 1]))
            *q++ = ' ';
        *q++ = (char)toupper(c);
    }
    *q = '\0';
    return h;
}

json_t *lg_ctl_print_find_list(json_t *doc)
{
    const char *key;
    json_t *v;

    if (json_is_array(doc))
        return doc;
    if (!json_is_object(doc))
        return NULL;
    v = json_object_get(doc, "items");
    if (json_is_array(v))
        return v;
    json_object_foreach(doc, key, v) if (json_is_array(v)) return v;
    return NULL;
}

/*
 * A list whose shape the CLI does not fix: one column per scalar member, in
 * order of first appearance; a list of scalars prints one per line.
 */
void lg_ctl_print_list(json_t *doc)
{
    json_t *items = lg_ctl_print_find_list(doc), *item, *v;
    lg_ctl_column_t *cols = NULL;
    size_t ncols = 0, i;
    const char *key;

    if (items == NULL) {
        lg_ctl_print_object(doc);
        return;
    }
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item)) {
            char *s = lg_ctl_print_value_text(item);

            puts(s);
            free(s);
            continue;
        }
        json_object_foreach(item, key, v)
        {
            bool is_known = false;

            if (json_is_object(v) || json_is_array(v))
                continue;
            for (size_t c = 0; c < ncols && !is_known; c++)
                is_known = strcmp(cols[c].keys, key) == 0;
            if (is_known || strchr(key, '|') != NULL || strchr(key, '.') != NULL)
                continue;
            cols = lg_xrealloc(cols, (ncols + 1) * sizeof(*cols));
            cols[ncols].header = lg_ctl_print_header(key);
            cols[ncols].keys = lg_xstrdup(key);
            ncols++;
        }
    }
    if (json_array_size(items) == 0)
        puts("(none)");
    else if (ncols > 0 && json_is_object(json_array_get(items, 0)))
        lg_ctl_print_table(items, cols, ncols);
    for (size_t c = 0; c < ncols; c++) {
        free((char *)cols[c].header);
        free((char *)cols[c].keys);
    }
    free(cols);
}

/* Collects "dotted.key" / value rows of obj into cells (pairs), flattening nested objects. */
static void flatten(json_t *obj, const char *prefix, char ***cells, size_t *nrows)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        struct evbuffer *b = evbuffer_new();
        char *name;

        if (b == NULL)
            abort();
        if (prefix != NULL)
            evbuffer_add_printf(b, "%s.", prefix);
        add_printable(b, key);
        name = lg_ctl_print_drain_text(b);
        evbuffer_free(b);
        if (json_is_object(v) && json_object_size(v) > 0) {
            flatten(v, name, cells, nrows);
            free(name);
            continue;
        }
        *cells = lg_xrealloc(*cells, (*nrows + 1) * 2 * sizeof(**cells));
        (*cells)[*nrows * 2] = name;
        (*cells)[*nrows * 2 + 1] = lg_ctl_print_value_text(v);
        (*nrows)++;
    }
}

void lg_ctl_print_object(json_t *doc)
{
    char **cells = NULL;
    size_t nrows = 0;

    if (!json_is_object(doc)) {
        char *s = lg_ctl_print_value_text(doc);

        puts(s);
        free(s);
        return;
    }
    flatten(doc, NULL, &cells, &nrows);
    if (nrows == 0)
        puts("ok");
    else
        lg_ctl_print_cells(cells, nrows, 2);
    for (size_t i = 0; i < nrows * 2; i++)
        free(cells[i]);
    free(cells);
}

void lg_ctl_print_geojson(json_t *doc)
{
    json_t *geometry = json_object_get(doc, "geometry");
    /* One line, so the output can be fed back to `area add --geojson -`. */
    char *s = json_dumps(geometry != NULL ? geometry : doc, JSON_ENCODE_ANY);

    if (s != NULL)
        puts(s);
    free(s);
}

void lg_ctl_print_compact(json_t *doc)
{
    char *s = json_dumps(doc, JSON_ENCODE_ANY);

    if (s != NULL)
        puts(s);
    free(s);
}

/*
 * Prints the daemon's text of a problem body as it was sent, on one line of
 * stdout: a JSON object as is (newlines dropped), anything else (a proxy's
 * page, an empty body) as {title, status, detail} with the text as detail.
 */
static void put_daemon_problem(json_t *doc, int http_status, const char *text, size_t len)
{
    json_t *made;
    char *plain;

    if (json_is_object(doc)) {
        while (len > 0 && isspace((unsigned char)text[len - 1]))
            len--;
        plain = lg_xstrndup(text, len);
        for (char *c = plain; *c != '\0'; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        puts(plain);
        free(plain);
        return;
    }
    plain = lg_xstrndup(text, len);
    made = lg_ctl_exit_problem(lg_ctl_exit_of_http(http_status), plain);
    free(plain);
    json_object_set_new(made, "status", json_integer(http_status));
    json_object_del(made, "cause");
    lg_ctl_exit_put_json_line(made);
    json_decref(made);
}

lg_ctl_exit_t lg_ctl_print_problem(bool is_json, bool has_token, int http_status, const char *text,
                                   size_t len)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    const char *title = json_string_value(json_object_get(doc, "title"));
    json_t *params = json_object_get(doc, "invalidParams"), *p;
    struct evbuffer *b = evbuffer_new();
    size_t i;
    char *msg;

    if (b == NULL)
        abort();
    if (detail != NULL) {
        add_printable(b, detail);
    } else if (title != NULL) {
        add_printable(b, title);
    } else if (doc == NULL && len > 0 && len < 512) {
        /* A short text body (a proxy, an old daemon): show it without its newline. */
        char *plain = lg_xstrndup(text, len);

        plain[strcspn(plain, "\r\n")] = '\0';
        add_printable(b, plain);
        free(plain);
    }
    if (evbuffer_get_length(b) == 0)
        evbuffer_add_printf(b, "HTTP %d", http_status);
    msg = lg_ctl_print_drain_text(b);
    evbuffer_free(b);
    fprintf(stderr, "locguardctl: %s (HTTP %d)\n", msg, http_status);
    free(msg);
    json_array_foreach(params, i, p)
    {
        char *param = lg_ctl_print_value_text(json_object_get(p, "param"));
        char *reason = lg_ctl_print_value_text(json_object_get(p, "reason"));

        fprintf(stderr, "  %s: %s\n", param, reason);
        free(param);
        free(reason);
    }
    if (http_status == 401 && !has_token)
        fputs("  (no token: pass --token-file or set LOCGUARD_ADMIN_TOKEN_FILE)\n", stderr);
    if (is_json)
        put_daemon_problem(doc, http_status, text, len);
    json_decref(doc);
    return lg_ctl_exit_of_http(http_status);
}

/* Says once, on stderr, that the new client's secret cannot be shown again. */
static void warn_secret_shown_once(void)
{
    fputs("locguardctl: store the clientSecret now: it is not stored and cannot be shown "
          "again\n",
          stderr);
}

lg_ctl_exit_t lg_ctl_print_answer(bool is_json, lg_ctl_print_cb print, const char *client_secret,
                                  int http_status, const char *text, size_t len)
{
    bool has_secret = client_secret != NULL && client_secret[0] != '\0';
    json_t *doc;

    if (http_status == 204 || len == 0) {
        puts("ok");
        return LG_CTL_EXIT_OK;
    }
    if (is_json && has_secret) {
        /* The daemon never saw the new client's secret: add it to the raw answer too. */
        doc = json_loadb(text, len, 0, NULL);
        if (json_is_object(doc)) {
            json_object_set_new(doc, "clientSecret", json_string(client_secret));
            char *out = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            if (out == NULL)
                abort();
            puts(out);
            OPENSSL_cleanse(out, strlen(out));
            free(out);
            warn_secret_shown_once();
            return LG_CTL_EXIT_OK;
        }
        json_decref(doc);
    }
    if (is_json || print == NULL) {
        fwrite(text, 1, len, stdout);
        if (text[len - 1] != '\n')
            putchar('\n');
        return LG_CTL_EXIT_OK;
    }
    doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (doc == NULL) {
        fwrite(text, 1, len, stdout);
        if (text[len - 1] != '\n')
            putchar('\n');
        return LG_CTL_EXIT_OK;
    }
    has_secret = has_secret && json_is_object(doc);
    if (has_secret)
        json_object_set_new(doc, "clientSecret", json_string(client_secret));
    print(doc);
    if (has_secret)
        warn_secret_shown_once();
    json_decref(doc);
    return LG_CTL_EXIT_OK;
}
