/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the HTTP server's parts that do no I/O: the HTTP/1.1
 * parser and writer (httpd_h1.c) with every refusal the zones answer as
 * ProblemDetails, the HTTP/2 session (httpd_h2.c) driven by a real nghttp2
 * client session, the ALPN choice and the preface sniffing (httpd.c), and
 * the request object (httpd_req.c), including a reply after its stream has
 * gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>

#include "locguard/core/httpd.h"
#include "locguard/core/httpd_h1.h"
#include "locguard/core/httpd_h2.h"

/* ---- HTTP/1.1 ---- */

/* Parses all of text (in pieces of step bytes); the first request or error. */
static lg_h1_result_t parse_all(lg_h1_t *h1, const char *text, size_t step,
                                struct evbuffer *interim, lg_httpd_req_t **req,
                                const lg_httpd_error_t **err, size_t *used)
{
    size_t len = strlen(text), off = 0;
    lg_h1_result_t r = LG_H1_NEED_MORE;
    while (off < len) {
        size_t n = len - off < step ? len - off : step, consumed;
        r = lg_h1_parse(h1, text + off, n, &consumed, interim, req, err);
        off += consumed;
        if (r != LG_H1_NEED_MORE)
            break;
    }
    if (used != NULL)
        *used = off;
    return r;
}

static void test_h1_parses_a_request_in_any_pieces(void **state)
{
    (void)state;
    const char *text = "POST /v1/location-reports?x=1 HTTP/1.1\r\nHost: a\r\n"
                       "Locguard-Seq: 7\r\nX-Two: a\r\nx-two: b\r\nContent-Length: 5\r\n\r\nhello";
    for (size_t step = 1; step <= strlen(text); step += 7) {
        lg_h1_t *h1 = lg_h1_new(1024);
        lg_httpd_req_t *req;
        const lg_httpd_error_t *err;
        assert_int_equal(parse_all(h1, text, step, NULL, &req, &err, NULL), LG_H1_REQUEST);
        assert_int_equal(lg_httpd_method(req), LG_HTTP_POST);
        assert_string_equal(lg_httpd_path(req), "/v1/location-reports");
        assert_string_equal(lg_httpd_query(req), "x=1");
        assert_string_equal(lg_httpd_header(req, "locguard-seq"), "7");
        assert_int_equal(lg_httpd_header_count(req, "X-Two"), 2);
        size_t len;
        const char *body = lg_httpd_body(req, &len);
        assert_int_equal(len, 5);
        assert_memory_equal(body, "hello", 5);
        assert_true(lg_h1_keep_alive(h1));
        lg_httpd_req_free(req);
        lg_h1_free(h1);
    }
}

static void test_h1_pipelined_requests_come_one_at_a_time_in_order(void **state)
{
    (void)state;
    const char *text = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    lg_h1_t *h1 = lg_h1_new(1024);
    lg_httpd_req_t *req;
    const lg_httpd_error_t *err;
    size_t consumed;
    assert_int_equal(lg_h1_parse(h1, text, strlen(text), &consumed, NULL, &req, &err),
                     LG_H1_REQUEST);
    assert_string_equal(lg_httpd_path(req), "/a");
    assert_true(consumed < strlen(text));
    lg_httpd_req_free(req);
    size_t rest = strlen(text) - consumed;
    assert_int_equal(lg_h1_parse(h1, text + consumed, rest, &consumed, NULL, &req, &err),
                     LG_H1_REQUEST);
    assert_string_equal(lg_httpd_path(req), "/b");
    assert_int_equal(consumed, rest);
    lg_httpd_req_free(req);
    lg_h1_free(h1);
}

static void test_h1_reads_a_chunked_body(void **state)
{
    (void)state;
    lg_h1_t *h1 = lg_h1_new(1024);
    lg_httpd_req_t *req;
    const lg_httpd_error_t *err;
    assert_int_equal(parse_all(h1,
                               "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                               5, NULL, &req, &err, NULL),
                     LG_H1_REQUEST);
    size_t len;
    const char *body = lg_httpd_body(req, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(body, "abcde", 5);
    lg_httpd_req_free(req);
    lg_h1_free(h1);
}

/* The refusals, each with the status and the invalidParams entry the zone will send. */
static void test_h1_refusals_carry_status_and_parameter(void **state)
{
    (void)state;
    char big_header[LG_HTTPD_MAX_HEADER_BYTES + 200];
    snprintf(big_header, sizeof(big_header), "GET / HTTP/1.1\r\nX-Pad: %0*d\r\n\r\n",
             LG_HTTPD_MAX_HEADER_BYTES, 0);
    static const struct {
        const char *text;
        int status;
        const char *param;
    } cases[] = {
        {"POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", 413, NULL},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", 413, NULL},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "body"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n2\r\n{}\r\n"
         "0\r\n\r\n",
         400, "header Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400,
         "header Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n{}", 400, "header Content-Length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "header Transfer-Encoding"},
        {"GET / HTTP/9.z\r\n\r\n", 400, "request line"},
        {"GET / HTTP/1.1\r\nBad\x01Name: x\r\n\r\n", 400, "headers"},
        {NULL, 431, "headers"}, /* big_header */
    };
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_h1_t *h1 = lg_h1_new(1024);
        lg_httpd_req_t *req = NULL;
        const lg_httpd_error_t *err = NULL;
        const char *text = cases[i].text != NULL ? cases[i].text : big_header;
        lg_h1_result_t r = parse_all(h1, text, 4096, NULL, &req, &err, NULL);
        print_message("case %zu\n", i);
        assert_int_equal(r, LG_H1_ERROR);
        assert_non_null(req);
        assert_int_equal(err->status, cases[i].status);
        if (cases[i].param == NULL)
            assert_null(err->param);
        else
            assert_string_equal(err->param, cases[i].param);
        /* Nothing more is read on a broken connection. */
        size_t consumed;
        lg_httpd_req_t *again;
        assert_int_equal(
            lg_h1_parse(h1, "GET / HTTP/1.1\r\n\r\n", 18, &consumed, NULL, &again, &err),
            LG_H1_ERROR);
        lg_httpd_req_free(again);
        lg_httpd_req_free(req);
        lg_h1_free(h1);
    }
}

static void test_h1_expect_continue_only_for_a_body_that_fits(void **state)
{
    (void)state;
    struct evbuffer *interim = evbuffer_new();
    lg_h1_t *h1 = lg_h1_new(100);
    lg_httpd_req_t *req;
    const lg_httpd_error_t *err;
    size_t used;
    const char *fits = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_int_equal(parse_all(h1, fits, 1000, interim, &req, &err, &used), LG_H1_NEED_MORE);
    assert_int_equal(evbuffer_get_length(interim), 25); /* "HTTP/1.1 100 Continue\r\n\r\n" */
    lg_h1_free(h1);
    evbuffer_drain(interim, evbuffer_get_length(interim));
    h1 = lg_h1_new(100);
    const char *over = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 200\r\n\r\n";
    assert_int_equal(parse_all(h1, over, 1000, interim, &req, &err, &used), LG_H1_ERROR);
    assert_int_equal(err->status, 413);
    assert_int_equal(evbuffer_get_length(interim), 0);
    lg_httpd_req_free(req);
    lg_h1_free(h1);
    evbuffer_free(interim);
}

static void test_h1_http10_and_connection_close_end_the_connection(void **state)
{
    (void)state;
    const char *texts[] = {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"};
    for (size_t i = 0; i < 2; i++) {
        lg_h1_t *h1 = lg_h1_new(100);
        lg_httpd_req_t *req;
        const lg_httpd_error_t *err;
        assert_int_equal(parse_all(h1, texts[i], 1000, NULL, &req, &err, NULL), LG_H1_REQUEST);
        assert_false(lg_h1_keep_alive(h1));
        lg_httpd_req_free(req);
        lg_h1_free(h1);
    }
}

static char *drain_text(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

static void test_h1_writes_responses_with_length_and_headers(void **state)
{
    (void)state;
    struct evbuffer *out = evbuffer_new();
    lg_httpd_req_t *req = lg_httpd_req_new(1);
    lg_httpd_req_set_method(req, "GET", 3);
    lg_httpd_add_header(req, "Retry-After", "5");
    lg_httpd_add_header(req, "Connection", "close");
    assert_true(lg_httpd_req_wants_close(req));
    lg_h1_write_response(out, req, 503, "{}", 2, true);
    char *s = drain_text(out);
    assert_string_equal(s, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
                           "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
    free(s);
    lg_h1_write_response(out, req, 204, NULL, 0, false);
    s = drain_text(out);
    assert_string_equal(s, "HTTP/1.1 204 No Content\r\nRetry-After: 5\r\n\r\n");
    free(s);
    lg_httpd_req_set_method(req, "HEAD", 4);
    lg_h1_write_response(out, req, 200, "abc", 3, false);
    s = drain_text(out);
    assert_string_equal(s, "HTTP/1.1 200 OK\r\nRetry-After: 5\r\nContent-Length: 3\r\n\r\n");
    free(s);
    lg_httpd_req_free(req);
    evbuffer_free(out);
}

/* ---- the request object ---- */

static void test_req_targets_origin_and_absolute(void **state)
{
    (void)state;
    lg_httpd_req_t *req = lg_httpd_req_new(1);
    assert_int_equal(lg_httpd_req_set_target(req, "/a/b?c=d&e", 10), LG_OK);
    assert_string_equal(lg_httpd_path(req), "/a/b");
    assert_string_equal(lg_httpd_query(req), "c=d&e");
    assert_int_equal(lg_httpd_req_set_target(req, "https://h:1/x?y", 15), LG_OK);
    assert_string_equal(lg_httpd_path(req), "/x");
    assert_string_equal(lg_httpd_query(req), "y");
    assert_int_equal(lg_httpd_req_set_target(req, "/only", 5), LG_OK);
    assert_null(lg_httpd_query(req));
    assert_int_equal(lg_httpd_req_set_target(req, "nothing", 7), LG_ERR);
    assert_int_equal(lg_httpd_req_set_target(req, "", 0), LG_ERR);
    lg_httpd_req_set_peer(req, "1.2.3.4:5", "mme-1");
    assert_string_equal(lg_httpd_peer(req), "1.2.3.4:5");
    assert_string_equal(lg_httpd_peer_cn(req), "mme-1");
    lg_httpd_req_set_peer(req, "1.2.3.4:5", NULL);
    assert_null(lg_httpd_peer_cn(req));
    /* No sink: the peer is gone; the reply only frees. */
    assert_true(lg_httpd_is_gone(req));
    lg_httpd_reply(req, 204, NULL, 0);
}

/* ---- ALPN and the preface ---- */

static void test_alpn_prefers_h2_then_http11(void **state)
{
    (void)state;
    const unsigned char both[] = "\x08http/1.1\x02h2", h1[] = "\x08http/1.1",
                        other[] = "\x06spdy/3", broken[] = "\x09http/1.1";
    const unsigned char *out;
    unsigned char out_len;
    assert_true(lg_httpd_alpn_select(both, sizeof(both) - 1, &out, &out_len));
    assert_int_equal(out_len, 2);
    assert_memory_equal(out, "h2", 2);
    assert_true(lg_httpd_alpn_select(h1, sizeof(h1) - 1, &out, &out_len));
    assert_int_equal(out_len, 8);
    assert_memory_equal(out, "http/1.1", 8);
    assert_false(lg_httpd_alpn_select(other, sizeof(other) - 1, &out, &out_len));
    assert_false(lg_httpd_alpn_select(broken, sizeof(broken) - 1, &out, &out_len));
}

static void test_preface_sniffing(void **state)
{
    (void)state;
    const char *p = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    assert_int_equal(lg_httpd_sniff_preface(p, 24), LG_PREFACE_H2);
    assert_int_equal(lg_httpd_sniff_preface(p, 10), LG_PREFACE_MORE);
    assert_int_equal(lg_httpd_sniff_preface("POST / HTTP/1.1", 15), LG_PREFACE_H1);
    assert_int_equal(lg_httpd_sniff_preface("PRX", 3), LG_PREFACE_H1);
}

/* ---- HTTP/2 against a real nghttp2 client ---- */

typedef struct h2_test {
    lg_h2_t *server;
    nghttp2_session *client;
    lg_httpd_req_t *got[4]; /* requests handed to the owner */
    size_t n_got;
    const lg_httpd_error_t *err; /* the last refusal */
    int status;                  /* the client's last :status */
    char body[512];              /* the client's last response body */
    size_t body_len;
    bool is_closed;     /* the client saw its stream close */
    const char *upload; /* the client's request body */
    size_t upload_len, upload_off;
} h2_test_t;

static void on_request(void *owner, lg_httpd_req_t *req)
{
    h2_test_t *t = owner;
    t->got[t->n_got++] = req;
}

static void on_error(void *owner, lg_httpd_req_t *req, const lg_httpd_error_t *err)
{
    h2_test_t *t = owner;
    t->err = err;
    t->got[t->n_got++] = req;
}

static const lg_h2_ops_t test_ops = {.on_request = on_request, .on_error = on_error};

static int client_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *arg)
{
    h2_test_t *t = arg;
    (void)s, (void)f, (void)flags, (void)valuelen;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        t->status = atoi((const char *)value);
    return 0;
}

static int client_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                          size_t len, void *arg)
{
    h2_test_t *t = arg;
    (void)s, (void)flags, (void)id;
    if (t->body_len + len < sizeof(t->body)) {
        memcpy(t->body + t->body_len, data, len);
        t->body_len += len;
    }
    return 0;
}

static int client_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *arg)
{
    h2_test_t *t = arg;
    (void)s, (void)id, (void)code;
    t->is_closed = true;
    return 0;
}

static ssize_t client_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                           uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    h2_test_t *t = arg;
    (void)s, (void)id, (void)src;
    size_t n = t->upload_len - t->upload_off;
    if (n > length)
        n = length;
    memcpy(buf, t->upload + t->upload_off, n);
    t->upload_off += n;
    if (t->upload_off == t->upload_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void h2_setup(h2_test_t *t, size_t max_body)
{
    memset(t, 0, sizeof(*t));
    t->server = lg_h2_new(&test_ops, t, max_body);
    assert_non_null(t->server);
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, client_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, client_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, client_on_close);
    assert_int_equal(nghttp2_session_client_new(&t->client, cbs, t), 0);
    nghttp2_session_callbacks_del(cbs);
    assert_int_equal(nghttp2_submit_settings(t->client, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

/* Moves bytes both ways until neither side has anything to send. */
static void h2_pump(h2_test_t *t)
{
    for (int round = 0; round < 50; round++) {
        bool moved = false;
        const uint8_t *data;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(t->client, &data)) > 0) {
            assert_int_equal(lg_h2_recv(t->server, data, (size_t)n), LG_OK);
            moved = true;
        }
        struct evbuffer *out = evbuffer_new();
        assert_int_equal(lg_h2_send(t->server, out), LG_OK);
        size_t len = evbuffer_get_length(out);
        if (len > 0) {
            assert_int_equal(nghttp2_session_mem_recv(t->client, evbuffer_pullup(out, -1), len),
                             (ssize_t)len);
            moved = true;
        }
        evbuffer_free(out);
        if (!moved)
            return;
    }
    fail_msg("the sessions never settled");
}

static int32_t h2_post(h2_test_t *t, const char *path, const char *body, const char *extra_name,
                       const char *extra_value)
{
    nghttp2_nv nva[6];
    size_t n = 0;
#define NV(a, b) nva[n++] = (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), 0}
    NV(":method", "POST");
    NV(":scheme", "https");
    NV(":authority", "locguard");
    NV(":path", path);
    NV("content-type", "application/json");
    if (extra_name != NULL)
        NV(extra_name, extra_value);
#undef NV
    t->upload = body;
    t->upload_len = strlen(body);
    t->upload_off = 0;
    nghttp2_data_provider prd = {.read_callback = client_read};
    int32_t id = nghttp2_submit_request(t->client, NULL, nva, n, &prd, NULL);
    assert_true(id > 0);
    return id;
}

static void h2_teardown(h2_test_t *t)
{
    lg_h2_free(t->server);
    nghttp2_session_del(t->client);
}

static void test_h2_request_reaches_the_owner_and_the_reply_the_client(void **state)
{
    (void)state;
    h2_test_t t;
    h2_setup(&t, 1024);
    h2_post(&t, "/v1/location-reports?q", "{\"a\":1}", "locguard-seq", "9");
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    lg_httpd_req_t *req = t.got[0];
    assert_int_equal(lg_httpd_version(req), 2);
    assert_int_equal(lg_httpd_method(req), LG_HTTP_POST);
    assert_string_equal(lg_httpd_path(req), "/v1/location-reports");
    assert_string_equal(lg_httpd_query(req), "q");
    assert_string_equal(lg_httpd_header(req, "Locguard-Seq"), "9");
    assert_string_equal(lg_httpd_header(req, "Content-Type"), "application/json");
    size_t len;
    assert_memory_equal(lg_httpd_body(req, &len), "{\"a\":1}", 7);
    assert_int_equal(lg_h2_pending(t.server), 1);
    lg_httpd_add_header(req, "Content-Type", "application/problem+json");
    lg_h2_respond(t.server, req, 409, "{\"x\":2}", 7);
    lg_httpd_req_free(req);
    assert_int_equal(lg_h2_pending(t.server), 0);
    h2_pump(&t);
    assert_int_equal(t.status, 409);
    assert_int_equal(t.body_len, 7);
    assert_memory_equal(t.body, "{\"x\":2}", 7);
    assert_true(t.is_closed);
    h2_teardown(&t);
}

static void test_h2_body_over_the_limit_is_refused_with_413(void **state)
{
    (void)state;
    h2_test_t t;
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    h2_setup(&t, 100);
    h2_post(&t, "/", big, NULL, NULL);
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    assert_non_null(t.err);
    assert_int_equal(t.err->status, 413);
    lg_h2_respond(t.server, t.got[0], 413, "{}", 2);
    lg_httpd_req_free(t.got[0]);
    h2_pump(&t);
    assert_int_equal(t.status, 413);
    /* A declared content-length over the limit is refused before any DATA. */
    t.n_got = 0;
    t.err = NULL;
    h2_post(&t, "/", "x", "content-length", "5000");
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    assert_int_equal(t.err->status, 413);
    lg_h2_respond(t.server, t.got[0], 413, "{}", 2);
    lg_httpd_req_free(t.got[0]);
    h2_teardown(&t);
}

static void test_h2_header_block_over_16k_is_refused_with_431(void **state)
{
    (void)state;
    h2_test_t t;
    static char pad[LG_HTTPD_MAX_HEADER_BYTES + 10];
    memset(pad, 'p', sizeof(pad) - 1);
    h2_setup(&t, 100);
    h2_post(&t, "/", "{}", "x-pad", pad);
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    assert_int_equal(t.err->status, 431);
    assert_string_equal(t.err->param, "headers");
    lg_h2_respond(t.server, t.got[0], 431, "{}", 2);
    lg_httpd_req_free(t.got[0]);
    h2_pump(&t);
    assert_int_equal(t.status, 431);
    h2_teardown(&t);
}

/* A sink that a detached request must never reach. */
static void must_not_respond(void *sink, lg_httpd_req_t *req, int status, const char *body,
                             size_t len)
{
    (void)sink, (void)req, (void)status, (void)body, (void)len;
    fail_msg("a reply reached a stream that has gone");
}

static void test_h2_reply_after_the_stream_is_reset_only_frees(void **state)
{
    (void)state;
    h2_test_t t;
    h2_setup(&t, 1024);
    int32_t id = h2_post(&t, "/", "{}", NULL, NULL);
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    lg_httpd_req_t *req = t.got[0];
    /* The server (httpd.c) sets the sink; here a sink that must be cleared. */
    lg_httpd_req_set_sink(req, must_not_respond, &t);
    assert_false(lg_httpd_is_gone(req));
    assert_int_equal(nghttp2_submit_rst_stream(t.client, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL), 0);
    h2_pump(&t);
    assert_true(lg_httpd_is_gone(req));
    assert_int_equal(lg_h2_pending(t.server), 0);
    lg_httpd_reply(req, 204, NULL, 0); /* frees; must not call the old sink */
    h2_teardown(&t);
}

static void test_h2_reply_after_the_session_is_freed_only_frees(void **state)
{
    (void)state;
    h2_test_t t;
    h2_setup(&t, 1024);
    h2_post(&t, "/", "{}", NULL, NULL);
    h2_pump(&t);
    assert_int_equal(t.n_got, 1);
    lg_httpd_req_t *req = t.got[0];
    lg_httpd_req_set_sink(req, must_not_respond, &t);
    h2_teardown(&t);
    assert_true(lg_httpd_is_gone(req));
    lg_httpd_reply(req, 204, NULL, 0);
}

static void test_h2_garbage_breaks_the_session(void **state)
{
    (void)state;
    lg_h2_t *h2 = lg_h2_new(&test_ops, NULL, 100);
    assert_int_equal(lg_h2_recv(h2, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18), LG_ERR);
    lg_h2_free(h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h1_parses_a_request_in_any_pieces),
        cmocka_unit_test(test_h1_pipelined_requests_come_one_at_a_time_in_order),
        cmocka_unit_test(test_h1_reads_a_chunked_body),
        cmocka_unit_test(test_h1_refusals_carry_status_and_parameter),
        cmocka_unit_test(test_h1_expect_continue_only_for_a_body_that_fits),
        cmocka_unit_test(test_h1_http10_and_connection_close_end_the_connection),
        cmocka_unit_test(test_h1_writes_responses_with_length_and_headers),
        cmocka_unit_test(test_req_targets_origin_and_absolute),
        cmocka_unit_test(test_alpn_prefers_h2_then_http11),
        cmocka_unit_test(test_preface_sniffing),
        cmocka_unit_test(test_h2_request_reaches_the_owner_and_the_reply_the_client),
        cmocka_unit_test(test_h2_body_over_the_limit_is_refused_with_413),
        cmocka_unit_test(test_h2_header_block_over_16k_is_refused_with_431),
        cmocka_unit_test(test_h2_reply_after_the_stream_is_reset_only_frees),
        cmocka_unit_test(test_h2_reply_after_the_session_is_freed_only_frees),
        cmocka_unit_test(test_h2_garbage_breaks_the_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
