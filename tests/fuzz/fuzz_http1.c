/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the server's HTTP/1.1 request side
 * (service/core/httpd_h1.c). The first input byte chooses how the rest is
 * cut into reads (1..256 bytes each, as TCP may deliver them); the rest is
 * what a client sends on one connection. Each complete request is answered
 * through the response writer, as the server does, and parsing goes on with
 * the bytes after it. Aborts when a result breaks the parser's contract: a
 * refusal must carry 400, 413 or 431 (a 400 naming its parameter) and end
 * the connection; a request must have a path and a body within the limit;
 * no read may consume more than it was given. `make check` replays
 * tests/fuzz/corpus/http1/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/core/httpd_h1.h"

#define MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1, off = 0, pending = 0;
    lg_h1_t *h1 = lg_h1_new(MAX_BODY);
    struct evbuffer *out = evbuffer_new();
    bool is_broken = false;

    /* "pending" bytes were delivered but not consumed: the next read starts with them. */
    while (off < len && !is_broken) {
        size_t n = pending + step;
        if (n > len - off)
            n = len - off;
        size_t consumed;
        lg_httpd_req_t *req;
        const lg_httpd_error_t *err;
        lg_h1_result_t r = lg_h1_parse(h1, in + off, n, &consumed, out, &req, &err);
        CHECK(consumed <= n);
        switch (r) {
        case LG_H1_NEED_MORE:
            CHECK(consumed == n);
            pending = 0;
            break;
        case LG_H1_REQUEST: {
            size_t body_len;
            CHECK(req != NULL && lg_httpd_path(req) != NULL);
            (void)lg_httpd_body(req, &body_len);
            CHECK(body_len <= MAX_BODY);
            lg_h1_write_response(out, req, 204, NULL, 0, !lg_h1_keep_alive(h1));
            lg_httpd_req_free(req);
            pending = n - consumed;
            break;
        }
        case LG_H1_ERROR:
            CHECK(req != NULL && err != NULL);
            CHECK(err->status == 400 || err->status == 413 || err->status == 431);
            CHECK(err->status != 400 || err->param != NULL);
            lg_h1_write_response(out, req, err->status, "{}", 2, true);
            lg_httpd_req_free(req);
            is_broken = true;
            break;
        }
        off += consumed;
        if (r == LG_H1_REQUEST && consumed == 0 && pending == 0)
            break;
    }
    evbuffer_free(out);
    lg_h1_free(h1);
    return 0;
}
