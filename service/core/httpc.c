/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client (see httpc.h): libcurl's multi interface on the daemon's
 * libevent loop, the pattern of curl's docs/examples/hiperfifo.c. libcurl
 * tells us which sockets to watch (on_curl_socket: one libevent event per
 * socket) and when to wake it (on_curl_timer: one timer); both hand
 * control back with curl_multi_socket_action, after which the finished
 * transfers are collected (collect_done) and their callbacks run.
 *
 * What libcurl owns: connections per host and port (kept alive, HTTP/2
 * multiplexed, at most CURLMOPT_MAX_HOST_CONNECTIONS), the DNS cache (the
 * multi's), the resend of a request a reused connection lost, and the TLS
 * sessions (a share object, so a new connection resumes the last one's
 * session). What we add: the address guard (on_open_socket for every
 * address about to be connected, on_prereq for the connection a request is
 * about to go over), the bounded answer body, and the classified errors.
 *
 * A transfer ("xfer") lives from lg_httpc_submit to its callback; it is
 * freed right after the callback returns, outside libcurl's call chain.
 */
#include "locguard/core/httpc.h"

#include "locguard/core/log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_MAX_BODY 65536
#define USER_AGENT       "locguard"

/* One socket libcurl asked us to watch. */
typedef struct sock {
    struct sock *prev, *next; /* in c->socks */
    struct event *ev;
    curl_socket_t fd;
} sock_t;

struct lg_httpc_xfer {
    lg_httpc_xfer_t *prev, *next; /* in c->xfers */
    lg_httpc_t *c;
    CURL *easy;
    struct curl_slist *headers;
    lg_httpc_done_cb cb;
    void *arg;
    char peer[64];
    char tag[24];
    bool allow_private;
    int n_refused;        /* addresses the guard refused before connecting */
    int n_opened;         /* sockets opened (addresses the guard let through) */
    bool is_refused_peer; /* the guard refused the peer of the connection to send over */
    bool is_too_long;     /* the answer's body passed max_body */
    char *body;           /* the answer's body so far, NUL-terminated */
    size_t body_len, body_cap;
    int64_t start_us;
    char errbuf[CURL_ERROR_SIZE];
};

struct lg_httpc {
    struct event_base *base;
    lg_httpc_config_t cfg;
    char *zone, *ca_file, *cert_file, *key_file; /* owned copies of cfg's strings */
    CURLM *multi;
    CURLSH *share;
    struct event *timer;
    sock_t *socks;
    lg_httpc_xfer_t *xfers;
    size_t n_xfers;
};

static const char *const error_names[LG_HTTPC_N_ERRORS] = {
    [LG_HTTPC_OK] = "ok",
    [LG_HTTPC_ERR_DNS] = "dns",
    [LG_HTTPC_ERR_REFUSED] = "refused",
    [LG_HTTPC_ERR_CONNECT] = "connect",
    [LG_HTTPC_ERR_TLS] = "tls",
    [LG_HTTPC_ERR_TIMEOUT] = "timeout",
    [LG_HTTPC_ERR_PROTOCOL] = "protocol",
    [LG_HTTPC_ERR_REQUEST] = "request",
};

/* ---- pure ---------------------------------------------------------------------------------- */

const char *lg_httpc_error_name(lg_httpc_error_t e)
{
    return (unsigned)e < LG_HTTPC_N_ERRORS ? error_names[e] : "?";
}

lg_httpc_error_t lg_httpc_classify(int curl_code, bool is_guard_refused)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return LG_HTTPC_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
        return LG_HTTPC_ERR_DNS;
    case CURLE_COULDNT_CONNECT:
    case CURLE_ABORTED_BY_CALLBACK:
        /* The guard's refusals surface as these two (no socket; the pre-request abort). */
        return is_guard_refused ? LG_HTTPC_ERR_REFUSED : LG_HTTPC_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return LG_HTTPC_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return LG_HTTPC_ERR_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP_RETURNED_ERROR:
        return LG_HTTPC_ERR_PROTOCOL;
    default:
        return LG_HTTPC_ERR_REQUEST;
    }
}

bool lg_httpc_ip_is_refused(const char *ip, lg_httpc_refuse_cb is_refused)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (ip == NULL)
        return true;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
        sin->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
        sin6->sin6_family = AF_INET6;
    else
        return true;
    return is_refused != NULL && is_refused((const struct sockaddr *)&ss);
}

/* The detail of a request that ended without an answer: what, then libcurl's words. */
static void describe(const lg_httpc_xfer_t *x, lg_httpc_error_t e, CURLcode rc, char *out,
                     size_t out_size)
{
    const char *what;
    bool is_too_long = x->is_too_long || rc == CURLE_FILESIZE_EXCEEDED;
    switch (e) {
    case LG_HTTPC_ERR_DNS:
        what = "name resolution failed";
        break;
    case LG_HTTPC_ERR_REFUSED:
        what = "destination not allowed";
        break;
    case LG_HTTPC_ERR_CONNECT:
        what = "connection failed";
        break;
    case LG_HTTPC_ERR_TLS:
        what = rc == CURLE_PEER_FAILED_VERIFICATION ? "TLS: certificate verify failed" : "TLS";
        break;
    case LG_HTTPC_ERR_TIMEOUT:
        what = "timeout";
        break;
    case LG_HTTPC_ERR_PROTOCOL:
        what = is_too_long ? "response too long" : "no usable answer";
        break;
    default:
        what = "request not made";
        break;
    }
    const char *why = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc);
    if (e == LG_HTTPC_ERR_REFUSED || is_too_long)
        snprintf(out, out_size, "%s", what);
    else
        snprintf(out, out_size, "%s: %s", what, why);
}

/* ---- libcurl's callbacks ------------------------------------------------------------------- */

/* The guard's first check: every address libcurl is about to connect to. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    lg_httpc_xfer_t *x = clientp;
    lg_httpc_t *c = x->c;
    if (purpose == CURLSOCKTYPE_IPCXN && !x->allow_private && c->cfg.is_refused != NULL &&
        c->cfg.is_refused(&address->addr)) {
        x->n_refused++;
        lg_zdebug(c->zone, x->peer, "%s: address refused by the guard", x->tag);
        return CURL_SOCKET_BAD;
    }
    curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd != CURL_SOCKET_BAD)
        x->n_opened++;
    return fd;
}

/*
 * The guard's second check, on the connection the request is about to go
 * over, new or reused: a connection another request opened under a laxer
 * policy is never used for this one.
 */
static int on_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
    lg_httpc_xfer_t *x = clientp;
    lg_httpc_t *c = x->c;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    if (!x->allow_private && c->cfg.is_refused != NULL &&
        lg_httpc_ip_is_refused(conn_primary_ip, c->cfg.is_refused)) {
        x->is_refused_peer = true;
        lg_zdebug(c->zone, x->peer, "%s: connection's peer refused by the guard", x->tag);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* The answer's body, kept up to max_body bytes; past that the transfer fails. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    lg_httpc_xfer_t *x = userdata;
    size_t n = size * nmemb;
    if (n > x->c->cfg.max_body - x->body_len) {
        x->is_too_long = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (x->body_len + n + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 1024;
        while (cap < x->body_len + n + 1)
            cap *= 2;
        x->body = lg_xrealloc(x->body, cap);
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, n);
    x->body_len += n;
    x->body[x->body_len] = '\0';
    return n;
}

static void xfer_free(lg_httpc_xfer_t *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static void xfer_unlink(lg_httpc_xfer_t *x)
{
    lg_httpc_t *c = x->c;
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        c->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    c->n_xfers--;
}

/* Ends x: its result to its callback, then x is freed. */
static void complete(lg_httpc_xfer_t *x, CURLcode rc)
{
    lg_httpc_t *c = x->c;
    char detail[CURL_ERROR_SIZE + 64] = "";
    lg_httpc_result_t result = {.body = x->body != NULL ? x->body : "",
                                .body_len = x->body_len,
                                .detail = detail,
                                .xfer = x};
    bool is_guard_refused = (x->n_refused > 0 && x->n_opened == 0) || x->is_refused_peer;
    result.error = lg_httpc_classify((int)rc, is_guard_refused);
    if (result.error == LG_HTTPC_OK) {
        long status = 0, version = 0;
        (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        (void)curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
        result.status = (int)status;
        result.http_version = version == CURL_HTTP_VERSION_2_0 ? 2 : 1;
    } else {
        describe(x, result.error, rc, detail, sizeof(detail));
    }
    double ms = (double)(lg_mono_us() - x->start_us) / 1000.0;
    if (result.error == LG_HTTPC_OK)
        lg_zdebug(c->zone, x->peer, "%s: HTTP/%d %d in %.1f ms", x->tag, result.http_version,
                  result.status, ms);
    else
        lg_zdebug(c->zone, x->peer, "%s: no answer (%s) in %.1f ms: %s", x->tag,
                  lg_httpc_error_name(result.error), ms, detail);
    xfer_unlink(x);
    x->cb(x->arg, &result);
    xfer_free(x);
}

/* Runs the callbacks of the transfers libcurl has finished. */
static void collect_done(lg_httpc_t *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        lg_httpc_xfer_t *x = NULL;
        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        (void)curl_multi_remove_handle(c->multi, easy);
        if (x != NULL)
            complete(x, rc);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    lg_httpc_t *c = arg;
    int running = 0;
    int flags =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    (void)curl_multi_socket_action(c->multi, fd, flags, &running);
    collect_done(c);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    lg_httpc_t *c = arg;
    int running = 0;
    (void)fd;
    (void)what;
    (void)curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(c);
}

static void sock_free(lg_httpc_t *c, sock_t *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    if (s->ev != NULL)
        event_free(s->ev);
    free(s);
}

/* libcurl's socket callback: watch fd for what it asks, or stop watching it. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    lg_httpc_t *c = userp;
    sock_t *s = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            (void)curl_multi_assign(c->multi, fd, NULL);
            sock_free(c, s);
        }
        return 0;
    }
    short kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (s == NULL) {
        s = lg_xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->next = c->socks;
        if (c->socks != NULL)
            c->socks->prev = s;
        c->socks = s;
        (void)curl_multi_assign(c->multi, fd, s);
    } else if (s->ev != NULL) {
        event_free(s->ev);
    }
    s->ev = event_new(c->base, fd, kind, on_socket_event, c);
    if (s->ev == NULL || event_add(s->ev, NULL) != 0)
        return -1;
    return 0;
}

/* libcurl's timer callback: wake it after timeout_ms (-1: no timer). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    lg_httpc_t *c = userp;
    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)((timeout_ms % 1000) * 1000)};
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

/* ---- requests ------------------------------------------------------------------------------ */

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* The easy handle's options for x and req; false when libcurl refuses one. */
static bool set_options(lg_httpc_t *c, lg_httpc_xfer_t *x, const lg_httpc_request_t *req)
{
    CURL *e = x->easy;
    bool ok = true;
#define SET(opt, val) ok = ok && curl_easy_setopt(e, (opt), (val)) == CURLE_OK
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, req->allow_http ? "http,https" : "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, ""); /* never a proxy from the environment: the guard checks the peer */
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_PIPEWAIT, 1L); /* wait for a connection that may multiplex, not open another */
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file != NULL) {
        SET(CURLOPT_SSLCERT, c->cert_file);
        SET(CURLOPT_SSLKEY, c->key_file != NULL ? c->key_file : c->cert_file);
    }
    SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 10000));
    if (c->cfg.idle_s > 0)
        SET(CURLOPT_MAXAGE_CONN, (long)c->cfg.idle_s);
    else
        SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_USERAGENT, USER_AGENT);
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, x);
    SET(CURLOPT_PREREQFUNCTION, on_prereq);
    SET(CURLOPT_PREREQDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cfg.max_body);

    const char *m = req->method;
    if (strcmp(m, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
        if (req->body != NULL || strcmp(m, "POST") == 0) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body != NULL ? req->body_len : 0));
            SET(CURLOPT_COPYPOSTFIELDS, req->body != NULL ? req->body : "");
        }
    }
    SET(CURLOPT_HTTPHEADER, x->headers);
#undef SET
    return ok;
}

int lg_httpc_submit(lg_httpc_t *c, const lg_httpc_request_t *req, lg_httpc_done_cb cb, void *arg,
                    const char **err)
{
    lg_httpc_xfer_t *x = NULL;
    *err = "request without a method or URL";
    if (req->method == NULL || req->method[0] == '\0' || req->url == NULL ||
        has_line_break(req->url) || strpbrk(req->method, " \r\n") != NULL)
        return LG_ERR;
    x = lg_xcalloc(1, sizeof(*x));
    x->c = c;
    x->cb = cb;
    x->arg = arg;
    x->allow_private = req->allow_private;
    x->start_us = lg_mono_us();
    lg_strlcpy(x->peer, req->peer != NULL ? req->peer : "?", sizeof(x->peer));
    lg_strlcpy(x->tag, req->tag != NULL ? req->tag : "request", sizeof(x->tag));

    /* "Expect:" off: HTTP/1.1 would wait up to a second for a 100 before a body over 1 KiB. */
    x->headers = curl_slist_append(NULL, "Expect:");
    for (const char *const *h = req->headers; h != NULL && h[0] != NULL && h[1] != NULL; h += 2) {
        if (h[0][0] == '\0' || has_line_break(h[0]) || has_line_break(h[1]) ||
            strchr(h[0], ':') != NULL) {
            *err = "header name or value not allowed";
            goto failed;
        }
        size_t len = strlen(h[0]) + strlen(h[1]) + 3;
        char *line = lg_xmalloc(len);
        /* "name;" is libcurl's way to send a header with an empty value. */
        if (h[1][0] == '\0')
            snprintf(line, len, "%s;", h[0]);
        else
            snprintf(line, len, "%s: %s", h[0], h[1]);
        struct curl_slist *more = curl_slist_append(x->headers, line);
        free(line);
        if (more == NULL)
            goto no_resources;
        x->headers = more;
    }
    if (x->headers == NULL)
        goto no_resources;
    x->easy = curl_easy_init();
    if (x->easy == NULL || !set_options(c, x, req))
        goto no_resources;
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
        goto no_resources;
    x->next = c->xfers;
    if (c->xfers != NULL)
        c->xfers->prev = x;
    c->xfers = x;
    c->n_xfers++;
    *err = NULL;
    return LG_OK;
no_resources:
    *err = "request not made: libcurl refused it";
failed:
    xfer_free(x);
    return LG_ERR;
}

const char *lg_httpc_header(const lg_httpc_result_t *result, const char *name)
{
    struct curl_header *h = NULL;
    if (result->xfer == NULL || result->xfer->easy == NULL || result->error != LG_HTTPC_OK)
        return NULL;
    if (curl_easy_header(result->xfer->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK ||
        h == NULL)
        return NULL;
    /* The last of several: the one an HTTP/1.1 answer's later header line overrides with. */
    if (h->amount > 1 && curl_easy_header(result->xfer->easy, name, h->amount - 1, CURLH_HEADER, -1,
                                          &h) != CURLHE_OK)
        return NULL;
    return h->value;
}

size_t lg_httpc_pending(const lg_httpc_t *c)
{
    return c != NULL ? c->n_xfers : 0;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

lg_httpc_t *lg_httpc_new(struct event_base *base, const lg_httpc_config_t *cfg)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        lg_error("httpc: libcurl cannot be initialised");
        return NULL;
    }
    lg_httpc_t *c = lg_xcalloc(1, sizeof(*c));
    c->base = base;
    c->cfg = *cfg;
    c->zone = lg_xstrdup(cfg->zone != NULL ? cfg->zone : "httpc");
    c->ca_file = cfg->ca_file != NULL ? lg_xstrdup(cfg->ca_file) : NULL;
    c->cert_file = cfg->cert_file != NULL ? lg_xstrdup(cfg->cert_file) : NULL;
    c->key_file = cfg->key_file != NULL ? lg_xstrdup(cfg->key_file) : NULL;
    c->cfg.zone = c->zone;
    c->cfg.ca_file = c->ca_file;
    c->cfg.cert_file = c->cert_file;
    c->cfg.key_file = c->key_file;
    if (c->cfg.max_conns_per_host < 1)
        c->cfg.max_conns_per_host = 1;
    if (c->cfg.idle_s < 0)
        c->cfg.idle_s = 0;
    if (c->cfg.max_body == 0)
        c->cfg.max_body = DEFAULT_MAX_BODY;

    /* libcurl reads these per connection: an unreadable one is an error now, not at each request.
     */
    const char *files[] = {c->ca_file, c->cert_file, c->key_file};
    for (size_t i = 0; i < LG_ARRAY_SIZE(files); i++) {
        FILE *fp = files[i] != NULL ? fopen(files[i], "r") : NULL;
        if (files[i] != NULL && fp == NULL) {
            lg_error("httpc: %s: cannot be read", files[i]);
            goto failed;
        }
        if (fp != NULL)
            fclose(fp);
    }
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v == NULL || !(v->features & CURL_VERSION_SSL)) {
        lg_error("httpc: libcurl is built without TLS");
        goto failed;
    }
    if (!(v->features & CURL_VERSION_HTTP2))
        lg_warn("httpc: libcurl %s is built without HTTP/2: HTTP/1.1 only", v->version);

    c->timer = evtimer_new(base, on_timeout, c);
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (c->timer == NULL || c->multi == NULL || c->share == NULL)
        goto failed;
    /* One loop thread: the share needs no locks. */
    if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        goto failed;
    bool ok =
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)c->cfg.max_conns_per_host) == CURLM_OK;
    if (!ok)
        goto failed;
    lg_debug("httpc: libcurl %s (%s), HTTP/2 %s", v->version, v->ssl_version,
             (v->features & CURL_VERSION_HTTP2) ? "on" : "off");
    return c;
failed:
    lg_httpc_free(c);
    return NULL;
}

void lg_httpc_free(lg_httpc_t *c)
{
    if (c == NULL)
        return;
    while (c->xfers != NULL) {
        lg_httpc_xfer_t *x = c->xfers;
        (void)curl_multi_remove_handle(c->multi, x->easy);
        xfer_unlink(x);
        xfer_free(x);
    }
    if (c->multi != NULL)
        (void)curl_multi_cleanup(c->multi); /* closes the connections it kept */
    while (c->socks != NULL)
        sock_free(c, c->socks);
    if (c->share != NULL)
        (void)curl_share_cleanup(c->share);
    if (c->timer != NULL)
        event_free(c->timer);
    free(c->zone);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c);
    curl_global_cleanup();
}
