/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Namf_EventExposure client: locguard's LOCATION_REPORT subscriptions at
 * each configured AMF (one per AMF and chunk of devices, anyUE with
 * includeSupiList; see locguard/south/amfsub.h for why). A poll timer reads
 * the device version; when it moved, amf_chunk_sync recomputes the chunks
 * and the lists of the chunks whose version changed are read; then each
 * subscription that is not what it should be gets one request (create,
 * patch, renew, delete), whose outcome is written to its amf_subscription
 * row before the next. The southbound asks lg_amfsub_match whether a
 * notification belongs to a live subscription.
 * Data flow: db (ue, amf_chunk*, amf_subscription) -> this -> httpc -> AMF;
 * the AMF then notifies the southbound zone.
 */
#include "locguard/south/amfsub.h"

#include "locguard/core/httpc.h"
#include "locguard/core/log.h"
#include "locguard/core/timefmt.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE           "amf"
#define SUBS_PATH      "/namf-evts/v1/subscriptions"
#define MAX_BACKOFF_US (60 * 1000000LL)
#define MAX_ANSWER     (64 << 20) /* an AMF echoes the subscription: every SUPI */
#define MAX_INFLIGHT   8          /* requests under way at one AMF */

/* One subscription: one AMF, one chunk; its row in amf_subscription. */
typedef struct sub {
    struct peer *p;
    int chunk;
    bool is_loaded; /* its row was read (or made) */
    bool is_busy;   /* a request or its write-back is under way */
    char token[LG_AMF_TOKEN_LEN + 1];
    char corr[LG_NODE_NAME_MAX]; /* "<node>.<token>" */
    char *sub_uri;               /* the AMF's URI of the subscription; NULL = none */
    int64_t expires_us;          /* its expiry, as the AMF granted it */
    int64_t version;             /* the chunk version its SUPIs are of */
    lg_amfsub_action_t doing;    /* the request under way */
    int64_t pending_version;     /* the version the request under way sends */
    int failures;                /* consecutive failed requests */
    int64_t next_try_us;         /* no request before this (back-off) */
} sub_t;

/* One AMF: its subscriptions, one per chunk it has a row for. */
typedef struct peer {
    lg_amfsub_t *s;
    lg_amf_peer_t cfg;
    bool is_loaded; /* its rows were read */
    bool is_busy;   /* the read of its rows is under way */
    sub_t **subs;   /* owned; a chunk that vanished keeps its (idle) entry */
    size_t n_subs, cap_subs;
} peer_t;

/* One chunk of devices, as amf_chunk_sync last returned it. */
typedef struct chunk {
    int chunk;
    int64_t version;
    size_t n_supis;
    char *supis_json; /* ["imsi-...", ...] of that version; NULL = not read yet */
} chunk_t;

struct lg_amfsub {
    struct event_base *base;
    lg_db_t *db;
    lg_metrics_t *metrics;
    lg_amfsub_config_t cfg;
    lg_httpc_t *http;
    struct event *timer;
    bool is_polling;         /* a read of the version, the chunks or their SUPIs is under way */
    bool is_swept;           /* the subscriptions of AMFs no longer configured were deleted */
    int64_t supis_version;   /* the device version the chunks are of; 0 = not read */
    int64_t pending_version; /* the device version read by the poll under way */
    chunk_t *chunks;         /* sorted by chunk */
    size_t n_chunks;
    size_t n_orphans; /* DELETEs of unconfigured AMFs' subscriptions under way */
    peer_t peers[LG_AMF_PEERS_MAX];
};

/* ---- pure parts ---------------------------------------------------------------------------- */

static bool is_node_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch == '.' ||
           ch == '_' || ch == '-';
}

int lg_amfsub_parse_peer(const char *v, lg_amf_peer_t *peer)
{
    const char *sp = strchr(v, ' ');
    if (sp == NULL)
        return LG_ERR;
    size_t n = (size_t)(sp - v);
    if (n < 1 || n >= sizeof(peer->node))
        return LG_ERR;
    for (size_t i = 0; i < n; i++)
        if (!is_node_char((unsigned char)v[i]))
            return LG_ERR;
    memcpy(peer->node, v, n);
    peer->node[n] = '\0';
    while (*sp == ' ')
        sp++;
    size_t len = strlen(sp);
    while (len > 0 && sp[len - 1] == '/')
        len--;
    if (strncmp(sp, "https://", 8) != 0 || len <= 8 || len >= sizeof(peer->api_root))
        return LG_ERR;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)sp[i] <= ' ' || sp[i] == '"' || sp[i] == '\\' || sp[i] == '?' ||
            sp[i] == '#')
            return LG_ERR;
    memcpy(peer->api_root, sp, len);
    peer->api_root[len] = '\0';
    return LG_OK;
}

/* True when s is a UUID in its 8-4-4-4-12 hex form (TS 29.571 NfInstanceId). */
static bool is_uuid(const char *s)
{
    static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != sizeof(form) - 1)
        return false;
    for (size_t i = 0; form[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (form[i] == '-'
                ? ch != '-'
                : !((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')))
            return false;
    }
    return true;
}

const char *lg_amfsub_config_check(const lg_amfsub_config_t *cfg)
{
    if (cfg->n_peers == 0)
        return NULL;
    if (cfg->notify_uri == NULL || strncmp(cfg->notify_uri, "https://", 8) != 0)
        return "notify_uri must be an https:// URI";
    if (strpbrk(cfg->notify_uri, "\" \\\t") != NULL)
        return "notify_uri must not hold spaces, quotes or backslashes";
    if (cfg->nf_id == NULL || !is_uuid(cfg->nf_id))
        return "nf_id must be a UUID";
    if (cfg->cert_file == NULL)
        return "cert is required: the AMFs authenticate locguard by its certificate";
    if (cfg->renew_before_s >= cfg->expiry_s)
        return "renew_before_s must be below expiry_s";
    for (size_t i = 0; i < cfg->n_peers; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->peers[i].node, cfg->peers[j].node) == 0)
                return "an AMF is named twice";
    return NULL;
}

const char *lg_amfsub_action_name(lg_amfsub_action_t a)
{
    switch (a) {
    case LG_AMFSUB_NONE:
        return "none";
    case LG_AMFSUB_CREATE:
        return "create";
    case LG_AMFSUB_PATCH_SUPIS:
        return "patch";
    case LG_AMFSUB_RENEW:
        return "renew";
    case LG_AMFSUB_DELETE:
        return "delete";
    }
    return "?";
}

lg_amfsub_action_t lg_amfsub_next(bool has_sub, int64_t expires_us, int64_t sub_version,
                                  int64_t cur_version, size_t n_supis, int64_t now_us,
                                  int64_t renew_before_us)
{
    if (has_sub && expires_us <= now_us)
        has_sub = false;
    if (!has_sub)
        return n_supis > 0 ? LG_AMFSUB_CREATE : LG_AMFSUB_NONE;
    if (n_supis == 0)
        return LG_AMFSUB_DELETE;
    if (sub_version != cur_version)
        return LG_AMFSUB_PATCH_SUPIS;
    if (now_us >= expires_us - renew_before_us)
        return LG_AMFSUB_RENEW;
    return LG_AMFSUB_NONE;
}

char *lg_amfsub_create_body(const lg_amfsub_config_t *cfg, const char *corr, const char *supis_json,
                            int64_t expiry_us)
{
    char expiry[40];
    cJSON *root = cJSON_CreateObject();
    cJSON *sub = cJSON_AddObjectToObject(root, "subscription");
    cJSON *events = cJSON_AddArrayToObject(sub, "eventList");
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "LOCATION_REPORT");
    cJSON_AddBoolToObject(ev, "immediateFlag", false);
    cJSON_AddItemToArray(events, ev);
    cJSON_AddStringToObject(sub, "eventNotifyUri", cfg->notify_uri);
    cJSON_AddStringToObject(sub, "notifyCorrelationId", corr);
    cJSON_AddStringToObject(sub, "nfId", cfg->nf_id);
    cJSON_AddBoolToObject(sub, "anyUE", true);
    cJSON *supis = cJSON_Parse(supis_json);
    if (supis == NULL)
        supis = cJSON_CreateArray();
    cJSON_AddItemToObject(sub, "includeSupiList", supis);
    cJSON *opt = cJSON_AddObjectToObject(sub, "options");
    cJSON_AddStringToObject(opt, "trigger", "CONTINUOUS");
    if (cfg->max_reports > 0)
        cJSON_AddNumberToObject(opt, "maxReports", cfg->max_reports);
    cJSON_AddStringToObject(opt, "expiry", lg_time_format(expiry_us, expiry, sizeof(expiry)));
    cJSON_AddStringToObject(sub, "sourceNfType", "NEF");
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (out == NULL)
        abort(); /* cJSON's allocation failed: out of memory */
    return out;
}

char *lg_amfsub_supis_patch(const char *supis_json)
{
    static const char head[] = "[{\"op\":\"replace\",\"path\":\"/includeSupiList\","
                               "\"includeSupiList\":";
    size_t n = strlen(supis_json);
    char *out = lg_xmalloc(sizeof(head) - 1 + n + 3);
    memcpy(out, head, sizeof(head) - 1);
    memcpy(out + sizeof(head) - 1, supis_json, n);
    memcpy(out + sizeof(head) - 1 + n, "}]", 3);
    return out;
}

char *lg_amfsub_expiry_patch(int64_t expiry_us)
{
    char expiry[40], buf[128];
    snprintf(buf, sizeof(buf),
             "[{\"op\":\"replace\",\"path\":\"/options/expiry\",\"value\":\"%s\"}]",
             lg_time_format(expiry_us, expiry, sizeof(expiry)));
    return lg_xstrdup(buf);
}

lg_amfsub_match_t lg_amfsub_match(const lg_amfsub_t *s, const char *node,
                                  const char *correlation_id)
{
    size_t n = strlen(node);
    if (strncmp(correlation_id, node, n) != 0 || correlation_id[n] != '.')
        return LG_AMFSUB_OTHER;
    if (s == NULL)
        return LG_AMFSUB_GONE;
    const char *token = correlation_id + n + 1;
    for (size_t i = 0; i < s->cfg.n_peers; i++) {
        const peer_t *p = &s->peers[i];
        if (strcmp(p->cfg.node, node) != 0)
            continue;
        for (size_t j = 0; j < p->n_subs; j++) {
            const sub_t *b = p->subs[j];
            if (b->is_loaded && strcmp(token, b->token) == 0 &&
                (b->sub_uri != NULL || (b->is_busy && b->doing == LG_AMFSUB_CREATE)))
                return LG_AMFSUB_LIVE;
        }
        return LG_AMFSUB_GONE;
    }
    return LG_AMFSUB_GONE;
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* The chunk numbered chunk, or NULL (it is gone: no device in it). */
static const chunk_t *find_chunk(const lg_amfsub_t *s, int chunk)
{
    size_t lo = 0, hi = s->n_chunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->chunks[mid].chunk == chunk)
            return &s->chunks[mid];
        if (s->chunks[mid].chunk < chunk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* p's subscription of chunk, or NULL. */
static sub_t *find_sub(const peer_t *p, int chunk)
{
    for (size_t i = 0; i < p->n_subs; i++)
        if (p->subs[i]->chunk == chunk)
            return p->subs[i];
    return NULL;
}

/* A new, not yet loaded subscription of chunk for p (owned by p). */
static sub_t *add_sub(peer_t *p, int chunk)
{
    if (p->n_subs == p->cap_subs) {
        p->cap_subs = p->cap_subs ? 2 * p->cap_subs : 8;
        p->subs = lg_xrealloc(p->subs, p->cap_subs * sizeof(*p->subs));
    }
    sub_t *b = lg_xcalloc(1, sizeof(*b));
    b->p = p;
    b->chunk = chunk;
    p->subs[p->n_subs++] = b;
    return b;
}

/* Publishes how many subscriptions locguard holds at the AMFs. */
static void update_gauge(lg_amfsub_t *s)
{
    int64_t n = 0;
    for (size_t i = 0; i < s->cfg.n_peers; i++)
        for (size_t j = 0; j < s->peers[i].n_subs; j++)
            n += s->peers[i].subs[j]->sub_uri != NULL;
    lg_metrics_set(s->metrics, LG_G_AMF_SUBSCRIPTIONS, n);
}

static void fail_later(sub_t *b, const char *what, const char *why)
{
    int64_t backoff = 1000000LL << (b->failures < 6 ? b->failures : 6);
    if (backoff > MAX_BACKOFF_US)
        backoff = MAX_BACKOFF_US;
    b->failures++;
    b->next_try_us = lg_now_us() + backoff;
    lg_metrics_add(b->p->s->metrics, LG_C_AMF_REQUESTS_FAILED, 1);
    b->is_busy = false;
    lg_zwarn(ZONE, b->p->cfg.node, "chunk %d: subscription %s failed (%s); again in %lld s",
             b->chunk, what, why, (long long)(backoff / 1000000));
}

static void on_saved(void *arg, const PGresult *res, const char *err)
{
    sub_t *b = arg;
    (void)res;
    b->is_busy = false;
    if (err != NULL)
        lg_zwarn(ZONE, b->p->cfg.node, "chunk %d: cannot record the subscription: %s", b->chunk,
                 err);
}

/* Writes the subscription's state to its row; it stays busy until written. */
static void save(sub_t *b)
{
    update_gauge(b->p->s);
    char exp[24], ver[24], chunk[16];
    snprintf(exp, sizeof(exp), "%lld", (long long)b->expires_us);
    snprintf(ver, sizeof(ver), "%lld", (long long)b->version);
    snprintf(chunk, sizeof(chunk), "%d", b->chunk);
    const char *values[5] = {b->p->cfg.node, b->sub_uri, b->sub_uri ? exp : NULL, ver, chunk};
    if (lg_db_query(b->p->s->db,
                    "UPDATE amf_subscription SET sub_uri = $2,"
                    " expires_at = to_timestamp($3::bigint / 1e6), devices_version = $4,"
                    " updated_at = now() WHERE node = $1 AND chunk = $5::int",
                    5, values, on_saved, b) != LG_OK) {
        /* The state in memory is right; the row catches up at the next change. */
        b->is_busy = false;
        lg_zwarn(ZONE, b->p->cfg.node,
                 "chunk %d: cannot record the subscription: the database is unavailable", b->chunk);
    }
}

/* ---- What an AMF answers (pure: tests/unit and tests/fuzz/fuzz_amfanswer.c call them) ----- */

/* A character of a URI path segment (RFC 3986 pchar) with no percent-encoding. */
static bool is_pchar(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~!$&'()*+,;=:@", ch) != NULL;
}

int64_t lg_amfsub_granted_expiry(const char *body, size_t body_len, int64_t fallback_us)
{
    cJSON *root = body != NULL && body_len > 0 ? cJSON_ParseWithLength(body, body_len) : NULL;
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "subscription");
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(sub, "options");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(opt, "expiry");
    int64_t us = fallback_us;
    if (!cJSON_IsString(e) || lg_time_parse(e->valuestring, strlen(e->valuestring), &us) != LG_OK)
        us = fallback_us;
    cJSON_Delete(root);
    return us;
}

char *lg_amfsub_created_uri(const char *api_root, const char *location, const char *body,
                            size_t body_len)
{
    if (location != NULL && strncmp(location, "https://", 8) == 0 &&
        strlen(location) < LG_AMFSUB_URI_MAX) {
        bool is_clean = true;
        for (const unsigned char *c = (const unsigned char *)location; *c != '\0'; c++)
            is_clean = is_clean && *c > 0x20 && *c < 0x7f;
        if (is_clean)
            return lg_xstrdup(location);
    }
    cJSON *root = body != NULL && body_len > 0 ? cJSON_ParseWithLength(body, body_len) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "subscriptionId");
    size_t n = cJSON_IsString(id) ? strlen(id->valuestring) : 0;
    bool is_usable = n > 0 && n <= LG_AMFSUB_ID_MAX;
    for (size_t i = 0; is_usable && i < n; i++)
        is_usable = is_pchar((unsigned char)id->valuestring[i]);
    char *uri = NULL;
    if (is_usable && strlen(api_root) + strlen(SUBS_PATH) + 1 + n < LG_AMFSUB_URI_MAX) {
        uri = lg_xmalloc(LG_AMFSUB_URI_MAX);
        snprintf(uri, LG_AMFSUB_URI_MAX, "%s%s/%s", api_root, SUBS_PATH, id->valuestring);
    }
    cJSON_Delete(root);
    return uri;
}

/* The number of SUPIs of b's chunk now (0: the chunk is gone). */
static size_t chunk_size(const sub_t *b)
{
    const chunk_t *c = find_chunk(b->p->s, b->chunk);
    return c ? c->n_supis : 0;
}

static void on_answer(void *arg, const lg_httpc_result_t *r)
{
    sub_t *b = arg;
    peer_t *p = b->p;
    lg_amfsub_t *s = p->s;
    const char *what = lg_amfsub_action_name(b->doing);
    int64_t asked_expiry = lg_now_us() + (int64_t)s->cfg.expiry_s * 1000000;

    if (r->error != LG_HTTPC_OK) {
        fail_later(b, what, r->detail[0] ? r->detail : lg_httpc_error_name(r->error));
        return;
    }
    if (r->status == 404 && b->doing != LG_AMFSUB_CREATE) {
        /* The AMF no longer has it (it restarted, or dropped it): make it again. */
        lg_zinfo(ZONE, p->cfg.node,
                 "chunk %d: the AMF answered 404 to %s: the subscription is gone%s", b->chunk, what,
                 b->doing == LG_AMFSUB_DELETE ? "" : "; making a new one");
        free(b->sub_uri);
        b->sub_uri = NULL;
        b->failures = 0;
        b->next_try_us = 0;
        save(b);
        return;
    }
    switch (b->doing) {
    case LG_AMFSUB_CREATE: {
        char *uri = r->status == 201
                        ? lg_amfsub_created_uri(p->cfg.api_root, lg_httpc_header(r, "Location"),
                                                r->body, r->body_len)
                        : NULL;
        if (uri == NULL) {
            char why[64];
            snprintf(why, sizeof(why),
                     r->status == 201 ? "201 without a usable Location" : "status %d", r->status);
            fail_later(b, what, why);
            return;
        }
        free(b->sub_uri);
        b->sub_uri = uri;
        b->expires_us = lg_amfsub_granted_expiry(r->body, r->body_len, asked_expiry);
        b->version = b->pending_version;
        lg_zinfo(ZONE, p->cfg.node, "chunk %d subscribed: %zu device%s", b->chunk, chunk_size(b),
                 chunk_size(b) == 1 ? "" : "s");
        break;
    }
    case LG_AMFSUB_PATCH_SUPIS:
    case LG_AMFSUB_RENEW:
        if (r->status != 200 && r->status != 204) {
            char why[32];
            snprintf(why, sizeof(why), "status %d", r->status);
            fail_later(b, what, why);
            return;
        }
        if (b->doing == LG_AMFSUB_PATCH_SUPIS) {
            b->version = b->pending_version;
            lg_zinfo(ZONE, p->cfg.node, "chunk %d updated: %zu device%s", b->chunk, chunk_size(b),
                     chunk_size(b) == 1 ? "" : "s");
        } else {
            b->expires_us = lg_amfsub_granted_expiry(r->body, r->body_len, asked_expiry);
            lg_zdebug(ZONE, p->cfg.node, "chunk %d renewed", b->chunk);
        }
        break;
    case LG_AMFSUB_DELETE:
        if (r->status != 204 && r->status != 200) {
            char why[32];
            snprintf(why, sizeof(why), "status %d", r->status);
            fail_later(b, what, why);
            return;
        }
        free(b->sub_uri);
        b->sub_uri = NULL;
        lg_zinfo(ZONE, p->cfg.node, "chunk %d unsubscribed: no device left in it", b->chunk);
        break;
    case LG_AMFSUB_NONE:
        break;
    }
    b->failures = 0;
    b->next_try_us = 0;
    save(b);
}

/* Sends one request for b; on a local failure backs off. */
static void send_request(sub_t *b, lg_amfsub_action_t a, const chunk_t *c)
{
    peer_t *p = b->p;
    lg_amfsub_t *s = p->s;
    char url[1024];
    char *body = NULL;
    const char *method = "PATCH", *ctype = "application/json-patch+json";
    int64_t expiry_us = lg_now_us() + (int64_t)s->cfg.expiry_s * 1000000;

    switch (a) {
    case LG_AMFSUB_CREATE:
        snprintf(url, sizeof(url), "%s%s", p->cfg.api_root, SUBS_PATH);
        body = lg_amfsub_create_body(&s->cfg, b->corr, c->supis_json, expiry_us);
        method = "POST";
        ctype = "application/json";
        break;
    case LG_AMFSUB_PATCH_SUPIS:
        lg_strlcpy(url, b->sub_uri, sizeof(url));
        body = lg_amfsub_supis_patch(c->supis_json);
        break;
    case LG_AMFSUB_RENEW:
        lg_strlcpy(url, b->sub_uri, sizeof(url));
        body = lg_amfsub_expiry_patch(expiry_us);
        break;
    case LG_AMFSUB_DELETE:
        lg_strlcpy(url, b->sub_uri, sizeof(url));
        method = "DELETE";
        ctype = NULL;
        break;
    case LG_AMFSUB_NONE:
        return;
    }
    const char *headers[] = {"Content-Type", ctype, "Accept", "application/json", NULL};
    lg_httpc_request_t req = {
        .method = method,
        .url = url,
        .headers = ctype ? headers : headers + 2,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = s->cfg.timeout_s * 1000,
        .allow_private = true,
        .peer = p->cfg.node,
        .tag = lg_amfsub_action_name(a),
    };
    const char *err = NULL;
    b->doing = a;
    b->pending_version = c ? c->version : 0;
    b->is_busy = true;
    lg_zdebug(ZONE, p->cfg.node, "chunk %d: %s %s (%zu bytes)", b->chunk, method, url,
              req.body_len);
    if (lg_httpc_submit(s->http, &req, on_answer, b, &err) != LG_OK)
        fail_later(b, lg_amfsub_action_name(a), err);
    free(body);
}

static void on_row(void *arg, const PGresult *res, const char *err);

/* Reads b's row, making it (with a new token) the first time. */
static void make_row(sub_t *b)
{
    unsigned char rnd[LG_AMF_TOKEN_LEN / 2];
    char token[LG_AMF_TOKEN_LEN + 1], chunk[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return; /* tried again at the next step */
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(chunk, sizeof(chunk), "%d", b->chunk);
    const char *values[3] = {b->p->cfg.node, token, chunk};
    b->is_busy = true;
    if (lg_db_query(b->p->s->db,
                    "INSERT INTO amf_subscription (node, token, chunk) VALUES ($1, $2, $3::int)"
                    " ON CONFLICT (node, chunk) DO UPDATE SET node = EXCLUDED.node"
                    " RETURNING chunk, token, sub_uri,"
                    " (extract(epoch FROM expires_at) * 1000000)::bigint, devices_version",
                    3, values, on_row, b) != LG_OK)
        b->is_busy = false;
}

/* Fills b from row i of a (chunk, token, sub_uri, expires, version) result. */
static void fill_sub(sub_t *b, const PGresult *res, int i)
{
    lg_strlcpy(b->token, PQgetvalue(res, i, 1), sizeof(b->token));
    snprintf(b->corr, sizeof(b->corr), "%s.%s", b->p->cfg.node, b->token);
    free(b->sub_uri);
    b->sub_uri = PQgetisnull(res, i, 2) ? NULL : lg_xstrdup(PQgetvalue(res, i, 2));
    b->expires_us = PQgetisnull(res, i, 3) ? 0 : strtoll(PQgetvalue(res, i, 3), NULL, 10);
    b->version = strtoll(PQgetvalue(res, i, 4), NULL, 10);
    b->is_loaded = true;
}

static void on_row(void *arg, const PGresult *res, const char *err)
{
    sub_t *b = arg;
    b->is_busy = false;
    if (err != NULL || PQntuples(res) != 1 || PQnfields(res) != 5) {
        /* A token already taken at this AMF, or the database: a new token next time. */
        lg_zwarn(ZONE, b->p->cfg.node, "chunk %d: cannot make the subscription's row: %s", b->chunk,
                 err ? err : "unexpected result");
        return;
    }
    fill_sub(b, res, 0);
}

/* Each subscription of each loaded AMF whose back-off is over takes its next step. */
static void step(lg_amfsub_t *s)
{
    if (s->supis_version == 0)
        return;
    int64_t now = lg_now_us();
    for (size_t i = 0; i < s->cfg.n_peers; i++) {
        peer_t *p = &s->peers[i];
        if (!p->is_loaded)
            continue;
        for (size_t k = 0; k < s->n_chunks; k++)
            if (find_sub(p, s->chunks[k].chunk) == NULL)
                add_sub(p, s->chunks[k].chunk);
        size_t inflight = 0;
        for (size_t j = 0; j < p->n_subs; j++)
            inflight += p->subs[j]->is_busy;
        for (size_t j = 0; j < p->n_subs && inflight < MAX_INFLIGHT; j++) {
            sub_t *b = p->subs[j];
            if (b->is_busy || now < b->next_try_us)
                continue;
            if (!b->is_loaded) {
                make_row(b);
                inflight += b->is_busy;
                continue;
            }
            const chunk_t *c = find_chunk(s, b->chunk);
            if (c != NULL && c->supis_json == NULL)
                continue;
            lg_amfsub_action_t a =
                lg_amfsub_next(b->sub_uri != NULL, b->expires_us, b->version, c ? c->version : 0,
                               c ? c->n_supis : 0, now, (int64_t)s->cfg.renew_before_s * 1000000);
            if (a == LG_AMFSUB_CREATE && b->sub_uri != NULL) {
                /* Expired: the AMF dropped it. */
                free(b->sub_uri);
                b->sub_uri = NULL;
                update_gauge(s);
            }
            if (a != LG_AMFSUB_NONE) {
                send_request(b, a, c);
                inflight += b->is_busy;
            }
        }
    }
}

static void free_chunks(chunk_t *chunks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(chunks[i].supis_json);
    free(chunks);
}

/* The poll is over: the chunks are of pending_version. */
static void poll_done(lg_amfsub_t *s)
{
    s->supis_version = s->pending_version;
    s->is_polling = false;
    step(s);
}

static void on_members(void *arg, const PGresult *res, const char *err)
{
    lg_amfsub_t *s = arg;
    if (err != NULL || PQnfields(res) != 2) {
        s->is_polling = false;
        lg_zwarn(ZONE, NULL, "cannot read the devices: %s", err ? err : "unexpected result");
        return;
    }
    int n = PQntuples(res), i = 0;
    for (size_t k = 0; k < s->n_chunks; k++) {
        chunk_t *c = &s->chunks[k];
        if (c->supis_json != NULL)
            continue;
        /* Rows are ordered by chunk, then IMSI. */
        while (i < n && atoi(PQgetvalue(res, i, 0)) < c->chunk)
            i++;
        int first = i;
        size_t len = 2;
        for (; i < n && atoi(PQgetvalue(res, i, 0)) == c->chunk; i++)
            len += (size_t)PQgetlength(res, i, 1) + 9; /* "imsi-", quotes, comma */
        char *json = lg_xmalloc(len + 1);
        size_t off = 0;
        json[off++] = '[';
        for (int r = first; r < i; r++)
            off += (size_t)snprintf(json + off, len + 1 - off, "%s\"imsi-%s\"",
                                    r > first ? "," : "", PQgetvalue(res, r, 1));
        json[off++] = ']';
        json[off] = '\0';
        c->supis_json = json;
        c->n_supis = (size_t)(i - first);
    }
    poll_done(s);
}

static void on_chunks(void *arg, const PGresult *res, const char *err)
{
    lg_amfsub_t *s = arg;
    if (err != NULL || PQnfields(res) != 3) {
        s->is_polling = false;
        lg_zwarn(ZONE, NULL, "cannot split the devices into chunks: %s",
                 err ? err : "unexpected result");
        return;
    }
    int n = PQntuples(res);
    chunk_t *chunks = lg_xcalloc(n > 0 ? (size_t)n : 1, sizeof(*chunks));
    /* Room for the chunk numbers to read: "{" + n * (10 digits + ",") + "}". */
    size_t wanted_size = (size_t)n * 12 + 3;
    char *wanted = lg_xmalloc(wanted_size);
    size_t off = 0, n_wanted = 0;
    wanted[off++] = '{';
    for (int i = 0; i < n; i++) {
        chunk_t *c = &chunks[i];
        c->chunk = atoi(PQgetvalue(res, i, 0));
        c->version = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        c->n_supis = (size_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
        const chunk_t *old = find_chunk(s, c->chunk);
        if (old != NULL && old->version == c->version && old->supis_json != NULL) {
            c->supis_json = lg_xstrdup(old->supis_json);
            c->n_supis = old->n_supis;
        } else {
            off += (size_t)snprintf(wanted + off, wanted_size - off, "%s%d", n_wanted ? "," : "",
                                    c->chunk);
            n_wanted++;
        }
    }
    wanted[off++] = '}';
    wanted[off] = '\0';
    free_chunks(s->chunks, s->n_chunks);
    s->chunks = chunks;
    s->n_chunks = (size_t)n;
    if (n_wanted == 0) {
        free(wanted);
        poll_done(s);
        return;
    }
    const char *values[1] = {wanted};
    if (lg_db_query(s->db,
                    "SELECT chunk, imsi FROM amf_chunk_member WHERE chunk = ANY($1::int[])"
                    " ORDER BY chunk, imsi",
                    1, values, on_members, s) != LG_OK)
        s->is_polling = false;
    free(wanted);
}

static void on_version(void *arg, const PGresult *res, const char *err)
{
    lg_amfsub_t *s = arg;
    if (err != NULL || PQntuples(res) < 1) {
        s->is_polling = false;
        lg_zwarn(ZONE, NULL, "cannot read the device version: %s", err ? err : "no row");
        return;
    }
    int64_t version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (version == s->supis_version) {
        s->is_polling = false;
        step(s);
        return;
    }
    s->pending_version = version;
    char per[16];
    snprintf(per, sizeof(per), "%d", s->cfg.supis_per_subscription);
    const char *values[1] = {per};
    if (lg_db_query(s->db, "SELECT chunk, version, n_devices FROM amf_chunk_sync($1::int)", 1,
                    values, on_chunks, s) != LG_OK)
        s->is_polling = false;
}

static void on_loaded(void *arg, const PGresult *res, const char *err)
{
    peer_t *p = arg;
    p->is_busy = false;
    if (err != NULL || PQnfields(res) != 5) {
        lg_zwarn(ZONE, p->cfg.node, "cannot read the subscriptions' rows: %s",
                 err ? err : "unexpected result");
        return;
    }
    size_t live = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        int chunk = atoi(PQgetvalue(res, i, 0));
        sub_t *b = find_sub(p, chunk);
        if (b == NULL)
            b = add_sub(p, chunk);
        fill_sub(b, res, i);
        live += b->sub_uri != NULL;
    }
    p->is_loaded = true;
    update_gauge(p->s);
    lg_zinfo(ZONE, p->cfg.node, "resuming %zu subscription%s", live, live == 1 ? "" : "s");
}

/* Reads the AMF's rows (one per chunk it had a subscription for). */
static void load(peer_t *p)
{
    const char *values[1] = {p->cfg.node};
    p->is_busy = true;
    if (lg_db_query(p->s->db,
                    "SELECT chunk, token, sub_uri,"
                    " (extract(epoch FROM expires_at) * 1000000)::bigint, devices_version"
                    " FROM amf_subscription WHERE node = $1 ORDER BY chunk",
                    1, values, on_loaded, p) != LG_OK)
        p->is_busy = false;
}

static void on_orphan_deleted(void *arg, const lg_httpc_result_t *r)
{
    lg_amfsub_t *s = arg;
    s->n_orphans--;
    if (r->error != LG_HTTPC_OK || (r->status != 204 && r->status != 200 && r->status != 404))
        lg_zwarn(ZONE, NULL, "cannot delete the subscription of an AMF no longer configured: %s",
                 r->error != LG_HTTPC_OK ? lg_httpc_error_name(r->error) : "refused");
}

static void on_orphans(void *arg, const PGresult *res, const char *err)
{
    lg_amfsub_t *s = arg;
    if (err != NULL) {
        s->is_swept = false; /* again at the next poll */
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *node = PQgetvalue(res, i, 0), *uri = PQgetvalue(res, i, 1);
        lg_httpc_request_t req = {.method = "DELETE",
                                  .url = uri,
                                  .timeout_ms = s->cfg.timeout_s * 1000,
                                  .allow_private = true,
                                  .peer = node,
                                  .tag = "delete"};
        const char *e = NULL;
        lg_zinfo(ZONE, node, "deleting a subscription of an AMF no longer configured");
        if (lg_httpc_submit(s->http, &req, on_orphan_deleted, s, &e) == LG_OK)
            s->n_orphans++;
    }
}

/*
 * Forgets the rows of AMFs no longer configured and deletes their
 * subscriptions at those AMFs (once; a failure is logged, not retried: an
 * AMF drops a subscription at its expiry anyway).
 */
static void sweep(lg_amfsub_t *s)
{
    char nodes[LG_AMF_PEERS_MAX * (LG_AMF_NODE_MAX + 3) + 3];
    size_t off = 0;
    nodes[off++] = '{';
    for (size_t i = 0; i < s->cfg.n_peers; i++)
        off += (size_t)snprintf(nodes + off, sizeof(nodes) - off, "%s\"%s\"", i ? "," : "",
                                s->peers[i].cfg.node);
    nodes[off++] = '}';
    nodes[off] = '\0';
    const char *values[1] = {nodes};
    s->is_swept = true;
    if (lg_db_query(s->db,
                    "WITH gone AS (DELETE FROM amf_subscription WHERE node <> ALL($1::text[])"
                    " RETURNING node, sub_uri) SELECT node, sub_uri FROM gone"
                    " WHERE sub_uri IS NOT NULL",
                    1, values, on_orphans, s) != LG_OK)
        s->is_swept = false;
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    lg_amfsub_t *s = arg;
    (void)fd;
    (void)what;
    if (!lg_db_is_up(s->db))
        return;
    if (!s->is_swept)
        sweep(s);
    for (size_t i = 0; i < s->cfg.n_peers; i++)
        if (!s->peers[i].is_loaded && !s->peers[i].is_busy)
            load(&s->peers[i]);
    if (s->is_polling)
        return;
    s->is_polling = true;
    if (lg_db_query(s->db, "SELECT version FROM amf_device_version", 0, NULL, on_version, s) !=
        LG_OK)
        s->is_polling = false;
}

lg_amfsub_t *lg_amfsub_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                           const lg_amfsub_config_t *cfg)
{
    lg_amfsub_t *s = lg_xcalloc(1, sizeof(*s));
    s->base = base;
    s->db = db;
    s->metrics = metrics;
    s->cfg = *cfg;
    s->cfg.notify_uri = lg_xstrdup(cfg->notify_uri);
    s->cfg.nf_id = lg_xstrdup(cfg->nf_id);
    s->cfg.cert_file = lg_xstrdup(cfg->cert_file);
    s->cfg.key_file = cfg->key_file ? lg_xstrdup(cfg->key_file) : NULL;
    s->cfg.ca_file = cfg->ca_file ? lg_xstrdup(cfg->ca_file) : NULL;
    if (s->cfg.supis_per_subscription < 1)
        s->cfg.supis_per_subscription = 1;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        s->peers[i].s = s;
        s->peers[i].cfg = cfg->peers[i];
    }
    lg_httpc_config_t http_cfg = {
        .zone = ZONE,
        .ca_file = s->cfg.ca_file,
        .cert_file = s->cfg.cert_file,
        .key_file = s->cfg.key_file,
        .max_conns_per_host = 1,
        .idle_s = 300,
        .max_body = MAX_ANSWER,
    };
    s->http = lg_httpc_new(base, &http_cfg);
    if (s->http == NULL) {
        lg_amfsub_free(s);
        return NULL;
    }
    s->timer = event_new(base, -1, EV_PERSIST, on_poll, s);
    struct timeval tv = {s->cfg.poll_ms / 1000, (s->cfg.poll_ms % 1000) * 1000};
    event_add(s->timer, &tv);
    event_active(s->timer, EV_TIMEOUT, 0);
    return s;
}

void lg_amfsub_free(lg_amfsub_t *s)
{
    if (s == NULL)
        return;
    if (s->timer != NULL)
        event_free(s->timer);
    lg_httpc_free(s->http);
    for (size_t i = 0; i < s->cfg.n_peers; i++) {
        peer_t *p = &s->peers[i];
        for (size_t j = 0; j < p->n_subs; j++) {
            free(p->subs[j]->sub_uri);
            free(p->subs[j]);
        }
        free(p->subs);
    }
    free_chunks(s->chunks, s->n_chunks);
    free((void *)s->cfg.notify_uri);
    free((void *)s->cfg.nf_id);
    free((void *)s->cfg.cert_file);
    free((void *)s->cfg.key_file);
    free((void *)s->cfg.ca_file);
    free(s);
}
