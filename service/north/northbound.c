/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The northbound zone. The token endpoint is oauth.c's; every other route
 * is the T8 MonitoringEvent API, checked in the order of what it may
 * reveal: the path's shape (404 for paths that are not the API's), then the
 * bearer token (one fixed 401 for every token problem), then who the caller
 * is (the token's subject, and with mutual TLS the certificate's CN, must be
 * the path's {scsAsId}: one fixed 403 otherwise), then the method and the
 * body (t8.c, t8_patch.c: every rule decidable from the request alone),
 * and only then the database. The SQL functions of
 * sql/northbound.sql decide whether the SCS may monitor the device or group
 * and raise one identical error (42501) for every refusal, which becomes
 * the same 403 as above, byte for byte: an SCS cannot tell an unknown
 * device from one it has no grant or consent for.
 */
#include "locguard/north/northbound.h"

#include "locguard/core/http.h"
#include "locguard/core/log.h"
#include "locguard/north/t8.h"
#include "locguard/north/t8_patch.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_PATH "/oauth2/token"

#define SCS_AS_ID_MAX 64 /* scs.scs_as_id: [A-Za-z0-9._-]{1,64} */
#define SUB_ID_MAX    64 /* subscription.sub_id: [A-Za-z0-9_-]{1,64} */
#define ZONE          "northbound"

/*
 * The answers that must not vary. ProblemDetails causes: REQUEST_NOT_AUTHORIZED
 * for every authorization refusal, SUBSCRIPTION_NOT_FOUND and SYSTEM_FAILURE
 * from TS 29.500 table 5.2.7.2-1. The 401 is oauth.c's (lg_oauth_reply_denied),
 * one fixed body for every token problem.
 */
#define FORBIDDEN_DETAIL "the SCS/AS is not authorized for this request"
#define FORBIDDEN_CAUSE  "REQUEST_NOT_AUTHORIZED"
#define NOT_FOUND_DETAIL "no such subscription"
#define NOT_FOUND_CAUSE  "SUBSCRIPTION_NOT_FOUND"

struct lg_northbound {
    lg_db_t *db;
    lg_metrics_t *metrics;
    const lg_token_signer_t *signer;
    lg_oauth_t *oauth;
    lg_notifier_t *notifier; /* NULL: nothing to kick */
    char *public_url;        /* without a trailing "/" */
    bool requires_client_cert;
};

/* What a T8 request asks for. */
typedef enum op {
    OP_LIST,   /* GET .../subscriptions */
    OP_CREATE, /* POST .../subscriptions */
    OP_GET,    /* GET .../subscriptions/{subscriptionId} */
    OP_PUT,    /* PUT .../subscriptions/{subscriptionId} */
    OP_DELETE, /* DELETE .../subscriptions/{subscriptionId} */
    OP_PATCH,  /* PATCH .../subscriptions/{subscriptionId}: 204 */
} op_t;

/* The parts of a T8 path, percent-decoded. */
typedef struct t8_path {
    char scs_as_id[SCS_AS_ID_MAX + 1]; /* empty when malformed or too long */
    bool has_sub_id;                   /* the path names one subscription */
    char sub_id[SUB_ID_MAX + 1];       /* empty when malformed or too long */
} t8_path_t;

/* A T8 request waiting for its SQL function. */
typedef struct call {
    lg_northbound_t *nb;
    lg_httpd_req_t *req;
    op_t op;
    char scs[SCS_AS_ID_MAX + 1]; /* the authenticated SCS/AS, the peer of log lines */
} call_t;

/* ---- answers ---- */

/* The one 403 of this API; lacks_scope adds RFC 6750's insufficient_scope header only. */
static void reply_forbidden(lg_httpd_req_t *req, bool lacks_scope)
{
    if (lacks_scope)
        lg_httpd_add_header(req, "WWW-Authenticate",
                          "Bearer error=\"insufficient_scope\", scope=\"" LG_NORTHBOUND_SCOPE "\"");
    lg_http_reply_problem(req, 403, "Forbidden", FORBIDDEN_DETAIL, FORBIDDEN_CAUSE, NULL, 0, 0);
}

static void reply_not_found(lg_httpd_req_t *req)
{
    lg_http_reply_problem(req, 404, "Not Found", NOT_FOUND_DETAIL, NOT_FOUND_CAUSE, NULL, 0, 0);
}

static void reply_internal_error(lg_httpd_req_t *req)
{
    lg_http_reply_problem(req, 500, "Internal Server Error", NULL, "SYSTEM_FAILURE", NULL, 0, 0);
}

static void reply_method_not_allowed(lg_httpd_req_t *req, const char *allow)
{
    lg_httpd_add_header(req, "Allow", allow);
    lg_http_reply_problem(req, 405, "Method Not Allowed", "method not allowed here", NULL, NULL, 0,
                          0);
}

/* ---- lifecycle ---- */

lg_northbound_t *lg_northbound_new(lg_db_t *db, lg_metrics_t *metrics,
                                   const lg_token_signer_t *signer, lg_oauth_t *oauth,
                                   lg_notifier_t *notifier, const char *public_url,
                                   bool requires_client_cert)
{
    if (public_url == NULL || (strncasecmp(public_url, "https://", 8) != 0 &&
                               strncasecmp(public_url, "http://", 7) != 0)) {
        lg_error("northbound: [northbound] public_url must be set to an https:// URL");
        return NULL;
    }
    lg_northbound_t *nb = lg_xcalloc(1, sizeof(*nb));
    nb->db = db;
    nb->metrics = metrics;
    nb->signer = signer;
    nb->oauth = oauth;
    nb->notifier = notifier;
    nb->requires_client_cert = requires_client_cert;
    nb->public_url = lg_xstrdup(public_url);
    size_t len = strlen(nb->public_url);
    while (len > 0 && nb->public_url[len - 1] == '/')
        nb->public_url[--len] = '\0';
    return nb;
}

void lg_northbound_free(lg_northbound_t *nb)
{
    if (nb == NULL)
        return;
    free(nb->public_url);
    free(nb);
}

/* ---- paths ---- */

/* ^[A-Za-z0-9._-]{1,max}$ (with '.' only when allow_dot). */
static bool is_id(const char *s, size_t len, size_t max, bool allow_dot)
{
    if (len < 1 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((unsigned)(ch - '0') > 9 && (unsigned)((ch | 0x20) - 'a') > 25 && ch != '_' &&
            ch != '-' && !(allow_dot && ch == '.'))
            return false;
    }
    return true;
}

/* Percent-decodes the len bytes of seg into dst if the result is an id; else empties dst. */
static void decode_id(const char *seg, size_t len, char *dst, size_t max, bool allow_dot)
{
    char raw[3 * SCS_AS_ID_MAX + 1];
    size_t dlen = 0;

    dst[0] = '\0';
    if (len >= sizeof raw)
        return;
    memcpy(raw, seg, len);
    raw[len] = '\0';
    char *decoded = evhttp_uridecode(raw, 0, &dlen);
    if (decoded == NULL)
        return;
    if (strlen(decoded) == dlen && is_id(decoded, dlen, max, allow_dot))
        memcpy(dst, decoded, dlen + 1);
    free(decoded);
}

/*
 * Splits LG_NORTHBOUND_API_ROOT/{scsAsId}/subscriptions[/{subscriptionId}].
 * Returns false when path has another shape; malformed identifiers are
 * returned empty, to be refused after authentication.
 */
static bool parse_path(const char *path, t8_path_t *out)
{
    static const char ROOT[] = LG_NORTHBOUND_API_ROOT "/";
    static const char COLLECTION[] = "/subscriptions";

    memset(out, 0, sizeof(*out));
    if (strncmp(path, ROOT, sizeof ROOT - 1) != 0)
        return false;
    const char *scs = path + sizeof ROOT - 1;
    size_t scs_len = strcspn(scs, "/");
    const char *rest = scs + scs_len;
    if (scs_len == 0 || strncmp(rest, COLLECTION, sizeof COLLECTION - 1) != 0)
        return false;
    rest += sizeof COLLECTION - 1;
    if (*rest == '/') {
        const char *sub = rest + 1;
        size_t sub_len = strlen(sub);
        if (sub_len == 0 || memchr(sub, '/', sub_len) != NULL)
            return false;
        out->has_sub_id = true;
        decode_id(sub, sub_len, out->sub_id, SUB_ID_MAX, false);
    } else if (*rest != '\0') {
        return false;
    }
    decode_id(scs, scs_len, out->scs_as_id, SCS_AS_ID_MAX, true);
    return true;
}

/* ---- the database round trip ---- */

/* Makes a relative "self" link of a subscription object absolute; returns it (or NULL). */
static const char *absolutise_self(const lg_northbound_t *nb, json_t *sub)
{
    json_t *self = json_object_get(sub, "self");
    const char *rel = json_string_value(self);

    if (rel == NULL)
        return NULL;
    if (rel[0] == '/') {
        size_t len = strlen(nb->public_url) + strlen(rel) + 1;
        char *abs = lg_xmalloc(len);
        snprintf(abs, len, "%s%s", nb->public_url, rel);
        json_object_set_new(sub, "self", json_string(abs));
        free(abs);
    }
    return json_string_value(json_object_get(sub, "self"));
}

static void reply_sql_error(const call_t *c, const PGresult *res, const char *err)
{
    lg_httpd_req_t *req = c->req;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

    if (state == NULL) {
        lg_http_reply_unavailable(req, NULL, 5);
    } else if (strcmp(state, "42501") == 0) {
        /* The SQL message is not used: this answer must be the same for every refusal. */
        reply_forbidden(req, false);
    } else if (strcmp(state, "P0002") == 0) {
        reply_not_found(req);
    } else if (strncmp(state, "22", 2) == 0) {
        lg_invalid_param_t ip;
        snprintf(ip.param, sizeof ip.param, "%s%s", hint && hint[0] != '/' ? "/" : "",
                 hint ? hint : "");
        lg_strlcpy(ip.reason, err, sizeof ip.reason);
        lg_http_reply_problem(req, 400, "Bad Request", "the subscription was refused",
                              lg_t8_cause_ie_incorrect, &ip, 1, 0);
    } else {
        /* The message may quote provisioned values: keep it out of info-level logs. */
        lg_zwarn(ZONE, c->scs, "SQL error %s", state);
        lg_zdebug(ZONE, c->scs, "SQL error %s: %s", state, err);
        reply_internal_error(req);
    }
}

static void on_call_done(void *arg, const PGresult *res, const char *err)
{
    call_t *c = arg;
    lg_northbound_t *nb = c->nb;
    lg_httpd_req_t *req = c->req;
    json_t *body = NULL;

    if (err != NULL) {
        reply_sql_error(c, res, err);
        goto done;
    }
    if (c->op == OP_DELETE || c->op == OP_PATCH) {
        lg_http_reply_json(req, 204, NULL);
        goto done;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
        (body = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
        lg_zerror(ZONE, c->scs, "the subscription function returned no JSON");
        reply_internal_error(req);
        goto done;
    }
    if (c->op == OP_LIST) {
        size_t i;
        json_t *sub;
        if (!json_is_array(body)) {
            lg_zerror(ZONE, c->scs, "lg_t8_sub_list returned no array");
            reply_internal_error(req);
            goto done;
        }
        json_array_foreach(body, i, sub) absolutise_self(nb, sub);
        lg_http_reply_json(req, 200, body);
        body = NULL;
        goto done;
    }
    const char *self = json_is_object(body) ? absolutise_self(nb, body) : NULL;
    if (self == NULL) {
        lg_zerror(ZONE, c->scs, "the subscription function returned no self link");
        reply_internal_error(req);
        goto done;
    }
    if (c->op == OP_CREATE)
        lg_httpd_add_header(req, "Location", self);
    lg_http_reply_json(req, c->op == OP_CREATE ? 201 : 200, body);
    body = NULL;
    /* A test notification or an immediate report may be waiting in the outbox now. */
    if ((c->op == OP_CREATE || c->op == OP_PUT) && nb->notifier != NULL)
        lg_notifier_kick(nb->notifier);
done:
    json_decref(body);
    free(c);
}

/* Runs sql with the given text parameters; the answer comes through on_call_done. */
static void call_sql(lg_northbound_t *nb, lg_httpd_req_t *req, op_t op, const char *sql,
                     int nparams, const char *const *values)
{
    call_t *c = lg_xcalloc(1, sizeof(*c));
    c->nb = nb;
    c->req = req;
    c->op = op;
    lg_strlcpy(c->scs, values[0], sizeof(c->scs)); /* every T8 call's first parameter */
    if (lg_db_query(nb->db, sql, nparams, values, on_call_done, c) != LG_OK) {
        free(c);
        lg_http_reply_unavailable(req, NULL, 5);
    }
}

/* ---- requests ---- */

/* The bodies of the T8 API, each with its media type and validator. */
typedef enum body_kind {
    BODY_SUBSCRIPTION, /* POST, PUT: a MonitoringEventSubscription (t8.c) */
    BODY_PATCH,        /* PATCH: a JSON Patch of a group's UEs (t8_patch.c) */
} body_kind_t;

/*
 * Checks the body of a request taking a body of the given kind; returns
 * its normalised form as JSON text (the caller frees it), or replies
 * 415/400 and returns NULL.
 */
static char *take_body(lg_httpd_req_t *req, body_kind_t kind)
{
    static const char *const MEDIA_TYPES[] = {
        [BODY_SUBSCRIPTION] = "application/json",
        [BODY_PATCH] = "application/json-patch+json",
    };
    lg_invalid_param_t invalid[LG_INVALID_MAX];
    size_t n_invalid, len;
    const char *cause;
    json_t *normalised;
    char detail[64];
    int rc;

    if (!lg_http_is_media_type(
            lg_httpd_header(req, "Content-Type"),
            MEDIA_TYPES[kind])) {
        snprintf(detail, sizeof detail, "send %s", MEDIA_TYPES[kind]);
        lg_http_reply_problem(req, 415, "Unsupported Media Type", detail, NULL, NULL, 0, 0);
        return NULL;
    }
    const char *body = lg_http_body(req, &len);
    if (kind == BODY_PATCH)
        rc = lg_t8_validate_patch(body, len, &normalised, invalid, &n_invalid, &cause);
    else
        rc = lg_t8_validate_subscription(body, len, lg_now_us(), &normalised, invalid, &n_invalid,
                                         &cause);
    if (rc != LG_OK) {
        snprintf(detail, sizeof detail, "%zu invalid parameter%s", n_invalid,
                 n_invalid == 1 ? "" : "s");
        lg_http_reply_problem(req, 400, "Bad Request", detail, cause, invalid, n_invalid, 0);
        return NULL;
    }
    char *text = json_dumps(normalised, JSON_COMPACT);
    json_decref(normalised);
    if (text == NULL)
        abort(); /* jansson fails only on out-of-memory here */
    return text;
}

/* Has the caller proven to be the path's SCS? (token subject, and client certificate) */
static bool is_path_scs(const lg_northbound_t *nb, lg_httpd_req_t *req, const char *sub,
                        const char *scs_as_id)
{
    if (scs_as_id[0] == '\0' || strcmp(sub, scs_as_id) != 0)
        return false;
    if (nb->requires_client_cert) {
        char cn[SCS_AS_ID_MAX + 1];
        if (lg_http_peer_cn(req, cn, sizeof cn) != LG_OK || strcmp(cn, scs_as_id) != 0)
            return false;
    }
    return true;
}

static void handle_t8(lg_northbound_t *nb, lg_httpd_req_t *req, const t8_path_t *p)
{
    lg_token_claims_t claims;
    int status = 401;

    if (lg_oauth_authenticate(nb->signer, req, LG_NORTHBOUND_AUDIENCE, LG_NORTHBOUND_SCOPE, &claims,
                              &status) != LG_OK) {
        char addr[64];
        lg_http_peer_addr(req, addr, sizeof(addr));
        lg_zinfo(ZONE, addr, "T8 request refused with %d: %s", status,
                 status == 403 ? "the token lacks the scope" : "no valid bearer token");
        if (status == 403)
            reply_forbidden(req, true);
        else
            lg_oauth_reply_denied(req, 401, LG_NORTHBOUND_SCOPE);
        return;
    }
    if (!is_path_scs(nb, req, claims.sub, p->scs_as_id)) {
        lg_zinfo(ZONE, claims.sub,
                 "T8 request refused with 403: token or certificate used for "
                 "another scsAsId");
        reply_forbidden(req, false);
        return;
    }

    lg_http_method_t method = lg_httpd_method(req);
    const char *scs = p->scs_as_id;
    char *text = NULL;
    if (!p->has_sub_id) {
        if (method == LG_HTTP_GET) {
            const char *v[] = {scs};
            call_sql(nb, req, OP_LIST, "SELECT lg_t8_sub_list($1)::text", 1, v);
        } else if (method == LG_HTTP_POST) {
            if ((text = take_body(req, BODY_SUBSCRIPTION)) == NULL)
                return;
            const char *v[] = {scs, text};
            call_sql(nb, req, OP_CREATE, "SELECT lg_t8_sub_create($1, $2::jsonb)::text", 2, v);
        } else {
            reply_method_not_allowed(req, "GET, POST");
        }
        free(text);
        return;
    }
    if (method != LG_HTTP_GET && method != LG_HTTP_PUT && method != LG_HTTP_DELETE &&
        method != LG_HTTP_PATCH) {
        reply_method_not_allowed(req, "GET, PUT, PATCH, DELETE");
        return;
    }
    if (p->sub_id[0] == '\0') {
        reply_not_found(req); /* no subscription has such an id */
        return;
    }
    const char *v[] = {scs, p->sub_id, NULL};
    if (method == LG_HTTP_GET) {
        call_sql(nb, req, OP_GET, "SELECT lg_t8_sub_get($1, $2)::text", 2, v);
    } else if (method == LG_HTTP_DELETE) {
        call_sql(nb, req, OP_DELETE, "SELECT lg_t8_sub_delete($1, $2)::text", 2, v);
    } else if (method == LG_HTTP_PATCH) {
        if ((v[2] = text = take_body(req, BODY_PATCH)) == NULL)
            return;
        call_sql(nb, req, OP_PATCH, "SELECT lg_t8_sub_patch($1, $2, $3::jsonb)::text", 3, v);
        free(text);
    } else {
        if ((v[2] = text = take_body(req, BODY_SUBSCRIPTION)) == NULL)
            return;
        call_sql(nb, req, OP_PUT, "SELECT lg_t8_sub_put($1, $2, $3::jsonb)::text", 3, v);
        free(text);
    }
}

void lg_northbound_handle(lg_httpd_req_t *req, void *arg)
{
    lg_northbound_t *nb = arg;
    const char *path = lg_httpd_path(req);
    t8_path_t p;

    if (path == NULL)
        path = "/";
    if (strcmp(path, TOKEN_PATH) == 0) {
        if (lg_httpd_method(req) != LG_HTTP_POST)
            reply_method_not_allowed(req, "POST");
        else
            lg_oauth_token_handle(nb->oauth, req);
        return;
    }
    if (!parse_path(path, &p)) {
        lg_http_reply_problem(req, 404, "Not Found", "no such resource", NULL, NULL, 0, 0);
        return;
    }
    handle_t8(nb, req, &p);
}
