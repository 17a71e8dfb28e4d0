/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One locguardctl command, from a parsed command line to the printed answer.
 * A command is a row of the command table (its rows are in provision.c and
 * monitoring.c): the path template is expanded with percent-encoded
 * segments (and, for a GET, the given options as the query), the row's body
 * builder makes the body with the helpers here (JSON, a file, GeoJSON), the
 * client sends it, and the printer prints the answer or the problem. The
 * options any command may take are listed here too, with what the path and
 * the query make of them.
 */
#include "locguard/ctl/command.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#define MAX_INPUT_BYTES (64u * 1024u * 1024u)

/* Every option: the global ones first, then those of the commands. */
static const lg_ctl_option_t options[] = {
    {"url", true, NULL, false, NULL},
    {"token-file", true, NULL, false, NULL},
    {"json", false, NULL, false, NULL},
    {"help", false, NULL, false, NULL},
    {"kind", true, "MME|SGSN|AMF", false, NULL},
    {"supi", true, NULL, false, NULL},
    {"external-id", true, NULL, false, NULL},
    {"msisdn", true, NULL, false, NULL},
    {"mobility", true, "fixed|restricted|unrestricted", false, NULL},
    {"no-monitoring", false, NULL, false, NULL},
    {"ambiguous", true, "inside|outside", false, NULL},
    {"geojson", true, NULL, false, NULL},
    {"limit", true, NULL, false, NULL},
    {"device", true, NULL, false, NULL},
    {"since", true, NULL, false, NULL},
    {"until", true, NULL, false, NULL},
    {"secret", true, NULL, false, NULL},
    {"previous-secret", true, NULL, false, NULL},
    {"allow-private", false, NULL, false, NULL},
    {"cert-cn", true, NULL, false, NULL},
    {"name", true, NULL, false, NULL},
    {"scope", true, NULL, true, NULL},
    {"scs", true, NULL, false, "scsAsId"},
    {"local-id", true, NULL, false, NULL},
    {"group", true, NULL, false, NULL},
    {"service", true, "location-monitoring", false, NULL},
    {"purpose", true, "location-monitoring|anonymous-statistics", false, NULL},
    {"expires", true, NULL, false, NULL},
    {"status", true, "pending|delivered|failed|dropped", false, NULL},
    {"circle", true, NULL, false, NULL},
};

const lg_ctl_option_t *lg_ctl_command_find_option(const char *name)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(options); i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

bool lg_ctl_command_opt_matches(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && (entry[n] == '\0' || entry[n] == '!');
}

const char *lg_ctl_command_opt(const lg_ctl_invocation_t *inv, const char *name)
{
    for (int i = 0; i < LG_CTL_MAX_CMD_OPTS && inv->cmd->opts[i] != NULL; i++)
        if (lg_ctl_command_opt_matches(inv->cmd->opts[i], name))
            return inv->opt_values[i];
    return NULL;
}

void lg_ctl_command_print_synopsis(FILE *f, const lg_ctl_command_t *cmd)
{
    fprintf(f, "  locguardctl %s\n      %s\n", cmd->synopsis, cmd->summary);
}

lg_ctl_exit_t lg_ctl_command_usage_error(const lg_ctl_command_t *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lg_ctl_exit_vreport(LG_CTL_EXIT_USAGE, fmt, ap);
    va_end(ap);
    lg_ctl_command_print_synopsis(stderr, cmd);
    return LG_CTL_EXIT_USAGE;
}

/* Percent-encodes s (everything but RFC 3986 unreserved characters) onto b. */
static void add_encoded(struct evbuffer *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            evbuffer_add(b, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            evbuffer_add(b, esc, sizeof(esc));
        }
    }
}

/* Appends "?name=value&..." for every value option given to a GET command. */
static void add_query(struct evbuffer *b, const lg_ctl_invocation_t *inv)
{
    const lg_ctl_command_t *cmd = inv->cmd;
    bool has_query = false;

    for (int i = 0; i < LG_CTL_MAX_CMD_OPTS && cmd->opts[i] != NULL; i++) {
        const lg_ctl_option_t *option;
        char name[32];

        if (inv->opt_values[i] == NULL)
            continue;
        lg_strlcpy(name, cmd->opts[i], sizeof(name));
        name[strcspn(name, "!")] = '\0';
        option = lg_ctl_command_find_option(name);
        if (option == NULL || !option->has_value)
            continue;
        evbuffer_add(b, has_query ? "&" : "?", 1);
        add_encoded(b, option->query_name != NULL ? option->query_name : name);
        evbuffer_add(b, "=", 1);
        add_encoded(b, inv->opt_values[i]);
        has_query = true;
    }
}

char *lg_ctl_command_path(const lg_ctl_invocation_t *inv)
{
    const lg_ctl_command_t *cmd = inv->cmd;
    struct evbuffer *b = evbuffer_new();
    const char *p = cmd->path;
    char *path = NULL;

    if (b == NULL)
        abort();
    while (*p != '\0') {
        const char *close;
        char name[32];
        const char *value;
        size_t len;

        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            evbuffer_add(b, p, 1);
            p++;
            continue;
        }
        len = (size_t)(close - p - 1);
        if (len >= sizeof(name))
            abort(); /* a bad template is a programming error */
        memcpy(name, p + 1, len);
        name[len] = '\0';
        if (isdigit((unsigned char)name[0]))
            value = inv->args[name[0] - '1'];
        else
            value = lg_ctl_command_opt(inv, name);
        if (value == NULL || value[0] == '\0' || strcmp(value, ".") == 0 ||
            strcmp(value, "..") == 0) {
            lg_ctl_command_usage_error(cmd, "'%s' cannot be used as a name",
                                       value != NULL ? value : "");
            goto failed;
        }
        add_encoded(b, value);
        p = close + 1;
    }
    if (cmd->method == EVHTTP_REQ_GET)
        add_query(b, inv);
    path = lg_ctl_print_drain_text(b);
failed:
    evbuffer_free(b);
    return path;
}

void lg_ctl_command_set_json_body(lg_ctl_body_t *out, json_t *doc)
{
    out->data = json_dumps(doc, JSON_COMPACT);
    if (out->data == NULL)
        abort();
    out->len = strlen(out->data);
    out->content_type = "application/json";
    json_decref(doc);
}

char *lg_ctl_command_read_input(const char *file, size_t *out_len)
{
    bool is_stdin = strcmp(file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(file, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL) {
        lg_ctl_exit_failure("cannot open %s: %s", file, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            cap = cap == 0 ? 8192 : cap * 2;
            data = lg_xrealloc(data, cap + 1);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (len > MAX_INPUT_BYTES) {
            lg_ctl_exit_failure("%s is larger than %u bytes", file, MAX_INPUT_BYTES);
            goto failed;
        }
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        lg_ctl_exit_failure("cannot read %s: %s", file, strerror(errno));
        goto failed;
    }
    if (!is_stdin)
        fclose(f);
    data[len] = '\0';
    *out_len = len;
    return data;
failed:
    if (!is_stdin)
        fclose(f);
    free(data);
    return NULL;
}

lg_ctl_exit_t lg_ctl_command_geojson_body(const char *file, const char *member, lg_ctl_body_t *out)
{
    json_error_t jerr;
    json_t *doc, *geometry;
    const char *type;
    char *text;
    size_t len;

    text = lg_ctl_command_read_input(file, &len);
    if (text == NULL)
        return LG_CTL_EXIT_FAIL;
    doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL)
        return lg_ctl_exit_failure("%s: not JSON (line %d: %s)", file, jerr.line, jerr.text);
    geometry = doc;
    type = json_string_value(json_object_get(doc, "type"));
    if (type != NULL && strcmp(type, "Feature") == 0) {
        geometry = json_object_get(doc, "geometry");
        type = json_string_value(json_object_get(geometry, "type"));
    }
    if (type == NULL || (strcmp(type, "Polygon") != 0 && strcmp(type, "MultiPolygon") != 0)) {
        json_decref(doc);
        return lg_ctl_exit_failure(
            "%s: expected a GeoJSON Polygon or MultiPolygon, or a Feature holding one", file);
    }
    lg_ctl_command_set_json_body(out, json_pack("{s:O}", member, geometry));
    json_decref(doc);
    return LG_CTL_EXIT_OK;
}

/* Runs a table-driven command: build path and body, send, print. */
static lg_ctl_exit_t run_request(lg_ctl_client_t *client, const lg_ctl_invocation_t *inv)
{
    const lg_ctl_command_t *cmd = inv->cmd;
    lg_ctl_body_t body = {0};
    lg_ctl_request_t req = {cmd->method, NULL, NULL, NULL, NULL, 0};
    struct evbuffer *answer = evbuffer_new();
    char *path = NULL, *text = NULL;
    lg_ctl_exit_t status = LG_CTL_EXIT_USAGE;
    int http_status;
    size_t len;

    if (answer == NULL)
        abort();
    path = lg_ctl_command_path(inv);
    if (path == NULL)
        goto failed;
    if (cmd->build != NULL) {
        status = cmd->build(inv, &body);
        if (status != LG_CTL_EXIT_OK)
            goto failed;
    }
    req.path = path;
    req.accept = cmd->print != NULL ? "application/json" : "text/plain";
    req.content_type = body.content_type;
    req.body = body.data;
    req.body_len = body.len;
    status = LG_CTL_EXIT_UNAVAILABLE;
    if (lg_ctl_client_call(client, &req, &http_status, answer) != LG_OK)
        goto failed;
    len = evbuffer_get_length(answer);
    text = lg_ctl_print_drain_text(answer);
    if (http_status < 200 || http_status > 299)
        status = lg_ctl_print_problem(inv->is_json, lg_ctl_client_has_token(client), http_status,
                                      text, len);
    else
        status = lg_ctl_print_answer(inv->is_json, cmd->print, body.client_secret, http_status,
                                     text, len);
failed:
    free(text);
    if (body.data != NULL)
        OPENSSL_cleanse(body.data, body.len); /* it may hold a webhook secret */
    OPENSSL_cleanse(body.client_secret, sizeof(body.client_secret));
    free(body.data);
    free(path);
    evbuffer_free(answer);
    return status;
}

lg_ctl_exit_t lg_ctl_command_run(lg_ctl_client_t *client, const lg_ctl_invocation_t *inv)
{
    if (inv->cmd->run != NULL)
        return inv->cmd->run(client, inv);
    return run_request(client, inv);
}
