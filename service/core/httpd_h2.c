/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/2 server sessions over nghttp2 (Debian's libnghttp2-dev). nghttp2
 * does the framing, HPACK, the stream states, MAX_CONCURRENT_STREAMS and flow
 * control; this file turns each stream into an lg_httpd_req_t, enforces the
 * limits that are ours (16 KiB of header fields, the zone's body limit, both
 * answered 431/413 on the stream as the zone's error; the rest of that
 * stream's body is read and dropped, since clients such as curl 7.88 take
 * an RST_STREAM after a complete answer for a failure), and sends the
 * replies. A stream the
 * client resets while its request is with a handler detaches the request;
 * the handler's late reply then only frees it.
 */
#include "locguard/core/httpd_h2.h"

#include "locguard/core/httpd_h1.h"

#include <ctype.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One stream with a request on it. */
typedef struct stream {
    struct stream *prev, *next; /* the session's list, to detach everything at free */
    int32_t id;
    lg_httpd_req_t *req;         /* being read (ours) or with the owner (dispatched) */
    bool is_dispatched;          /* req was handed to the owner, who owes a reply */
    bool is_refused;             /* answered with an error: later DATA is dropped */
    const lg_httpd_error_t *err; /* a limit crossed while reading the header block */
    size_t header_bytes;         /* header fields so far, counted as RFC 9113 6.5.2 does */
    struct evbuffer *body;       /* the response body not yet sent */
} stream_t;

struct lg_h2 {
    nghttp2_session *session;
    const lg_h2_ops_t *ops;
    void *owner;
    size_t max_body_bytes;
    stream_t *streams; /* every stream with a stream_t */
    size_t n_pending;  /* dispatched and not answered */
};

static const lg_httpd_error_t err_too_large = {
    413, "Payload Too Large", "the request body is larger than this zone accepts", NULL, NULL};
static const lg_httpd_error_t err_headers_too_large = {431, "Request Header Fields Too Large",
                                                       "the header fields exceed 16384 bytes",
                                                       "headers", "at most 16384 bytes in all"};
static const lg_httpd_error_t err_target = {400, "Bad Request", "malformed :path", "request target",
                                            "an origin-form path"};

static stream_t *stream_of(lg_h2_t *h2, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h2->session, id);
}

static void stream_unlink(lg_h2_t *h2, stream_t *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        h2->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
}

/* Frees a stream: its request when still ours, else detaches it from the owner's. */
static void stream_free(lg_h2_t *h2, stream_t *s)
{
    if (s->req != NULL) {
        if (s->is_dispatched) {
            lg_httpd_req_set_sink(s->req, NULL, NULL);
            lg_httpd_req_set_tag(s->req, NULL);
            h2->n_pending--;
        } else {
            lg_httpd_req_free(s->req);
        }
    }
    if (s->body != NULL)
        evbuffer_free(s->body);
    free(s);
}

/* Hands the stream's request to the owner as an error to answer; later data is dropped. */
static void refuse(lg_h2_t *h2, stream_t *s, const lg_httpd_error_t *err)
{
    s->is_refused = true;
    s->is_dispatched = true;
    h2->n_pending++;
    h2->ops->on_error(h2->owner, s->req, err);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
    lg_h2_t *h2 = arg;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream_t *s = lg_xcalloc(1, sizeof(*s));
    s->id = frame->hd.stream_id;
    s->req = lg_httpd_req_new(2);
    lg_httpd_req_set_tag(s->req, s);
    s->next = h2->streams;
    if (s->next != NULL)
        s->next->prev = s;
    h2->streams = s;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    lg_h2_t *h2 = arg;
    (void)session;
    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are not used */
    stream_t *s = stream_of(h2, frame->hd.stream_id);
    if (s == NULL || s->err != NULL)
        return 0;
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > LG_HTTPD_MAX_HEADER_BYTES) {
        s->err = &err_headers_too_large;
        return 0;
    }
    const char *n = (const char *)name, *v = (const char *)value;
    if (namelen > 0 && n[0] == ':') {
        if (namelen == 7 && memcmp(n, ":method", 7) == 0)
            lg_httpd_req_set_method(s->req, v, valuelen);
        else if (namelen == 5 && memcmp(n, ":path", 5) == 0 &&
                 lg_httpd_req_set_target(s->req, v, valuelen) != LG_OK)
            s->err = &err_target;
        else if (namelen == 10 && memcmp(n, ":authority", 10) == 0)
            lg_httpd_req_add_in_header(s->req, "host", 4, v, valuelen);
        return 0;
    }
    lg_httpd_req_add_in_header(s->req, n, namelen, v, valuelen);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *arg)
{
    lg_h2_t *h2 = arg;
    (void)session;
    (void)flags;
    stream_t *s = stream_of(h2, stream_id);
    if (s == NULL || s->is_dispatched)
        return 0;
    if (lg_httpd_req_body_len(s->req) + len > h2->max_body_bytes) {
        refuse(h2, s, &err_too_large);
        return 0;
    }
    lg_httpd_req_append_body(s->req, (const char *)data, len);
    return 0;
}

/* Whether a request's Content-Length already says its body is over the limit. */
static bool is_declared_too_large(const lg_h2_t *h2, const lg_httpd_req_t *req)
{
    const char *cl = lg_httpd_header(req, "content-length");
    if (cl == NULL)
        return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && *end == '\0' && n > h2->max_body_bytes;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *arg)
{
    lg_h2_t *h2 = arg;
    (void)session;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    stream_t *s = stream_of(h2, frame->hd.stream_id);
    if (s == NULL || s->is_dispatched)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (s->err != NULL) {
            refuse(h2, s, s->err);
            return 0;
        }
        if (is_declared_too_large(h2, s->req)) {
            refuse(h2, s, &err_too_large);
            return 0;
        }
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        s->is_dispatched = true;
        h2->n_pending++;
        h2->ops->on_request(h2->owner, s->req);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *arg)
{
    lg_h2_t *h2 = arg;
    (void)error_code;
    stream_t *s = stream_of(h2, stream_id);
    if (s == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    stream_unlink(h2, s);
    stream_free(h2, s);
    return 0;
}

lg_h2_t *lg_h2_new(const lg_h2_ops_t *ops, void *owner, size_t max_body_bytes)
{
    lg_h2_t *h2 = lg_xcalloc(1, sizeof(*h2));
    h2->ops = ops;
    h2->owner = owner;
    h2->max_body_bytes = max_body_bytes;
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;
    if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
        goto failed;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    /* Peers get our SETTINGS; nghttp2 refuses streams past them once acknowledged. */
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    if (nghttp2_session_server_new2(&h2->session, cbs, h2, opt) != 0)
        goto failed;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, LG_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LG_H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, LG_HTTPD_MAX_HEADER_BYTES},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    if (nghttp2_submit_settings(h2->session, NGHTTP2_FLAG_NONE, iv, LG_ARRAY_SIZE(iv)) != 0 ||
        nghttp2_session_set_local_window_size(h2->session, NGHTTP2_FLAG_NONE, 0,
                                              LG_H2_CONNECTION_WINDOW) != 0)
        goto failed;
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    return h2;
failed:
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    lg_h2_free(h2);
    return NULL;
}

void lg_h2_free(lg_h2_t *h2)
{
    if (h2 == NULL)
        return;
    nghttp2_session_del(h2->session);
    while (h2->streams != NULL) {
        stream_t *s = h2->streams;
        stream_unlink(h2, s);
        stream_free(h2, s);
    }
    free(h2);
}

int lg_h2_recv(lg_h2_t *h2, const uint8_t *data, size_t len)
{
    ssize_t n = nghttp2_session_mem_recv(h2->session, data, len);
    return n < 0 ? LG_ERR : LG_OK;
}

int lg_h2_send(lg_h2_t *h2, struct evbuffer *out)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h2->session, &data);
        if (n < 0)
            return LG_ERR;
        if (n == 0)
            return LG_OK;
        if (evbuffer_add(out, data, (size_t)n) != 0)
            abort(); /* out of memory */
    }
}

bool lg_h2_is_done(const lg_h2_t *h2)
{
    return !nghttp2_session_want_read(h2->session) && !nghttp2_session_want_write(h2->session);
}

size_t lg_h2_pending(const lg_h2_t *h2)
{
    return h2->n_pending;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *arg)
{
    stream_t *s = source->ptr;
    (void)session;
    (void)stream_id;
    (void)arg;
    int n = evbuffer_remove(s->body, buf, length);
    if (n < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (evbuffer_get_length(s->body) == 0)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return n;
}

void lg_h2_respond(lg_h2_t *h2, lg_httpd_req_t *req, int status, const char *body, size_t len)
{
    stream_t *s = lg_httpd_req_tag(req);
    if (s == NULL || s->req != req)
        return;
    s->req = NULL;
    h2->n_pending--;
    size_t n_added;
    const lg_httpd_header_t *added = lg_httpd_req_out_headers(req, &n_added);
    bool has_body = !(status < 200 || status == 204 || status == 304);
    bool sends_body = has_body && len > 0 && lg_httpd_method(req) != LG_HTTP_HEAD;
    nghttp2_nv *nva = lg_xcalloc(n_added + 2, sizeof(*nva));
    char **names = lg_xcalloc(n_added, sizeof(*names));
    char status_text[8], length_text[24];
    size_t n = 0;
    snprintf(status_text, sizeof(status_text), "%d", status);
    nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status_text, 7, strlen(status_text),
                            NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < n_added; i++) {
        /* HTTP/2 field names are lowercase (RFC 9113 8.2.1). */
        names[i] = lg_xstrdup(added[i].name);
        for (char *c = names[i]; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        nva[n++] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)added[i].value, strlen(names[i]),
                                strlen(added[i].value), NGHTTP2_NV_FLAG_NONE};
    }
    if (has_body) {
        snprintf(length_text, sizeof(length_text), "%zu", len);
        nva[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)length_text, 14,
                                strlen(length_text), NGHTTP2_NV_FLAG_NONE};
    }
    nghttp2_data_provider prd = {.source.ptr = s, .read_callback = read_body};
    if (sends_body) {
        s->body = evbuffer_new();
        if (s->body == NULL || evbuffer_add(s->body, body, len) != 0)
            abort(); /* out of memory */
    }
    /* nghttp2 copies the header fields; a failure leaves the stream to be reset by the peer. */
    (void)nghttp2_submit_response(h2->session, s->id, nva, n, sends_body ? &prd : NULL);
    for (size_t i = 0; i < n_added; i++)
        free(names[i]);
    free(names);
    free(nva);
}

void lg_h2_shutdown(lg_h2_t *h2)
{
    (void)nghttp2_submit_goaway(h2->session, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(h2->session),
                                NGHTTP2_NO_ERROR, NULL, 0);
}
