/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zones: one evhttp server per configured listener. With a certificate the
 * zone speaks TLS only: evhttp's bufferevent callback wraps every accepted
 * socket in a bufferevent_openssl, the SSL_CTX pins TLS >= 1.2, and with a
 * client CA the handshake itself refuses peers without a certificate that
 * chains to it, so nothing of theirs reaches a route. Every answered request
 * is counted by zone and status class; a connection that ends before its
 * handshake completes is counted once as a handshake failure.
 */
#include "locguard/core/http.h"

#include "locguard/core/log.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
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

/* evhttp asks for a bufferevent per accepted connection: a TLS one. */
static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
    lg_http_zone_t *zone = arg;
    SSL *ssl = SSL_new(zone->ssl_ctx);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev != NULL)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/*
 * Replies leave as a header write and a body write (two TLS records). With
 * Nagle's algorithm on, the second waits for the peer's ACK of the first,
 * which a client on a kept-alive connection delays by up to 40 ms: every
 * answer with a body would pay that. So no Nagle on our sockets.
 */
static void set_nodelay(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The reply has been written: counts the request by its status class. */
static void on_complete(struct evhttp_request *req, void *arg)
{
    lg_http_zone_t *zone = arg;
    lg_metrics_count_request(zone->metrics, zone->kind, evhttp_request_get_response_code(req));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    lg_http_zone_t *zone = arg;
    evhttp_request_set_on_complete_cb(req, on_complete, zone);
    set_nodelay(req);
    zone->handler(req, zone->arg);
}

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
    zone->http = evhttp_new(base);
    if (cfg->cert_file != NULL) {
        zone->ssl_ctx = make_ssl_ctx(zone, cfg);
        if (zone->ssl_ctx == NULL)
            goto failed;
        evhttp_set_bevcb(zone->http, on_new_bev, zone);
    }
    evhttp_set_max_body_size(zone->http, max_body_bytes);
    evhttp_set_max_headers_size(zone->http, 16384);
    evhttp_set_timeout(zone->http, 60);
    evhttp_set_allowed_methods(zone->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                               EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(zone->http, "application/json");
    evhttp_set_gencb(zone->http, on_request, zone);
    zone->bound = evhttp_bind_socket_with_handle(zone->http, cfg->host, (ev_uint16_t)cfg->port);
    if (zone->bound == NULL) {
        lg_error("zone %s: cannot listen on %s:%d", cfg->name, cfg->host, cfg->port);
        goto failed;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(zone->bound), (struct sockaddr *)&ss, &sl) == 0)
        zone->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                    : ((struct sockaddr_in *)&ss)->sin_port);
    lg_info("zone %s: listening on %s:%d (%s%s)", cfg->name, cfg->host, zone->port,
            zone->ssl_ctx ? "TLS" : "plain HTTP",
            cfg->client_ca_file ? ", client certificates required" : "");
    return zone;
failed:
    lg_http_zone_free(zone);
    return NULL;
}

void lg_http_zone_stop_accepting(lg_http_zone_t *zone)
{
    if (zone != NULL && zone->bound != NULL) {
        evhttp_del_accept_socket(zone->http, zone->bound);
        zone->bound = NULL;
    }
}

void lg_http_zone_free(lg_http_zone_t *zone)
{
    if (zone == NULL)
        return;
    if (zone->http != NULL)
        evhttp_free(zone->http);
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

void lg_http_peer_addr(struct evhttp_request *req, char *buf, size_t size)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    fd_peer(bev ? bufferevent_getfd(bev) : -1, buf, size);
}

int lg_http_peer_cn(struct evhttp_request *req, char *buf, size_t size)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL)
        return LG_ERR;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return LG_ERR;
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL)
        return LG_ERR;
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
        return LG_ERR; /* none, or ambiguous */
    ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    int len = ASN1_STRING_length(cn);
    const unsigned char *data = ASN1_STRING_get0_data(cn);
    if (len <= 0 || (size_t)len >= size || memchr(data, '\0', (size_t)len) != NULL)
        return LG_ERR;
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
    return LG_OK;
}

const char *lg_http_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    if (*len == 0)
        return "";
    return (const char *)evbuffer_pullup(in, -1);
}

void lg_http_reply_text(struct evhttp_request *req, int status, const char *content_type,
                        const char *text, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, text, len);
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

void lg_http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    if (body == NULL) {
        evhttp_send_reply(req, status, NULL, NULL);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL)
        abort(); /* jansson fails only on out-of-memory here */
    lg_http_reply_text(req, status, "application/json", text, strlen(text));
    free(text);
}

void lg_http_reply_problem(struct evhttp_request *req, int status, const char *title,
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
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
    }
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (text == NULL)
        abort();
    lg_http_reply_text(req, status, "application/problem+json", text, strlen(text));
    free(text);
}

void lg_http_reply_unavailable(struct evhttp_request *req, const char *detail, int retry_after_s)
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
