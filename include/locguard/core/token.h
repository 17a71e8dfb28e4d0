/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access tokens and client secrets for the northbound API: ES256 JSON Web
 * Tokens (RFC 7519, JOSE RFC 7515/7518) issued by the token endpoint
 * (oauth.c) and checked on every T8 request, and the scrypt hashes under
 * which client secrets are stored. Pure crypto on plain data: the only I/O
 * is reading the signing key file once at start-up.
 *
 * Verification pins the algorithm to ES256 and believes no claim before the
 * signature has verified; every failure has its own constant error string
 * for logs and tests, but callers facing the network must answer all of
 * them the same way, and every failure costs the same work.
 */
#ifndef LOCGUARD_TOKEN_H
#define LOCGUARD_TOKEN_H

#include "locguard/core/common.h"

typedef struct lg_token_signer lg_token_signer_t;

#define LG_TOKEN_MAX_BYTES   4096 /* longest token verify accepts */
#define LG_TOKEN_LEEWAY_S    30   /* clock skew tolerated on exp and nbf */
#define LG_TOKEN_SUB_MAX     65   /* sub: at most 64 bytes + NUL */
#define LG_TOKEN_SCOPE_MAX   256  /* scope: at most 255 bytes + NUL */
#define LG_TOKEN_HASH_MAX    160  /* room for a stored "scrypt$..." secret hash + NUL */
#define LG_TOKEN_SECRET_SIZE 44   /* a generated secret: 43 base64url characters + NUL */

/* What a verified token says. */
typedef struct lg_token_claims {
    char sub[LG_TOKEN_SUB_MAX];     /* the authenticated party (the SCS's scsAsId) */
    char scope[LG_TOKEN_SCOPE_MAX]; /* space-separated scope tokens, possibly empty */
    int64_t exp;                    /* expiry, seconds since the epoch */
    int64_t nbf;                    /* not before, seconds since the epoch */
    const char *err; /* on failure: one of lg_token_err_* (compare by pointer); never shown */
} lg_token_claims_t;

/* Why lg_token_verify refused a token. Compare by pointer. */
extern const char lg_token_err_malformed[]; /* not three base64url parts, bad JSON, too long */
extern const char lg_token_err_algorithm[]; /* alg is not exactly "ES256", or "crit" present */
extern const char lg_token_err_key[];       /* kid names another key */
extern const char lg_token_err_signature[]; /* the signature does not verify */
extern const char lg_token_err_issuer[];    /* iss is not ours */
extern const char lg_token_err_audience[];  /* aud does not name the expected audience */
extern const char lg_token_err_expired[];   /* exp <= now - leeway */
extern const char lg_token_err_not_yet[];   /* nbf > now + leeway */
extern const char lg_token_err_claims[];    /* a required claim is missing, mistyped or too long */

/*
 * Loads the EC P-256 private key in PEM from es256_key_pem_file and keeps
 * issuer (copied) for the iss claim. Returns NULL (and logs why) when the
 * file cannot be read or holds anything but a P-256 key.
 */
lg_token_signer_t *lg_token_signer_new(const char *es256_key_pem_file, const char *issuer);

/* The same from a PEM held in memory (len bytes), for tests and fuzzing. */
lg_token_signer_t *lg_token_signer_new_pem(const char *pem, size_t len, const char *issuer);

/* Frees it. Accepts NULL. */
void lg_token_signer_free(lg_token_signer_t *signer);

/* The key id put in every header: first 16 hex digits of SHA-256(public key DER). */
const char *lg_token_signer_kid(const lg_token_signer_t *signer);

/*
 * How many ES256 signature checks lg_token_verify has run with this signer:
 * one for every call that does not find the token among those it verified
 * before, whatever the outcome (a token it cannot parse has a dummy checked
 * in its place), none for the calls that do. For tests and metrics.
 */
uint64_t lg_token_signer_signature_checks(const lg_token_signer_t *signer);

/*
 * Issues a token for sub and aud with the given scope (space-separated, may
 * be ""), valid from now_s for ttl_s seconds: header {"alg":"ES256",
 * "typ":"JWT","kid":...}, claims iss, sub, aud, scope, iat, nbf, exp and a
 * random jti. *out_jwt gets a malloc'ed string the caller frees. Returns
 * LG_ERR when an argument is out of bounds or signing or the random source
 * fails (*out_jwt is then NULL).
 */
LG_MUST_CHECK int lg_token_issue(lg_token_signer_t *signer, const char *sub, const char *aud,
                                 const char *scope, int ttl_s, int64_t now_s, char **out_jwt);

/*
 * Verifies the len bytes of jwt (no NUL needed) at time now_s: exactly
 * three base64url parts, at most LG_TOKEN_MAX_BYTES, alg exactly "ES256",
 * the signature (JOSE r||s) by the signer's key, then iss = ours, aud = aud
 * (a string, or an array containing it), exp > now - leeway, nbf <= now +
 * leeway, sub and scope strings that fit. On success fills out (err NULL)
 * and returns LG_OK; otherwise returns LG_ERR with out->err saying why (the
 * first failure in that order) and the other fields empty.
 *
 * Every refusal costs the same: each step runs whatever failed before it
 * (the claims are read even when the signature is bad, and thrown away),
 * and a token that cannot be cut into three decodable parts (empty, too
 * long, a NUL...) has a dummy token of the signer's checked in its place:
 * one signature check and one reading of a header and of claims, always.
 *
 * A client sends the same token with every request for its lifetime, and
 * the ECDSA check is most of the cost of a request (about 75 µs here): the
 * signer remembers the claims of tokens it verified (a few hundred, by
 * SHA-256 of the audience and the whole token), and a token it has seen
 * skips the parsing and the signature. Tokens that fail are not
 * remembered, and a remembered token that has expired (or, the clock set
 * back, is not yet valid) is forgotten and checked again like any other:
 * only a token that passes is ever answered from memory.
 */
LG_MUST_CHECK int lg_token_verify(const lg_token_signer_t *signer, const char *jwt, size_t len,
                                  const char *aud, int64_t now_s, lg_token_claims_t *out);

/* True when the claims' space-separated scope list contains scope exactly. */
bool lg_token_has_scope(const lg_token_claims_t *claims, const char *scope);

/* True when scope appears as a whole token in the space-separated list. */
bool lg_token_scope_contains(const char *list, const char *scope);

/*
 * Hashes secret with scrypt (N=16384, r=8, p=1, 16 random salt bytes) into
 * out as "scrypt$16384$8$1$<salt base64>$<hash base64>" (standard base64
 * with padding). out_size must be at least LG_TOKEN_HASH_MAX. Returns LG_ERR
 * when the random source or scrypt fails.
 */
LG_MUST_CHECK int lg_token_hash_secret(const char *secret, char *out, size_t out_size);

/*
 * True when secret hashes to stored (as written by lg_token_hash_secret;
 * other bounded N/r/p are accepted). The comparison is constant-time; a
 * malformed stored string never matches. Costs one scrypt (~56 ms here).
 */
bool lg_token_secret_matches(const char *secret, const char *stored);

/*
 * Writes a new client secret into out: 32 random bytes as 43 base64url
 * characters. size must be at least LG_TOKEN_SECRET_SIZE. Returns LG_ERR
 * (out emptied) when the random source fails: never a weak secret.
 */
LG_MUST_CHECK int lg_token_new_secret(char *out, size_t size);

#endif
