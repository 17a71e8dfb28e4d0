/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the schema migration (service/core/migrate.c) that need no
 * database: its blocking connect gives up on a server that accepts and never
 * answers after connect_timeout_s, instead of holding the start-up forever.
 * (Migrating a real database is the integration suite's: run.sh builds its
 * template database with `locguard migrate`.)
 */
#include "locguard/core/migrate.h"

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

static void test_connect_to_a_silent_server_gives_up_after_the_timeout(void **state)
{
    (void)state;
    /* Listening, never accepting: the kernel completes the handshake, nobody answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    char conninfo[128];
    snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d dbname=x user=x sslmode=disable",
             ntohs(sin.sin_port));

    int64_t t0 = lg_mono_us();
    assert_int_equal(lg_migrate_run(conninfo, ".", 2), LG_ERR);
    int64_t took_ms = (lg_mono_us() - t0) / 1000;
    assert_in_range(took_ms, 1500, 5000);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_to_a_silent_server_gives_up_after_the_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
