/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OAuth 2.0 authorization server built into locguard (TR 33.889 Annex A
 * puts it inside the SCEF) and the bearer-token check of the northbound
 * API. POST /oauth2/token serves the client credentials grant (RFC 6749
 * §4.4): the client authenticates with HTTP Basic or client_id and
 * client_secret form fields, its secret is checked against the scrypt hash
 * in api_client, and it gets a short-lived ES256 JWT from token.c whose sub
 * is its SCS's scsAsId. Every T8 request then passes lg_oauth_authenticate.
 *
 * The decision logic (parsing the token request, choosing the scope,
 * checking an Authorization header) is plain functions on plain data so
 * the unit tests call it directly; the handler adds the database lookup.
 */
#ifndef LOCGUARD_OAUTH_H
#define LOCGUARD_OAUTH_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/core/token.h"

#include "locguard/core/httpd_req.h"

typedef struct lg_oauth lg_oauth_t;

#define LG_OAUTH_CLIENT_ID_MAX 65   /* client_id: 1..64 of [A-Za-z0-9._-] + NUL (api_client) */
#define LG_OAUTH_SECRET_MAX    257  /* client_secret: at most 256 bytes + NUL */
#define LG_OAUTH_BODY_MAX      4096 /* a token request body is a few short fields */
#define LG_OAUTH_CACHE_SIZE    1024 /* successful secret checks remembered ... */
#define LG_OAUTH_CACHE_TTL_S   300  /* ... for this long */
#define LG_OAUTH_SCRYPT_PER_S  5    /* scrypt runs (cache misses) allowed per second ... */
#define LG_OAUTH_SCRYPT_BURST  10   /* ... with this burst; beyond: 503 temporarily_unavailable */

/* RFC 6749 §5.2 error codes, as returned by the functions below. Compare by pointer. */
extern const char lg_oauth_err_invalid_request[];        /* "invalid_request", 400 */
extern const char lg_oauth_err_invalid_client[];         /* "invalid_client", 401 */
extern const char lg_oauth_err_unsupported_grant_type[]; /* "unsupported_grant_type", 400 */
extern const char lg_oauth_err_invalid_scope[];          /* "invalid_scope", 400 */
extern const char lg_oauth_err_unauthorized_client[];    /* "unauthorized_client", 400 */
/* RFC 6750 §3.1: lg_oauth_check_bearer's out->err for a valid token without the scope (403). */
extern const char lg_oauth_err_insufficient_scope[];

/* A token request as parsed from its headers and form body. */
typedef struct lg_oauth_request {
    char client_id[LG_OAUTH_CLIENT_ID_MAX];
    char client_secret[LG_OAUTH_SECRET_MAX]; /* wipe with OPENSSL_cleanse when done */
    char scope[LG_TOKEN_SCOPE_MAX];          /* requested scopes, valid RFC 6749 §3.3 syntax */
    bool has_scope;                          /* false: the client asked for no scope (= all) */
    bool used_basic;                         /* credentials came in an HTTP Basic header */
} lg_oauth_request_t;

/*
 * Parses a token request: content_type (may be NULL) must be
 * application/x-www-form-urlencoded, body (len bytes, at most
 * LG_OAUTH_BODY_MAX) holds grant_type=client_credentials and optionally
 * scope, no parameter twice; the client authenticates either with
 * authorization (the Authorization header, may be NULL) "Basic
 * base64(urlencode(id):urlencode(secret))" (RFC 6749 §2.3.1) or with the
 * client_id and client_secret fields, never both. Returns NULL and fills
 * out, or one of the lg_oauth_err_* codes (out->used_basic still set when
 * a Basic header was seen). Unknown parameters are ignored (§3.2).
 */
const char *lg_oauth_parse_request(const char *content_type, const char *authorization,
                                   const char *body, size_t len, lg_oauth_request_t *out);

/*
 * Chooses the scope of a token: the requested scopes when has_scope (each
 * must be in the client's space-separated allowed list), else all of
 * allowed. Writes the space-separated result to out. Returns NULL or
 * lg_oauth_err_invalid_scope (a scope the client may not have, or a result
 * that does not fit in size).
 */
const char *lg_oauth_grant_scope(const char *requested, bool has_scope, const char *allowed,
                                 char *out, size_t size);

/* The token endpoints' settings ("[oauth]" in the config; defaults in config.c's table). */
typedef struct lg_oauth_config {
    const char *signing_key; /* EC P-256 private key (PEM) signing access tokens; NULL = none */
    const char *issuer;      /* the "iss" of the tokens */
    int token_ttl_s;         /* access token lifetime */
} lg_oauth_config_t;

/*
 * Creates the token endpoint of a zone (zone: a static string naming it in
 * log lines, "northbound" or "exposure"). db, signer and metrics must
 * outlive it; it issues tokens for audience (copied) valid
 * cfg->token_ttl_s seconds (the signer is made from cfg's other fields).
 * A token's subject is the SCS/AS id of the client's SCS when the client
 * was bound to one (`client add --scs`), else the client id; with
 * requires_scs (the northbound zone, whose API takes the subject as the
 * caller's scsAsId) a client bound to no SCS gets no token: 400
 * unauthorized_client, so a client id can never pass for an SCS id.
 * Returns NULL when the random source fails (it hashes a dummy secret at
 * start-up, so unknown clients cost the same as known ones).
 */
lg_oauth_t *lg_oauth_new(lg_db_t *db, lg_token_signer_t *signer, const char *zone,
                         const char *audience, const lg_oauth_config_t *cfg, bool requires_scs,
                         lg_metrics_t *metrics);

/*
 * Frees it, wiping the cache. Accepts NULL. Lookups under way hold a
 * pointer to it: free the database pool (which completes them) first.
 */
void lg_oauth_free(lg_oauth_t *o);

/*
 * Serves POST /oauth2/token: answers (now or after the client lookup) with
 * RFC 6749 §5.1 {access_token, token_type "Bearer", expires_in, scope} or a
 * §5.2 {error} with 400/401 (401 always carries WWW-Authenticate: Basic),
 * 405 for other methods, 503 temporarily_unavailable when the database is
 * down or the scrypt budget is spent; always Cache-Control: no-store.
 */
void lg_oauth_token_handle(lg_oauth_t *o, lg_httpd_req_t *req);

/*
 * Checks an Authorization header value (may be NULL) for "Bearer <jwt>"
 * (scheme case-insensitive) at now_s: a token that does not verify for aud
 * sets *http_status 401; one that verifies but lacks scope (NULL = no
 * scope needed) sets 403; both return LG_ERR with out->err set (a 403
 * keeps the claims, with err lg_oauth_err_insufficient_scope). Otherwise returns LG_OK,
 * *http_status 200, out filled. A missing header or another scheme is
 * refused as lg_token_err_malformed after the work of any other refusal
 * (lg_token_verify on an empty token).
 */
LG_MUST_CHECK int lg_oauth_check_bearer(const lg_token_signer_t *signer, const char *authorization,
                                        const char *aud, const char *scope, int64_t now_s,
                                        lg_token_claims_t *out, int *http_status);

/* lg_oauth_check_bearer on the request's Authorization header, at the current time. */
LG_MUST_CHECK int lg_oauth_authenticate(const lg_token_signer_t *signer, lg_httpd_req_t *req,
                                        const char *aud, const char *scope, lg_token_claims_t *out,
                                        int *http_status);

/*
 * Replies to a request lg_oauth_authenticate refused: 401 with one fixed
 * ProblemDetails and WWW-Authenticate: Bearer error="invalid_token" whatever
 * the reason, or 403 with error="insufficient_scope" naming scope.
 */
void lg_oauth_reply_denied(lg_httpd_req_t *req, int http_status, const char *scope);

#endif
