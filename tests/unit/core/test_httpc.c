/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/core/httpc.c. Pure: the error classes of libcurl's
 * result codes (table-driven), the address guard's check of a peer address
 * in text form, the error names. On the loop, against an in-process HTTPS
 * sink (evhttp over bufferevent_openssl, a self-signed certificate made
 * here for localhost, 127.0.0.1 and ::1): an answer with its status, body
 * and headers; a redirect answered, not followed; the guard refusing a
 * private address literal, a name resolving only to private addresses, and
 * a kept-alive connection opened by a request that allowed private
 * addresses; the body bound; a name that does not resolve; a closed port;
 * an untrusted certificate; the deadline; kept-alive connections; a client
 * certificate for mutual TLS; requests refused before they start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/core/httpc.h"
#include "locguard/core/log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- pure ---------------------------------------------------------------------------------- */

static void test_curl_codes_have_their_class(void **state)
{
    static const struct {
        int code;
        bool is_guard_refused;
        lg_httpc_error_t want;
    } cases[] = {
        {CURLE_OK, false, LG_HTTPC_OK},
        {CURLE_COULDNT_RESOLVE_HOST, false, LG_HTTPC_ERR_DNS},
        {CURLE_COULDNT_CONNECT, false, LG_HTTPC_ERR_CONNECT},
        {CURLE_COULDNT_CONNECT, true, LG_HTTPC_ERR_REFUSED},
        {CURLE_ABORTED_BY_CALLBACK, true, LG_HTTPC_ERR_REFUSED},
        {CURLE_OPERATION_TIMEDOUT, false, LG_HTTPC_ERR_TIMEOUT},
        {CURLE_OPERATION_TIMEDOUT, true, LG_HTTPC_ERR_TIMEOUT},
        {CURLE_PEER_FAILED_VERIFICATION, false, LG_HTTPC_ERR_TLS},
        {CURLE_SSL_CONNECT_ERROR, false, LG_HTTPC_ERR_TLS},
        {CURLE_SSL_CERTPROBLEM, false, LG_HTTPC_ERR_TLS},
        {CURLE_GOT_NOTHING, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_RECV_ERROR, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_SEND_ERROR, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_HTTP2, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_HTTP2_STREAM, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_WRITE_ERROR, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_WEIRD_SERVER_REPLY, false, LG_HTTPC_ERR_PROTOCOL},
        {CURLE_URL_MALFORMAT, false, LG_HTTPC_ERR_REQUEST},
        {CURLE_UNSUPPORTED_PROTOCOL, false, LG_HTTPC_ERR_REQUEST},
        {CURLE_OUT_OF_MEMORY, false, LG_HTTPC_ERR_REQUEST},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_httpc_error_t got = lg_httpc_classify(cases[i].code, cases[i].is_guard_refused);
        if (got != cases[i].want)
            fail_msg("curl code %d (guard %d): %s, want %s", cases[i].code,
                     cases[i].is_guard_refused, lg_httpc_error_name(got),
                     lg_httpc_error_name(cases[i].want));
    }
}

/* A test policy: loopback (127/8, ::1) and 10/8 refused. */
static bool refuse_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 127 || (a >> 24) == 10;
    }
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return true;
}

static void test_peer_address_text_is_checked_by_the_policy(void **state)
{
    (void)state;
    assert_true(lg_httpc_ip_is_refused("127.0.0.1", refuse_loopback));
    assert_true(lg_httpc_ip_is_refused("10.1.2.3", refuse_loopback));
    assert_true(lg_httpc_ip_is_refused("::1", refuse_loopback));
    assert_false(lg_httpc_ip_is_refused("192.0.2.7", refuse_loopback));
    assert_false(lg_httpc_ip_is_refused("2001:db8::1", refuse_loopback));
    /* Not an address: refused, whatever the policy. */
    assert_true(lg_httpc_ip_is_refused("", refuse_loopback));
    assert_true(lg_httpc_ip_is_refused("localhost", refuse_loopback));
    assert_true(lg_httpc_ip_is_refused("127.1", refuse_loopback));
    assert_true(lg_httpc_ip_is_refused(NULL, refuse_loopback));
    /* No policy: every address allowed. */
    assert_false(lg_httpc_ip_is_refused("127.0.0.1", NULL));
}

static void test_every_error_has_a_name(void **state)
{
    (void)state;
    for (int e = 0; e < LG_HTTPC_N_ERRORS; e++) {
        const char *name = lg_httpc_error_name((lg_httpc_error_t)e);
        assert_non_null(name);
        assert_string_not_equal(name, "?");
    }
    assert_string_equal(lg_httpc_error_name(LG_HTTPC_ERR_REFUSED), "refused");
    assert_string_equal(lg_httpc_error_name(LG_HTTPC_N_ERRORS), "?");
}

/* ---- on the loop --------------------------------------------------------------------------- */

typedef struct fixture {
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *server_ctx;
    char ca_path[64];  /* the self-signed certificate, trusted by the clients */
    char key_path[64]; /* its key: the client certificate of the mutual TLS test is the same */
    int port;
    /* the sink */
    int requests, connections;
    int status;         /* answered (200 when 0) */
    size_t answer_size; /* body bytes answered, "x" repeated; 0 = the request's body */
    bool is_hanging;
    char last_body[256], last_ua[64], last_hdr[64], last_method[16];
    /* the client's results */
    lg_httpc_t *client;
    int done;
    lg_httpc_result_t last;
    char body[256], detail[512], x_sink[64];
} fixture_t;

static struct bufferevent *on_sink_bev(struct event_base *base, void *arg)
{
    fixture_t *f = arg;
    f->connections++;
    return bufferevent_openssl_socket_new(base, -1, SSL_new(f->server_ctx),
                                          BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void on_sink_request(struct evhttp_request *req, void *arg)
{
    fixture_t *f = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    f->requests++;
    memset(f->last_body, 0, sizeof(f->last_body));
    evbuffer_copyout(body, f->last_body,
                     len < sizeof(f->last_body) - 1 ? len : sizeof(f->last_body) - 1);
    const char *ua = evhttp_find_header(in, "User-Agent");
    const char *h = evhttp_find_header(in, "X-Test");
    lg_strlcpy(f->last_ua, ua ? ua : "", sizeof(f->last_ua));
    lg_strlcpy(f->last_hdr, h ? h : "", sizeof(f->last_hdr));
    lg_strlcpy(f->last_method,
               evhttp_request_get_command(req) == EVHTTP_REQ_PATCH ? "PATCH" : "other",
               sizeof(f->last_method));
    if (f->is_hanging)
        return;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "X-Sink", "seen");
    int status = f->status ? f->status : 200;
    if (status == 302)
        evhttp_add_header(out, "Location", "https://127.0.0.1:1/elsewhere");
    struct evbuffer *answer = evbuffer_new();
    if (f->answer_size > 0) {
        for (size_t i = 0; i < f->answer_size; i++)
            evbuffer_add(answer, "x", 1);
    } else {
        evbuffer_add_buffer(answer, body);
    }
    evhttp_send_reply(req, status, "whatever", answer);
    evbuffer_free(answer);
}

/*
 * A self-signed P-256 certificate for localhost, 127.0.0.1 and ::1, written
 * to path, its key to key_path.
 */
static void make_cert(SSL_CTX *ctx, const char *path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const char *exts[][2] = {{"subjectAltName", "DNS:localhost,IP:127.0.0.1,IP:::1"},
                             {"basicConstraints", "critical,CA:TRUE"}};
    for (size_t i = 0; i < LG_ARRAY_SIZE(exts); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    PEM_write_X509(fp, x);
    fclose(fp);
    fp = fopen(key_path, "w");
    assert_non_null(fp);
    PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

static int setup(void **state)
{
    fixture_t *f = lg_xcalloc(1, sizeof(*f));
    f->base = event_base_new();
    f->server_ctx = SSL_CTX_new(TLS_server_method());
    lg_strlcpy(f->ca_path, "/tmp/test_httpc.XXXXXX", sizeof(f->ca_path));
    int fd = mkstemp(f->ca_path);
    assert_true(fd >= 0);
    close(fd);
    lg_strlcpy(f->key_path, "/tmp/test_httpc.XXXXXX", sizeof(f->key_path));
    fd = mkstemp(f->key_path);
    assert_true(fd >= 0);
    close(fd);
    make_cert(f->server_ctx, f->ca_path, f->key_path);
    f->http = evhttp_new(f->base);
    evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH);
    evhttp_set_bevcb(f->http, on_sink_bev, f);
    evhttp_set_gencb(f->http, on_sink_request, f);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bound);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &sl);
    f->port = ntohs(sin.sin_port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    lg_httpc_free(f->client);
    evhttp_free(f->http);
    SSL_CTX_free(f->server_ctx);
    event_base_free(f->base);
    unlink(f->ca_path);
    unlink(f->key_path);
    free(f);
    return 0;
}

static void start_client(fixture_t *f, bool is_trusting, size_t max_body)
{
    lg_httpc_config_t cfg = {.zone = "test",
                             .ca_file = is_trusting ? f->ca_path : NULL,
                             .max_conns_per_host = 2,
                             .idle_s = 30,
                             .max_body = max_body,
                             .is_refused = refuse_loopback};
    f->client = lg_httpc_new(f->base, &cfg);
    assert_non_null(f->client);
}

static void on_done(void *arg, const lg_httpc_result_t *r)
{
    fixture_t *f = arg;
    f->done++;
    f->last = *r;
    lg_strlcpy(f->body, r->body, sizeof(f->body));
    lg_strlcpy(f->detail, r->detail, sizeof(f->detail));
    const char *h = lg_httpc_header(r, "x-sink");
    lg_strlcpy(f->x_sink, h != NULL ? h : "", sizeof(f->x_sink));
    f->last.body = f->body;
    f->last.detail = f->detail;
    f->last.xfer = NULL;
    event_base_loopexit(f->base, NULL);
}

/* Sends one request to the sink at host (path /p) and runs the loop until it ends (or 10 s). */
static const lg_httpc_result_t *request(fixture_t *f, const char *method, const char *host,
                                        bool allow_private, int timeout_ms)
{
    char url[128];
    snprintf(url, sizeof(url), "https://%s:%d/p", host, f->port);
    const char *headers[] = {"Content-Type", "application/json", "X-Test", "yes", NULL};
    lg_httpc_request_t req = {.method = method,
                              .url = url,
                              .headers = headers,
                              .body = "{\"a\":1}",
                              .body_len = 7,
                              .timeout_ms = timeout_ms > 0 ? timeout_ms : 5000,
                              .allow_private = allow_private,
                              .tag = "t"};
    const char *err = NULL;
    int done = f->done;
    assert_int_equal(lg_httpc_submit(f->client, &req, on_done, f, &err), LG_OK);
    assert_int_equal(f->done, done); /* never before submit returns */
    struct timeval ten = {10, 0};
    event_base_loopexit(f->base, &ten);
    event_base_dispatch(f->base);
    assert_int_equal(f->done, done + 1);
    assert_int_equal(lg_httpc_pending(f->client), 0);
    return &f->last;
}

static void test_answer_has_status_body_and_headers(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->http_version, 1); /* evhttp offers no h2 */
    assert_string_equal(r->body, "{\"a\":1}");
    assert_string_equal(r->detail, "");
    assert_string_equal(f->x_sink, "seen");
    assert_string_equal(f->last_body, "{\"a\":1}");
    assert_string_equal(f->last_ua, "locguard");
    assert_string_equal(f->last_hdr, "yes");
    r = request(f, "PATCH", "localhost", true, 0);
    assert_int_equal(r->status, 200);
    assert_string_equal(f->last_method, "PATCH");
    assert_string_equal(f->last_body, "{\"a\":1}");
}

static void test_redirect_is_an_answer_not_followed(void **state)
{
    fixture_t *f = *state;
    f->status = 302;
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_OK);
    assert_int_equal(r->status, 302);
    assert_int_equal(f->requests, 1);
}

static void test_guard_refuses_private_literal_and_name(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", false, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_REFUSED);
    assert_string_equal(r->detail, "destination not allowed");
    /* localhost: 127.0.0.1 and ::1, both refused. */
    r = request(f, "POST", "localhost", false, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_REFUSED);
    assert_int_equal(f->requests, 0);
    assert_int_equal(f->connections, 0);
}

/*
 * A connection opened for a request that allowed private addresses is kept
 * alive; a request to the same host and port that does not allow them must
 * not go over it.
 */
static void test_guard_refuses_a_kept_alive_connection_to_a_private_peer(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->status, 200);
    r = request(f, "POST", "127.0.0.1", false, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_REFUSED);
    assert_int_equal(f->requests, 1);
    r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(f->requests, 2);
}

static void test_body_over_the_bound_fails(void **state)
{
    fixture_t *f = *state;
    f->answer_size = 5000;
    start_client(f, true, 4096);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_PROTOCOL);
    assert_string_equal(r->detail, "response too long");
    f->answer_size = 4096;
    r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_OK);
}

static void test_unresolvable_name_closed_port_and_untrusted_certificate(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "name-that-does-not-exist.invalid", true, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_DNS);
    assert_non_null(strstr(r->detail, "name resolution failed"));

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    int port = f->port;
    f->port = ntohs(sin.sin_port);
    r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_CONNECT);
    f->port = port;

    lg_httpc_free(f->client);
    start_client(f, false, 0); /* the system store does not hold the test certificate */
    r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_ERR_TLS);
    assert_non_null(strstr(r->detail, "certificate verify failed"));
    assert_int_equal(f->requests, 0);
}

static void test_deadline_ends_a_silent_exchange(void **state)
{
    fixture_t *f = *state;
    f->is_hanging = true;
    start_client(f, true, 0);
    int64_t t0 = lg_mono_us();
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 300);
    int64_t took_ms = (lg_mono_us() - t0) / 1000;
    assert_int_equal(r->error, LG_HTTPC_ERR_TIMEOUT);
    assert_true(took_ms >= 290 && took_ms < 3000);
    assert_int_equal(f->requests, 1);
}

static void test_requests_in_a_row_share_one_connection(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(request(f, "POST", "localhost", true, 0)->status, 200);
    assert_int_equal(f->requests, 4);
    assert_int_equal(f->connections, 1);
}

static void test_client_certificate_for_mutual_tls(void **state)
{
    fixture_t *f = *state;
    SSL_CTX_set_verify(f->server_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(f->server_ctx, f->ca_path, NULL), 1);
    start_client(f, true, 0);
    const lg_httpc_result_t *r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_not_equal(r->error, LG_HTTPC_OK); /* no client certificate */
    assert_int_equal(f->requests, 0);
    lg_httpc_free(f->client);
    lg_httpc_config_t cfg = {.zone = "test",
                             .ca_file = f->ca_path,
                             .cert_file = f->ca_path,
                             .key_file = f->key_path,
                             .max_conns_per_host = 1,
                             .idle_s = 30};
    f->client = lg_httpc_new(f->base, &cfg);
    assert_non_null(f->client);
    r = request(f, "POST", "127.0.0.1", true, 0);
    assert_int_equal(r->error, LG_HTTPC_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(f->requests, 1);
    /* A key file that cannot be read: no client. */
    lg_httpc_free(f->client);
    cfg.key_file = "/nonexistent/key.pem";
    f->client = lg_httpc_new(f->base, &cfg);
    assert_null(f->client);
}

static void test_malformed_requests_are_refused_at_once(void **state)
{
    fixture_t *f = *state;
    start_client(f, true, 0);
    const char *bad_headers[] = {"X-Evil", "a\r\nInjected: yes", NULL};
    const char *err = NULL;
    lg_httpc_request_t req = {
        .method = "POST", .url = "https://localhost/", .headers = bad_headers};
    assert_int_equal(lg_httpc_submit(f->client, &req, on_done, f, &err), LG_ERR);
    assert_non_null(err);
    req.headers = NULL;
    req.method = NULL;
    assert_int_equal(lg_httpc_submit(f->client, &req, on_done, f, &err), LG_ERR);
    assert_int_equal(lg_httpc_pending(f->client), 0);
    /* http:// unless allowed: refused by libcurl, reported through the callback. */
    req.method = "GET";
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->port);
    req.url = url;
    req.allow_private = true;
    assert_int_equal(lg_httpc_submit(f->client, &req, on_done, f, &err), LG_OK);
    event_base_dispatch(f->base);
    assert_int_equal(f->last.error, LG_HTTPC_ERR_REQUEST);
    assert_int_equal(f->requests, 0);
}

int main(void)
{
    /* As main.c: the client leaves SIGPIPE to the process. */
    signal(SIGPIPE, SIG_IGN);
    lg_log_level = getenv("LOCGUARD_TEST_DEBUG") ? LG_LOG_DEBUG : LG_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_codes_have_their_class),
        cmocka_unit_test(test_peer_address_text_is_checked_by_the_policy),
        cmocka_unit_test(test_every_error_has_a_name),
        cmocka_unit_test_setup_teardown(test_answer_has_status_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_is_an_answer_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guard_refuses_private_literal_and_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_guard_refuses_a_kept_alive_connection_to_a_private_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_the_bound_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unresolvable_name_closed_port_and_untrusted_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_ends_a_silent_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_in_a_row_share_one_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate_for_mutual_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests_are_refused_at_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
