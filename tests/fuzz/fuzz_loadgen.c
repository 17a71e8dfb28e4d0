/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the tools' incremental HTTP/1.1 response parser
 * (tests/tools/lib/loadgen.c), which reads the daemon's answers in mme-sim,
 * count-load and the other tools. The first input byte chooses the flags
 * (keep the body, a body may run to the end) and how many bytes arrive at a
 * time; the rest is the response, followed by the end of the connection.
 * Aborts when a result breaks the parser's contract: the same input parsed
 * whole and in pieces gives the same outcome and the same response, a
 * complete response takes no more than it was given, a kept body is
 * NUL-terminated at its length and at most 1 MiB, a dropped one is NULL.
 * `make check` replays tests/fuzz/corpus/loadgen/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../tools/lib/loadgen.h"

/* What parsing gave. */
typedef struct outcome {
    lg_loadgen_parse_t st;
    size_t consumed;
    lg_loadgen_response_t r;
} outcome_t;

/* Feeds in[0..len) step bytes more at a time, as a caller keeps what is left; then the end. */
static void parse(const char *in, size_t len, size_t step, unsigned flags, outcome_t *out)
{
    lg_loadgen_parser_t p;
    size_t have = 0, pos = 0;

    lg_loadgen_response_init(&out->r);
    lg_loadgen_parser_begin(&p, &out->r, flags);
    for (;;) {
        size_t used = 0;

        out->st = lg_loadgen_parser_feed(&p, in + pos, have - pos, &used);
        CHECK(used <= have - pos);
        pos += used;
        if (out->st != LG_LOADGEN_PARSE_MORE)
            break;
        if (have == len) {
            out->st = lg_loadgen_parser_eof(&p);
            CHECK(out->st != LG_LOADGEN_PARSE_MORE);
            break;
        }
        have = have + step > len ? len : have + step;
    }
    out->consumed = pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned flags;
    size_t step;
    outcome_t whole, pieces;

    if (size < 1)
        return 0;
    flags = (data[0] & 1 ? LG_LOADGEN_KEEP_BODY : 0) | (data[0] & 2 ? LG_LOADGEN_BODY_TO_EOF : 0);
    step = (size_t)(data[0] >> 2) + 1; /* 1..64 bytes at a time */
    parse((const char *)data + 1, size - 1, size, flags, &whole);
    parse((const char *)data + 1, size - 1, step, flags, &pieces);

    CHECK(whole.st == pieces.st);
    if (whole.st == LG_LOADGEN_PARSE_DONE) {
        CHECK(whole.consumed == pieces.consumed && whole.consumed <= size - 1);
        CHECK(whole.r.status == pieces.r.status);
        CHECK(whole.r.retry_after_s == pieces.r.retry_after_s);
        CHECK(whole.r.must_close == pieces.r.must_close);
        CHECK(whole.r.body_len == pieces.r.body_len && whole.r.body_len <= (1u << 20));
        if (flags & LG_LOADGEN_KEEP_BODY) {
            CHECK((whole.r.body == NULL) == (whole.r.body_len == 0));
            if (whole.r.body != NULL) {
                CHECK(pieces.r.body != NULL && whole.r.body[whole.r.body_len] == '\0');
                CHECK(memcmp(whole.r.body, pieces.r.body, whole.r.body_len) == 0);
            }
        } else {
            CHECK(whole.r.body == NULL && pieces.r.body == NULL);
        }
    }
    lg_loadgen_response_cleanup(&whole.r);
    lg_loadgen_response_cleanup(&pieces.r);
    return 0;
}
