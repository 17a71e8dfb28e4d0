/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen: the code the test and bench tools share (see loadgen.h). The TLS
 * client is blocking for the tools that keep one connection per thread (a
 * plain read/write loop keeps their cost and their bugs small) and
 * non-blocking for mme-sim's event loop of thousands of connections; both
 * parse responses with the same incremental parser.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define MAX_RESPONSE_BODY (1 << 20) /* a longer answer is a protocol error */
#define MAX_LINE          4096      /* status and header lines */

struct lg_loadgen_conn {
    const char *prog; /* error message prefix (borrowed) */
    const char *host; /* name or numeric address (borrowed) */
    int port;
    int io_timeout_s;  /* per-read/per-write socket timeout */
    int fd;            /* -1 when closed */
    SSL *ssl;          /* NULL when closed */
    char rbuf[16384];  /* bytes read from TLS but not yet consumed */
    size_t rpos, rlen; /* consumed offset and fill level of rbuf */
};

/* --------------------------------------------------------- TLS client -- */

void lg_loadgen_print_ssl_errors(const char *prog, const char *what)
{
    unsigned long e;
    char buf[256];

    fprintf(stderr, "%s: %s", prog, what);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, ": %s", buf);
    }
    fputc('\n', stderr);
}

SSL_CTX *lg_loadgen_ssl_ctx_new(const char *prog, const char *cert_file, const char *key_file,
                                const char *ca_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        lg_loadgen_print_ssl_errors(prog, "SSL_CTX_new");
        return NULL;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        lg_loadgen_print_ssl_errors(prog, "TLS 1.2");
        goto failed;
    }
    if (cert_file && SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        lg_loadgen_print_ssl_errors(prog, cert_file);
        goto failed;
    }
    if (key_file && SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        lg_loadgen_print_ssl_errors(prog, key_file);
        goto failed;
    }
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            lg_loadgen_print_ssl_errors(prog, ca_file);
            goto failed;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    /* Keep-alive connections resume nothing; no session cache needed. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
failed:
    SSL_CTX_free(ctx);
    return NULL;
}

lg_loadgen_conn_t *lg_loadgen_conn_new(const char *prog, const char *host, int port,
                                       int io_timeout_s)
{
    lg_loadgen_conn_t *c = lg_xcalloc(1, sizeof(*c));

    c->prog = prog;
    c->host = host;
    c->port = port;
    c->io_timeout_s = io_timeout_s;
    c->fd = -1;
    return c;
}

void lg_loadgen_conn_free(lg_loadgen_conn_t *c)
{
    if (c == NULL)
        return;
    lg_loadgen_conn_close(c);
    free(c);
}

SSL *lg_loadgen_conn_ssl(lg_loadgen_conn_t *c)
{
    return c->ssl;
}

bool lg_loadgen_conn_is_open(const lg_loadgen_conn_t *c)
{
    return c->ssl != NULL;
}

void lg_loadgen_conn_close(lg_loadgen_conn_t *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rpos = c->rlen = 0;
}

/*
 * Resolves the host, makes the socket (non-blocking when asked: connect() is
 * then under way on return) and the client TLS session with SNI and the
 * host name or address check. LG_ERR after printing why (c is then closed).
 */
static int conn_setup(lg_loadgen_conn_t *c, SSL_CTX *ctx, bool is_nonblocking)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    struct timeval tv = {.tv_sec = c->io_timeout_s};
    int one = 1, rc, type = SOCK_STREAM | SOCK_CLOEXEC;
    unsigned char ipbuf[16];

    lg_loadgen_conn_close(c);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", c->port);
    rc = getaddrinfo(c->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", c->prog, c->host, gai_strerror(rc));
        return LG_ERR;
    }
    if (is_nonblocking)
        type |= SOCK_NONBLOCK;
    c->fd = socket(res->ai_family, type, 0);
    if (c->fd < 0 || (connect(c->fd, res->ai_addr, res->ai_addrlen) != 0 &&
                      !(is_nonblocking && errno == EINPROGRESS))) {
        fprintf(stderr, "%s: connect %s:%d: %s\n", c->prog, c->host, c->port, strerror(errno));
        goto failed;
    }
    /* A request's last record must not wait for the daemon's delayed ACK. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!is_nonblocking) {
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }

    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        goto ssl_failed;
    if (inet_pton(AF_INET, c->host, ipbuf) == 1 || inet_pton(AF_INET6, c->host, ipbuf) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host) != 1)
            goto ssl_failed;
    } else {
        SSL_set_tlsext_host_name(c->ssl, c->host);
        if (SSL_set1_host(c->ssl, c->host) != 1)
            goto ssl_failed;
    }
    SSL_set_connect_state(c->ssl);
    /* An event loop reads until OpenSSL wants more, so it may read ahead: one read()
     * per response instead of one per record header and one per record body. */
    if (is_nonblocking)
        SSL_set_read_ahead(c->ssl, 1);
    freeaddrinfo(res);
    return LG_OK;
ssl_failed:
    lg_loadgen_print_ssl_errors(c->prog, "TLS set-up");
failed:
    freeaddrinfo(res);
    lg_loadgen_conn_close(c);
    return LG_ERR;
}

int lg_loadgen_conn_open(lg_loadgen_conn_t *c, SSL_CTX *ctx)
{
    if (conn_setup(c, ctx, false) != LG_OK)
        return LG_ERR;
    if (SSL_connect(c->ssl) != 1) {
        lg_loadgen_print_ssl_errors(c->prog, "TLS handshake");
        lg_loadgen_conn_close(c);
        return LG_ERR;
    }
    return LG_OK;
}

/* Writes all of buf; LG_ERR on any TLS or socket error. */
static int write_all(lg_loadgen_conn_t *c, const char *buf, size_t len)
{
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        int n = SSL_write(c->ssl, buf, chunk);

        if (n <= 0)
            return LG_ERR;
        buf += n;
        len -= (size_t)n;
    }
    return LG_OK;
}

/* Moves rbuf's unread bytes to its start; false when they fill it. */
static bool compact(lg_loadgen_conn_t *c)
{
    if (c->rpos > 0 && c->rpos < c->rlen)
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->rpos = 0;
    return c->rlen < sizeof(c->rbuf);
}

/* Refills rbuf; LG_ERR on EOF, timeout, error or a full buffer. */
static int fill(lg_loadgen_conn_t *c)
{
    int n;

    if (!compact(c))
        return LG_ERR;
    n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
    if (n <= 0)
        return LG_ERR;
    c->rlen += (size_t)n;
    return LG_OK;
}

/* ---------------------------------------------------- response parser -- */

/* Where the parser is in a response. */
enum {
    P_STATUS,     /* the status line */
    P_HEADERS,    /* header lines up to the empty one */
    P_BODY,       /* Content-Length body: `remaining` bytes to go */
    P_CHUNK_SIZE, /* a chunk-size line */
    P_CHUNK_DATA, /* chunk data: `remaining` bytes to go */
    P_CHUNK_END,  /* the CRLF after a chunk's data */
    P_TRAILERS,   /* trailer lines up to the empty one */
    P_TO_EOF,     /* an unframed body: everything up to the end of the connection */
    P_DONE,       /* the response is complete */
};

/* True when line is header `name` (any case); *value is then its value without leading blanks. */
static bool header_is(const char *line, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    *value = line;
    return true;
}

/* True when needle occurs in s, ignoring case. */
static bool contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);

    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

/* Adds n body bytes to the response (kept with LG_LOADGEN_KEEP_BODY); LG_ERR past 1 MiB. */
static int add_body(lg_loadgen_parser_t *p, const char *from, size_t n)
{
    lg_loadgen_response_t *r = p->r;

    if (n == 0)
        return LG_OK; /* an empty body stays NULL */
    if (r->body_len + n > MAX_RESPONSE_BODY)
        return LG_ERR;
    if (p->flags & LG_LOADGEN_KEEP_BODY) {
        r->body = lg_xrealloc(r->body, r->body_len + n + 1);
        memcpy(r->body + r->body_len, from, n);
        r->body[r->body_len + n] = '\0';
    }
    r->body_len += n;
    return LG_OK;
}

/*
 * Takes one CRLF- (or LF-) terminated line from buf[*pos..len) into line
 * (NUL-terminated, without its terminator). Returns 1 with a line, 0 when
 * the line is not complete yet, -1 when it is too long.
 */
static int take_line(const char *buf, size_t len, size_t *pos, char *line)
{
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    size_t n;

    if (nl == NULL)
        return len - *pos >= MAX_LINE ? -1 : 0;
    n = (size_t)(nl - (buf + *pos));
    if (n > 0 && buf[*pos + n - 1] == '\r')
        n--;
    if (n >= MAX_LINE)
        return -1;
    memcpy(line, buf + *pos, n);
    line[n] = '\0';
    *pos = (size_t)(nl - buf) + 1;
    return 1;
}

/* Handles the status line or a header line; LG_ERR on a malformed or unframed response. */
static int on_head_line(lg_loadgen_parser_t *p, const char *line)
{
    lg_loadgen_response_t *r = p->r;
    const char *v;
    int minor = 1;

    if (p->state == P_STATUS) {
        if (sscanf(line, "HTTP/1.%d %d", &minor, &r->status) != 2)
            return LG_ERR;
        r->must_close = minor == 0;
        p->state = P_HEADERS;
        return LG_OK;
    }
    if (line[0] != '\0') {
        if (header_is(line, "Content-Length", &v))
            p->content_length = strtoll(v, NULL, 10);
        else if (header_is(line, "Transfer-Encoding", &v))
            p->is_chunked = contains_ci(v, "chunked");
        else if (header_is(line, "Connection", &v))
            r->must_close = r->must_close || contains_ci(v, "close");
        else if (header_is(line, "Retry-After", &v))
            r->retry_after_s = atoi(v);
        return LG_OK;
    }
    /* The end of the head: how is the body framed? */
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200))
        p->content_length = 0;
    if (p->is_chunked) {
        p->state = P_CHUNK_SIZE;
    } else if (p->content_length > MAX_RESPONSE_BODY) {
        return LG_ERR;
    } else if (p->content_length > 0) {
        p->remaining = p->content_length;
        p->state = P_BODY;
    } else if (p->content_length == 0) {
        p->state = P_DONE;
    } else if (p->flags & LG_LOADGEN_BODY_TO_EOF) {
        r->must_close = true;
        p->state = P_TO_EOF;
    } else {
        return LG_ERR;
    }
    return LG_OK;
}

void lg_loadgen_parser_begin(lg_loadgen_parser_t *p, lg_loadgen_response_t *r, unsigned flags)
{
    lg_loadgen_response_cleanup(r);
    memset(p, 0, sizeof(*p));
    p->r = r;
    p->flags = flags;
    p->state = P_STATUS;
    p->content_length = -1;
}

lg_loadgen_parse_t lg_loadgen_parser_feed(lg_loadgen_parser_t *p, const char *buf, size_t len,
                                          size_t *used)
{
    char line[MAX_LINE];
    size_t pos = 0, n;
    int got;

    while (p->state != P_DONE) {
        switch (p->state) {
        case P_STATUS:
        case P_HEADERS:
        case P_CHUNK_SIZE:
        case P_CHUNK_END:
        case P_TRAILERS:
            got = take_line(buf, len, &pos, line);
            if (got < 0)
                goto failed;
            if (got == 0)
                goto more;
            if (p->state == P_STATUS || p->state == P_HEADERS) {
                if (on_head_line(p, line) != LG_OK)
                    goto failed;
            } else if (p->state == P_CHUNK_SIZE) {
                unsigned long long size = strtoull(line, NULL, 16);

                if (size > MAX_RESPONSE_BODY)
                    goto failed; /* larger than any body we take (or no number at all) */
                p->remaining = (long long)size;
                p->state = p->remaining == 0 ? P_TRAILERS : P_CHUNK_DATA;
            } else if (p->state == P_CHUNK_END) {
                p->state = P_CHUNK_SIZE;
            } else if (line[0] == '\0') {
                p->state = P_DONE;
            }
            break;
        case P_BODY:
        case P_CHUNK_DATA:
            n = len - pos;
            if (n == 0)
                goto more;
            if (n > (size_t)p->remaining)
                n = (size_t)p->remaining;
            if (add_body(p, buf + pos, n) != LG_OK)
                goto failed;
            pos += n;
            p->remaining -= (long long)n;
            if (p->remaining == 0)
                p->state = p->state == P_BODY ? P_DONE : P_CHUNK_END;
            break;
        case P_TO_EOF:
            if (add_body(p, buf + pos, len - pos) != LG_OK)
                goto failed;
            pos = len;
            goto more;
        default:
            goto failed;
        }
    }
    *used = pos;
    return LG_LOADGEN_PARSE_DONE;
more:
    *used = pos;
    return LG_LOADGEN_PARSE_MORE;
failed:
    *used = pos;
    return LG_LOADGEN_PARSE_ERROR;
}

lg_loadgen_parse_t lg_loadgen_parser_eof(lg_loadgen_parser_t *p)
{
    if (p->state == P_TO_EOF)
        p->state = P_DONE;
    return p->state == P_DONE ? LG_LOADGEN_PARSE_DONE : LG_LOADGEN_PARSE_ERROR;
}

void lg_loadgen_response_init(lg_loadgen_response_t *r)
{
    memset(r, 0, sizeof(*r));
    r->retry_after_s = -1;
}

void lg_loadgen_response_cleanup(lg_loadgen_response_t *r)
{
    free(r->body);
    lg_loadgen_response_init(r);
}

int lg_loadgen_roundtrip(lg_loadgen_conn_t *c, const char *req, size_t req_len, unsigned flags,
                         lg_loadgen_response_t *r)
{
    lg_loadgen_parser_t p;

    lg_loadgen_parser_begin(&p, r, flags);
    if (write_all(c, req, req_len) != LG_OK)
        return LG_ERR;
    for (;;) {
        size_t used = 0;
        lg_loadgen_parse_t st =
            lg_loadgen_parser_feed(&p, c->rbuf + c->rpos, c->rlen - c->rpos, &used);

        c->rpos += used;
        if (st == LG_LOADGEN_PARSE_DONE)
            return LG_OK;
        if (st == LG_LOADGEN_PARSE_ERROR)
            return LG_ERR;
        if (fill(c) != LG_OK)
            return lg_loadgen_parser_eof(&p) == LG_LOADGEN_PARSE_DONE ? LG_OK : LG_ERR;
    }
}

/* ------------------------------------------------ non-blocking client -- */

int lg_loadgen_conn_start(lg_loadgen_conn_t *c, SSL_CTX *ctx)
{
    return conn_setup(c, ctx, true);
}

int lg_loadgen_conn_fd(const lg_loadgen_conn_t *c)
{
    return c->fd;
}

/*
 * Maps the failed TLS call's result to what to wait for, or to
 * LG_LOADGEN_IO_ERROR (the queue of OpenSSL errors is then emptied; with
 * `what`, printed first, with the socket's error when there is no TLS one).
 */
static lg_loadgen_io_t io_result(lg_loadgen_conn_t *c, int ret, const char *what)
{
    int err = SSL_get_error(c->ssl, ret), saved_errno = errno;

    if (err == SSL_ERROR_WANT_READ)
        return LG_LOADGEN_IO_WANT_READ;
    if (err == SSL_ERROR_WANT_WRITE)
        return LG_LOADGEN_IO_WANT_WRITE;
    if (what == NULL)
        ERR_clear_error();
    else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && saved_errno != 0)
        fprintf(stderr, "%s: %s %s:%d: %s\n", c->prog, what, c->host, c->port,
                strerror(saved_errno));
    else
        lg_loadgen_print_ssl_errors(c->prog, what);
    return LG_LOADGEN_IO_ERROR;
}

lg_loadgen_io_t lg_loadgen_conn_handshake(lg_loadgen_conn_t *c)
{
    int ret;

    ERR_clear_error();
    errno = 0;
    ret = SSL_connect(c->ssl);
    return ret == 1 ? LG_LOADGEN_IO_DONE : io_result(c, ret, "connect/TLS handshake");
}

lg_loadgen_io_t lg_loadgen_conn_send(lg_loadgen_conn_t *c, const char *buf, size_t len,
                                     size_t *sent)
{
    while (*sent < len) {
        size_t left = len - *sent;
        int n;

        ERR_clear_error();
        n = SSL_write(c->ssl, buf + *sent, left > (1u << 30) ? (1 << 30) : (int)left);
        if (n <= 0)
            return io_result(c, n, NULL);
        *sent += (size_t)n;
    }
    return LG_LOADGEN_IO_DONE;
}

lg_loadgen_io_t lg_loadgen_conn_receive(lg_loadgen_conn_t *c, lg_loadgen_parser_t *p)
{
    for (;;) {
        size_t used = 0;
        lg_loadgen_parse_t st =
            lg_loadgen_parser_feed(p, c->rbuf + c->rpos, c->rlen - c->rpos, &used);
        lg_loadgen_io_t io;
        int n;

        c->rpos += used;
        if (st == LG_LOADGEN_PARSE_DONE)
            return LG_LOADGEN_IO_DONE;
        if (st == LG_LOADGEN_PARSE_ERROR)
            return LG_LOADGEN_IO_ERROR;
        if (!compact(c))
            return LG_LOADGEN_IO_ERROR;
        ERR_clear_error();
        n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        io = io_result(c, n, NULL);
        if (io != LG_LOADGEN_IO_ERROR)
            return io;
        /* The end of the connection, orderly or not: it ends an unframed body. */
        return lg_loadgen_parser_eof(p) == LG_LOADGEN_PARSE_DONE ? LG_LOADGEN_IO_DONE
                                                                 : LG_LOADGEN_IO_ERROR;
    }
}

bool lg_loadgen_conn_is_settled(const lg_loadgen_conn_t *c)
{
    SSL_SESSION *sess;

    if (c->ssl == NULL)
        return false;
    if (SSL_version(c->ssl) < TLS1_3_VERSION)
        return true;
    sess = SSL_get0_session(c->ssl);
    return sess != NULL && SSL_SESSION_has_ticket(sess);
}

lg_loadgen_io_t lg_loadgen_conn_check_idle(lg_loadgen_conn_t *c)
{
    int n;

    ERR_clear_error();
    n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
    if (n > 0)
        return LG_LOADGEN_IO_ERROR; /* bytes no request asked for */
    return io_result(c, n, NULL);
}

/* --------------------------------------------------- load generation -- */

uint64_t lg_loadgen_rng_seed(uint64_t seed, int index)
{
    uint64_t s =
        (seed ? seed : (uint64_t)lg_now_us()) ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(index + 1));

    return s == 0 ? 1 : s;
}

uint64_t lg_loadgen_rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void lg_loadgen_put_dec(char *p, uint64_t v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void lg_loadgen_put_hex(char *p, uint64_t v, int width)
{
    static const char digits[] = "0123456789ABCDEF";
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = digits[v & 0xF];
        v >>= 4;
    }
}

void lg_loadgen_sleep_us(int64_t us)
{
    struct timespec ts;

    if (us <= 0)
        return;
    ts.tv_sec = (time_t)(us / 1000000);
    ts.tv_nsec = (long)(us % 1000000) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Makes room for n more samples. */
static void latency_reserve(lg_loadgen_latency_t *l, size_t n)
{
    if (l->n + n <= l->cap)
        return;
    if (l->cap == 0)
        l->cap = 4096;
    while (l->cap < l->n + n)
        l->cap *= 2;
    l->us = lg_xrealloc(l->us, l->cap * sizeof(*l->us));
}

void lg_loadgen_latency_init_reservoir(lg_loadgen_latency_t *l, size_t max_kept, uint64_t seed)
{
    memset(l, 0, sizeof(*l));
    l->max_kept = max_kept;
    l->rng = lg_loadgen_rng_seed(seed, 0);
}

void lg_loadgen_latency_add(lg_loadgen_latency_t *l, int64_t us)
{
    if (l->n_seen == 0 || us > l->max_us)
        l->max_us = us;
    l->n_seen++;
    if (l->max_kept == 0 || l->n < l->max_kept) {
        latency_reserve(l, 1);
        l->us[l->n++] = us;
    } else {
        /* Algorithm R: sample n_seen replaces a kept one with probability max_kept/n_seen. */
        uint64_t j = lg_loadgen_rng_next(&l->rng) % l->n_seen;

        if (j < l->max_kept)
            l->us[j] = us;
    }
}

void lg_loadgen_latency_merge(lg_loadgen_latency_t *dst, const lg_loadgen_latency_t *src)
{
    if (src->n_seen == 0)
        return;
    if (dst->n_seen == 0 || src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    dst->n_seen += src->n_seen;
    latency_reserve(dst, src->n);
    if (src->n > 0)
        memcpy(dst->us + dst->n, src->us, src->n * sizeof(*src->us));
    dst->n += src->n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

void lg_loadgen_latency_sort(lg_loadgen_latency_t *l)
{
    if (l->n > 0)
        qsort(l->us, l->n, sizeof(*l->us), cmp_i64);
}

double lg_loadgen_latency_pct_ms(const lg_loadgen_latency_t *l, double p)
{
    size_t i;

    if (l->n == 0)
        return 0;
    i = (size_t)ceil(p * (double)l->n);
    i = i == 0 ? 0 : i - 1;
    if (i >= l->n)
        i = l->n - 1;
    return (double)l->us[i] / 1000.0;
}

double lg_loadgen_latency_max_ms(const lg_loadgen_latency_t *l)
{
    return l->n_seen > 0 ? (double)l->max_us / 1000.0 : 0.0;
}

void lg_loadgen_latency_cleanup(lg_loadgen_latency_t *l)
{
    free(l->us);
    memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------ options -- */

bool lg_loadgen_parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

bool lg_loadgen_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool lg_loadgen_parse_imsi(const char *s, uint64_t *out)
{
    size_t i, n;
    uint64_t v = 0;

    if (strncmp(s, "imsi-", 5) == 0)
        s += 5;
    n = strlen(s);
    if (n != 15)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}
