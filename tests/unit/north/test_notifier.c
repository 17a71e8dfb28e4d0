/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of service/north/notifier.c against a real PostgreSQL (the outbox tables
 * and sql/outbox.sql applied) and an in-process HTTPS sink on the same event
 * loop. They need two environment variables and are skipped without them:
 *
 *   LOCGUARD_TEST_DATABASE  libpq conninfo of a migrated database (its outbox is emptied)
 *   LOCGUARD_TEST_CERTS     a tests/tools/mkcerts.sh directory (ca.pem, server.pem/.key,
 * rogue-ca.pem)
 *
 * Covered: a signed delivery (two secrets during rotation, absolute self
 * link, query string kept, host name resolved by the HTTP client), 500 twice then
 * 200 with one webhook-id, 410 -> gone, private destinations refused, an
 * untrusted server certificate, a redirect not followed, and giving up once
 * a row is older than retry_max_age_s, the per-destination limit, and
 * freeing the notifier with requests open and rows waiting, and a server
 * that never answers (timeout), several notifications over one kept-alive
 * connection, a server closing an idle connection (the next one goes over a
 * new connection that resumes the TLS session), and a reused connection
 * that fails without an answer (sent again at once on a new connection).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../dbtest.h"
#include "locguard/core/db.h"
#include "locguard/core/log.h"
#include "locguard/core/metrics.h"
#include "locguard/north/notifier.h"
#include "locguard/north/webhook.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define SECRET     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_OLD "whsec_c2VjcmV0LXR3by1mb3Itcm90YXRpb24tdGVzdHM="
#define PUBLIC_URL "https://locguard.test:8443"

/* The sink: what it answers and what it saw. */
typedef struct sink {
    int fail_first;   /* answer 500 to this many requests first */
    int status;       /* then this (200 when 0) */
    bool is_hanging;  /* never answer (requests stay open until teardown) */
    int drop_request; /* close the connection instead of answering this request (1-based) */
    int connections;  /* TLS connections accepted */
    int resumed;      /* requests that came over a resumed TLS session */
    int last_fd;      /* the socket of the latest request */
    int requests;
    int valid_signatures;
    int valid_with_old;
    char path[256];
    char ids[8][64];
    char body[2048];
    char user_agent[64];
} sink_t;

typedef struct fixture {
    const char *conninfo;
    char certs[512];
    PGconn *pg;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
    lg_notifier_t *notifier;
    struct evhttp *http;
    SSL_CTX *server_ctx;
    int port;
    sink_t sink;
    int64_t deadline_us;
    struct event *check;
} fixture_t;

static struct bufferevent *on_sink_bev(struct event_base *base, void *arg)
{
    fixture_t *f = arg;
    f->sink.connections++;
    SSL *ssl = SSL_new(f->server_ctx);
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

static void on_sink_request(struct evhttp_request *req, void *arg)
{
    fixture_t *f = arg;
    sink_t *s = &f->sink;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char body[2048] = "";
    if (len < sizeof(body))
        evbuffer_copyout(in, body, len);
    const char *id = evhttp_find_header(h, "webhook-id");
    const char *ts = evhttp_find_header(h, "webhook-timestamp");
    const char *sig = evhttp_find_header(h, "webhook-signature");
    const char *ua = evhttp_find_header(h, "User-Agent");
    if (s->requests < 8)
        lg_strlcpy(s->ids[s->requests], id ? id : "", sizeof(s->ids[0]));
    s->requests++;
    lg_strlcpy(s->path, evhttp_request_get_uri(req), sizeof(s->path));
    lg_strlcpy(s->body, body, sizeof(s->body));
    lg_strlcpy(s->user_agent, ua ? ua : "", sizeof(s->user_agent));
    s->valid_signatures += lg_webhook_verify(SECRET, id, ts, body, len, sig);
    s->valid_with_old += lg_webhook_verify(SECRET_OLD, id, ts, body, len, sig);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    s->resumed += ssl != NULL && SSL_session_reused(ssl);
    s->last_fd = bufferevent_getfd(bev);
    if (s->is_hanging)
        return;
    if (s->requests == s->drop_request) {
        /* As if the server had closed the connection just before the request arrived. */
        shutdown(bufferevent_getfd(bev), SHUT_RDWR);
        return;
    }
    int status = s->fail_first > 0 ? 500 : (s->status ? s->status : 200);
    if (s->fail_first > 0)
        s->fail_first--;
    if (status == 302)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "https://127.0.0.1:1/elsewhere");
    if (status == 500)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0");
    evhttp_send_reply(req, status, "whatever", NULL);
}

static int setup(void **state)
{
    const char *conninfo = getenv("LOCGUARD_TEST_DATABASE");
    const char *certs = getenv("LOCGUARD_TEST_CERTS");
    if (conninfo == NULL || certs == NULL) {
        *state = NULL;
        return 0;
    }
    fixture_t *f = lg_xcalloc(1, sizeof(*f));
    f->conninfo = conninfo;
    lg_strlcpy(f->certs, certs, sizeof(f->certs));
    f->pg = PQconnectdb(conninfo);
    if (PQstatus(f->pg) != CONNECTION_OK)
        fail_msg("database: %s", PQerrorMessage(f->pg));
    dbtest_exec(f->pg, "DELETE FROM notification_outbox; DELETE FROM scs WHERE scs_as_id = 'scs-t'");
    dbtest_exec(f->pg,
            "INSERT INTO scs (scs_as_id, webhook_secret, webhook_secret_previous, "
            "allow_private_destinations) VALUES ('scs-t', '" SECRET "', '" SECRET_OLD "', true)");
    f->base = event_base_new();
    f->metrics = lg_metrics_new();
    f->db = lg_db_new(f->base, &(lg_db_config_t){conninfo, 2, 5}, f->metrics);

    char cert[600], key[600];
    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    f->server_ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate_chain_file(f->server_ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(f->server_ctx, key, SSL_FILETYPE_PEM), 1);
    f->http = evhttp_new(f->base);
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
    if (f == NULL)
        return 0;
    lg_notifier_free(f->notifier);
    lg_db_free(f->db);
    if (f->check != NULL)
        event_free(f->check);
    evhttp_free(f->http);
    SSL_CTX_free(f->server_ctx);
    lg_metrics_free(f->metrics);
    event_base_free(f->base);
    PQfinish(f->pg);
    free(f);
    return 0;
}

/* Starts the notifier with test settings; ca NULL = the test CA. */
static void start(fixture_t *f, const char *ca_name, int retry_max_age_s)
{
    char ca[600];
    snprintf(ca, sizeof(ca), "%s/%s", f->certs, ca_name ? ca_name : "ca.pem");
    lg_notifier_config_t cfg;
    lg_notifier_config_defaults(&cfg);
    cfg.public_url = PUBLIC_URL;
    cfg.ca_file = ca;
    cfg.max_backoff_s = 1;
    cfg.poll_ms = 50;
    cfg.timeout_s = 3;
    cfg.retry_max_age_s = retry_max_age_s;
    f->notifier = lg_notifier_new(f->base, f->db, f->metrics, &cfg);
    assert_non_null(f->notifier);
}

static void add_row(fixture_t *f, const char *host, const char *path, const char *extra)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO notification_outbox (scs_id, kind, destination, payload, created_at) "
             "SELECT id, 'test', 'https://%s:%d%s', "
             "'{\"subscription\": \"/3gpp-monitoring-event/v1/scs-t/subscriptions/0a1b\"}', "
             "now() - interval '%s' FROM scs WHERE scs_as_id = 'scs-t'",
             host, f->port, path, extra ? extra : "0 s");
    dbtest_exec(f->pg, sql);
}

static long pending_rows(fixture_t *f)
{
    PGresult *r =
        PQexec(f->pg, "SELECT count(*) FROM notification_outbox WHERE status = 'pending'");
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
    fixture_t *f = arg;
    (void)fd;
    (void)what;
    if ((pending_rows(f) == 0 && lg_notifier_inflight(f->notifier) == 0) ||
        lg_mono_us() > f->deadline_us)
        event_base_loopexit(f->base, NULL);
}

/* Runs the loop until no row is pending any more (or 15 s). */
static void run_until_settled(fixture_t *f)
{
    f->deadline_us = lg_mono_us() + 15000000;
    if (f->check == NULL)
        f->check = event_new(f->base, -1, EV_PERSIST, on_check, f);
    struct timeval tv = {0, 50000};
    event_add(f->check, &tv);
    lg_notifier_kick(f->notifier);
    event_base_dispatch(f->base);
    assert_int_equal(pending_rows(f), 0);
}

/* The one row's status, attempts (-k: at least k), last_status, last_error. */
static void expect_row(fixture_t *f, const char *status, int attempts, const char *last_status,
                       const char *error_part)
{
    PGresult *r = PQexec(f->pg, "SELECT status, attempts, coalesce(last_status::text, ''), "
                                "coalesce(last_error, '') FROM notification_outbox");
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), status);
    if (attempts >= 0)
        assert_int_equal(atoi(PQgetvalue(r, 0, 1)), attempts);
    else
        assert_true(atoi(PQgetvalue(r, 0, 1)) >= -attempts);
    assert_string_equal(PQgetvalue(r, 0, 2), last_status);
    if (strstr(PQgetvalue(r, 0, 3), error_part) == NULL)
        fail_msg("last_error \"%s\" lacks \"%s\"", PQgetvalue(r, 0, 3), error_part);
    PQclear(r);
}

static char *row_notif_id(fixture_t *f)
{
    PGresult *r = PQexec(f->pg, "SELECT notif_id FROM notification_outbox");
    char *id = lg_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return id;
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

/* Runs the loop for ms milliseconds. */
static void run_for(fixture_t *f, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    lg_notifier_kick(f->notifier);
    event_base_once(f->base, -1, EV_TIMEOUT, on_stop, f->base, &tv);
    event_base_dispatch(f->base);
}

#define NEED_DB(state)                                                                             \
    fixture_t *f = *(state);                                                                       \
    if (f == NULL)                                                                                 \
    skip()

static void test_delivery_is_signed_with_both_secrets_and_absolute_link(void **state)
{
    NEED_DB(state);
    add_row(f, "localhost", "/hook?x=1", NULL);
    char *id = row_notif_id(f);
    start(f, NULL, 86400);
    run_until_settled(f);
    expect_row(f, "delivered", 1, "200", "");
    assert_int_equal(f->sink.requests, 1);
    assert_int_equal(f->sink.valid_signatures, 1);
    assert_int_equal(f->sink.valid_with_old, 1);
    assert_string_equal(f->sink.ids[0], id);
    assert_string_equal(f->sink.path, "/hook?x=1");
    assert_string_equal(f->sink.user_agent, "locguard");
    assert_string_equal(f->sink.body, "{\"subscription\":\"" PUBLIC_URL
                                      "/3gpp-monitoring-event/v1/scs-t/subscriptions/0a1b\"}");
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_SUCCEEDED), 1);
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_DELIVERY_LATENCY), 1);
    free(id);
}

static void test_500_twice_then_200_keeps_the_webhook_id(void **state)
{
    NEED_DB(state);
    add_row(f, "127.0.0.1", "/n", NULL);
    char *id = row_notif_id(f);
    f->sink.fail_first = 2;
    start(f, NULL, 86400);
    run_until_settled(f);
    expect_row(f, "delivered", 3, "200", "");
    assert_int_equal(f->sink.requests, 3);
    assert_int_equal(f->sink.valid_signatures, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(f->sink.ids[i], id);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_RETRIED), 2);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_SUCCEEDED), 1);
    /* One latency per notification, at its 2xx: from the row's creation, the retries
     * included (the back-off after two failures is at least a few ms). */
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_DELIVERY_LATENCY), 1);
    free(id);
}

static void test_410_is_gone(void **state)
{
    NEED_DB(state);
    add_row(f, "127.0.0.1", "/n", NULL);
    f->sink.status = 410;
    start(f, NULL, 86400);
    run_until_settled(f);
    expect_row(f, "failed", 1, "410", "410");
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_GONE), 1);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_FAILED), 0);
    assert_int_equal(lg_metrics_histogram_count(f->metrics, LG_H_DELIVERY_LATENCY), 0);
}

static void test_private_destination_refused_unless_allowed(void **state)
{
    NEED_DB(state);
    dbtest_exec(f->pg, "UPDATE scs SET allow_private_destinations = false WHERE scs_as_id = 'scs-t'");
    add_row(f, "localhost", "/n", NULL);
    start(f, NULL, 86400);
    run_until_settled(f);
    expect_row(f, "failed", 1, "", "destination not allowed");
    assert_int_equal(f->sink.requests, 0);
    dbtest_exec(f->pg, "DELETE FROM notification_outbox");
    add_row(f, "127.0.0.1", "/n", NULL);
    run_until_settled(f);
    expect_row(f, "failed", 1, "", "destination not allowed");
    assert_int_equal(f->sink.requests, 0);
}

static void test_untrusted_certificate_is_retried_then_failed(void **state)
{
    NEED_DB(state);
    add_row(f, "localhost", "/n", "86399 s");
    start(f, "rogue-ca.pem", 86400);
    run_until_settled(f);
    /* Retried (back-off drawn within the second left) until the deadline, then given up. */
    expect_row(f, "failed", -2, "", "certificate verify failed");
    assert_int_equal(f->sink.requests, 0);
}

static void test_redirect_is_not_followed(void **state)
{
    NEED_DB(state);
    add_row(f, "127.0.0.1", "/n", "86400 s");
    f->sink.status = 302;
    start(f, NULL, 86400);
    run_until_settled(f);
    expect_row(f, "failed", 1, "302", "redirects are not followed");
    assert_int_equal(f->sink.requests, 1);
    assert_string_equal(f->sink.path, "/n");
}

/* Starts the notifier polling every 50 ms, with CONCURRENCY slots per destination. */
static void start_notifier(fixture_t *f, int concurrency, int max_backoff_s)
{
    lg_notifier_config_t cfg;
    char ca[600];
    snprintf(ca, sizeof(ca), "%s/ca.pem", f->certs);
    lg_notifier_config_defaults(&cfg);
    cfg.ca_file = ca;
    cfg.poll_ms = 50;
    cfg.concurrency_per_destination = concurrency;
    if (max_backoff_s > 0)
        cfg.max_backoff_s = max_backoff_s;
    f->notifier = lg_notifier_new(f->base, f->db, f->metrics, &cfg);
    assert_non_null(f->notifier);
}

static void test_concurrency_limit_and_free_while_sending(void **state)
{
    NEED_DB(state);
    for (int i = 0; i < 3; i++)
        add_row(f, "localhost", "/slow", NULL);
    add_row(f, "127.0.0.1", "/other", NULL);
    f->sink.is_hanging = true;
    start_notifier(f, 1, 0);
    run_for(f, 700);
    /* One request to localhost:port (two rows wait for its slot), one to 127.0.0.1:port. */
    assert_int_equal(f->sink.requests, 2);
    assert_int_equal(lg_notifier_inflight(f->notifier), 4);
    /* teardown frees the notifier with requests open and rows waiting: ASan checks the rest. */
}

/*
 * A backlog for a destination that hangs: the notifier holds one request and
 * WAITING_PER_SLOT (8) rows per slot, and leases no more for it while it is
 * full. Before, it leased up to 100 rows a time and handed the rest back
 * about every 0.5 s, each an outcome query counted as an attempt.
 */
static void test_full_destination_is_not_leased(void **state)
{
    NEED_DB(state);
    for (int i = 0; i < 30; i++)
        add_row(f, "localhost", "/slow", NULL);
    f->sink.is_hanging = true;
    start_notifier(f, 1, 0);
    run_for(f, 1500);
    assert_int_equal(f->sink.requests, 1);
    assert_int_equal(lg_notifier_inflight(f->notifier), 9);
    PGresult *r = PQexec(f->pg, "SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL), "
                                "count(*) FILTER (WHERE attempts > 0), "
                                "count(*) FILTER (WHERE next_attempt_at > now()) "
                                "FROM notification_outbox WHERE status = 'pending'");
    /* 9 leased; none counted as an attempt; none handed back for later. */
    assert_string_equal(PQgetvalue(r, 0, 0), "9");
    assert_string_equal(PQgetvalue(r, 0, 1), "0");
    assert_string_equal(PQgetvalue(r, 0, 2), "0");
    PQclear(r);
}

/* A loopback port nothing listens on: bound, read, closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    evutil_closesocket(fd);
    return ntohs(sin.sin_port);
}

/*
 * An SCS that refuses connections: after BREAKER_FAILS (5) failed attempts
 * in a row its rows wait (1 s, then 2 s, ...) instead of each retrying on
 * its own backoff, while another destination is served. Without the hold,
 * 20 rows made 64-69 attempts in these 3 s (12 with it).
 */
static void test_unreachable_destination_is_put_on_hold(void **state)
{
    NEED_DB(state);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO notification_outbox (scs_id, kind, destination, payload) "
             "SELECT id, 'test', 'https://127.0.0.1:%d/dead', '{}' "
             "FROM scs, generate_series(1, 20) WHERE scs_as_id = 'scs-t'",
             closed_port());
    dbtest_exec(f->pg, sql);
    add_row(f, "localhost", "/ok", NULL);
    start_notifier(f, 4, 0);
    /* The gauge of destinations on hold: 1 during the first hold (about 1 s from the
     * fifth failure), never more (one destination). */
    int64_t held_max = 0;
    for (int i = 0; i < 30; i++) {
        run_for(f, 100);
        int64_t held = lg_metrics_get_gauge(f->metrics, LG_G_DESTINATIONS_ON_HOLD);
        held_max = held > held_max ? held : held_max;
    }
    assert_int_equal(held_max, 1);
    /* Rows leased before the hold went back unsent, each counted as a requeue. */
    assert_true(lg_metrics_get(f->metrics, LG_C_DELIVERIES_REQUEUED) >= 1);
    PGresult *r = PQexec(f->pg, "SELECT coalesce(sum(attempts), 0), count(*) FILTER (WHERE "
                                "status = 'pending') FROM notification_outbox "
                                "WHERE destination LIKE '%/dead'");
    long attempts = atol(PQgetvalue(r, 0, 0));
    assert_string_equal(PQgetvalue(r, 0, 1), "20");
    PQclear(r);
    fprintf(stderr, "# unreachable destination: %ld attempts in 3 s\n", attempts);
    assert_true(attempts >= 5);
    assert_true(attempts <= 20);
    assert_int_equal(f->sink.requests, 1); /* the other destination was served */
}

static void test_silent_server_times_out(void **state)
{
    NEED_DB(state);
    add_row(f, "localhost", "/n", "86400 s");
    f->sink.is_hanging = true;
    lg_notifier_config_t cfg;
    char ca[600];
    snprintf(ca, sizeof(ca), "%s/ca.pem", f->certs);
    lg_notifier_config_defaults(&cfg);
    cfg.ca_file = ca;
    cfg.poll_ms = 50;
    cfg.timeout_s = 1;
    f->notifier = lg_notifier_new(f->base, f->db, f->metrics, &cfg);
    assert_non_null(f->notifier);
    run_until_settled(f);
    expect_row(f, "failed", 1, "", "timeout");
    assert_int_equal(f->sink.requests, 1);
}

/* Starts the notifier with one slot (and so one connection) per destination. */
static void start_one_per_destination(fixture_t *f)
{
    start_notifier(f, 1, 1);
}

static long rows_with(fixture_t *f, const char *status, int attempts)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notification_outbox WHERE status = '%s' AND attempts = %d",
             status, attempts);
    PGresult *r = PQexec(f->pg, sql);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void test_notifications_to_one_destination_share_one_connection(void **state)
{
    NEED_DB(state);
    for (int i = 0; i < 5; i++)
        add_row(f, "localhost", "/n", NULL);
    start_one_per_destination(f);
    run_until_settled(f);
    /* Rows of a later lease take the connection left idle by the earlier ones. */
    for (int i = 0; i < 3; i++)
        add_row(f, "localhost", "/n", NULL);
    run_until_settled(f);
    assert_int_equal(rows_with(f, "delivered", 1), 8);
    assert_int_equal(f->sink.requests, 8);
    assert_int_equal(f->sink.valid_signatures, 8);
    assert_int_equal(f->sink.connections, 1);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_SUCCEEDED), 8);
}

static void test_server_closing_an_idle_connection_loses_nothing(void **state)
{
    NEED_DB(state);
    add_row(f, "localhost", "/n", NULL);
    start_one_per_destination(f);
    run_until_settled(f);
    assert_int_equal(f->sink.connections, 1);
    /* The sink closes the idle connection; the notifier sees it and drops it. */
    shutdown(f->sink.last_fd, SHUT_RDWR);
    run_for(f, 300);
    add_row(f, "localhost", "/n", NULL);
    run_until_settled(f);
    assert_int_equal(rows_with(f, "delivered", 1), 2);
    assert_int_equal(f->sink.requests, 2);
    assert_int_equal(f->sink.connections, 2);
    /* The new connection resumed the TLS session of the first. */
    assert_int_equal(f->sink.resumed, 1);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_RETRIED), 0);
}

static void test_reused_connection_failing_without_answer_is_sent_again(void **state)
{
    NEED_DB(state);
    add_row(f, "127.0.0.1", "/n", NULL);
    char *id = row_notif_id(f);
    f->sink.drop_request = 2;
    start_one_per_destination(f);
    run_until_settled(f);
    dbtest_exec(f->pg, "DELETE FROM notification_outbox");
    add_row(f, "127.0.0.1", "/n", NULL);
    free(id);
    id = row_notif_id(f);
    run_until_settled(f);
    /* The second request met a closed connection; the same attempt went over a new one. */
    expect_row(f, "delivered", 1, "200", "");
    assert_int_equal(f->sink.requests, 3);
    assert_string_equal(f->sink.ids[1], id);
    assert_string_equal(f->sink.ids[2], id);
    assert_int_equal(f->sink.connections, 2);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_RETRIED), 0);
    assert_int_equal(lg_metrics_get(f->metrics, LG_C_DELIVERIES_SUCCEEDED), 2);
    free(id);
}

int main(void)
{
    /* As main.c: the HTTP client (libcurl, CURLOPT_NOSIGNAL) leaves SIGPIPE to the process. */
    signal(SIGPIPE, SIG_IGN);
    lg_log_level = getenv("LOCGUARD_TEST_DEBUG") ? LG_LOG_DEBUG : LG_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivery_is_signed_with_both_secrets_and_absolute_link,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_twice_then_200_keeps_the_webhook_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_410_is_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_destination_refused_unless_allowed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_certificate_is_retried_then_failed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redirect_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_limit_and_free_while_sending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_destination_is_not_leased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_destination_is_put_on_hold, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications_to_one_destination_share_one_connection,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closing_an_idle_connection_loses_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reused_connection_failing_without_answer_is_sent_again,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
