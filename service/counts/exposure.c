/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exposure zone (see exposure.h): CAMARA Region Device Count for third
 * parties. Checks run in the order of their cost (x-correlator, token, rate
 * limit, body) so that nothing unauthenticated or over its quota reaches
 * the database. The count is answered from the in-memory evaluator
 * (counteval.c, kept current by countmap.c) when it holds a snapshot that
 * can answer the request, its audit row queued to the group commit of
 * auditq.c (the answer sent once queued, or once written with [counts]
 * audit_wait); otherwise (no
 * snapshot yet, an interval older than the releases kept in memory, an
 * area the evaluator does not handle) by one call to sql/counts.sql
 * lg_counts_query, which computes the same answer from the stored releases
 * and writes the audit row itself. Errors
 * are CAMARA ErrorInfo bodies; a refusal raised by the database (SQLSTATE
 * 22023) carries the CAMARA code in its HINT and the client's message in
 * its MESSAGE.
 */
#include "locguard/counts/exposure.h"

#include "locguard/counts/auditq.h"
#include "locguard/counts/camara.h"
#include "locguard/core/http.h"
#include "locguard/core/log.h"
#include "locguard/core/timefmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define US_PER_TOKEN    INT64_C(1000000) /* one request, in micro-tokens */
#define BUCKETS_INITIAL 64               /* client slots, grown by doubling */

static const char query_sql[] =
    "SELECT lg_counts_query($1, $2::jsonb, $3::timestamptz, $4::timestamptz, $5::int, "
    "$6::float8, $7::float8)::text";

static const char query_async_sql[] =
    "SELECT lg_counts_query_async($1, $2::jsonb, $3::timestamptz, $4::timestamptz, $5::int, "
    "$6::float8, $7::float8, $8, $9::boolean, $10, $11::timestamptz, $12, $13, $14)::text";

/* One client's token bucket. */
typedef struct bucket {
    char sub[LG_TOKEN_SUB_MAX]; /* the client (token subject); "" = free slot */
    int64_t level;              /* micro-tokens available at refilled_us */
    int64_t refilled_us;        /* monotonic time of the last refill */
} bucket_t;

struct lg_exposure {
    lg_db_t *db;
    lg_metrics_t *metrics;
    const lg_token_signer_t *signer;
    lg_oauth_t *oauth;             /* NULL: no token endpoint in this zone */
    int k;                         /* answers below k are suppressed */
    double min_area_m2;            /* smallest area accepted */
    double max_area_m2;            /* largest area accepted */
    int64_t rate_per_minute;       /* requests per client per minute, also the burst */
    const lg_release_t *release;   /* NULL: no check of the noise source */
    const lg_countmap_t *countmap; /* NULL: every count goes to lg_counts_query */
    lg_auditq_t *auditq;           /* audit rows of the answers from memory */
    bool is_audit_wait;            /* answer once the audit row is written */
    lg_exposure_queued_cb on_queued; /* told when an asynchronous result is queued */
    void *on_queued_arg;
    bucket_t *buckets;             /* open addressing on the subject's hash */
    size_t n_buckets;              /* slots in buckets, a power of two */
    size_t n_used;                 /* slots holding a client */
};

/* A count request waiting for the database. */
typedef struct call {
    lg_exposure_t *ex;
    lg_httpd_req_t *req;
    int64_t started_us;            /* monotonic arrival, for the count duration */
    char client[LG_TOKEN_SUB_MAX]; /* the token's subject, the peer of log lines */
    char answer[96];               /* from memory: the body to send once audited */
    bool is_async;                 /* 202 with the operationId, the result queued */
} call_t;

#define ZONE "exposure"

/* The count request that arrived at started_us is answered now. */
static void observe_count(lg_exposure_t *ex, int64_t started_us)
{
    lg_metrics_observe(ex->metrics, LG_H_COUNT_DURATION, (double)(lg_mono_us() - started_us) / 1e6);
}

/* Answered, the call is done: counts its duration and frees it. */
static void call_done(call_t *c)
{
    observe_count(c->ex, c->started_us);
    free(c);
}

lg_exposure_t *lg_exposure_new(lg_db_t *db, lg_metrics_t *metrics, const lg_token_signer_t *signer,
                               lg_oauth_t *oauth, const lg_exposure_config_t *cfg)
{
    lg_exposure_t *ex = lg_xcalloc(1, sizeof(*ex));
    ex->db = db;
    ex->metrics = metrics;
    ex->signer = signer;
    ex->oauth = oauth;
    ex->k = cfg->k;
    ex->min_area_m2 = (double)cfg->min_area_m2;
    ex->max_area_m2 = (double)cfg->max_area_m2;
    ex->rate_per_minute = cfg->rate_per_minute > 0 ? cfg->rate_per_minute : 1;
    ex->n_buckets = BUCKETS_INITIAL;
    ex->buckets = lg_xcalloc(ex->n_buckets, sizeof(*ex->buckets));
    return ex;
}

void lg_exposure_free(lg_exposure_t *ex)
{
    if (ex == NULL)
        return;
    free(ex->buckets);
    free(ex);
}

/* FNV-1a of s. */
static uint64_t hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* The slot of sub in a table of n slots: its own, or the free one where it belongs. */
static bucket_t *slot(bucket_t *table, size_t n, const char *sub)
{
    for (size_t i = hash(sub) & (n - 1);; i = (i + 1) & (n - 1))
        if (table[i].sub[0] == '\0' || strcmp(table[i].sub, sub) == 0)
            return &table[i];
}

/* Doubles the table. Clients are authenticated token subjects, so it stays small. */
static void grow(lg_exposure_t *ex)
{
    size_t n = ex->n_buckets * 2;
    bucket_t *table = lg_xcalloc(n, sizeof(*table));
    for (size_t i = 0; i < ex->n_buckets; i++)
        if (ex->buckets[i].sub[0] != '\0')
            *slot(table, n, ex->buckets[i].sub) = ex->buckets[i];
    free(ex->buckets);
    ex->buckets = table;
    ex->n_buckets = n;
}

/*
 * Takes one request from sub's bucket at now_us (monotonic). Returns 0 when
 * allowed, else the whole seconds until a token is available (>= 1).
 */
static int take_token(lg_exposure_t *ex, const char *sub, int64_t now_us)
{
    const int64_t capacity = ex->rate_per_minute * US_PER_TOKEN;
    bucket_t *b = slot(ex->buckets, ex->n_buckets, sub);
    if (b->sub[0] == '\0') {
        if ((ex->n_used + 1) * 4 > ex->n_buckets * 3) {
            grow(ex);
            b = slot(ex->buckets, ex->n_buckets, sub);
        }
        lg_strlcpy(b->sub, sub, sizeof(b->sub));
        b->level = capacity;
        b->refilled_us = now_us;
        ex->n_used++;
    }
    /* rate_per_minute tokens per 60 s: micro-tokens = elapsed_us * rate / 60. */
    int64_t elapsed_us = now_us - b->refilled_us;
    if (elapsed_us > 0) {
        int64_t gained =
            elapsed_us >= INT64_C(60000000) ? capacity : elapsed_us * ex->rate_per_minute / 60;
        b->level = b->level + gained > capacity ? capacity : b->level + gained;
        b->refilled_us = now_us;
    }
    if (b->level >= US_PER_TOKEN) {
        b->level -= US_PER_TOKEN;
        return 0;
    }
    int64_t missing = US_PER_TOKEN - b->level;
    int64_t wait_us = (missing * 60 + ex->rate_per_minute - 1) / ex->rate_per_minute;
    return (int)((wait_us + 999999) / 1000000);
}

/* Replies with a CAMARA ErrorInfo; retry_after_s > 0 adds Retry-After. */
static void reply_error(lg_httpd_req_t *req, int status, const char *code,
                        const char *message, int retry_after_s)
{
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_after_s);
        lg_httpd_add_header(req, "Retry-After", v);
    }
    lg_http_reply_json(
        req, status,
        json_pack("{s:i,s:s,s:s}", "status", status, "code", code, "message", message));
}

static void reply_unavailable(lg_httpd_req_t *req)
{
    reply_error(req, 503, "UNAVAILABLE", "Service Unavailable.", 5);
}

/* The ErrorInfo code of a 22023 refusal: the HINT when it is one of ours. */
static const char *code_of_hint(const char *hint)
{
    static const char *const codes[] = {
        lg_camara_invalid_argument, lg_camara_invalid_circle,   lg_camara_invalid_polygon,
        lg_camara_time_invalid,     lg_camara_invalid_end_date, lg_camara_invalid_sink,
    };
    for (size_t i = 0; hint != NULL && i < LG_ARRAY_SIZE(codes); i++)
        if (strcmp(hint, codes[i]) == 0)
            return codes[i];
    return lg_camara_invalid_argument;
}

static void on_query_done(void *arg, const PGresult *res, const char *err)
{
    call_t *c = arg;
    lg_httpd_req_t *req = c->req;

    if (err == NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        const char *text = PQgetvalue(res, 0, 0);
        lg_http_reply_text(req, c->is_async ? 202 : 200, "application/json", text, strlen(text));
        if (c->is_async && c->ex->on_queued != NULL)
            c->ex->on_queued(c->ex->on_queued_arg);
    } else if (err == NULL) {
        lg_zerror(ZONE, c->client, "lg_counts_query returned no answer");
        reply_error(req, 500, "INTERNAL", "Unknown server error. Typically a server bug.", 0);
    } else {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (state == NULL) {
            reply_unavailable(req);
        } else if (strcmp(state, "22023") == 0) {
            const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            reply_error(req, 400, code_of_hint(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)),
                        message ? message : "Invalid argument.", 0);
        } else {
            /* Connection-class errors and admin shutdowns are temporary; the rest is ours. */
            lg_zwarn(ZONE, c->client, "SQL error %s", state);
            lg_zdebug(ZONE, c->client, "SQL error %s: %s", state, err);
            if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
                strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
                strcmp(state, "40P01") == 0)
                reply_unavailable(req);
            else
                reply_error(req, 500, "INTERNAL", "Unknown server error. Typically a server bug.",
                            0);
        }
    }
    call_done(c);
}

static void on_audited(void *arg, const char *err)
{
    call_t *c = arg;
    if (err == NULL) {
        lg_http_reply_text(c->req, 200, "application/json", c->answer, strlen(c->answer));
    } else {
        reply_unavailable(c->req);
    }
    call_done(c);
}

/*
 * Answers the validated request from the in-memory releases: a refusal at
 * once, an answer once its audit row is queued (or written, with
 * audit_wait); 503 when the row cannot be.
 * Returns false, having done nothing, when the evaluator cannot answer it;
 * *is_pending says whether the answer is left to the audit's callback.
 */
static bool answer_from_memory(lg_exposure_t *ex, lg_httpd_req_t *req, const char *client,
                               const json_t *normalised, const lg_camara_count_t *count,
                               int64_t started_us, bool *is_pending)
{
    const lg_counteval_snap_t *snap = ex->countmap ? lg_countmap_snapshot(ex->countmap) : NULL;
    const json_t *area_json = json_object_get(normalised, "area");
    if (snap == NULL)
        return false;
    lg_counteval_params_t params = {ex->k, ex->min_area_m2, ex->max_area_m2};
    lg_counteval_answer_t a;
    lg_counteval_answer(snap, &count->area, count->has_interval, count->start_us, count->end_us,
                        &params, &a);
    if (a.outcome == LG_COUNTEVAL_FALLBACK) {
        lg_counteval_answer_cleanup(&a);
        return false;
    }
    if (a.outcome == LG_COUNTEVAL_REFUSED) {
        reply_error(req, 400, a.code, a.message, 0);
        lg_counteval_answer_cleanup(&a);
        return true;
    }

    call_t *c = lg_xcalloc(1, sizeof(*c));
    c->ex = ex;
    c->req = req;
    c->started_us = started_us;
    lg_strlcpy(c->client, client, sizeof(c->client));
    lg_counteval_answer_json(&a, c->answer, sizeof(c->answer));
    /* The audit row lg_counts_query would write, marked as answered from memory. */
    json_t *releases = json_null();
    if (a.n_releases > 0) {
        releases = json_array();
        for (size_t i = 0; i < a.n_releases; i++)
            json_array_append_new(releases, json_integer(a.releases[i]));
    }
    json_t *start = json_object_get(normalised, "starttime");
    json_t *end = json_object_get(normalised, "endtime");
    json_t *request =
        json_pack("{s:O,s:O,s:O,s:o,s:I,s:s}", "area", area_json, "starttime",
                  start ? start : json_null(), "endtime", end ? end : json_null(), "releases",
                  releases, "areaM2", (json_int_t)llround(a.area_m2), "evaluator", "memory");
    json_t *answer = json_loads(c->answer, 0, NULL);
    lg_counteval_answer_cleanup(&a);
    if (request == NULL || answer == NULL ||
        lg_auditq_add(ex->auditq, client, request, answer, ex->is_audit_wait ? on_audited : NULL,
                      c) != LG_OK) {
        /* Never an answer without its audit row. */
        free(c);
        reply_unavailable(req);
        return true;
    }
    if (!ex->is_audit_wait) {
        lg_http_reply_text(req, 200, "application/json", c->answer, strlen(c->answer));
        free(c);
    } else {
        *is_pending = true;
    }
    return true;
}

/* CAMARA names no 415: a request without a Content-Type is read as JSON. */
static bool is_json(const char *content_type)
{
    return content_type == NULL || lg_http_is_media_type(content_type, "application/json");
}

/*
 * The count route past its path and method. Returns true when the answer
 * is left to a callback (the database's or the audit's), false when it has
 * been sent.
 */
static bool handle_count(lg_exposure_t *ex, lg_httpd_req_t *req, int64_t started_us)
{
    bool is_pending = false;
    lg_token_claims_t claims;
    int status = 0;
    /* One verification; either scope name allows the count. */
    int rc = lg_oauth_authenticate(ex->signer, req, LG_EXPOSURE_AUDIENCE, NULL, &claims, &status);
    if (rc == LG_OK && !lg_camara_scope_allows_count(claims.scope)) {
        rc = LG_ERR;
        status = 403;
    }
    if (rc != LG_OK) {
        if (status == 403) {
            lg_httpd_add_header(req, "WWW-Authenticate",
                                "Bearer error=\"insufficient_scope\", scope=\"" LG_CAMARA_SCOPE_COUNT
                                " " LG_CAMARA_SCOPE "\"");
            reply_error(req, 403, "PERMISSION_DENIED",
                        "Client does not have sufficient permissions to perform this action", 0);
        } else {
            /* Whatever was wrong with the token, the answer is the same. */
            lg_httpd_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
            reply_error(req, 401, "UNAUTHENTICATED",
                        "Request not authenticated due to missing, invalid, or expired "
                        "credentials.",
                        0);
        }
        return false;
    }
    int retry_after_s = take_token(ex, claims.sub, lg_mono_us());
    if (retry_after_s > 0) {
        reply_error(req, 429, "TOO_MANY_REQUESTS",
                    "Either out of resource quota or reaching rate limiting.", retry_after_s);
        return false;
    }
    if (!is_json(lg_httpd_header(req, "Content-Type"))) {
        reply_error(req, 400, lg_camara_invalid_argument,
                    "The request body must be application/json.", 0);
        return false;
    }

    if (ex->release != NULL && lg_release_noise_failing(ex->release)) {
        /* Fail closed: no count while the noise of the releases cannot be drawn. */
        reply_unavailable(req);
        return false;
    }

    size_t len;
    const char *body = lg_http_body(req, &len);
    json_t *normalised = NULL;
    lg_camara_count_t count;
    lg_camara_error_t verr;
    if (lg_camara_validate_count(body, len, lg_now_us(), &normalised, &count, &verr) != LG_OK) {
        reply_error(req, verr.status, verr.code, verr.message, 0);
        return false;
    }
    if (!count.is_async &&
        answer_from_memory(ex, req, claims.sub, normalised, &count, started_us, &is_pending)) {
        json_decref(normalised);
        return is_pending;
    }
    char *area = json_dumps(json_object_get(normalised, "area"), JSON_COMPACT);
    char k[16], min_m2[32], max_m2[32];
    snprintf(k, sizeof(k), "%d", ex->k);
    snprintf(min_m2, sizeof(min_m2), "%.17g", ex->min_area_m2);
    snprintf(max_m2, sizeof(max_m2), "%.17g", ex->max_area_m2);
    const json_t *cred = json_object_get(normalised, "sinkCredential");
    /* The CloudEvent's source: the path the request came to (a URI-reference). */
    const char *values[14] = {
        claims.sub,
        area,
        json_string_value(json_object_get(normalised, "starttime")),
        json_string_value(json_object_get(normalised, "endtime")),
        k,
        min_m2,
        max_m2,
        json_string_value(json_object_get(normalised, "sink")),
        count.is_sink_private ? "true" : "false",
        json_string_value(json_object_get(cred, "accessToken")),
        json_string_value(json_object_get(cred, "accessTokenExpiresUtc")),
        lg_httpd_path(req),
        LG_CAMARA_COUNT_EVENT_TYPE,
        lg_httpd_header(req, "x-correlator"), /* checked by lg_exposure_handle */
    };
    call_t *c = lg_xcalloc(1, sizeof(*c));
    c->ex = ex;
    c->req = req;
    c->started_us = started_us;
    c->is_async = count.is_async;
    lg_strlcpy(c->client, claims.sub, sizeof(c->client));
    is_pending = true;
    if (area == NULL || lg_db_query(ex->db, count.is_async ? query_async_sql : query_sql,
                                    count.is_async ? 14 : 7, values, on_query_done, c) != LG_OK) {
        free(c);
        reply_unavailable(req);
        is_pending = false;
    }
    free(area);
    json_decref(normalised);
    return is_pending;
}

void lg_exposure_handle(lg_httpd_req_t *req, void *arg)
{
    lg_exposure_t *ex = arg;
    int64_t started_us = lg_mono_us();
    const char *path = lg_httpd_path(req);
    if (path == NULL)
        path = "/";

    if (strcmp(path, "/oauth2/token") == 0 && ex->oauth != NULL) {
        lg_oauth_token_handle(ex->oauth, req);
        return;
    }

    /* Checked first so that every answer below can echo it. */
    const char *correlator = lg_httpd_header(req, "x-correlator");
    if (correlator != NULL && !lg_camara_correlator_is_valid(correlator)) {
        reply_error(req, 400, lg_camara_invalid_argument,
                    "x-correlator must match ^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$.", 0);
        return;
    }
    if (correlator != NULL)
        lg_httpd_add_header(req, "x-correlator", correlator);

    if (!lg_camara_is_count_path(path)) {
        reply_error(req, 404, "NOT_FOUND", "The specified resource is not found.", 0);
        return;
    }
    if (lg_httpd_method(req) != LG_HTTP_POST) {
        lg_httpd_add_header(req, "Allow", "POST");
        reply_error(req, 405, "METHOD_NOT_ALLOWED",
                    "The requested method is not allowed/supported on the target resource.", 0);
        return;
    }
    if (!handle_count(ex, req, started_us))
        observe_count(ex, started_us);
}

void lg_exposure_set_release(lg_exposure_t *ex, const lg_release_t *release)
{
    ex->release = release;
}

void lg_exposure_set_countmap(lg_exposure_t *ex, const lg_countmap_t *countmap, lg_auditq_t *auditq,
                              bool is_audit_wait)
{
    ex->countmap = countmap;
    ex->auditq = auditq;
    ex->is_audit_wait = is_audit_wait;
}

void lg_exposure_on_queued(lg_exposure_t *ex, lg_exposure_queued_cb cb, void *arg)
{
    ex->on_queued = cb;
    ex->on_queued_arg = arg;
}
