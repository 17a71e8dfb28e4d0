/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 requests from bytes, over http-parser 2.9 (Debian's
 * libhttp-parser-dev). The library does the grammar, chunked bodies, and
 * refuses the framings that smuggle requests (Content-Length with chunked
 * Transfer-Encoding, two Content-Lengths, a Transfer-Encoding that does not
 * end in chunked); this file adds the limits (16 KiB of request line and
 * headers, the zone's body limit) and turns each refusal into an
 * lg_httpd_error_t the zone answers as ProblemDetails. The parser pauses
 * after every complete request, so requests are handled, and answered, one
 * at a time in order.
 */
#include "locguard/core/httpd_h1.h"

#include <http_parser.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growing byte string (the target, a header name or value as its pieces arrive). */
typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf_t;

struct lg_h1 {
    http_parser parser;
    http_parser_settings settings;
    size_t max_body_bytes;
    lg_httpd_req_t *req;         /* the request being read */
    strbuf_t url, field, value;  /* pieces of the target and of the current header */
    bool is_in_value;            /* the last header piece was a value */
    bool is_headers_done;        /* later header pieces are trailers */
    bool is_complete;            /* on_message_complete ran for req */
    bool is_keep_alive;          /* of the last complete request */
    bool is_broken;              /* refused a request: no more parsing */
    size_t header_bytes;         /* request line and headers read so far */
    struct evbuffer *interim;    /* where "100 Continue" goes */
    const lg_httpd_error_t *err; /* our own refusal, set by a callback */
};

static const lg_httpd_error_t err_too_large = {
    413, "Payload Too Large", "the request body is larger than this zone accepts", NULL, NULL};
static const lg_httpd_error_t err_headers_too_large = {
    431, "Request Header Fields Too Large", "the request line and header fields exceed 16384 bytes",
    "headers", "at most 16384 bytes in all"};
static const lg_httpd_error_t err_chunk_size = {400, "Bad Request",
                                                "malformed chunk size in the chunked body", "body",
                                                "a chunk size must be hexadecimal digits"};
static const lg_httpd_error_t err_chunked_length = {
    400, "Bad Request",
    "ambiguous body framing: Content-Length with Transfer-Encoding, or Content-Length twice",
    "header Content-Length", "not allowed with Transfer-Encoding or repeated"};
static const lg_httpd_error_t err_content_length = {400, "Bad Request", "malformed Content-Length",
                                                    "header Content-Length",
                                                    "must be one decimal integer"};
static const lg_httpd_error_t err_transfer_encoding = {
    400, "Bad Request", "unsupported Transfer-Encoding", "header Transfer-Encoding",
    "only chunked, last, is accepted"};
static const lg_httpd_error_t err_request_line = {400, "Bad Request", "malformed request line",
                                                  "request line",
                                                  "METHOD SP request-target SP HTTP/1.x"};
static const lg_httpd_error_t err_target = {400, "Bad Request", "malformed request target",
                                            "request target",
                                            "an origin-form path or an absolute URI"};
static const lg_httpd_error_t err_header_syntax = {400, "Bad Request", "malformed header field",
                                                   "headers", "name \":\" value CRLF"};
static const lg_httpd_error_t err_body = {400, "Bad Request", "malformed message body", "body",
                                          "does not match its framing"};
static const lg_httpd_error_t err_other = {400, "Bad Request", "malformed HTTP/1.1 request",
                                           "request", "not a valid HTTP/1.1 message"};

static void sb_append(strbuf_t *sb, const char *data, size_t len)
{
    if (sb->len + len + 1 > sb->cap) {
        sb->cap = (sb->len + len + 1) * 2;
        sb->data = lg_xrealloc(sb->data, sb->cap);
    }
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

/* Counts len more bytes of request line and headers; false (and the error) past the limit. */
static bool count_header_bytes(lg_h1_t *h1, size_t len)
{
    h1->header_bytes += len;
    if (h1->header_bytes <= LG_HTTPD_MAX_HEADER_BYTES)
        return true;
    h1->err = &err_headers_too_large;
    return false;
}

/* Adds the header whose name and value are complete (a trailer is dropped). */
static void flush_header(lg_h1_t *h1)
{
    if (h1->field.len > 0 && !h1->is_headers_done)
        lg_httpd_req_add_in_header(h1->req, h1->field.data, h1->field.len,
                                   h1->value.data ? h1->value.data : "", h1->value.len);
    h1->field.len = 0;
    h1->value.len = 0;
    h1->is_in_value = false;
}

static int on_message_begin(http_parser *p)
{
    lg_h1_t *h1 = p->data;
    lg_httpd_req_free(h1->req);
    h1->req = lg_httpd_req_new(1);
    h1->url.len = h1->field.len = h1->value.len = 0;
    h1->is_in_value = h1->is_headers_done = h1->is_complete = false;
    h1->header_bytes = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    lg_h1_t *h1 = p->data;
    if (!count_header_bytes(h1, len))
        return -1;
    sb_append(&h1->url, at, len);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    lg_h1_t *h1 = p->data;
    if (!count_header_bytes(h1, len))
        return -1;
    if (h1->is_in_value)
        flush_header(h1);
    sb_append(&h1->field, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    lg_h1_t *h1 = p->data;
    if (!count_header_bytes(h1, len))
        return -1;
    h1->is_in_value = true;
    sb_append(&h1->value, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    lg_h1_t *h1 = p->data;
    flush_header(h1);
    h1->is_headers_done = true;
    const char *method = http_method_str((enum http_method)p->method);
    lg_httpd_req_set_method(h1->req, method, strlen(method));
    if (lg_httpd_req_set_target(h1->req, h1->url.data ? h1->url.data : "", h1->url.len) != LG_OK) {
        h1->err = &err_target;
        return -1;
    }
    bool has_length = (p->flags & F_CONTENTLENGTH) && !(p->flags & F_CHUNKED);
    if (has_length && p->content_length > h1->max_body_bytes) {
        h1->err = &err_too_large;
        return -1;
    }
    /* RFC 9110 10.1.1: a client waiting for "100 Continue" gets it once the body is welcome. */
    const char *expect = lg_httpd_header(h1->req, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 && p->http_major == 1 &&
        p->http_minor >= 1 && h1->interim != NULL)
        evbuffer_add_printf(h1->interim, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    lg_h1_t *h1 = p->data;
    if (lg_httpd_req_body_len(h1->req) + len > h1->max_body_bytes) {
        h1->err = &err_too_large;
        return -1;
    }
    lg_httpd_req_append_body(h1->req, at, len);
    return 0;
}

/* A chunk's size is known before its data: refuse one that would cross the limit at once. */
static int on_chunk_header(http_parser *p)
{
    lg_h1_t *h1 = p->data;
    if (p->content_length > h1->max_body_bytes - lg_httpd_req_body_len(h1->req)) {
        h1->err = &err_too_large;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    lg_h1_t *h1 = p->data;
    h1->is_complete = true;
    h1->is_keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

lg_h1_t *lg_h1_new(size_t max_body_bytes)
{
    lg_h1_t *h1 = lg_xcalloc(1, sizeof(*h1));
    h1->max_body_bytes = max_body_bytes;
    http_parser_init(&h1->parser, HTTP_REQUEST);
    h1->parser.data = h1;
    http_parser_settings_init(&h1->settings);
    h1->settings.on_message_begin = on_message_begin;
    h1->settings.on_url = on_url;
    h1->settings.on_header_field = on_header_field;
    h1->settings.on_header_value = on_header_value;
    h1->settings.on_headers_complete = on_headers_complete;
    h1->settings.on_body = on_body;
    h1->settings.on_chunk_header = on_chunk_header;
    h1->settings.on_message_complete = on_message_complete;
    return h1;
}

void lg_h1_free(lg_h1_t *h1)
{
    if (h1 == NULL)
        return;
    lg_httpd_req_free(h1->req);
    free(h1->url.data);
    free(h1->field.data);
    free(h1->value.data);
    free(h1);
}

/* The answer to a request the library refused. */
static const lg_httpd_error_t *error_of(enum http_errno e)
{
    switch (e) {
    case HPE_HEADER_OVERFLOW:
        return &err_headers_too_large;
    case HPE_INVALID_CHUNK_SIZE:
        return &err_chunk_size;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return &err_chunked_length;
    case HPE_INVALID_CONTENT_LENGTH:
        return &err_content_length;
    case HPE_INVALID_TRANSFER_ENCODING:
        return &err_transfer_encoding;
    case HPE_INVALID_METHOD:
    case HPE_INVALID_VERSION:
        return &err_request_line;
    case HPE_INVALID_URL:
        return &err_target;
    case HPE_INVALID_HEADER_TOKEN:
    case HPE_LF_EXPECTED:
    case HPE_INVALID_CONSTANT:
        return &err_header_syntax;
    case HPE_INVALID_EOF_STATE:
    case HPE_INVALID_INTERNAL_STATE:
    case HPE_STRICT:
        return &err_body;
    default:
        return &err_other;
    }
}

lg_h1_result_t lg_h1_parse(lg_h1_t *h1, const char *data, size_t len, size_t *consumed,
                           struct evbuffer *interim, lg_httpd_req_t **req_out,
                           const lg_httpd_error_t **err_out)
{
    *consumed = 0;
    *req_out = NULL;
    *err_out = NULL;
    if (h1->is_broken) {
        *err_out = &err_other;
        return LG_H1_ERROR;
    }
    if (len == 0)
        return LG_H1_NEED_MORE;
    /* Each request starts on a fresh parser: the last one paused, and may have been an Upgrade. */
    if (h1->req == NULL) {
        http_parser_init(&h1->parser, HTTP_REQUEST);
        h1->parser.data = h1;
    }
    h1->interim = interim;
    h1->err = NULL;
    size_t n = http_parser_execute(&h1->parser, &h1->settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&h1->parser);
    *consumed = n;
    if (h1->is_complete && (e == HPE_OK || e == HPE_PAUSED)) {
        *req_out = h1->req;
        h1->req = NULL;
        h1->is_complete = false;
        return LG_H1_REQUEST;
    }
    if (e == HPE_OK && n == len)
        return LG_H1_NEED_MORE;
    h1->is_broken = true;
    *err_out = h1->err != NULL ? h1->err : error_of(e);
    *req_out = h1->req != NULL ? h1->req : lg_httpd_req_new(1);
    h1->req = NULL;
    return LG_H1_ERROR;
}

bool lg_h1_keep_alive(const lg_h1_t *h1)
{
    return h1->is_keep_alive;
}

void lg_h1_write_response(struct evbuffer *out, const lg_httpd_req_t *req, int status,
                          const char *body, size_t len, bool is_close)
{
    size_t n_headers;
    const lg_httpd_header_t *h = lg_httpd_req_out_headers(req, &n_headers);
    bool has_body = !(status < 200 || status == 204 || status == 304);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, lg_http_status_text(status));
    for (size_t i = 0; i < n_headers; i++)
        evbuffer_add_printf(out, "%s: %s\r\n", h[i].name, h[i].value);
    if (has_body)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
    if (is_close)
        evbuffer_add(out, "Connection: close\r\n", 19);
    evbuffer_add(out, "\r\n", 2);
    if (has_body && lg_httpd_method(req) != LG_HTTP_HEAD && len > 0)
        evbuffer_add(out, body, len);
}
