/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ES256 JWTs and scrypt secret hashes (see token.h). Tokens are made and
 * checked here with OpenSSL 3's EVP interface on one EC P-256 key; ECDSA
 * signatures travel in the JOSE form (r||s, 32 bytes each, RFC 7518 §3.4)
 * and are converted to and from the DER form EVP speaks. The token endpoint
 * (oauth.c) issues; lg_oauth_authenticate verifies on every northbound
 * and exposure request. Verification trusts nothing in a token before its
 * signature has been checked against our key with the one algorithm we
 * allow, so the header can only ever select ES256 ("none", HS256 keyed with
 * the public key and friends fail on the alg comparison).
 *
 * Every refusal costs the same work (issue 17): a token not found in the
 * verified-token cache is cut, decoded, its header read, one ES256
 * signature checked and its claims read whatever fails first, and the
 * verdict is taken at the end; a token that cannot even be cut into its
 * parts has a dummy token of the signer's own (issued at start-up, for no
 * audience we serve, long expired) checked in its place, its verdict thrown
 * away. So a refusal never tells by its timing how far a token got.
 */
#include "locguard/core/token.h"

#include "locguard/core/base64.h"

#include "locguard/core/log.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char lg_token_err_malformed[] = "malformed token";
const char lg_token_err_algorithm[] = "algorithm not allowed";
const char lg_token_err_key[] = "unknown key id";
const char lg_token_err_signature[] = "bad signature";
const char lg_token_err_issuer[] = "wrong issuer";
const char lg_token_err_audience[] = "wrong audience";
const char lg_token_err_expired[] = "token expired";
const char lg_token_err_not_yet[] = "token not yet valid";
const char lg_token_err_claims[] = "missing or malformed claims";

#define KEY_FILE_MAX (64 * 1024) /* a PEM key file is a few hundred bytes */
#define ISSUER_MAX   255
#define AUD_MAX      255
#define TTL_MAX_S    86400
#define COORD_BYTES  32  /* P-256: r and s are 32 bytes each */
#define HEADER_MAX   512 /* decoded header bytes we accept */
#define JTI_BYTES    16
/* The dummy token: an audience no zone serves, claims of the usual sizes, expired in 2001. */
#define DUMMY_AUDIENCE "urn:locguard:dummy"
#define DUMMY_SUBJECT  "locguard-dummy"
#define DUMMY_SCOPE    "locguard-dummy-scope"
#define DUMMY_ISSUED_S INT64_C(1000000000)

/* scrypt parameters of new hashes (token.h), and the bounds on stored ones. */
#define SCRYPT_N        16384
#define SCRYPT_R        8
#define SCRYPT_P        1
#define SCRYPT_SALT     16
#define SCRYPT_HASH     32
#define SCRYPT_MAXMEM   (64u * 1024 * 1024) /* 128*N*r*p bytes at most: N=2^14,r=8 is 16 MiB */
#define SCRYPT_N_MIN    1024
#define SCRYPT_N_MAX    (1u << 20)
#define SCRYPT_SALT_MIN 8  /* stored salt: 8..64 bytes */
#define SCRYPT_HASH_MIN 16 /* stored hash: 16..64 bytes */
#define SCRYPT_PART_MAX 64

/* Tokens verified before (see lg_token_verify): direct-mapped by digest. */
#define VERIFIED_SLOTS 512 /* a power of two */

typedef struct verified {
    uint8_t digest[32];       /* SHA-256(aud, NUL, token); all zero: empty slot */
    lg_token_claims_t claims; /* what the token said */
} verified_t;

/* What verification writes through a const signer: the cache and a count. */
typedef struct verify_state {
    verified_t verified[VERIFIED_SLOTS]; /* tokens verified before */
    uint64_t signature_checks;           /* ES256 checks lg_token_verify has run */
} verify_state_t;

struct lg_token_signer {
    EVP_PKEY *pkey;        /* the EC P-256 key pair: signs and verifies */
    char *issuer;          /* iss of tokens we issue and accept */
    char kid[17];          /* 16 hex digits of SHA-256(SubjectPublicKeyInfo DER) */
    verify_state_t *state; /* written through a const signer */
    char *dummy;           /* a token of ours, checked in place of an unparsable one */
    size_t dummy_len;      /* its length */
    uint8_t dummy_jose[2 * COORD_BYTES]; /* its signature, for a token whose own cannot be read */
};

/* A token cut at its dots and decoded. */
typedef struct parts {
    const char *input;             /* header.payload, what the signature covers */
    size_t input_len;              /* its length */
    uint8_t header[HEADER_MAX];    /* the decoded header ... */
    size_t header_len;             /* ... of this many bytes */
    uint8_t *payload;              /* the decoded payload (malloc'ed; the caller frees) ... */
    size_t payload_len;            /* ... of this many bytes */
    uint8_t jose[2 * COORD_BYTES]; /* the signature, when has_jose */
    bool has_jose;                 /* the third part is 64 bytes in base64url */
} parts_t;

static const char *split_token(const char *jwt, size_t len, parts_t *p);

/* ---- keys ------------------------------------------------------------------------------ */

static void log_ssl_errors(const char *what)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        lg_error("token: %s: %s", what, buf);
    }
}

/* A PEM password callback that never supplies one: an encrypted key fails instead of prompting. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Sets the signer's kid from its public key. */
static bool compute_kid(lg_token_signer_t *s)
{
    unsigned char *der = NULL;
    unsigned char digest[32];
    unsigned int dlen = 0;
    int len = i2d_PUBKEY(s->pkey, &der);
    if (len <= 0)
        return false;
    bool ok = EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    if (!ok)
        return false;
    for (int i = 0; i < 8; i++)
        snprintf(s->kid + 2 * i, 3, "%02x", digest[i]);
    return true;
}

/*
 * Issues the signer's dummy token (for DUMMY_AUDIENCE, long expired, about
 * as long as the tokens of the token endpoints) and keeps its signature
 * apart. False when issuing fails.
 */
static bool make_dummy(lg_token_signer_t *s)
{
    parts_t p;
    if (lg_token_issue(s, DUMMY_SUBJECT, DUMMY_AUDIENCE, DUMMY_SCOPE, 1, DUMMY_ISSUED_S,
                       &s->dummy) != LG_OK) {
        lg_error("token: cannot issue the dummy token");
        return false;
    }
    s->dummy_len = strlen(s->dummy);
    bool ok = split_token(s->dummy, s->dummy_len, &p) == NULL && p.has_jose;
    if (ok)
        memcpy(s->dummy_jose, p.jose, sizeof(s->dummy_jose));
    free(p.payload);
    return ok;
}

lg_token_signer_t *lg_token_signer_new_pem(const char *pem, size_t len, const char *issuer)
{
    lg_token_signer_t *s = NULL;
    char group[32];
    size_t glen = 0;
    if (len > KEY_FILE_MAX || issuer == NULL || issuer[0] == '\0' || strlen(issuer) > ISSUER_MAX) {
        lg_error("token: the signing key or the issuer is out of bounds");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        goto failed;
    s = lg_xcalloc(1, sizeof(*s));
    s->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    if (s->pkey == NULL) {
        log_ssl_errors("cannot read the signing key");
        goto failed;
    }
    if (!EVP_PKEY_is_a(s->pkey, "EC") ||
        EVP_PKEY_get_group_name(s->pkey, group, sizeof(group), &glen) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        lg_error("token: the signing key is not an EC P-256 key (ES256 needs one)");
        goto failed;
    }
    if (!compute_kid(s)) {
        log_ssl_errors("cannot derive the key id");
        goto failed;
    }
    s->issuer = lg_xstrdup(issuer);
    s->state = lg_xcalloc(1, sizeof(*s->state));
    if (!make_dummy(s))
        goto failed;
    return s;
failed:
    ERR_clear_error();
    lg_token_signer_free(s);
    return NULL;
}

lg_token_signer_t *lg_token_signer_new(const char *es256_key_pem_file, const char *issuer)
{
    lg_token_signer_t *s = NULL;
    char *buf = lg_xmalloc(KEY_FILE_MAX + 1);
    size_t n = 0;
    struct stat st;
    FILE *f = fopen(es256_key_pem_file, "r");
    if (f == NULL) {
        lg_error("token: cannot open the signing key %s: %s", es256_key_pem_file, strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
        lg_warn("token: the signing key %s is readable by group or others", es256_key_pem_file);
    n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    fclose(f);
    if (n > KEY_FILE_MAX) {
        lg_error("token: the signing key %s is too large", es256_key_pem_file);
        goto done;
    }
    s = lg_token_signer_new_pem(buf, n, issuer);
    if (s == NULL)
        lg_error("token: no usable ES256 key in %s", es256_key_pem_file);
done:
    OPENSSL_cleanse(buf, KEY_FILE_MAX + 1);
    free(buf);
    return s;
}

void lg_token_signer_free(lg_token_signer_t *signer)
{
    if (signer == NULL)
        return;
    EVP_PKEY_free(signer->pkey);
    free(signer->issuer);
    free(signer->state);
    free(signer->dummy);
    free(signer);
}

const char *lg_token_signer_kid(const lg_token_signer_t *signer)
{
    return signer->kid;
}

uint64_t lg_token_signer_signature_checks(const lg_token_signer_t *signer)
{
    return signer->state->signature_checks;
}

/* ---- issue ----------------------------------------------------------------------------- */

/* Appends the base64url form of data to buf at *pos; false when it does not fit. */
static bool append_b64url(char *buf, size_t size, size_t *pos, const void *data, size_t len)
{
    size_t n = lg_base64_encode(data, len, true, buf + *pos, size - *pos);
    if (n == 0 && len > 0)
        return false;
    *pos += n;
    return true;
}

/* Signs input with ES256 into the 64-byte JOSE form. */
static bool sign_es256(EVP_PKEY *pkey, const char *input, size_t len, uint8_t jose[2 * COORD_BYTES])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[80]; /* an ECDSA-P256 DER signature is at most 72 bytes */
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    bool ok = false;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, len) != 1)
        goto out;
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL)
        goto out;
    const BIGNUM *r = ECDSA_SIG_get0_r(sig), *s = ECDSA_SIG_get0_s(sig);
    ok = BN_bn2binpad(r, jose, COORD_BYTES) == COORD_BYTES &&
         BN_bn2binpad(s, jose + COORD_BYTES, COORD_BYTES) == COORD_BYTES;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* True when s is a non-empty string of at most max bytes without control characters. */
static bool is_bounded_text(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strnlen(s, max + 1);
    if (n > max || (n == 0 && !may_be_empty))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int lg_token_issue(lg_token_signer_t *signer, const char *sub, const char *aud, const char *scope,
                   int ttl_s, int64_t now_s, char **out_jwt)
{
    uint8_t jti_raw[JTI_BYTES], jose[2 * COORD_BYTES];
    char jti[2 * JTI_BYTES + 1], header[128];
    char *payload = NULL, *jwt = NULL;
    json_t *claims = NULL;
    *out_jwt = NULL;
    if (!is_bounded_text(sub, LG_TOKEN_SUB_MAX - 1, false) ||
        !is_bounded_text(aud, AUD_MAX, false) ||
        !is_bounded_text(scope, LG_TOKEN_SCOPE_MAX - 1, true) || ttl_s <= 0 || ttl_s > TTL_MAX_S)
        return LG_ERR;
    if (RAND_bytes(jti_raw, sizeof(jti_raw)) != 1) {
        log_ssl_errors("RAND_bytes");
        return LG_ERR;
    }
    for (size_t i = 0; i < sizeof(jti_raw); i++)
        snprintf(jti + 2 * i, 3, "%02x", jti_raw[i]);
    int hlen = snprintf(header, sizeof(header),
                        "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", signer->kid);
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", signer->issuer, "sub",
                       sub, "aud", aud, "scope", scope, "iat", (json_int_t)now_s, "nbf",
                       (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s), "jti", jti);
    if (claims == NULL)
        return LG_ERR; /* not UTF-8 */
    payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(claims);
    if (payload == NULL)
        abort(); /* jansson fails only on out-of-memory here */
    size_t plen = strlen(payload);
    size_t size = ((size_t)hlen + plen + 2 * COORD_BYTES) * 4 / 3 + 16;
    size_t pos = 0;
    jwt = lg_xmalloc(size);
    if (!append_b64url(jwt, size, &pos, header, (size_t)hlen))
        goto failed;
    jwt[pos++] = '.';
    if (!append_b64url(jwt, size, &pos, payload, plen))
        goto failed;
    if (!sign_es256(signer->pkey, jwt, pos, jose)) {
        log_ssl_errors("signing");
        goto failed;
    }
    jwt[pos++] = '.';
    if (!append_b64url(jwt, size, &pos, jose, sizeof(jose)))
        goto failed;
    free(payload);
    *out_jwt = jwt;
    return LG_OK;
failed:
    free(payload);
    free(jwt);
    return LG_ERR;
}

/* ---- verify ---------------------------------------------------------------------------- */

/* True when v is a JSON string equal to the n bytes of s (no embedded NUL tricks). */
static bool json_string_is(const json_t *v, const char *s, size_t n)
{
    return json_is_string(v) && json_string_length(v) == n &&
           memcmp(json_string_value(v), s, n) == 0;
}

/* Checks the JOSE header: alg pinned to ES256, no crit, our kid when one is named. */
static const char *check_header(const lg_token_signer_t *signer, const uint8_t *data, size_t len)
{
    json_t *h = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    const char *err = NULL;
    if (!json_is_object(h)) {
        err = lg_token_err_malformed;
        goto out;
    }
    if (!json_string_is(json_object_get(h, "alg"), "ES256", 5) ||
        json_object_get(h, "crit") != NULL) {
        err = lg_token_err_algorithm;
        goto out;
    }
    const json_t *kid = json_object_get(h, "kid");
    if (kid != NULL && !json_string_is(kid, signer->kid, strlen(signer->kid))) {
        err = lg_token_err_key;
        goto out;
    }
    const json_t *typ = json_object_get(h, "typ");
    if (typ != NULL && !json_string_is(typ, "JWT", 3))
        err = lg_token_err_malformed;
out:
    json_decref(h);
    return err;
}

/* Verifies the 64-byte JOSE signature jose over input with ES256. */
static bool verify_es256(EVP_PKEY *pkey, const char *input, size_t len,
                         const uint8_t jose[2 * COORD_BYTES])
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(jose, COORD_BYTES, NULL);
    BIGNUM *s = BN_bin2bn(jose + COORD_BYTES, COORD_BYTES, NULL);
    EVP_MD_CTX *ctx = NULL;
    unsigned char *der = NULL;
    bool ok = false;
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by sig now */
    int der_len = i2d_ECDSA_SIG(sig, &der);
    if (der_len <= 0)
        goto out;
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)input, len) == 1;
out:
    ERR_clear_error(); /* a bad signature leaves errors on the queue: not ours to report */
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return ok;
}

/* True when aud (a string, or an array of strings) names want. */
static bool audience_matches(const json_t *aud, const char *want)
{
    size_t n = strlen(want), i;
    const json_t *v;
    if (json_is_string(aud))
        return json_string_is(aud, want, n);
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, v)
    {
        if (json_string_is(v, want, n))
            return true;
    }
    return false;
}

/* Copies a JSON string claim that must fit in size bytes, contain no NUL and (min 1) not be empty.
 */
static bool copy_claim(const json_t *v, char *dst, size_t size, size_t min)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n < min || n >= size || memchr(s, '\0', n) != NULL)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/*
 * Checks the claims, filling out. Run on every token lg_token_verify has not
 * seen before, signed or not: its verdict counts only once the signature verified.
 */
static const char *check_claims(const lg_token_signer_t *signer, const uint8_t *data, size_t len,
                                const char *aud, int64_t now_s, lg_token_claims_t *out)
{
    json_t *c = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    const char *err = NULL;
    if (!json_is_object(c)) {
        err = lg_token_err_malformed;
        goto out;
    }
    if (!json_string_is(json_object_get(c, "iss"), signer->issuer, strlen(signer->issuer))) {
        err = lg_token_err_issuer;
        goto out;
    }
    if (!audience_matches(json_object_get(c, "aud"), aud)) {
        err = lg_token_err_audience;
        goto out;
    }
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    if (!json_is_integer(exp) || !json_is_integer(nbf)) {
        err = lg_token_err_claims;
        goto out;
    }
    /* now_s is a sane clock value: these differences cannot overflow. */
    if (json_integer_value(exp) <= now_s - LG_TOKEN_LEEWAY_S) {
        err = lg_token_err_expired;
        goto out;
    }
    if (json_integer_value(nbf) > now_s + LG_TOKEN_LEEWAY_S) {
        err = lg_token_err_not_yet;
        goto out;
    }
    if (!copy_claim(json_object_get(c, "sub"), out->sub, sizeof(out->sub), 1) ||
        !copy_claim(json_object_get(c, "scope"), out->scope, sizeof(out->scope), 0)) {
        err = lg_token_err_claims;
        goto out;
    }
    out->exp = json_integer_value(exp);
    out->nbf = json_integer_value(nbf);
out:
    json_decref(c);
    return err;
}

/* SHA-256 of aud, a NUL and the token: the key of the verified-token cache. */
static bool verified_digest(const char *aud, const char *jwt, size_t len, uint8_t digest[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, aud, strlen(aud) + 1) == 1 &&
              EVP_DigestUpdate(ctx, jwt, len) == 1 && EVP_DigestFinal_ex(ctx, digest, &n) == 1 &&
              n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        ERR_clear_error();
    return ok;
}

static verified_t *verified_slot(const lg_token_signer_t *signer, const uint8_t digest[32])
{
    uint32_t h = (uint32_t)digest[0] | (uint32_t)digest[1] << 8;
    return &signer->state->verified[h & (VERIFIED_SLOTS - 1)];
}

/*
 * True (and out filled) when the token of digest was verified before for
 * this audience and the clock still allows it. A remembered token the clock
 * now refuses is forgotten: it is checked again like any other token, so
 * its refusal costs what every refusal costs.
 */
static bool recall(const lg_token_signer_t *signer, const uint8_t digest[32], int64_t now_s,
                   lg_token_claims_t *out)
{
    verified_t *v = verified_slot(signer, digest);
    if (CRYPTO_memcmp(v->digest, digest, sizeof(v->digest)) != 0)
        return false;
    if (v->claims.exp <= now_s - LG_TOKEN_LEEWAY_S || v->claims.nbf > now_s + LG_TOKEN_LEEWAY_S) {
        memset(v, 0, sizeof(*v));
        return false;
    }
    *out = v->claims;
    return true;
}

/*
 * Cuts the len bytes of jwt into its three parts and decodes them into p:
 * NULL, or lg_token_err_malformed when there are not exactly three, the
 * header or the payload is empty or not base64url. A third part that is
 * not 64 bytes of base64url is not malformed but leaves has_jose false.
 * p->payload is to be freed in any case.
 */
static const char *split_token(const char *jwt, size_t len, parts_t *p)
{
    memset(p, 0, sizeof(*p));
    const char *dot1 = memchr(jwt, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt)) != NULL)
        return lg_token_err_malformed;
    size_t h_len = (size_t)(dot1 - jwt), p_len = (size_t)(dot2 - dot1 - 1);
    size_t s_len = len - (size_t)(dot2 + 1 - jwt), sig_len = 0;
    if (h_len == 0 || p_len == 0)
        return lg_token_err_malformed;
    p->payload = lg_xmalloc(p_len);
    if (lg_base64_decode(jwt, h_len, true, p->header, sizeof(p->header), &p->header_len) != LG_OK ||
        lg_base64_decode(dot1 + 1, p_len, true, p->payload, p_len, &p->payload_len) != LG_OK) {
        p->header_len = p->payload_len = 0;
        return lg_token_err_malformed;
    }
    p->input = jwt;
    p->input_len = (size_t)(dot2 - jwt);
    p->has_jose =
        s_len == 86 /* base64url of 64 bytes */ &&
        lg_base64_decode(dot2 + 1, s_len, true, p->jose, sizeof(p->jose), &sig_len) == LG_OK &&
        sig_len == sizeof(p->jose);
    return NULL;
}

/* True when the len bytes of jwt hold exactly two dots. */
static bool has_three_parts(const char *jwt, size_t len)
{
    const char *dot1 = memchr(jwt, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt)) : NULL;
    return dot2 != NULL && memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt)) == NULL;
}

int lg_token_verify(const lg_token_signer_t *signer, const char *jwt, size_t len, const char *aud,
                    int64_t now_s, lg_token_claims_t *out)
{
    uint8_t digest[32];
    lg_token_claims_t claims;
    parts_t p;
    memset(out, 0, sizeof(*out));
    memset(&claims, 0, sizeof(claims));
    /*
     * Every step runs whatever fails first; the verdict is taken at the end.
     * What is not even a token (empty, too long, a NUL, not three parts) is
     * refused as malformed, and the dummy token goes through every step in
     * its place, from the digest on; its verdict is thrown away.
     */
    bool is_token = len > 0 && len <= LG_TOKEN_MAX_BYTES && memchr(jwt, '\0', len) == NULL &&
                    has_three_parts(jwt, len);
    const char *err = is_token ? NULL : lg_token_err_malformed;
    const char *t = is_token ? jwt : signer->dummy;
    size_t t_len = is_token ? len : signer->dummy_len;
    bool has_digest = verified_digest(aud, t, t_len, digest) && is_token;
    if (has_digest && recall(signer, digest, now_s, out))
        return LG_OK; /* verified before: not a refusal */
    const char *split_err = split_token(t, t_len, &p);
    if (split_err != NULL) {
        /* Empty parts or bad base64: the dummy's parts instead. */
        free(p.payload);
        err = split_err;
        (void)split_token(signer->dummy, signer->dummy_len, &p); /* made by make_dummy */
    }
    /* The header first, so an unsigned "alg":"none" token is named for what it is. */
    const char *header_err = check_header(signer, p.header, p.header_len);
    /* A signature that cannot be read is checked as the dummy's: the same ES256 work. */
    bool is_signed = verify_es256(signer->pkey, p.input, p.input_len,
                                  p.has_jose ? p.jose : signer->dummy_jose) &&
                     p.has_jose;
    signer->state->signature_checks++;
    /* Read even when unsigned (the result is then thrown away), so it costs the same. */
    const char *claims_err = check_claims(signer, p.payload, p.payload_len, aud, now_s, &claims);
    free(p.payload);
    if (err == NULL)
        err = header_err;
    if (err == NULL && !is_signed)
        err = lg_token_err_signature;
    if (err == NULL)
        err = claims_err;
    if (err != NULL) {
        OPENSSL_cleanse(&claims, sizeof(claims));
        out->err = err;
        return LG_ERR;
    }
    *out = claims;
    if (has_digest) {
        verified_t *v = verified_slot(signer, digest);
        memcpy(v->digest, digest, sizeof(digest));
        v->claims = claims;
    }
    return LG_OK;
}

bool lg_token_scope_contains(const char *list, const char *scope)
{
    size_t n = strlen(scope);
    if (n == 0)
        return false;
    for (const char *p = list; *p != '\0';) {
        size_t tok = strcspn(p, " ");
        if (tok == n && memcmp(p, scope, n) == 0)
            return true;
        p += tok;
        while (*p == ' ')
            p++;
    }
    return false;
}

bool lg_token_has_scope(const lg_token_claims_t *claims, const char *scope)
{
    return lg_token_scope_contains(claims->scope, scope);
}

/* ---- client secrets -------------------------------------------------------------------- */

int lg_token_new_secret(char *out, size_t size)
{
    uint8_t raw[32];
    int rc = LG_ERR;
    if (size > 0)
        out[0] = '\0';
    if (size < LG_TOKEN_SECRET_SIZE)
        return LG_ERR;
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        log_ssl_errors("RAND_bytes");
        goto out;
    }
    if (lg_base64_encode(raw, sizeof(raw), true, out, size) == LG_TOKEN_SECRET_SIZE - 1)
        rc = LG_OK;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

int lg_token_hash_secret(const char *secret, char *out, size_t out_size)
{
    uint8_t salt[SCRYPT_SALT], hash[SCRYPT_HASH];
    char salt64[32], hash64[48];
    int rc = LG_ERR;
    if (out_size > 0)
        out[0] = '\0';
    if (out_size < LG_TOKEN_HASH_MAX)
        return LG_ERR;
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        log_ssl_errors("RAND_bytes");
        goto out;
    }
    if (EVP_PBE_scrypt(secret, strlen(secret), salt, sizeof(salt), SCRYPT_N, SCRYPT_R, SCRYPT_P,
                       SCRYPT_MAXMEM, hash, sizeof(hash)) != 1) {
        log_ssl_errors("scrypt");
        goto out;
    }
    if (lg_base64_encode(salt, sizeof(salt), false, salt64, sizeof(salt64)) == 0 ||
        lg_base64_encode(hash, sizeof(hash), false, hash64, sizeof(hash64)) == 0)
        goto out;
    int n = snprintf(out, out_size, "scrypt$%d$%d$%d$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, salt64,
                     hash64);
    if (n > 0 && (size_t)n < out_size)
        rc = LG_OK;
    else
        out[0] = '\0';
out:
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

/* Parses a decimal field of at most 7 digits, no sign, no leading zero, ending at '$'. */
static bool parse_field(const char **p, uint64_t *v)
{
    const char *s = *p;
    size_t n = 0;
    *v = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 8) {
        *v = *v * 10 + (uint64_t)(s[n] - '0');
        n++;
    }
    if (n == 0 || n > 7 || s[n] != '$' || (s[0] == '0'))
        return false;
    *p = s + n + 1;
    return true;
}

bool lg_token_secret_matches(const char *secret, const char *stored)
{
    uint8_t salt[SCRYPT_PART_MAX], want[SCRYPT_PART_MAX], got[SCRYPT_PART_MAX];
    size_t salt_len, want_len;
    uint64_t n, r, p;
    bool ok = false;
    const char *s = stored;
    if (stored == NULL || strnlen(stored, LG_TOKEN_HASH_MAX) >= LG_TOKEN_HASH_MAX ||
        strncmp(s, "scrypt$", 7) != 0)
        return false;
    s += 7;
    if (!parse_field(&s, &n) || !parse_field(&s, &r) || !parse_field(&s, &p))
        return false;
    /* Bounded so a corrupted row cannot make us spend seconds or gigabytes. */
    if (n < SCRYPT_N_MIN || n > SCRYPT_N_MAX || (n & (n - 1)) != 0 || r < 1 || r > 32 || p < 1 ||
        p > 16 || 128 * n * r * p > SCRYPT_MAXMEM)
        return false;
    const char *dollar = strchr(s, '$');
    if (dollar == NULL)
        return false;
    if (lg_base64_decode(s, (size_t)(dollar - s), false, salt, sizeof(salt), &salt_len) != LG_OK ||
        lg_base64_decode(dollar + 1, strlen(dollar + 1), false, want, sizeof(want), &want_len) !=
            LG_OK ||
        salt_len < SCRYPT_SALT_MIN || want_len < SCRYPT_HASH_MIN)
        return false;
    if (EVP_PBE_scrypt(secret, strlen(secret), salt, salt_len, n, r, p, SCRYPT_MAXMEM, got,
                       want_len) != 1) {
        ERR_clear_error();
        goto out;
    }
    ok = CRYPTO_memcmp(got, want, want_len) == 0;
out:
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}
