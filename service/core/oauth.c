/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The token endpoint and the bearer check (see oauth.h). A token request is
 * parsed and judged here without I/O, then the client is looked up in
 * api_client on the async pool, its secret checked against the stored
 * scrypt hash, and a JWT issued by token.c.
 *
 * scrypt on the event loop. One check with N=2^14, r=8, p=1 measured 56-62
 * ms of CPU on the development machine (2 cores, load ~2; N=2^13 took 28 ms,
 * 2^12 14 ms): far too long to pay on every request of a loop that also
 * serves ingest. Lowering N only halves it per step and weakens the stored
 * hashes, so we keep N=2^14 (the contract's format, the usual interactive
 * minimum) and instead:
 *   - remember successful checks for LG_OAUTH_CACHE_TTL_S (5 minutes) in a
 *     bounded LRU of LG_OAUTH_CACHE_SIZE (1024) entries keyed by
 *     SHA-256(client_id, stored hash, presented secret), so a client that
 *     fetches a token every few minutes pays scrypt about once per 5
 *     minutes. The stored hash is part of the key, so a rotated secret or a
 *     re-created client misses at once; enabled and scopes are read from
 *     the database on every request, so disabling a client is immediate.
 *     Only a correct secret can ever hit, so an attacker always pays (and
 *     is answered) like any failure.
 *   - cap the checks that miss the cache at LG_OAUTH_SCRYPT_PER_S per
 *     second (burst LG_OAUTH_SCRYPT_BURST), answering 503
 *     temporarily_unavailable beyond: a flood of wrong secrets then costs
 *     the loop at most ~30% of a core instead of all of it.
 * An unknown client is checked against a dummy hash made at start-up with
 * the same parameters, so it takes the same time, spends the same budget and
 * gets the same answer as a wrong secret.
 */
#include "locguard/core/oauth.h"
#include "locguard/core/base64.h"

#include "locguard/core/http.h"
#include "locguard/core/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char lg_oauth_err_invalid_request[] = "invalid_request";
const char lg_oauth_err_invalid_client[] = "invalid_client";
const char lg_oauth_err_unsupported_grant_type[] = "unsupported_grant_type";
const char lg_oauth_err_invalid_scope[] = "invalid_scope";
const char lg_oauth_err_unauthorized_client[] = "unauthorized_client";
const char lg_oauth_err_insufficient_scope[] = "insufficient_scope";

#define AUDIENCE_MAX 255
#define BASIC_MAX    512 /* decoded Basic credentials: "id:secret", both urlencoded */

/*
 * The client row: secret hash, space-separated scopes, subject, usable.
 * Always one row, NULLs for an unknown client, and the same index probes
 * whether the client exists or not (an unknown one probes scs for id -1):
 * the refusal of an unknown client must take the time of a wrong secret.
 */
static const char client_sql[] =
    "SELECT c.secret_hash, array_to_string(c.scopes, ' '), s.scs_as_id,"
    " c.enabled AND coalesce(s.enabled, true)"
    " FROM (VALUES ($1::text)) AS q(client_id)"
    " LEFT JOIN api_client c ON c.client_id = q.client_id"
    " LEFT JOIN scs s ON s.id = coalesce(c.scs_id, -1)";

/* One remembered successful secret check. */
typedef struct cache_entry {
    uint8_t key[32];    /* SHA-256(client_id, stored hash, secret) */
    int64_t expires_us; /* monotonic; 0: free slot */
    int64_t used_us;    /* last hit or insertion, for least-recently-used eviction */
} cache_entry_t;

struct lg_oauth {
    lg_db_t *db;
    lg_token_signer_t *signer;
    lg_metrics_t *metrics;
    const char *zone;                   /* the zone, in log lines */
    char *audience;                     /* aud of the tokens issued */
    int ttl_s;                          /* their lifetime */
    bool requires_scs;                  /* only clients bound to an SCS get tokens */
    char dummy_hash[LG_TOKEN_HASH_MAX]; /* checked for unknown clients */
    cache_entry_t cache[LG_OAUTH_CACHE_SIZE];
    double budget;        /* scrypt runs available now (token bucket) */
    int64_t budget_at_us; /* when budget was last refilled (monotonic) */
};

/* A token request waiting for its client row. */
typedef struct pending {
    lg_oauth_t *o;
    lg_httpd_req_t *req;
    lg_oauth_request_t r;
} pending_t;

/* ---- parsing (no I/O) ------------------------------------------------------------------ */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decodes len bytes of application/x-www-form-urlencoded text ('+' is a
 * space, %XX a byte) into out as a string. False on a bad escape, a NUL, or
 * a result that does not fit in size.
 */
static bool form_decode(const char *in, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
            if (lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= size)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* True for a client_id api_client can hold: 1..64 of [A-Za-z0-9._-]. */
static bool is_client_id(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    return n >= 1 && n < LG_OAUTH_CLIENT_ID_MAX && s[n] == '\0';
}

/* True for RFC 6749 §3.3 scope syntax: tokens of %x21 / %x23-5B / %x5D-7E, single spaces. */
static bool is_scope_list(const char *s)
{
    bool at_start = true;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ') {
            if (at_start || s[1] == '\0')
                return false;
            at_start = true;
        } else if (c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)) {
            at_start = false;
        } else {
            return false;
        }
    }
    return !at_start;
}

/* True when the media type of content_type is application/x-www-form-urlencoded. */
static bool is_form_type(const char *content_type)
{
    static const char form[] = "application/x-www-form-urlencoded";
    if (content_type == NULL || strncasecmp(content_type, form, sizeof(form) - 1) != 0)
        return false;
    const char *rest = content_type + sizeof(form) - 1;
    rest += strspn(rest, " \t");
    return *rest == '\0' || *rest == ';';
}

/* Reads "Basic <base64>" credentials into r; NULL or an error code. */
static const char *parse_basic(const char *authorization, lg_oauth_request_t *r)
{
    char raw[BASIC_MAX + 1];
    size_t n;
    const char *err = lg_oauth_err_invalid_client;
    if (strncasecmp(authorization, "Basic ", 6) != 0)
        return lg_oauth_err_invalid_client; /* an authentication scheme we do not offer */
    r->used_basic = true;
    const char *b64 = authorization + 6;
    b64 += strspn(b64, " ");
    size_t len = strlen(b64);
    while (len > 0 && b64[len - 1] == ' ')
        len--;
    if (lg_base64_decode(b64, len, false, (uint8_t *)raw, BASIC_MAX, &n) != LG_OK)
        goto out;
    raw[n] = '\0';
    const char *colon = memchr(raw, ':', n);
    if (colon == NULL || memchr(raw, '\0', n) != NULL)
        goto out;
    if (!form_decode(raw, (size_t)(colon - raw), r->client_id, sizeof(r->client_id)) ||
        !form_decode(colon + 1, n - (size_t)(colon + 1 - raw), r->client_secret,
                     sizeof(r->client_secret)))
        goto out;
    err = NULL;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return err;
}

/* The form fields we read: each at most once. */
typedef struct form {
    char grant_type[32];
    bool has_grant_type, has_client_id, has_client_secret;
    char client_id[LG_OAUTH_CLIENT_ID_MAX];
    char client_secret[LG_OAUTH_SECRET_MAX];
    int seen[4]; /* grant_type, scope, client_id, client_secret */
} form_t;

/* Stores one name=value pair; NULL or an error code. */
static const char *form_field(form_t *f, lg_oauth_request_t *r, const char *name, const char *v,
                              size_t vlen)
{
    static const char *const names[] = {"grant_type", "scope", "client_id", "client_secret"};
    size_t k;
    for (k = 0; k < LG_ARRAY_SIZE(names); k++)
        if (strcmp(name, names[k]) == 0)
            break;
    if (k == LG_ARRAY_SIZE(names))
        return NULL; /* §3.2: unrecognised parameters are ignored */
    if (f->seen[k]++ > 0)
        return lg_oauth_err_invalid_request; /* §3.2: never more than once */
    if (vlen == 0)
        return NULL; /* §3.1: a parameter without a value is as if omitted */
    switch (k) {
    case 0:
        f->has_grant_type = true;
        if (!form_decode(v, vlen, f->grant_type, sizeof(f->grant_type)))
            return lg_oauth_err_unsupported_grant_type;
        return NULL;
    case 1:
        r->has_scope = true;
        if (!form_decode(v, vlen, r->scope, sizeof(r->scope)) || !is_scope_list(r->scope))
            return lg_oauth_err_invalid_scope;
        return NULL;
    case 2:
        f->has_client_id = true;
        return form_decode(v, vlen, f->client_id, sizeof(f->client_id))
                   ? NULL
                   : lg_oauth_err_invalid_client;
    default:
        f->has_client_secret = true;
        return form_decode(v, vlen, f->client_secret, sizeof(f->client_secret))
                   ? NULL
                   : lg_oauth_err_invalid_client;
    }
}

/* Parses the whole body into f and r; NULL or the first error code. */
static const char *parse_form(const char *body, size_t len, form_t *f, lg_oauth_request_t *r)
{
    const char *err = NULL;
    size_t pos = 0;
    while (pos < len) {
        const char *piece = body + pos;
        const char *amp = memchr(piece, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - piece) : len - pos;
        pos += plen + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen;
        char name[32];
        if (!form_decode(piece, nlen, name, sizeof(name)))
            continue; /* not a name we know */
        const char *v = eq ? eq + 1 : piece + plen;
        const char *e = form_field(f, r, name, v, (size_t)(piece + plen - v));
        /* Keep parsing: a later duplicate is still an invalid_request, reported first. */
        if (e == lg_oauth_err_invalid_request)
            return e;
        if (err == NULL)
            err = e;
    }
    return err;
}

const char *lg_oauth_parse_request(const char *content_type, const char *authorization,
                                   const char *body, size_t len, lg_oauth_request_t *out)
{
    form_t f;
    const char *err;
    memset(out, 0, sizeof(*out));
    memset(&f, 0, sizeof(f));
    if (!is_form_type(content_type) || len > LG_OAUTH_BODY_MAX || memchr(body, '\0', len)) {
        err = lg_oauth_err_invalid_request;
        goto out;
    }
    err = parse_form(body, len, &f, out);
    if (err == lg_oauth_err_invalid_request)
        goto out;
    if (!f.has_grant_type) {
        err = lg_oauth_err_invalid_request;
        goto out;
    }
    if (err == NULL && strcmp(f.grant_type, "client_credentials") != 0)
        err = lg_oauth_err_unsupported_grant_type;
    if (err != NULL)
        goto out;
    if (authorization != NULL && f.seen[3] > 0) {
        /* §2.3: one authentication method per request, not a header and a body secret. */
        out->used_basic = strncasecmp(authorization, "Basic ", 6) == 0;
        err = lg_oauth_err_invalid_request;
    } else if (authorization != NULL) {
        err = parse_basic(authorization, out);
        /* A client_id beside Basic (§3.2.1 allows it) must name the same client. */
        if (err == NULL && f.has_client_id && strcmp(out->client_id, f.client_id) != 0)
            err = lg_oauth_err_invalid_request;
    } else if (!f.has_client_id || !f.has_client_secret) {
        err = lg_oauth_err_invalid_client; /* no credentials: we have no public clients */
    } else {
        memcpy(out->client_id, f.client_id, sizeof(out->client_id));
        memcpy(out->client_secret, f.client_secret, sizeof(out->client_secret));
    }
    if (err == NULL && !is_client_id(out->client_id))
        err = lg_oauth_err_invalid_client; /* cannot exist: no need to ask the database */
out:
    OPENSSL_cleanse(f.client_secret, sizeof(f.client_secret));
    if (err != NULL) {
        bool used_basic = out->used_basic;
        OPENSSL_cleanse(out, sizeof(*out));
        out->used_basic = used_basic;
    }
    return err;
}

const char *lg_oauth_grant_scope(const char *requested, bool has_scope, const char *allowed,
                                 char *out, size_t size)
{
    const char *src = has_scope ? requested : allowed;
    if (size == 0)
        return lg_oauth_err_invalid_scope;
    out[0] = '\0';
    if (has_scope) {
        for (const char *p = requested; *p != '\0';) {
            size_t n = strcspn(p, " ");
            char one[LG_TOKEN_SCOPE_MAX];
            if (n >= sizeof(one))
                return lg_oauth_err_invalid_scope;
            memcpy(one, p, n);
            one[n] = '\0';
            if (!lg_token_scope_contains(allowed, one))
                return lg_oauth_err_invalid_scope;
            p += n;
            p += strspn(p, " ");
        }
    }
    if (!lg_strlcpy(out, src, size)) {
        out[0] = '\0';
        return lg_oauth_err_invalid_scope;
    }
    return NULL;
}

/* ---- the cache and the scrypt budget --------------------------------------------------- */

/* The cache key of one presented secret for one stored hash. */
static void cache_key(const char *client_id, const char *stored, const char *secret,
                      uint8_t key[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    /* Each part with its terminating NUL, so the boundaries cannot shift. */
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, client_id, strlen(client_id) + 1) != 1 ||
        EVP_DigestUpdate(ctx, stored, strlen(stored) + 1) != 1 ||
        EVP_DigestUpdate(ctx, secret, strlen(secret) + 1) != 1 ||
        EVP_DigestFinal_ex(ctx, key, &n) != 1)
        abort(); /* SHA-256 fails only on out-of-memory */
    EVP_MD_CTX_free(ctx);
}

/* True (and refreshes its use) when key is remembered and not expired. Scans every slot. */
static bool cache_hit(lg_oauth_t *o, const uint8_t key[32], int64_t now_us)
{
    cache_entry_t *found = NULL;
    for (size_t i = 0; i < LG_OAUTH_CACHE_SIZE; i++) {
        cache_entry_t *e = &o->cache[i];
        if (e->expires_us > now_us && CRYPTO_memcmp(e->key, key, 32) == 0)
            found = e;
    }
    if (found != NULL)
        found->used_us = now_us;
    return found != NULL;
}

/* Remembers key, in a free or expired slot or else in place of the least recently used. */
static void cache_put(lg_oauth_t *o, const uint8_t key[32], int64_t now_us)
{
    cache_entry_t *victim = &o->cache[0];
    for (size_t i = 0; i < LG_OAUTH_CACHE_SIZE; i++) {
        cache_entry_t *e = &o->cache[i];
        if (e->expires_us <= now_us) {
            victim = e;
            break;
        }
        if (e->used_us < victim->used_us)
            victim = e;
    }
    memcpy(victim->key, key, 32);
    victim->expires_us = now_us + (int64_t)LG_OAUTH_CACHE_TTL_S * 1000000;
    victim->used_us = now_us;
}

/* Takes one scrypt run from the budget; false when none is left this instant. */
static bool take_budget(lg_oauth_t *o, int64_t now_us)
{
    o->budget += (double)(now_us - o->budget_at_us) / 1e6 * LG_OAUTH_SCRYPT_PER_S;
    if (o->budget > LG_OAUTH_SCRYPT_BURST)
        o->budget = LG_OAUTH_SCRYPT_BURST;
    o->budget_at_us = now_us;
    if (o->budget < 1.0)
        return false;
    o->budget -= 1.0;
    return true;
}

/* ---- the endpoint ---------------------------------------------------------------------- */

lg_oauth_t *lg_oauth_new(lg_db_t *db, lg_token_signer_t *signer, const char *zone,
                         const char *audience, const lg_oauth_config_t *cfg, bool requires_scs,
                         lg_metrics_t *metrics)
{
    char dummy[LG_TOKEN_SECRET_SIZE];
    int ttl_s = cfg->token_ttl_s;
    if (audience == NULL || audience[0] == '\0' || strlen(audience) > AUDIENCE_MAX || ttl_s <= 0) {
        lg_error("oauth: the audience or the token lifetime is out of bounds");
        return NULL;
    }
    lg_oauth_t *o = lg_xcalloc(1, sizeof(*o));
    o->db = db;
    o->signer = signer;
    o->metrics = metrics;
    o->zone = zone;
    o->audience = lg_xstrdup(audience);
    o->ttl_s = ttl_s;
    o->requires_scs = requires_scs;
    o->budget = LG_OAUTH_SCRYPT_BURST;
    o->budget_at_us = lg_mono_us();
    if (lg_token_new_secret(dummy, sizeof(dummy)) != LG_OK ||
        lg_token_hash_secret(dummy, o->dummy_hash, sizeof(o->dummy_hash)) != LG_OK) {
        lg_error("oauth: cannot make the dummy secret hash (random source failed)");
        lg_oauth_free(o);
        o = NULL;
    }
    OPENSSL_cleanse(dummy, sizeof(dummy));
    return o;
}

void lg_oauth_free(lg_oauth_t *o)
{
    if (o == NULL)
        return;
    free(o->audience);
    OPENSSL_cleanse(o, sizeof(*o));
    free(o);
}

/* Answers a §5.2 error. 401 always names Basic, as RFC 9110 §15.5.2 wants of any 401. */
static void reply_error(lg_httpd_req_t *req, int status, const char *code, int retry_s)
{
    if (status == 401)
        lg_httpd_add_header(req, "WWW-Authenticate", "Basic realm=\"locguard\", charset=\"UTF-8\"");
    if (retry_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_s);
        lg_httpd_add_header(req, "Retry-After", v);
    }
    lg_httpd_add_header(req, "Pragma", "no-cache");
    lg_http_reply_json(req, status, json_pack("{s:s}", "error", code));
}

static int status_of(const char *code)
{
    return code == lg_oauth_err_invalid_client ? 401 : 400;
}

static void free_pending(pending_t *p)
{
    OPENSSL_cleanse(&p->r, sizeof(p->r));
    free(p);
}

/* Issues the token and answers §5.1. */
static void reply_token(pending_t *p, const char *sub, const char *scope)
{
    char *jwt = NULL;
    int64_t now_s = lg_now_us() / 1000000;
    if (lg_token_issue(p->o->signer, sub, p->o->audience, scope, p->o->ttl_s, now_s, &jwt) !=
        LG_OK) {
        lg_zerror(p->o->zone, p->r.client_id, "cannot issue a token");
        reply_error(p->req, 500, "server_error", 0);
        return;
    }
    lg_zinfo(p->o->zone, p->r.client_id, "token issued for %s, scope \"%s\"", sub, scope);
    lg_httpd_add_header(p->req, "Pragma", "no-cache");
    lg_http_reply_json(p->req, 200,
                       json_pack("{s:s, s:s, s:i, s:s}", "access_token", jwt, "token_type",
                                 "Bearer", "expires_in", p->o->ttl_s, "scope", scope));
    OPENSSL_cleanse(jwt, strlen(jwt));
    free(jwt);
}

static void on_client(void *arg, const PGresult *res, const char *err)
{
    pending_t *p = arg;
    lg_oauth_t *o = p->o;
    int64_t now_us = lg_mono_us();
    uint8_t key[32];
    if (err != NULL) {
        lg_zwarn(o->zone, p->r.client_id, "client lookup failed: %s", err);
        reply_error(p->req, 503, "temporarily_unavailable", 5);
        goto out;
    }
    bool is_known = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    const char *stored = is_known ? PQgetvalue(res, 0, 0) : o->dummy_hash;
    cache_key(p->r.client_id, stored, p->r.client_secret, key);
    /* The cache is searched for unknown clients too: the same work whatever the reason. */
    bool is_match = cache_hit(o, key, now_us) && is_known;
    if (!is_match) {
        if (!take_budget(o, now_us)) {
            lg_zwarn(o->zone, p->r.client_id, "secret checks over budget (%d/s): answering 503",
                     LG_OAUTH_SCRYPT_PER_S);
            reply_error(p->req, 503, "temporarily_unavailable", 1);
            goto out;
        }
        /* Unknown clients are checked against the dummy too: same time, same answer. */
        is_match = lg_token_secret_matches(p->r.client_secret, stored) && is_known;
        if (is_match)
            cache_put(o, key, now_us);
    }
    bool is_enabled = is_known && strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    if (!is_match || !is_enabled) {
        lg_zinfo(o->zone, p->r.client_id, "client authentication failed");
        reply_error(p->req, 401, lg_oauth_err_invalid_client, 0);
        goto out;
    }
    bool has_scs = !PQgetisnull(res, 0, 2);
    if (o->requires_scs && !has_scs) {
        /* The subject would be the client id, which could equal some SCS's id. */
        lg_zinfo(o->zone, p->r.client_id, "client bound to no SCS: no token for this zone");
        reply_error(p->req, 400, lg_oauth_err_unauthorized_client, 0);
        goto out;
    }
    char scope[LG_TOKEN_SCOPE_MAX];
    const char *e = lg_oauth_grant_scope(p->r.scope, p->r.has_scope, PQgetvalue(res, 0, 1), scope,
                                         sizeof(scope));
    if (e != NULL) {
        lg_zinfo(o->zone, p->r.client_id, "asked for a scope it does not have");
        reply_error(p->req, 400, e, 0);
        goto out;
    }
    reply_token(p, has_scs ? PQgetvalue(res, 0, 2) : p->r.client_id, scope);
out:
    OPENSSL_cleanse(key, sizeof(key));
    free_pending(p);
}

void lg_oauth_token_handle(lg_oauth_t *o, lg_httpd_req_t *req)
{
    if (lg_httpd_method(req) != LG_HTTP_POST) {
        lg_httpd_add_header(req, "Allow", "POST");
        reply_error(req, 405, lg_oauth_err_invalid_request, 0);
        return;
    }
    size_t len;
    const char *body = lg_http_body(req, &len);
    pending_t *p = lg_xcalloc(1, sizeof(*p));
    p->o = o;
    p->req = req;
    const char *err =
        lg_oauth_parse_request(lg_httpd_header(req, "Content-Type"),
                               lg_httpd_header(req, "Authorization"), body, len, &p->r);
    if (err != NULL) {
        if (lg_log_level >= LG_LOG_DEBUG) {
            char addr[64];
            lg_http_peer_addr(req, addr, sizeof(addr));
            lg_zdebug(o->zone, addr, "token request refused: %s", err);
        }
        reply_error(req, status_of(err), err, 0);
        free_pending(p);
        return;
    }
    const char *values[1] = {p->r.client_id};
    if (lg_db_query(o->db, client_sql, 1, values, on_client, p) != LG_OK) {
        reply_error(req, 503, "temporarily_unavailable", 5);
        free_pending(p);
    }
}

/* ---- the bearer check ------------------------------------------------------------------ */

int lg_oauth_check_bearer(const lg_token_signer_t *signer, const char *authorization,
                          const char *aud, const char *scope, int64_t now_s, lg_token_claims_t *out,
                          int *http_status)
{
    *http_status = 401;
    /* No bearer token is verified as an empty one: refused as malformed, after the same work. */
    const char *t = "";
    size_t len = 0;
    if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
        t = authorization + 7;
        t += strspn(t, " ");
        len = strnlen(t, LG_TOKEN_MAX_BYTES + 1);
        while (len > 0 && t[len - 1] == ' ')
            len--;
    }
    if (lg_token_verify(signer, t, len, aud, now_s, out) != LG_OK)
        return LG_ERR;
    if (scope != NULL && !lg_token_has_scope(out, scope)) {
        *http_status = 403;
        out->err = lg_oauth_err_insufficient_scope;
        return LG_ERR;
    }
    *http_status = 200;
    return LG_OK;
}

int lg_oauth_authenticate(const lg_token_signer_t *signer, lg_httpd_req_t *req,
                          const char *aud, const char *scope, lg_token_claims_t *out,
                          int *http_status)
{
    const char *h = lg_httpd_header(req, "Authorization");
    return lg_oauth_check_bearer(signer, h, aud, scope, lg_now_us() / 1000000, out, http_status);
}

void lg_oauth_reply_denied(lg_httpd_req_t *req, int http_status, const char *scope)
{
    if (http_status == 403) {
        char v[LG_TOKEN_SCOPE_MAX + 64];
        snprintf(v, sizeof(v), "Bearer error=\"insufficient_scope\", scope=\"%s\"",
                 scope ? scope : "");
        lg_httpd_add_header(req, "WWW-Authenticate", v);
        lg_http_reply_problem(req, 403, "Forbidden", "the access token does not grant this API",
                              NULL, NULL, 0, 0);
        return;
    }
    /* Whatever was wrong with the token, the answer is the same. */
    lg_httpd_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    lg_http_reply_problem(req, 401, "Unauthorized", "a valid access token is required", NULL, NULL,
                          0, 0);
}
