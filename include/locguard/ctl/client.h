/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's HTTP client to the daemon's admin zone: where it is (--url),
 * the bearer token (--token-file), and one blocking request at a time.
 */
#ifndef LOCGUARD_CTL_CLIENT_H
#define LOCGUARD_CTL_CLIENT_H

#include "locguard/core/common.h"
#include "locguard/ctl/exit.h"

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/http.h>

/* Where the admin API is when neither --url nor $LOCGUARD_ADMIN_URL says. */
#define LG_CTL_DEFAULT_URL "http://127.0.0.1:7080"

/* The admin API's address and token, and a private event loop. */
typedef struct lg_ctl_client lg_ctl_client_t;

/* One request: path is relative to the URL's path prefix; body may be NULL. */
typedef struct lg_ctl_request {
    enum evhttp_cmd_type method;
    const char *path;
    const char *accept;       /* the Accept header */
    const char *content_type; /* of body; unused when body is NULL */
    const char *body;
    size_t body_len;
} lg_ctl_request_t;

/*
 * Makes a client for url (plain http only: the admin zone is loopback),
 * authenticated with the token read from token_file when it is neither NULL
 * nor empty. On success sets *out (free it with lg_ctl_client_free) and
 * returns LG_CTL_EXIT_OK; else prints why and returns LG_CTL_EXIT_USAGE (a
 * bad URL) or LG_CTL_EXIT_FAIL (the token file, the event loop).
 */
lg_ctl_exit_t lg_ctl_client_open(const char *url, const char *token_file, lg_ctl_client_t **out);

/* Wipes the token and frees the client; accepts NULL. */
void lg_ctl_client_free(lg_ctl_client_t *c);

/* Returns whether requests carry a bearer token. */
bool lg_ctl_client_has_token(const lg_ctl_client_t *c);

/*
 * Sends one request and waits for the answer, appending its body to answer
 * and setting *out_http_status. Returns LG_OK when an HTTP answer arrived
 * (any status); LG_ERR after reporting LG_CTL_EXIT_UNAVAILABLE (see
 * lg_ctl_exit_report) when none did.
 */
LG_MUST_CHECK int lg_ctl_client_call(lg_ctl_client_t *c, const lg_ctl_request_t *req,
                                     int *out_http_status, struct evbuffer *answer);

#endif
