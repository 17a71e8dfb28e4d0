/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the connection pool (service/core/db.c) that need no database:
 * - a "server" that accepts TCP connections and never answers, as a hung
 *   PostgreSQL or a black-holing proxy does: the pool must abandon each
 *   attempt after connect_timeout_s and try again, as after a failed connect;
 * - what the pool counts as a database failure: the SQLSTATE classification
 *   behind locguard_db_errors_total.
 * The pool itself is tested against a real database by the notifier,
 * periodic and integration tests.
 */
#include "locguard/core/db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

/* A listening socket that takes connections, reads what comes and never writes. */
typedef struct silent_server {
    struct event_base *base;
    int listen_fd;
    int port;
    struct event *accept_ev;
    struct event *peer_ev; /* the first accepted connection */
    int peer_fd;
    int n_accepted;      /* connection attempts that reached us */
    int64_t accepted_us; /* when the first one did */
    int64_t closed_us;   /* when the pool closed the first one (0: not yet) */
} silent_server_t;

/* The first connection: discards the startup packet, notes when the pool hangs up. */
static void on_peer_read(evutil_socket_t fd, short what, void *arg)
{
    silent_server_t *s = arg;
    char buf[512];
    (void)what;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0 && s->closed_us == 0) {
        s->closed_us = lg_mono_us();
        event_del(s->peer_ev);
    }
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    silent_server_t *s = arg;
    (void)what;
    int peer = accept(fd, NULL, NULL);
    if (peer < 0)
        return;
    s->n_accepted++;
    if (s->n_accepted == 1) {
        s->peer_fd = peer;
        s->accepted_us = lg_mono_us();
        s->peer_ev = event_new(s->base, peer, EV_READ | EV_PERSIST, on_peer_read, s);
        event_add(s->peer_ev, NULL);
    } else {
        close(peer); /* later attempts: counted, then refused */
        event_base_loopbreak(s->base);
    }
}

static void silent_server_start(silent_server_t *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->peer_fd = -1;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sin, &len), 0);
    s->port = ntohs(sin.sin_port);
    s->accept_ev = event_new(base, s->listen_fd, EV_READ | EV_PERSIST, on_accept, s);
    event_add(s->accept_ev, NULL);
}

static void silent_server_stop(silent_server_t *s)
{
    if (s->peer_ev != NULL)
        event_free(s->peer_ev);
    if (s->peer_fd >= 0)
        close(s->peer_fd);
    event_free(s->accept_ev);
    close(s->listen_fd);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void test_attempt_to_a_silent_server_is_abandoned_after_the_timeout_and_retried(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    silent_server_t s;
    silent_server_start(&s, base);
    char conninfo[128];
    snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x user=x sslmode=disable",
             s.port);
    /* Bounded: without the pool's own timer the attempt would wait forever. */
    struct event *deadline = evtimer_new(base, on_deadline, base);
    struct timeval tv = {6, 0};
    evtimer_add(deadline, &tv);

    lg_db_t *db = lg_db_new(base, &(lg_db_config_t){conninfo, 1, 1}, NULL);
    event_base_dispatch(base);

    assert_true(s.n_accepted >= 1);
    assert_false(lg_db_is_up(db));
    /* Abandoned about connect_timeout_s (1 s) after it started, not before... */
    assert_true(s.closed_us != 0);
    int64_t held_ms = (s.closed_us - s.accepted_us) / 1000;
    assert_in_range(held_ms, 900, 2500);
    /* ...and tried again after the back-off, as after a failed connect. */
    assert_int_equal(s.n_accepted, 2);

    lg_db_free(db);
    event_free(deadline);
    silent_server_stop(&s);
    event_base_free(base);
}

static void test_failures_are_the_servers(void **state)
{
    (void)state;
    static const char *const failures[] = {
        "08006", /* connection failure */
        "08001", /* cannot connect */
        "53100", /* disk full */
        "53300", /* too many connections */
        "57P01", /* admin shutdown: the backend was terminated */
        "57014", /* query canceled (statement_timeout) */
        "58030", /* I/O error */
        "XX000", /* internal error */
        "XX001", /* data corrupted */
        "42883", /* undefined function: the schema is not the daemon's */
        "42P01", /* undefined table */
        "25P02", /* in failed transaction */
        "55P03", /* lock not available */
        "40003", /* statement completion unknown */
        "F0000", /* configuration file error */
    };
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
        if (!lg_db_is_failure(failures[i]))
            fail_msg("%s is a database failure", failures[i]);
    /* libpq's own errors carry no SQLSTATE. */
    assert_true(lg_db_is_failure(NULL));
    assert_true(lg_db_is_failure(""));
}

static void test_the_requests_own_errors_are_not(void **state)
{
    (void)state;
    static const char *const callers[] = {
        "22023", /* invalid parameter: our functions' 400 */
        "22P02", /* invalid text representation */
        "22003", /* numeric value out of range */
        "23505", /* unique violation: the admin zone's 409 */
        "23503", /* foreign key violation: 409 */
        "23514", /* check violation: 400 */
        "P0002", /* no data found: our functions' 404 */
        "P0001", /* a plain RAISE EXCEPTION */
        "42501", /* lg_t8_refuse: the T8 403 */
        "LG001", /* the ingest cache is stale: the daemon resends */
        "40001", /* serialization failure: the group commit resends */
        "40P01", /* deadlock: likewise */
    };
    for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++)
        if (lg_db_is_failure(callers[i]))
            fail_msg("%s is the request's error, not a database failure", callers[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_are_the_servers),
        cmocka_unit_test(test_the_requests_own_errors_are_not),
        cmocka_unit_test(
            test_attempt_to_a_silent_server_is_abandoned_after_the_timeout_and_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
