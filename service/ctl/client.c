/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's HTTP client. It sends one plain HTTP/1.1 request at a time
 * to the daemon's admin zone on loopback, with the bearer token read from
 * --token-file, and blocks on a private event_base until the answer (or a
 * transport failure) arrives: nothing here is shared with the daemon's loop.
 * It neither builds bodies nor prints answers; a request that gets no answer
 * is reported here, as "unavailable".
 */
#include "locguard/ctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#define REQUEST_TIMEOUT_S 30
#define MAX_TOKEN_BYTES   4096

/* Where the admin API lives and how to authenticate. */
struct lg_ctl_client {
    char *url;               /* the --url as given, for messages */
    char *host;              /* host to connect to (IPv6 without brackets) */
    char *host_header;       /* value of the Host header */
    int port;                /* TCP port */
    char *prefix;            /* path prefix from the URL, no trailing '/' */
    char *token;             /* bearer token, NULL when no token file; wiped when freed */
    struct event_base *base; /* private loop, blocking is fine in a CLI */
};

/* One HTTP answer (or transport failure) collected by on_response. */
struct response {
    int status;            /* HTTP status, 0 when no response arrived */
    const char *err;       /* transport error, constant string, NULL when none */
    struct evbuffer *body; /* response body, the caller's */
};

/*
 * Splits the URL into host, port and path prefix. Only plain http: the admin
 * zone is loopback. Returns LG_ERR after printing why.
 */
LG_MUST_CHECK
static int parse_url(lg_ctl_client_t *c, const char *url)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *scheme, *host, *path;
    size_t hlen;
    int rc = LG_ERR;

    c->url = lg_xstrdup(url);
    if (uri == NULL) {
        lg_ctl_exit_usage_error("--url %s is not a URL", url);
        return LG_ERR;
    }
    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);
    if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL || host[0] == '\0') {
        lg_ctl_exit_usage_error("--url must look like http://127.0.0.1:7080");
        goto failed;
    }
    if (evhttp_uri_get_userinfo(uri) != NULL || evhttp_uri_get_query(uri) != NULL ||
        evhttp_uri_get_fragment(uri) != NULL) {
        lg_ctl_exit_usage_error("--url takes no user, query or fragment");
        goto failed;
    }
    c->port = evhttp_uri_get_port(uri);
    if (c->port < 0)
        c->port = 80;
    hlen = strlen(host);
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']')
        c->host = lg_xstrndup(host + 1, hlen - 2);
    else
        c->host = lg_xstrdup(host);
    hlen = strlen(host) + 16;
    c->host_header = lg_xmalloc(hlen);
    snprintf(c->host_header, hlen, "%s:%d", host, c->port);
    path = evhttp_uri_get_path(uri);
    c->prefix = lg_xstrdup(path != NULL ? path : "");
    for (size_t n = strlen(c->prefix); n > 0 && c->prefix[n - 1] == '/'; n--)
        c->prefix[n - 1] = '\0';
    rc = LG_OK;
failed:
    evhttp_uri_free(uri);
    return rc;
}

/* Reads the token, stripping trailing newlines and blanks. Returns LG_ERR after printing why. */
LG_MUST_CHECK
static int read_token(lg_ctl_client_t *c, const char *file)
{
    FILE *f = fopen(file, "r");
    char buf[MAX_TOKEN_BYTES + 2];
    size_t len;
    int rc = LG_ERR;

    if (f == NULL) {
        lg_ctl_exit_failure("cannot open token file %s: %s", file, strerror(errno));
        return LG_ERR;
    }
    len = fread(buf, 1, sizeof(buf) - 1, f);
    if (ferror(f)) {
        lg_ctl_exit_failure("cannot read token file %s", file);
        goto failed;
    }
    if (len > MAX_TOKEN_BYTES) {
        lg_ctl_exit_failure("token file %s is too long", file);
        goto failed;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len == 0) {
        lg_ctl_exit_failure("token file %s is empty", file);
        goto failed;
    }
    for (size_t i = 0; i < len; i++) {
        /* Never echo the token; only say it is malformed. */
        if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] == 0x7f) {
            lg_ctl_exit_failure("token file %s holds more than one token", file);
            goto failed;
        }
    }
    c->token = lg_xstrndup(buf, len);
    rc = LG_OK;
failed:
    OPENSSL_cleanse(buf, sizeof(buf));
    fclose(f);
    return rc;
}

lg_ctl_exit_t lg_ctl_client_open(const char *url, const char *token_file, lg_ctl_client_t **out)
{
    lg_ctl_client_t *c = lg_xcalloc(1, sizeof(*c));
    lg_ctl_exit_t status = LG_CTL_EXIT_USAGE;

    *out = NULL;
    if (parse_url(c, url) != LG_OK)
        goto failed;
    status = LG_CTL_EXIT_FAIL;
    if (token_file != NULL && token_file[0] != '\0' && read_token(c, token_file) != LG_OK)
        goto failed;
    c->base = event_base_new();
    if (c->base == NULL) {
        lg_ctl_exit_failure("cannot create an event loop");
        goto failed;
    }
    *out = c;
    return LG_CTL_EXIT_OK;
failed:
    lg_ctl_client_free(c);
    return status;
}

void lg_ctl_client_free(lg_ctl_client_t *c)
{
    if (c == NULL)
        return;
    if (c->token != NULL) {
        OPENSSL_cleanse(c->token, strlen(c->token));
        free(c->token);
    }
    if (c->base != NULL)
        event_base_free(c->base);
    free(c->url);
    free(c->host);
    free(c->host_header);
    free(c->prefix);
    free(c);
}

bool lg_ctl_client_has_token(const lg_ctl_client_t *c)
{
    return c->token != NULL;
}

/* Maps a libevent request error to a constant message. */
static const char *request_error_text(enum evhttp_request_error err)
{
    switch (err) {
    case EVREQ_HTTP_TIMEOUT:
        return "timed out";
    case EVREQ_HTTP_EOF:
        return "connection closed before the answer was complete";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid HTTP answer";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection failed";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "request cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "answer too long";
    }
    return "request failed";
}

static void on_request_error(enum evhttp_request_error err, void *arg)
{
    struct response *resp = arg;

    resp->err = request_error_text(err);
}

/* Collects status and body, then stops the private loop. */
static void on_response(struct evhttp_request *req, void *arg)
{
    struct response *resp = arg;
    struct evhttp_connection *conn = req != NULL ? evhttp_request_get_connection(req) : NULL;

    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        if (resp->err == NULL)
            resp->err = "connection failed";
    } else {
        resp->status = evhttp_request_get_response_code(req);
        evbuffer_add_buffer(resp->body, evhttp_request_get_input_buffer(req));
    }
    if (conn != NULL)
        event_base_loopbreak(evhttp_connection_get_base(conn));
}

int lg_ctl_client_call(lg_ctl_client_t *c, const lg_ctl_request_t *r, int *out_http_status,
                       struct evbuffer *answer)
{
    struct response resp = {0, NULL, answer};
    struct evhttp_connection *conn;
    struct evhttp_request *req;
    struct evkeyvalq *headers;
    char *uri = NULL, *auth = NULL;
    size_t uri_len, auth_len;
    char length[32];
    int rc = LG_ERR;

    *out_http_status = 0;
    conn = evhttp_connection_base_new(c->base, NULL, c->host, (unsigned short)c->port);
    if (conn == NULL) {
        lg_ctl_exit_unavailable("cannot create a connection to %s", c->url);
        return LG_ERR;
    }
    evhttp_connection_set_timeout(conn, REQUEST_TIMEOUT_S);
    evhttp_connection_set_retries(conn, 0);
    req = evhttp_request_new(on_response, &resp);
    if (req == NULL)
        abort();
    evhttp_request_set_error_cb(req, on_request_error);
    headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Host", c->host_header);
    evhttp_add_header(headers, "User-Agent", "locguardctl");
    evhttp_add_header(headers, "Accept", r->accept);
    evhttp_add_header(headers, "Connection", "close");
    if (c->token != NULL) {
        auth_len = strlen(c->token) + sizeof("Bearer ");
        auth = lg_xmalloc(auth_len);
        snprintf(auth, auth_len, "Bearer %s", c->token);
        evhttp_add_header(headers, "Authorization", auth);
        OPENSSL_cleanse(auth, auth_len);
        free(auth);
    }
    if (r->body != NULL) {
        evhttp_add_header(headers, "Content-Type", r->content_type);
        evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len);
    }
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
        /* Some servers want a length even on an empty PUT/DELETE. */
        snprintf(length, sizeof(length), "%zu", r->body != NULL ? r->body_len : 0);
        evhttp_add_header(headers, "Content-Length", length);
    }
    uri_len = strlen(c->prefix) + strlen(r->path) + 1;
    uri = lg_xmalloc(uri_len);
    snprintf(uri, uri_len, "%s%s", c->prefix, r->path);
    /* evhttp_make_request frees req on failure. */
    if (evhttp_make_request(conn, req, r->method, uri) != 0) {
        lg_ctl_exit_unavailable("cannot send the request to %s", c->url);
        goto failed;
    }
    event_base_dispatch(c->base);
    if (resp.status == 0) {
        lg_ctl_exit_unavailable("cannot reach the admin API at %s: %s", c->url,
                                resp.err != NULL ? resp.err : "no answer");
        goto failed;
    }
    *out_http_status = resp.status;
    rc = LG_OK;
failed:
    free(uri);
    evhttp_connection_free(conn);
    return rc;
}
