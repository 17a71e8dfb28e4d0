/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zones: one locguard server (httpd.c: HTTP/1.1 and HTTP/2) per configured
 * listener. With a certificate the zone speaks TLS only: the SSL_CTX pins
 * TLS >= 1.2, ALPN offers h2 and http/1.1, and with a client CA the
 * handshake itself refuses peers without a certificate that chains to it,
 * so nothing of theirs reaches a route. Every answered request is counted by
 * zone and status class; a connection that ends before its handshake
 * completes is counted once as a handshake failure. Requests the server
 * refuses itself (413, 431, broken framing) are answered here as
 * ProblemDetails, like every other error.
 */
#include "locguard/core/http.h"

#include "locguard/core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* A TLS connection's flags, kept in its SSL's ex_data slot zone->ssl_index. */
#define HS_DONE    1u /* the handshake completed (a finished one never counts as failed) */
#define HS_COUNTED 2u /* already counted as a failed handshake */

struct lg_http_zone {
    char name[32];
    lg_zone_kind_t kind;
    int ssl_index; /* SSL ex_data index of the per-connection HS_* flags */
    lg_httpd_t *server; /* the listener and its connections */
    SSL_CTX *ssl_ctx;
    int port;
    lg_metrics_t *metrics;
    lg_http_handler_cb handler;
    void *arg;
};

static void log_ssl_errors(const char *zone, const char *what)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        lg_error("zone %s: %s: %s", zone, what, buf);
    }
}

/* Writes "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of the socket's peer, or "?". */
static void fd_peer(evutil_socket_t fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN];
    lg_strlcpy(buf, "?", size);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
            snprintf(buf, size, "%s:%d", host, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
            snprintf(buf, size, "[%s]:%d", host, ntohs(sin6->sin6_port));
    }
}

/*
 * True when this callback reports the end of a handshake that failed: a
 * fatal alert sent or received (no client certificate, an unknown CA, an old
 * protocol version, the peer closing half-way), or the handshake returning
 * an error rather than "wait for I/O" (a plain HTTP request, which gets no
 * alert). Not a connection closed before its first byte (a load balancer's
 * TCP check). libevent clears the error queue before each SSL call, so the
 * queue holds this handshake's errors only.
 */
static bool is_handshake_failure(const SSL *ssl, int where, int ret)
{
    /* A connection closed before sending a byte (a TCP probe) had no handshake to fail. */
    if (SSL_get_state(ssl) == TLS_ST_BEFORE &&
        ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return false;
    if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL)
        return true;
    if (!(where & SSL_CB_EXIT) || ret > 0)
        return false;
    int e = SSL_get_error(ssl, ret);
    return e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN;
}

/*
 * Counts connections whose handshake fails, once each: the peer never
 * reaches a route, so this metric is the only trace of it. A connection
 * whose handshake completed never counts, whatever happens to it later
 * (a client closing without close_notify breaks the connection after the
 * handshake: OpenSSL then reports a fatal alert while "in init" again).
 */
static void on_ssl_info(const SSL *ssl, int where, int ret)
{
    lg_http_zone_t *zone = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    uintptr_t flags = (uintptr_t)SSL_get_ex_data(ssl, zone->ssl_index);
    if (flags & (HS_DONE | HS_COUNTED))
        return;
    if (where & SSL_CB_HANDSHAKE_DONE) {
        flags |= HS_DONE;
    } else if (is_handshake_failure(ssl, where, ret)) {
        flags |= HS_COUNTED;
        lg_metrics_add(zone->metrics, LG_C_TLS_HANDSHAKE_FAILURES, 1);
        if (lg_log_level >= LG_LOG_DEBUG) {
            char peer[64];
            fd_peer(SSL_get_fd(ssl), peer, sizeof(peer));
            if (where & SSL_CB_ALERT)
                lg_zdebug(lg_zone_kind_name(zone->kind), peer,
                          "TLS handshake failed: alert %d (%s) %s", ret & 0xff,
                          SSL_alert_desc_string_long(ret),
                          (where & SSL_CB_READ) ? "received" : "sent");
            else
                lg_zdebug(lg_zone_kind_name(zone->kind), peer,
                          "TLS handshake failed: not TLS, or the connection broke");
        }
    } else {
        return;
    }
    /* The SSL is the library's const view of our own connection; its ex_data is ours. */
    SSL_set_ex_data((SSL *)ssl, zone->ssl_index, (void *)flags);
}

static SSL_CTX *make_ssl_ctx(lg_http_zone_t *zone, const lg_zone_config_t *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto failed;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        log_ssl_errors(cfg->name, cfg->cert_file);
        goto failed;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_errors(cfg->name, cfg->key_file);
        goto failed;
    }
    if (cfg->client_ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            log_ssl_errors(cfg->name, cfg->client_ca_file);
            goto failed;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
    }
    /* Resumed sessions skip the certificate check's cost but keep its result. */
    zone->ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (zone->ssl_index < 0)
        goto failed;
    SSL_CTX_set_app_data(ctx, zone);
    SSL_CTX_set_info_callback(ctx, on_ssl_info);
    static const unsigned char sid_ctx[] = "locguard";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    return ctx;
failed:
    SSL_CTX_free(ctx);
    return NULL;
}

/* The reply has been sent: counts the request by its status class. */
static void on_replied(int status, void *arg)
{
    lg_http_zone_t *zone = arg;
    lg_metrics_count_request(zone->metrics, zone->kind, status);
}

static void on_request(lg_httpd_req_t *req, void *arg)
{
    lg_http_zone_t *zone = arg;
    zone->handler(req, zone->arg);
}

/*
 * A request the server refused before the zone's handler: the error's
 * ProblemDetails (invalidParams naming the parameter for a 400), logged with
 * the peer's address. The exposure zone speaks CAMARA, whose error format
 * is ErrorInfo {status, code, message}: its refusals are that, with code
 * INVALID_ARGUMENT (CAMARA names no code for 413 or 431).
 */
static void on_refused(lg_httpd_req_t *req, const lg_httpd_error_t *err, void *arg)
{
    lg_http_zone_t *zone = arg;
    lg_invalid_param_t ip;
    size_t n_invalid = 0;
    if (zone->kind == LG_ZONE_EXPOSURE) {
        lg_zinfo(lg_zone_kind_name(zone->kind), lg_httpd_peer(req), "request refused with %d: %s",
                 err->status, err->detail);
        lg_httpd_add_header(req, "Connection", "close");
        lg_http_reply_json(req, err->status,
                           json_pack("{s:i,s:s,s:s}", "status", err->status, "code",
                                     "INVALID_ARGUMENT", "message", err->detail));
        return;
    }
    if (err->param != NULL) {
        lg_strlcpy(ip.param, err->param, sizeof(ip.param));
        lg_strlcpy(ip.reason, err->reason != NULL ? err->reason : "", sizeof(ip.reason));
        n_invalid = 1;
    }
    lg_zinfo(lg_zone_kind_name(zone->kind), lg_httpd_peer(req), "request refused with %d: %s",
             err->status, err->detail);
    lg_httpd_add_header(req, "Connection", "close");
    lg_http_reply_problem(req, err->status, err->title, err->detail,
                          err->status == 400 ? "INVALID_MSG_FORMAT" : NULL, &ip, n_invalid, 0);
}

/* Idle connections are closed after this long, as evhttp's timeout did. */
#define IDLE_TIMEOUT_S 60

lg_http_zone_t *lg_http_zone_new(struct event_base *base, const lg_zone_config_t *cfg,
                                 int max_body_bytes, lg_metrics_t *metrics,
                                 lg_http_handler_cb handler, void *arg)
{
    lg_http_zone_t *zone = lg_xcalloc(1, sizeof(*zone));
    lg_strlcpy(zone->name, cfg->name, sizeof(zone->name));
    zone->kind = cfg->kind;
    zone->metrics = metrics;
    zone->handler = handler;
    zone->arg = arg;
    if (cfg->cert_file != NULL) {
        zone->ssl_ctx = make_ssl_ctx(zone, cfg);
        if (zone->ssl_ctx == NULL)
            goto failed;
    }
    lg_httpd_config_t hc = {
        .name = zone->name,
        .log_zone = lg_zone_kind_name(cfg->kind),
        .host = cfg->host,
        .port = cfg->port,
        .ssl_ctx = zone->ssl_ctx,
        .is_h2c = cfg->is_h2c,
        .max_body_bytes = (size_t)max_body_bytes,
        .idle_timeout_s = IDLE_TIMEOUT_S,
        .on_request = on_request,
        .on_error = on_refused,
        .on_replied = on_replied,
        .arg = zone,
    };
    zone->server = lg_httpd_new(base, &hc);
    if (zone->server == NULL)
        goto failed;
    zone->port = lg_httpd_port(zone->server);
    lg_info("zone %s: listening on %s:%d (%s%s%s)", cfg->name, cfg->host, zone->port,
            zone->ssl_ctx ? "TLS, HTTP/2 and HTTP/1.1 by ALPN" : "plain HTTP/1.1",
            cfg->is_h2c ? ", h2c with prior knowledge" : "",
            cfg->client_ca_file ? ", client certificates required" : "");
    return zone;
failed:
    lg_http_zone_free(zone);
    return NULL;
}

void lg_http_zone_stop_accepting(lg_http_zone_t *zone)
{
    if (zone != NULL)
        lg_httpd_stop_accepting(zone->server);
}

void lg_http_zone_free(lg_http_zone_t *zone)
{
    if (zone == NULL)
        return;
    lg_httpd_free(zone->server);
    SSL_CTX_free(zone->ssl_ctx);
    free(zone);
}

int lg_http_zone_port(const lg_http_zone_t *zone)
{
    return zone->port;
}

const char *lg_http_zone_name(const lg_http_zone_t *zone)
{
    return zone->name;
}

void lg_http_peer_addr(lg_httpd_req_t *req, char *buf, size_t size)
{
    lg_strlcpy(buf, lg_httpd_peer(req), size);
}

int lg_http_peer_cn(lg_httpd_req_t *req, char *buf, size_t size)
{
    const char *cn = lg_httpd_peer_cn(req);
    if (cn == NULL || !lg_strlcpy(buf, cn, size))
        return LG_ERR;
    return LG_OK;
}

const char *lg_http_body(lg_httpd_req_t *req, size_t *len)
{
    return lg_httpd_body(req, len);
}

void lg_http_reply_text(lg_httpd_req_t *req, int status, const char *content_type,
                        const char *text, size_t len)
{
    lg_httpd_add_header(req, "Content-Type", content_type);
    lg_httpd_add_header(req, "Cache-Control", "no-store");
    lg_httpd_reply(req, status, text, len);
}

void lg_http_reply_json(lg_httpd_req_t *req, int status, json_t *body)
{
    if (body == NULL) {
        lg_httpd_reply(req, status, NULL, 0);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL)
        abort(); /* jansson fails only on out-of-memory here */
    lg_http_reply_text(req, status, "application/json", text, strlen(text));
    free(text);
}

void lg_http_reply_problem(lg_httpd_req_t *req, int status, const char *title,
                           const char *detail, const char *cause, const lg_invalid_param_t *invalid,
                           size_t n_invalid, int retry_after_s)
{
    json_t *p = json_object();
    json_object_set_new(p, "title", json_string(title));
    json_object_set_new(p, "status", json_integer(status));
    if (detail != NULL)
        json_object_set_new(p, "detail", json_string(detail));
    if (cause != NULL)
        json_object_set_new(p, "cause", json_string(cause));
    if (n_invalid > 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < n_invalid && i < LG_INVALID_MAX; i++) {
            json_t *ip = json_object();
            json_object_set_new(ip, "param", json_string(invalid[i].param));
            json_object_set_new(ip, "reason", json_string(invalid[i].reason));
            json_array_append_new(list, ip);
        }
        json_object_set_new(p, "invalidParams", list);
    }
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_after_s);
        lg_httpd_add_header(req, "Retry-After", v);
    }
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (text == NULL)
        abort();
    lg_http_reply_text(req, status, "application/problem+json", text, strlen(text));
    free(text);
}

void lg_http_reply_unavailable(lg_httpd_req_t *req, const char *detail, int retry_after_s)
{
    lg_http_reply_problem(req, 503, "Service Unavailable",
                          detail != NULL ? detail : "the database is unavailable", "SYSTEM_FAILURE",
                          NULL, 0, retry_after_s);
}

bool lg_http_is_media_type(const char *content_type, const char *want)
{
    if (content_type == NULL)
        return false;
    size_t len = strcspn(content_type, ";");
    while (len > 0 && (content_type[len - 1] == ' ' || content_type[len - 1] == '\t'))
        len--;
    return len == strlen(want) && strncasecmp(content_type, want, len) == 0;
}
