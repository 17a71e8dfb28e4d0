/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 for the server (httpd.c): a request parser over nodejs's
 * http-parser (Debian's libhttp-parser-dev), with locguard's limits, and the
 * response writer. No I/O: bytes in, requests out; responses into an
 * evbuffer. One request at a time: the parser stops after each complete
 * request, so the server answers them in order.
 */
#ifndef LOCGUARD_HTTPD_H1_H
#define LOCGUARD_HTTPD_H1_H

#include "locguard/core/httpd_req.h"

#include <event2/buffer.h>

/* The request header block's limit: request line and header fields (larger: 431). */
#define LG_HTTPD_MAX_HEADER_BYTES 16384

typedef struct lg_h1 lg_h1_t;

/* What lg_h1_parse found. */
typedef enum lg_h1_result {
    LG_H1_NEED_MORE = 0, /* every byte consumed; no complete request yet */
    LG_H1_REQUEST,       /* a complete request: *req_out (the caller's now) */
    LG_H1_ERROR,         /* a request refused (*err_out); the connection cannot go on */
} lg_h1_result_t;

/* A parser for one connection, refusing bodies over max_body_bytes (413). */
lg_h1_t *lg_h1_new(size_t max_body_bytes);

/* Frees the parser and the request it is reading. Accepts NULL. */
void lg_h1_free(lg_h1_t *h1);

/*
 * Parses up to len bytes; *consumed gets how many it used (the rest belongs
 * to the next request). On LG_H1_REQUEST, *req_out is the complete request;
 * on LG_H1_ERROR, *err_out says what to answer and *req_out is the request as
 * far as it was read (the caller's; its method and path may be unset).
 * interim receives "100 Continue" for a request that expects it and whose
 * body fits. After LG_H1_ERROR the parser accepts nothing more.
 */
lg_h1_result_t lg_h1_parse(lg_h1_t *h1, const char *data, size_t len, size_t *consumed,
                           struct evbuffer *interim, lg_httpd_req_t **req_out,
                           const lg_httpd_error_t **err_out);

/* Whether the request lg_h1_parse last returned lets the connection carry another. */
bool lg_h1_keep_alive(const lg_h1_t *h1);

/*
 * Writes the response to req (status, the headers its handler added, a
 * Content-Length and the body; none for HEAD, 1xx, 204 and 304) into out,
 * with "Connection: close" when is_close.
 */
void lg_h1_write_response(struct evbuffer *out, const lg_httpd_req_t *req, int status,
                          const char *body, size_t len, bool is_close);

#endif
