/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin zone. Health, readiness and metrics are answered here; every
 * provisioning route is one row of a table that names the sql/admin.sql
 * function serving it. The handler merges the JSON body, the path's
 * {parameters} and the query string into one jsonb argument, runs
 * `SELECT lg_admin_<name>($1)` on the async pool, and maps the function's
 * SQLSTATE to an HTTP status: the validation of geometry, identifiers and
 * CSV lives next to the data, in SQL, and is reported with its reason.
 */
#include "locguard/admin/admin.h"

#include "locguard/core/http.h"
#include "locguard/core/jsonutil.h"
#include "locguard/core/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENTS_MAX 8

struct lg_admin {
    lg_db_t *db;
    lg_metrics_t *metrics;
    char *token; /* NULL: no token configured */
    size_t token_len;
    int schema_version;
};

/* One provisioning route: method + path pattern -> lg_admin_<function>(jsonb). */
typedef struct route {
    lg_http_method_t method;
    const char *pattern;  /* "/v1/devices/{externalId}": {name} segments are captured */
    const char *function; /* suffix of the sql/admin.sql function */
    int status;           /* status of a successful answer with a body */
    bool is_csv;          /* the body is text/csv, passed as {"csv": body} */
} route_t;

static const route_t routes[] = {
    {LG_HTTP_GET, "/v1/nodes", "node_list", 200, false},
    {LG_HTTP_POST, "/v1/nodes", "node_add", 201, false},
    {LG_HTTP_PATCH, "/v1/nodes/{name}", "node_update", 200, false},
    {LG_HTTP_DELETE, "/v1/nodes/{name}", "node_delete", 200, false},
    {LG_HTTP_GET, "/v1/devices", "device_list", 200, false},
    {LG_HTTP_POST, "/v1/devices", "device_put", 201, false},
    {LG_HTTP_PUT, "/v1/devices/{externalId}", "device_put", 200, false},
    {LG_HTTP_GET, "/v1/devices/{externalId}", "device_get", 200, false},
    {LG_HTTP_DELETE, "/v1/devices/{externalId}", "device_delete", 200, false},
    {LG_HTTP_GET, "/v1/devices/{externalId}/areas", "device_area_list", 200, false},
    {LG_HTTP_PUT, "/v1/devices/{externalId}/areas/{area}", "device_area_add", 200, false},
    {LG_HTTP_DELETE, "/v1/devices/{externalId}/areas/{area}", "device_area_remove", 200, false},
    {LG_HTTP_GET, "/v1/areas", "area_list", 200, false},
    {LG_HTTP_PUT, "/v1/areas/{name}", "area_put", 200, false},
    {LG_HTTP_GET, "/v1/areas/{name}", "area_get", 200, false},
    {LG_HTTP_DELETE, "/v1/areas/{name}", "area_delete", 200, false},
    {LG_HTTP_GET, "/v1/cells", "cell_list", 200, false},
    {LG_HTTP_POST, "/v1/cells", "cells_import", 200, true},
    {LG_HTTP_GET, "/v1/alerts", "alert_list", 200, false},
    {LG_HTTP_GET, "/v1/scs", "scs_list", 200, false},
    {LG_HTTP_PUT, "/v1/scs/{scsAsId}", "scs_put", 200, false},
    {LG_HTTP_GET, "/v1/scs/{scsAsId}", "scs_get", 200, false},
    {LG_HTTP_DELETE, "/v1/scs/{scsAsId}", "scs_delete", 200, false},
    {LG_HTTP_PUT, "/v1/scs/{scsAsId}/area-counts", "scs_area_counts", 200, false},
    {LG_HTTP_PUT, "/v1/scs/{scsAsId}/geo-area", "scs_geo_area", 200, false},
    {LG_HTTP_GET, "/v1/clients", "client_list", 200, false},
    {LG_HTTP_POST, "/v1/clients", "client_add", 201, false},
    {LG_HTTP_DELETE, "/v1/clients/{clientId}", "client_delete", 200, false},
    {LG_HTTP_GET, "/v1/groups", "group_list", 200, false},
    {LG_HTTP_PUT, "/v1/groups/{externalGroupId}", "group_put", 200, false},
    {LG_HTTP_DELETE, "/v1/groups/{externalGroupId}", "group_delete", 200, false},
    {LG_HTTP_GET, "/v1/groups/{externalGroupId}/members", "group_member_list", 200, false},
    {LG_HTTP_PUT, "/v1/groups/{externalGroupId}/members/{externalId}", "group_member_add", 200,
     false},
    {LG_HTTP_DELETE, "/v1/groups/{externalGroupId}/members/{externalId}", "group_member_remove",
     200, false},
    {LG_HTTP_GET, "/v1/grants", "grant_list", 200, false},
    {LG_HTTP_POST, "/v1/grants", "grant_add", 201, false},
    {LG_HTTP_POST, "/v1/grants/remove", "grant_remove", 200, false},
    {LG_HTTP_GET, "/v1/devices/{externalId}/consents", "consent_list", 200, false},
    {LG_HTTP_POST, "/v1/devices/{externalId}/consents", "consent_grant", 201, false},
    {LG_HTTP_POST, "/v1/devices/{externalId}/consents/revoke", "consent_revoke", 200, false},
    {LG_HTTP_GET, "/v1/outbox", "outbox_list", 200, false},
    {LG_HTTP_POST, "/v1/counts/exact", "count_exact", 200, false},
};

/* A provisioning request waiting for its SQL function. */
typedef struct call {
    lg_admin_t *admin;
    lg_httpd_req_t *req;
    const route_t *route;
} call_t;

static char *read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        lg_error("admin: cannot read the token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *token = n >= 16 ? lg_xstrdup(buf) : NULL;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (token == NULL)
        lg_error("admin: the token in %s is shorter than 16 characters", path);
    return token;
}

lg_admin_t *lg_admin_new(lg_db_t *db, lg_metrics_t *metrics, const char *token_file,
                         int schema_version)
{
    lg_admin_t *admin = lg_xcalloc(1, sizeof(*admin));
    admin->db = db;
    admin->metrics = metrics;
    admin->schema_version = schema_version;
    if (token_file != NULL) {
        admin->token = read_token(token_file);
        if (admin->token == NULL) {
            free(admin);
            return NULL;
        }
        admin->token_len = strlen(admin->token);
    }
    return admin;
}

void lg_admin_free(lg_admin_t *admin)
{
    if (admin == NULL)
        return;
    if (admin->token != NULL) {
        OPENSSL_cleanse(admin->token, admin->token_len);
        free(admin->token);
    }
    free(admin);
}

static bool is_authorized(const lg_admin_t *admin, lg_httpd_req_t *req)
{
    if (admin->token == NULL)
        return true;
    const char *h = lg_httpd_header(req, "Authorization");
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *t = h + 7;
    size_t len = strlen(t);
    return len == admin->token_len && CRYPTO_memcmp(t, admin->token, len) == 0;
}

/*
 * Matches path against pattern; captured {names} are set in args (decoded).
 * Returns false when the shapes differ.
 */
static bool match(const char *pattern, const char *path, json_t *args)
{
    while (*pattern == '/' && *path == '/') {
        pattern++;
        path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (slen == 0)
            return false;
        if (pattern[0] == '{') {
            char name[32], raw[512];
            if (plen - 2 >= sizeof(name) || slen >= sizeof(raw))
                return false;
            memcpy(name, pattern + 1, plen - 2);
            name[plen - 2] = '\0';
            memcpy(raw, path, slen);
            raw[slen] = '\0';
            size_t dlen;
            char *decoded = evhttp_uridecode(raw, 0, &dlen);
            if (decoded == NULL)
                return false;
            bool ok = dlen > 0 && strlen(decoded) == dlen;
            if (ok)
                json_object_set_new(args, name, json_stringn(decoded, dlen));
            free(decoded);
            if (!ok)
                return false;
        } else if (plen != slen || memcmp(pattern, path, plen) != 0) {
            return false;
        }
        pattern += plen;
        path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

static void reply_sql_error(lg_httpd_req_t *req, const PGresult *res, const char *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    if (state == NULL) {
        lg_http_reply_unavailable(req, NULL, 5);
        return;
    }
    if (strcmp(state, "P0002") == 0) {
        lg_http_reply_problem(req, 404, "Not Found", err, "RESOURCE_NOT_FOUND", NULL, 0, 0);
    } else if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0) {
        lg_http_reply_problem(req, 409, "Conflict", err, "RESOURCE_CONFLICT", NULL, 0, 0);
    } else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
        lg_invalid_param_t ip;
        lg_strlcpy(ip.param, hint ? hint : "body", sizeof(ip.param));
        lg_strlcpy(ip.reason, err, sizeof(ip.reason));
        lg_http_reply_problem(req, 400, "Bad Request", err, "INVALID_PARAMETER", &ip, 1, 0);
    } else {
        /* The message may quote provisioned values: keep it out of info-level logs. */
        lg_zwarn("admin", "admin", "SQL error %s", state);
        lg_zdebug("admin", "admin", "SQL error %s: %s", state, err);
        lg_http_reply_problem(req, 500, "Internal Server Error", "the request failed",
                              "SYSTEM_FAILURE", NULL, 0, 0);
    }
}

static void on_call_done(void *arg, const PGresult *res, const char *err)
{
    call_t *c = arg;
    if (err != NULL) {
        reply_sql_error(c->req, res, err);
    } else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        lg_http_reply_json(c->req, 204, NULL);
    } else {
        const char *text = PQgetvalue(res, 0, 0);
        lg_http_reply_text(c->req, c->route->status, "application/json", text, strlen(text));
    }
    free(c);
}

/* Builds the function's argument: body, then query string, then path parameters. */
static json_t *build_args(lg_httpd_req_t *req, const route_t *route, const char *path)
{
    size_t len;
    const char *body = lg_http_body(req, &len);
    json_t *args;
    if (route->is_csv) {
        args = json_object();
        json_t *csv = json_stringn(body, len);
        if (csv == NULL) {
            json_decref(args);
            return NULL;
        }
        json_object_set_new(args, "csv", csv);
    } else if (len > 0) {
        /* GeoJSON multipolygons nest 5 deep; the scan keeps anything odd away from jansson. */
        args = lg_json_depth_ok(body, len, 32) ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)
                                               : NULL;
        if (args == NULL || !json_is_object(args)) {
            json_decref(args);
            return NULL;
        }
    } else {
        args = json_object();
    }
    const char *query = lg_httpd_query(req);
    if (query != NULL) {
        struct evkeyvalq kv;
        if (evhttp_parse_query_str(query, &kv) != 0) {
            json_decref(args);
            return NULL;
        }
        for (struct evkeyval *e = kv.tqh_first; e != NULL; e = e->next.tqe_next) {
            json_t *v = json_string(e->value);
            if (v != NULL)
                json_object_set_new(args, e->key, v);
        }
        evhttp_clear_headers(&kv);
    }
    if (!match(route->pattern, path, args)) {
        json_decref(args);
        return NULL;
    }
    return args;
}

static void handle_provisioning(lg_admin_t *admin, lg_httpd_req_t *req, const char *path)
{
    lg_http_method_t method = lg_httpd_method(req);
    const route_t *route = NULL;
    bool is_path_known = false;
    json_t *probe = json_object();
    for (size_t i = 0; i < LG_ARRAY_SIZE(routes); i++) {
        if (!match(routes[i].pattern, path, probe))
            continue;
        is_path_known = true;
        if (routes[i].method == method) {
            route = &routes[i];
            break;
        }
    }
    json_decref(probe);
    if (route == NULL) {
        if (is_path_known)
            lg_http_reply_problem(req, 405, "Method Not Allowed", "method not allowed here", NULL,
                                  NULL, 0, 0);
        else
            lg_http_reply_problem(req, 404, "Not Found", "no such resource", NULL, NULL, 0, 0);
        return;
    }
    json_t *args = build_args(req, route, path);
    if (args == NULL) {
        lg_invalid_param_t ip = {"body", "must be a JSON object (UTF-8)"};
        lg_http_reply_problem(req, 400, "Bad Request", "the request body is not a JSON object",
                              "INVALID_PARAMETER", &ip, 1, 0);
        return;
    }
    char *text = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT lg_admin_%s($1::jsonb)::text", route->function);
    call_t *c = lg_xcalloc(1, sizeof(*c));
    c->admin = admin;
    c->req = req;
    c->route = route;
    const char *values[1] = {text};
    if (lg_db_query(admin->db, sql, 1, values, on_call_done, c) != LG_OK) {
        free(c);
        lg_http_reply_unavailable(req, NULL, 5);
    }
    free(text);
}

typedef struct ready_check {
    lg_admin_t *admin;
    lg_httpd_req_t *req;
} ready_check_t;

static void on_ready_done(void *arg, const PGresult *res, const char *err)
{
    ready_check_t *rc = arg;
    int version = err == NULL && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
    json_t *body = json_object();
    bool is_ready = version >= rc->admin->schema_version;
    json_object_set_new(body, "status", json_string(is_ready ? "ready" : "not ready"));
    json_object_set_new(body, "database", json_string(err ? "unreachable" : "reachable"));
    json_object_set_new(body, "schemaVersion", json_integer(version));
    json_object_set_new(body, "expectedSchemaVersion", json_integer(rc->admin->schema_version));
    lg_http_reply_json(rc->req, is_ready ? 200 : 503, body);
    free(rc);
}

static void handle_readyz(lg_admin_t *admin, lg_httpd_req_t *req)
{
    ready_check_t *rc = lg_xcalloc(1, sizeof(*rc));
    rc->admin = admin;
    rc->req = req;
    if (lg_db_query(admin->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
                    on_ready_done, rc) != LG_OK)
        on_ready_done(rc, NULL, "database unavailable");
}

void lg_admin_handle(lg_httpd_req_t *req, void *arg)
{
    lg_admin_t *admin = arg;
    const char *path = lg_httpd_path(req);
    if (path == NULL)
        path = "/";
    if (strcmp(path, "/healthz") == 0) {
        lg_http_reply_text(req, 200, "text/plain", "ok\n", 3);
        return;
    }
    if (!is_authorized(admin, req)) {
        /* Not yet "admin": the address is all we know of the peer. */
        char addr[64];
        lg_http_peer_addr(req, addr, sizeof(addr));
        lg_zinfo("admin", addr, "request refused with 401: no valid bearer token");
        lg_httpd_add_header(req, "WWW-Authenticate",
                          "Bearer realm=\"locguard-admin\"");
        lg_http_reply_problem(req, 401, "Unauthorized", "a valid admin bearer token is required",
                              NULL, NULL, 0, 0);
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        handle_readyz(admin, req);
    } else if (strcmp(path, "/metrics") == 0) {
        struct evbuffer *out = evbuffer_new();
        lg_metrics_render(admin->metrics, out);
        size_t len = evbuffer_get_length(out);
        const char *text = len > 0 ? (const char *)evbuffer_pullup(out, -1) : "";
        lg_http_reply_text(req, 200, "text/plain; version=0.0.4", text, len);
        evbuffer_free(out);
    } else {
        handle_provisioning(admin, req, path);
    }
}
