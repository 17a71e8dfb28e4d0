/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for tests/tools/lib/loadgen.c's incremental HTTP/1.1 response
 * parser, which both the blocking round trip and mme-sim's event loop use:
 * each response is parsed whole and fed one byte at a time (as a
 * non-blocking socket may deliver it), with the same outcome: status,
 * Retry-After, Connection: close and HTTP/1.0, Content-Length, chunked and
 * to-the-end bodies; malformed and unframed answers are refused, and bytes
 * past a response are left to the caller.
 */
#include "../../tools/lib/loadgen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/*
 * Feeds in[0..len) as a caller does, step bytes more at a time, keeping what
 * the parser left; at the end of the input, signals the end of the
 * connection when eof is set. Sets *consumed to the bytes the parser took.
 */
static lg_loadgen_parse_t parse_in_steps(const char *in, size_t len, size_t step, unsigned flags,
                                         bool eof, lg_loadgen_response_t *r, size_t *consumed)
{
    lg_loadgen_parser_t p;
    lg_loadgen_parse_t st;
    size_t have = 0, pos = 0;

    lg_loadgen_parser_begin(&p, r, flags);
    for (;;) {
        size_t used = 0;

        st = lg_loadgen_parser_feed(&p, in + pos, have - pos, &used);
        pos += used;
        if (st != LG_LOADGEN_PARSE_MORE)
            break;
        if (have == len) {
            if (eof)
                st = lg_loadgen_parser_eof(&p);
            break;
        }
        have = have + step > len ? len : have + step;
    }
    *consumed = pos;
    return st;
}

/* One response and what parsing it must give, whole or byte by byte. */
typedef struct parse_case {
    const char *name;
    const char *in;
    unsigned flags;
    bool eof;                /* the connection ends after the input */
    lg_loadgen_parse_t want; /* outcome */
    int status;              /* with DONE: the status ... */
    const char *body;        /* ... the body kept (NULL: none kept) ... */
    size_t body_len;         /* ... its length, kept or not ... */
    int retry_after_s;       /* ... Retry-After ... */
    bool must_close;         /* ... and whether the connection must close */
    size_t consumed;         /* with DONE: bytes taken (0: all of in) */
} parse_case_t;

#define KEEP   LG_LOADGEN_KEEP_BODY
#define TO_EOF LG_LOADGEN_BODY_TO_EOF
#define DONE   LG_LOADGEN_PARSE_DONE
#define MORE   LG_LOADGEN_PARSE_MORE
#define ERROR  LG_LOADGEN_PARSE_ERROR

static const parse_case_t cases[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", KEEP, false, DONE, 200,
     "hello", 5, -1, false, 0},
    {"body dropped, counted", "HTTP/1.1 202 Accepted\r\ncontent-length:3\r\n\r\nabc", 0, false,
     DONE, 202, NULL, 3, -1, false, 0},
    {"503 retry-after",
     "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\n"
     "Content-Length: 0\r\n\r\n",
     0, false, DONE, 503, NULL, 0, 2, false, 0},
    {"connection close",
     "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n"
     "\r\n{}",
     KEEP, false, DONE, 400, "{}", 2, -1, true, 0},
    {"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, false, DONE, 200, NULL,
     0, -1, true, 0},
    {"bare LF lines", "HTTP/1.1 204 No Content\n\n", 0, false, DONE, 204, NULL, 0, -1, false, 0},
    {"chunked",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\n"
     "abc\r\n0\r\nTrailer: t\r\n\r\n",
     KEEP, false, DONE, 200, "helloabc", 8, -1, false, 0},
    {"to eof", "HTTP/1.1 200 OK\r\n\r\nall of it", KEEP | TO_EOF, true, DONE, 200, "all of it", 9,
     -1, true, 0},
    {"bytes past the response stay", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", KEEP,
     false, DONE, 200, "ok", 2, -1, false, 40},
    {"unframed without to-eof", "HTTP/1.1 200 OK\r\n\r\nx", 0, false, ERROR, 0, NULL, 0, -1, false,
     0},
    {"garbage status line", "SMTP ready\r\n", 0, false, ERROR, 0, NULL, 0, -1, false, 0},
    {"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, true, ERROR, 0, NULL, 0,
     -1, false, 0},
    {"incomplete, no eof", "HTTP/1.1 200 OK\r\nContent-Le", 0, false, MORE, 0, NULL, 0, -1, false,
     0},
    {"chunk over 1 MiB",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n", 0, false, ERROR,
     0, NULL, 0, -1, false, 0},
    {"body over 1 MiB", "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", 0, false, ERROR, 0,
     NULL, 0, -1, false, 0},
};

static void check_case(const parse_case_t *c, size_t step)
{
    lg_loadgen_response_t r;
    size_t consumed = 0;
    lg_loadgen_parse_t st;

    lg_loadgen_response_init(&r);
    st = parse_in_steps(c->in, strlen(c->in), step, c->flags, c->eof, &r, &consumed);
    if (st != c->want)
        fail_msg("%s (step %zu): outcome %d, want %d", c->name, step, (int)st, (int)c->want);
    if (st == DONE) {
        assert_int_equal(r.status, c->status);
        assert_int_equal(r.body_len, c->body_len);
        assert_int_equal(r.retry_after_s, c->retry_after_s);
        assert_int_equal(r.must_close, c->must_close);
        assert_int_equal(consumed, c->consumed ? c->consumed : strlen(c->in));
        if (c->body == NULL) {
            assert_null(r.body);
        } else {
            assert_non_null(r.body);
            assert_memory_equal(r.body, c->body, c->body_len);
            assert_int_equal(r.body[c->body_len], '\0');
        }
    }
    lg_loadgen_response_cleanup(&r);
}

static void test_responses_parse_whole_and_byte_by_byte_alike(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], 1);
        check_case(&cases[i], 7);
        check_case(&cases[i], 1 << 20);
    }
}

static void test_line_too_long_is_refused_before_its_end(void **state)
{
    (void)state;
    size_t len = 5000;
    char *in = malloc(len);
    lg_loadgen_response_t r;
    size_t consumed;

    assert_non_null(in);
    memcpy(in, "HTTP/1.1 200 OK\r\nX-Long: ", 25);
    memset(in + 25, 'a', len - 25); /* no end of line at all */
    lg_loadgen_response_init(&r);
    assert_int_equal(parse_in_steps(in, len, 100, 0, false, &r, &consumed), ERROR);
    lg_loadgen_response_cleanup(&r);
    free(in);
}

static void test_parser_begin_resets_the_response(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 503 Busy\r\nRetry-After: 5\r\nContent-Length: 1\r\n\r\nx";
    lg_loadgen_response_t r;
    size_t consumed;

    lg_loadgen_response_init(&r);
    assert_int_equal(parse_in_steps(in, sizeof(in) - 1, 3, KEEP, false, &r, &consumed), DONE);
    assert_int_equal(r.retry_after_s, 5);
    assert_int_equal(parse_in_steps("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38, 38, KEEP,
                                    false, &r, &consumed),
                     DONE);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retry_after_s, -1);
    assert_null(r.body);
    assert_int_equal(r.body_len, 0);
    lg_loadgen_response_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responses_parse_whole_and_byte_by_byte_alike),
        cmocka_unit_test(test_line_too_long_is_refused_before_its_end),
        cmocka_unit_test(test_parser_begin_resets_the_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
