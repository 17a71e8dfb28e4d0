/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request object shared by HTTP/1.1 and HTTP/2: the sessions fill it
 * (method, target, headers, body, peer), a zone's handler reads it and
 * replies, and the reply goes to whatever sink the server attached (the
 * connection's HTTP/1.1 writer or the HTTP/2 stream). A request whose
 * connection or stream has gone has no sink: its reply only frees it, so a
 * handler that answers from a database callback never writes to freed memory.
 */
#include "locguard/core/httpd_req.h"

#include <event2/buffer.h>
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PEER_MAX 64
#define CN_MAX   256 /* X.509 allows 64 characters; room for longer ones to be refused */

/* One request header; value_len kept for names compared often. */
typedef struct in_header {
    char *name;
    char *value;
} in_header_t;

struct lg_httpd_req {
    int version;             /* 1 or 2 */
    lg_http_method_t method; /* from the request line or :method */
    char *path;              /* the target's path, as received; "/" until set */
    char *query;             /* after '?', or NULL */
    in_header_t *in;         /* request headers, in arrival order */
    size_t n_in, cap_in;
    struct evbuffer *body;  /* the body as received */
    char peer[PEER_MAX];    /* the connection's peer address */
    char cn[CN_MAX];        /* the client certificate's CN, "" when none */
    bool has_cn;            /* whether cn holds one */
    lg_httpd_header_t *out; /* response headers the handler added */
    size_t n_out, cap_out;
    bool wants_close;            /* a handler added "Connection: close" */
    lg_httpd_respond_cb respond; /* where the reply goes; NULL once the peer is gone */
    void *sink;                  /* respond's argument (the connection) */
    void *tag;                   /* the session's own (an HTTP/2 stream) */
};

lg_http_method_t lg_http_method_parse(const char *token, size_t len)
{
    static const struct {
        const char *name;
        lg_http_method_t method;
    } methods[] = {
        {"GET", LG_HTTP_GET},         {"HEAD", LG_HTTP_HEAD},     {"POST", LG_HTTP_POST},
        {"PUT", LG_HTTP_PUT},         {"DELETE", LG_HTTP_DELETE}, {"PATCH", LG_HTTP_PATCH},
        {"OPTIONS", LG_HTTP_OPTIONS},
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(methods); i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, token, len) == 0)
            return methods[i].method;
    return LG_HTTP_OTHER;
}

lg_httpd_req_t *lg_httpd_req_new(int version)
{
    lg_httpd_req_t *req = lg_xcalloc(1, sizeof(*req));
    req->version = version;
    req->body = evbuffer_new();
    if (req->body == NULL)
        abort(); /* out of memory */
    lg_strlcpy(req->peer, "?", sizeof(req->peer));
    return req;
}

void lg_httpd_req_free(lg_httpd_req_t *req)
{
    if (req == NULL)
        return;
    for (size_t i = 0; i < req->n_in; i++) {
        free(req->in[i].name);
        free(req->in[i].value);
    }
    free(req->in);
    for (size_t i = 0; i < req->n_out; i++) {
        free(req->out[i].name);
        free(req->out[i].value);
    }
    free(req->out);
    free(req->path);
    free(req->query);
    evbuffer_free(req->body);
    free(req);
}

void lg_httpd_req_set_method(lg_httpd_req_t *req, const char *token, size_t len)
{
    req->method = lg_http_method_parse(token, len);
}

/* Takes path (and query after '?') from an origin-form target of len bytes. */
static void set_origin_form(lg_httpd_req_t *req, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t path_len = q != NULL ? (size_t)(q - target) : len;
    free(req->path);
    free(req->query);
    req->path = lg_xstrndup(target, path_len);
    req->query = q != NULL ? lg_xstrndup(q + 1, len - path_len - 1) : NULL;
}

int lg_httpd_req_set_target(lg_httpd_req_t *req, const char *target, size_t len)
{
    if (len == 0 || memchr(target, '\0', len) != NULL)
        return LG_ERR;
    if (target[0] == '/' || (len == 1 && target[0] == '*')) {
        set_origin_form(req, target, len);
        return LG_OK;
    }
    /* The absolute form ("http://host/path?q"), which a server must accept (RFC 9112 3.2.2). */
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(target, len, 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA)))
        return LG_ERR;
    free(req->path);
    free(req->query);
    req->path = (u.field_set & (1 << UF_PATH))
                    ? lg_xstrndup(target + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len)
                    : lg_xstrdup("/");
    req->query = (u.field_set & (1 << UF_QUERY))
                     ? lg_xstrndup(target + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                     : NULL;
    return LG_OK;
}

void lg_httpd_req_add_in_header(lg_httpd_req_t *req, const char *name, size_t name_len,
                                const char *value, size_t value_len)
{
    if (req->n_in == req->cap_in) {
        req->cap_in = req->cap_in ? 2 * req->cap_in : 8;
        req->in = lg_xrealloc(req->in, req->cap_in * sizeof(*req->in));
    }
    /* Optional whitespace around a field value is not part of it (RFC 9110 5.5). */
    while (value_len > 0 && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        value_len--;
    }
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    req->in[req->n_in].name = lg_xstrndup(name, name_len);
    req->in[req->n_in].value = lg_xstrndup(value, value_len);
    req->n_in++;
}

void lg_httpd_req_append_body(lg_httpd_req_t *req, const char *data, size_t len)
{
    if (evbuffer_add(req->body, data, len) != 0)
        abort(); /* out of memory */
}

size_t lg_httpd_req_body_len(const lg_httpd_req_t *req)
{
    return evbuffer_get_length(req->body);
}

void lg_httpd_req_set_peer(lg_httpd_req_t *req, const char *addr, const char *cn)
{
    lg_strlcpy(req->peer, addr, sizeof(req->peer));
    req->has_cn = cn != NULL && lg_strlcpy(req->cn, cn, sizeof(req->cn));
}

void lg_httpd_req_set_sink(lg_httpd_req_t *req, lg_httpd_respond_cb respond, void *sink)
{
    req->respond = respond;
    req->sink = respond != NULL ? sink : NULL;
}

void lg_httpd_req_set_tag(lg_httpd_req_t *req, void *tag)
{
    req->tag = tag;
}

void *lg_httpd_req_tag(const lg_httpd_req_t *req)
{
    return req->tag;
}

const lg_httpd_header_t *lg_httpd_req_out_headers(const lg_httpd_req_t *req, size_t *n)
{
    *n = req->n_out;
    return req->out;
}

bool lg_httpd_req_wants_close(const lg_httpd_req_t *req)
{
    return req->wants_close;
}

lg_http_method_t lg_httpd_method(const lg_httpd_req_t *req)
{
    return req->method;
}

int lg_httpd_version(const lg_httpd_req_t *req)
{
    return req->version;
}

const char *lg_httpd_path(const lg_httpd_req_t *req)
{
    return req->path != NULL ? req->path : "/";
}

const char *lg_httpd_query(const lg_httpd_req_t *req)
{
    return req->query;
}

const char *lg_httpd_header(const lg_httpd_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_in; i++)
        if (strcasecmp(req->in[i].name, name) == 0)
            return req->in[i].value;
    return NULL;
}

size_t lg_httpd_header_count(const lg_httpd_req_t *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_in; i++)
        n += strcasecmp(req->in[i].name, name) == 0;
    return n;
}

const char *lg_httpd_body(lg_httpd_req_t *req, size_t *len)
{
    *len = evbuffer_get_length(req->body);
    if (*len == 0)
        return "";
    return (const char *)evbuffer_pullup(req->body, -1);
}

const char *lg_httpd_peer(const lg_httpd_req_t *req)
{
    return req->peer;
}

const char *lg_httpd_peer_cn(const lg_httpd_req_t *req)
{
    return req->has_cn ? req->cn : NULL;
}

void lg_httpd_add_header(lg_httpd_req_t *req, const char *name, const char *value)
{
    if (strcasecmp(name, "Connection") == 0) {
        req->wants_close = req->wants_close || strcasecmp(value, "close") == 0;
        return;
    }
    if (req->n_out == req->cap_out) {
        req->cap_out = req->cap_out ? 2 * req->cap_out : 4;
        req->out = lg_xrealloc(req->out, req->cap_out * sizeof(*req->out));
    }
    req->out[req->n_out].name = lg_xstrdup(name);
    req->out[req->n_out].value = lg_xstrdup(value);
    req->n_out++;
}

void lg_httpd_reply(lg_httpd_req_t *req, int status, const char *body, size_t len)
{
    if (req->respond != NULL)
        req->respond(req->sink, req, status, body, len);
    lg_httpd_req_free(req);
}

bool lg_httpd_is_gone(const lg_httpd_req_t *req)
{
    return req->respond == NULL;
}

const char *lg_http_status_text(int status)
{
    const char *s = http_status_str((enum http_status)status);
    return s != NULL && strcmp(s, "<unknown>") != 0 ? s : "Unknown";
}
