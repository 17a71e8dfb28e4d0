/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Standard Webhooks signing and verification, the destination policy, the
 * retry back-off and the payload rewrite used by the notifier. Everything
 * here takes plain data and does no I/O (see webhook.h).
 */
#include "locguard/north/webhook.h"

#include "locguard/core/base64.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_PREFIX   "whsec_"
#define KEY_MAX         128 /* longest decoded secret we accept, in bytes */
#define MAC_LEN         32  /* SHA-256 */
#define MAC_B64_LEN     44  /* base64 of 32 bytes, padded */
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS  (INT64_C(1) << 31) /* about 24 days: keeps the jitter product in 64 bits */

const char LG_WEBHOOK_ERR_NOT_ALLOWED[] = "destination not allowed";
const char LG_WEBHOOK_ERR_NUMERIC_HOST[] = "destination host is a numeric non-standard address";
static const char err_bad_url[] = "destination is not a valid URL";
static const char err_not_https[] = "destination is not https";
static const char err_userinfo[] = "destination has user information";
static const char err_too_long[] = "destination is too long";

/* The HMAC key of a "whsec_<base64>" secret; returns its length or -1. */
static int secret_key(const char *secret, unsigned char *key, size_t key_size)
{
    if (secret == NULL)
        return -1;
    if (strncmp(secret, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1) == 0)
        secret += sizeof(SECRET_PREFIX) - 1;
    size_t n;
    if (lg_base64_decode(secret, strlen(secret), false, key, key_size, &n) != LG_OK || n == 0)
        return -1;
    return (int)n;
}

bool lg_webhook_secret_is_valid(const char *secret)
{
    unsigned char key[KEY_MAX];
    int n = secret_key(secret, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    return n > 0;
}

/* HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}") into mac. */
static int compute_mac(const unsigned char *key, size_t key_len, const char *msg_id,
                       const char *timestamp, const char *body, size_t len,
                       unsigned char mac[MAC_LEN])
{
    int rc = LG_ERR;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t out_len = 0;
    if (ctx == NULL || EVP_MAC_init(ctx, key, key_len, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1 ||
        EVP_MAC_final(ctx, mac, &out_len, MAC_LEN) != 1 || out_len != MAC_LEN)
        goto failed;
    rc = LG_OK;
failed:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return rc;
}

/* Appends "v1,<base64 mac>" for one secret to out (at offset *used). */
static int sign_one(const char *secret, const char *msg_id, const char *timestamp, const char *body,
                    size_t len, char *out, size_t out_size, size_t *used)
{
    unsigned char key[KEY_MAX];
    unsigned char mac[MAC_LEN];
    int rc = LG_ERR;
    int key_len = secret_key(secret, key, sizeof(key));
    if (key_len < 0 ||
        compute_mac(key, (size_t)key_len, msg_id, timestamp, body, len, mac) != LG_OK)
        goto failed;
    size_t need = (*used > 0 ? 1 : 0) + 3 + MAC_B64_LEN + 1;
    if (out_size < *used + need)
        goto failed;
    if (*used > 0)
        out[(*used)++] = ' ';
    memcpy(out + *used, "v1,", 3);
    *used += 3;
    *used += lg_base64_encode(mac, MAC_LEN, false, out + *used, out_size - *used);
    rc = LG_OK;
failed:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int lg_webhook_sign(const char *secret, const char *secret_previous, const char *msg_id,
                    const char *timestamp, const char *body, size_t len, char *out, size_t out_size)
{
    size_t used = 0;
    if (out_size > 0)
        out[0] = '\0';
    if (sign_one(secret, msg_id, timestamp, body, len, out, out_size, &used) != LG_OK)
        return LG_ERR;
    if (secret_previous != NULL && secret_previous[0] != '\0' &&
        sign_one(secret_previous, msg_id, timestamp, body, len, out, out_size, &used) != LG_OK)
        return LG_ERR;
    return LG_OK;
}

bool lg_webhook_verify(const char *secret, const char *msg_id, const char *timestamp,
                       const char *body, size_t len, const char *signature_header)
{
    unsigned char key[KEY_MAX];
    unsigned char mac[MAC_LEN];
    bool is_valid = false;
    if (msg_id == NULL || timestamp == NULL || body == NULL || signature_header == NULL)
        return false;
    int key_len = secret_key(secret, key, sizeof(key));
    if (key_len < 0 ||
        compute_mac(key, (size_t)key_len, msg_id, timestamp, body, len, mac) != LG_OK)
        goto done;
    const char *p = signature_header;
    while (*p != '\0') {
        size_t n = strcspn(p, " ");
        if (n == 3 + MAC_B64_LEN && memcmp(p, "v1,", 3) == 0) {
            unsigned char got[MAC_LEN + 3];
            /* Keep scanning after a match: the time taken does not say which one matched. */
            size_t got_len;
            if (lg_base64_decode(p + 3, MAC_B64_LEN, false, got, sizeof(got), &got_len) == LG_OK &&
                got_len == MAC_LEN && CRYPTO_memcmp(got, mac, MAC_LEN) == 0)
                is_valid = true;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
done:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    return is_valid;
}

bool lg_webhook_host_is_numeric(const char *host, size_t len)
{
    if (len > 0 && host[len - 1] == '.')
        len--;
    size_t start = len;
    while (start > 0 && host[start - 1] != '.')
        start--;
    const char *label = host + start;
    size_t n = len - start;
    if (n == 0)
        return false;
    if (n >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
        for (size_t i = 2; i < n; i++)
            if (!isxdigit((unsigned char)label[i]))
                return false;
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)label[i]))
            return false;
    return true;
}

int lg_webhook_check_url(const char *url, lg_webhook_dest_t *out, const char **err)
{
    int rc = LG_ERR;
    struct evhttp_uri *uri = NULL;
    memset(out, 0, sizeof(*out));
    *err = err_bad_url;
    if (url == NULL)
        return LG_ERR;
    if (strlen(url) >= LG_WEBHOOK_TARGET_MAX) {
        *err = err_too_long;
        return LG_ERR;
    }
    uri = evhttp_uri_parse(url);
    if (uri == NULL)
        goto failed;
    const char *scheme = evhttp_uri_get_scheme(uri);
    const char *host = evhttp_uri_get_host(uri);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    int port = evhttp_uri_get_port(uri);
    if (scheme == NULL || strcasecmp(scheme, "https") != 0) {
        *err = err_not_https;
        goto failed;
    }
    if (evhttp_uri_get_userinfo(uri) != NULL) {
        *err = err_userinfo;
        goto failed;
    }
    if (host == NULL || host[0] == '\0' || port == 0 || port > 65535)
        goto failed;
    size_t host_len = strlen(host);
    bool is_bracketed = host[0] == '[';
    if (is_bracketed) {
        /* evhttp keeps the brackets of an IPv6 literal; only IPv6 is allowed inside. */
        if (host_len < 3 || host[host_len - 1] != ']' || host_len - 2 >= sizeof(out->host))
            goto failed;
        memcpy(out->host, host + 1, host_len - 2);
        out->host[host_len - 2] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, out->host, &a6) != 1)
            goto failed;
        out->is_ip_literal = true;
    } else {
        if (!lg_strlcpy(out->host, host, sizeof(out->host))) {
            *err = err_too_long;
            goto failed;
        }
        struct in_addr a4;
        out->is_ip_literal = inet_pton(AF_INET, out->host, &a4) == 1;
        if (!out->is_ip_literal && lg_webhook_host_is_numeric(out->host, strlen(out->host))) {
            *err = LG_WEBHOOK_ERR_NUMERIC_HOST;
            goto failed;
        }
    }
    out->port = port < 0 ? 443 : port;
    if (out->port == 443)
        snprintf(out->host_header, sizeof(out->host_header), "%s", host);
    else
        snprintf(out->host_header, sizeof(out->host_header), "%s:%d", host, out->port);
    int n = snprintf(out->target, sizeof(out->target), "%s%s%s",
                     path != NULL && path[0] != '\0' ? path : "/", query != NULL ? "?" : "",
                     query != NULL ? query : "");
    if (n < 0 || (size_t)n >= sizeof(out->target)) {
        *err = err_too_long;
        goto failed;
    }
    *err = NULL;
    rc = LG_OK;
failed:
    if (uri != NULL)
        evhttp_uri_free(uri);
    return rc;
}

/* The IPv4 policy on a host-order address. */
static bool ipv4_is_private(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } blocked[] = {
        {0x00000000, 8},  /* 0.0.0.0/8 "this network", unspecified */
        {0x0A000000, 8},  /* 10/8 */
        {0x64400000, 10}, /* 100.64/10 CGNAT */
        {0x7F000000, 8},  /* 127/8 loopback */
        {0xA9FE0000, 16}, /* 169.254/16 link-local */
        {0xAC100000, 12}, /* 172.16/12 */
        {0xC0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
        {0xC0A80000, 16}, /* 192.168/16 */
        {0xC6120000, 15}, /* 198.18/15 benchmarking */
        {0xE0000000, 4},  /* 224/4 multicast */
        {0xF0000000, 4},  /* 240/4 reserved, 255.255.255.255 broadcast */
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(blocked); i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - blocked[i].bits);
        if ((a & mask) == blocked[i].net)
            return true;
    }
    return false;
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool lg_webhook_addr_is_private(const struct sockaddr *sa)
{
    if (sa == NULL)
        return true;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        return ipv4_is_private(ntohl(sin->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return true;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zeros[12] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    /* ::/96 holds :: and ::1 as well as the old IPv4-compatible form. */
    if (memcmp(b, zeros, 12) == 0 || memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return ipv4_is_private(be32_at(b + 12));
    if ((b[0] & 0xFE) == 0xFC) /* fc00::/7 unique local */
        return true;
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) /* fe80::/10 link-local */
        return true;
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) /* fec0::/10 site-local (deprecated) */
        return true;
    if (b[0] == 0xFF) /* ff00::/8 multicast */
        return true;
    return false;
}

int64_t lg_webhook_backoff_ms(int attempts, int64_t max_ms, uint32_t random)
{
    if (max_ms <= 0)
        return 0;
    if (max_ms > BACKOFF_MAX_MS)
        max_ms = BACKOFF_MAX_MS;
    if (attempts < 0)
        attempts = 0;
    int64_t ceiling = max_ms;
    if (attempts < 31) {
        int64_t exp_ms = (int64_t)BACKOFF_BASE_MS << attempts;
        if (exp_ms < ceiling)
            ceiling = exp_ms;
    }
    /* Scales the 32 random bits onto [0, ceiling]: no modulo bias, no overflow (< 2^63). */
    return (int64_t)(((uint64_t)random * (uint64_t)(ceiling + 1)) >> 32);
}

int64_t lg_webhook_retry_after_s(const char *value)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (!isdigit((unsigned char)*value))
        return -1;
    int64_t s = 0;
    for (; isdigit((unsigned char)*value); value++)
        if (s < 1000000000)
            s = s * 10 + (*value - '0');
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value != '\0')
        return -1;
    return s > 1000000000 ? 1000000000 : s;
}

char *lg_webhook_prepare_payload(const char *payload, const char *public_url)
{
    json_error_t jerr;
    json_t *root = json_loads(payload, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return NULL;
    char *out = NULL;
    json_t *sub = json_is_object(root) ? json_object_get(root, "subscription") : NULL;
    const char *path = json_is_string(sub) ? json_string_value(sub) : NULL;
    if (path == NULL || path[0] != '/' || public_url == NULL) {
        out = lg_xstrdup(payload);
        goto done;
    }
    size_t base_len = strlen(public_url);
    while (base_len > 0 && public_url[base_len - 1] == '/')
        base_len--;
    size_t path_len = strlen(path);
    char *abs = lg_xmalloc(base_len + path_len + 1);
    memcpy(abs, public_url, base_len);
    memcpy(abs + base_len, path, path_len + 1);
    json_object_set_new(root, "subscription", json_string(abs));
    free(abs);
    out = json_dumps(root, JSON_COMPACT);
    if (out == NULL)
        abort(); /* jansson fails only on out-of-memory here */
done:
    json_decref(root);
    return out;
}
