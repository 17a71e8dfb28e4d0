/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the server's HTTP/2 side (service/core/httpd_h2.c
 * over nghttp2): the input is what a client sends after the TLS handshake
 * (corpus entries start with the connection preface). Every request handed
 * over is answered at once or, for every other one, after the next read, as
 * a handler waiting on the database does; refusals must carry 413 or 431
 * (or 400 naming its parameter). What the session writes is collected and
 * dropped. At the end the session is freed with answers still owed, and
 * those answers are then sent to the detached requests, which must only
 * free them. `make check` replays tests/fuzz/corpus/http2/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/core/httpd_h2.h"

#define MAX_BODY 4096
#define MAX_HELD 256

typedef struct held {
    lg_h2_t *h2;
    lg_httpd_req_t *req[MAX_HELD]; /* requests answered later */
    size_t n;
    size_t n_seen;
} held_t;

static void answer(lg_h2_t *h2, lg_httpd_req_t *req, int status)
{
    lg_httpd_add_header(req, "Content-Type", "application/json");
    lg_h2_respond(h2, req, status, "{}", 2);
    lg_httpd_req_free(req);
}

/* The sink of held requests: only reached if a detached request were answered. */
static void must_not_reach(void *sink, lg_httpd_req_t *req, int status, const char *body,
                           size_t len)
{
    (void)sink, (void)req, (void)status, (void)body, (void)len;
    abort();
}

static void on_request(void *owner, lg_httpd_req_t *req)
{
    held_t *h = owner;
    size_t len;
    (void)lg_httpd_body(req, &len);
    CHECK(len <= MAX_BODY);
    CHECK(lg_httpd_version(req) == 2);
    if (h->n_seen++ % 2 == 0 || h->n == MAX_HELD)
        answer(h->h2, req, 204);
    else {
        lg_httpd_req_set_sink(req, must_not_reach, h);
        h->req[h->n++] = req;
    }
}

static void on_error(void *owner, lg_httpd_req_t *req, const lg_httpd_error_t *err)
{
    held_t *h = owner;
    CHECK(err->status == 413 || err->status == 431 || (err->status == 400 && err->param != NULL));
    answer(h->h2, req, err->status);
}

static const lg_h2_ops_t ops = {.on_request = on_request, .on_error = on_error};

/* Answers what is held; the replies go to the session, or only free detached requests. */
static void answer_held(held_t *h, bool is_session_gone)
{
    for (size_t i = 0; i < h->n; i++) {
        if (is_session_gone) {
            CHECK(lg_httpd_is_gone(h->req[i]));
            lg_httpd_reply(h->req[i], 204, NULL, 0);
        } else {
            answer(h->h2, h->req[i], 204);
        }
    }
    h->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    held_t h = {0};
    struct evbuffer *out = evbuffer_new();
    h.h2 = lg_h2_new(&ops, &h, MAX_BODY);
    CHECK(h.h2 != NULL);
    /* Reads of up to 1 KiB, as the connection delivers them. */
    for (size_t off = 0; off < size;) {
        size_t n = size - off < 1024 ? size - off : 1024;
        if (lg_h2_recv(h.h2, data + off, n) != LG_OK)
            break;
        off += n;
        if (lg_h2_send(h.h2, out) != LG_OK)
            break;
        evbuffer_drain(out, evbuffer_get_length(out));
        if (off >= size / 2)
            answer_held(&h, false);
    }
    if (lg_h2_send(h.h2, out) != LG_OK)
        evbuffer_drain(out, evbuffer_get_length(out)); /* a session error: nothing more to send */
    /* Requests still held when the connection ends are detached, not freed. */
    lg_h2_free(h.h2);
    answer_held(&h, true);
    evbuffer_free(out);
    return 0;
}
